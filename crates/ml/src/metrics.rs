//! Clustering metrics: inertia, silhouette (optionally on a seeded sample), and agreement with
//! reference labels (adjusted Rand index, normalised mutual information, purity), with
//! scikit-learn's definitions and edge cases.

use std::collections::HashMap;
use std::hash::Hash;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::{MlError, Result};
use crate::matrix::MatRef;

/// Co-occurrence counts of two labelings, with labels mapped to dense indices in order of
/// first appearance.
#[derive(Debug, Clone)]
pub struct Contingency {
    /// `(row, col) -> count` for non-zero cells (row: first labeling, col: second).
    pub cells: HashMap<(usize, usize), u64>,
    pub row_sums: Vec<u64>,
    pub col_sums: Vec<u64>,
    pub n: u64,
}

impl Contingency {
    pub fn new<A: Copy + Eq + Hash, B: Copy + Eq + Hash>(a: &[A], b: &[B]) -> Result<Self> {
        if a.len() != b.len() {
            return Err(MlError::LengthMismatch {
                what: "labelings",
                left: a.len(),
                right: b.len(),
            });
        }
        let ia = dense_ids(a);
        let ib = dense_ids(b);
        let nr = ia.iter().max().map_or(0, |m| m + 1);
        let nc = ib.iter().max().map_or(0, |m| m + 1);
        let mut cells = HashMap::new();
        let mut row_sums = vec![0u64; nr];
        let mut col_sums = vec![0u64; nc];
        for (&r, &c) in ia.iter().zip(&ib) {
            *cells.entry((r, c)).or_insert(0) += 1;
            row_sums[r] += 1;
            col_sums[c] += 1;
        }
        Ok(Contingency {
            cells,
            row_sums,
            col_sums,
            n: a.len() as u64,
        })
    }
}

fn dense_ids<T: Copy + Eq + Hash>(v: &[T]) -> Vec<usize> {
    let mut map = HashMap::new();
    v.iter()
        .map(|x| {
            let next = map.len();
            *map.entry(*x).or_insert(next)
        })
        .collect()
}

/// Adjusted Rand index of two labelings (1 = identical partitions, ~0 = chance level).
/// `adjusted_rand_index(&[0, 0, 1, 1], &[0, 0, 1, 2])` is 4/7 (`0.5714285714285714`).
pub fn adjusted_rand_index<A: Copy + Eq + Hash, B: Copy + Eq + Hash>(
    truth: &[A],
    pred: &[B],
) -> Result<f64> {
    let c = Contingency::new(truth, pred)?;
    let n = c.n as i128;
    let sum_sq: i128 = c.cells.values().map(|&v| (v as i128) * (v as i128)).sum();
    let dot_cols: i128 = c
        .cells
        .iter()
        .map(|(&(_, j), &v)| v as i128 * c.col_sums[j] as i128)
        .sum();
    let dot_rows: i128 = c
        .cells
        .iter()
        .map(|(&(i, _), &v)| v as i128 * c.row_sums[i] as i128)
        .sum();
    // Pair confusion matrix (scikit-learn's pair_confusion_matrix).
    let tp = sum_sq - n;
    let fp = dot_cols - sum_sq;
    let fn_ = dot_rows - sum_sq;
    let tn = n * n - fp - fn_ - sum_sq;
    if fn_ == 0 && fp == 0 {
        return Ok(1.0);
    }
    let num = 2 * (tp * tn - fn_ * fp);
    let den = (tp + fn_) * (fn_ + tn) + (tp + fp) * (fp + tn);
    Ok(num as f64 / den as f64)
}

fn entropy(counts: &[u64], n: u64) -> f64 {
    let n = n as f64;
    -counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            p * p.ln()
        })
        .sum::<f64>()
}

/// Mutual information (natural log) of two labelings.
pub fn mutual_information<A: Copy + Eq + Hash, B: Copy + Eq + Hash>(
    truth: &[A],
    pred: &[B],
) -> Result<f64> {
    let c = Contingency::new(truth, pred)?;
    Ok(mi_of(&c))
}

fn mi_of(c: &Contingency) -> f64 {
    let n = c.n as f64;
    let mi: f64 = c
        .cells
        .iter()
        .map(|(&(i, j), &v)| {
            let v = v as f64;
            let outer = c.row_sums[i] as f64 * c.col_sums[j] as f64;
            (v / n) * (v * n / outer).ln()
        })
        .sum();
    mi.max(0.0)
}

