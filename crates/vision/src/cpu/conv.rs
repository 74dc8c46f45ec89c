//! Dense convolutions (groups = 1) on NHWC activations as im2col + gemm, from PyTorch weight
//! layouts, with an optional batch norm folded in at construction.

use std::cell::RefCell;

use rayon::prelude::*;

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

/// Checks a layer's parameters (`weight` values where `want` are needed; bias and batch norm of
/// `c` channels; a non-zero kernel `k` and stride), then [`fold`]s bias and batch norm. `what`
/// names the layer kind in errors.
#[allow(clippy::too_many_arguments)]
pub(super) fn checked_fold(
    what: &str,
    weight: usize,
    want: usize,
    c: usize,
    k: usize,
    stride: usize,
    bias: Option<&[f32]>,
    bn: Option<&BatchNorm>,
) -> Result<(Vec<f64>, Vec<f32>)> {
    check_len(&format!("{what} weight"), weight, want)?;
    if let Some(b) = bias {
        check_len(&format!("{what} bias"), b.len(), c)?;
    }
    check_bn(bn, c)?;
    if stride == 0 || k == 0 {
        return Err(VisionError::Invalid(
            "convolution with a zero kernel or stride".into(),
        ));
    }
    Ok(fold(c, bias, bn))
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
/// order (ky, kx, ci); 3x3 convolutions of stride 1 and padding 1 also keep their Winograd
/// transform and run as Winograd F(2x2, 3x3) (module `cpu::winograd`).
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
    /// Winograd-transformed weights `[16, cin, cout]`, when that algorithm is in use.
    wino: Option<Vec<f32>>,
}

/// Fewest input channels for which Winograd beats im2col (a first layer with 3 channels has
/// products too thin to gain from it).
pub const WINOGRAD_MIN_CIN: usize = 16;

