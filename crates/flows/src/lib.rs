//! # dlscope-flows
//!
//! Workflows that join several rooms of dlscope, each one library call behind a `dlscope`
//! subcommand:
//! - [`clean`]: act on an analysis report: drop or relabel flagged samples and write a new
//!   dataset, listing every removed sample with its reason (`dlscope clean`).
//! - [`labels`]: out-of-sample predicted probabilities by k-fold cross-validation of a
//!   `dlscope-nn` model, then confident learning (`dlscope labels`).
//! - [`diet`]: train a model on subsets chosen by each sampling strategy and measure what the
//!   reduction costs in test accuracy (`dlscope diet`).
//! - [`reduce`]: reduction that first drops the exact and near duplicates an analysis finds,
//!   keeping the representative `clean` keeps (`dlscope reduce --dedup near`).
//! - [`cluster_page`]: the `cluster.html` page of a clustering (thumbnails per cluster, 2-D PCA
//!   map, dendrogram) for `dlscope cluster`.
pub mod clean;
pub mod cluster_page;
pub mod diet;
pub mod labels;
pub mod reduce;
