//! # dlscope-analyze
//!
//! One streaming pass over a dataset computes a small row of features and hashes per sample
//! (no decoded image is kept) plus integer profile counts; findings (duplicates, leaks, label
//! conflicts, outliers, image-quality issues) are then built from that table alone.
//!
//! ```no_run
//! use dlscope_analyze::{analyze, Settings};
//! let ds = dlscope_data::open("fashion-mnist").unwrap();
//! let a = analyze(&ds, &Settings::default(), &|p| eprint!("\r{}/{}", p.done, p.total)).unwrap();
//! let train = &a.profile.splits[0];
//! println!("mean {:?} std {:?}", train.pixels.mean, train.pixels.std);
//! for f in a.findings.iter().filter(|f| f.kind == dlscope_analyze::FindingKind::Leak) {
//!     println!("{} {}: {}", f.split, f.id, f.detail);
//! }
//! ```
//!
//! Large datasets can be analysed in shards (on several machines or runs) whose results merge
//! into exactly the whole-dataset result:
//!
//! ```no_run
//! use dlscope_analyze::{analyze_shard, finish, merge, Settings, Shard};
//! let ds = dlscope_data::open("imagenet/").unwrap();
//! let s = Settings::default();
//! let parts: Vec<_> = (0..4)
//!     .map(|i| analyze_shard(&ds, &s, format!("{i}/4").parse().unwrap(), &|_| {}).unwrap())
//!     .collect();
//! let analysis = finish(merge(parts).unwrap(), &ds, &s, &|_| {}).unwrap();
//! # let _ = analysis;
//! ```
//!
//! Per-sample embeddings (e.g. from `dlscope embed`) add near duplicates by cosine similarity
//! and move the outlier search into embedding space; with shards, they go to the finish step:
//!
//! ```no_run
//! use dlscope_analyze::{finish_embedded, merge, SampleEmbeddings, Settings};
//! # let (ds, parts, s) = (dlscope_data::open("photos/").unwrap(), Vec::new(), Settings::default());
//! let file = dlscope_data::embeddings::Embeddings::read("emb.safetensors".as_ref()).unwrap();
//! let emb = SampleEmbeddings {
//!     source: "emb.safetensors".into(),
//!     dim: file.dim,
//!     splits: ds.splits.iter().map(|sp| file.for_split(sp)).collect::<Result<_, _>>().unwrap(),
//! };
//! let analysis = finish_embedded(merge(parts).unwrap(), &ds, &s, Some(&emb), &|_| {}).unwrap();
//! # let _ = analysis;
//! ```

pub mod error;
pub mod features;
pub mod findings;
pub mod labels;
mod load;
pub mod measure;
pub mod pass;
pub mod phash;
pub mod profile;
mod resize;
pub mod settings;
pub mod shard;
pub mod shiftkey;

use std::collections::BTreeMap;
use std::time::Instant;

use dlscope_data::Dataset;
use serde::{Deserialize, Serialize};

pub use error::{AnalyzeError, Result};
pub use features::{FeatureTable, FileFormat, FileInfo, ImageFeatures, SampleRow};
pub use findings::{EmbeddingsInfo, Finding, FindingKind, Partner, SampleEmbeddings};
pub use measure::MeanImageSpec;
pub use pass::{analyze_shard, mean_image_spec, Progress, Stage};
pub use profile::{Profile, ProfileAccum, SplitProfile};
pub use settings::{DecodeSettings, Settings, Thresholds};
pub use shard::{merge, DatasetMeta, PassSettings, Shard, ShardLayout, ShardResult};

/// The result of analysing a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub dataset: DatasetMeta,
    /// The settings used (decode settings as the pass ran them).
    pub settings: Settings,
    pub pass: PassSettings,
    pub profile: Profile,
    /// One row per sample, ordered by (split, index).
    pub features: FeatureTable,
    /// Ordered by kind, then group or score, then split and index.
    pub findings: Vec<Finding>,
    /// Number of findings per kind (every kind present, zeros included).
    pub counts: BTreeMap<FindingKind, u64>,
}