/// How a [`Conv2d`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// im2col tiles and one matrix product per tile (any kernel, stride, padding).
    Im2col,
    /// Winograd F(2x2, 3x3) (3x3 kernels, stride 1, padding 1 only).
    Winograd,
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
        let (scale, shift) = checked_fold(
            "convolution",
            weight.len(),
            cout * cin * k * k,
            cout,
            k,
            stride,
            bias,
            bn,
        )?;
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
        let mut conv = Conv2d {
            cin,
            cout,
            k,
            stride,
            pad,
            act,
            w,
            bias: shift,
            wino: None,
        };
        if conv.winograd_fits() && cin >= WINOGRAD_MIN_CIN {
            conv.set_algorithm(Algorithm::Winograd);
        }
        Ok(conv)
    }

    /// True when the layer's shape allows Winograd F(2x2, 3x3): a 3x3 kernel, stride 1 and one
    /// pixel of padding on every side (PyTorch `padding=1`, or TF "SAME" at stride 1).
    pub fn winograd_fits(&self) -> bool {
        self.k == 3
            && self.stride == 1
            && matches!(self.pad, Padding::Symmetric(1) | Padding::TfSame)
    }

    /// The algorithm in use: [`Conv2d::new`] picks Winograd where it fits and the layer has at
    /// least [`WINOGRAD_MIN_CIN`] input channels, im2col otherwise.
    pub fn algorithm(&self) -> Algorithm {
        if self.wino.is_some() {
            Algorithm::Winograd
        } else {
            Algorithm::Im2col
        }
    }

    /// Switches the algorithm (for comparisons); asking for Winograd where it does not fit
    /// keeps im2col. Returns the algorithm now in use.
    pub fn set_algorithm(&mut self, a: Algorithm) -> Algorithm {
        self.wino = match a {
            Algorithm::Winograd if self.winograd_fits() => {
                Some(self.wino.take().unwrap_or_else(|| {
                    super::winograd::transform_weights(&self.w, self.cin, self.cout)
                }))
            }
            _ => None,
        };
        self.algorithm()
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
        let residual = residual.map(|r| r.data());
        if let Some(u) = &self.wino {
            let layer = super::winograd::Layer {
                u,
                bias: &self.bias,
                act: self.act,
                cout,
            };
            super::winograd::forward(&layer, x, residual, &mut out);
            return Act::from_buffer(x.n, ho, wo, cout, out);
        }
        let direct = self.k == 1 && self.stride == 1 && pt == 0 && pl == 0;
        let nt = threads();
        // Row tiles of 128..512 output pixels (im2col tile at most 4 MB), at least two per
        // thread; smaller layers are one gemm call parallelised inside gemm, so that the
        // weights are packed once rather than once per small tile.
        let tile = (rows / (2 * nt))
            .clamp(MIN_TILE, 512)
            .min(((1usize << 20) / kdim).max(MIN_TILE));
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Direct NCHW convolution in f64, PyTorch semantics, for checking the fast paths.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn reference(
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

    pub(crate) fn values(n: usize, seed: u64) -> Vec<f32> {
        (0..n as u64)
            .map(|i| (((i * 2654435761 + seed * 40503 + 12345) % 4096) as f32 / 2048.0) - 1.0)
            .collect()
    }

    pub(crate) fn act(n: usize, h: usize, w: usize, c: usize) -> Act {
        Act {
            n,
            h,
            w,
            c,
            data: values(n * h * w * c, 7).into(),
        }
    }

    pub(crate) fn close(a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() < 1e-4, "at {i}: {x} vs {y}");
        }
    }

    /// A convolution of `x` with made-up weights and bias (no activation), and the reference
    /// output it must give.
    fn made_up(x: &Act, cout: usize, k: usize, s: usize, pad: Padding) -> (Conv2d, Vec<f32>) {
        let wt = values(cout * x.c * k * k, 3);
        let bias = values(cout, 5);
        let conv = Conv2d::new(
            &wt,
            cout,
            x.c,
            k,
            Some(&bias),
            None,
            s,
            pad,
            Activation::None,
        )
        .unwrap();
        let want = reference(x, &wt, cout, k, s, pad, 1, &bias);
        (conv, want)
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
            let (conv, want) = made_up(&x, cout, k, s, pad);
            let got = crate::cpu::with_threads(Some(2), || conv.forward(&x, None)).unwrap();
            close(&got.data, &want);
        }
    }

    #[test]
    fn winograd_matches_reference_and_im2col() {
        // (n, h, w, cin, cout): partial tiles (odd sizes), 1x1 images, batches; the last case
        // has enough tile rows for the block-parallel path, the others run as one block.
        let cases = [
            (2, 9, 7, 16, 24),
            (1, 1, 1, 16, 8),
            (1, 2, 3, 17, 9),
            (1, 30, 33, 20, 12),
            (2, 80, 19, 256, 8),
        ];
        for (n, h, w, cin, cout) in cases {
            for pad in [Padding::Symmetric(1), Padding::TfSame] {
                let x = act(n, h, w, cin);
                let (mut conv, want) = made_up(&x, cout, 3, 1, pad);
                assert_eq!(conv.algorithm(), Algorithm::Winograd);
                for threads in [1, 2] {
                    let got =
                        crate::cpu::with_threads(Some(threads), || conv.forward(&x, None)).unwrap();
                    assert_eq!((got.n, got.h, got.w, got.c), (n, h, w, cout));
                    close(&got.data, &want);
                }
                assert_eq!(conv.set_algorithm(Algorithm::Im2col), Algorithm::Im2col);
                close(&conv.forward(&x, None).data, &want);
            }
        }
        // Residual and activation in the output transform.
        let x = act(1, 5, 6, 16);
        let wt = values(8 * 16 * 9, 1);
        let res = act(1, 5, 6, 8);
        let conv = Conv2d::new(
            &wt,
            8,
            16,
            3,
            None,
            None,
            1,
            Padding::Symmetric(1),
            Activation::Relu,
        )
        .unwrap();
        assert_eq!(conv.algorithm(), Algorithm::Winograd);
        let got = conv.forward(&x, Some(&res));
        let plain = reference(&x, &wt, 8, 3, 1, Padding::Symmetric(1), 1, &[0.0; 8]);
        let want: Vec<f32> = plain
            .iter()
            .zip(res.data())
            .map(|(p, r)| (p + r).max(0.0))
            .collect();
        close(got.data(), &want);
        assert!(want.contains(&0.0) && want.iter().any(|&v| v > 0.5));
        // Shapes Winograd does not cover stay on im2col.
        let mut strided = Conv2d::new(
            &wt,
            8,
            16,
            3,
            None,
            None,
            2,
            Padding::Symmetric(1),
            Activation::None,
        )
        .unwrap();
        assert_eq!(
            strided.set_algorithm(Algorithm::Winograd),
            Algorithm::Im2col
        );
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
}
