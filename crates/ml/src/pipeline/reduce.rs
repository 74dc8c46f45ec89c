//! `dlscope reduce`: keep a fraction of every split (or of the chosen splits), write the reduced
//! copy with one of the dataset writers, and list what was kept in `kept.csv`. The input is
//! never modified.
//!
//! Output folder: `data/` (the reduced dataset), `kept.csv` (`split,index,id,label`: the
//! original position and identity of every kept sample), `removed.csv`
//! (`split,index,id,label,reason`: every other sample of a reduced split, with why it went:
//! `exact_duplicate of <id>`, `near_duplicate of <id>` or `not_selected`) and `summary.json`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use dlscope_data::folder::ImageFormat;
use dlscope_data::io::{write_atomic, AtomicDir};
use dlscope_data::{Dataset, Split, Written};
use serde::Serialize;

use crate::error::{MlError, Result};
use crate::features::FeatureSpec;
use crate::sampling::{exact_duplicate_groups, target_count, Reduction, Strategy};
use crate::subset::subset_dataset;

/// How the reduced copy is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// IDX files (gzip-compressed when `gzip`).
    Idx { gzip: bool },
    /// Class folders of image files.
    Folder(ImageFormat),
    /// A CSV manifest (file-backed samples referenced, in-memory ones written as PNG).
    Manifest,
}

/// Samples dropped before the strategy runs.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Dedup {
    /// Nothing is dropped first.
    #[default]
    None,
    /// Byte-identical images: the first (lowest index) of each group stays.
    Exact,
    /// A precomputed list (for example the near-duplicate groups of an analysis, see
    /// `dlscope_flows::reduce`); `name` is recorded in `summary.json`. Entries on splits that
    /// are not reduced are ignored.
    Listed { name: String, drops: Vec<PreDrop> },
}

impl Dedup {
    pub fn name(&self) -> &str {
        match self {
            Dedup::None => "none",
            Dedup::Exact => "exact",
            Dedup::Listed { name, .. } => name,
        }
    }
}

/// One sample to drop before sampling, and why (`near_duplicate of <id>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreDrop {
    pub split: String,
    pub index: usize,
    pub reason: String,
}

/// What to keep.
#[derive(Debug, Clone, PartialEq)]
pub struct ReduceConfig {
    pub strategy: Strategy,
    /// Fraction of each reduced split to keep, in `(0, 1]` (of the split before duplicates
    /// are dropped; fewer are kept only when the duplicates leave fewer).
    pub fraction: f64,
    pub seed: u64,
    /// What goes before the strategy runs.
    pub dedup: Dedup,
    /// Feature space of the k-center and prototype strategies.
    pub features: FeatureSpec,
    /// Splits to reduce (`None`: all); other splits are kept whole.
    pub splits: Option<Vec<String>>,
}

/// Per-split counts: `before = after + duplicates_dropped + not_selected`.
#[derive(Debug, Clone, Serialize)]
pub struct SplitCounts {
    pub split: String,
    pub before: usize,
    pub after: usize,
    pub duplicates_dropped: usize,
    /// Left out by the strategy.
    pub not_selected: usize,
    pub reduced: bool,
}

/// `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct ReduceSummary {
    pub dataset: String,
    pub strategy: String,
    pub fraction: f64,
    pub seed: u64,
    /// `none`, `exact` or the name of a precomputed list (`near`).
    pub dedup: String,
    pub features: Option<String>,
    pub splits: Vec<SplitCounts>,
    pub before: usize,
    pub after: usize,
    pub select_seconds: f64,
    /// Samples the writer wrote, and those it had to skip (unreadable...).
    pub written: Option<usize>,
    pub write_skipped: Vec<dlscope_data::Skipped>,
}

/// One kept sample: where it was in the input.
#[derive(Debug, Clone, Serialize)]
pub struct Kept {
    pub split: String,
    pub index: usize,
    pub id: String,
    pub label: Option<u32>,
}

/// One dropped sample and why: a duplicate reason, or `not_selected` (left out by the
/// strategy).
#[derive(Debug, Clone, Serialize)]
pub struct RemovedSample {
    pub split: String,
    pub index: usize,
    pub id: String,
    pub label: Option<u32>,
    pub reason: String,
}

/// Reason of the samples the strategy left out.
pub const NOT_SELECTED: &str = "not_selected";

