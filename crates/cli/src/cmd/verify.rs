//! `dlscope verify DATASET [--json]`: decode every sample once, list those that fail.

use std::time::Instant;

use dlscope_data::verify::verify;

use super::common::{open_dataset, progress_bar};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Catalog name or path (see `dlscope info --help`).
    pub dataset: String,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Exit with status 2 when any sample fails to decode.
    #[arg(long)]
    pub strict: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let start = Instant::now();
    let ds = open_dataset(&args.dataset)?;
    let listed = start.elapsed().as_secs_f64();
    let pb = progress_bar(ds.len() as u64, "decoding");
    if args.json {
        pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let result = verify(&ds, &|n| pb.set_position(n));
    pb.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    let rate = result.decoded as f64 / seconds.max(1e-9);
    if args.json {
        let v = serde_json::json!({
            "dataset": ds.name,
            "samples": ds.len(),
            "decoded": result.decoded,
            "failed": result.failures.len(),
            "pixel_bytes": result.pixel_bytes,
            "seconds": seconds,
            "open_seconds": listed,
            "samples_per_second": rate,
            "failures": result.failures,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "{}: decoded {} of {} samples in {:.2} s ({:.0} samples/s), {} failed",
            ds.name,
            result.decoded,
            ds.len(),
            seconds,
            rate,
            result.failures.len()
        );
        for f in result.failures.iter().take(50) {
            println!("  {} {}: {}", f.split, f.id, f.reason);
        }
        if result.failures.len() > 50 {
            println!("  ... and {} more (use --json)", result.failures.len() - 50);
        }
    }
    if args.strict && !result.failures.is_empty() {
        std::process::exit(2);
    }
    Ok(())
}
