//! `cluster.html` for `dlscope cluster`: gathers what the page shows from a clustering (cluster
//! sizes, majority labels, the members nearest each centre, a 2-D PCA map of the points, the
//! dendrogram) and renders it with [`dlscope_report::html::cluster`].
//!
//! Centres and nearness are measured on the pixels (`/ 255`), whatever features the clustering
//! ran on, so the thumbnails show what a typical member looks like.

use std::collections::HashMap;
use std::path::Path;

use dlscope_data::io::write_atomic;
use dlscope_data::Dataset;
use dlscope_ml::pca::{Pca, PcaParams};
use dlscope_ml::pipeline::{load_splits, ClusterOutput};
use dlscope_ml::{Matrix, MlError, Result};
use dlscope_report::html::chart::Point;
use dlscope_report::html::cluster::{render_cluster_page, ClusterCard, ClusterPage, MergeRow};
use dlscope_report::html::thumbs;

/// How much the page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct PageOptions {
    /// Thumbnails per cluster (nearest the centre first).
    pub per_cluster: usize,
    /// Points on the 2-D map (a seeded sample above this).
    pub map_points: usize,
    /// Longest side of a thumbnail, in pixels.
    pub thumb_side: u32,
    pub seed: u64,
}

impl Default for PageOptions {
    fn default() -> Self {
        PageOptions {
            per_cluster: 8,
            map_points: 5000,
            thumb_side: 64,
            seed: 0,
        }
    }
}

