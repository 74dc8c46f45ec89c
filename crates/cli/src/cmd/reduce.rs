//! `dlscope reduce DATASET --strategy S --fraction F --out DIR [--format idx|folder|manifest]
//! [--dedup [exact|near] [--report DIR/report.json]]`: keep a fraction of every split and write
//! the reduced copy plus `kept.csv` and `removed.csv` (why each other sample went). The input is
//! never modified.

use std::path::PathBuf;

use anyhow::{bail, Context};
use dlscope_data::folder::ImageFormat;
use dlscope_flows::reduce::{reduce_dedup_near, Duplicates};
use dlscope_ml::features::FeatureSpec;
use dlscope_ml::pipeline::{reduce, write_reduced, Dedup, OutputFormat, ReduceConfig};
use dlscope_ml::sampling::Strategy;

use super::common::open_dataset;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// IDX files (MNIST layout).
    Idx,
    /// Class folders of image files (see --image-format).
    Folder,
    /// CSV manifest (file-backed samples referenced in place).
    Manifest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DedupArg {
    /// Byte-identical images (the first of each group stays).
    Exact,
    /// The exact and near duplicates `dlscope analyze` finds (the representative `dlscope
    /// clean` keeps stays); see --report.
    Near,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Catalog name or path (see `dlscope info --help`).
    pub dataset: String,
    /// random, systematic, stratified (per class, exact proportions), k-center (coreset
    /// covering feature space) or prototypes (per class, samples nearest k-means centres).
    #[arg(long, default_value = "stratified")]
    pub strategy: String,
    /// Fraction of each split to keep, in (0, 1].
    #[arg(long)]
    pub fraction: f64,
    /// New output folder: data/, kept.csv, summary.json.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value = "idx")]
    pub format: FormatArg,
    /// IDX output: gzip the files.
    #[arg(long)]
    pub gzip: bool,
    /// Folder output: png, or jpeg:QUALITY.
    #[arg(long, default_value = "png")]
    pub image_format: String,
    /// Drop duplicates before the strategy runs, keeping one of each group: `--dedup` or
    /// `--dedup exact` (byte-identical images), `--dedup near` (exact and near duplicates as
    /// `dlscope analyze` groups them).
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "exact")]
    pub dedup: Option<DedupArg>,
    /// With --dedup near: reuse this `dlscope analyze` report.json instead of analysing now.
    #[arg(long, requires = "dedup")]
    pub report: Option<PathBuf>,
    /// Feature space of k-center and prototypes: pixels, pca:N, embeddings:FILE (from
    /// `dlscope embed`) or embeddings:FILE,pca:N.
    #[arg(long, default_value = "pca:50")]
    pub features: String,
    /// Only reduce these splits (repeatable); the others are copied whole.
    #[arg(long = "split")]
    pub splits: Vec<String>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

fn image_format(s: &str) -> anyhow::Result<ImageFormat> {
    if s == "png" {
        return Ok(ImageFormat::Png);
    }
    if let Some(q) = s.strip_prefix("jpeg:").or_else(|| s.strip_prefix("jpg:")) {
        let quality: u8 = q
            .parse()
            .with_context(|| format!("bad JPEG quality '{q}'"))?;
        if (1..=100).contains(&quality) {
            return Ok(ImageFormat::Jpeg { quality });
        }
    }
    bail!("--image-format must be png or jpeg:QUALITY (1-100), not '{s}'")
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let strategy: Strategy = args.strategy.parse()?;
    let features: FeatureSpec = args.features.parse()?;
    let format = match args.format {
        FormatArg::Idx => OutputFormat::Idx { gzip: args.gzip },
        FormatArg::Folder => OutputFormat::Folder(image_format(&args.image_format)?),
        FormatArg::Manifest => OutputFormat::Manifest,
    };
    if !(args.fraction > 0.0 && args.fraction <= 1.0) {
        bail!("--fraction must be in (0, 1], not {}", args.fraction);
    }
    if args.report.is_some() && args.dedup != Some(DedupArg::Near) {
        bail!("--report is used by --dedup near only");
    }
    if args.out.exists() {
        bail!(
            "{}: already exists; choose a new output folder",
            args.out.display()
        );
    }
    let cfg = ReduceConfig {
        strategy,
        fraction: args.fraction,
        seed: args.seed,
        dedup: match args.dedup {
            Some(DedupArg::Exact) => Dedup::Exact,
            None | Some(DedupArg::Near) => Dedup::None,
        },
        features,
        splits: (!args.splits.is_empty()).then(|| args.splits.clone()),
    };
    let ds = open_dataset(&args.dataset)?;
    let name = ds.name.clone();
    let mut reduced = if args.dedup == Some(DedupArg::Near) {
        let settings = dlscope_analyze::Settings::default();
        let source = match &args.report {
            Some(p) => Duplicates::Report(p),
            None => Duplicates::Analyze(&settings),
        };
        reduce_dedup_near(ds, &cfg, source).with_context(|| format!("reducing {name}"))?
    } else {
        reduce(ds, &cfg).with_context(|| format!("reducing {name}"))?
    };
    let (dir, written) = write_reduced(&mut reduced, &args.out, format)
        .with_context(|| format!("writing {}", args.out.display()))?;
    let s = &reduced.summary;
    if args.json {
        println!("{}", serde_json::to_string_pretty(s)?);
    } else {
        println!(
            "{}: kept {} of {} samples ({}, fraction {}, seed {})",
            s.dataset, s.after, s.before, s.strategy, s.fraction, s.seed
        );
        for c in &s.splits {
            let dup = if c.duplicates_dropped > 0 {
                format!(", {} duplicates dropped first", c.duplicates_dropped)
            } else {
                String::new()
            };
            println!("  {}: {} -> {}{}", c.split, c.before, c.after, dup);
        }
        if !written.skipped.is_empty() {
            println!(
                "  {} samples could not be written (see summary.json)",
                written.skipped.len()
            );
        }
        println!("  wrote {} ({} samples)", dir.display(), written.samples);
    }
    Ok(())
}
