//! 2-D convolution (square kernel, stride 1, no padding, optional ReLU) on channels-last
//! (H x W x C) samples, as im2col + GEMM. The batch is split into one part per thread; each part
//! lowers a few samples at a time into a cache-sized patch matrix and multiplies it by the kernel
//! (`[kh, kw, in, out]`, Keras layout, which is already the `[K, out]` matrix the product needs).

use rayon::prelude::*;

use super::dense::{add_assign, add_column_sums, relu_in_place, relu_mask};
use super::gemm::{matmul, n, t, Parallelism};
use super::simd::multiversion;

/// Shapes of one convolution.
#[derive(Debug, Clone, Copy)]
pub struct ConvDims {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    pub filters: usize,
    pub kernel: usize,
    pub relu: bool,
}

impl ConvDims {
    pub fn out_height(&self) -> usize {
        self.height + 1 - self.kernel
    }
    pub fn out_width(&self) -> usize {
        self.width + 1 - self.kernel
    }
    /// Output pixels per sample.
    pub fn pixels(&self) -> usize {
        self.out_height() * self.out_width()
    }
    /// Length of one patch row (`kh * kw * C`).
    pub fn patch(&self) -> usize {
        self.kernel * self.kernel * self.channels
    }
    pub fn in_len(&self) -> usize {
        self.height * self.width * self.channels
    }
    pub fn out_len(&self) -> usize {
        self.pixels() * self.filters
    }
}

/// Scratch space of one thread for one convolution layer.
#[derive(Debug, Clone)]
pub struct ConvScratch {
    /// Samples lowered per GEMM.
    samples: usize,
    cols: Vec<f32>,
    dcols: Vec<f32>,
    dw: Vec<f32>,
    db: Vec<f32>,
}

/// Patch-matrix size (in floats) aimed at per GEMM: about 1 MiB, to stay in the L2 cache.
const COLS_TARGET: usize = 1 << 18;

impl ConvScratch {
    pub fn new(d: &ConvDims, backward: bool) -> Self {
        let row = d.pixels() * d.patch();
        let samples = (COLS_TARGET / row.max(1)).max(1);
        let cols = samples * row;
        ConvScratch {
            samples,
            cols: vec![0.0; cols],
            dcols: if backward {
                vec![0.0; cols]
            } else {
                Vec::new()
            },
            dw: if backward {
                vec![0.0; d.patch() * d.filters]
            } else {
                Vec::new()
            },
            db: if backward {
                vec![0.0; d.filters]
            } else {
                Vec::new()
            },
        }
    }
}

/// Lowers `samples` consecutive samples of `x` into patch rows (`[pixels, kh*kw*C]` each).
fn im2col(d: &ConvDims, x: &[f32], samples: usize, cols: &mut [f32]) {
    let (oh, ow, k, c, w) = (d.out_height(), d.out_width(), d.kernel, d.channels, d.width);
    let (patch, span) = (d.patch(), k * c);
    for s in 0..samples {
        let xs = &x[s * d.in_len()..(s + 1) * d.in_len()];
        let cs = &mut cols[s * d.pixels() * patch..(s + 1) * d.pixels() * patch];
        for oy in 0..oh {
            for ox in 0..ow {
                let row = &mut cs[(oy * ow + ox) * patch..(oy * ow + ox + 1) * patch];
                for ky in 0..k {
                    let src = ((oy + ky) * w + ox) * c;
                    let (dst, from) = (&mut row[ky * span..(ky + 1) * span], &xs[src..src + span]);
                    if span <= 16 {
                        // A few values (single-channel inputs): cheaper than a memcpy call.
                        for (a, &b) in dst.iter_mut().zip(from) {
                            *a = b;
                        }
                    } else {
                        dst.copy_from_slice(from);
                    }
                }
            }
        }
    }
}

multiversion! {
    /// Adds patch-row gradients back onto the input gradient (`dx` must be zeroed first).
    fn col2im(d: ConvDims, dcols: &[f32], samples: usize, dx: &mut [f32]) {
        let (oh, ow, k, c, w) = (d.out_height(), d.out_width(), d.kernel, d.channels, d.width);
        let (patch, span) = (d.patch(), k * c);
        for s in 0..samples {
            let xs = &mut dx[s * d.in_len()..(s + 1) * d.in_len()];
            let cs = &dcols[s * d.pixels() * patch..(s + 1) * d.pixels() * patch];
            for oy in 0..oh {
                for ox in 0..ow {
                    let row = &cs[(oy * ow + ox) * patch..(oy * ow + ox + 1) * patch];
                    for ky in 0..k {
                        let dst = ((oy + ky) * w + ox) * c;
                        for (a, &g) in xs[dst..dst + span]
                            .iter_mut()
                            .zip(&row[ky * span..(ky + 1) * span])
                        {
                            *a += g;
                        }
                    }
                }
            }
        }
    }
}

