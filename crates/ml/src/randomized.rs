//! The randomized PCA solver (Halko, Martinsson & Tropp 2011; scikit-learn's
//! `randomized_svd`): a Gaussian start of `k + n_oversamples` directions, `n_iter` power
//! iterations on `M^T M` (`M` = centred data) with re-orthonormalisation after each, then
//! Rayleigh-Ritz on the final basis. Written as subspace iteration on the right singular
//! space, so only `d x l` blocks are orthonormalised (in `f64`).
//!
//! Each product with `M^T M` is two passes over `X` (`O(n d l)` each); when `d` is small
//! enough that forming the scatter matrix once (`O(n d^2 / 2)`) is cheaper than all those
//! passes, it is formed and the iterations run on it instead: the same algorithm and result.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::eigen::sym_eigen;
use crate::error::Result;
use crate::linalg::{matmul, matmul_f64, Strided};
use crate::matrix::MatRef;
use crate::pca::{normalize, scatter};
use crate::synthetic::normal;

/// `out (n x l) = (X - 1 mu^T) q` for `q`: `d x l`.
fn centred_times(x: MatRef<'_>, mean: &[f32], q: &[f32], l: usize, out: &mut [f32]) {
    let (n, d) = (x.rows(), x.cols());
    matmul(
        n,
        l,
        d,
        Strided::rows(x.as_slice(), d),
        Strided::rows(q, l),
        out,
        false,
        true,
    );
    let mut shift = vec![0.0f64; l];
    for (t, &m) in mean.iter().enumerate() {
        for (s, &v) in shift.iter_mut().zip(&q[t * l..(t + 1) * l]) {
            *s += m as f64 * v as f64;
        }
    }
    let shift: Vec<f32> = shift.iter().map(|&s| s as f32).collect();
    out.par_chunks_mut(l * 1024).for_each(|chunk| {
        for row in chunk.chunks_exact_mut(l) {
            for (v, s) in row.iter_mut().zip(&shift) {
                *v -= s;
            }
        }
    });
}

/// `(X - 1 mu^T)^T y` (`d x l`, in `f64`) for `y`: `n x l`. Row blocks run in parallel, each a
/// single-threaded GEMM, and are summed in block order.
fn centred_t_times(x: MatRef<'_>, mean: &[f32], y: &[f32], l: usize) -> Vec<f64> {
    let (n, d) = (x.rows(), x.cols());
    const ROWS: usize = 8192;
    let parts: Vec<(Vec<f32>, Vec<f64>)> = (0..n.div_ceil(ROWS))
        .into_par_iter()
        .map(|b| {
            let (r0, r1) = (b * ROWS, ((b + 1) * ROWS).min(n));
            let xs = &x.as_slice()[r0 * d..r1 * d];
            let ys = &y[r0 * l..r1 * l];
            let mut out = vec![0.0f32; d * l];
            matmul(
                d,
                l,
                r1 - r0,
                Strided::transposed(xs, d),
                Strided::rows(ys, l),
                &mut out,
                false,
                false,
            );
            let mut colsum = vec![0.0f64; l];
            for row in ys.chunks_exact(l) {
                for (s, &v) in colsum.iter_mut().zip(row) {
                    *s += v as f64;
                }
            }
            (out, colsum)
        })
        .collect();
    let mut acc = vec![0.0f64; d * l];
    let mut colsum = vec![0.0f64; l];
    for (p, c) in parts {
        for (a, v) in acc.iter_mut().zip(p) {
            *a += v as f64;
        }
        for (a, v) in colsum.iter_mut().zip(c) {
            *a += v;
        }
    }
    for (t, &m) in mean.iter().enumerate() {
        for (o, &s) in acc[t * l..(t + 1) * l].iter_mut().zip(&colsum) {
            *o -= m as f64 * s;
        }
    }
    acc
}

