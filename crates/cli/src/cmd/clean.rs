//! `dlscope clean DATASET --report report.json --drop KINDS --out OUT`: write a cleaned copy of
//! a dataset from an analysis report: flagged samples removed (one per duplicate group kept,
//! leaks removed on the train side by default) or relabelled, with removed.csv and kept.csv.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{bail, Context};
use dlscope_analyze::FindingKind;
use dlscope_data::convert::Target;
use dlscope_data::folder::ImageFormat;
use dlscope_data::tensors::Labels;
use dlscope_flows::clean::{check_report, plan, write_plan, LeakSide, Options, Policy};
use dlscope_report::json::Report;

use super::common::open_dataset;

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
    /// report.json written by `dlscope analyze`.
    #[arg(long)]
    pub report: PathBuf,
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
    if policy.drop.is_empty() && policy.relabel.is_empty() {
        bail!("nothing to do: give --drop and/or --relabel");
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
    let report =
        Report::read(&args.report).with_context(|| format!("reading {}", args.report.display()))?;
    let ds = open_dataset(&args.dataset)?;
    check_report(&ds, &report)?;
    let p = plan(&ds, &report.findings, &opts.policy)?;
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
        return Ok(());
    }
    let s = write_plan(ds, &p, &opts, &args.out)
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