/// Samples per thread part for a batch.
fn part_size(batch: usize, parts: usize) -> usize {
    batch.div_ceil(parts.max(1)).max(1)
}

/// `y = relu?(conv(x, w) + bias)` for `batch` samples, one part per scratch (thread).
#[allow(clippy::too_many_arguments)]
pub fn forward(
    d: &ConvDims,
    batch: usize,
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    y: &mut [f32],
    scratch: &mut [ConvScratch],
) {
    let per = part_size(batch, scratch.len());
    let (il, ol) = (d.in_len(), d.out_len());
    x[..batch * il]
        .par_chunks(per * il)
        .zip(y[..batch * ol].par_chunks_mut(per * ol))
        .zip(scratch.par_iter_mut())
        .for_each(|((xp, yp), ws)| {
            let count = xp.len() / il;
            let mut s0 = 0;
            while s0 < count {
                let s = ws.samples.min(count - s0);
                let m = s * d.pixels();
                im2col(d, &xp[s0 * il..], s, &mut ws.cols);
                let yc = &mut yp[s0 * ol..(s0 + s) * ol];
                for row in yc.chunks_exact_mut(d.filters) {
                    row.copy_from_slice(bias);
                }
                matmul(
                    yc,
                    m,
                    d.filters,
                    d.patch(),
                    n(&ws.cols),
                    n(w),
                    true,
                    Parallelism::None,
                );
                if d.relu {
                    relu_in_place(yc);
                }
                s0 += s;
            }
        });
}

