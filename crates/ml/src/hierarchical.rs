//! Agglomerative (hierarchical) clustering: ward, average, complete and single linkage, with the
//! merge list (a SciPy-style linkage matrix) and a cut into `k` clusters.
//!
//! - ward: the nearest-neighbour chain on cluster means and sizes (ward's distance depends on
//!   nothing else), `O(n^2 d)` time, `O(n d)` memory: no distance matrix at all.
//! - average, complete: the nearest-neighbour chain over a condensed `f32` distance matrix
//!   (`n (n - 1) / 2` values: 200 MB at 10,000 points, 800 MB at 20,000) with Lance-Williams
//!   updates, `O(n^2)` time.
//! - single: Prim's minimum spanning tree computed on the fly, `O(n^2 d)` time, `O(n d)` memory.
//!
//! Merge heights follow SciPy (ward heights are `sqrt(2 |A||B| / (|A| + |B|)) |mean_A - mean_B|`).
//!
//! Above `max_direct` points (default 20,000) the rows are first summarised by k-means into
//! `prototypes` centres, which are clustered with their sizes as weights; every row then takes
//! its centre's cluster. For ward this is exact given the k-means partition, since ward's merge
//! cost depends only on cluster sizes and means.

use serde::{Deserialize, Serialize};

pub(crate) use crate::chain::prim_mst;
use crate::chain::{nn_chain, ward_chain};
use crate::error::{MlError, Result};
use crate::kmeans::{Init, KMeans, KMeansParams};
use crate::matrix::MatRef;

/// How the distance between two clusters is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Linkage {
    /// Increase of the within-cluster sum of squares.
    Ward,
    /// Mean pairwise distance (UPGMA).
    Average,
    /// Largest pairwise distance.
    Complete,
    /// Smallest pairwise distance.
    Single,
}

impl std::str::FromStr for Linkage {
    type Err = MlError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "ward" => Ok(Linkage::Ward),
            "average" => Ok(Linkage::Average),
            "complete" => Ok(Linkage::Complete),
            "single" => Ok(Linkage::Single),
            other => Err(MlError::param(
                "linkage",
                other,
                "expected ward, average, complete or single",
            )),
        }
    }
}

/// One merge: clusters `a < b` (ids below `n_leaves` are leaves, id `n_leaves + i` is the
/// cluster formed by merge `i`) joined at `distance`, giving a cluster of `size` leaves
/// (or of that total weight for weighted leaves).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Merge {
    pub a: usize,
    pub b: usize,
    pub distance: f64,
    pub size: f64,
}

/// The full merge history, in non-decreasing distance order (SciPy's linkage matrix `Z`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dendrogram {
    pub n_leaves: usize,
    pub merges: Vec<Merge>,
}

impl Dendrogram {
    /// Leaf labels after undoing all but the first `n_leaves - k` merges: `k` clusters numbered
    /// in order of their first leaf.
    pub fn cut(&self, k: usize) -> Result<Vec<u32>> {
        let n = self.n_leaves;
        if k == 0 || k > n {
            return Err(MlError::param(
                "k",
                k,
                format!("must be between 1 and {n} leaves"),
            ));
        }
        let mut uf = UnionFind::new(2 * n);
        for (i, m) in self.merges.iter().take(n - k).enumerate() {
            uf.union_into(m.a, n + i);
            uf.union_into(m.b, n + i);
        }
        let mut ids = std::collections::HashMap::new();
        Ok((0..n)
            .map(|leaf| {
                let root = uf.find(leaf);
                let next = ids.len() as u32;
                *ids.entry(root).or_insert(next)
            })
            .collect())
    }
}

pub(crate) struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    pub(crate) fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n).collect(),
        }
    }
    pub(crate) fn find(&mut self, mut x: usize) -> usize {
        let mut root = x;
        while self.parent[root] != root {
            root = self.parent[root];
        }
        while self.parent[x] != root {
            let next = self.parent[x];
            self.parent[x] = root;
            x = next;
        }
        root
    }
    /// Makes `into` the root of `x`'s tree (`into` must be a root).
    pub(crate) fn union_into(&mut self, x: usize, into: usize) {
        let r = self.find(x);
        self.parent[r] = into;
    }
}

