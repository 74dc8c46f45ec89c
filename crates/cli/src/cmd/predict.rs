//! `dlscope predict RUN IMAGE... [--top 5] [--json]`: the most probable classes of each image,
//! printed like Keras' `decode_predictions` (`1. Trouser: 98.12%`). Images are converted to the
//! model's input size and channel count first.

use std::path::PathBuf;

use dlscope_nn::{format_top_k, predict};

use super::common::{load_run, ComputeArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run folder written by `dlscope train --out`.
    pub run: PathBuf,
    /// Image files (PNG, JPEG, WebP, BMP, GIF, TIFF).
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// How many classes to list per image.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    #[command(flatten)]
    pub compute: ComputeArgs,
    /// Print the predictions as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let engine = args.compute.engine()?;
    let model = load_run(&args.run)?;
    let images = args
        .images
        .iter()
        .map(|p| predict::load_image(p))
        .collect::<Result<Vec<_>, _>>()?;
    let top = model.top_k(&images, args.top.max(1), &engine, args.compute.threads)?;
    if args.json {
        let out: Vec<_> = args
            .images
            .iter()
            .zip(&top)
            .map(|(path, scores)| serde_json::json!({ "path": path, "top": scores }))
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for (i, (path, scores)) in args.images.iter().zip(&top).enumerate() {
            if i > 0 {
                println!();
            }
            println!("{}", path.display());
            for line in format_top_k(scores) {
                println!("{line}");
            }
        }
    }
    Ok(())
}
