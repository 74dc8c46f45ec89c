//! Typed errors of `dlscope-vision`. Every variant names the file and, for weights, the tensor.

use std::path::PathBuf;

/// Result alias used throughout `dlscope-vision`.
pub type Result<T, E = VisionError> = std::result::Result<T, E>;

/// What went wrong while loading a model, preparing images or writing results.
#[derive(Debug, thiserror::Error)]
pub enum VisionError {
    /// The OS refused an operation on a path.
    #[error("{path}: {op}: {source}")]
    Io {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// An error from the data layer (image decoding, dataset reading, atomic writes).
    #[error(transparent)]
    Data(#[from] dlscope_data::DataError),
    /// The weights file is neither a readable safetensors file nor a PyTorch checkpoint.
    #[error("{path}: not a weights file dlscope can read: {why}")]
    WeightsFormat { path: PathBuf, why: String },
    /// A tensor the model needs is not in the weights file.
    #[error("{path}: tensor '{name}' is missing ({naming} names); {hint}")]
    MissingTensor {
        path: PathBuf,
        name: String,
        naming: &'static str,
        hint: String,
    },
    /// A tensor is in the file but has another shape than the model needs.
    #[error("{path}: tensor '{name}' has shape {got:?} but the model needs {expected:?}; {hint}")]
    TensorShape {
        path: PathBuf,
        name: String,
        expected: Vec<usize>,
        got: Vec<usize>,
        hint: String,
    },
    /// A tensor has a dtype that cannot be converted to f32, or its bytes cannot be read.
    #[error("{path}: tensor '{name}': {why}")]
    TensorData {
        path: PathBuf,
        name: String,
        why: String,
    },
    /// No weights file was given and none was found in the usual places.
    #[error("no weights for model '{model}': {hint}")]
    WeightsNotFound { model: String, hint: String },
    /// A model name the registry does not know.
    #[error("unknown model '{name}' (known: {known})")]
    UnknownModel { name: String, known: String },
    /// An option value or an input that cannot be used.
    #[error("{0}")]
    Invalid(String),
    /// A part of the crate that was compiled out.
    #[error("{what}: dlscope-vision was built without the `{feature}` feature")]
    FeatureDisabled { what: String, feature: &'static str },
    /// The burn backend failed (e.g. reading a tensor back from a device).
    #[error("burn backend: {0}")]
    Burn(String),
}

impl VisionError {
    /// Wraps an I/O error with the path and the operation that failed.
    pub fn io(path: impl Into<PathBuf>, op: &'static str, source: std::io::Error) -> Self {
        VisionError::Io {
            path: path.into(),
            op,
            source,
        }
    }
}