/// Parameters of [`Agglomerative::fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct AgglomerativeParams {
    pub n_clusters: usize,
    pub linkage: Linkage,
    /// Largest number of rows clustered directly. Default 20,000.
    pub max_direct: usize,
    /// k-means centres used above `max_direct`. Default 2,000.
    pub prototypes: usize,
    /// Seed of the k-means step.
    pub seed: u64,
}

impl AgglomerativeParams {
    pub fn new(n_clusters: usize, linkage: Linkage) -> Self {
        AgglomerativeParams {
            n_clusters,
            linkage,
            max_direct: 20_000,
            prototypes: 2_000,
            seed: 0,
        }
    }
}

/// A fitted agglomerative clustering.
#[derive(Debug, Clone)]
pub struct Agglomerative {
    /// Cluster of each row, numbered in order of first appearance.
    pub labels: Vec<u32>,
    /// Merges over the rows, or over the prototypes when `prototype_of` is set.
    pub dendrogram: Dendrogram,
    /// With prototypes: the prototype (dendrogram leaf) of each row.
    pub prototype_of: Option<Vec<u32>>,
}

impl Agglomerative {
    pub fn fit(x: MatRef<'_>, p: &AgglomerativeParams) -> Result<Agglomerative> {
        let n = x.rows();
        if p.n_clusters == 0 || p.n_clusters > n {
            return Err(MlError::param(
                "n_clusters",
                p.n_clusters,
                format!("must be between 1 and the {n} samples"),
            ));
        }
        x.check_finite("agglomerative input")?;
        if n <= p.max_direct {
            let dendrogram = linkage(x, None, p.linkage)?;
            let labels = dendrogram.cut(p.n_clusters)?;
            return Ok(Agglomerative {
                labels,
                dendrogram,
                prototype_of: None,
            });
        }
        if p.prototypes < p.n_clusters || p.prototypes > p.max_direct {
            return Err(MlError::param(
                "prototypes",
                p.prototypes,
                format!(
                    "must be between n_clusters = {} and max_direct = {}",
                    p.n_clusters, p.max_direct
                ),
            ));
        }
        // Prototypes only need to partition finely: random seeding and a few Lloyd rounds
        // (k-means++ alone would cost k full passes).
        let km = KMeans::fit(
            x,
            &KMeansParams::new(p.prototypes)
                .seed(p.seed)
                .init(Init::Random)
                .max_iter(20),
        )?;
        let mut weights = vec![0.0f64; p.prototypes];
        for &l in &km.labels {
            weights[l as usize] += 1.0;
        }
        let dendrogram = linkage(km.centers.view(), Some(&weights), p.linkage)?;
        let proto_labels = dendrogram.cut(p.n_clusters)?;
        // Renumber by first appearance over the rows.
        let mut ids = std::collections::HashMap::new();
        let labels = km
            .labels
            .iter()
            .map(|&c| {
                let next = ids.len() as u32;
                *ids.entry(proto_labels[c as usize]).or_insert(next)
            })
            .collect();
        Ok(Agglomerative {
            labels,
            dendrogram,
            prototype_of: Some(km.labels),
        })
    }
}

/// The full dendrogram of the rows of `x` (optionally weighted: a row stands for `w` points at
/// its position). Memory: `n (n - 1) / 2` floats except for single linkage.
pub fn linkage(x: MatRef<'_>, weights: Option<&[f64]>, method: Linkage) -> Result<Dendrogram> {
    let n = x.rows();
    if let Some(w) = weights {
        if w.len() != n {
            return Err(MlError::LengthMismatch {
                what: "rows vs weights",
                left: n,
                right: w.len(),
            });
        }
        if let Some(bad) = w.iter().find(|v| !(v.is_finite() && **v > 0.0)) {
            return Err(MlError::param("weight", bad, "weights must be positive"));
        }
    }
    if n == 0 {
        return Ok(Dendrogram {
            n_leaves: 0,
            merges: vec![],
        });
    }
    let size: Vec<f64> = weights.map_or_else(|| vec![1.0; n], <[f64]>::to_vec);
    let raw = match method {
        Linkage::Single => prim_mst(x, None),
        Linkage::Ward => ward_chain(x, size.clone()),
        _ => nn_chain(x, size.clone(), method),
    };
    Ok(relabel(n, raw, &size))
}

