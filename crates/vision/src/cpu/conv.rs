//! Convolutions on NHWC activations: dense (groups = 1) as im2col + gemm, depthwise as a direct
//! kernel. Both take PyTorch weight layouts and fold an optional batch norm at construction.

use std::cell::RefCell;

use rayon::prelude::*;

use super::simd::{has_avx2_fma, madd};
use super::{buffer, threads, Act, Activation, Padding};
use crate::error::{Result, VisionError};

/// Inference-time batch norm parameters (PyTorch names), folded into the preceding convolution:
/// `y = (x - mean) / sqrt(var + eps) * gamma + beta`.
#[derive(Debug, Clone, Copy)]
pub struct BatchNorm<'a> {
    pub gamma: &'a [f32],
    pub beta: &'a [f32],
    pub mean: &'a [f32],
    pub var: &'a [f32],
    pub eps: f64,
}

/// Per output channel (scale, shift) such that `bn(conv(x) + bias) = conv(x) * scale + shift`,
/// computed in f64.
fn fold(cout: usize, bias: Option<&[f32]>, bn: Option<&BatchNorm>) -> (Vec<f64>, Vec<f32>) {
    let b = |c: usize| bias.map_or(0.0, |b| f64::from(b[c]));
    match bn {
        None => (vec![1.0; cout], (0..cout).map(|c| b(c) as f32).collect()),
        Some(bn) => (0..cout)
            .map(|c| {
                let s = f64::from(bn.gamma[c]) / (f64::from(bn.var[c]) + bn.eps).sqrt();
                (
                    s,
                    ((b(c) - f64::from(bn.mean[c])) * s + f64::from(bn.beta[c])) as f32,
                )
            })
            .unzip(),
    }
}

fn check_len(what: &str, got: usize, want: usize) -> Result<()> {
    if got != want {
        return Err(VisionError::Invalid(format!(
            "{what} has {got} values but the layer needs {want}"
        )));
    }
    Ok(())
}

fn check_bn(bn: Option<&BatchNorm>, c: usize) -> Result<()> {
    if let Some(bn) = bn {
        for (name, v) in [
            ("batch norm weight", bn.gamma),
            ("batch norm bias", bn.beta),
            ("batch norm running_mean", bn.mean),
            ("batch norm running_var", bn.var),
        ] {
            check_len(name, v.len(), c)?;
        }
    }
    Ok(())
}

/// A dense 2-D convolution with a square kernel, its bias (and folded batch norm), and an
/// activation. Weights are kept as a `[k*k*cin, cout]` matrix whose rows follow the im2col
/// order (ky, kx, ci).
#[derive(Debug, Clone)]
pub struct Conv2d {
    pub cin: usize,
    pub cout: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: Padding,
    pub act: Activation,
    w: Vec<f32>,
    bias: Vec<f32>,
}

/// Smallest row tile worth a separate gemm call (the weights are packed once per call).
const MIN_TILE: usize = 128;

