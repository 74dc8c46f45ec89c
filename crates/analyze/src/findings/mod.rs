//! Findings: what is wrong with which sample, built from the merged feature table alone.

mod dups;
pub mod embedded;
mod mih;
mod outliers;
mod quality;
mod shifts;
mod unionfind;

use dlscope_data::SampleId;
use serde::{Deserialize, Serialize};

use crate::features::FeatureTable;
use crate::settings::Settings;
use crate::shard::DatasetMeta;

pub use embedded::{EmbeddingsInfo, SampleEmbeddings};
pub use mih::near_pairs;

/// Kinds of finding, in report order. Scores are "higher is worse" within a kind:
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// The sample could not be decoded; `detail` is the decoder's reason. Score 1.
    Unreadable,
    /// Same decoded pixels and shape as another sample; members of one set share `group`.
    /// Score 1.
    ExactDuplicate,
    /// Perceptual hash within `near_duplicate_distance` bits of a sample with other pixels, or
    /// (when the analysis has embeddings) an embedding cosine of at least
    /// `embedding_near_cosine`; `group` is the duplicate cluster (exact and near links,
    /// transitively). Score `1 - d / 64` for the closest such sample, or the cosine when that
    /// is an embedding link (likewise for conflicts and leaks).
    NearDuplicate,
    /// An exact or near duplicate carries a different label. Score `1 - d / 64`.
    LabelConflict,
    /// A non-train sample with an exact or near duplicate in the train split (only the
    /// non-train sample is reported). Score `1 - d / 64`.
    Leak,
    /// Far from its nearest neighbours in the small feature space; score is the robust z of
    /// its mean kNN distance.
    Outlier,
    /// Score `1 - p99 / 255`.
    Dark,
    /// Score `p05 / 255`.
    Light,
    /// Score `1 - sharpness / threshold`.
    Blurry,
    /// Score `1 - entropy / 8`.
    LowInformation,
    /// One value everywhere (within `constant_range`). Score 1.
    Constant,
    /// Grey content in a colour dataset. Score `1 - chroma / threshold`.
    Grayscale,
    /// Area far from the dataset's typical area; score is |log2(area / median area)|.
    OddSize,
    /// Aspect ratio far from the typical one; score is |log2(aspect / median aspect)|.
    OddAspectRatio,
    /// The given label is likely wrong (confident learning over out-of-sample predicted
    /// probabilities); `suggested_label` holds the likely right one. Score is the ranking
    /// score (lower self-confidence ranks first, so score is `1 - self_confidence`).
    LabelIssue,
}

impl FindingKind {
    pub const ALL: [FindingKind; 15] = [
        FindingKind::Unreadable,
        FindingKind::ExactDuplicate,
        FindingKind::NearDuplicate,
        FindingKind::LabelConflict,
        FindingKind::Leak,
        FindingKind::Outlier,
        FindingKind::Dark,
        FindingKind::Light,
        FindingKind::Blurry,
        FindingKind::LowInformation,
        FindingKind::Constant,
        FindingKind::Grayscale,
        FindingKind::OddSize,
        FindingKind::OddAspectRatio,
        FindingKind::LabelIssue,
    ];

    /// The snake_case name used in reports.
    pub fn as_str(&self) -> &'static str {
        match self {
            FindingKind::Unreadable => "unreadable",
            FindingKind::ExactDuplicate => "exact_duplicate",
            FindingKind::NearDuplicate => "near_duplicate",
            FindingKind::LabelConflict => "label_conflict",
            FindingKind::Leak => "leak",
            FindingKind::Outlier => "outlier",
            FindingKind::Dark => "dark",
            FindingKind::Light => "light",
            FindingKind::Blurry => "blurry",
            FindingKind::LowInformation => "low_information",
            FindingKind::Constant => "constant",
            FindingKind::Grayscale => "grayscale",
            FindingKind::OddSize => "odd_size",
            FindingKind::OddAspectRatio => "odd_aspect_ratio",
            FindingKind::LabelIssue => "label_issue",
        }
    }

    /// Whether findings of this kind come in groups (`group` is set).
    pub fn grouped(&self) -> bool {
        matches!(
            self,
            FindingKind::ExactDuplicate
                | FindingKind::NearDuplicate
                | FindingKind::LabelConflict
                | FindingKind::Leak
        )
    }
}

impl std::fmt::Display for FindingKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem with one sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: FindingKind,
    /// Split name.
    pub split: String,
    /// Position within the split.
    pub index: u64,
    /// Report identity of the sample (index or relative path).
    pub id: SampleId,
    pub label: Option<u32>,
    /// Shared by the members of one duplicate set or cluster (the feature-table position of
    /// its first member); `None` for ungrouped kinds.
    pub group: Option<u64>,
    pub score: f64,
    pub detail: String,
    /// For `label_issue`: the label the model suggests instead of `label`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggested_label: Option<u32>,
    /// For pairwise kinds (`exact_duplicate`, `near_duplicate`, `label_conflict`, `leak`): the
    /// closest other sample the finding is about (the one `detail` names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner: Option<Partner>,
}

