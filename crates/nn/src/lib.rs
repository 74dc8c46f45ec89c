//! # dlscope-nn
//!
//! Image classifiers trained with Keras semantics: the Keras "first neural network" MLP and the
//! MNIST CNN, Glorot initialisation, RMSprop / Adam / SGD, softmax cross-entropy, seeded and
//! reproducible. Training runs on a fast CPU path (hand-written kernels on `gemm`) or on burn
//! (`Engine::Burn`, which also drives GPUs with the `wgpu` / `cuda` features); both share one
//! weight layout, and each model also exists as a burn `Module`.
//!
//! ```no_run
//! use dlscope_nn::{data, train::{TrainConfig, Trainer}, Engine, checkpoint};
//!
//! let ds = dlscope_data::open("fashion-mnist")?;
//! let train = data::load_split(ds.split("train")?, None)?;
//! let mut trainer = Trainer::new(&TrainConfig::default(), ds.classes.clone(), "train", &train)?;
//! trainer.fit("train", &train, 5, &Engine::Cpu, 2, &mut |_event| {})?;
//! let test = data::load_split(ds.split("test")?, Some(trainer.model.spec.input))?;
//! let eval = trainer.model.evaluate("test", &test, &Engine::Cpu, 2)?;
//! println!("test accuracy {:.4}", eval.accuracy);
//! checkpoint::save_run("runs/mlp".as_ref(), &trainer, &Default::default(), &Default::default())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Modules: [`spec`] (architectures), [`params`] (flat weights), [`net`] + [`kernels`] (fast
//! path), [`model`] (inference, burn modules), [`optim`], [`train`], [`metrics`],
//! [`preprocess`], [`data`], [`checkpoint`] (run folders), [`predict`].

pub mod checkpoint;
pub mod crossval;
pub mod data;
pub mod engine;
pub mod error;
pub mod kernels;
pub mod metrics;
pub mod model;
pub mod net;
pub mod optim;
pub mod params;
pub mod predict;
pub mod preprocess;
pub mod spec;
pub mod train;

pub use engine::Engine;
pub use error::{NnError, Result};
pub use metrics::{ClassReport, Evaluation};
pub use model::{format_top_k, BurnModel, ClassScore, Model};
pub use net::{Mode, Net};
pub use optim::{Optimizer, OptimizerConfig};
pub use params::{ParamInfo, Params};
pub use preprocess::{Normalization, NormalizationKind};
pub use spec::{Arch, ModelSpec};
pub use train::{EpochRecord, Event, FitSummary, TrainConfig, Trainer};