/// Backward pass: masks `dy` by the ReLU derivative, writes `dw`, `db` and (when asked) `dx`.
/// Per-thread weight gradients are summed in part order, so results do not depend on timing.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    d: &ConvDims,
    batch: usize,
    x: &[f32],
    w: &[f32],
    y: &[f32],
    dy: &mut [f32],
    dw: &mut [f32],
    db: &mut [f32],
    dx: Option<&mut [f32]>,
    scratch: &mut [ConvScratch],
) {
    let per = part_size(batch, scratch.len());
    let (il, ol) = (d.in_len(), d.out_len());
    let part = |xp: &[f32],
                yp: &[f32],
                dyp: &mut [f32],
                mut dxp: Option<&mut [f32]>,
                ws: &mut ConvScratch| {
        if d.relu {
            relu_mask(dyp, yp);
        }
        ws.dw.fill(0.0);
        ws.db.fill(0.0);
        let count = xp.len() / il;
        let mut s0 = 0;
        while s0 < count {
            let s = ws.samples.min(count - s0);
            let m = s * d.pixels();
            let dyc = &dyp[s0 * ol..(s0 + s) * ol];
            im2col(d, &xp[s0 * il..], s, &mut ws.cols);
            matmul(
                &mut ws.dw,
                d.patch(),
                d.filters,
                m,
                t(&ws.cols[..m * d.patch()]),
                n(dyc),
                true,
                Parallelism::None,
            );
            add_column_sums(dyc, d.filters, &mut ws.db);
            if let Some(dx) = dxp.as_deref_mut() {
                matmul(
                    &mut ws.dcols,
                    m,
                    d.patch(),
                    d.filters,
                    n(dyc),
                    t(w),
                    false,
                    Parallelism::None,
                );
                let dxc = &mut dx[s0 * il..(s0 + s) * il];
                dxc.fill(0.0);
                col2im(*d, &ws.dcols, s, dxc);
            }
            s0 += s;
        }
    };
    let xs = x[..batch * il].par_chunks(per * il);
    let ys = y[..batch * ol].par_chunks(per * ol);
    let dys = dy[..batch * ol].par_chunks_mut(per * ol);
    match dx {
        Some(dx) => xs
            .zip(ys)
            .zip(dys)
            .zip(dx[..batch * il].par_chunks_mut(per * il))
            .zip(scratch.par_iter_mut())
            .for_each(|((((xp, yp), dyp), dxp), ws)| part(xp, yp, dyp, Some(dxp), ws)),
        None => xs
            .zip(ys)
            .zip(dys)
            .zip(scratch.par_iter_mut())
            .for_each(|(((xp, yp), dyp), ws)| part(xp, yp, dyp, None, ws)),
    }
    let used = batch.div_ceil(per);
    dw.copy_from_slice(&scratch[0].dw);
    db.copy_from_slice(&scratch[0].db);
    for ws in &scratch[1..used] {
        add_assign(dw, &ws.dw);
        add_assign(db, &ws.db);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct convolution, the definition.
    fn naive(d: &ConvDims, x: &[f32], w: &[f32], b: &[f32]) -> Vec<f32> {
        let (oh, ow) = (d.out_height(), d.out_width());
        let mut y = vec![0.0; oh * ow * d.filters];
        for oy in 0..oh {
            for ox in 0..ow {
                for f in 0..d.filters {
                    let mut s = b[f];
                    for ky in 0..d.kernel {
                        for kx in 0..d.kernel {
                            for c in 0..d.channels {
                                let xi = ((oy + ky) * d.width + ox + kx) * d.channels + c;
                                let wi = ((ky * d.kernel + kx) * d.channels + c) * d.filters + f;
                                s += x[xi] * w[wi];
                            }
                        }
                    }
                    y[(oy * ow + ox) * d.filters + f] = s;
                }
            }
        }
        y
    }

    #[test]
    fn im2col_gemm_matches_direct_convolution() {
        let d = ConvDims {
            height: 7,
            width: 6,
            channels: 3,
            filters: 4,
            kernel: 3,
            relu: false,
        };
        let batch = 3;
        let x: Vec<f32> = (0..batch * d.in_len())
            .map(|i| (i as f32 * 0.3).sin())
            .collect();
        let w: Vec<f32> = (0..d.patch() * d.filters)
            .map(|i| (i as f32 * 0.7).cos())
            .collect();
        let b = [0.1, -0.2, 0.3, 0.0];
        let mut y = vec![0.0; batch * d.out_len()];
        let mut scratch = vec![ConvScratch::new(&d, true), ConvScratch::new(&d, true)];
        forward(&d, batch, &x, &w, &b, &mut y, &mut scratch);
        for s in 0..batch {
            let want = naive(&d, &x[s * d.in_len()..], &w, &b);
            for (a, e) in y[s * d.out_len()..(s + 1) * d.out_len()].iter().zip(&want) {
                assert!((a - e).abs() < 1e-4, "{a} vs {e}");
            }
        }
        // Gradient of sum(y * r) against finite differences of the naive convolution.
        let r: Vec<f32> = (0..y.len()).map(|i| (i as f32 * 0.13).sin()).collect();
        let mut dy = r.clone();
        let (mut dw, mut db) = (vec![0.0; w.len()], vec![0.0; 4]);
        let mut dx = vec![0.0; x.len()];
        backward(
            &d,
            batch,
            &x,
            &w,
            &y,
            &mut dy,
            &mut dw,
            &mut db,
            Some(&mut dx),
            &mut scratch,
        );
        let objective = |x: &[f32], w: &[f32]| -> f64 {
            (0..batch)
                .map(|s| {
                    naive(&d, &x[s * d.in_len()..], w, &b)
                        .iter()
                        .zip(&r[s * d.out_len()..])
                        .map(|(a, b)| (*a as f64) * (*b as f64))
                        .sum::<f64>()
                })
                .sum()
        };
        let eps = 1e-2;
        for &i in &[0usize, 5, 17, 50, 107] {
            let mut wp = w.clone();
            wp[i] += eps;
            let mut wm = w.clone();
            wm[i] -= eps;
            let num = (objective(&x, &wp) - objective(&x, &wm)) / (2.0 * eps as f64);
            assert!(
                (num - dw[i] as f64).abs() < 1e-2,
                "dw[{i}] {num} vs {}",
                dw[i]
            );
        }
        for &i in &[0usize, 13, 40, 77, 125] {
            let mut xp = x.clone();
            xp[i] += eps;
            let mut xm = x.clone();
            xm[i] -= eps;
            let num = (objective(&xp, &w) - objective(&xm, &w)) / (2.0 * eps as f64);
            assert!(
                (num - dx[i] as f64).abs() < 1e-2,
                "dx[{i}] {num} vs {}",
                dx[i]
            );
        }
        let want_db: Vec<f32> = (0..4).map(|f| r.iter().skip(f).step_by(4).sum()).collect();
        for (a, e) in db.iter().zip(&want_db) {
            assert!((a - e).abs() < 1e-3);
        }
    }
}
