//! `dlscope analyze DATASET --out DIR`: profile a dataset and find what is wrong with it.
//! Writes `findings.csv`, `features.csv`, `report.json` and `report.html` into a new folder
//! (built under a temporary name, renamed into place at the end) and prints a summary.
//! `--shard i/N` runs one part of the pass; `--merge DIR...` finishes from the parts.
//! `--embeddings MODEL|FILE` adds near duplicates and outliers in a pretrained network's
//! embedding space (a `dlscope embed` file, or a model run here).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use dlscope_analyze::{
    analyze_embedded, analyze_shard, finish_embedded, Analysis, Progress, SampleEmbeddings,
    Settings, Shard, Stage, Thresholds,
};
use dlscope_data::Dataset;
use dlscope_report::outdir::OutDir;
use dlscope_report::{shards, summary, write_analysis, HtmlOptions, WriteOptions, SCHEMA_VERSION};
use indicatif::ProgressBar;

use super::classify::ModelArgs;
use super::common::{embed_splits, open_dataset, progress_bar};

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
    /// Also find near duplicates (crops, colour changes, re-encodes) and outliers by
    /// pretrained-network embeddings: an existing file written by `dlscope embed`, or a model
    /// name (efficientnet-lite0, vgg16, ...) to embed every sample with now (weights: see
    /// --weights). Not with --shard (give it to the --merge run).
    #[arg(long, value_name = "MODEL|FILE", conflicts_with = "shard")]
    pub embeddings: Option<String>,
    /// Near duplicates by embeddings: smallest cosine between two samples' embeddings (0.7-1).
    #[arg(long, value_name = "COS", default_value_t = Thresholds::default().embedding_near_cosine)]
    pub embedding_near: f32,
    #[command(flatten, next_help_heading = "Embedding model (--embeddings MODEL)")]
    pub model_args: ModelArgs,
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
        t.embedding_near_cosine = self.embedding_near;
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

    if args.shard.is_some() && args.embeddings.is_some() {
        anyhow::bail!("--embeddings applies when findings are made: give it to the --merge run, not to --shard");
    }
    let embeddings = match &args.embeddings {
        Some(spec) => Some(sample_embeddings(spec, &ds, &args.model_args, args.json)?),
        None => None,
    };
    let embeddings = embeddings.as_ref();

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
        analyze_embedded(&ds, &settings, embeddings, &progress)?
    } else {
        let merged = shards::read_and_merge(&args.merge)?;
        finish_embedded(merged, &ds, &settings, embeddings, &progress)?
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

/// The embeddings `--embeddings SPEC` names: an existing file (`dlscope embed`'s format), else
/// a model run over every split now. Samples the model cannot read get no embedding.
fn sample_embeddings(
    spec: &str,
    ds: &Dataset,
    model_args: &ModelArgs,
    quiet: bool,
) -> anyhow::Result<SampleEmbeddings> {
    let path = Path::new(spec);
    if path.is_file() {
        let file = dlscope_data::embeddings::Embeddings::read(path)
            .with_context(|| format!("--embeddings {spec}"))?;
        let splits = ds
            .splits
            .iter()
            .map(|s| file.for_split(s))
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("--embeddings {spec} does not cover the dataset"))?;
        return Ok(SampleEmbeddings {
            source: spec.to_string(),
            dim: file.dim,
            splits,
        });
    }
    let info = dlscope_vision::models::find(spec).with_context(|| {
        format!("--embeddings {spec}: no such file, and not a model name either")
    })?;
    let pb = progress_bar(ds.len() as u64, "embedding");
    if quiet {
        pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let splits: Vec<_> = ds.splits.iter().collect();
    let all = embed_splits(info, model_args, &splits, &pb)?;
    pb.finish_and_clear();
    if !all.failures.is_empty() && !quiet {
        eprintln!(
            "{} sample(s) could not be embedded (they take no part in the embedding findings), e.g. {}: {}",
            all.failures.len(),
            all.failures[0].file,
            all.failures[0].error
        );
    }
    // Rows are the readable samples of each split in order; the others stay NaN.
    let dim = all.dim;
    let mut out: Vec<Vec<f32>> = ds
        .splits
        .iter()
        .map(|s| vec![f32::NAN; s.len() * dim])
        .collect();
    let mut row = 0;
    for (k, split) in ds.splits.iter().enumerate() {
        for i in 0..split.len() {
            if row < all.len()
                && all.splits[row] == split.name()
                && all.ids[row] == split.id(i).to_string()
            {
                out[k][i * dim..(i + 1) * dim].copy_from_slice(all.row(row));
                row += 1;
            }
        }
    }
    if row != all.len() {
        anyhow::bail!(
            "{}: embedded row {row} ({}/{}) does not line up with the dataset's samples",
            info.name,
            all.splits[row],
            all.ids[row]
        );
    }
    Ok(SampleEmbeddings {
        source: info.name.to_string(),
        dim,
        splits: out,
    })
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
