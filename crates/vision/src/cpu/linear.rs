//! Fully connected layers. Small batches (the usual case at inference) read the weight matrix
//! once, row by row, and take the dot products of each row with every input (the layer is
//! bound by memory bandwidth, and packing a 400 MB matrix for gemm would double the traffic);
//! larger batches go through gemm.

use rayon::prelude::*;

use super::conv::matmul_strided;
use super::simd::{has_avx2_fma, madd};
use super::{threads, Activation};
use crate::error::{Result, VisionError};

/// Batches up to this size use the row-by-row path.
const GEMV_MAX_ROWS: usize = 8;

/// `y = act(x W^T + b)` with PyTorch's `[out, in]` weight layout.
#[derive(Debug, Clone)]
pub struct Linear {
    pub din: usize,
    pub dout: usize,
    pub act: Activation,
    w: Vec<f32>,
    b: Vec<f32>,
}

impl Linear {
    /// From a PyTorch weight `[dout, din]` (taken as is) and bias `[dout]`.
    pub fn new(
        w: Vec<f32>,
        b: Vec<f32>,
        din: usize,
        dout: usize,
        act: Activation,
    ) -> Result<Linear> {
        if w.len() != din * dout || b.len() != dout {
            return Err(VisionError::Invalid(format!(
                "linear layer {din} -> {dout}: weight has {} values, bias {}",
                w.len(),
                b.len()
            )));
        }
        Ok(Linear {
            din,
            dout,
            act,
            w,
            b,
        })
    }

    /// `x` holds `m` rows of `din` values; returns `m` rows of `dout`.
    pub fn forward(&self, x: &[f32], m: usize) -> Vec<f32> {
        let (din, dout) = (self.din, self.dout);
        let mut y = vec![0f32; m * dout];
        if m == 0 {
            return y;
        }
        if m <= GEMV_MAX_ROWS {
            // Columns of y (output features) in parallel chunks; y is filled transposed.
            let chunk = dout.div_ceil(threads() * 8).max(16);
            let mut yt = vec![0f32; dout * m];
            let fma = has_avx2_fma();
            yt.par_chunks_mut(chunk * m)
                .enumerate()
                .for_each(|(t, dst)| {
                    let j0 = t * chunk;
                    for (jj, out) in dst.chunks_exact_mut(m).enumerate() {
                        let wrow = &self.w[(j0 + jj) * din..(j0 + jj + 1) * din];
                        for (r, o) in out.iter_mut().enumerate() {
                            *o = dot(wrow, &x[r * din..(r + 1) * din], fma);
                        }
                    }
                });
            for j in 0..dout {
                for r in 0..m {
                    y[r * dout + j] = yt[j * m + r];
                }
            }
        } else {
            matmul_strided(
                &mut y,
                x,
                &self.w,
                m,
                din,
                dout,
                (1, din as isize),
                gemm::Parallelism::Rayon(threads()),
            );
        }
        y.par_chunks_mut(dout).for_each(|row| {
            for (v, &b) in row.iter_mut().zip(&self.b) {
                *v = self.act.apply(*v + b);
            }
        });
        y
    }
}

fn dot(a: &[f32], b: &[f32], fma: bool) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if fma {
        // SAFETY: the caller checked has_avx2_fma().
        return unsafe { dot_avx2(a, b) };
    }
    let _ = fma;
    dot_impl::<false>(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    dot_impl::<true>(a, b)
}

/// Dot product with 32 independent partial sums (four 8-lane vectors), so the loop vectorises
/// and is not limited by the latency of one accumulator.
#[inline(always)]
fn dot_impl<const FMA: bool>(a: &[f32], b: &[f32]) -> f32 {
    const L: usize = 32;
    let mut acc = [0f32; L];
    let ca = a.chunks_exact(L);
    let cb = b.chunks_exact(L);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (xa, xb) in ca.zip(cb) {
        for l in 0..L {
            acc[l] = madd::<FMA>(xa[l], xb[l], acc[l]);
        }
    }
    let mut tail = 0f32;
    for (x, y) in ra.iter().zip(rb) {
        tail = madd::<FMA>(*x, *y, tail);
    }
    // Pairwise reduction of the partial sums.
    let mut width = L / 2;
    while width > 0 {
        for l in 0..width {
            acc[l] += acc[l + width];
        }
        width /= 2;
    }
    acc[0] + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_paths_compute_x_wt_plus_b() {
        let (din, dout) = (70, 13);
        let w: Vec<f32> = (0..din * dout)
            .map(|i| ((i * 7 % 23) as f32 - 11.0) / 10.0)
            .collect();
        let b: Vec<f32> = (0..dout).map(|i| i as f32 * 0.5 - 3.0).collect();
        let lin = Linear::new(w.clone(), b.clone(), din, dout, Activation::Relu).unwrap();
        for m in [1, 3, 8, 9, 20] {
            let x: Vec<f32> = (0..m * din)
                .map(|i| ((i * 5 % 17) as f32 - 8.0) / 7.0)
                .collect();
            let y = lin.forward(&x, m);
            for r in 0..m {
                for j in 0..dout {
                    let mut s = f64::from(b[j]);
                    for k in 0..din {
                        s += f64::from(x[r * din + k]) * f64::from(w[j * din + k]);
                    }
                    let want = s.max(0.0) as f32;
                    let got = y[r * dout + j];
                    assert!(
                        (got - want).abs() < 1e-4,
                        "m={m} r={r} j={j}: {got} vs {want}"
                    );
                }
            }
        }
        assert!(Linear::new(vec![0.0; 3], vec![0.0; 1], 2, 2, Activation::None).is_err());
    }
}
