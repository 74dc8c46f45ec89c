//! Mini-batch k-means (Sculley 2010) with scikit-learn's `MiniBatchKMeans` rules: k-means++ on
//! a random subset, per-centre learning rates from running counts, reassignment of starving
//! centres, early stop when the smoothed batch inertia stops improving. For large `n` where a
//! full Lloyd run is too slow; quality is a little below [`crate::kmeans::KMeans`].

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::assign::nearest_two;
use crate::error::{MlError, Result};
use crate::kmeans::{exact_inertia, kmeans_plus_plus};
use crate::matrix::{MatRef, Matrix};

/// Parameters of [`MiniBatchKMeans::fit`]; defaults follow scikit-learn.
#[derive(Debug, Clone, PartialEq)]
pub struct MiniBatchParams {
    pub k: usize,
    /// Rows per step (drawn with replacement). Default 1024.
    pub batch_size: usize,
    /// Passes over the data at most (`max_iter * n / batch_size` steps). Default 100.
    pub max_iter: usize,
    /// Stop after this many steps without improvement of the smoothed batch inertia
    /// (`None`: never). Default 10.
    pub max_no_improvement: Option<usize>,
    /// Stop when the summed squared centre change is at most `tol * mean feature variance`
    /// (0 disables). Default 0.
    pub tol: f64,
    /// Centres whose count falls below this fraction of the largest are moved to random
    /// batch rows. Default 0.01.
    pub reassignment_ratio: f64,
    /// Rows for the k-means++ initialisation (default `3 * batch_size`, at least `3 k`).
    pub init_size: Option<usize>,
    /// Initialisations compared on a validation subset. Default 1.
    pub n_init: usize,
    pub seed: u64,
}

impl MiniBatchParams {
    pub fn new(k: usize) -> Self {
        MiniBatchParams {
            k,
            batch_size: 1024,
            max_iter: 100,
            max_no_improvement: Some(10),
            tol: 0.0,
            reassignment_ratio: 0.01,
            init_size: None,
            n_init: 1,
            seed: 0,
        }
    }
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    pub fn batch_size(mut self, b: usize) -> Self {
        self.batch_size = b;
        self
    }
}

/// A fitted mini-batch k-means model.
#[derive(Debug, Clone)]
pub struct MiniBatchKMeans {
    pub centers: Matrix,
    /// Nearest final centre of every training row.
    pub labels: Vec<u32>,
    /// Inertia of `labels` against the final centres, over all rows.
    pub inertia: f64,
    /// Mini-batch steps taken.
    pub steps: usize,
    /// Whether a stopping rule fired before the step budget ran out.
    pub early_stopped: bool,
}

impl MiniBatchKMeans {
    pub fn fit(x: MatRef<'_>, p: &MiniBatchParams) -> Result<MiniBatchKMeans> {
        let (n, d) = (x.rows(), x.cols());
        if p.k == 0 || n < p.k || d == 0 {
            return Err(MlError::TooFew {
                what: "mini-batch k-means",
                why: format!("{n} samples of {d} features for k = {}", p.k),
            });
        }
        if p.batch_size == 0 || p.max_iter == 0 || p.n_init == 0 {
            return Err(MlError::param(
                "batch_size / max_iter / n_init",
                format!("{} / {} / {}", p.batch_size, p.max_iter, p.n_init),
                "must all be at least 1",
            ));
        }
        let tol_ok = p.tol >= 0.0 && p.tol.is_finite();
        if !tol_ok || !(0.0..=1.0).contains(&p.reassignment_ratio) {
            return Err(MlError::param(
                "tol / reassignment_ratio",
                format!("{} / {}", p.tol, p.reassignment_ratio),
                "tol must be >= 0 and reassignment_ratio in [0, 1]",
            ));
        }
        x.check_finite("mini-batch k-means input")?;
        let (k, b) = (p.k, p.batch_size.min(n));
        let tol = if p.tol > 0.0 {
            let (_, var) = x.column_mean_var();
            p.tol * var.iter().sum::<f64>() / d as f64
        } else {
            0.0
        };
        let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
        let init_size = p.init_size.unwrap_or(3 * b).max(3 * k).min(n);
        let valid: Vec<usize> = (0..init_size).map(|_| rng.random_range(0..n)).collect();
        let xv = x.select_rows(&valid);
        let mut centers = Vec::new();
        let mut best = f64::INFINITY;
        for _ in 0..p.n_init {
            let idx = rand::seq::index::sample(&mut rng, n, init_size).into_vec();
            let sub = x.select_rows(&idx);
            let c = kmeans_plus_plus(sub.view(), k, &mut rng);
            let lab = nearest_two(xv.view(), &c, k).labels;
            let inertia = exact_inertia(xv.view(), &c, &lab);
            if inertia < best {
                best = inertia;
                centers = c;
            }
        }
        let mut counts = vec![0.0f64; k];
        let n_steps = (p.max_iter * n / b).max(1);
        let alpha = (b as f64 * 2.0 / (n as f64 + 1.0)).min(1.0);
        let (mut ewa, mut ewa_min): (Option<f64>, Option<f64>) = (None, None);
        let (mut no_improvement, mut since_reassign) = (0usize, 0usize);
        let (mut steps, mut early) = (0, false);
        let mut batch_idx = vec![0usize; b];
        let mut sums = vec![0.0f64; k * d];
        let mut batch_count = vec![0.0f64; k];
        for step in 0..n_steps {
            steps = step + 1;
            for i in batch_idx.iter_mut() {
                *i = rng.random_range(0..n);
            }
            let batch = x.select_rows(&batch_idx);
            let near = nearest_two(batch.view(), &centers, k);
            let batch_inertia: f64 = near.best.iter().map(|&v| v as f64).sum();
            sums.fill(0.0);
            batch_count.fill(0.0);
            for (r, &l) in near.labels.iter().enumerate() {
                let l = l as usize;
                batch_count[l] += 1.0;
                for (s, &v) in sums[l * d..(l + 1) * d].iter_mut().zip(batch.row(r)) {
                    *s += v as f64;
                }
            }
            let mut shift = 0.0f64;
            for j in 0..k {
                if batch_count[j] == 0.0 {
                    continue;
                }
                let total = counts[j] + batch_count[j];
                for (c, &s) in centers[j * d..(j + 1) * d]
                    .iter_mut()
                    .zip(&sums[j * d..(j + 1) * d])
                {
                    let new = ((*c as f64 * counts[j] + s) / total) as f32;
                    shift += ((new - *c) as f64).powi(2);
                    *c = new;
                }
                counts[j] = total;
            }
            // Random reassignment of starving centres.
            since_reassign += b;
            let max_count = counts.iter().cloned().fold(0.0, f64::max);
            if p.reassignment_ratio > 0.0
                && (counts.contains(&0.0) || since_reassign as f64 >= 10.0 * max_count)
            {
                since_reassign = 0;
                reassign(
                    &mut centers,
                    &mut counts,
                    &batch,
                    p.reassignment_ratio,
                    &mut rng,
                );
            }
            // Convergence (the first step never counts).
            if step == 0 {
                continue;
            }
            let bi = batch_inertia / b as f64;
            let e = match ewa {
                None => bi,
                Some(prev) => prev * (1.0 - alpha) + bi * alpha,
            };
            ewa = Some(e);
            if tol > 0.0 && shift <= tol {
                early = true;
                break;
            }
            if ewa_min.is_none_or(|m| e < m) {
                no_improvement = 0;
                ewa_min = Some(e);
            } else {
                no_improvement += 1;
            }
            if p.max_no_improvement.is_some_and(|m| no_improvement >= m) {
                early = true;
                break;
            }
        }
        let labels = nearest_two(x, &centers, k).labels;
        let inertia = exact_inertia(x, &centers, &labels);
        Ok(MiniBatchKMeans {
            centers: Matrix {
                data: centers,
                rows: k,
                cols: d,
            },
            labels,
            inertia,
            steps,
            early_stopped: early,
        })
    }
}