thread_local! {
    static IM2COL: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

#[derive(Clone, Copy)]
struct Geometry {
    h: usize,
    w: usize,
    cin: usize,
    k: usize,
    s: usize,
    ho: usize,
    wo: usize,
    pt: usize,
    pl: usize,
}

impl Conv2d {
    /// From a PyTorch weight `[cout, cin, k, k]`, an optional bias `[cout]` and an optional
    /// batch norm over the output channels.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        weight: &[f32],
        cout: usize,
        cin: usize,
        k: usize,
        bias: Option<&[f32]>,
        bn: Option<&BatchNorm>,
        stride: usize,
        pad: Padding,
        act: Activation,
    ) -> Result<Conv2d> {
        check_len("convolution weight", weight.len(), cout * cin * k * k)?;
        if let Some(b) = bias {
            check_len("convolution bias", b.len(), cout)?;
        }
        check_bn(bn, cout)?;
        if stride == 0 || k == 0 {
            return Err(VisionError::Invalid(
                "convolution with a zero kernel or stride".into(),
            ));
        }
        let (scale, shift) = fold(cout, bias, bn);
        let kdim = k * k * cin;
        let mut w = vec![0f32; kdim * cout];
        for co in 0..cout {
            for ci in 0..cin {
                for ky in 0..k {
                    for kx in 0..k {
                        let v = weight[((co * cin + ci) * k + ky) * k + kx];
                        w[((ky * k + kx) * cin + ci) * cout + co] =
                            (f64::from(v) * scale[co]) as f32;
                    }
                }
            }
        }
        Ok(Conv2d {
            cin,
            cout,
            k,
            stride,
            pad,
            act,
            w,
            bias: shift,
        })
    }

    /// Output height and width for an input of `h` x `w`.
    pub fn out_size(&self, h: usize, w: usize) -> (usize, usize) {
        (
            self.pad.resolve(h, self.k, self.stride).0,
            self.pad.resolve(w, self.k, self.stride).0,
        )
    }

    /// Runs the layer; `residual` (same shape as the output) is added after the bias and
    /// before the activation.
    pub fn forward(&self, x: &Act, residual: Option<&Act>) -> Act {
        let (ho, pt) = self.pad.resolve(x.h, self.k, self.stride);
        let (wo, pl) = self.pad.resolve(x.w, self.k, self.stride);
        let g = Geometry {
            h: x.h,
            w: x.w,
            cin: self.cin,
            k: self.k,
            s: self.stride,
            ho,
            wo,
            pt,
            pl,
        };
        let rows = x.n * ho * wo;
        let cout = self.cout;
        let kdim = self.k * self.k * self.cin;
        // Every element is written by gemm (which does not read it) before the epilogue.
        let mut out = buffer(rows * cout);
        let direct = self.k == 1 && self.stride == 1 && pt == 0 && pl == 0;
        let nt = threads();
        // Row tiles of 128..512 output pixels (im2col tile at most 4 MB), at least two per
        // thread; smaller layers are one gemm call parallelised inside gemm, so that the
        // weights are packed once rather than once per small tile.
        let tile = (rows / (2 * nt))
            .clamp(MIN_TILE, 512)
            .min(((1usize << 20) / kdim).max(MIN_TILE));
        let residual = residual.map(|r| r.data());
        if rows / tile >= 2 * nt {
            out.par_chunks_mut(tile * cout)
                .enumerate()
                .for_each(|(t, dst)| {
                    let r0 = t * tile;
                    let nr = dst.len() / cout;
                    if direct {
                        let a = &x.data[r0 * self.cin..(r0 + nr) * self.cin];
                        matmul(dst, a, &self.w, nr, kdim, cout, gemm::Parallelism::None);
                    } else {
                        IM2COL.with(|buf| {
                            let mut buf = buf.borrow_mut();
                            buf.resize(nr * kdim, 0.0);
                            im2col(&x.data, &g, r0, &mut buf);
                            matmul(dst, &buf, &self.w, nr, kdim, cout, gemm::Parallelism::None);
                        });
                    }
                    self.epilogue(dst, residual.map(|r| &r[r0 * cout..(r0 + nr) * cout]));
                });
        } else {
            let cols;
            let a: &[f32] = if direct {
                &x.data
            } else {
                let mut c = buffer(rows * kdim);
                c.par_chunks_mut(kdim * 16)
                    .enumerate()
                    .for_each(|(t, dst)| im2col(&x.data, &g, t * 16, dst));
                cols = c;
                &cols
            };
            matmul(
                &mut out,
                a,
                &self.w,
                rows,
                kdim,
                cout,
                gemm::Parallelism::Rayon(nt),
            );
            out.par_chunks_mut(cout * 16)
                .enumerate()
                .for_each(|(t, dst)| {
                    let r0 = t * 16;
                    let nr = dst.len() / cout;
                    self.epilogue(dst, residual.map(|r| &r[r0 * cout..(r0 + nr) * cout]));
                });
        }
        Act::from_buffer(x.n, ho, wo, cout, out)
    }

    fn epilogue(&self, dst: &mut [f32], residual: Option<&[f32]>) {
        let act = self.act;
        match residual {
            None => {
                for row in dst.chunks_exact_mut(self.cout) {
                    for (v, &b) in row.iter_mut().zip(&self.bias) {
                        *v = act.apply(*v + b);
                    }
                }
            }
            Some(res) => {
                for (row, rrow) in dst
                    .chunks_exact_mut(self.cout)
                    .zip(res.chunks_exact(self.cout))
                {
                    for ((v, &b), &r) in row.iter_mut().zip(&self.bias).zip(rrow) {
                        *v = act.apply(*v + b + r);
                    }
                }
            }
        }
    }
}

