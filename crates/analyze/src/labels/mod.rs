//! Label issues by confident learning (Northcutt et al. 2021), reproducing
//! `cleanlab.filter.find_label_issues(labels, pred_probs)` with its default settings
//! (`filter_by='prune_by_noise_rate'`, `frac_noise=1.0`, `min_examples_per_class=1`,
//! `multi_label=False`) step for step:
//!
//! 1. per-class confident thresholds (mean self-probability, float32 as numpy sums it);
//! 2. the confident joint `C[given][true]`, calibrated to the label counts and rounded with
//!    cleanlab's row-total-preserving rounding;
//! 3. prune counts: each class keeps at least `min_examples_per_class`;
//! 4. for every given class `g` and other class `t`, the `C[g][t]` samples labelled `g` with
//!    the largest margin `p[t] - p[g]` are flagged;
//! 5. flags whose argmax (given label favoured by 1e-6) is the given label are dropped;
//! 6. issues are ranked by self-confidence or normalized margin, lowest first.
//!
//! ```
//! use dlscope_analyze::labels::{find_label_issues, ClSettings};
//! let probs = [0.9, 0.1, 0.8, 0.2, 0.1, 0.9, 0.2, 0.8, 0.95, 0.05];
//! let labels = [0, 0, 1, 1, 1]; // the last one looks like class 0
//! let found = find_label_issues(&probs, &labels, 2, &ClSettings::default()).unwrap();
//! assert_eq!(found.issues[0].index, 4);
//! assert_eq!(found.issues[0].suggested, 0);
//! ```
//!
//! Ties: cleanlab sorts margins and scores with numpy's unstable quicksort; here ties are
//! broken by sample index. With continuous probabilities ties do not occur in practice; with
//! exactly equal rows the set of flagged samples may differ from cleanlab's in which of the
//! tied samples it picks.

mod joint;

use dlscope_data::SampleId;
use serde::{Deserialize, Serialize};

use crate::findings::{Finding, FindingKind};
pub use joint::{calibrate, confident_thresholds, label_counts, prune_counts, raw_confident_joint};

/// Why confident learning could not run on the inputs given.
#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    #[error(
        "no samples: confident learning needs predicted probabilities for at least one sample"
    )]
    Empty,
    #[error("{classes} class(es): confident learning needs at least 2")]
    TooFewClasses { classes: usize },
    #[error("pred_probs has {len} values but {samples} labels x {classes} classes need {}", samples * classes)]
    Shape {
        len: usize,
        samples: usize,
        classes: usize,
    },
    #[error("sample {record}: label {label} is not below the class count {classes}")]
    BadLabel {
        record: usize,
        label: u32,
        classes: usize,
    },
    #[error(
        "sample {record}, class {class}: predicted probability {value} is not a number in [0, 1]"
    )]
    BadProb {
        record: usize,
        class: usize,
        value: f32,
    },
    #[error("invalid setting min_examples_per_class = 0: must be at least 1")]
    MinExamples,
}

/// The label quality score issues are ranked by (lowest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RankBy {
    /// `p[given]`.
    #[default]
    SelfConfidence,
    /// `(p[given] - max_{j != given} p[j] + 1) / 2`.
    NormalizedMargin,
}

impl RankBy {
    pub fn as_str(&self) -> &'static str {
        match self {
            RankBy::SelfConfidence => "self_confidence",
            RankBy::NormalizedMargin => "normalized_margin",
        }
    }
}

/// Settings of [`find_label_issues`]; the default is cleanlab's default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClSettings {
    pub rank_by: RankBy,
    /// Each class keeps at least this many samples unflagged (cleanlab's default 1).
    pub min_examples_per_class: usize,
}

impl Default for ClSettings {
    fn default() -> Self {
        ClSettings {
            rank_by: RankBy::SelfConfidence,
            min_examples_per_class: 1,
        }
    }
}

/// One sample whose given label is likely wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelIssue {
    /// Row of the probability matrix (position in the split).
    pub index: usize,
    pub given: u32,
    /// The class the model finds most likely (never `given`).
    pub suggested: u32,
    /// `p[given]`.
    pub self_confidence: f32,
    /// `p[suggested]`.
    pub suggested_prob: f32,
    /// The ranking score ([`RankBy`]); lower is more likely mislabelled.
    pub quality: f32,
}

/// The result of confident learning: the ranked issues and the counts behind them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelIssues {
    pub classes: usize,
    pub samples: usize,
    /// Ranked by quality, lowest (worst) first; ties by index.
    pub issues: Vec<LabelIssue>,
    pub thresholds: Vec<f32>,
    /// Calibrated confident joint `C[given][true]`, row-major `k x k`.
    pub confident_joint: Vec<i64>,
    /// Issues per given label.
    pub per_class: Vec<u64>,
}

impl LabelIssues {
    /// Indices of the flagged samples in rank order.
    pub fn indices(&self) -> Vec<usize> {
        self.issues.iter().map(|i| i.index).collect()
    }

    /// A boolean mask over all samples (cleanlab's default return value).
    pub fn mask(&self) -> Vec<bool> {
        let mut m = vec![false; self.samples];
        for i in &self.issues {
            m[i.index] = true;
        }
        m
    }
}

