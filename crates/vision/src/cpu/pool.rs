//! Pooling on NHWC activations, with PyTorch's output sizes.

use rayon::prelude::*;

use super::{buffer, Act};

/// Max pooling, square window `k`, stride `s`, no padding, floor mode (PyTorch's default).
pub fn max_pool(x: &Act, k: usize, s: usize) -> Act {
    let ho = if x.h >= k { (x.h - k) / s + 1 } else { 0 };
    let wo = if x.w >= k { (x.w - k) / s + 1 } else { 0 };
    let c = x.c;
    let mut out = vec![f32::NEG_INFINITY; x.n * ho * wo * c];
    if wo > 0 {
        out.par_chunks_mut(wo * c).enumerate().for_each(|(r, row)| {
            let (b, oy) = (r / ho, r % ho);
            for ky in 0..k {
                let iy = oy * s + ky;
                let line = &x.data[((b * x.h + iy) * x.w) * c..((b * x.h + iy + 1) * x.w) * c];
                for (ox, px) in row.chunks_exact_mut(c).enumerate() {
                    for kx in 0..k {
                        let src = &line[(ox * s + kx) * c..(ox * s + kx + 1) * c];
                        for (o, &v) in px.iter_mut().zip(src) {
                            // NaN propagates as in PyTorch.
                            if v > *o || v.is_nan() {
                                *o = v;
                            }
                        }
                    }
                }
            }
        });
    }
    Act::from_buffer(x.n, ho, wo, c, out.into())
}

/// PyTorch's `AdaptiveAvgPool2d((oh, ow))`: output cell i averages input rows
/// `floor(i * h / oh) .. ceil((i + 1) * h / oh)`.
pub fn adaptive_avg_pool(x: &Act, oh: usize, ow: usize) -> Act {
    if x.h == oh && x.w == ow {
        return x.clone();
    }
    let c = x.c;
    let mut out = buffer(x.n * oh * ow * c);
    out.par_chunks_mut(ow * c).enumerate().for_each(|(r, row)| {
        let (b, oy) = (r / oh, r % oh);
        let (y0, y1) = (oy * x.h / oh, ((oy + 1) * x.h).div_ceil(oh));
        for (ox, px) in row.chunks_exact_mut(c).enumerate() {
            let (x0, x1) = (ox * x.w / ow, ((ox + 1) * x.w).div_ceil(ow));
            px.fill(0.0);
            for iy in y0..y1 {
                for ix in x0..x1 {
                    let src = &x.data[((b * x.h + iy) * x.w + ix) * c..][..c];
                    for (o, &v) in px.iter_mut().zip(src) {
                        *o += v;
                    }
                }
            }
            let cnt = ((y1 - y0) * (x1 - x0)) as f32;
            for o in px.iter_mut() {
                *o /= cnt;
            }
        }
    });
    Act::from_buffer(x.n, oh, ow, c, out)
}

/// Mean over all pixels of each image: `n` rows of `c` values.
pub fn global_avg_pool(x: &Act) -> Vec<f32> {
    let c = x.c;
    let plane = x.h * x.w;
    let mut out = vec![0f32; x.n * c];
    out.par_chunks_mut(c.max(1))
        .enumerate()
        .for_each(|(b, dst)| {
            let mut acc = vec![0f64; c];
            for px in x.data[b * plane * c..(b + 1) * plane * c].chunks_exact(c) {
                for (a, &v) in acc.iter_mut().zip(px) {
                    *a += f64::from(v);
                }
            }
            for (d, a) in dst.iter_mut().zip(acc) {
                *d = (a / plane as f64) as f32;
            }
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(n: usize, h: usize, w: usize, c: usize) -> Act {
        Act {
            n,
            h,
            w,
            c,
            data: (0..n * h * w * c)
                .map(|i| i as f32)
                .collect::<Vec<f32>>()
                .into(),
        }
    }

    #[test]
    fn max_pool_floor_mode() {
        let x = ramp(1, 5, 5, 2);
        let y = max_pool(&x, 2, 2);
        assert_eq!((y.h, y.w), (2, 2));
        // Window rows 0-1, cols 0-1: max is pixel (1, 1) = index (1*5+1)*2.
        assert_eq!(&y.data()[..2], &[12.0, 13.0]);
    }

    #[test]
    fn adaptive_pool_windows_like_pytorch() {
        let x = ramp(1, 5, 1, 1);
        let y = adaptive_avg_pool(&x, 3, 1);
        // windows [0,2), [1,4), [3,5)
        assert_eq!(y.data(), &[0.5, 2.0, 3.5]);
        let g = global_avg_pool(&ramp(2, 2, 2, 1));
        assert_eq!(g, vec![1.5, 5.5]);
    }
}
