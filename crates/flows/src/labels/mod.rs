//! `dlscope labels`: out-of-sample predicted probabilities by stratified k-fold
//! cross-validation (an MLP or CNN from `dlscope-nn`, or a linear probe on embeddings), or
//! given as a `.npy` file, then confident learning (`dlscope_analyze::labels`, the same set of
//! issues as cleanlab's `find_label_issues`). Outputs, written atomically into a new folder:
//! `pred_probs.npy`, `label_issues.csv`, `findings.csv` (the analysis format, `label_issue`
//! rows) and `summary.json`.
//!
//! ```no_run
//! use dlscope_flows::labels::{run, LabelsConfig, ModelChoice, ProbSource};
//! let ds = dlscope_data::open("fashion-mnist")?;
//! let cfg = LabelsConfig {
//!     source: ProbSource::CrossVal { model: ModelChoice::Mlp, folds: 5, epochs: 5 },
//!     ..LabelsConfig::default()
//! };
//! let out = run(&ds, &cfg, "labels-out".as_ref(), &mut |_| {})?;
//! println!("{} likely label errors", out.summary.issues);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod npy;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use dlscope_analyze::labels::{
    find_label_issues, issue_findings, ClSettings, LabelError, LabelIssues, RankBy,
};
use dlscope_analyze::Finding;
use dlscope_data::io::{write_atomic, AtomicDir};
use dlscope_data::{DataError, Dataset};
use dlscope_nn::crossval::{cross_val_probs, linear_probe, CvPlan, FoldEvent, ProbeConfig};
use dlscope_nn::{Arch, Engine, NnError, TrainConfig};
use serde::{Deserialize, Serialize};

/// What stopped the labels workflow.
#[derive(Debug, thiserror::Error)]
pub enum LabelsFlowError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Nn(#[from] NnError),
    #[error("confident learning: {0}")]
    Cl(#[from] LabelError),
    #[error("{path}: {op}: {source}")]
    Io {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {why}")]
    Npy { path: PathBuf, why: String },
    #[error("{path}, line {line}: {why}")]
    List {
        path: PathBuf,
        line: usize,
        why: String,
    },
    #[error("split '{split}', sample {record}: {why}")]
    Sample {
        split: String,
        record: usize,
        why: String,
    },
}

pub type Result<T, E = LabelsFlowError> = std::result::Result<T, E>;

/// The model whose cross-validated probabilities are used.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelChoice {
    Mlp,
    Cnn,
    /// Softmax regression on the embeddings file of `dlscope embed` (safetensors + ids CSV).
    Linear {
        embeddings: PathBuf,
    },
}

impl ModelChoice {
    pub fn name(&self) -> &'static str {
        match self {
            ModelChoice::Mlp => "mlp",
            ModelChoice::Cnn => "cnn",
            ModelChoice::Linear { .. } => "linear",
        }
    }
}

/// Where the predicted probabilities come from.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbSource {
    CrossVal {
        model: ModelChoice,
        folds: usize,
        epochs: usize,
    },
    /// A `.npy` matrix (`n x k`, float32 or float64) computed elsewhere.
    File(PathBuf),
}

/// Settings of [`run`].
#[derive(Debug, Clone, PartialEq)]
pub struct LabelsConfig {
    pub split: String,
    pub source: ProbSource,
    pub seed: u64,
    /// Training threads (0 = one per core).
    pub threads: usize,
    pub rank_by: RankBy,
    /// Indices known to be mislabelled (one per line): precision and recall are reported.
    pub flipped_list: Option<PathBuf>,
}

impl Default for LabelsConfig {
    fn default() -> Self {
        LabelsConfig {
            split: "train".into(),
            source: ProbSource::CrossVal {
                model: ModelChoice::Mlp,
                folds: 5,
                epochs: 5,
            },
            seed: 0,
            threads: 0,
            rank_by: RankBy::SelfConfidence,
            flipped_list: None,
        }
    }
}

/// Precision and recall of the issues against a known list of flipped labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    pub flipped: usize,
    pub found: usize,
    pub precision: f64,
    pub recall: f64,
}

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub dataset: String,
    pub split: String,
    pub n: usize,
    pub k: usize,
    pub issues: usize,
    /// Issues per given class name.
    pub per_class: BTreeMap<String, u64>,
    /// `null` when probabilities were given.
    pub folds: Option<usize>,
    pub epochs: Option<usize>,
    /// `mlp`, `cnn`, `linear` or `file`.
    pub model: String,
    pub pred_probs_file: Option<String>,
    pub rank_by: String,
    pub seed: u64,
    /// Accuracy of the out-of-sample argmax against the given labels.
    pub cv_accuracy: f64,
    pub seconds: f64,
    pub truth: Option<Truth>,
}

/// What [`run`] produced.
#[derive(Debug, Clone)]
pub struct LabelsOutcome {
    pub summary: Summary,
    pub issues: LabelIssues,
    pub findings: Vec<Finding>,
    pub out: PathBuf,
}

