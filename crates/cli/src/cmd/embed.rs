//! `dlscope embed DATASET --model efficientnet-lite0 --out FILE`: penultimate-layer embeddings
//! of every sample (1280-d for EfficientNet-Lite0, 4096-d for VGG) as safetensors
//! (`embeddings` [n, dim] F32, `labels` [n] I64) plus `<out stem>.ids.csv` (row, split, id,
//! label).

use std::path::PathBuf;

use anyhow::bail;
use dlscope_vision::embed;
use dlscope_vision::models;

use super::classify::ModelArgs;
use super::common::{embed_splits, open_dataset, progress_bar};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Catalog name or path (see `dlscope info --help`).
    pub dataset: String,
    /// Model: efficientnet-lite0 (1280-d), vgg11/13/16/19 (4096-d).
    #[arg(long, default_value = "efficientnet-lite0")]
    pub model: String,
    /// Output safetensors file; the ids CSV goes next to it.
    #[arg(long)]
    pub out: PathBuf,
    /// Only this split (default: all, in order).
    #[arg(long)]
    pub split: Option<String>,
    /// Print a JSON summary instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub model_args: ModelArgs,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let info = models::find(&args.model)?;
    let ds = open_dataset(&args.dataset)?;
    dlscope_data::io::refuse_input_overlap(&args.out, &[ds.root.as_path()])?;
    let splits: Vec<_> = match &args.split {
        Some(s) => vec![ds.split(s)?],
        None => ds.splits.iter().collect(),
    };
    let total: usize = splits.iter().map(|s| s.len()).sum();
    let pb = progress_bar(total as u64, "embedding");
    if args.json {
        pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let all = embed_splits(info, &args.model_args, &splits, &pb)?;
    pb.finish_and_clear();
    for f in all.failures.iter().take(50) {
        eprintln!("error: {}: {}", f.file, f.error);
    }
    if all.is_empty() {
        bail!("no sample could be embedded");
    }
    let ids = embed::write(&all, &args.out)?;
    if args.json {
        let v = serde_json::json!({
            "model": info.name,
            "layer": info.embedding_layer,
            "rows": all.len(),
            "dim": all.dim,
            "failed": all.failures.len(),
            "seconds": all.seconds,
            "images_per_second": all.images_per_second(),
            "out": args.out,
            "ids": ids,
            "failures": all.failures,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "{}: {} x {} embeddings ({}) -> {} (ids: {}); {:.2} s, {:.2} images/s, {} failed",
            info.name,
            all.len(),
            all.dim,
            info.embedding_layer,
            args.out.display(),
            ids.display(),
            all.seconds,
            all.images_per_second(),
            all.failures.len()
        );
    }
    Ok(())
}