/// Builds the page of `out`, the clustering of `splits` (as given to the clustering) of `ds`.
pub fn cluster_page(
    ds: &Dataset,
    out: &ClusterOutput,
    splits: Option<&[String]>,
    opts: &PageOptions,
) -> Result<ClusterPage> {
    let loaded = load_splits(ds, splits)?;
    let n = loaded.len();
    if out.assignments.len() != n {
        return Err(MlError::LengthMismatch {
            what: "cluster assignments vs dataset rows",
            left: out.assignments.len(),
            right: n,
        });
    }
    let cluster: Vec<i64> = out.assignments.iter().map(|a| a.cluster).collect();
    let x = Matrix::from_pixels(&loaded.pixels, loaded.shape.len())?;
    let d = x.cols;
    // Cluster ids in order: 0.., then noise.
    let mut ids: Vec<i64> = cluster.clone();
    ids.sort_unstable_by_key(|&c| (c < 0, c));
    ids.dedup();
    let slot: HashMap<i64, usize> = ids.iter().enumerate().map(|(s, &c)| (c, s)).collect();
    let mut sums = vec![0.0f64; ids.len() * d];
    let mut sizes = vec![0usize; ids.len()];
    let mut label_counts: Vec<HashMap<u32, usize>> = vec![HashMap::new(); ids.len()];
    for (i, c) in cluster.iter().enumerate() {
        let s = slot[c];
        sizes[s] += 1;
        for (acc, &v) in sums[s * d..(s + 1) * d].iter_mut().zip(x.row(i)) {
            *acc += v as f64;
        }
        if loaded.labels[i] != u32::MAX {
            *label_counts[s].entry(loaded.labels[i]).or_default() += 1;
        }
    }
    let mut nearest: Vec<Vec<(f32, usize)>> = vec![Vec::new(); ids.len()];
    for (i, c) in cluster.iter().enumerate() {
        let s = slot[c];
        let centre = &sums[s * d..(s + 1) * d];
        let dist: f32 = x
            .row(i)
            .iter()
            .zip(centre)
            .map(|(&v, &m)| {
                let e = v - (m / sizes[s] as f64) as f32;
                e * e
            })
            .sum();
        nearest[s].push((dist, i));
    }
    // Thumbnails: dataset split position and index of each chosen row.
    let split_pos: Vec<u16> = loaded
        .split_names
        .iter()
        .map(|name| ds.splits.iter().position(|s| s.name() == name).unwrap_or(0) as u16)
        .collect();
    let key = |i: usize| {
        (
            split_pos[loaded.split_of[i] as usize],
            loaded.index[i] as u64,
        )
    };
    for v in &mut nearest {
        v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        v.truncate(opts.per_cluster);
    }
    let keys: Vec<(u16, u64)> = nearest.iter().flatten().map(|&(_, i)| key(i)).collect();
    let loaded_thumbs = thumbs::load(Some(ds), &keys, opts.thumb_side);
    let class_name = |l: u32| {
        ds.classes
            .get(l as usize)
            .cloned()
            .unwrap_or_else(|| l.to_string())
    };
    let clusters = ids
        .iter()
        .enumerate()
        .map(|(s, &id)| {
            let labelled: usize = label_counts[s].values().sum();
            let majority = label_counts[s]
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map(|(&l, &c)| (class_name(l), c as f64 / labelled.max(1) as f64));
            let thumbs = nearest[s]
                .iter()
                .filter_map(|&(_, i)| {
                    let t = loaded_thumbs.get(&key(i))?.clone();
                    let label = if loaded.labels[i] != u32::MAX {
                        class_name(loaded.labels[i])
                    } else {
                        String::new()
                    };
                    Some((t, format!("{} {label}", loaded.ids[i])))
                })
                .collect();
            ClusterCard {
                id,
                size: sizes[s],
                majority,
                thumbs,
            }
        })
        .collect();
    // 2-D map: PCA of the pixels, on a seeded sample of the rows.
    let rows: Vec<usize> = if n > opts.map_points {
        dlscope_ml::sampling::random(n, opts.map_points, opts.seed)?
    } else {
        (0..n).collect()
    };
    let sub = x.view().select_rows(&rows);
    let (map, map_axes) = if sub.rows >= 2 && d >= 2 {
        let pca = Pca::fit(sub.view(), &PcaParams::new(2).seed(opts.seed))?;
        let z = pca.transform(sub.view())?;
        let evr = |k: usize| pca.explained_variance_ratio.get(k).copied().unwrap_or(0.0) * 100.0;
        let pts = rows
            .iter()
            .enumerate()
            .map(|(r, &i)| Point {
                x: z.row(r)[0],
                y: z.row(r)[1],
                group: (cluster[i] >= 0).then_some(cluster[i] as usize),
            })
            .collect();
        (
            pts,
            (
                format!("PCA 1 ({:.1} % of variance)", evr(0)),
                format!("PCA 2 ({:.1} % of variance)", evr(1)),
            ),
        )
    } else {
        (Vec::new(), (String::from("PCA 1"), String::from("PCA 2")))
    };
    let s = &out.summary;
    let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
    Ok(ClusterPage {
        dataset: s.dataset.clone(),
        method: s.method.clone(),
        features: s.features.clone(),
        scores: vec![
            ("samples".into(), s.samples.to_string()),
            ("clusters".into(), s.clusters.to_string()),
            ("noise".into(), s.noise.to_string()),
            ("ARI".into(), opt(s.ari)),
            ("NMI".into(), opt(s.nmi)),
            ("purity".into(), opt(s.purity)),
            ("silhouette".into(), opt(s.silhouette)),
        ],
        clusters,
        map_total: n,
        map,
        map_axes,
        dendrogram: out.dendrogram.as_ref().map(|dg| {
            (
                dg.n_leaves,
                dg.merges
                    .iter()
                    .map(|m| MergeRow {
                        a: m.a,
                        b: m.b,
                        distance: m.distance,
                        size: m.size,
                    })
                    .collect(),
            )
        }),
    })
}

/// Builds the page and writes it atomically to `path`.
pub fn write_cluster_page(
    ds: &Dataset,
    out: &ClusterOutput,
    splits: Option<&[String]>,
    opts: &PageOptions,
    path: &Path,
) -> Result<()> {
    let html = render_cluster_page(&cluster_page(ds, out, splits, opts)?);
    write_atomic(path, |w| w.write_all(html.as_bytes()))?;
    Ok(())
}
