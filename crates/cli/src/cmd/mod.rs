//! Subcommands. Each lives in its own file with a clap `Args` struct and a `run` function that
//! calls library code; this file only lists them.

use clap::{Parser, Subcommand};

pub mod analyze;
pub mod classify;
pub mod clean;
pub mod cluster;
pub mod common;
pub mod convert;
pub mod datasets;
pub mod diet;
pub mod embed;
pub mod evaluate;
pub mod fetch;
pub mod info;
pub mod labels;
pub mod predict;
pub mod reduce;
pub mod train;
pub mod verify;

/// Find out what is in a deep-learning dataset, what is wrong with it, and train on it.
#[derive(Debug, Parser)]
#[command(name = "dlscope", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The dataset catalog, and which datasets are available on this machine.
    Datasets(datasets::Args),
    /// Download catalog datasets (mirrors, resume, checksums).
    Fetch(fetch::Args),
    /// Format, splits, classes with counts, image shape or size range.
    Info(info::Args),
    /// Decode every sample once and list the ones that fail.
    Verify(verify::Args),
    /// Profile a dataset and find duplicates, leaks, outliers and image issues; writes CSV/JSON/HTML reports.
    Analyze(analyze::Args),
    /// Train a model (the Keras MNIST MLP by default, or a CNN) and write a run folder.
    Train(train::Args),
    /// Evaluate a trained run on a dataset split.
    Evaluate(evaluate::Args),
    /// Top-k predictions of a trained run for image files.
    Predict(predict::Args),
    /// Classify images with a pretrained ImageNet model (VGG16, EfficientNet-Lite0).
    Classify(classify::Args),
    /// Penultimate-layer embeddings of a dataset from a pretrained ImageNet model.
    Embed(embed::Args),
    /// Cluster a dataset (k-means, agglomerative, DBSCAN/HDBSCAN) on pixels or PCA features.
    Cluster(cluster::Args),
    /// Write a reduced dataset (random, systematic, stratified, prototypes, duplicate-aware).
    Reduce(reduce::Args),
    /// Train on subsets chosen by each sampling strategy and chart test accuracy against fraction.
    Diet(diet::Args),
    /// Convert a dataset to another format (idx, folder, manifest, tensors, webdataset, parquet), optionally resized or re-encoded.
    Convert(convert::Args),
    /// Write a cleaned copy of a dataset from an analysis report (drop or relabel flagged samples).
    Clean(clean::Args),
    /// Likely label errors: cross-validated model probabilities + confident learning (cleanlab's method).
    Labels(labels::Args),
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Datasets(a) => datasets::run(a),
        Command::Fetch(a) => fetch::run(a),
        Command::Info(a) => info::run(a),
        Command::Verify(a) => verify::run(a),
        Command::Analyze(a) => analyze::run(a),
        Command::Train(a) => train::run(a),
        Command::Evaluate(a) => evaluate::run(a),
        Command::Predict(a) => predict::run(a),
        Command::Classify(a) => classify::run(a),
        Command::Embed(a) => embed::run(a),
        Command::Cluster(a) => cluster::run(a),
        Command::Reduce(a) => reduce::run(a),
        Command::Diet(a) => diet::run(a),
        Command::Convert(a) => convert::run(a),
        Command::Labels(a) => labels::run(a),
        Command::Clean(a) => clean::run(a),
    }
}
