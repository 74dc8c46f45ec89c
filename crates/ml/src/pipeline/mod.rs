//! Whole-dataset tasks behind the `dlscope cluster` and `dlscope reduce` subcommands: load
//! splits, compute features, run a method, score it, write the outputs atomically.

pub mod cluster;
pub mod load;
pub mod reduce;

pub use cluster::{cluster, write_cluster, ClusterConfig, ClusterOutput, ClusterSummary, Method};
pub use load::{load_splits, Loaded};
pub use reduce::{reduce, write_reduced, OutputFormat, ReduceConfig, ReduceSummary, Reduced};
