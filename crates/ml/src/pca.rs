//! Principal component analysis: exact (eigen decomposition of the `d x d` covariance, or of
//! the `n x n` Gram matrix when there are fewer samples than features) and randomized (Halko,
//! Martinsson & Tropp, as scikit-learn's `randomized_svd`: `n_oversamples` extra directions,
//! `n_iter` power iterations, each followed by re-orthonormalisation; here as subspace iteration
//! on `M^T M` with a Rayleigh-Ritz step, which needs no orthonormalisation of `n x l` blocks).
//!
//! The data are never copied whole: centring is folded into the products
//! (`(X - 1 mu^T) Q = X Q - 1 (mu^T Q)`), and the covariance is accumulated over row blocks
//! (an `f32` GEMM per block, summed in `f64`). Components carry scikit-learn's sign convention
//! (the largest-magnitude entry of each component is positive).

use crate::eigen::sym_eigen_top;
use crate::error::{MlError, Result};
use crate::linalg::{matmul, Strided};
use crate::matrix::{MatRef, Matrix};
use crate::randomized::randomized;

/// How the components are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PcaSolver {
    /// Exact when `d <= 1000` or the components are most of the spectrum, else randomized
    /// (scikit-learn's rule, with the covariance route as the exact solver).
    Auto,
    /// Eigen decomposition of the covariance (or Gram) matrix.
    Exact,
    /// Randomized range finder with power iterations.
    Randomized {
        n_oversamples: usize,
        /// Power iterations; `None` = 7 when `n_components < 0.1 min(n, d)`, else 4.
        n_iter: Option<usize>,
    },
}

impl PcaSolver {
    /// Randomized with scikit-learn's defaults (10 oversamples, automatic iterations).
    pub fn randomized() -> Self {
        PcaSolver::Randomized {
            n_oversamples: 10,
            n_iter: None,
        }
    }
}

/// Parameters of [`Pca::fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct PcaParams {
    pub n_components: usize,
    pub solver: PcaSolver,
    /// Seed of the randomized solver's test matrix.
    pub seed: u64,
}

impl PcaParams {
    pub fn new(n_components: usize) -> Self {
        PcaParams {
            n_components,
            solver: PcaSolver::Auto,
            seed: 0,
        }
    }
    pub fn solver(mut self, solver: PcaSolver) -> Self {
        self.solver = solver;
        self
    }
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// A fitted PCA.
#[derive(Debug, Clone)]
pub struct Pca {
    /// Per-feature mean of the training data.
    pub mean: Vec<f32>,
    /// `n_components x d`, orthonormal rows, largest variance first.
    pub components: Matrix,
    /// Variance along each component (`ddof = 1`, as scikit-learn).
    pub explained_variance: Vec<f64>,
    /// `explained_variance / total variance`.
    pub explained_variance_ratio: Vec<f64>,
    /// Singular values of the centred data.
    pub singular_values: Vec<f64>,
    /// Sum of the per-feature variances (`ddof = 1`).
    pub total_variance: f64,
    pub n_samples: usize,
    /// Whether the randomized solver was used.
    pub randomized: bool,
}

/// Rows per block when accumulating the covariance.
const COV_BLOCK: usize = 4096;

impl Pca {
    /// Fits on the rows of `x` (`n >= 2`, `1 <= n_components <= min(n, d)`).
    pub fn fit(x: MatRef<'_>, params: &PcaParams) -> Result<Pca> {
        let (n, d) = (x.rows(), x.cols());
        let k = params.n_components;
        if n < 2 || d == 0 {
            return Err(MlError::TooFew {
                what: "PCA",
                why: format!("{n} samples of {d} features; need at least 2 samples"),
            });
        }
        if k == 0 || k > n.min(d) {
            return Err(MlError::param(
                "n_components",
                k,
                format!(
                    "must be between 1 and min(samples, features) = {}",
                    n.min(d)
                ),
            ));
        }
        x.check_finite("PCA input")?;
        let (mean, var) = x.column_mean_var();
        let total_variance = var.iter().sum::<f64>() * n as f64 / (n - 1) as f64;
        let mean32: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
        let solver = match params.solver {
            PcaSolver::Auto if d <= 1000 || 5 * k >= 4 * n.min(d) => PcaSolver::Exact,
            PcaSolver::Auto => PcaSolver::randomized(),
            s => s,
        };
        let (mut comps, sing) = match solver {
            PcaSolver::Randomized {
                n_oversamples,
                n_iter,
            } => {
                let iters = n_iter.unwrap_or(if (k as f64) < 0.1 * n.min(d) as f64 {
                    7
                } else {
                    4
                });
                randomized(x, &mean32, k, n_oversamples, iters, params.seed)?
            }
            _ if n >= d => exact_cov(x, &mean32, k)?,
            _ => exact_gram(x, &mean32, k)?,
        };
        flip_signs(&mut comps, d);
        let explained_variance: Vec<f64> = sing.iter().map(|s| s * s / (n - 1) as f64).collect();
        let explained_variance_ratio = explained_variance
            .iter()
            .map(|v| {
                if total_variance > 0.0 {
                    v / total_variance
                } else {
                    0.0
                }
            })
            .collect();
        Ok(Pca {
            mean: mean32,
            components: Matrix {
                data: comps.iter().map(|&v| v as f32).collect(),
                rows: k,
                cols: d,
            },
            explained_variance,
            explained_variance_ratio,
            singular_values: sing,
            total_variance,
            n_samples: n,
            randomized: matches!(solver, PcaSolver::Randomized { .. }),
        })
    }