/// Normalised mutual information, arithmetic-mean normalisation (scikit-learn's default):
/// `MI / ((H(truth) + H(pred)) / 2)`. Two single-cluster labelings score 1.
pub fn normalized_mutual_info<A: Copy + Eq + Hash, B: Copy + Eq + Hash>(
    truth: &[A],
    pred: &[B],
) -> Result<f64> {
    let c = Contingency::new(truth, pred)?;
    let (nr, nc) = (c.row_sums.len(), c.col_sums.len());
    if (nr == 1 && nc == 1) || (nr == 0 && nc == 0) {
        return Ok(1.0);
    }
    let mi = mi_of(&c);
    if mi == 0.0 {
        return Ok(0.0);
    }
    let norm = (entropy(&c.row_sums, c.n) + entropy(&c.col_sums, c.n)) / 2.0;
    Ok(mi / norm.max(f64::EPSILON))
}

/// Purity: the fraction of samples that carry the most common true label of their cluster.
pub fn purity<A: Copy + Eq + Hash, B: Copy + Eq + Hash>(truth: &[A], pred: &[B]) -> Result<f64> {
    let c = Contingency::new(truth, pred)?;
    if c.n == 0 {
        return Ok(1.0);
    }
    let mut best = vec![0u64; c.col_sums.len()];
    for (&(_, j), &v) in &c.cells {
        best[j] = best[j].max(v);
    }
    Ok(best.iter().sum::<u64>() as f64 / c.n as f64)
}

/// Sum of squared distances of the rows of `x` to their centre (`centers`: `k x d`).
pub fn inertia(x: MatRef<'_>, centers: &[f32], labels: &[u32]) -> Result<f64> {
    if labels.len() != x.rows() {
        return Err(MlError::LengthMismatch {
            what: "rows vs labels",
            left: x.rows(),
            right: labels.len(),
        });
    }
    let k = centers.len() / x.cols().max(1);
    if let Some(&l) = labels.iter().find(|&&l| l as usize >= k) {
        return Err(MlError::param("label", l, format!("only {k} centres")));
    }
    Ok(crate::kmeans::exact_inertia(x, centers, labels))
}

/// Mean silhouette coefficient (Euclidean). With `sample_size`, computed on that many rows
/// drawn without replacement with `seed` (as scikit-learn's `silhouette_score(sample_size=...)`);
/// `O(s^2 d)` time, `O(s)` memory. Needs between 2 and `s - 1` distinct labels in the sample.
pub fn silhouette_score<L: Copy + Eq + Hash + Send + Sync>(
    x: MatRef<'_>,
    labels: &[L],
    sample_size: Option<usize>,
    seed: u64,
) -> Result<f64> {
    if labels.len() != x.rows() {
        return Err(MlError::LengthMismatch {
            what: "rows vs labels",
            left: x.rows(),
            right: labels.len(),
        });
    }
    let n = x.rows();
    let idx: Vec<usize> = match sample_size {
        Some(s) if s < n => {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut v = rand::seq::index::sample(&mut rng, n, s).into_vec();
            v.sort_unstable();
            v
        }
        _ => (0..n).collect(),
    };
    let sub = x.select_rows(&idx);
    let lab: Vec<L> = idx.iter().map(|&i| labels[i]).collect();
    silhouette_full(sub.view(), &dense_ids(&lab))
}

fn silhouette_full(x: MatRef<'_>, lab: &[usize]) -> Result<f64> {
    let n = x.rows();
    let k = lab.iter().max().map_or(0, |m| m + 1);
    if k < 2 || k >= n {
        return Err(MlError::TooFew {
            what: "silhouette",
            why: format!(
                "{k} distinct labels among {n} samples; need between 2 and n - 1 = {}",
                n.saturating_sub(1)
            ),
        });
    }
    let mut size = vec![0usize; k];
    for &l in lab {
        size[l] += 1;
    }
    // Distances a block of rows at a time (one GEMM per block, see `neighbors`).
    let prep = crate::neighbors::prepare(x);
    let s: Vec<f64> = crate::neighbors::map_blocks(&prep, |start, _, dist| {
        let mut per = vec![0.0f64; k];
        dist.chunks_exact(n)
            .enumerate()
            .map(|(r, row)| {
                let i = start + r;
                per.fill(0.0);
                for (&dv, &l) in row.iter().zip(lab) {
                    per[l] += (dv.max(0.0) as f64).sqrt();
                }
                let own = lab[i];
                if size[own] <= 1 {
                    return 0.0;
                }
                let a = per[own] / (size[own] - 1) as f64;
                let b = (0..k)
                    .filter(|&j| j != own && size[j] > 0)
                    .map(|j| per[j] / size[j] as f64)
                    .fold(f64::INFINITY, f64::min);
                let m = a.max(b);
                if m > 0.0 {
                    (b - a) / m
                } else {
                    0.0
                }
            })
            .collect::<Vec<f64>>()
    })
    .into_iter()
    .flatten()
    .collect();
    Ok(s.iter().sum::<f64>() / n as f64)
}

