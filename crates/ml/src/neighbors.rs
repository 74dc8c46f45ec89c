//! Brute-force neighbour search that never holds an `n x n` matrix: the rows are taken in
//! blocks, each block's squared distances to all rows come from one GEMM
//! (`|x|^2 + |y|^2 - 2 x.y` on mean-centred data, to limit cancellation), and a callback
//! consumes the block before the next is computed. In 50 PCA dimensions a tree index would
//! visit most of the data anyway; the GEMM keeps the scan at machine speed.

use rayon::prelude::*;

use crate::kernels;
use crate::linalg::{matmul, Strided};
use crate::matrix::{MatRef, Matrix};

/// About this many distances per block (16 MB of `f32`).
const BLOCK_VALUES: usize = 1 << 22;

/// Mean-centred copy of `x` and its squared row norms.
pub(crate) struct Prepared {
    pub x: Matrix,
    pub norms: Vec<f32>,
}

pub(crate) fn prepare(x: MatRef<'_>) -> Prepared {
    let (mean, _) = x.column_mean_var();
    let mean: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
    let d = x.cols();
    let mut data = x.as_slice().to_vec();
    data.par_chunks_mut(d.max(1)).for_each(|row| {
        for (v, m) in row.iter_mut().zip(&mean) {
            *v -= m;
        }
    });
    let norms = data.par_chunks(d.max(1)).map(kernels::norm_sq).collect();
    Prepared {
        x: Matrix {
            data,
            rows: x.rows(),
            cols: d,
        },
        norms,
    }
}

/// Calls `f(start, rows, dist)` for consecutive row blocks, in parallel, where `dist` is
/// `rows x n` squared distances from rows `start..start + rows` to every row (the diagonal is
/// exactly 0). Returns the results in block order.
pub(crate) fn map_blocks<T, F>(p: &Prepared, f: F) -> Vec<T>
where
    T: Send,
    F: Fn(usize, usize, &[f32]) -> T + Sync,
{
    let (n, d) = (p.x.rows, p.x.cols);
    if n == 0 {
        return Vec::new();
    }
    let block = (BLOCK_VALUES / n).clamp(8, 256);
    let data = &p.x.data;
    (0..n.div_ceil(block))
        .into_par_iter()
        .map(|b| {
            let start = b * block;
            let rows = block.min(n - start);
            let mut dist = vec![0.0f32; rows * n];
            matmul(
                rows,
                n,
                d,
                Strided::rows(&data[start * d..(start + rows) * d], d),
                Strided::transposed(data, d),
                &mut dist,
                false,
                false,
            );
            for (r, row) in dist.chunks_exact_mut(n).enumerate() {
                let ni = p.norms[start + r];
                for (v, &nj) in row.iter_mut().zip(&p.norms) {
                    *v = (ni + nj - 2.0 * *v).max(0.0);
                }
                row[start + r] = 0.0;
            }
            f(start, rows, &dist)
        })
        .collect()
}

/// Squared distance from each row to its `k`-th nearest row, counting the row itself as the
/// first (so `k = 1` gives 0), as scikit-learn's `kneighbors` on the training data.
pub(crate) fn kth_neighbor_sq(p: &Prepared, k: usize) -> Vec<f32> {
    let n = p.x.rows;
    let k = k.clamp(1, n.max(1));
    map_blocks(p, |_, rows, dist| {
        let mut out = Vec::with_capacity(rows);
        let mut scratch = vec![0.0f32; n];
        for row in dist.chunks_exact(n) {
            scratch.copy_from_slice(row);
            let (_, kth, _) = scratch.select_nth_unstable_by(k - 1, f32::total_cmp);
            out.push(*kth);
        }
        out
    })
    .into_iter()
    .flatten()
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_hold_exact_distances() {
        let n = 300;
        let d = 7;
        let v: Vec<f32> = (0..n * d)
            .map(|i| ((i * 37) % 101) as f32 * 0.1 + 100.0)
            .collect();
        let x = MatRef::new(&v, n, d).unwrap();
        let p = prepare(x);
        let max_err = map_blocks(&p, |start, rows, dist| {
            let mut e = 0.0f32;
            for r in 0..rows {
                for j in 0..n {
                    let want = kernels::sq_dist(x.row(start + r), x.row(j));
                    e = e.max((dist[r * n + j] - want).abs() / want.max(1.0));
                }
                assert_eq!(dist[r * n + start + r], 0.0);
            }
            e
        });
        assert!(max_err.iter().cloned().fold(0.0, f32::max) < 1e-4);
        // 1-D points 0, 1, 2, ...: the 3rd nearest (self included) is at distance 1 (squared 1)
        // for interior points and 2 (squared 4) at the ends.
        let line: Vec<f32> = (0..10).map(|i| i as f32).collect();
        let k3 = kth_neighbor_sq(&prepare(MatRef::new(&line, 10, 1).unwrap()), 3);
        assert_eq!(k3[0], 4.0);
        assert_eq!(k3[5], 1.0);
        assert_eq!(k3[9], 4.0);
    }
}
