//! The data diet (`dlscope diet`): how much test accuracy does a model lose when it trains on a
//! fraction of its training split, chosen by each sampling strategy?
//!
//! For every strategy x fraction x seed the subset is chosen with [`dlscope_ml::sampling`]
//! (the feature strategies, k-center and prototypes, run on features computed once, PCA-50 by
//! default), a fresh [`dlscope_nn`] model is trained on it and evaluated on the whole test
//! split. Fraction 1 keeps every sample whatever the strategy, so it is trained once per seed and
//! reported under the strategy `all` (every strategy's line ends at that point).
//!
//! ```no_run
//! use dlscope_flows::diet::{run_diet, write_diet, DietConfig};
//! use dlscope_ml::sampling::Strategy;
//!
//! let ds = dlscope_data::open("fashion-mnist")?;
//! let mut cfg = DietConfig::default();
//! cfg.fractions = vec![0.1, 1.0];
//! cfg.strategies = vec![Strategy::Random, Strategy::Stratified];
//! let result = run_diet(&ds, &cfg, &dlscope_nn::Engine::Cpu, &mut |_event| {})?;
//! for a in &result.aggregates {
//!     println!("{} {:.2}: {:.4} +- {:.4}", a.strategy, a.fraction, a.mean, a.std);
//! }
//! write_diet(&result, "diet-out".as_ref())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod experiment;
mod table;

pub use error::{DietError, Result};
pub use experiment::{run_diet, DietConfig, DietEvent};
pub use table::{aggregate, chart_svg, write_diet, Aggregate, DietResult, DietRow, Written};

/// Strategy name of the shared fraction-1 runs.
pub const ALL: &str = "all";
