//! # dlscope-report
//!
//! The outputs of `dlscope analyze`: `findings.csv`, `features.csv`, `report.json` (with
//! `schema_version`), a self-contained offline `report.html`, and the terminal summary.
//!
//! ```no_run
//! use dlscope_analyze::{analyze, Settings};
//! use dlscope_report::{outdir::OutDir, summary, write_analysis, WriteOptions};
//!
//! let ds = dlscope_data::open("fashion-mnist").unwrap();
//! let analysis = analyze(&ds, &Settings::default(), &|_| {}).unwrap();
//! let out = OutDir::create("fmnist-report".as_ref(), &[&ds.root], false).unwrap();
//! write_analysis(out.path(), &analysis, &ds, &WriteOptions::default()).unwrap();
//! out.commit().unwrap();
//! print!("{}", summary::render_analysis(&analysis));
//! ```
//!
//! Reading a report back: [`Report::read`] (refuses a newer `schema_version`).

pub mod error;
pub mod html;
pub mod json;
pub mod outdir;
pub mod shards;
pub mod summary;
pub mod tables;

use std::path::{Path, PathBuf};

use dlscope_analyze::Analysis;
use dlscope_data::io::write_atomic;
use dlscope_data::{Dataset, SampleId};

pub use error::{ReportError, Result};
pub use html::HtmlOptions;
pub use json::{Report, SCHEMA_VERSION};

/// Which outputs [`write_analysis`] writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOptions {
    /// Write `report.html` (thumbnails are re-loaded from the dataset).
    pub html: bool,
    pub html_options: HtmlOptions,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            html: true,
            html_options: HtmlOptions::default(),
        }
    }
}

/// File names inside an output folder.
pub const FINDINGS_CSV: &str = "findings.csv";
pub const FEATURES_CSV: &str = "features.csv";
pub const REPORT_JSON: &str = "report.json";
pub const REPORT_HTML: &str = "report.html";

/// Writes the outputs of `analysis` into the folder `dir` (which must exist; use
/// [`outdir::OutDir`] for an atomic output folder). `dataset` is the dataset analysed: it names
/// samples in `features.csv` and provides the HTML thumbnails. Returns the files written.
pub fn write_analysis(
    dir: &Path,
    analysis: &Analysis,
    dataset: &Dataset,
    opts: &WriteOptions,
) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();

    let path = dir.join(FINDINGS_CSV);
    write_atomic(&path, |w| {
        tables::write_findings_csv(w, &analysis.findings).map_err(Into::into)
    })?;
    written.push(path);

    let path = dir.join(FEATURES_CSV);
    let id_of = |s: u16, i: u64| sample_id(dataset, s, i);
    write_atomic(&path, |w| {
        tables::write_features_csv(w, &analysis.dataset, &analysis.features, &id_of)
            .map_err(Into::into)
    })?;
    written.push(path);

    let path = dir.join(REPORT_JSON);
    let report = Report::from_analysis(analysis);
    write_atomic(&path, |w| report.write(w))?;
    written.push(path);

    if opts.html {
        let path = dir.join(REPORT_HTML);
        let page = html::render(analysis, Some(dataset), &opts.html_options);
        write_atomic(&path, |w| w.write_all(page.as_bytes()))?;
        written.push(path);
    }
    Ok(written)
}

/// The report identity of sample `index` of split position `split`; its bare index when the
/// dataset has no such sample (a dataset other than the one analysed).
pub fn sample_id(dataset: &Dataset, split: u16, index: u64) -> SampleId {
    match dataset.splits.get(split as usize) {
        Some(s) if (index as usize) < s.len() => s.id(index as usize),
        _ => SampleId::Index(index),
    }
}
