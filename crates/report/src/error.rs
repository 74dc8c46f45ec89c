//! Typed errors of the report writers. Every variant names the file it concerns.

use std::path::PathBuf;

use dlscope_analyze::AnalyzeError;
use dlscope_data::DataError;

/// Result alias used throughout `dlscope-report`.
pub type Result<T, E = ReportError> = std::result::Result<T, E>;

/// What stopped a report from being written or read.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The OS refused an operation on a path.
    #[error("{path}: {op}: {source}")]
    Io {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// A JSON file (report or shard) could not be parsed.
    #[error("{path}: not a valid {what}: {source}")]
    Json {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// A report written by a newer dlscope, in a layout this version does not know.
    #[error("{path}: report schema_version {found} is newer than the {supported} this dlscope reads; upgrade dlscope")]
    Schema {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    /// Nothing to merge was found where shard outputs were expected.
    #[error("{path}: {why}")]
    NoShards { path: PathBuf, why: String },
    /// An output folder cannot be (re)placed where asked.
    #[error("{path}: refusing to write: {why}")]
    Refused { path: PathBuf, why: String },
    /// The data layer failed (atomic writes, input checks).
    #[error(transparent)]
    Data(#[from] DataError),
    /// The analysis failed (merging shards, building findings).
    #[error(transparent)]
    Analyze(#[from] AnalyzeError),
}

impl ReportError {
    /// Wraps an I/O error with the path and the operation that failed.
    pub fn io(path: impl Into<PathBuf>, op: &'static str, source: std::io::Error) -> Self {
        ReportError::Io {
            path: path.into(),
            op,
            source,
        }
    }
}