/// The reduced view (over the input dataset, nothing copied yet) and its record.
#[derive(Debug)]
pub struct Reduced {
    pub dataset: Dataset,
    pub kept: Vec<Kept>,
    /// Every sample of a reduced split that was not kept, in split order then index.
    pub removed: Vec<RemovedSample>,
    pub summary: ReduceSummary,
}

/// Why each sample of `split` goes before sampling (`None`: it stays in the pool).
fn pre_drops(
    split: &Split,
    dedup: &Dedup,
    dense: Option<&dlscope_data::Dense>,
) -> Result<Vec<Option<String>>> {
    let mut why = vec![None; split.len()];
    match dedup {
        Dedup::None => {}
        Dedup::Exact => {
            if let Some(d) = dense {
                // Groups are sorted: the first member stays, as `drop_duplicates` keeps it.
                for g in exact_duplicate_groups(&d.pixels, d.shape.len()) {
                    let rep = split.id(g[0]).to_string();
                    for &i in &g[1..] {
                        why[i] = Some(format!("exact_duplicate of {rep}"));
                    }
                }
            }
        }
        Dedup::Listed { drops, .. } => {
            for d in drops.iter().filter(|d| d.split == split.name()) {
                let slot = why.get_mut(d.index).ok_or_else(|| {
                    MlError::param(
                        "drop list",
                        format!("{}/{}", d.split, d.index),
                        format!("split '{}' has {} samples", d.split, split.len()),
                    )
                })?;
                *slot = Some(d.reason.clone());
            }
        }
    }
    Ok(why)
}

/// Chooses the samples to keep in every split.
pub fn reduce(ds: Dataset, cfg: &ReduceConfig) -> Result<Reduced> {
    let t0 = Instant::now();
    if let Some(names) = &cfg.splits {
        for n in names {
            ds.split(n)?;
        }
    }
    if let Dedup::Listed { drops, .. } = &cfg.dedup {
        for d in drops {
            ds.split(&d.split)?;
        }
    }
    let needs_features = cfg.strategy.needs_features();
    let needs_pixels = cfg.dedup == Dedup::Exact || (needs_features && cfg.features.uses_pixels());
    let mut keep: Vec<(String, Vec<usize>)> = Vec::new();
    let mut removed = Vec::new();
    let mut counts = Vec::new();
    for split in &ds.splits {
        let name = split.name().to_string();
        let reduce_it = cfg.splits.as_ref().is_none_or(|s| s.contains(&name));
        if !reduce_it || split.is_empty() {
            keep.push((name.clone(), (0..split.len()).collect()));
            counts.push(SplitCounts {
                split: name,
                before: split.len(),
                after: split.len(),
                duplicates_dropped: 0,
                not_selected: 0,
                reduced: reduce_it,
            });
            continue;
        }
        let n = split.len();
        let labels: Vec<u32> = (0..n).map(|i| split.label(i).unwrap_or(u32::MAX)).collect();
        let dense = if needs_pixels {
            Some(split.to_dense()?)
        } else {
            None
        };
        let why = pre_drops(split, &cfg.dedup, dense.as_ref())?;
        let pool: Vec<usize> = (0..n).filter(|&i| why[i].is_none()).collect();
        let features = if needs_features {
            let (px, per) = dense
                .as_ref()
                .map_or((&[][..], 0), |d| (&d.pixels[..], d.shape.len()));
            let f = cfg
                .features
                .compute_for(&[split], None, px, per, cfg.seed)?;
            Some(f.matrix.view().select_rows(&pool))
        } else {
            None
        };
        // The target counts the whole split, as if no duplicate had been dropped.
        let target = target_count(n, cfg.fraction)?.min(pool.len());
        let kept: Vec<usize> = if pool.is_empty() {
            Vec::new()
        } else {
            let r = Reduction {
                strategy: cfg.strategy,
                fraction: (target as f64 / pool.len() as f64).min(1.0),
                seed: cfg.seed,
                duplicates: None,
            };
            let pool_labels: Vec<u32> = pool.iter().map(|&i| labels[i]).collect();
            r.select(&pool_labels, features.as_ref().map(|f| f.view()))?
                .kept
                .into_iter()
                .map(|i| pool[i])
                .collect()
        };
        let mut is_kept = vec![false; n];
        for &i in &kept {
            is_kept[i] = true;
        }
        for (i, w) in why.into_iter().enumerate() {
            if !is_kept[i] {
                removed.push(RemovedSample {
                    split: name.clone(),
                    index: i,
                    id: split.id(i).to_string(),
                    label: split.label(i),
                    reason: w.unwrap_or_else(|| NOT_SELECTED.to_string()),
                });
            }
        }
        counts.push(SplitCounts {
            split: name.clone(),
            before: n,
            after: kept.len(),
            duplicates_dropped: n - pool.len(),
            not_selected: pool.len() - kept.len(),
            reduced: true,
        });
        keep.push((name, kept));
    }
    let kept: Vec<Kept> = keep
        .iter()
        .flat_map(|(name, idx)| {
            let split = ds.split(name);
            idx.iter().filter_map(move |&i| {
                let s = split.as_ref().ok()?;
                Some(Kept {
                    split: name.clone(),
                    index: i,
                    id: s.id(i).to_string(),
                    label: s.label(i),
                })
            })
        })
        .collect();
    let summary = ReduceSummary {
        dataset: ds.name.clone(),
        strategy: cfg.strategy.as_str().to_string(),
        fraction: cfg.fraction,
        seed: cfg.seed,
        dedup: cfg.dedup.name().to_string(),
        features: needs_features.then(|| cfg.features.to_string()),
        before: counts.iter().map(|c| c.before).sum(),
        after: counts.iter().map(|c| c.after).sum(),
        splits: counts,
        select_seconds: t0.elapsed().as_secs_f64(),
        written: None,
        write_skipped: Vec::new(),
    };
    let dataset = subset_dataset(ds, &keep)?;
    Ok(Reduced {
        dataset,
        kept,
        removed,
        summary,
    })
}

