//! Winograd F(2x2, 3x3) for dense 3x3 convolutions of stride 1 and padding 1 (every VGG
//! convolution but the first): each 2x2 block of outputs is computed from a 4x4 input tile with
//! 16 multiplications per (input, output) channel pair instead of 36, so the matrix products
//! do 2.25x fewer operations than im2col's.
//!
//! Per block of tile rows: the input tiles are transformed (`V = B^T d B`, additions only) into
//! 16 matrices `[tiles, cin]`; each is multiplied by the matching transformed weight matrix
//! `U = G g G^T` (`[cin, cout]`, computed once at load time in f64); the 16 products are
//! transformed back (`Y = A^T M A`) straight into the NHWC output with bias, residual and
//! activation applied. The transforms' coefficients are 0, +-1 and +-1/2, so the rounding
//! stays close to im2col's (same order as reordering the sums).

use std::cell::RefCell;

use rayon::prelude::*;

use super::conv::matmul;
use super::simd::has_avx2_fma;
use super::{threads, Act, Activation};

/// Lanes processed together in the transforms (one AVX vector).
const L: usize = 8;
/// Upper bound on one block's transformed input, in floats (16 * tiles * cin): 2 MiB keeps a
/// block's operands in the last-level cache share of one core.
const BLOCK_FLOATS: usize = 1 << 19;
/// Fewest tiles worth a block of their own (rows of each of the 16 matrix products).
const MIN_TILES: usize = 32;

thread_local! {
    static SCRATCH: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// `U = G g G^T` for every (ci, co), from im2col-ordered weights `w[(ky*3+kx)*cin+ci][co]`;
/// returns `u[xi][ci][co]` with `xi = 4 * row + column` of the 4x4 transformed kernel.
pub(super) fn transform_weights(w: &[f32], cin: usize, cout: usize) -> Vec<f32> {
    const G: [[f64; 3]; 4] = [
        [1.0, 0.0, 0.0],
        [0.5, 0.5, 0.5],
        [0.5, -0.5, 0.5],
        [0.0, 0.0, 1.0],
    ];
    let mut u = vec![0f32; 16 * cin * cout];
    for ci in 0..cin {
        for co in 0..cout {
            let g = |ky: usize, kx: usize| f64::from(w[((ky * 3 + kx) * cin + ci) * cout + co]);
            // t = G g (4x3), then t G^T (4x4).
            let mut t = [[0f64; 3]; 4];
            for (i, gi) in G.iter().enumerate() {
                for (kx, tv) in t[i].iter_mut().enumerate() {
                    *tv = (0..3).map(|ky| gi[ky] * g(ky, kx)).sum();
                }
            }
            for (i, ti) in t.iter().enumerate() {
                for (j, gj) in G.iter().enumerate() {
                    let v: f64 = (0..3).map(|kx| ti[kx] * gj[kx]).sum();
                    u[((i * 4 + j) * cin + ci) * cout + co] = v as f32;
                }
            }
        }
    }
    u
}

/// Shapes of one layer run.
#[derive(Clone, Copy)]
struct Dims {
    h: usize,
    w: usize,
    cin: usize,
    cout: usize,
    /// Tile rows and columns per image.
    th: usize,
    tw: usize,
}

/// The layer's constants.
pub(super) struct Layer<'a> {
    pub u: &'a [f32],
    pub bias: &'a [f32],
    pub act: Activation,
    pub cout: usize,
}

/// Runs the layer on `x` (stride 1, padding 1, output the size of the input) into `out`
/// (NHWC, `x.n * x.h * x.w * cout` values, every one written); `residual` has the output's
/// shape and is added before the activation.
pub(super) fn forward(layer: &Layer, x: &Act, residual: Option<&[f32]>, out: &mut [f32]) {
    let d = Dims {
        h: x.h,
        w: x.w,
        cin: x.c,
        cout: layer.cout,
        th: x.h.div_ceil(2),
        tw: x.w.div_ceil(2),
    };
    if x.n == 0 || d.h == 0 || d.w == 0 {
        return;
    }
    // Split the output into the slices each tile row writes (two output rows, one at the
    // bottom of an odd-height image), in order.
    let mut rows: Vec<&mut [f32]> = Vec::with_capacity(x.n * d.th);
    let mut rest = out;
    for _ in 0..x.n {
        for ty in 0..d.th {
            let len = (d.h - 2 * ty).min(2) * d.w * d.cout;
            let (a, b) = std::mem::take(&mut rest).split_at_mut(len);
            rows.push(a);
            rest = b;
        }
    }
    let per_block = (BLOCK_FLOATS / (16 * d.cin.max(d.cout)))
        .max(MIN_TILES)
        .div_ceil(d.tw)
        .max(1);
    let blocks = rows.len().div_ceil(per_block);
    let nt = threads();
    if blocks >= 3 * nt {
        rows.par_chunks_mut(per_block)
            .enumerate()
            .for_each(|(i, chunk)| {
                SCRATCH.with(|s| {
                    let mut s = s.borrow_mut();
                    let (v, m) = &mut *s;
                    block(layer, x, &d, i * per_block, chunk, residual, v, m, false);
                });
            });
    } else {
        // Few tiles: one block, its 16 products spread over the threads.
        let (mut v, mut m) = (Vec::new(), Vec::new());
        block(layer, x, &d, 0, &mut rows, residual, &mut v, &mut m, nt > 1);
    }
}

