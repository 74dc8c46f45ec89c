//! Typed errors of the data layer. Every variant names the file and, where one applies, the record.

use std::path::PathBuf;

/// Result alias used throughout `dlscope-data`.
pub type Result<T, E = DataError> = std::result::Result<T, E>;

/// What went wrong while reading, writing or fetching a dataset.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The OS refused an operation on a path (missing, unreadable, unwritable...).
    #[error("{path}: {op}: {source}")]
    Io {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// A header field is not what the format requires (magic number, dtype, rank...).
    #[error("{path}: bad header: {what}")]
    BadHeader { path: PathBuf, what: String },
    /// Dimensions read from a header are zero or too large to be real; nothing was allocated.
    #[error("{path}: impossible dimensions {dims:?}: {why}")]
    BadDims {
        path: PathBuf,
        dims: Vec<u64>,
        why: &'static str,
    },
    /// The file is shorter or longer than its header (or record size) says.
    #[error("{path}: file is {actual} bytes but {expected} were expected ({why})")]
    BadLength {
        path: PathBuf,
        expected: u64,
        actual: u64,
        why: &'static str,
    },
    /// Images and labels of one split do not pair up.
    #[error("{images}: {n_images} images but {labels} has {n_labels} labels")]
    CountMismatch {
        images: PathBuf,
        n_images: usize,
        labels: PathBuf,
        n_labels: usize,
    },
    /// A label is outside the class list.
    #[error(
        "{path}: record {record}: label {label} is out of range (dataset has {classes} classes)"
    )]
    LabelOutOfRange {
        path: PathBuf,
        record: u64,
        label: u64,
        classes: usize,
    },
    /// A compressed stream (gzip, tar) is corrupt.
    #[error("{path}: corrupt {kind} data: {source}")]
    Corrupt {
        path: PathBuf,
        kind: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// An image file could not be decoded.
    #[error("{path}: cannot decode image: {reason}")]
    Decode { path: PathBuf, reason: String },
    /// An embeddings file (`dlscope embed` output) is malformed or does not match the dataset.
    #[error("{path}: embeddings: {why}")]
    Embeddings { path: PathBuf, why: String },
    /// A manifest (CSV) line is malformed.
    #[error("{path}: line {line}: {what}")]
    Manifest {
        path: PathBuf,
        line: u64,
        what: String,
    },
    /// The path exists but no known dataset layout was recognised there.
    #[error("{path}: not a dataset dlscope can read ({why}); use a prefix such as idx:, cifar:, folder: or manifest: to say what it is")]
    UnknownFormat { path: PathBuf, why: String },
    /// A dataset name or path could not be resolved.
    #[error("dataset '{name}' not found: {hint}")]
    NotFound { name: String, hint: String },
    /// A split name that the dataset does not have.
    #[error("dataset has no split '{split}' (it has: {available})")]
    NoSuchSplit { split: String, available: String },
    /// Writing would overwrite an input or an existing output.
    #[error("{path}: refusing to write: {why}")]
    Refused { path: PathBuf, why: String },
    /// Samples of a split do not share one shape where one is required.
    #[error("split '{split}': sample {record} is {got:?} (HxWxC) but {expected:?} was expected; resize the dataset first")]
    ShapeMismatch {
        split: String,
        record: u64,
        expected: (u32, u32, u8),
        got: (u32, u32, u8),
    },
    /// A download failed on every mirror, or its checksum did not match.
    #[error("download of {name}: {why}")]
    Download { name: String, why: String },
    /// Feature compiled out.
    #[error("{what}: dlscope was built without the `{feature}` feature")]
    FeatureDisabled { what: String, feature: &'static str },
}

impl DataError {
    /// Wraps an I/O error with the path and the operation that failed.
    pub fn io(path: impl Into<PathBuf>, op: &'static str, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            op,
            source,
        }
    }
}