/// Orthonormalises the columns of the `rows x l` row-major `q` in place (modified Gram-Schmidt,
/// twice, in `f64`); a column that is dependent on the previous ones is replaced by a random
/// direction.
fn orthonormalize(q: &mut [f64], rows: usize, l: usize, rng: &mut ChaCha8Rng) {
    let mut cols: Vec<Vec<f64>> = (0..l)
        .map(|j| (0..rows).map(|i| q[i * l + j]).collect())
        .collect();
    for j in 0..l {
        for attempt in 0..3 {
            let orig = cols[j].iter().map(|v| v * v).sum::<f64>().sqrt();
            let (head, tail) = cols.split_at_mut(j);
            let col = &mut tail[0];
            for _ in 0..2 {
                for p in head.iter() {
                    let dot: f64 = p.iter().zip(col.iter()).map(|(a, b)| a * b).sum();
                    for (c, &v) in col.iter_mut().zip(p) {
                        *c -= dot * v;
                    }
                }
            }
            let norm = col.iter().map(|v| v * v).sum::<f64>().sqrt();
            if norm > 1e-10 * orig && norm > 0.0 {
                col.iter_mut().for_each(|v| *v /= norm);
                break;
            }
            if attempt == 2 {
                col.iter_mut().for_each(|v| *v = 0.0);
            } else {
                *col = (0..rows).map(|_| normal(rng)).collect();
            }
        }
    }
    for (j, c) in cols.iter().enumerate() {
        for (i, &v) in c.iter().enumerate() {
            q[i * l + j] = v;
        }
    }
}

/// Randomized range finder on the right singular space by subspace iteration on
/// `M^T M` (`n_iter + 1` products with `M` and with `M^T`, the same count as scikit-learn's
/// `randomized_svd`), then Rayleigh-Ritz on the final basis. The basis is re-orthonormalised
/// after every `M^T M` product on the small `d x l` side, in `f64`.
pub(crate) fn randomized(
    x: MatRef<'_>,
    mean: &[f32],
    k: usize,
    oversamples: usize,
    n_iter: usize,
    seed: u64,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let (n, d) = (x.rows(), x.cols());
    let l = (k + oversamples).min(n.min(d));
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut q: Vec<f64> = (0..d * l).map(|_| normal(&mut rng)).collect();
    orthonormalize(&mut q, d, l, &mut rng);
    // Forming M^T M costs about n d^2 / 2; the passes it replaces 2 (n_iter + 1) n d l.
    let gram = (n >= d && d < 4 * (n_iter + 1) * l).then(|| {
        let mut s = scatter(x, mean);
        for i in 0..d {
            for j in 0..i {
                s[j * d + i] = s[i * d + j];
            }
        }
        s
    });
    let mut y = vec![0.0f32; if gram.is_some() { 0 } else { n * l }];
    let mut z;
    let mut it = 0;
    loop {
        z = match &gram {
            Some(s) => {
                let mut out = vec![0.0f64; d * l];
                matmul_f64(d, l, d, s, &q, &mut out);
                out
            }
            None => {
                let q32: Vec<f32> = q.iter().map(|&v| v as f32).collect();
                centred_times(x, mean, &q32, l, &mut y);
                centred_t_times(x, mean, &y, l)
            }
        };
        if it == n_iter {
            break;
        }
        q.copy_from_slice(&z);
        orthonormalize(&mut q, d, l, &mut rng);
        it += 1;
    }
    // Rayleigh-Ritz: H = Q^T (M^T M Q), l x l.
    let mut h = vec![0.0f64; l * l];
    for (qr, zr) in q.chunks_exact(l).zip(z.chunks_exact(l)) {
        for a in 0..l {
            for b in 0..l {
                h[a * l + b] += qr[a] * zr[b];
            }
        }
    }
    for a in 0..l {
        for b in 0..a {
            let m = 0.5 * (h[a * l + b] + h[b * l + a]);
            h[a * l + b] = m;
            h[b * l + a] = m;
        }
    }
    let eig = sym_eigen(h, l)?;
    // v_j = Q w_j.
    let mut comps = vec![0.0f64; k * d];
    let mut sing = Vec::with_capacity(k);
    for j in 0..k {
        sing.push(eig.values[j].max(0.0).sqrt());
        let wj = eig.vector(j);
        let c = &mut comps[j * d..(j + 1) * d];
        for (cv, qr) in c.iter_mut().zip(q.chunks_exact(l)) {
            *cv = qr.iter().zip(wj).map(|(a, b)| a * b).sum();
        }
        normalize(c);
    }
    Ok((comps, sing))
}