/// The silhouette sample size that keeps its `s^2 d` distance work under about `2e10`
/// multiply-adds (a second or two): `min(requested, sqrt(2e10 / d))`.
pub fn silhouette_budget(requested: usize, d: usize) -> usize {
    let cap = (2e10 / d.max(1) as f64).sqrt() as usize;
    requested.min(cap.max(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ari_documented_values() {
        // scikit-learn 1.9.1 prints 0.5714285714285714 (= 4/7) for both orders; older docs
        // show ...715, the same value one ulp away.
        assert_eq!(
            adjusted_rand_index(&[0, 0, 1, 1], &[0, 0, 1, 1]).unwrap(),
            1.0
        );
        assert_eq!(
            adjusted_rand_index(&[0, 0, 1, 1], &[1, 1, 0, 0]).unwrap(),
            1.0
        );
        let v = adjusted_rand_index(&[0, 0, 1, 2], &[0, 0, 1, 1]).unwrap();
        assert!((v - 0.5714285714285715).abs() < 1e-15, "{v}");
        let v = adjusted_rand_index(&[0, 0, 1, 1], &[0, 0, 1, 2]).unwrap();
        assert!((v - 0.5714285714285715).abs() < 1e-15, "{v}");
        let v = adjusted_rand_index(&[0, 0, 0, 0], &[0, 1, 2, 3]).unwrap();
        assert_eq!(v, 0.0);
        let v = adjusted_rand_index(&[0, 0, 1, 1], &[0, 1, 0, 1]).unwrap();
        assert!((v - (-0.5)).abs() < 1e-15, "{v}");
    }

    #[test]
    fn nmi_values() {
        assert_eq!(
            normalized_mutual_info(&[0, 0, 1, 1], &[1, 1, 0, 0]).unwrap(),
            1.0
        );
        assert_eq!(
            normalized_mutual_info(&[0, 0, 0, 0], &[0, 1, 2, 3]).unwrap(),
            0.0
        );
        assert_eq!(normalized_mutual_info(&[5, 5, 5], &[1, 1, 1]).unwrap(), 1.0);
        // Hand value: MI = ln 2 / 2... for [0,0,1,1] vs [0,0,1,2]:
        // H(t) = ln 2, H(p) = 1.5 ln 2, MI = ln 2 (p determines t), NMI = 1 / 1.25 = 0.8.
        let v = normalized_mutual_info(&[0, 0, 1, 1], &[0, 0, 1, 2]).unwrap();
        assert!((v - 0.8).abs() < 1e-12, "{v}");
    }

    #[test]
    fn purity_counts_majorities() {
        // Cluster 0 holds classes {a, a, b}, cluster 1 holds {b, c}: (2 + 1) / 5.
        let v = purity(&['a', 'a', 'b', 'b', 'c'], &[0, 0, 0, 1, 1]).unwrap();
        assert!((v - 0.6).abs() < 1e-12);
        assert!(purity(&[1, 2], &[1]).is_err());
    }

    #[test]
    fn silhouette_hand_example() {
        // Points on a line: cluster A = {0, 1}, cluster B = {4}... use {0,1} and {5,6}.
        let x = [0.0f32, 1.0, 5.0, 6.0];
        let m = MatRef::new(&x, 4, 1).unwrap();
        // For 0: a = 1, b = (5 + 6) / 2 = 5.5 -> s = 4.5/5.5; for 1: a = 1, b = 4.5 -> 3.5/4.5.
        let want = 2.0 * (4.5 / 5.5 + 3.5 / 4.5) / 4.0;
        let v = silhouette_score(m, &[0, 0, 1, 1], None, 0).unwrap();
        assert!((v - want).abs() < 1e-6, "{v} vs {want}");
        // A singleton cluster scores 0 for its member.
        // scikit-learn: 0.05555555555555555.
        let v = silhouette_score(m, &[0, 0, 0, 1], None, 0).unwrap();
        assert!((v - 0.05555555555555555).abs() < 1e-6, "{v}");
        assert!(silhouette_score(m, &[0, 0, 0, 0], None, 0).is_err());
    }

    #[test]
    fn silhouette_sample_is_seeded() {
        let x: Vec<f32> = (0..400)
            .map(|i| (i % 2) as f32 * 10.0 + (i as f32 * 0.01))
            .collect();
        let lab: Vec<u32> = (0..400).map(|i| (i % 2) as u32).collect();
        let m = MatRef::new(&x, 400, 1).unwrap();
        let a = silhouette_score(m, &lab, Some(50), 3).unwrap();
        let b = silhouette_score(m, &lab, Some(50), 3).unwrap();
        assert_eq!(a, b);
        assert!(a > 0.8);
    }

    #[test]
    fn inertia_by_hand() {
        let x = [0.0f32, 0.0, 2.0, 0.0, 10.0, 10.0];
        let m = MatRef::new(&x, 3, 2).unwrap();
        let v = inertia(m, &[1.0, 0.0, 10.0, 10.0], &[0, 0, 1]).unwrap();
        assert!((v - 2.0).abs() < 1e-9);
        assert!(inertia(m, &[1.0, 0.0], &[0, 0, 1]).is_err());
    }
}
