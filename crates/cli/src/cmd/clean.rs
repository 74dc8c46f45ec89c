//! `dlscope clean DATASET --report report.json --drop KINDS --out OUT`: write a cleaned copy of
//! a dataset from an analysis report: flagged samples removed (one per duplicate group kept,
//! leaks removed on the train side by default) or relabelled, with removed.csv and kept.csv.
//! `--fill-labels RUN` also gives every unlabelled sample the label predicted by the model of a
//! `dlscope train` run (listed in filled.csv); without `--report` it only fills.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{bail, Context};
use dlscope_analyze::FindingKind;
use dlscope_data::convert::Target;
use dlscope_data::folder::ImageFormat;
use dlscope_data::tensors::Labels;
use dlscope_flows::clean::{
    check_report, fill_labels, plan, write_cleaned, FillOptions, LeakSide, Options, Plan, Policy,
};
use dlscope_report::json::Report;

use super::common::{load_run, open_dataset, ComputeArgs};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// The input's format (CIFAR is written as IDX).
    Same,
    Idx,
    Folder,
    Manifest,
    Tensors,
    Webdataset,
    Parquet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SideArg {
    Train,
    Test,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Catalog name or path: the dataset the report was made on.
    pub dataset: String,
    /// report.json written by `dlscope analyze` (optional with --fill-labels: then nothing is
    /// removed).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Finding kinds to remove, comma-separated (unreadable, exact_duplicate, near_duplicate,
    /// leak, label_issue, label_conflict, outlier, dark, light, blurry, low_information,
    /// constant, grayscale, odd_size, odd_aspect_ratio).
    #[arg(long, value_delimiter = ',')]
    pub drop: Vec<String>,
    /// Finding kinds whose samples get the suggested label instead (label_issue).
    #[arg(long, value_delimiter = ',')]
    pub relabel: Vec<String>,
    /// Which copy of a train/test leak is removed.
    #[arg(long, value_enum, default_value = "train")]
    pub leak_side: SideArg,
    /// New output folder: data/, removed.csv, kept.csv, summary.json.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value = "same")]
    pub format: FormatArg,
    /// Also write normalization.json (per-channel mean/std of each split, values 0..1).
    #[arg(long)]
    pub stats: bool,
    /// Run folder of `dlscope train --out`: predict a label for every unlabelled sample of every
    /// split and write it (each one listed in filled.csv). The model must take the dataset's
    /// image shape and have its classes.
    #[arg(long, value_name = "RUN")]
    pub fill_labels: Option<PathBuf>,
    /// With --fill-labels: leave samples whose top probability is below this unlabelled (they
    /// are listed in filled.csv with the reason).
    #[arg(long, value_name = "P", requires = "fill_labels")]
    pub fill_min_prob: Option<f32>,
    #[command(flatten)]
    pub compute: ComputeArgs,
    /// Only print what would be removed; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

fn kinds(names: &[String], flag: &str) -> anyhow::Result<BTreeSet<FindingKind>> {
    names
        .iter()
        .filter(|n| !n.trim().is_empty())
        .map(|n| {
            FindingKind::ALL
                .iter()
                .find(|k| k.as_str() == n.trim())
                .copied()
                .with_context(|| {
                    let all: Vec<&str> = FindingKind::ALL.iter().map(|k| k.as_str()).collect();
                    format!(
                        "{flag}: unknown finding kind '{n}' (known: {})",
                        all.join(", ")
                    )
                })
        })
        .collect()
}

/// The validated options of `args`.
pub fn options(args: &Args) -> anyhow::Result<Options> {
    let policy = Policy {
        drop: kinds(&args.drop, "--drop")?,
        relabel: kinds(&args.relabel, "--relabel")?,
        leak_side: match args.leak_side {
            SideArg::Train => LeakSide::Train,
            SideArg::Test => LeakSide::Test,
        },
    };
    if args.report.is_none() && !(policy.drop.is_empty() && policy.relabel.is_empty()) {
        bail!("--drop and --relabel act on findings: give --report");
    }
    if policy.drop.is_empty() && policy.relabel.is_empty() && args.fill_labels.is_none() {
        bail!("nothing to do: give --report with --drop and/or --relabel, or --fill-labels RUN");
    }
    if let Some(p) = args.fill_min_prob.filter(|p| !(0.0..=1.0).contains(p)) {
        bail!("--fill-min-prob must be in 0..=1, not {p}");
    }
    let target = match args.format {
        FormatArg::Same => None,
        FormatArg::Idx => Some(Target::Idx { gzip: false }),
        FormatArg::Folder => Some(Target::Folder(ImageFormat::Png)),
        FormatArg::Manifest => Some(Target::Manifest),
        FormatArg::Tensors => Some(Target::Tensors(Labels::Index)),
        FormatArg::Webdataset => Some(Target::WebDataset {
            format: ImageFormat::Png,
            shard_size: dlscope_data::webdataset::DEFAULT_SHARD_SIZE,
        }),
        FormatArg::Parquet => Some(Target::Parquet {
            format: ImageFormat::Png,
        }),
    };
    Ok(Options {
        policy,
        target,
        stats: args.stats,
    })
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let opts = options(&args)?;
    let ds = open_dataset(&args.dataset)?;
    let p = match &args.report {
        Some(path) => {
            let report =
                Report::read(path).with_context(|| format!("reading {}", path.display()))?;
            check_report(&ds, &report)?;
            plan(&ds, &report.findings, &opts.policy)?
        }
        None => Plan::keep_all(&ds),
    };
    let fills = match &args.fill_labels {
        Some(run) => {
            let model = load_run(run)?;
            let fo = FillOptions {
                min_prob: args.fill_min_prob,
                engine: args.compute.engine()?,
                threads: args.compute.threads,
            };
            Some(fill_labels(&ds, &p, &model, run, &fo)?)
        }
        None => None,
    };
    if args.dry_run {
        println!(
            "would keep {} of {} samples, remove {}, relabel {}",
            p.kept_count(),
            ds.len(),
            p.removed.len(),
            p.relabelled.len()
        );
        for r in p.removed.iter().take(20) {
            println!("  remove {}/{} ({}): {}", r.split, r.index, r.id, r.reason);
        }
        if let Some(f) = &fills {
            let n = f.iter().filter(|f| f.label.is_some()).count();
            println!(
                "would fill {n} of {} unlabelled samples with the model's label",
                f.len()
            );
        }
        return Ok(());
    }
    let s = write_cleaned(ds, &p, fills.as_deref(), &opts, &args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(());
    }
    for (split, before, after) in &s.splits {
        println!("  {split}: {before} -> {after}");
    }
    for (reason, n) in &s.removed_by_reason {
        println!("  removed {n} as {reason}");
    }
    if s.relabelled > 0 {
        println!("  relabelled {} (see kept.csv)", s.relabelled);
    }
    if args.fill_labels.is_some() {
        println!(
            "  filled {} unlabelled samples, left {} unlabelled (see filled.csv)",
            s.filled, s.left_unlabelled
        );
    }
    if s.skipped_on_write > 0 {
        println!(
            "  {} kept samples failed to decode while writing (see skipped.csv)",
            s.skipped_on_write
        );
    }
    println!(
        "counts reconcile: {} input = {} written + {} removed + {} skipped",
        s.input, s.written, s.removed, s.skipped_on_write
    );
    println!("wrote {}", s.out.display());
    Ok(())
}
