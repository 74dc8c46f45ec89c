//! Helpers shared by subcommands: opening datasets with context, progress bars.

use std::time::Duration;

use anyhow::Context;
use dlscope_data::Dataset;
use indicatif::{ProgressBar, ProgressStyle};

/// Where a `dlscope-nn` model runs: `--threads` and `--device`, shared by train, evaluate,
/// predict and the workflows that train.
#[derive(Debug, Clone, clap::Args)]
pub struct ComputeArgs {
    /// Threads (0 = one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Compute engine: cpu (fast path), flex (burn), wgpu or cuda (when built with them).
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

impl ComputeArgs {
    pub fn engine(&self) -> anyhow::Result<dlscope_nn::Engine> {
        Ok(dlscope_nn::Engine::from_name(&self.device)?)
    }
}

/// Loads the model saved in a run folder written by `dlscope train --out`.
pub fn load_run(run: &std::path::Path) -> anyhow::Result<dlscope_nn::Model> {
    dlscope_nn::checkpoint::load_model(run)
        .with_context(|| format!("cannot load the model in {}", run.display()))
}

/// Opens a dataset argument (catalog name, path, or `idx:`/`cifar:`/`folder:`/`manifest:` path).
pub fn open_dataset(spec: &str) -> anyhow::Result<Dataset> {
    dlscope_data::open(spec).with_context(|| format!("cannot open dataset '{spec}'"))
}

/// A progress bar over `len` items with rate and ETA, drawn on stderr (hidden when stderr is
/// not a terminal, so logs and `--json` output stay clean).
pub fn progress_bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(
            "{msg:>12} [{bar:32}] {pos}/{len} {per_sec} ETA {eta} {prefix}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

/// Embeds every sample of `splits` (in order) with a model loaded by `model_args`, moving
/// `pb` by samples; shared by `dlscope embed` and `dlscope analyze --embeddings MODEL`.
/// Samples that cannot be read are listed in the result's `failures`.
pub fn embed_splits(
    info: &'static dlscope_vision::models::ModelInfo,
    model_args: &super::classify::ModelArgs,
    splits: &[&dlscope_data::Split],
    pb: &ProgressBar,
) -> anyhow::Result<dlscope_vision::embed::Embeddings> {
    use dlscope_vision::embed;
    let opts = embed::Options {
        batch_size: model_args.batch_size,
        preprocess: model_args.preprocess(info)?,
    };
    let model = model_args.load(info)?;
    let all = dlscope_vision::cpu::with_threads(model_args.threads, || {
        let mut all: Option<embed::Embeddings> = None;
        let mut base = 0u64;
        for split in splits {
            let source = dlscope_vision::inputs::Source::Split(split);
            let part = embed::run(model.as_ref(), &source, &opts, &mut |d| {
                pb.set_position(base + d as u64)
            })?;
            base += split.len() as u64;
            match &mut all {
                None => all = Some(part),
                Some(a) => a.extend(part)?,
            }
        }
        Ok::<_, dlscope_vision::VisionError>(all)
    })??;
    all.context("the dataset has no split")
}

/// A byte-counting progress bar (downloads).
pub fn bytes_bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(
            "{msg:>20} [{bar:32}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}
