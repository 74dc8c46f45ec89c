//! `dlscope reduce --dedup near`: reduction that first drops the exact and near duplicates
//! `dlscope analyze` finds, keeping from each group the representative `dlscope clean` keeps
//! ([`crate::clean::representative`], through [`crate::clean::plan`]). The groups come from a
//! fresh analysis or from an existing `report.json`; the strategy then runs on what is left
//! (`dlscope_ml::pipeline::reduce` with [`Dedup::Listed`]), and `removed.csv` says
//! `near_duplicate of <id>` / `exact_duplicate of <id>` for each dropped duplicate.
//!
//! ```no_run
//! use dlscope_flows::reduce::{reduce_dedup_near, Duplicates};
//! use dlscope_ml::pipeline::{write_reduced, Dedup, OutputFormat, ReduceConfig};
//! let ds = dlscope_data::open("fashion-mnist").unwrap();
//! let cfg = ReduceConfig {
//!     strategy: "stratified".parse().unwrap(),
//!     fraction: 0.1,
//!     seed: 0,
//!     dedup: Dedup::None, // replaced by the analysis' groups
//!     features: dlscope_ml::features::FeatureSpec::Pca(50),
//!     splits: None,
//! };
//! let settings = dlscope_analyze::Settings::default();
//! let mut r = reduce_dedup_near(ds, &cfg, Duplicates::Analyze(&settings)).unwrap();
//! write_reduced(&mut r, "small".as_ref(), OutputFormat::Idx { gzip: false }).unwrap();
//! ```

use std::collections::BTreeSet;
use std::path::Path;

use dlscope_analyze::{AnalyzeError, Finding, FindingKind, Settings};
use dlscope_data::Dataset;
use dlscope_ml::pipeline::{reduce, Dedup, PreDrop, ReduceConfig, Reduced};
use dlscope_ml::MlError;
use dlscope_report::json::Report;

use crate::clean::{check_report, plan, CleanError, Policy};

/// Name of the near-duplicate dedup in `summary.json`.
pub const NEAR: &str = "near";

/// Where the duplicate groups come from.
#[derive(Debug, Clone, Copy)]
pub enum Duplicates<'a> {
    /// Analyse the dataset now with these settings.
    Analyze(&'a Settings),
    /// Reuse the findings of a `dlscope analyze` report (`report.json`) made on this dataset.
    Report(&'a Path),
    /// Findings already at hand (of an analysis of this dataset).
    Findings(&'a [Finding]),
}

/// Errors of the near-duplicate reduction.
#[derive(Debug, thiserror::Error)]
pub enum ReduceError {
    #[error("analysing the dataset for duplicates: {0}")]
    Analyze(#[from] AnalyzeError),
    #[error("{path}: {source}")]
    Report {
        path: std::path::PathBuf,
        #[source]
        source: dlscope_report::ReportError,
    },
    #[error(transparent)]
    Clean(#[from] CleanError),
    #[error(transparent)]
    Ml(#[from] MlError),
}

/// The samples to drop so that one member of each exact- or near-duplicate group of
/// `findings` stays (the one `dlscope clean` keeps), each with its reason
/// (`near_duplicate of <kept id>`).
pub fn duplicate_drops(ds: &Dataset, findings: &[Finding]) -> Result<Vec<PreDrop>, CleanError> {
    let policy = Policy {
        drop: BTreeSet::from([FindingKind::ExactDuplicate, FindingKind::NearDuplicate]),
        ..Policy::default()
    };
    let p = plan(ds, findings, &policy)?;
    Ok(p.removed
        .into_iter()
        .map(|r| PreDrop {
            split: r.split,
            index: r.index as usize,
            reason: match r.representative {
                Some(rep) => format!("{} of {rep}", r.reason),
                None => r.reason.to_string(),
            },
        })
        .collect())
}

/// The duplicate findings of `source` for `ds`.
pub fn duplicate_findings(
    ds: &Dataset,
    source: Duplicates<'_>,
) -> Result<Vec<Finding>, ReduceError> {
    let keep = |f: &Finding| {
        matches!(
            f.kind,
            FindingKind::ExactDuplicate | FindingKind::NearDuplicate
        )
    };
    Ok(match source {
        Duplicates::Analyze(settings) => dlscope_analyze::analyze(ds, settings, &|_| {})?
            .findings
            .into_iter()
            .filter(keep)
            .collect(),
        Duplicates::Report(path) => {
            let report = Report::read(path).map_err(|source| ReduceError::Report {
                path: path.to_path_buf(),
                source,
            })?;
            check_report(ds, &report)?;
            report.findings.into_iter().filter(keep).collect()
        }
        Duplicates::Findings(f) => f.iter().filter(|f| keep(f)).cloned().collect(),
    })
}

/// Drops the duplicates of `source` (one representative of each group stays), then reduces
/// with `cfg` (its `dedup` is replaced).
pub fn reduce_dedup_near(
    ds: Dataset,
    cfg: &ReduceConfig,
    source: Duplicates<'_>,
) -> Result<Reduced, ReduceError> {
    let findings = duplicate_findings(&ds, source)?;
    let drops = duplicate_drops(&ds, &findings)?;
    let cfg = ReduceConfig {
        dedup: Dedup::Listed {
            name: NEAR.to_string(),
            drops,
        },
        ..cfg.clone()
    };
    Ok(reduce(ds, &cfg)?)
}
