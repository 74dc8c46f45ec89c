//! Depthwise convolutions (groups = channels) on NHWC activations: a direct kernel whose
//! inner loop runs over channels, from PyTorch's `[c, 1, k, k]` weights with an optional batch
//! norm folded in.

use rayon::prelude::*;

use super::conv::{checked_fold, BatchNorm};
use super::simd::{has_avx2_fma, madd};
use super::{buffer, Act, Activation, Padding};
use crate::error::Result;

/// A depthwise convolution (groups = channels) with a square kernel, bias (and folded batch
/// norm) and activation. Weights are kept as `[k*k, c]` so the inner loop runs over channels.
#[derive(Debug, Clone)]
pub struct Depthwise {
    pub c: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: Padding,
    pub act: Activation,
    w: Vec<f32>,
    bias: Vec<f32>,
}

struct DwRow<'a> {
    layer: &'a Depthwise,
    img: &'a [f32],
    h: usize,
    w: usize,
    oy: usize,
    pt: usize,
    pl: usize,
    out: &'a mut [f32],
}

impl Depthwise {
    /// From a PyTorch depthwise weight `[c, 1, k, k]`, optional bias and batch norm.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        weight: &[f32],
        c: usize,
        k: usize,
        bias: Option<&[f32]>,
        bn: Option<&BatchNorm>,
        stride: usize,
        pad: Padding,
        act: Activation,
    ) -> Result<Depthwise> {
        let (scale, shift) =
            checked_fold("depthwise", weight.len(), c * k * k, c, k, stride, bias, bn)?;
        let mut w = vec![0f32; k * k * c];
        for ch in 0..c {
            for t in 0..k * k {
                w[t * c + ch] = (f64::from(weight[ch * k * k + t]) * scale[ch]) as f32;
            }
        }
        Ok(Depthwise {
            c,
            k,
            stride,
            pad,
            act,
            w,
            bias: shift,
        })
    }

    pub fn forward(&self, x: &Act) -> Act {
        let (ho, pt) = self.pad.resolve(x.h, self.k, self.stride);
        let (wo, pl) = self.pad.resolve(x.w, self.k, self.stride);
        let c = self.c;
        // Every element is set (bias first) by dw_row.
        let mut out = buffer(x.n * ho * wo * c);
        let fma = has_avx2_fma();
        out.par_chunks_mut(wo * c).enumerate().for_each(|(r, row)| {
            let (b, oy) = (r / ho, r % ho);
            let mut args = DwRow {
                layer: self,
                img: &x.data[b * x.h * x.w * c..(b + 1) * x.h * x.w * c],
                h: x.h,
                w: x.w,
                oy,
                pt,
                pl,
                out: row,
            };
            #[cfg(target_arch = "x86_64")]
            if fma {
                // SAFETY: has_avx2_fma() checked that the CPU supports the features.
                unsafe { dw_row_avx2(&mut args) };
                return;
            }
            let _ = fma;
            dw_row::<false>(&mut args);
        });
        Act::from_buffer(x.n, ho, wo, c, out)
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dw_row_avx2(a: &mut DwRow) {
    dw_row::<true>(a)
}

/// Taps of one output pixel that fall inside the image.
struct Taps {
    y0: usize,
    x0: usize,
    ky: std::ops::Range<usize>,
    kx: std::ops::Range<usize>,
}

/// One output row of a depthwise convolution. Per output pixel, channels go in blocks of 64,
/// 32, 16 and 8 whose sums stay in registers over all taps: a 64-channel block is eight
/// independent FMA chains, enough to hide the FMA latency (one 16-channel block would wait on
/// it).
#[inline(always)]
fn dw_row<const FMA: bool>(a: &mut DwRow) {
    let l = a.layer;
    let (c, k, s) = (l.c, l.k, l.stride);
    let wo = a.out.len() / c;
    let y0 = a.oy * s;
    let ky = a.pt.saturating_sub(y0)..k.min((a.h + a.pt).saturating_sub(y0));
    for ox in 0..wo {
        let x0 = ox * s;
        let t = Taps {
            y0,
            x0,
            ky: ky.clone(),
            kx: a.pl.saturating_sub(x0)..k.min((a.w + a.pl).saturating_sub(x0)),
        };
        let out = &mut a.out[ox * c..(ox + 1) * c];
        let mut cb = dw_blocks::<FMA, 64>(a.img, l, a.w, a.pt, a.pl, &t, out, 0);
        cb = dw_blocks::<FMA, 32>(a.img, l, a.w, a.pt, a.pl, &t, out, cb);
        cb = dw_blocks::<FMA, 16>(a.img, l, a.w, a.pt, a.pl, &t, out, cb);
        cb = dw_blocks::<FMA, 8>(a.img, l, a.w, a.pt, a.pl, &t, out, cb);
        dw_blocks::<FMA, 1>(a.img, l, a.w, a.pt, a.pl, &t, out, cb);
    }
}

/// Channels `cb..` of one output pixel in blocks of `B` while whole blocks fit; returns the
/// first channel not done.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn dw_blocks<const FMA: bool, const B: usize>(
    img: &[f32],
    l: &Depthwise,
    w: usize,
    pt: usize,
    pl: usize,
    t: &Taps,
    out: &mut [f32],
    mut cb: usize,
) -> usize {
    let (c, k) = (l.c, l.k);
    while cb + B <= c {
        let mut acc = [0f32; B];
        acc.copy_from_slice(&l.bias[cb..cb + B]);
        for ky in t.ky.clone() {
            let line = &img[(t.y0 + ky - pt) * w * c..];
            for kx in t.kx.clone() {
                let xs = &line[(t.x0 + kx - pl) * c + cb..][..B];
                let ws = &l.w[(ky * k + kx) * c + cb..][..B];
                for j in 0..B {
                    acc[j] = madd::<FMA>(xs[j], ws[j], acc[j]);
                }
            }
        }
        for (o, v) in out[cb..cb + B].iter_mut().zip(acc) {
            *o = l.act.apply(v);
        }
        cb += B;
    }
    cb
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::conv::tests::{act, close, reference, values};

    #[test]
    fn depthwise_matches_grouped_reference() {
        for (h, w, c, k, s, pad) in [
            (11, 9, 16, 3, 1, Padding::TfSame),
            (12, 12, 8, 5, 2, Padding::TfSame),
            (7, 7, 24, 3, 2, Padding::Symmetric(1)),
            (6, 5, 37, 5, 1, Padding::TfSame),
            (2, 3, 16, 5, 2, Padding::TfSame),
            (5, 6, 144, 3, 1, Padding::TfSame),
            (4, 4, 100, 3, 2, Padding::TfSame),
        ] {
            let x = act(2, h, w, c);
            let wt = values(c * k * k, 9);
            let bias = values(c, 2);
            let dw =
                Depthwise::new(&wt, c, k, Some(&bias), None, s, pad, Activation::None).unwrap();
            close(
                &dw.forward(&x).data,
                &reference(&x, &wt, c, k, s, pad, c, &bias),
            );
        }
    }
}
