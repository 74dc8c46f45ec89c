//! Subcommands. Each lives in its own file with a clap `Args` struct and a `run` function that
//! calls library code; this file only lists them.

use clap::{Parser, Subcommand};

/// Find out what is in a deep-learning dataset, what is wrong with it, and train on it.
#[derive(Debug, Parser)]
#[command(name = "dlscope", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {}
}
