//! Fully connected layer (`y = x·W + b`, optional ReLU) forward and backward on row-major
//! batches, with the weight in Keras layout `[inputs, outputs]`.

use super::gemm::{matmul, n, t, Parallelism};
use super::simd::multiversion;

/// Shapes of one dense layer.
#[derive(Debug, Clone, Copy)]
pub struct DenseDims {
    pub inputs: usize,
    pub outputs: usize,
    pub relu: bool,
}

/// `y[b, o] = relu?(x[b, i] · w[i, o] + bias[o])`.
pub fn forward(
    d: DenseDims,
    batch: usize,
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    y: &mut [f32],
    par: Parallelism,
) {
    let (i, o) = (d.inputs, d.outputs);
    let y = &mut y[..batch * o];
    for row in y.chunks_exact_mut(o) {
        row.copy_from_slice(bias);
    }
    matmul(y, batch, o, i, n(&x[..batch * i]), n(w), true, par);
    if d.relu {
        relu_in_place(y);
    }
}

/// Backward pass. `dy` is the gradient at the layer output (after ReLU); it is masked in place
/// by the ReLU derivative. Writes `dw = xᵀ·dy`, `db = Σ_rows dy` and, when asked, `dx = dy·Wᵀ`.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    d: DenseDims,
    batch: usize,
    x: &[f32],
    w: &[f32],
    y: &[f32],
    dy: &mut [f32],
    dw: &mut [f32],
    db: &mut [f32],
    dx: Option<&mut [f32]>,
    par: Parallelism,
) {
    let (i, o) = (d.inputs, d.outputs);
    let dy = &mut dy[..batch * o];
    if d.relu {
        relu_mask(dy, &y[..batch * o]);
    }
    matmul(dw, i, o, batch, t(&x[..batch * i]), n(dy), false, par);
    column_sums(dy, o, db);
    if let Some(dx) = dx {
        matmul(&mut dx[..batch * i], batch, i, o, n(dy), t(w), false, par);
    }
}

multiversion! {
    /// `x = max(x, 0)`.
    pub fn relu_in_place(x: &mut [f32]) {
        for v in x {
            *v = v.max(0.0);
        }
    }
}

multiversion! {
    /// `dy = dy * (y > 0)`: the ReLU derivative, read from the layer's output.
    pub fn relu_mask(dy: &mut [f32], y: &[f32]) {
        for (g, &v) in dy.iter_mut().zip(y) {
            *g = if v > 0.0 { *g } else { 0.0 };
        }
    }
}

multiversion! {
    /// `acc[j] += row[j]`.
    pub fn add_assign(acc: &mut [f32], row: &[f32]) {
        for (a, &v) in acc.iter_mut().zip(row) {
            *a += v;
        }
    }
}

multiversion! {
    /// `out[j] += Σ_r m[r, j]` for a row-major matrix with `cols` columns.
    pub fn add_column_sums(m: &[f32], cols: usize, out: &mut [f32]) {
        let out = &mut out[..cols];
        for row in m.chunks_exact(cols) {
            for (a, &v) in out.iter_mut().zip(row) {
                *a += v;
            }
        }
    }
}

/// `out[j] = Σ_r m[r, j]` for a row-major matrix with `cols` columns.
pub fn column_sums(m: &[f32], cols: usize, out: &mut [f32]) {
    out[..cols].fill(0.0);
    add_column_sums(m, cols, out);
}
