//! `dlscope analyze DATASET --out DIR`: profile a dataset and find what is wrong with it.
//! Writes `findings.csv`, `features.csv`, `report.json` and `report.html` into a new folder
//! (built under a temporary name, renamed into place at the end) and prints a summary.
//! `--shard i/N` runs one part of the pass; `--merge DIR...` finishes from the parts.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use dlscope_analyze::{
    analyze, analyze_shard, finish, Analysis, Progress, Settings, Shard, Stage, Thresholds,
};
use dlscope_report::outdir::OutDir;
use dlscope_report::{shards, summary, write_analysis, HtmlOptions, WriteOptions, SCHEMA_VERSION};
use indicatif::ProgressBar;

use super::common::{open_dataset, progress_bar};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Catalog name or path (see `dlscope info --help`). With --merge: the dataset the shards
    /// were computed on.
    pub dataset: String,
    /// Output folder to create. It must not exist (see --force) nor overlap the dataset.
    #[arg(long, short, value_name = "DIR")]
    pub out: PathBuf,
    /// Run only shard INDEX/COUNT of the samples (e.g. 0/4; add :contiguous for contiguous
    /// ranges) and write its partial result, to be combined with --merge.
    #[arg(long, value_name = "I/N", conflicts_with = "merge")]
    pub shard: Option<Shard>,
    /// Combine the outputs of --shard runs (their folders or shard files) into the full
    /// report, without decoding the dataset again.
    #[arg(long, value_name = "DIR", num_args = 1..)]
    pub merge: Vec<PathBuf>,
    /// Replace --out if it already exists and holds an earlier dlscope output. The dataset is
    /// never touched.
    #[arg(long)]
    pub force: bool,
    /// Do not write report.html (it re-loads the flagged samples for thumbnails).
    #[arg(long)]
    pub no_html: bool,
    /// Print the result summary as JSON on stdout (no progress bar).
    #[arg(long)]
    pub json: bool,
    /// Near duplicates: largest Hamming distance between 64-bit perceptual hashes (at most 32).
    #[arg(long, value_name = "BITS", default_value_t = Thresholds::default().near_duplicate_distance)]
    pub near_threshold: u32,
    /// Dark: the 99th percentile of grey (0-255) is below this.
    #[arg(long, value_name = "GREY", default_value_t = Thresholds::default().dark)]
    pub dark: f32,
    /// Light: the 5th percentile of grey (0-255) is above this.
    #[arg(long, value_name = "GREY", default_value_t = Thresholds::default().light)]
    pub light: f32,
    /// Blurry: the sharpness score (std of the Laplacian over std of the image) is below this.
    #[arg(long, value_name = "SCORE", default_value_t = Thresholds::default().blurry)]
    pub blurry: f32,
    /// Low information: entropy of the grey histogram is below this many bits (0-8).
    #[arg(long, value_name = "BITS", default_value_t = Thresholds::default().low_information)]
    pub low_information: f32,
    /// Outliers: flagged when the kNN distance is more than this robust z above the median.
    #[arg(long, value_name = "Z", default_value_t = Thresholds::default().outlier_z)]
    pub outlier_z: f64,
    /// The split leaks are checked against [default: train].
    #[arg(long, value_name = "SPLIT")]
    pub train_split: Option<String>,
    /// Decode large JPEGs at full size (by default they are measured at reduced scale, which
    /// is several times faster and keeps the features of interest).
    #[arg(long)]
    pub full_decode: bool,
    /// Include the `label_issue` findings of a `dlscope labels --out DIR` folder in the report.
    #[arg(long, value_name = "DIR")]
    pub labels: Option<PathBuf>,
    /// Items (or groups) shown per gallery in report.html; all are in findings.csv.
    #[arg(long, value_name = "N", default_value_t = 60)]
    pub gallery_limit: usize,
}

