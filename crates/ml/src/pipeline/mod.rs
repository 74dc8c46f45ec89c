//! Whole-dataset tasks behind the `dlscope cluster` and `dlscope reduce` subcommands: load
//! splits, compute features, run a method, score it, write the outputs atomically.

pub mod cluster;
pub mod load;
pub mod reduce;

pub use cluster::{cluster, write_cluster, ClusterConfig, ClusterOutput, ClusterSummary, Method};
pub use load::{chosen_splits, load_rows, load_splits, Loaded};
pub use reduce::{
    reduce, write_reduced, Dedup, OutputFormat, PreDrop, ReduceConfig, ReduceSummary, Reduced,
    RemovedSample, NOT_SELECTED,
};

/// Writes `value` as pretty JSON to `path` atomically (the `summary.json` of each task).
pub(crate) fn write_summary_json<T: serde::Serialize>(
    path: &std::path::Path,
    value: &T,
) -> crate::error::Result<()> {
    let json = serde_json::to_vec_pretty(value).map_err(|e| {
        crate::error::MlError::Data(dlscope_data::DataError::io(
            path,
            "serialise summary",
            std::io::Error::other(e),
        ))
    })?;
    dlscope_data::io::write_atomic(path, |w| std::io::Write::write_all(w, &json))?;
    Ok(())
}
