//! `dlscope clean`: act on an analysis report. Samples flagged with the chosen finding kinds are
//! removed (one representative of each duplicate group kept, leaks removed on the train side
//! by default) or relabelled with the suggested label, and the rest is written as a new dataset
//! with `removed.csv` and `kept.csv` beside it. The input is never modified.
//!
//! ```no_run
//! use dlscope_analyze::findings::FindingKind;
//! use dlscope_flows::clean::{clean, Options, Policy};
//! let ds = dlscope_data::open("fashion-mnist").unwrap();
//! let report = dlscope_report::json::Report::read("fm-report/report.json".as_ref()).unwrap();
//! let mut policy = Policy::default();
//! policy.drop.insert(FindingKind::ExactDuplicate);
//! policy.drop.insert(FindingKind::Leak);
//! let s = clean(ds, &report, &Options::new(policy), "fm-clean".as_ref()).unwrap();
//! assert_eq!(s.input, s.written + s.removed + s.skipped_on_write);
//! ```
//!
//! Output folder: `data/` (the cleaned dataset, in the input's format unless asked otherwise),
//! `removed.csv` (`split,index,id,reason,group`), `kept.csv` (`split,index,new_index,id,label,
//! original_label`), `skipped.csv` when a kept sample failed to decode while writing,
//! `summary.json`, and `normalization.json` (per-channel mean and std of each split, values in
//! 0..1) when asked. Built under a temporary name beside the output and renamed when complete.
//!
//! Missing labels can be filled from a trained model ([`fill_labels`], `--fill-labels RUN`):
//! the predictions go into `data/`, and `filled.csv` (`split,index,id,label,class,probability,
//! reason`) lists every unlabelled sample, filled or left unlabelled below the minimum
//! probability. With no report, [`Plan::keep_all`] keeps every sample and only fills.

mod fill;
mod plan;
mod stats;

use std::path::{Path, PathBuf};

use dlscope_data::convert::{self, Target};
use dlscope_data::folder::ImageFormat;
use dlscope_data::io::{refuse_input_overlap, remove_stale_partials, AtomicDir};
use dlscope_data::tensors::Labels;
use dlscope_data::transform::{self, Keep};
use dlscope_data::{DataError, Dataset, Format};
use dlscope_report::json::Report;
use serde::Serialize;

pub use fill::{fill_labels, Fill, FillOptions};
pub use plan::{plan, representative, LeakSide, Plan, Policy, Relabelled, Removed};
pub use stats::{channel_stats, ChannelStats};

/// Errors of the clean workflow.
#[derive(Debug, thiserror::Error)]
pub enum CleanError {
    #[error(transparent)]
    Data(#[from] DataError),
    /// The report does not describe this dataset.
    #[error("the report does not match the dataset: {why}")]
    Mismatch { why: String },
    /// The requested actions contradict each other or cannot be carried out.
    #[error("{0}")]
    Policy(String),
    #[error("{path}: {what}: {source}")]
    Write {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The model of a training run cannot fill this dataset's labels.
    #[error("run {run}: {why}")]
    Model { run: PathBuf, why: String },
    /// Kept + removed (+ skipped) do not add up to the input: a bug, nothing was committed.
    #[error("counts do not reconcile: {0}")]
    Reconcile(String),
}

/// How to clean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub policy: Policy,
    /// Output format of `data/`; `None` = the input's format (CIFAR is written as IDX).
    pub target: Option<Target>,
    /// Also write `normalization.json`.
    pub stats: bool,
}

impl Options {
    pub fn new(policy: Policy) -> Self {
        Options {
            policy,
            target: None,
            stats: false,
        }
    }
}

/// The writer that keeps a dataset in the format it came in.
pub fn same_format(format: Format) -> Target {
    match format {
        Format::Idx | Format::Cifar => Target::Idx { gzip: false },
        Format::Folder => Target::Folder(ImageFormat::Png),
        Format::Manifest => Target::Manifest,
        Format::Tensors => Target::Tensors(Labels::Index),
        Format::WebDataset => Target::WebDataset {
            format: ImageFormat::Png,
            shard_size: dlscope_data::webdataset::DEFAULT_SHARD_SIZE,
        },
        Format::Parquet => Target::Parquet {
            format: ImageFormat::Png,
        },
    }
}

/// What `clean` did. `input = written + removed + skipped_on_write` always holds.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub out: PathBuf,
    pub input: usize,
    pub written: usize,
    pub removed: usize,
    pub relabelled: usize,
    /// Kept samples that failed to decode while writing (listed in `skipped.csv`).
    pub skipped_on_write: usize,
    /// Unlabelled samples given the model's label (`--fill-labels`; listed in `filled.csv`).
    pub filled: usize,
    /// Unlabelled samples the model looked at but left unlabelled (below the minimum
    /// probability, or not decodable).
    pub left_unlabelled: usize,
    /// Removed samples per reason.
    pub removed_by_reason: std::collections::BTreeMap<String, usize>,
    /// Per split: (name, input, kept).
    pub splits: Vec<(String, usize, usize)>,
    pub stats: Option<Vec<ChannelStats>>,
}

