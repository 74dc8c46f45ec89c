//! Typed errors of `dlscope-nn`. Each says what was wrong, where, and what to do about it.

use std::path::PathBuf;

use dlscope_data::DataError;

/// Result alias used throughout `dlscope-nn`.
pub type Result<T, E = NnError> = std::result::Result<T, E>;

/// What went wrong while building, training, saving or using a model.
#[derive(Debug, thiserror::Error)]
pub enum NnError {
    /// Reading the dataset or writing the run folder failed in the data layer.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A file of a run folder could not be read or written.
    #[error("{path}: {op}: {source}")]
    Io {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// A run folder holds a file that is not what dlscope wrote there.
    #[error("{path}: {what}")]
    BadCheckpoint { path: PathBuf, what: String },
    /// A split has no samples to train or evaluate on.
    #[error("split '{split}' is empty: nothing to {task}")]
    EmptyData { split: String, task: &'static str },
    /// Samples without a label (or with a label outside the class list) where labels are needed.
    #[error(
        "split '{split}': sample {record} has label {label}, but the model knows {classes} classes"
    )]
    BadLabel {
        split: String,
        record: usize,
        label: u32,
        classes: usize,
    },
    /// The data has a different number of channels than the model was built for.
    #[error("the model expects {expected} channel(s) ({expected_shape} HxWxC) but '{split}' has {got} ({got_shape})")]
    ChannelMismatch {
        split: String,
        expected: u8,
        got: u8,
        expected_shape: String,
        got_shape: String,
    },
    /// The dataset's classes are not the ones the model was trained on.
    #[error("the model was trained on {model_count} classes [{model}] but the dataset has {data_count} [{data}]")]
    ClassMismatch {
        model: String,
        model_count: usize,
        data: String,
        data_count: usize,
    },
    /// The model cannot be built for this input (too small for its convolutions, zero sizes...).
    #[error("invalid model: {0}")]
    BadModel(String),
    /// A training setting is out of range.
    #[error("invalid setting {name} = {value}: {why}")]
    BadSetting {
        name: &'static str,
        value: String,
        why: &'static str,
    },
    /// Training diverged: the loss stopped being a finite number.
    #[error("training diverged at epoch {epoch}, batch {batch}: the loss is {loss}; lower the learning rate or check the inputs for extreme values")]
    NonFiniteLoss {
        epoch: usize,
        batch: usize,
        loss: f32,
    },
    /// An image given to `predict` could not be read.
    #[error("{path}: cannot read image: {reason}")]
    Image { path: PathBuf, reason: String },
    /// The burn engine failed (device, transfer).
    #[error("burn backend: {0}")]
    Backend(String),
}

impl NnError {
    /// Wraps an I/O error with the path and the operation that failed.
    pub fn io(path: impl Into<PathBuf>, op: &'static str, source: std::io::Error) -> Self {
        NnError::Io {
            path: path.into(),
            op,
            source,
        }
    }

    pub(crate) fn setting(name: &'static str, value: impl ToString, why: &'static str) -> Self {
        NnError::BadSetting {
            name,
            value: value.to_string(),
            why,
        }
    }
}
