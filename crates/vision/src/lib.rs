//! # dlscope-vision
//!
//! Pretrained ImageNet classifiers (VGG-11/13/16/19, EfficientNet-Lite0) loaded from PyTorch
//! state dicts (`.safetensors` or `.pth`, torchvision/timm/lukemelas names), the Python
//! pipelines' preprocessing reproduced to the byte (Pillow resizing, Keras/torch/tf
//! normalisation), Keras-style `decode_predictions`, batch classification and embeddings.
//!
//! ```no_run
//! use dlscope_vision::{labels, models, preprocess::Preprocess};
//! let info = models::find("vgg16")?;
//! let model = models::load(info, "vgg16.safetensors".as_ref(), &models::Engine::Cpu)?;
//! let img = dlscope_data::decode::decode_file("cat.jpg".as_ref())?;
//! let pre: Preprocess = info.preprocess;
//! let x = pre.batch(&[pre.crop(&img)]);
//! let logits = model.logits(&x)?;
//! for p in labels::decode_predictions(&logits, 3) {
//!     println!("{p}"); // 1. tabby: 62.31%
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Models run on the [`cpu`] engine (NHWC, gemm, batch norms folded at load time; the default)
//! or as burn modules on any burn device ([`models::Engine::Burn`]). [`classify`] and [`embed`]
//! run a model over files, folders or dataset splits.

pub mod classify;
pub mod cpu;
pub mod download;
pub mod embed;
pub mod error;
pub mod inputs;
pub mod labels;
pub mod models;
pub mod preprocess;
pub mod resample;
pub mod weights;

pub use error::{Result, VisionError};
pub use models::{Classifier, Engine, ModelInfo};