/// Sorts raw merges `(leaf_a, leaf_b, distance)` by distance (stably) and names the clusters
/// SciPy's way.
pub(crate) fn relabel(n: usize, mut raw: Vec<(usize, usize, f64)>, size: &[f64]) -> Dendrogram {
    raw.sort_by(|a, b| a.2.total_cmp(&b.2));
    let mut uf = UnionFind::new(2 * n);
    let mut weight: Vec<f64> = size.to_vec();
    weight.resize(2 * n, 0.0);
    let merges = raw
        .into_iter()
        .enumerate()
        .map(|(i, (x, y, dist))| {
            let (rx, ry) = (uf.find(x), uf.find(y));
            let id = n + i;
            uf.union_into(rx, id);
            uf.union_into(ry, id);
            weight[id] = weight[rx] + weight[ry];
            Merge {
                a: rx.min(ry),
                b: rx.max(ry),
                distance: dist,
                size: weight[id],
            }
        })
        .collect();
    Dendrogram {
        n_leaves: n,
        merges,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::Matrix;
    use crate::metrics::adjusted_rand_index;
    use crate::synthetic::{blobs, random_centers};

    fn pts() -> Matrix {
        let v = [
            0.0, 0.0, 1.0, 0.0, 0.0, 2.0, 5.0, 5.0, 6.0, 5.0, 5.0, 7.5, 10.0, 0.0,
        ];
        Matrix::new(v.to_vec(), 7, 2).unwrap()
    }

    /// SciPy 1.17.1 `linkage(x, method)` on `pts()`.
    fn scipy(method: Linkage) -> Vec<(usize, usize, f64, usize)> {
        match method {
            Linkage::Ward => vec![
                (0, 1, 1.0, 2),
                (3, 4, 1.0, 2),
                (2, 7, 2.3804761428, 3),
                (5, 8, 2.9439202888, 3),
                (6, 10, 9.1492258325, 4),
                (9, 11, 13.324029492, 7),
            ],
            Linkage::Average => vec![
                (0, 1, 1.0, 2),
                (3, 4, 1.0, 2),
                (2, 7, 2.1180339887, 3),
                (5, 8, 2.5962912018, 3),
                (9, 10, 7.3157308807, 6),
                (6, 11, 8.6143515442, 7),
            ],
            Linkage::Complete => vec![
                (0, 1, 1.0, 2),
                (3, 4, 1.0, 2),
                (2, 7, 2.2360679775, 3),
                (5, 8, 2.6925824036, 3),
                (9, 10, 9.0138781887, 6),
                (6, 11, 10.1980390272, 7),
            ],
            Linkage::Single => vec![
                (0, 1, 1.0, 2),
                (3, 4, 1.0, 2),
                (2, 7, 2.0, 3),
                (5, 8, 2.5, 3),
                (9, 10, 5.8309518948, 6),
                (6, 11, 6.4031242374, 7),
            ],
        }
    }

    #[test]
    fn linkage_matches_scipy() {
        let x = pts();
        for m in [
            Linkage::Ward,
            Linkage::Average,
            Linkage::Complete,
            Linkage::Single,
        ] {
            let z = linkage(x.view(), None, m).unwrap();
            assert_eq!(z.merges.len(), 6);
            for (got, want) in z.merges.iter().zip(scipy(m)) {
                assert_eq!(
                    (got.a, got.b, got.size as usize),
                    (want.0, want.1, want.3),
                    "{m:?}"
                );
                assert!(
                    (got.distance - want.2).abs() < 1e-5,
                    "{m:?}: {} vs {}",
                    got.distance,
                    want.2
                );
            }
        }
    }

    #[test]
    fn cuts_give_hand_clusters() {
        let z = linkage(pts().view(), None, Linkage::Ward).unwrap();
        assert_eq!(z.cut(3).unwrap(), vec![0, 0, 0, 1, 1, 1, 2]);
        assert_eq!(z.cut(7).unwrap(), vec![0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(z.cut(1).unwrap(), vec![0; 7]);
        // Single linkage at 2 clusters splits off the far point only.
        let s = linkage(pts().view(), None, Linkage::Single).unwrap();
        assert_eq!(s.cut(2).unwrap(), vec![0, 0, 0, 0, 0, 0, 1]);
        assert!(z.cut(0).is_err() && z.cut(8).is_err());
    }

    #[test]
    fn blobs_are_recovered_by_every_linkage() {
        let c = random_centers(4, 5, 20.0, 3);
        let (x, truth) = blobs(&c, 60, 0.5, 4);
        for m in [
            Linkage::Ward,
            Linkage::Average,
            Linkage::Complete,
            Linkage::Single,
        ] {
            let a = Agglomerative::fit(x.view(), &AgglomerativeParams::new(4, m)).unwrap();
            assert_eq!(
                adjusted_rand_index(&truth, &a.labels).unwrap(),
                1.0,
                "{m:?}"
            );
            let hs: Vec<f64> = a.dendrogram.merges.iter().map(|m| m.distance).collect();
            assert!(
                hs.windows(2).all(|w| w[0] <= w[1]),
                "{m:?} heights not sorted"
            );
            assert_eq!(a.dendrogram.merges.last().unwrap().size, 240.0);
        }
    }

    #[test]
    fn prototypes_above_the_direct_limit() {
        let c = random_centers(3, 4, 20.0, 5);
        let (x, truth) = blobs(&c, 400, 0.5, 6);
        let mut p = AgglomerativeParams::new(3, Linkage::Ward);
        p.max_direct = 500;
        p.prototypes = 50;
        let a = Agglomerative::fit(x.view(), &p).unwrap();
        assert_eq!(a.dendrogram.n_leaves, 50);
        assert_eq!(a.prototype_of.as_ref().map(Vec::len), Some(1200));
        assert_eq!(adjusted_rand_index(&truth, &a.labels).unwrap(), 1.0);
        assert_eq!(a.dendrogram.merges.last().unwrap().size, 1200.0);
        p.prototypes = 501;
        assert!(Agglomerative::fit(x.view(), &p).is_err());
    }

    #[test]
    fn ward_on_means_equals_lance_williams() {
        // The matrix-free chain and the Lance-Williams recurrence give the same tree.
        let c = random_centers(5, 6, 4.0, 9);
        let (x, _) = blobs(&c, 40, 1.5, 10);
        let w: Vec<f64> = (0..200).map(|i| 1.0 + (i % 3) as f64).collect();
        for weights in [None, Some(&w[..])] {
            let size = weights.map_or_else(|| vec![1.0; 200], <[f64]>::to_vec);
            let a = relabel(200, crate::chain::ward_chain(x.view(), size.clone()), &size);
            let b = relabel(
                200,
                crate::chain::nn_chain(x.view(), size.clone(), Linkage::Ward),
                &size,
            );
            for (p, q) in a.merges.iter().zip(&b.merges) {
                assert_eq!((p.a, p.b), (q.a, q.b));
                assert!((p.distance - q.distance).abs() <= 1e-4 * q.distance.max(1.0));
            }
            assert_eq!(a.cut(5).unwrap(), b.cut(5).unwrap());
        }
    }

    #[test]
    fn weighted_ward_equals_repeated_points() {
        // A point of weight 3 behaves like three copies of it under ward.
        let x = Matrix::new(vec![0.0, 0.0, 4.0, 0.0, 4.0, 3.0], 3, 2).unwrap();
        let z = linkage(x.view(), Some(&[3.0, 1.0, 1.0]), Linkage::Ward).unwrap();
        let rep =
            Matrix::new(vec![0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 4.0, 0.0, 4.0, 3.0], 5, 2).unwrap();
        let zr = linkage(rep.view(), None, Linkage::Ward).unwrap();
        let last = |d: &Dendrogram| d.merges.last().unwrap().distance;
        assert!(
            (last(&z) - last(&zr)).abs() < 1e-5,
            "{} vs {}",
            last(&z),
            last(&zr)
        );
        assert_eq!(z.merges[0].distance, 3.0);
    }
}