/// `dst[m x n] = a[m x k] * b[k x n]`, all row-major and contiguous.
pub(crate) fn matmul(
    dst: &mut [f32],
    a: &[f32],
    b: &[f32],
    m: usize,
    k: usize,
    n: usize,
    par: gemm::Parallelism,
) {
    matmul_strided(dst, a, b, m, k, n, (n as isize, 1), par);
}

/// Like [`matmul`] with `b`'s (row, column) strides given, e.g. `(1, k)` for a transposed
/// `[n, k]` matrix.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul_strided(
    dst: &mut [f32],
    a: &[f32],
    b: &[f32],
    m: usize,
    k: usize,
    n: usize,
    b_strides: (isize, isize),
    par: gemm::Parallelism,
) {
    if m == 0 || n == 0 {
        return;
    }
    let b_last = (k - 1) as isize * b_strides.0 + (n - 1) as isize * b_strides.1;
    assert!(
        dst.len() >= m * n && a.len() >= m * k && b.len() as isize > b_last,
        "matmul operands too short"
    );
    // SAFETY: the assertion above keeps every index gemm computes from the sizes and strides
    // inside the three slices; dst does not alias a or b (it is borrowed mutably).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            k as isize,
            b.as_ptr(),
            b_strides.1,
            b_strides.0,
            0.0,
            1.0,
            false,
            false,
            false,
            par,
        );
    }
}