/// Transforms, multiplies and transforms back the tile rows `g0..g0 + rows.len()` (global tile
/// row g = image * th + ty), writing `rows`.
#[allow(clippy::too_many_arguments)]
fn block(
    layer: &Layer,
    x: &Act,
    d: &Dims,
    g0: usize,
    rows: &mut [&mut [f32]],
    residual: Option<&[f32]>,
    v: &mut Vec<f32>,
    m: &mut Vec<f32>,
    par: bool,
) {
    let tiles = rows.len() * d.tw;
    v.resize(16 * tiles * d.cin, 0.0);
    m.resize(16 * tiles * d.cout, 0.0);
    let fma = has_avx2_fma();
    let zero = vec![0f32; d.cin];
    for r in 0..rows.len() {
        let (b, ty) = ((g0 + r) / d.th, (g0 + r) % d.th);
        let img = &x.data()[b * d.h * d.w * d.cin..(b + 1) * d.h * d.w * d.cin];
        for tx in 0..d.tw {
            let src: [&[f32]; 16] = std::array::from_fn(|p| {
                let iy = (2 * ty + p / 4) as isize - 1;
                let ix = (2 * tx + p % 4) as isize - 1;
                if iy < 0 || ix < 0 || iy >= d.h as isize || ix >= d.w as isize {
                    &zero[..]
                } else {
                    let at = (iy as usize * d.w + ix as usize) * d.cin;
                    &img[at..at + d.cin]
                }
            });
            input_tile(&src, v, tiles, r * d.tw + tx, d.cin, fma);
        }
    }
    let (cin, cout) = (d.cin, d.cout);
    let product = |(xi, dst): (usize, &mut [f32])| {
        matmul(
            dst,
            &v[xi * tiles * cin..(xi + 1) * tiles * cin],
            &layer.u[xi * cin * cout..(xi + 1) * cin * cout],
            tiles,
            cin,
            cout,
            gemm::Parallelism::None,
        );
    };
    if par {
        m.par_chunks_mut(tiles * cout).enumerate().for_each(product);
    } else {
        m.chunks_mut(tiles * cout).enumerate().for_each(product);
    }
    let p = Products {
        m,
        tiles,
        bias: layer.bias,
        act: layer.act,
        w: d.w,
        cout,
    };
    for (r, out) in rows.iter_mut().enumerate() {
        let (b, ty) = ((g0 + r) / d.th, (g0 + r) % d.th);
        let res = residual.map(|res| {
            let at = (b * d.h + 2 * ty) * d.w * cout;
            &res[at..at + out.len()]
        });
        for tx in 0..d.tw {
            output_tile(&p, r * d.tw + tx, tx, out, res, fma);
        }
    }
}