/// Writes the reduced dataset into the new folder `out` (`data/`, `kept.csv`, `removed.csv`,
/// `summary.json`);
/// the folder appears only when complete. `out` must not exist or overlap the input.
pub fn write_reduced(
    r: &mut Reduced,
    out: &Path,
    format: OutputFormat,
) -> Result<(PathBuf, Written)> {
    dlscope_data::io::refuse_input_overlap(out, &[&r.dataset.root])?;
    let tmp = AtomicDir::new(out)?;
    let data = tmp.path().join("data");
    let written = match format {
        OutputFormat::Idx { gzip } => dlscope_data::idx::write(&r.dataset, &data, gzip)?,
        OutputFormat::Folder(f) => dlscope_data::folder::write(&r.dataset, &data, f)?,
        OutputFormat::Manifest => dlscope_data::manifest::write(&r.dataset, &data)?,
    };
    r.summary.written = Some(written.samples);
    r.summary.write_skipped = written.skipped.clone();
    let kept = r
        .kept
        .iter()
        .map(|k| (k.split.as_str(), k.index, k.id.as_str(), k.label, None));
    write_samples_csv(&tmp.path().join("kept.csv"), false, kept)?;
    let removed = r.removed.iter().map(|k| {
        let reason = Some(k.reason.as_str());
        (k.split.as_str(), k.index, k.id.as_str(), k.label, reason)
    });
    write_samples_csv(&tmp.path().join("removed.csv"), true, removed)?;
    let json_path = tmp.path().join("summary.json");
    super::write_summary_json(&json_path, &r.summary)?;
    let path = tmp.commit()?;
    Ok((path, written))
}

/// One row per sample: `split,index,id,label` (and `reason` when `with_reason`).
fn write_samples_csv<'a>(
    path: &Path,
    with_reason: bool,
    rows: impl Iterator<Item = (&'a str, usize, &'a str, Option<u32>, Option<&'a str>)>,
) -> Result<()> {
    write_atomic(path, |w| {
        let mut c = csv::Writer::from_writer(w);
        let header = ["split", "index", "id", "label", "reason"];
        let n = if with_reason { 5 } else { 4 };
        c.write_record(&header[..n])
            .map_err(std::io::Error::other)?;
        for (split, index, id, label, reason) in rows {
            let (index, label) = (index.to_string(), label.map(|l| l.to_string()));
            let row = [
                split,
                &index,
                id,
                label.as_deref().unwrap_or(""),
                reason.unwrap_or(""),
            ];
            c.write_record(&row[..n]).map_err(std::io::Error::other)?;
        }
        c.flush()
    })?;
    Ok(())
}