impl Args {
    /// The analysis settings these arguments ask for.
    fn settings(&self) -> anyhow::Result<Settings> {
        let mut s = Settings {
            train_split: self.train_split.clone(),
            ..Settings::default()
        };
        if self.full_decode {
            s.decode.jpeg_min_side = None;
        }
        let t = &mut s.thresholds;
        t.near_duplicate_distance = self.near_threshold;
        t.dark = self.dark;
        t.light = self.light;
        t.blurry = self.blurry;
        t.low_information = self.low_information;
        t.outlier_z = self.outlier_z;
        s.validate()?;
        Ok(s)
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let start = Instant::now();
    let settings = args.settings()?;
    let ds = open_dataset(&args.dataset)?;
    if let Some(name) = &settings.train_split {
        ds.split(name).context("--train-split")?;
    }
    let mut inputs: Vec<&Path> = vec![&ds.root];
    inputs.extend(args.merge.iter().map(PathBuf::as_path));
    let out = OutDir::create(&args.out, &inputs, args.force)?;

    let pb = progress_bar(ds.len() as u64, "analysing");
    if args.json {
        pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let progress = |p: Progress| show(&pb, p);

    if let Some(shard) = args.shard {
        let result = analyze_shard(&ds, &settings, shard, &progress)?;
        pb.finish_and_clear();
        let files = shards::write_shard(out.path(), &result, &ds)?;
        let dir = out.commit()?;
        let seconds = start.elapsed().as_secs_f64();
        if args.json {
            let v = serde_json::json!({
                "schema_version": SCHEMA_VERSION,
                "dataset": ds.name,
                "shard": shard.to_string(),
                "samples": result.features.len(),
                "out": dir,
                "files": names(&files),
                "seconds": seconds,
            });
            println!("{}", serde_json::to_string_pretty(&v)?);
        } else {
            println!(
                "shard {shard} of {}: {} samples in {seconds:.1} s, written to {}",
                ds.name,
                result.features.len(),
                dir.display()
            );
            println!(
                "when every shard is done: dlscope analyze {} --merge DIR... --out OUT",
                args.dataset
            );
        }
        return Ok(());
    }

    let mut analysis: Analysis = if args.merge.is_empty() {
        analyze(&ds, &settings, &progress)?
    } else {
        let merged = shards::read_and_merge(&args.merge)?;
        finish(merged, &ds, &settings, &progress)?
    };
    pb.finish_and_clear();
    if let Some(dir) = &args.labels {
        let issues = dlscope_flows::labels::read_issue_findings(dir, &ds)
            .with_context(|| format!("--labels {}", dir.display()))?;
        let kind = dlscope_analyze::FindingKind::LabelIssue;
        analysis.findings.retain(|f| f.kind != kind);
        *analysis.counts.entry(kind).or_default() = issues.len() as u64;
        analysis.findings.extend(issues);
    }
    let opts = WriteOptions {
        html: !args.no_html,
        html_options: HtmlOptions {
            gallery_limit: args.gallery_limit,
            ..HtmlOptions::default()
        },
    };
    let files = write_analysis(out.path(), &analysis, &ds, &opts)?;
    let dir = out.commit()?;
    let seconds = start.elapsed().as_secs_f64();
    let samples = analysis.features.len();
    if args.json {
        let splits: Vec<_> = analysis
            .profile
            .splits
            .iter()
            .map(|p| {
                serde_json::json!({
                    "name": p.name,
                    "samples": p.samples,
                    "unreadable": p.unreadable,
                    "mean": p.pixels.mean,
                    "std": p.pixels.std,
                    "imbalance_ratio": p.imbalance_ratio,
                })
            })
            .collect();
        let v = serde_json::json!({
            "schema_version": SCHEMA_VERSION,
            "dataset": ds.name,
            "samples": samples,
            "out": dir,
            "files": names(&files),
            "counts": analysis.counts,
            "splits": splits,
            "seconds": seconds,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", summary::render_analysis(&analysis));
        println!();
        println!(
            "{samples} samples in {seconds:.1} s ({:.0} samples/s); wrote {} to {}",
            samples as f64 / seconds.max(1e-9),
            names(&files).join(", "),
            dir.display()
        );
    }
    Ok(())
}

/// Moves the bar: samples during the pass, steps while findings are built.
fn show(pb: &ProgressBar, p: Progress) {
    match p.stage {
        Stage::Features => {
            pb.set_length(p.total);
            pb.set_position(p.done);
            if p.unreadable > 0 {
                pb.set_prefix(format!("({} unreadable)", p.unreadable));
            }
        }
        Stage::Findings => {
            pb.set_message("findings");
            pb.set_length(p.total);
            pb.set_position(p.done);
        }
    }
}

fn names(files: &[PathBuf]) -> Vec<String> {
    files
        .iter()
        .filter_map(|f| f.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .collect()
}