/// Analyses the whole dataset: the pass, then profile and findings. `progress` is called
/// from the calling thread after each block of samples and around the findings stage.
pub fn analyze(
    dataset: &Dataset,
    settings: &Settings,
    progress: &dyn Fn(Progress),
) -> Result<Analysis> {
    analyze_embedded(dataset, settings, None, progress)
}

/// [`analyze`] with optional per-sample embeddings (see [`finish_embedded`]). They are
/// checked against the dataset before the pass starts.
pub fn analyze_embedded(
    dataset: &Dataset,
    settings: &Settings,
    embeddings: Option<&SampleEmbeddings>,
    progress: &dyn Fn(Progress),
) -> Result<Analysis> {
    if let Some(e) = embeddings {
        e.check(&DatasetMeta::of(dataset))?;
    }
    let result = analyze_shard(dataset, settings, Shard::whole(), progress)?;
    finish_embedded(result, dataset, settings, embeddings, progress)
}

/// Turns a complete pass result (one whole-dataset shard, or [`merge`]d shards) into the
/// analysis: finishes the profile and builds the findings with `settings.thresholds`.
/// `dataset` must be the dataset the pass ran on (it names the samples in findings).
pub fn finish(
    result: ShardResult,
    dataset: &Dataset,
    settings: &Settings,
    progress: &dyn Fn(Progress),
) -> Result<Analysis> {
    finish_embedded(result, dataset, settings, None, progress)
}

/// [`finish`] with optional per-sample embeddings (one row per sample of every split; a
/// non-finite row marks a sample without one): near duplicates by embedding cosine join the
/// duplicate groups, outliers are measured between embeddings, and the analysis' settings
/// record the embeddings' source and dimension. Shards never hold embeddings: a sharded run
/// passes them here, after [`merge`].
pub fn finish_embedded(
    result: ShardResult,
    dataset: &Dataset,
    settings: &Settings,
    embeddings: Option<&SampleEmbeddings>,
    progress: &dyn Fn(Progress),
) -> Result<Analysis> {
    settings.validate()?;
    let meta = DatasetMeta::of(dataset);
    if let Some(e) = embeddings {
        e.check(&meta)?;
    }
    if meta != result.dataset {
        return Err(AnalyzeError::DatasetMismatch {
            why: format!(
                "features are of '{}' with splits {:?}, the dataset given is '{}' with splits {:?}",
                result.dataset.name,
                result
                    .dataset
                    .splits
                    .iter()
                    .map(|s| (&s.name, s.len))
                    .collect::<Vec<_>>(),
                meta.name,
                meta.splits
                    .iter()
                    .map(|s| (&s.name, s.len))
                    .collect::<Vec<_>>()
            ),
        });
    }
    if !result.is_complete() {
        return Err(AnalyzeError::DatasetMismatch {
            why: format!(
                "the feature table has {} of {} samples; merge all shards first",
                result.features.len(),
                meta.total()
            ),
        });
    }
    let start = Instant::now();
    let report = |done| {
        progress(Progress {
            stage: Stage::Findings,
            done,
            total: 2,
            unreadable: 0,
            bytes: 0,
            elapsed: start.elapsed(),
        })
    };
    report(0);
    let profile = result.profile.finish(&meta.split_names(), &meta.classes);
    report(1);
    let id_of = |s: u16, i: u64| dataset.splits[s as usize].id(i as usize);
    let findings = findings::find_embedded(&meta, &result.features, settings, embeddings, &id_of);
    report(2);
    let mut counts: BTreeMap<FindingKind, u64> = FindingKind::ALL.iter().map(|&k| (k, 0)).collect();
    for f in &findings {
        *counts.entry(f.kind).or_default() += 1;
    }
    let mut used = settings.clone();
    used.decode = result.pass.decode.clone();
    used.embeddings = embeddings.map(SampleEmbeddings::info);
    Ok(Analysis {
        dataset: meta,
        settings: used,
        pass: result.pass,
        profile,
        features: result.features,
        findings,
        counts,
    })
}