    /// Projects rows onto the components: `(x - mean) C^T`, `n x n_components`.
    pub fn transform(&self, x: MatRef<'_>) -> Result<Matrix> {
        let d = self.components.cols;
        if x.cols() != d {
            return Err(MlError::FeatureMismatch {
                what: "PCA transform",
                expected: d,
                got: x.cols(),
            });
        }
        let (n, k) = (x.rows(), self.components.rows);
        let mut out = vec![0.0f32; n * k];
        let c = &self.components.data;
        matmul(
            n,
            k,
            d,
            Strided::rows(x.as_slice(), d),
            Strided::transposed(c, d),
            &mut out,
            false,
            true,
        );
        let shift: Vec<f32> = (0..k)
            .map(|j| {
                let row = &c[j * d..(j + 1) * d];
                row.iter()
                    .zip(&self.mean)
                    .map(|(a, b)| (*a as f64) * (*b as f64))
                    .sum::<f64>() as f32
            })
            .collect();
        for row in out.chunks_exact_mut(k.max(1)) {
            for (v, s) in row.iter_mut().zip(&shift) {
                *v -= s;
            }
        }
        Matrix::new(out, n, k)
    }

    /// Maps projections back to feature space: `z C + mean`.
    pub fn inverse_transform(&self, z: MatRef<'_>) -> Result<Matrix> {
        let (k, d) = (self.components.rows, self.components.cols);
        if z.cols() != k {
            return Err(MlError::FeatureMismatch {
                what: "PCA inverse_transform",
                expected: k,
                got: z.cols(),
            });
        }
        let n = z.rows();
        let mut out = Vec::with_capacity(n * d);
        for _ in 0..n {
            out.extend_from_slice(&self.mean);
        }
        matmul(
            n,
            d,
            k,
            Strided::rows(z.as_slice(), k),
            Strided::rows(&self.components.data, d),
            &mut out,
            true,
            true,
        );
        Matrix::new(out, n, d)
    }
}

/// Top-`k` eigenvectors of the covariance: returns (`k x d` components in f64, singular values).
fn exact_cov(x: MatRef<'_>, mean: &[f32], k: usize) -> Result<(Vec<f64>, Vec<f64>)> {
    let eig = sym_eigen_top(scatter(x, mean), x.cols(), k)?;
    let sing = eig.values.iter().map(|v| v.max(0.0).sqrt()).collect();
    Ok((eig.vectors, sing))
}

/// The scatter matrix `(X - 1 mu^T)^T (X - 1 mu^T)` (`d x d`, `f64`, lower triangle filled),
/// accumulated block by block over rows, in panels of columns (each panel one GEMM), so about
/// half of `X^T X` is computed.
pub(crate) fn scatter(x: MatRef<'_>, mean: &[f32]) -> Vec<f64> {
    let (n, d) = (x.rows(), x.cols());
    const PANEL: usize = 128;
    let mut cov = vec![0.0f64; d * d];
    let mut block = vec![0.0f32; COV_BLOCK.min(n) * d];
    let mut prod = vec![0.0f32; d * PANEL.min(d)];
    let mut start = 0;
    while start < n {
        let rows = COV_BLOCK.min(n - start);
        let blk = &mut block[..rows * d];
        for (r, dst) in blk.chunks_exact_mut(d).enumerate() {
            for ((o, &v), &m) in dst.iter_mut().zip(x.row(start + r)).zip(mean) {
                *o = v - m;
            }
        }
        let blk = &block[..rows * d];
        let mut c0 = 0;
        while c0 < d {
            let w = PANEL.min(d - c0);
            let m = d - c0;
            // prod (m x w) = blk[:, c0..]^T blk[:, c0..c0 + w]
            let lhs = Strided {
                data: &blk[c0..],
                rs: 1,
                cs: d,
            };
            let rhs = Strided {
                data: &blk[c0..],
                rs: d,
                cs: 1,
            };
            matmul(m, w, rows, lhs, rhs, &mut prod[..m * w], false, true);
            for r in 0..m {
                let dst = &mut cov[(c0 + r) * d + c0..(c0 + r) * d + c0 + w];
                for (c, &p) in dst.iter_mut().zip(&prod[r * w..(r + 1) * w]) {
                    *c += p as f64;
                }
            }
            c0 += w;
        }
        start += rows;
    }
    cov
}

/// Top-`k` components through the `n x n` Gram matrix of the centred data (for `n < d`).
fn exact_gram(x: MatRef<'_>, mean: &[f32], k: usize) -> Result<(Vec<f64>, Vec<f64>)> {
    let (n, d) = (x.rows(), x.cols());
    let mut centred = Vec::with_capacity(n * d);
    for i in 0..n {
        centred.extend(x.row(i).iter().zip(mean).map(|(v, m)| v - m));
    }
    let mut gram = vec![0.0f32; n * n];
    matmul(
        n,
        n,
        d,
        Strided::rows(&centred, d),
        Strided::transposed(&centred, d),
        &mut gram,
        false,
        true,
    );
    let eig = sym_eigen_top(gram.iter().map(|&v| v as f64).collect(), n, k)?;
    // v_j = M^T u_j / s_j.
    let mut comps = vec![0.0f64; k * d];
    let mut sing = Vec::with_capacity(k);
    for j in 0..k {
        sing.push(eig.values[j].max(0.0).sqrt());
        let u = eig.vector(j);
        let c = &mut comps[j * d..(j + 1) * d];
        for (i, &ui) in u.iter().enumerate() {
            for (cv, &m) in c.iter_mut().zip(&centred[i * d..(i + 1) * d]) {
                *cv += ui * m as f64;
            }
        }
        normalize(c);
    }
    Ok((comps, sing))
}

pub(crate) fn normalize(v: &mut [f64]) {
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Makes the largest-magnitude entry of each component positive.
fn flip_signs(comps: &mut [f64], d: usize) {
    for c in comps.chunks_exact_mut(d) {
        let mut best = 0;
        for (t, v) in c.iter().enumerate() {
            if v.abs() > c[best].abs() {
                best = t;
            }
        }
        if c[best] < 0.0 {
            c.iter_mut().for_each(|v| *v = -*v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::normal;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn sk_matrix() -> Matrix {
        let (n, d) = (40, 6);
        let mut v = Vec::new();
        for i in 0..n {
            for j in 0..d {
                let (fi, fj) = (i as f64, j as f64);
                v.push(((fi * 0.37 + fj * fj * 0.11).sin() + 0.1 * fj * (i % 5) as f64) as f32);
            }
        }
        Matrix::new(v, n, d).unwrap()
    }

    #[test]
    fn matches_scikit_learn_on_a_fixed_matrix() {
        // scikit-learn 1.9.1, PCA(3) on the same matrix in float64.
        let ev = [2.19622164, 1.72934591, 0.10316007];
        let ratio = [0.54514026, 0.42925362, 0.02560612];
        let sv = [9.25487136, 8.21245947, 2.00580231];
        let c0 = [
            0.41755251,
            0.46902917,
            0.52755618,
            0.49366779,
            0.24738698,
            -0.14979259,
        ];
        let x = sk_matrix();
        for solver in [PcaSolver::Exact, PcaSolver::randomized()] {
            let p = Pca::fit(x.view(), &PcaParams::new(3).solver(solver)).unwrap();
            for j in 0..3 {
                assert!(
                    (p.explained_variance[j] - ev[j]).abs() < 1e-5,
                    "{solver:?} {:?}",
                    p.explained_variance
                );
                assert!((p.explained_variance_ratio[j] - ratio[j]).abs() < 1e-6);
                assert!((p.singular_values[j] - sv[j]).abs() < 1e-5);
            }
            for (a, b) in p.components.row(0).iter().zip(c0) {
                assert!(
                    (*a as f64 - b).abs() < 1e-5,
                    "{solver:?} {:?}",
                    p.components.row(0)
                );
            }
        }
    }

    /// Data with known covariance: independent normals with standard deviations `sd`, rotated
    /// by a Householder reflection, plus an offset.
    fn known(n: usize, sd: &[f64], seed: u64) -> (Matrix, Vec<Vec<f64>>) {
        let d = sd.len();
        let h: Vec<f64> = (0..d).map(|i| (i as f64 + 1.0).sqrt()).collect();
        let hn: f64 = h.iter().map(|v| v * v).sum();
        // Axis j of the rotation: e_j - 2 h h_j / |h|^2.
        let axes: Vec<Vec<f64>> = (0..d)
            .map(|j| {
                (0..d)
                    .map(|t| f64::from(u8::from(t == j)) - 2.0 * h[t] * h[j] / hn)
                    .collect()
            })
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut v = Vec::with_capacity(n * d);
        for _ in 0..n {
            let z: Vec<f64> = sd.iter().map(|s| s * normal(&mut rng)).collect();
            for t in 0..d {
                let x: f64 = z.iter().zip(&axes).map(|(zj, axis)| zj * axis[t]).sum();
                v.push((x + 3.0 + t as f64) as f32);
            }
        }
        (Matrix::new(v, n, d).unwrap(), axes)
    }

    #[test]
    fn recovers_a_known_covariance() {
        let sd = [5.0, 3.0, 2.0, 1.0, 0.5];
        let (x, axes) = known(40_000, &sd, 1);
        let p = Pca::fit(x.view(), &PcaParams::new(5)).unwrap();
        for j in 0..5 {
            let want = sd[j] * sd[j];
            assert!(
                (p.explained_variance[j] / want - 1.0).abs() < 0.03,
                "{j}: {:?}",
                p.explained_variance
            );
            let dot: f64 = p
                .components
                .row(j)
                .iter()
                .zip(&axes[j])
                .map(|(a, b)| *a as f64 * b)
                .sum();
            assert!(dot.abs() > 0.995, "component {j} vs axis: {dot}");
        }
        let sum: f64 = p.explained_variance_ratio.iter().sum();
        assert!((sum - 1.0).abs() < 1e-6, "{sum}");
        assert!((p.mean[2] - 5.0).abs() < 0.1);
        // Full-rank round trip.
        let z = p.transform(x.view()).unwrap();
        let back = p.inverse_transform(z.view()).unwrap();
        let err = back
            .data
            .iter()
            .zip(&x.data)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(err < 1e-3, "{err}");
        // Projections are centred with variance = explained variance.
        let col0: Vec<f64> = (0..z.rows).map(|i| z.row(i)[0] as f64).collect();
        let m = col0.iter().sum::<f64>() / col0.len() as f64;
        let var = col0.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (col0.len() - 1) as f64;
        assert!(m.abs() < 1e-3 && (var / p.explained_variance[0] - 1.0).abs() < 1e-4);
    }

    #[test]
    fn randomized_agrees_with_exact() {
        let sd: Vec<f64> = (0..60).map(|i| 10.0 * 0.85f64.powi(i)).collect();
        let (x, _) = known(3000, &sd, 2);
        let exact = Pca::fit(x.view(), &PcaParams::new(10).solver(PcaSolver::Exact)).unwrap();
        let rnd = Pca::fit(
            x.view(),
            &PcaParams::new(10).solver(PcaSolver::randomized()).seed(5),
        )
        .unwrap();
        assert!(rnd.randomized && !exact.randomized);
        for j in 0..10 {
            assert!(
                (exact.explained_variance_ratio[j] - rnd.explained_variance_ratio[j]).abs() < 1e-4
            );
            let dot: f32 = exact
                .components
                .row(j)
                .iter()
                .zip(rnd.components.row(j))
                .map(|(a, b)| a * b)
                .sum();
            assert!(dot > 0.999, "component {j}: {dot}");
        }
        assert_eq!(exact.total_variance, rnd.total_variance);
    }

    #[test]
    fn fewer_samples_than_features_uses_gram() {
        let (x, _) = known(
            30,
            &(0..50).map(|i| 1.0 + i as f64 * 0.1).collect::<Vec<_>>(),
            3,
        );
        let p = Pca::fit(x.view(), &PcaParams::new(5).solver(PcaSolver::Exact)).unwrap();
        let r = Pca::fit(
            x.view(),
            &PcaParams::new(5).solver(PcaSolver::Randomized {
                n_oversamples: 20,
                n_iter: Some(20),
            }),
        )
        .unwrap();
        for j in 0..5 {
            assert!((p.explained_variance[j] / r.explained_variance[j] - 1.0).abs() < 1e-3);
            let dot: f32 = p
                .components
                .row(j)
                .iter()
                .zip(r.components.row(j))
                .map(|(a, b)| a * b)
                .sum();
            assert!(dot > 0.99, "{j}: {dot}");
            // Sign convention: largest-magnitude entry positive.
            let row = p.components.row(j);
            let big = row
                .iter()
                .cloned()
                .fold(0.0f32, |m, v| if v.abs() > m.abs() { v } else { m });
            assert!(big > 0.0);
        }
    }

    #[test]
    fn rank_deficient_input_is_handled() {
        // Two distinct points repeated: rank 1, yet 3 components are requested.
        let mut v = Vec::new();
        for i in 0..100 {
            v.extend_from_slice(if i % 2 == 0 {
                &[1.0f32, 2.0, 3.0, 4.0]
            } else {
                &[2.0, 2.0, 3.0, 5.0]
            });
        }
        let x = Matrix::new(v, 100, 4).unwrap();
        for solver in [PcaSolver::Exact, PcaSolver::randomized()] {
            let p = Pca::fit(x.view(), &PcaParams::new(3).solver(solver)).unwrap();
            assert!(
                (p.explained_variance_ratio[0] - 1.0).abs() < 1e-5,
                "{solver:?}"
            );
            assert!(p.explained_variance[1] < 1e-5);
        }
    }

    #[test]
    fn bad_parameters() {
        let x = sk_matrix();
        assert!(Pca::fit(x.view(), &PcaParams::new(0)).is_err());
        assert!(Pca::fit(x.view(), &PcaParams::new(7)).is_err());
        let p = Pca::fit(x.view(), &PcaParams::new(2)).unwrap();
        assert!(p
            .transform(MatRef::new(&x.data[..40], 8, 5).unwrap())
            .is_err());
    }
}