/// Checks that `report` was made on a dataset with the splits and sizes of `ds`.
pub fn check_report(ds: &Dataset, report: &Report) -> Result<(), CleanError> {
    let got: Vec<(String, u64)> = ds
        .splits
        .iter()
        .map(|s| (s.name().to_string(), s.len() as u64))
        .collect();
    let want: Vec<(String, u64)> = report
        .dataset
        .splits
        .iter()
        .map(|s| (s.name.clone(), s.len))
        .collect();
    if got != want {
        return Err(CleanError::Mismatch {
            why: format!("report splits {want:?}, dataset splits {got:?}"),
        });
    }
    Ok(())
}

/// Plans from `report` and writes the cleaned copy of `ds` into the new folder `out`.
pub fn clean(
    ds: Dataset,
    report: &Report,
    opts: &Options,
    out: &Path,
) -> Result<Summary, CleanError> {
    check_report(&ds, report)?;
    let plan = plan(&ds, &report.findings, &opts.policy)?;
    write_plan(ds, &plan, opts, out)
}

/// Writes the cleaned copy described by `plan` (see the module docs for the layout).
pub fn write_plan(
    ds: Dataset,
    plan: &Plan,
    opts: &Options,
    out: &Path,
) -> Result<Summary, CleanError> {
    write_cleaned(ds, plan, None, opts, out)
}

