//! `dlscope cluster`: cluster every sample of a dataset and score the result against the
//! labels. Outputs `assignments.csv` (`split,id,label,cluster`) and `summary.json`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use dlscope_data::io::{write_atomic, AtomicDir};
use dlscope_data::Dataset;
use serde::Serialize;

use crate::density::{Dbscan, DbscanParams, Hdbscan, HdbscanParams, NOISE};
use crate::error::Result;
use crate::features::FeatureSpec;
use crate::hierarchical::{Agglomerative, AgglomerativeParams, Dendrogram, Linkage};
use crate::kmeans::{KMeans, KMeansParams};
use crate::matrix::MatRef;
use crate::metrics;
use crate::minibatch::{MiniBatchKMeans, MiniBatchParams};
use crate::pipeline::load::{chosen_splits, load_rows, Loaded};

/// Clustering method and its own parameters (`k` is in [`ClusterConfig`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Method {
    KMeans {
        n_init: usize,
    },
    MiniBatchKMeans,
    Agglomerative {
        linkage: Linkage,
    },
    Dbscan {
        eps: f64,
        min_samples: usize,
    },
    Hdbscan {
        min_cluster_size: usize,
        min_samples: Option<usize>,
    },
}

impl Method {
    pub fn name(&self) -> String {
        match self {
            Method::KMeans { .. } => "kmeans".into(),
            Method::MiniBatchKMeans => "minibatch-kmeans".into(),
            Method::Agglomerative { linkage } => {
                format!("agglomerative-{}", format!("{linkage:?}").to_lowercase())
            }
            Method::Dbscan { .. } => "dbscan".into(),
            Method::Hdbscan { .. } => "hdbscan".into(),
        }
    }
}

/// What to cluster and how.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterConfig {
    pub method: Method,
    /// Clusters for k-means and agglomerative (ignored by the density methods).
    pub k: usize,
    /// Pixels, PCA of the pixels, or an embeddings file (then nothing is decoded).
    pub features: FeatureSpec,
    /// Splits to use (`None`: all, concatenated).
    pub splits: Option<Vec<String>>,
    pub seed: u64,
    /// Rows sampled for the silhouette (`O(s^2 d)`; capped by [`metrics::silhouette_budget`]);
    /// 0 disables it.
    pub silhouette_sample: usize,
}

/// Scores and timings of one clustering run (`summary.json`).
#[derive(Debug, Clone, Serialize)]
pub struct ClusterSummary {
    pub dataset: String,
    pub splits: Vec<String>,
    pub method: String,
    pub features: String,
    pub samples: usize,
    pub dimensions: usize,
    pub k: usize,
    pub clusters: usize,
    pub noise: usize,
    /// Lloyd iterations (k-means), mini-batch steps, or `null`.
    pub iterations: Option<usize>,
    /// Sum of squared distances of clustered rows to their cluster mean, in feature space.
    pub inertia: f64,
    /// Against the dataset labels (noise counted as one more cluster); `null` when any row is
    /// unlabelled.
    pub ari: Option<f64>,
    pub nmi: Option<f64>,
    pub purity: Option<f64>,
    /// Mean silhouette over a seeded sample of clustered rows; `null` with fewer than 2
    /// clusters.
    pub silhouette: Option<f64>,
    /// Rows the silhouette was computed on.
    pub silhouette_sample: usize,
    /// Share of variance kept by the PCA features.
    pub explained_variance: Option<f64>,
    pub seed: u64,
    /// Wall time of everything: load, features, fit, scores.
    pub seconds: f64,
    pub load_seconds: f64,
    pub feature_seconds: f64,
    pub fit_seconds: f64,
}

/// One output row.
#[derive(Debug, Clone, Serialize)]
pub struct Assignment {
    pub split: String,
    pub id: String,
    pub label: Option<u32>,
    /// Cluster number, `-1` for noise.
    pub cluster: i64,
}