fn input_tile(src: &[&[f32]; 16], v: &mut [f32], tiles: usize, t: usize, cin: usize, fma: bool) {
    #[cfg(target_arch = "x86_64")]
    if fma {
        // SAFETY: the caller checked has_avx2_fma().
        return unsafe { input_tile_avx2(src, v, tiles, t, cin) };
    }
    let _ = fma;
    input_tile_impl(src, v, tiles, t, cin);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn input_tile_avx2(src: &[&[f32]; 16], v: &mut [f32], tiles: usize, t: usize, cin: usize) {
    input_tile_impl(src, v, tiles, t, cin);
}

/// `B^T d B` on lanes: `d[p]` is input position p = 4 * row + column.
#[inline(always)]
fn transform_in(d: &[[f32; L]; 16]) -> [[f32; L]; 16] {
    separable::<4, 16, 16>(d, |[x0, x1, x2, x3]| [x0 - x2, x1 + x2, x2 - x1, x1 - x3])
}

/// `T^T d T` on lanes for a 4 x `R` matrix `T` given as `f`, the product of `T^T` with a
/// column of four: first down every column of the 4x4 tile `d` (`d[p]`, p = 4 * row +
/// column), then along every resulting row. Returns the `R` x `R` result row-major; `RT` is
/// `4 * R` and `RR` is `R * R`.
#[inline(always)]
fn separable<const R: usize, const RT: usize, const RR: usize>(
    d: &[[f32; L]; 16],
    f: impl Fn([f32; 4]) -> [f32; R],
) -> [[f32; L]; RR] {
    let mut t = [[0f32; L]; RT];
    for j in 0..4 {
        for l in 0..L {
            let col = f([d[j][l], d[4 + j][l], d[8 + j][l], d[12 + j][l]]);
            for (i, v) in col.into_iter().enumerate() {
                t[4 * i + j][l] = v;
            }
        }
    }
    let mut o = [[0f32; L]; RR];
    for i in 0..R {
        for l in 0..L {
            let row = f([
                t[4 * i][l],
                t[4 * i + 1][l],
                t[4 * i + 2][l],
                t[4 * i + 3][l],
            ]);
            for (j, v) in row.into_iter().enumerate() {
                o[R * i + j][l] = v;
            }
        }
    }
    o
}

/// Writes tile `t`'s 16 transformed values of every channel to `v[xi][t][c]`.
#[inline(always)]
fn input_tile_impl(src: &[&[f32]; 16], v: &mut [f32], tiles: usize, t: usize, cin: usize) {
    let mut c0 = 0;
    while c0 < cin {
        let n = (cin - c0).min(L);
        let d: [[f32; L]; 16] = std::array::from_fn(|p| load(&src[p][c0..], n));
        let o = transform_in(&d);
        for (xi, op) in o.iter().enumerate() {
            store(&mut v[(xi * tiles + t) * cin + c0..], op, n);
        }
        c0 += n;
    }
}

/// The 16 matrix products of one block, and what the output transform adds to them.
struct Products<'a> {
    /// `m[xi][t][co]`.
    m: &'a [f32],
    tiles: usize,
    bias: &'a [f32],
    act: Activation,
    /// Output width and channels.
    w: usize,
    cout: usize,
}

fn output_tile(p: &Products, t: usize, tx: usize, out: &mut [f32], res: Option<&[f32]>, fma: bool) {
    #[cfg(target_arch = "x86_64")]
    if fma {
        // SAFETY: the caller checked has_avx2_fma().
        return unsafe { output_tile_avx2(p, t, tx, out, res) };
    }
    let _ = fma;
    output_tile_impl(p, t, tx, out, res);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn output_tile_avx2(
    p: &Products,
    t: usize,
    tx: usize,
    out: &mut [f32],
    res: Option<&[f32]>,
) {
    output_tile_impl(p, t, tx, out, res);
}

/// `A^T m A` on lanes: the 2x2 outputs (row-major) of the 16 products of one tile.
#[inline(always)]
fn transform_out(m: &[[f32; L]; 16]) -> [[f32; L]; 4] {
    separable::<2, 8, 4>(m, |[x0, x1, x2, x3]| [x0 + x1 + x2, x1 - x2 - x3])
}

/// Writes the (up to) 2x2 output pixels of tile `t` (column `tx` of its tile row) to `out`,
/// the tile row's output rows.
#[inline(always)]
fn output_tile_impl(p: &Products, t: usize, tx: usize, out: &mut [f32], res: Option<&[f32]>) {
    let (m, tiles, cout, w) = (p.m, p.tiles, p.cout, p.w);
    let nrows = out.len() / (w * cout);
    let ncols = (w - 2 * tx).min(2);
    let act = p.act;
    let mut c0 = 0;
    while c0 < cout {
        let n = (cout - c0).min(L);
        let mv: [[f32; L]; 16] =
            std::array::from_fn(|xi| load(&m[(xi * tiles + t) * cout + c0..], n));
        let y = transform_out(&mv);
        let bias = load(&p.bias[c0..], n);
        for a in 0..nrows {
            for b in 0..ncols {
                let at = (a * w + 2 * tx + b) * cout + c0;
                let mut px = [0f32; L];
                match res {
                    None => {
                        for l in 0..L {
                            px[l] = act.apply(y[2 * a + b][l] + bias[l]);
                        }
                    }
                    Some(r) => {
                        let rv = load(&r[at..], n);
                        for l in 0..L {
                            px[l] = act.apply(y[2 * a + b][l] + bias[l] + rv[l]);
                        }
                    }
                }
                store(&mut out[at..], &px, n);
            }
        }
        c0 += n;
    }
}

/// The first `n <= L` values of `src` as lanes (the rest zero).
#[inline(always)]
fn load(src: &[f32], n: usize) -> [f32; L] {
    match <&[f32; L]>::try_from(&src[..n]) {
        Ok(a) => *a,
        Err(_) => {
            let mut a = [0f32; L];
            a[..n].copy_from_slice(&src[..n]);
            a
        }
    }
}

/// Writes the first `n <= L` lanes to `dst`.
#[inline(always)]
fn store(dst: &mut [f32], src: &[f32; L], n: usize) {
    match <&mut [f32; L]>::try_from(&mut dst[..n]) {
        Ok(d) => *d = *src,
        Err(_) => dst[..n].copy_from_slice(&src[..n]),
    }
}