fn validate(pred_probs: &[f32], labels: &[u32], classes: usize) -> Result<(), LabelError> {
    if classes < 2 {
        return Err(LabelError::TooFewClasses { classes });
    }
    if labels.is_empty() {
        return Err(LabelError::Empty);
    }
    if pred_probs.len() != labels.len() * classes {
        return Err(LabelError::Shape {
            len: pred_probs.len(),
            samples: labels.len(),
            classes,
        });
    }
    if let Some(record) = labels.iter().position(|&l| l as usize >= classes) {
        return Err(LabelError::BadLabel {
            record,
            label: labels[record],
            classes,
        });
    }
    if let Some(pos) = pred_probs.iter().position(|p| !(0.0..=1.0).contains(p)) {
        return Err(LabelError::BadProb {
            record: pos / classes,
            class: pos % classes,
            value: pred_probs[pos],
        });
    }
    Ok(())
}

/// The label quality score of every sample (cleanlab's `get_label_quality_scores`, float32).
pub fn quality_scores(
    pred_probs: &[f32],
    labels: &[u32],
    classes: usize,
    rank_by: RankBy,
) -> Vec<f32> {
    labels
        .iter()
        .enumerate()
        .map(|(i, &g)| {
            let row = &pred_probs[i * classes..(i + 1) * classes];
            let sc = row[g as usize];
            match rank_by {
                RankBy::SelfConfidence => sc,
                RankBy::NormalizedMargin => {
                    let other = row
                        .iter()
                        .enumerate()
                        .filter(|&(j, _)| j != g as usize)
                        .map(|(_, &p)| p)
                        .fold(f32::NEG_INFINITY, f32::max);
                    (sc - other + 1.0) / 2.0
                }
            }
        })
        .collect()
}

/// Finds likely label errors in `labels` given out-of-sample `pred_probs` (`n x classes`,
/// row-major): the same set as `cleanlab.filter.find_label_issues(labels, pred_probs)`.
pub fn find_label_issues(
    pred_probs: &[f32],
    labels: &[u32],
    classes: usize,
    settings: &ClSettings,
) -> Result<LabelIssues, LabelError> {
    validate(pred_probs, labels, classes)?;
    if settings.min_examples_per_class == 0 {
        return Err(LabelError::MinExamples);
    }
    let k = classes;
    let thresholds = confident_thresholds(pred_probs, labels, k);
    let raw = raw_confident_joint(pred_probs, labels, k, &thresholds);
    let counts = label_counts(labels, k);
    let cj = calibrate(&raw, &counts);
    let prune = prune_counts(&cj, k, settings.min_examples_per_class);

    let mut flagged = vec![false; labels.len()];
    let mut members: Vec<usize> = Vec::new();
    let mut margin: Vec<(f32, usize)> = Vec::new();
    for g in 0..k {
        members.clear();
        members.extend((0..labels.len()).filter(|&i| labels[i] as usize == g));
        if members.len() <= settings.min_examples_per_class {
            continue;
        }
        for t in (0..k).filter(|&t| t != g) {
            let take = prune[g * k + t];
            if take <= 0 {
                continue;
            }
            margin.clear();
            margin.extend(
                members
                    .iter()
                    .map(|&i| (pred_probs[i * k + t] - pred_probs[i * k + g], i)),
            );
            // Largest margin first (argsort of -margin), ties by index.
            margin.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            for &(_, i) in margin.iter().take(take as usize) {
                flagged[i] = true;
            }
        }
    }

    // Drop flags where the model agrees with the given label (favoured by 1e-6).
    let mut row_buf = vec![0f32; k];
    for (i, f) in flagged.iter_mut().enumerate().filter(|(_, f)| **f) {
        let g = labels[i] as usize;
        row_buf.copy_from_slice(&pred_probs[i * k..(i + 1) * k]);
        row_buf[g] += joint::FLOAT_EPS as f32;
        if joint::argmax(&row_buf) == g {
            *f = false;
        }
    }

    let scores = quality_scores(pred_probs, labels, k, settings.rank_by);
    let mut order: Vec<usize> = (0..labels.len()).filter(|&i| flagged[i]).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(a.cmp(&b)));
    let mut per_class = vec![0u64; k];
    let issues = order
        .into_iter()
        .map(|i| {
            let row = &pred_probs[i * k..(i + 1) * k];
            let given = labels[i];
            let suggested = joint::argmax(row) as u32;
            per_class[given as usize] += 1;
            LabelIssue {
                index: i,
                given,
                suggested,
                self_confidence: row[given as usize],
                suggested_prob: row[suggested as usize],
                quality: scores[i],
            }
        })
        .collect();
    Ok(LabelIssues {
        classes: k,
        samples: labels.len(),
        issues,
        thresholds,
        confident_joint: cj,
        per_class,
    })
}

/// The issues as `label_issue` findings of split `split`, in rank order: score is
/// `1 - self_confidence`, `id_of(index)` names the sample, `class_names` (may be shorter than
/// the class count) name labels in the detail.
pub fn issue_findings(
    found: &LabelIssues,
    split: &str,
    id_of: &dyn Fn(usize) -> SampleId,
    class_names: &[String],
) -> Vec<Finding> {
    let name = |c: u32| {
        class_names
            .get(c as usize)
            .cloned()
            .unwrap_or_else(|| c.to_string())
    };
    found
        .issues
        .iter()
        .map(|is| Finding {
            kind: FindingKind::LabelIssue,
            split: split.to_string(),
            index: is.index as u64,
            id: id_of(is.index),
            label: Some(is.given),
            group: None,
            score: 1.0 - is.self_confidence as f64,
            detail: format!(
                "given {}, model says {} (p={:.2}; p(given)={:.2})",
                name(is.given),
                name(is.suggested),
                is.suggested_prob,
                is.self_confidence
            ),
            suggested_label: Some(is.suggested),
            partner: None,
        })
        .collect()
}