/// Result of [`cluster`].
#[derive(Debug, Clone)]
pub struct ClusterOutput {
    pub summary: ClusterSummary,
    pub assignments: Vec<Assignment>,
    /// The merge history of agglomerative clustering (over the prototypes above
    /// `max_direct` rows), for drawing; `None` for the other methods.
    pub dendrogram: Option<Dendrogram>,
}

/// Loads the splits, computes the features, clusters and scores.
pub fn cluster(ds: &Dataset, cfg: &ClusterConfig) -> Result<ClusterOutput> {
    let t0 = Instant::now();
    let loaded = load_rows(ds, cfg.splits.as_deref(), cfg.features.uses_pixels())?;
    let load_seconds = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let feats = cfg.features.compute_for(
        &chosen_splits(ds, cfg.splits.as_deref())?,
        None,
        &loaded.pixels,
        loaded.shape.len(),
        cfg.seed,
    )?;
    let feature_seconds = t1.elapsed().as_secs_f64();
    let x = feats.matrix.view();
    let t2 = Instant::now();
    let (labels, iterations, dendrogram) = fit(x, cfg)?;
    let fit_seconds = t2.elapsed().as_secs_f64();
    let mut summary = score(&loaded, x, &labels, cfg)?;
    summary.dataset = ds.name.clone();
    summary.iterations = iterations;
    summary.explained_variance = feats
        .pca
        .as_ref()
        .map(|p| p.explained_variance_ratio.iter().sum());
    summary.load_seconds = load_seconds;
    summary.feature_seconds = feature_seconds;
    summary.fit_seconds = fit_seconds;
    summary.seconds = t0.elapsed().as_secs_f64();
    let assignments = (0..loaded.len())
        .map(|i| Assignment {
            split: loaded.split_names[loaded.split_of[i] as usize].clone(),
            id: loaded.ids[i].to_string(),
            label: (loaded.labels[i] != u32::MAX).then_some(loaded.labels[i]),
            cluster: labels[i] as i64,
        })
        .collect();
    Ok(ClusterOutput {
        summary,
        assignments,
        dendrogram,
    })
}

/// Labels (`-1`: noise), iterations and dendrogram of one fit.
type Fitted = (Vec<i32>, Option<usize>, Option<Dendrogram>);

/// Runs the method; labels use `-1` for noise.
fn fit(x: MatRef<'_>, cfg: &ClusterConfig) -> Result<Fitted> {
    let to_i32 = |v: Vec<u32>| v.into_iter().map(|l| l as i32).collect();
    Ok(match &cfg.method {
        Method::KMeans { n_init } => {
            let km = KMeans::fit(x, &KMeansParams::new(cfg.k).seed(cfg.seed).n_init(*n_init))?;
            (to_i32(km.labels), Some(km.iterations), None)
        }
        Method::MiniBatchKMeans => {
            let km = MiniBatchKMeans::fit(x, &MiniBatchParams::new(cfg.k).seed(cfg.seed))?;
            (to_i32(km.labels), Some(km.steps), None)
        }
        Method::Agglomerative { linkage } => {
            let mut p = AgglomerativeParams::new(cfg.k, *linkage);
            p.seed = cfg.seed;
            let a = Agglomerative::fit(x, &p)?;
            (to_i32(a.labels), None, Some(a.dendrogram))
        }
        Method::Dbscan { eps, min_samples } => (
            Dbscan::fit(x, &DbscanParams::new(*eps, *min_samples))?.labels,
            None,
            None,
        ),
        Method::Hdbscan {
            min_cluster_size,
            min_samples,
        } => {
            let mut p = HdbscanParams::new(*min_cluster_size);
            p.min_samples = *min_samples;
            (Hdbscan::fit(x, &p)?.labels, None, None)
        }
    })
}

