//! `report.json`: the profile, findings, counts and exact settings of one analysis, under a
//! `schema_version` so readers can tell layouts apart.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use dlscope_analyze::{
    Analysis, DatasetMeta, Finding, FindingKind, PassSettings, Profile, Settings,
};
use serde::{Deserialize, Serialize};

use crate::error::{ReportError, Result};

/// Layout version of `report.json`. Raised whenever a field is renamed, removed or changes
/// meaning; readers refuse reports with a higher version than they know.
pub const SCHEMA_VERSION: u32 = 1;

/// The tool that wrote a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Tool {
    /// This build of dlscope.
    pub fn current() -> Self {
        Tool {
            name: "dlscope".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// Everything in `report.json` (all of [`Analysis`] except the per-sample feature table,
/// which goes to `features.csv`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: Tool,
    pub dataset: DatasetMeta,
    /// The settings used, thresholds included.
    pub settings: Settings,
    /// The settings of the feature pass (decode, mean-image size).
    pub pass: PassSettings,
    /// Number of findings per kind (every kind, zeros included).
    pub counts: BTreeMap<FindingKind, u64>,
    pub profile: Profile,
    /// Ordered like `findings.csv`: by kind, then group or score, then split and index.
    pub findings: Vec<Finding>,
}

impl Report {
    /// The report of an analysis.
    pub fn from_analysis(a: &Analysis) -> Self {
        Report {
            schema_version: SCHEMA_VERSION,
            tool: Tool::current(),
            dataset: a.dataset.clone(),
            settings: a.settings.clone(),
            pass: a.pass.clone(),
            counts: a.counts.clone(),
            profile: a.profile.clone(),
            findings: a.findings.clone(),
        }
    }

    /// Writes the report as pretty JSON.
    pub fn write(&self, w: &mut dyn Write) -> std::io::Result<()> {
        serde_json::to_writer_pretty(&mut *w, self)?;
        w.write_all(b"\n")
    }

    /// Reads a `report.json`, refusing one with a newer `schema_version`.
    pub fn read(path: &Path) -> Result<Report> {
        let bytes = std::fs::read(path).map_err(|e| ReportError::io(path, "read", e))?;
        Self::parse(&bytes, path)
    }

    /// Parses report JSON; `path` only names the source in errors.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Report> {
        #[derive(Deserialize)]
        struct Version {
            schema_version: u32,
        }
        let json_err = |source| ReportError::Json {
            path: path.to_path_buf(),
            what: "dlscope report",
            source,
        };
        let v: Version = serde_json::from_slice(bytes).map_err(json_err)?;
        if v.schema_version > SCHEMA_VERSION {
            return Err(ReportError::Schema {
                path: path.to_path_buf(),
                found: v.schema_version,
                supported: SCHEMA_VERSION,
            });
        }
        serde_json::from_slice(bytes).map_err(json_err)
    }
}
