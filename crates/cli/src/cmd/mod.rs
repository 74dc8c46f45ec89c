//! Subcommands. Each lives in its own file with a clap `Args` struct and a `run` function that
//! calls library code; this file only lists them.

use clap::{Parser, Subcommand};

pub mod analyze;
pub mod common;
pub mod datasets;
pub mod fetch;
pub mod info;
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
    /// Profile a dataset and find duplicates, leaks, outliers and image issues; writes CSV/JSON/HTML reports.
    Analyze(analyze::Args),
    /// The dataset catalog, and which datasets are available on this machine.
    Datasets(datasets::Args),
    /// Download catalog datasets (mirrors, resume, checksums).
    Fetch(fetch::Args),
    /// Format, splits, classes with counts, image shape or size range.
    Info(info::Args),
    /// Decode every sample once and list the ones that fail.
    Verify(verify::Args),
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Analyze(a) => analyze::run(a),
        Command::Datasets(a) => datasets::run(a),
        Command::Fetch(a) => fetch::run(a),
        Command::Info(a) => info::run(a),
        Command::Verify(a) => verify::run(a),
    }
}