/// Inertia, agreement with the labels and silhouette.
fn score(l: &Loaded, x: MatRef<'_>, labels: &[i32], cfg: &ClusterConfig) -> Result<ClusterSummary> {
    let clustered: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] != NOISE).collect();
    let n_clusters = labels
        .iter()
        .filter(|&&c| c != NOISE)
        .map(|&c| c as usize + 1)
        .max()
        .unwrap_or(0);
    let inertia = within_ss(x, labels, n_clusters);
    let (ari, nmi, purity) = match l.full_labels() {
        Some(truth) => (
            Some(metrics::adjusted_rand_index(truth, labels)?),
            Some(metrics::normalized_mutual_info(truth, labels)?),
            Some(metrics::purity(truth, labels)?),
        ),
        None => (None, None, None),
    };
    let sample = metrics::silhouette_budget(cfg.silhouette_sample, x.cols()).min(clustered.len());
    let silhouette = if cfg.silhouette_sample > 0 && n_clusters >= 2 {
        let sub = x.select_rows(&clustered);
        let lab: Vec<i32> = clustered.iter().map(|&i| labels[i]).collect();
        metrics::silhouette_score(sub.view(), &lab, Some(sample), cfg.seed).ok()
    } else {
        None
    };
    Ok(ClusterSummary {
        dataset: String::new(),
        splits: l.split_names.clone(),
        method: cfg.method.name(),
        features: cfg.features.to_string(),
        samples: x.rows(),
        dimensions: x.cols(),
        k: cfg.k,
        clusters: n_clusters,
        noise: labels.len() - clustered.len(),
        iterations: None,
        inertia,
        ari,
        nmi,
        purity,
        silhouette,
        silhouette_sample: if silhouette.is_some() { sample } else { 0 },
        explained_variance: None,
        seed: cfg.seed,
        seconds: 0.0,
        load_seconds: 0.0,
        feature_seconds: 0.0,
        fit_seconds: 0.0,
    })
}

/// Sum over clusters of the squared distances to the cluster mean (noise left out).
fn within_ss(x: MatRef<'_>, labels: &[i32], k: usize) -> f64 {
    let d = x.cols();
    let mut sums = vec![0.0f64; k * d];
    let mut counts = vec![0usize; k];
    for (i, &c) in labels.iter().enumerate() {
        if c == NOISE {
            continue;
        }
        let c = c as usize;
        counts[c] += 1;
        for (s, &v) in sums[c * d..(c + 1) * d].iter_mut().zip(x.row(i)) {
            *s += v as f64;
        }
    }
    let centers: Vec<f32> = sums
        .chunks_exact(d.max(1))
        .zip(&counts)
        .flat_map(|(s, &n)| s.iter().map(move |v| (v / n.max(1) as f64) as f32))
        .collect();
    let rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] != NOISE).collect();
    let sub = x.select_rows(&rows);
    let lab: Vec<u32> = rows.iter().map(|&i| labels[i] as u32).collect();
    crate::kmeans::exact_inertia(sub.view(), &centers, &lab)
}

/// Writes `assignments.csv` and `summary.json` into the new folder `dir` (refused if it
/// exists); the folder appears only when both are complete.
pub fn write_cluster(out: &ClusterOutput, dir: &Path) -> Result<PathBuf> {
    let tmp = AtomicDir::new(dir)?;
    let csv_path = tmp.path().join("assignments.csv");
    write_atomic(&csv_path, |w| {
        let mut c = csv::Writer::from_writer(w);
        c.write_record(["split", "id", "label", "cluster"])
            .map_err(std::io::Error::other)?;
        for a in &out.assignments {
            let label = a.label.map(|l| l.to_string()).unwrap_or_default();
            c.write_record([
                a.split.as_str(),
                a.id.as_str(),
                label.as_str(),
                &a.cluster.to_string(),
            ])
            .map_err(std::io::Error::other)?;
        }
        c.flush()
    })?;
    let json_path = tmp.path().join("summary.json");
    super::write_summary_json(&json_path, &out.summary)?;
    Ok(tmp.commit()?)
}