/// The other sample of a pairwise finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partner {
    /// Split name.
    pub split: String,
    /// Position within the split.
    pub index: u64,
    /// Report identity of the sample (index or relative path).
    pub id: SampleId,
}

/// A finding before its sample id is looked up: `row` is the feature-table position.
pub(crate) struct Raw {
    pub kind: FindingKind,
    pub row: usize,
    pub group: Option<u64>,
    pub score: f64,
    pub detail: String,
    /// Feature-table position of the closest other sample, for pairwise kinds.
    pub partner: Option<usize>,
}

/// Builds every finding from a complete, sorted feature table. `id_of(split, index)` names
/// samples. Findings are ordered by kind, then group (grouped kinds) or score (highest first),
/// then split and index.
pub fn find(
    meta: &DatasetMeta,
    table: &FeatureTable,
    settings: &Settings,
    id_of: &dyn Fn(u16, u64) -> SampleId,
) -> Vec<Finding> {
    find_embedded(meta, table, settings, None, id_of)
}

/// [`find`] with per-sample embeddings (checked against `meta` by
/// [`SampleEmbeddings::check`] first): their near pairs (cosine at least
/// `embedding_near_cosine`) join the pixel duplicates' groups, and outliers are measured
/// between embeddings instead of DCT layouts.
pub fn find_embedded(
    meta: &DatasetMeta,
    table: &FeatureTable,
    settings: &Settings,
    embeddings: Option<&SampleEmbeddings>,
    id_of: &dyn Fn(u16, u64) -> SampleId,
) -> Vec<Finding> {
    let rows = &table.rows;
    let t = &settings.thresholds;
    let names = |r: usize| -> String {
        let row = &rows[r];
        let split = meta
            .splits
            .get(row.split as usize)
            .map_or("?", |s| s.name.as_str());
        format!("{split}/{}", id_of(row.split, row.index))
    };
    let mut raw: Vec<Raw> = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        if let Some(e) = &row.error {
            raw.push(Raw {
                kind: FindingKind::Unreadable,
                row: r,
                group: None,
                score: 1.0,
                detail: e.clone(),
                partner: None,
            });
        }
    }
    let train = train_split(meta, settings);
    let prepared = embeddings.map(|e| embedded::prepare(rows, e));
    raw.extend(dups::find(
        rows,
        t,
        train,
        &meta.classes,
        &names,
        prepared.as_ref(),
    ));
    raw.extend(quality::find(rows, t));
    raw.extend(outliers::find(rows, t, prepared.as_ref()));

    let split_name = |s: u16| {
        meta.splits
            .get(s as usize)
            .map_or_else(String::new, |s| s.name.clone())
    };
    let mut out: Vec<Finding> = raw
        .into_iter()
        .map(|f| {
            let row = &rows[f.row];
            let partner = f.partner.map(|p| {
                let o = &rows[p];
                Partner {
                    split: split_name(o.split),
                    index: o.index,
                    id: id_of(o.split, o.index),
                }
            });
            Finding {
                kind: f.kind,
                split: split_name(row.split),
                index: row.index,
                id: id_of(row.split, row.index),
                label: row.label,
                group: f.group,
                score: f.score,
                detail: f.detail,
                suggested_label: None,
                partner,
            }
        })
        .collect();
    let split_pos = |name: &str| meta.splits.iter().position(|s| s.name == name);
    out.sort_by(|a, b| {
        a.kind
            .cmp(&b.kind)
            .then_with(|| {
                if a.kind.grouped() {
                    a.group.cmp(&b.group)
                } else {
                    b.score.total_cmp(&a.score)
                }
            })
            .then_with(|| split_pos(&a.split).cmp(&split_pos(&b.split)))
            .then_with(|| a.index.cmp(&b.index))
    });
    out
}

/// The split leaks are measured against (see [`Settings::train_split`]).
pub(crate) fn train_split(meta: &DatasetMeta, settings: &Settings) -> Option<u16> {
    let pos = |f: &dyn Fn(&str) -> bool| meta.splits.iter().position(|s| f(&s.name));
    let p = match &settings.train_split {
        Some(name) => pos(&|s| s == name),
        None => pos(&|s| s.eq_ignore_ascii_case("train"))
            .or_else(|| pos(&|s| s.to_ascii_lowercase().starts_with("train"))),
    };
    p.map(|p| p as u16)
}

/// Median of a non-empty slice (sorts a copy).
pub(crate) fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_unstable_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    }
}

/// Median and scaled MAD (1.4826 x median absolute deviation: a standard deviation for normal
/// data).
pub(crate) fn median_mad(v: &[f64]) -> (f64, f64) {
    let m = median(v);
    let dev: Vec<f64> = v.iter().map(|x| (x - m).abs()).collect();
    (m, 1.4826 * median(&dev))
}