fn given_labels(ds: &Dataset, split: &str) -> Result<Vec<u32>> {
    let s = ds.split(split)?;
    s.labels()
        .into_iter()
        .enumerate()
        .map(|(record, l)| {
            l.ok_or_else(|| LabelsFlowError::Sample {
                split: split.to_string(),
                record,
                why: "has no label; confident learning needs a label for every sample".into(),
            })
        })
        .collect()
}

/// Reads a list of sample indices, one per line (blank lines and `#` comments skipped; a
/// non-numeric first line is taken as a header).
pub fn read_index_list(path: &Path) -> Result<Vec<usize>> {
    let text = std::fs::read_to_string(path).map_err(|e| LabelsFlowError::Io {
        path: path.to_path_buf(),
        op: "read",
        source: e,
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.split(['#', ',']).next().unwrap_or("").trim();
        if t.is_empty() {
            continue;
        }
        match t.parse::<usize>() {
            Ok(v) => out.push(v),
            Err(_) if out.is_empty() && i == 0 => {}
            Err(_) => {
                return Err(LabelsFlowError::List {
                    path: path.to_path_buf(),
                    line: i + 1,
                    why: format!("'{t}' is not a sample index"),
                })
            }
        }
    }
    Ok(out)
}

/// Opens the split, gets probabilities, runs confident learning and writes the outputs into
/// the new folder `out` (refused if it exists).
pub fn run(
    ds: &Dataset,
    cfg: &LabelsConfig,
    out: &Path,
    on_fold: &mut (dyn FnMut(FoldEvent) + Send),
) -> Result<LabelsOutcome> {
    let start = Instant::now();
    let split = ds.split(&cfg.split)?;
    let k = ds.classes.len();
    let dir = AtomicDir::new(out)?;
    let (probs, labels) = match &cfg.source {
        ProbSource::File(path) => {
            let (p, rows, cols) = npy::read_matrix(path)?;
            if rows != split.len() || cols != k {
                return Err(LabelsFlowError::Npy {
                    path: path.clone(),
                    why: format!(
                        "shape ({rows}, {cols}) but split '{}' has {} samples and the dataset {k} classes",
                        cfg.split,
                        split.len()
                    ),
                });
            }
            (p, given_labels(ds, &cfg.split)?)
        }
        ProbSource::CrossVal {
            model: ModelChoice::Linear { embeddings: path },
            folds,
            epochs,
        } => {
            let labels = given_labels(ds, &cfg.split)?;
            let emb = dlscope_data::embeddings::Embeddings::read(path)?;
            let (x, dim) = (emb.for_split(split)?, emb.dim);
            let probe = ProbeConfig {
                epochs: *epochs,
                seed: cfg.seed,
                ..ProbeConfig::default()
            };
            let p = linear_probe(&x, dim, &labels, k, *folds, &probe, on_fold)?;
            (p, labels)
        }
        ProbSource::CrossVal {
            model,
            folds,
            epochs,
        } => {
            let data = dlscope_nn::data::load_split(split, None)?;
            let arch = if *model == ModelChoice::Cnn {
                Arch::cnn()
            } else {
                Arch::mlp()
            };
            let tc = TrainConfig {
                arch,
                seed: cfg.seed,
                ..TrainConfig::default()
            };
            let p = cross_val_probs(
                &tc,
                ds.classes.clone(),
                &cfg.split,
                &data,
                &CvPlan {
                    folds: *folds,
                    epochs: *epochs,
                    engine: Engine::Cpu,
                    threads: cfg.threads,
                },
                on_fold,
            )?;
            (p, data.labels)
        }
    };
    let settings = ClSettings {
        rank_by: cfg.rank_by,
        ..ClSettings::default()
    };
    let issues = find_label_issues(&probs, &labels, k, &settings)?;
    let findings = issue_findings(&issues, &cfg.split, &|i| split.id(i), &ds.classes);

    let truth = match &cfg.flipped_list {
        None => None,
        Some(path) => {
            let flipped: BTreeSet<usize> = read_index_list(path)?.into_iter().collect();
            let found: BTreeSet<usize> = issues.indices().into_iter().collect();
            let hit = flipped.intersection(&found).count();
            Some(Truth {
                flipped: flipped.len(),
                found: found.len(),
                precision: hit as f64 / found.len().max(1) as f64,
                recall: hit as f64 / flipped.len().max(1) as f64,
            })
        }
    };
    let correct = labels
        .iter()
        .enumerate()
        .filter(|&(i, &l)| {
            dlscope_nn::kernels::loss::argmax(&probs[i * k..(i + 1) * k]) == l as usize
        })
        .count();
    let name = |c: u32| {
        ds.classes
            .get(c as usize)
            .cloned()
            .unwrap_or_else(|| c.to_string())
    };
    let (model, folds, epochs, file) = match &cfg.source {
        ProbSource::File(p) => (
            "file".to_string(),
            None,
            None,
            Some(p.display().to_string()),
        ),
        ProbSource::CrossVal {
            model,
            folds,
            epochs,
        } => (model.name().to_string(), Some(*folds), Some(*epochs), None),
    };
    let summary = Summary {
        dataset: ds.name.clone(),
        split: cfg.split.clone(),
        n: labels.len(),
        k,
        issues: issues.issues.len(),
        per_class: (0..k as u32)
            .map(|c| (name(c), issues.per_class[c as usize]))
            .collect(),
        folds,
        epochs,
        model,
        pred_probs_file: file,
        rank_by: cfg.rank_by.as_str().to_string(),
        seed: cfg.seed,
        cv_accuracy: correct as f64 / labels.len() as f64,
        seconds: start.elapsed().as_secs_f64(),
        truth,
    };

    let p = dir.path();
    let bytes = npy::encode_f32(&probs, labels.len(), k);
    write_atomic(&p.join("pred_probs.npy"), |w| w.write_all(&bytes))?;
    write_atomic(&p.join("label_issues.csv"), |w| {
        let mut c = csv::Writer::from_writer(w);
        c.write_record([
            "rank",
            "split",
            "index",
            "id",
            "given",
            "given_name",
            "suggested",
            "suggested_name",
            "self_confidence",
            "score",
        ])?;
        for (r, is) in issues.issues.iter().enumerate() {
            c.write_record([
                (r + 1).to_string(),
                cfg.split.clone(),
                is.index.to_string(),
                split.id(is.index).to_string(),
                is.given.to_string(),
                name(is.given),
                is.suggested.to_string(),
                name(is.suggested),
                dlscope_report::tables::format_score(is.self_confidence as f64),
                dlscope_report::tables::format_score(is.quality as f64),
            ])?;
        }
        c.flush()
    })?;
    write_atomic(&p.join("findings.csv"), |w| {
        dlscope_report::tables::write_findings_csv(w, &findings).map_err(std::io::Error::other)
    })?;
    let json = serde_json::to_vec_pretty(&summary).map_err(std::io::Error::other);
    let json = json.map_err(|e| LabelsFlowError::Io {
        path: p.join("summary.json"),
        op: "serialize",
        source: e,
    })?;
    write_atomic(&p.join("summary.json"), |w| w.write_all(&json))?;
    let out = dir.commit()?;
    Ok(LabelsOutcome {
        summary,
        issues,
        findings,
        out,
    })
}

/// The `label_issue` findings of a `dlscope labels` output folder, for merging into an
/// analysis report: rows of `DIR/findings.csv`, with index, given and suggested labels taken
/// from `DIR/label_issues.csv`. Samples are checked against `ds` (split exists, index in range).
pub fn read_issue_findings(dir: &Path, ds: &Dataset) -> Result<Vec<Finding>> {
    let issues_path = dir.join("label_issues.csv");
    let bad = |path: &Path, line: usize, why: String| LabelsFlowError::List {
        path: path.to_path_buf(),
        line,
        why,
    };
    let mut by_id: BTreeMap<(String, String), (u64, u32, u32)> = BTreeMap::new();
    let mut r =
        csv::Reader::from_path(&issues_path).map_err(|e| bad(&issues_path, 1, e.to_string()))?;
    for (n, rec) in r.records().enumerate() {
        let line = n + 2;
        let rec = rec.map_err(|e| bad(&issues_path, line, e.to_string()))?;
        let field = |i: usize| rec.get(i).unwrap_or("");
        let num = |i: usize| -> Result<u64> {
            field(i).parse::<u64>().map_err(|_| {
                bad(
                    &issues_path,
                    line,
                    format!("column {} is not a number", i + 1),
                )
            })
        };
        let (split, index) = (field(1).to_string(), num(2)?);
        let s = ds.split(&split)?;
        if index as usize >= s.len() {
            return Err(bad(
                &issues_path,
                line,
                format!(
                    "index {index} is past the end of split '{split}' ({} samples)",
                    s.len()
                ),
            ));
        }
        by_id.insert(
            (split, field(3).to_string()),
            (index, num(4)? as u32, num(6)? as u32),
        );
    }
    let findings_path = dir.join("findings.csv");
    let mut r = csv::Reader::from_path(&findings_path)
        .map_err(|e| bad(&findings_path, 1, e.to_string()))?;
    let mut out = Vec::new();
    for (n, rec) in r.records().enumerate() {
        let line = n + 2;
        let rec = rec.map_err(|e| bad(&findings_path, line, e.to_string()))?;
        let field = |i: usize| rec.get(i).unwrap_or("");
        if field(0) != dlscope_analyze::FindingKind::LabelIssue.as_str() {
            continue;
        }
        let key = (field(1).to_string(), field(2).to_string());
        let Some(&(index, given, suggested)) = by_id.get(&key) else {
            return Err(bad(
                &findings_path,
                line,
                format!(
                    "sample '{}' of split '{}' is not in label_issues.csv",
                    key.1, key.0
                ),
            ));
        };
        let score = field(4)
            .parse::<f64>()
            .map_err(|_| bad(&findings_path, line, "score is not a number".into()))?;
        let split = ds.split(&key.0)?;
        out.push(Finding {
            kind: dlscope_analyze::FindingKind::LabelIssue,
            split: key.0.clone(),
            index,
            id: split.id(index as usize),
            label: Some(given),
            group: None,
            score,
            detail: field(5).to_string(),
            suggested_label: Some(suggested),
            partner: None,
        });
    }
    Ok(out)
}
