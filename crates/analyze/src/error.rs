//! Typed errors of the analysis. Unreadable samples are not errors: they become findings.

use dlscope_data::DataError;

/// Result alias used throughout `dlscope-analyze`.
pub type Result<T, E = AnalyzeError> = std::result::Result<T, E>;

/// What stopped an analysis from completing.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    /// A setting is out of range.
    #[error("invalid setting {what}: {why}")]
    Settings { what: String, why: String },
    /// A shard specification like `3/8` is malformed or out of range.
    #[error(
        "invalid shard '{spec}': {why} (expected INDEX/COUNT with 0 <= INDEX < COUNT, e.g. 0/4)"
    )]
    ShardSpec { spec: String, why: String },
    /// Shards handed to [`crate::merge`] do not belong to one analysis.
    #[error("shard {shard}: {why}")]
    ShardMismatch { shard: String, why: String },
    /// Shards handed to [`crate::merge`] do not cover every sample exactly once.
    #[error("split '{split}', sample {index}: {why}")]
    ShardCoverage {
        split: String,
        index: u64,
        why: &'static str,
    },
    /// The dataset given to [`crate::finish`] is not the one the features were computed on.
    #[error("dataset does not match the feature table: {why}")]
    DatasetMismatch { why: String },
    /// The data layer failed outside a single sample (listing, opening).
    #[error(transparent)]
    Data(#[from] DataError),
}