/// [`write_plan`], also writing the labels of `fills` (from [`fill_labels`] on the same `ds`
/// and `plan`) and listing them in `filled.csv` (written whenever `fills` is given).
pub fn write_cleaned(
    ds: Dataset,
    plan: &Plan,
    fills: Option<&[Fill]>,
    opts: &Options,
    out: &Path,
) -> Result<Summary, CleanError> {
    refuse_input_overlap(out, &[&ds.root])?;
    let input = ds.len();
    let split_sizes: Vec<usize> = ds.splits.iter().map(|s| s.len()).collect();
    let target = opts.target.unwrap_or_else(|| same_format(ds.format));
    let original_labels: Vec<Vec<Option<u32>>> = ds.splits.iter().map(|s| s.labels()).collect();
    let ids: Vec<Vec<String>> = plan
        .kept
        .iter()
        .zip(&ds.splits)
        .map(|((_, idx), s)| idx.iter().map(|&i| s.id(i).to_string()).collect())
        .collect();
    let fills_asked = fills;
    let fills = fills.unwrap_or_default();
    let filled_labels = fills
        .iter()
        .filter_map(|f| f.label.map(|l| ((f.split.as_str(), f.index), l)));
    let relabel: std::collections::HashMap<(&str, u64), u32> = plan
        .relabelled
        .iter()
        .map(|r| ((r.split.as_str(), r.index), r.to))
        .chain(filled_labels)
        .collect();
    let keep: Vec<Keep> = plan
        .kept
        .iter()
        .zip(&original_labels)
        .map(|((name, idx), labels)| {
            let new: Vec<Option<u32>> = idx
                .iter()
                .map(|&i| {
                    relabel
                        .get(&(name.as_str(), i as u64))
                        .map_or(labels[i], |&to| Some(to))
                })
                .collect();
            Keep {
                split: name.clone(),
                indices: idx.clone(),
                labels: Some(new),
            }
        })
        .collect();
    let new_labels: Vec<Vec<Option<u32>>> = keep
        .iter()
        .map(|k| k.labels.clone().unwrap_or_default())
        .collect();
    let classes = ds.classes.clone();
    let cleaned = transform::select(ds, keep)?;

    remove_stale_partials(out)?;
    let dir = AtomicDir::new(out)?;
    let stats = if opts.stats {
        Some(channel_stats(&cleaned))
    } else {
        None
    };
    let written = convert::write(&cleaned, &dir.path().join("data"), target)?;

    let werr = |path: &Path, e: csv::Error| CleanError::Write {
        path: path.to_path_buf(),
        what: "write CSV",
        source: std::io::Error::other(e),
    };
    let removed_csv = dir.path().join("removed.csv");
    let mut w = csv::Writer::from_path(&removed_csv).map_err(|e| werr(&removed_csv, e))?;
    w.write_record(["split", "index", "id", "reason", "group"])
        .map_err(|e| werr(&removed_csv, e))?;
    for r in &plan.removed {
        let group = r.group.map(|g| g.to_string()).unwrap_or_default();
        w.write_record([
            r.split.as_str(),
            &r.index.to_string(),
            &r.id,
            r.reason.as_str(),
            &group,
        ])
        .map_err(|e| werr(&removed_csv, e))?;
    }
    w.flush().map_err(|e| werr(&removed_csv, e.into()))?;

    let kept_csv = dir.path().join("kept.csv");
    let mut w = csv::Writer::from_path(&kept_csv).map_err(|e| werr(&kept_csv, e))?;
    w.write_record([
        "split",
        "index",
        "new_index",
        "id",
        "label",
        "original_label",
    ])
    .map_err(|e| werr(&kept_csv, e))?;
    let name_of = |l: Option<u32>| -> String {
        l.and_then(|l| classes.get(l as usize).cloned())
            .unwrap_or_default()
    };
    for (s, (name, idx)) in plan.kept.iter().enumerate() {
        for (j, &i) in idx.iter().enumerate() {
            w.write_record([
                name.as_str(),
                &i.to_string(),
                &j.to_string(),
                &ids[s][j],
                &name_of(new_labels[s][j]),
                &name_of(original_labels[s][i]),
            ])
            .map_err(|e| werr(&kept_csv, e))?;
        }
    }
    w.flush().map_err(|e| werr(&kept_csv, e.into()))?;

    if !written.skipped.is_empty() {
        let p = dir.path().join("skipped.csv");
        let mut w = csv::Writer::from_path(&p).map_err(|e| werr(&p, e))?;
        w.write_record(["sample", "reason"])
            .map_err(|e| werr(&p, e))?;
        for s in &written.skipped {
            w.write_record([&s.path, &s.reason])
                .map_err(|e| werr(&p, e))?;
        }
        w.flush().map_err(|e| werr(&p, e.into()))?;
    }

    if let Some(f) = fills_asked {
        fill::write_filled_csv(&dir.path().join("filled.csv"), f)?;
    }

    let kept = plan.kept_count();
    let skipped_on_write = written.skipped.len();
    if kept + plan.removed.len() != input || written.samples + skipped_on_write != kept {
        return Err(CleanError::Reconcile(format!(
            "input {input}, kept {kept}, removed {}, written {}, skipped {skipped_on_write}",
            plan.removed.len(),
            written.samples
        )));
    }
    let mut removed_by_reason = std::collections::BTreeMap::new();
    for r in &plan.removed {
        *removed_by_reason.entry(r.reason.to_string()).or_insert(0) += 1;
    }
    let mut summary = Summary {
        out: out.to_path_buf(),
        input,
        written: written.samples,
        removed: plan.removed.len(),
        relabelled: plan.relabelled.len(),
        filled: fills.iter().filter(|f| f.label.is_some()).count(),
        left_unlabelled: fills.iter().filter(|f| f.label.is_none()).count(),
        skipped_on_write,
        removed_by_reason,
        splits: plan
            .kept
            .iter()
            .zip(split_sizes)
            .map(|((n, k), len)| (n.clone(), len, k.len()))
            .collect(),
        stats,
    };
    if let Some(st) = &summary.stats {
        write_json(&dir.path().join("normalization.json"), st)?;
    }
    write_json(&dir.path().join("summary.json"), &summary)?;
    summary.out = dir.commit()?;
    Ok(summary)
}

fn write_json<T: Serialize>(path: &Path, v: &T) -> Result<(), CleanError> {
    let bytes = serde_json::to_vec_pretty(v).map_err(|e| CleanError::Write {
        path: path.to_path_buf(),
        what: "serialise JSON",
        source: std::io::Error::other(e),
    })?;
    std::fs::write(path, bytes).map_err(|e| CleanError::Write {
        path: path.to_path_buf(),
        what: "write",
        source: e,
    })
}
