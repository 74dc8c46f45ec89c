//! Errors of the data diet.

use std::path::PathBuf;

/// Result alias of [`crate::diet`].
pub type Result<T, E = DietError> = std::result::Result<T, E>;

/// What went wrong in a diet experiment.
#[derive(Debug, thiserror::Error)]
pub enum DietError {
    /// A setting is out of range.
    #[error("invalid diet setting {name} = {value}: {why}")]
    Setting {
        name: &'static str,
        value: String,
        why: String,
    },
    #[error(transparent)]
    Data(#[from] dlscope_data::DataError),
    /// Choosing a subset failed.
    #[error("selecting {strategy} at fraction {fraction} (seed {seed}): {source}")]
    Select {
        strategy: String,
        fraction: f64,
        seed: u64,
        #[source]
        source: dlscope_ml::MlError,
    },
    /// Computing the selection features failed.
    #[error("features of split '{split}': {source}")]
    Features {
        split: String,
        #[source]
        source: dlscope_ml::MlError,
    },
    /// Training or evaluating failed.
    #[error("training {strategy} at fraction {fraction} (seed {seed}): {source}")]
    Train {
        strategy: String,
        fraction: f64,
        seed: u64,
        #[source]
        source: dlscope_nn::NnError,
    },
    #[error(transparent)]
    Nn(#[from] dlscope_nn::NnError),
    /// Serialising an output failed.
    #[error("{}: cannot write: {why}", path.display())]
    Write { path: PathBuf, why: String },
}

impl DietError {
    pub(crate) fn setting(
        name: &'static str,
        value: impl ToString,
        why: impl Into<String>,
    ) -> Self {
        DietError::Setting {
            name,
            value: value.to_string(),
            why: why.into(),
        }
    }
}
