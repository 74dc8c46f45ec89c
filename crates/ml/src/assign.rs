//! Nearest-centre search for every row of a matrix: one pass over X in fixed row blocks
//! (rayon over blocks), fused with the arg-min so no `n x k` distance matrix is ever stored.
//!
//! Small `k` uses the direct-difference kernel (memory-bound, exact); large `k` uses a GEMM per
//! block (`|x|^2 - 2 x.c + |c|^2`), which is compute-bound and several times faster there.
//! Blocks are fixed-size and results are combined in block order, so the output does not
//! depend on the number of threads.

use rayon::prelude::*;

use crate::kernels;
use crate::linalg::{matmul, Strided};
use crate::matrix::MatRef;

/// Rows per block: 256 rows of 784 floats is 800 KB, in L2 while the centres stream by.
pub(crate) const BLOCK: usize = 256;
/// From this many centres on, a block's distances come from one GEMM.
pub(crate) const GEMM_FROM_K: usize = 32;

/// For each row: index of the nearest centre, squared distance to it and to the second nearest
/// (`inf` when `k == 1`).
#[derive(Debug, Clone, Default)]
pub struct Nearest {
    pub labels: Vec<u32>,
    pub best: Vec<f32>,
    pub second: Vec<f32>,
}

/// Nearest and second-nearest of `k` centres (`centers`: `k x d` row-major) for every row of `x`.
pub fn nearest_two(x: MatRef<'_>, centers: &[f32], k: usize) -> Nearest {
    let n = x.rows();
    let d = x.cols();
    let mut out = Nearest {
        labels: vec![0; n],
        best: vec![0.0; n],
        second: vec![0.0; n],
    };
    if n == 0 || k == 0 {
        return out;
    }
    let c_norms: Vec<f32> = centers
        .chunks_exact(d.max(1))
        .map(kernels::norm_sq)
        .collect();
    out.labels
        .par_chunks_mut(BLOCK)
        .zip(out.best.par_chunks_mut(BLOCK))
        .zip(out.second.par_chunks_mut(BLOCK))
        .enumerate()
        .for_each(|(b, ((lab, best), second))| {
            let start = b * BLOCK;
            let rows = lab.len();
            let xs = &x.as_slice()[start * d..(start + rows) * d];
            let mut dist = vec![0.0f32; rows * k];
            block_sq_dists(xs, rows, d, centers, &c_norms, k, &mut dist);
            for r in 0..rows {
                let (j, d1, d2) = kernels::two_smallest(&dist[r * k..(r + 1) * k]);
                lab[r] = j as u32;
                best[r] = d1;
                second[r] = d2;
            }
        });
    out
}

/// Squared distances of `rows` rows (`xs`) to `k` centres into `dist` (`rows x k`).
pub(crate) fn block_sq_dists(
    xs: &[f32],
    rows: usize,
    d: usize,
    centers: &[f32],
    c_norms: &[f32],
    k: usize,
    dist: &mut [f32],
) {
    if k < GEMM_FROM_K || d == 0 {
        for r in 0..rows {
            kernels::sq_dists(
                &xs[r * d..(r + 1) * d],
                centers,
                &mut dist[r * k..(r + 1) * k],
            );
        }
        return;
    }
    matmul(
        rows,
        k,
        d,
        Strided::rows(xs, d),
        Strided::transposed(centers, d),
        dist,
        false,
        false,
    );
    for r in 0..rows {
        let xn = kernels::norm_sq(&xs[r * d..(r + 1) * d]);
        for (v, cn) in dist[r * k..(r + 1) * k].iter_mut().zip(c_norms) {
            *v = (xn - 2.0 * *v + cn).max(0.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_and_gemm_paths_agree() {
        let (n, d) = (600, 20);
        let x: Vec<f32> = (0..n * d)
            .map(|i| ((i * 7919) % 1000) as f32 / 100.0)
            .collect();
        let xm = MatRef::new(&x, n, d).unwrap();
        for k in [3usize, 40] {
            let centers: Vec<f32> = x[..k * d].iter().map(|v| v + 0.01).collect();
            let near = nearest_two(xm, &centers, k);
            for i in (0..n).step_by(37) {
                let mut all = vec![0.0; k];
                kernels::sq_dists(xm.row(i), &centers, &mut all);
                let (j, d1, d2) = kernels::two_smallest(&all);
                assert!(
                    (near.best[i] - d1).abs() <= 1e-3 * d1.max(1.0),
                    "k={k} i={i}"
                );
                assert!((near.second[i] - d2).abs() <= 1e-3 * d2.max(1.0));
                if d2 - d1 > 1e-2 {
                    assert_eq!(near.labels[i] as usize, j);
                }
            }
        }
    }
}