/// Writes the im2col rows `r0..r0 + dst.len() / kdim` (row = output pixel over the batch,
/// column = (ky, kx, ci)); taps outside the image are zeros.
fn im2col(x: &[f32], g: &Geometry, r0: usize, dst: &mut [f32]) {
    let kdim = g.k * g.k * g.cin;
    let per_img = g.ho * g.wo;
    for (i, row) in dst.chunks_exact_mut(kdim).enumerate() {
        let r = r0 + i;
        let (b, p) = (r / per_img, r % per_img);
        let (oy, ox) = (p / g.wo, p % g.wo);
        let img = &x[b * g.h * g.w * g.cin..(b + 1) * g.h * g.w * g.cin];
        for ky in 0..g.k {
            let seg = &mut row[ky * g.k * g.cin..(ky + 1) * g.k * g.cin];
            let iy = (oy * g.s + ky) as isize - g.pt as isize;
            if iy < 0 || iy >= g.h as isize {
                seg.fill(0.0);
                continue;
            }
            let line = &img[iy as usize * g.w * g.cin..(iy as usize + 1) * g.w * g.cin];
            let ix0 = (ox * g.s) as isize - g.pl as isize;
            if ix0 >= 0 && ix0 as usize + g.k <= g.w {
                let s = ix0 as usize * g.cin;
                seg.copy_from_slice(&line[s..s + g.k * g.cin]);
                continue;
            }
            for (kx, px) in seg.chunks_exact_mut(g.cin).enumerate() {
                let ix = ix0 + kx as isize;
                if ix < 0 || ix >= g.w as isize {
                    px.fill(0.0);
                } else {
                    px.copy_from_slice(&line[ix as usize * g.cin..(ix as usize + 1) * g.cin]);
                }
            }
        }
    }
}

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
        check_len("depthwise weight", weight.len(), c * k * k)?;
        if let Some(b) = bias {
            check_len("depthwise bias", b.len(), c)?;
        }
        check_bn(bn, c)?;
        if stride == 0 || k == 0 {
            return Err(VisionError::Invalid(
                "convolution with a zero kernel or stride".into(),
            ));
        }
        let (scale, shift) = fold(c, bias, bn);
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

    /// Direct NCHW convolution in f64, PyTorch semantics, for checking the fast paths.
    #[allow(clippy::too_many_arguments)]
    fn reference(
        x: &Act,
        w: &[f32],
        cout: usize,
        k: usize,
        s: usize,
        pad: Padding,
        groups: usize,
        bias: &[f32],
    ) -> Vec<f32> {
        let (ho, pt) = pad.resolve(x.h, k, s);
        let (wo, pl) = pad.resolve(x.w, k, s);
        let cpg = x.c / groups;
        let opg = cout / groups;
        let mut out = vec![0f32; x.n * ho * wo * cout];
        for b in 0..x.n {
            for oy in 0..ho {
                for ox in 0..wo {
                    for co in 0..cout {
                        let g = co / opg;
                        let mut acc = f64::from(bias[co]);
                        for ci in 0..cpg {
                            for ky in 0..k {
                                for kx in 0..k {
                                    let iy = (oy * s + ky) as isize - pt as isize;
                                    let ix = (ox * s + kx) as isize - pl as isize;
                                    if iy < 0 || ix < 0 || iy >= x.h as isize || ix >= x.w as isize
                                    {
                                        continue;
                                    }
                                    let xv = x.data[((b * x.h + iy as usize) * x.w + ix as usize)
                                        * x.c
                                        + g * cpg
                                        + ci];
                                    let wv = w[((co * cpg + ci) * k + ky) * k + kx];
                                    acc += f64::from(xv) * f64::from(wv);
                                }
                            }
                        }
                        out[((b * ho + oy) * wo + ox) * cout + co] = acc as f32;
                    }
                }
            }
        }
        out
    }

    fn values(n: usize, seed: u64) -> Vec<f32> {
        (0..n as u64)
            .map(|i| (((i * 2654435761 + seed * 40503 + 12345) % 4096) as f32 / 2048.0) - 1.0)
            .collect()
    }

    fn act(n: usize, h: usize, w: usize, c: usize) -> Act {
        Act {
            n,
            h,
            w,
            c,
            data: values(n * h * w * c, 7).into(),
        }
    }

    fn close(a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() < 1e-4, "at {i}: {x} vs {y}");
        }
    }

    #[test]
    fn dense_conv_matches_reference_on_every_path() {
        // (n, h, w, cin, cout, k, s, pad): tiled im2col, tiled 1x1, single-call paths, TF SAME.
        // With 2 threads, layers of >= 512 output pixels take the tiled path.
        let cases = [
            (2, 17, 13, 5, 7, 3, 1, Padding::Symmetric(1)),
            (1, 30, 30, 5, 7, 3, 1, Padding::Symmetric(1)),
            (1, 40, 40, 8, 16, 1, 1, Padding::Symmetric(0)),
            (1, 5, 6, 4, 3, 3, 2, Padding::TfSame),
            (2, 9, 9, 3, 8, 3, 2, Padding::TfSame),
            (1, 3, 3, 6, 4, 1, 1, Padding::Symmetric(0)),
        ];
        for (n, h, w, cin, cout, k, s, pad) in cases {
            let x = act(n, h, w, cin);
            let wt = values(cout * cin * k * k, 3);
            let bias = values(cout, 5);
            let conv = Conv2d::new(
                &wt,
                cout,
                cin,
                k,
                Some(&bias),
                None,
                s,
                pad,
                Activation::None,
            )
            .unwrap();
            let got = crate::cpu::with_threads(Some(2), || conv.forward(&x, None)).unwrap();
            close(&got.data, &reference(&x, &wt, cout, k, s, pad, 1, &bias));
        }
    }

    #[test]
    fn batch_norm_folds_and_residual_adds() {
        let x = act(1, 6, 6, 4);
        let wt = values(8 * 4, 1);
        let bn = BatchNorm {
            gamma: &[1.5; 8],
            beta: &[0.25; 8],
            mean: &[0.1; 8],
            var: &[4.0; 8],
            eps: 1e-3,
        };
        let res = act(1, 6, 6, 8);
        let conv = Conv2d::new(
            &wt,
            8,
            4,
            1,
            None,
            Some(&bn),
            1,
            Padding::Symmetric(0),
            Activation::Relu6,
        )
        .unwrap();
        let got = conv.forward(&x, Some(&res));
        let plain = reference(&x, &wt, 8, 1, 1, Padding::Symmetric(0), 1, &[0.0; 8]);
        for ((g, p), r) in got.data().iter().zip(&plain).zip(res.data()) {
            let want = ((p - 0.1) / (4.0f32 + 1e-3).sqrt() * 1.5 + 0.25 + r).clamp(0.0, 6.0);
            assert!((g - want).abs() < 1e-5, "{g} vs {want}");
        }
    }

    #[test]
    fn depthwise_matches_grouped_reference() {
        for (h, w, c, k, s, pad) in [
            (11, 9, 16, 3, 1, Padding::TfSame),
            (12, 12, 8, 5, 2, Padding::TfSame),
            (7, 7, 24, 3, 2, Padding::Symmetric(1)),
            (6, 5, 37, 5, 1, Padding::TfSame),
            (2, 3, 16, 5, 2, Padding::TfSame),
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
