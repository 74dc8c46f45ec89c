//! `dlscope reduce`: keep a fraction of every split (or of the chosen splits), write the reduced
//! copy with one of the dataset writers, and list what was kept in `kept.csv`. The input is
//! never modified.
//!
//! Output folder: `data/` (the reduced dataset), `kept.csv` (`split,index,id,label`: the
//! original position and identity of every kept sample) and `summary.json`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use dlscope_data::folder::ImageFormat;
use dlscope_data::io::{write_atomic, AtomicDir};
use dlscope_data::{Dataset, Written};
use serde::Serialize;

use crate::error::Result;
use crate::features::FeatureSpec;
use crate::sampling::{exact_duplicate_groups, Reduction, Strategy};
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

/// What to keep.
#[derive(Debug, Clone, PartialEq)]
pub struct ReduceConfig {
    pub strategy: Strategy,
    /// Fraction of each reduced split to keep, in `(0, 1]`.
    pub fraction: f64,
    pub seed: u64,
    /// Collapse byte-identical images to one before the strategy runs.
    pub dedup: bool,
    /// Feature space of the k-center and prototype strategies.
    pub features: FeatureSpec,
    /// Splits to reduce (`None`: all); other splits are kept whole.
    pub splits: Option<Vec<String>>,
}

/// Per-split counts.
#[derive(Debug, Clone, Serialize)]
pub struct SplitCounts {
    pub split: String,
    pub before: usize,
    pub after: usize,
    pub duplicates_dropped: usize,
    pub reduced: bool,
}

/// `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct ReduceSummary {
    pub dataset: String,
    pub strategy: String,
    pub fraction: f64,
    pub seed: u64,
    pub dedup: bool,
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

/// The reduced view (over the input dataset, nothing copied yet) and its record.
#[derive(Debug)]
pub struct Reduced {
    pub dataset: Dataset,
    pub kept: Vec<Kept>,
    pub summary: ReduceSummary,
}

/// Chooses the samples to keep in every split.
pub fn reduce(ds: Dataset, cfg: &ReduceConfig) -> Result<Reduced> {
    let t0 = Instant::now();
    if let Some(names) = &cfg.splits {
        for n in names {
            ds.split(n)?;
        }
    }
    let mut keep: Vec<(String, Vec<usize>)> = Vec::new();
    let mut counts = Vec::new();
    for split in &ds.splits {
        let name = split.name().to_string();
        let reduce_it = cfg.splits.as_ref().is_none_or(|s| s.contains(&name));
        if !reduce_it {
            keep.push((name.clone(), (0..split.len()).collect()));
            counts.push(SplitCounts {
                split: name,
                before: split.len(),
                after: split.len(),
                duplicates_dropped: 0,
                reduced: false,
            });
            continue;
        }
        let labels: Vec<u32> = (0..split.len())
            .map(|i| split.label(i).unwrap_or(u32::MAX))
            .collect();
        let needs_pixels = cfg.dedup || cfg.strategy.needs_features();
        let dense = if needs_pixels && !split.is_empty() {
            Some(split.to_dense()?)
        } else {
            None
        };
        let duplicates = match (&dense, cfg.dedup) {
            (Some(d), true) => Some(exact_duplicate_groups(&d.pixels, d.shape.len())),
            _ => None,
        };
        let features = match (&dense, cfg.strategy.needs_features()) {
            (Some(d), true) => Some(cfg.features.compute(&d.pixels, d.shape.len(), cfg.seed)?),
            _ => None,
        };
        let sel = if split.is_empty() {
            None
        } else {
            let r = Reduction {
                strategy: cfg.strategy,
                fraction: cfg.fraction,
                seed: cfg.seed,
                duplicates,
            };
            Some(r.select(&labels, features.as_ref().map(|f| f.matrix.view()))?)
        };
        let (kept, dropped) = sel.map_or((Vec::new(), 0), |s| (s.kept, s.duplicates_dropped));
        counts.push(SplitCounts {
            split: name.clone(),
            before: split.len(),
            after: kept.len(),
            duplicates_dropped: dropped,
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
        dedup: cfg.dedup,
        features: cfg
            .strategy
            .needs_features()
            .then(|| cfg.features.to_string()),
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
        summary,
    })
}

/// Writes the reduced dataset into the new folder `out` (`data/`, `kept.csv`, `summary.json`);
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
    let kept_path = tmp.path().join("kept.csv");
    write_atomic(&kept_path, |w| {
        let mut c = csv::Writer::from_writer(w);
        c.write_record(["split", "index", "id", "label"])
            .map_err(std::io::Error::other)?;
        for k in &r.kept {
            let label = k.label.map(|l| l.to_string()).unwrap_or_default();
            c.write_record([
                k.split.as_str(),
                &k.index.to_string(),
                k.id.as_str(),
                label.as_str(),
            ])
            .map_err(std::io::Error::other)?;
        }
        c.flush()
    })?;
    let json_path = tmp.path().join("summary.json");
    super::write_summary_json(&json_path, &r.summary)?;
    let path = tmp.commit()?;
    Ok((path, written))
}