/// Moves centres whose count is below `ratio * max count` to distinct random rows of `batch`
/// (at most half the batch), giving them the smallest remaining count.
fn reassign(
    centers: &mut [f32],
    counts: &mut [f64],
    batch: &Matrix,
    ratio: f64,
    rng: &mut ChaCha8Rng,
) {
    let d = batch.cols;
    let max = counts.iter().cloned().fold(0.0, f64::max);
    let mut low: Vec<usize> = (0..counts.len())
        .filter(|&j| counts[j] < ratio * max)
        .collect();
    let cap = batch.rows / 2;
    if low.len() > cap {
        low.sort_by(|&a, &b| counts[a].total_cmp(&counts[b]).then(a.cmp(&b)));
        low.truncate(cap);
    }
    if low.is_empty() {
        return;
    }
    let keep_min = (0..counts.len())
        .filter(|j| !low.contains(j))
        .map(|j| counts[j])
        .fold(f64::INFINITY, f64::min);
    let rows = rand::seq::index::sample(rng, batch.rows, low.len());
    for (&j, r) in low.iter().zip(rows.iter()) {
        centers[j * d..(j + 1) * d].copy_from_slice(batch.row(r));
        counts[j] = if keep_min.is_finite() { keep_min } else { 0.0 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::adjusted_rand_index;
    use crate::synthetic::{blobs, random_centers};

    #[test]
    fn recovers_separated_blobs() {
        let c = random_centers(5, 6, 20.0, 1);
        let (x, truth) = blobs(&c, 2000, 0.5, 2);
        let m = MiniBatchKMeans::fit(x.view(), &MiniBatchParams::new(5).seed(4).batch_size(256))
            .unwrap();
        assert_eq!(adjusted_rand_index(&truth, &m.labels).unwrap(), 1.0);
        assert!(m.early_stopped, "{} steps", m.steps);
        // Close to the Lloyd optimum: n * d * std^2 = 10000 * 6 * 0.25.
        assert!(m.inertia < 15_000.0 * 1.05, "{}", m.inertia);
        let again =
            MiniBatchKMeans::fit(x.view(), &MiniBatchParams::new(5).seed(4).batch_size(256))
                .unwrap();
        assert_eq!(again.centers, m.centers);
    }

    #[test]
    fn bad_parameters() {
        let c = random_centers(2, 2, 1.0, 1);
        let (x, _) = blobs(&c, 5, 0.1, 2);
        assert!(MiniBatchKMeans::fit(x.view(), &MiniBatchParams::new(11)).is_err());
        assert!(MiniBatchKMeans::fit(x.view(), &MiniBatchParams::new(2).batch_size(0)).is_err());
        let ok = MiniBatchKMeans::fit(x.view(), &MiniBatchParams::new(2)).unwrap();
        assert_eq!(ok.labels.len(), 10);
    }
}
