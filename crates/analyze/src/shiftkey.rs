//! Shift keys of small images: the perceptual hashes of the image moved by every shift of up to
//! [`MAX_SHIFT`] pixels, and its grey pixels for a pixel-level check.
//!
//! A 1-pixel shift of a 28 x 28 image moves its content by 3.6% of the side and changes up to
//! 22 bits of its perceptual hash, so hash matching misses shifted copies of small images
//! (augmentation leftovers). If `c` is `b` shifted by `d`, then `c` shifted back by `-d` is `b`
//! except for the few edge pixels the shift lost, so its hash is within a few bits of `b`'s.
//! The findings stage looks every shifted hash of every small image up among the plain hashes
//! of the others, and confirms a hit by the pixel correlation at that shift.
//!
//! The shifted hashes are computed exactly as [`crate::phash`] computes the plain one (area
//! resampling to 32 x 32, then the DCT), but in one separable pass: resampling and the DCT rows
//! are folded into one `9 x n` matrix per axis, and a shift only moves which of its columns
//! meet which pixels. The uncovered edge counts as 0 (as augmentation pads).

use serde::{Deserialize, Serialize};

use crate::phash::{basis, bit_freqs, from_coefficients, FREQS, SIDE};
use crate::resize::Axis;

/// Images with both sides at most this (decoded at full scale) get a shift key.
pub const MAX_SIDE: usize = 32;

/// Largest shift tried on each axis, in pixels.
pub const MAX_SHIFT: i32 = 2;

/// Number of shifts tried: every `(dx, dy)` in `-2..=2` but `(0, 0)`.
pub const SHIFTS: usize = ((2 * MAX_SHIFT + 1) * (2 * MAX_SHIFT + 1) - 1) as usize;

/// The shifts, in the order of [`ShiftKey::hashes`].
pub fn shifts() -> impl Iterator<Item = (i32, i32)> {
    (-MAX_SHIFT..=MAX_SHIFT)
        .flat_map(|dy| (-MAX_SHIFT..=MAX_SHIFT).map(move |dx| (dx, dy)))
        .filter(|&s| s != (0, 0))
}

/// What the findings need to match a small image against shifted copies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftKey {
    /// The perceptual hash of the image shifted by each of [`shifts`], in that order.
    pub hashes: Vec<u64>,
    /// The grey pixels (row-major, `width x height` of the sample).
    pub grey: Vec<u8>,
}

/// Per-thread matrices for the last image size seen.
#[derive(Default)]
pub(crate) struct ShiftScratch {
    dims: (usize, usize),
    /// `FREQS x h`: row `u` = DCT row `u` of the 32-point basis times the vertical resampling.
    a: Vec<f32>,
    /// `(2 MAX_SHIFT + 1) x FREQS x w`: the same for the horizontal axis, one copy per
    /// horizontal shift `dx` with its columns moved (`bs[dx][v][x] = b[v][x + dx]`, 0 outside),
    /// so each coefficient is one plain dot product the compiler vectorises.
    bs: Vec<f32>,
    /// `(2 MAX_SHIFT + 1) x FREQS x w`: the vertical transform of the image per vertical shift.
    v: Vec<f32>,
}

fn folded(n: usize) -> Vec<f32> {
    let r = Axis::dense(n, SIDE);
    let d = basis();
    let mut m = vec![0f32; FREQS * n];
    for u in 0..FREQS {
        for (y, out) in m[u * n..(u + 1) * n].iter_mut().enumerate() {
            *out = (0..SIDE).map(|yy| d[u][yy] * r[yy * n + y]).sum();
        }
    }
    m
}

/// The shift key of a `w x h` grey image, when it is small enough.
pub(crate) fn shift_key(grey: &[u8], w: usize, h: usize, s: &mut ShiftScratch) -> Option<ShiftKey> {
    if w > MAX_SIDE || h > MAX_SIDE || w < 4 || h < 4 || grey.len() != w * h {
        return None;
    }
    if s.dims != (w, h) {
        s.a = folded(h);
        let b = folded(w);
        let ns = (2 * MAX_SHIFT + 1) as usize;
        s.bs = vec![0f32; ns * FREQS * w];
        for (si, dx) in (-MAX_SHIFT..=MAX_SHIFT).enumerate() {
            for v in 0..FREQS {
                let out = &mut s.bs[(si * FREQS + v) * w..(si * FREQS + v + 1) * w];
                for (x, o) in out.iter_mut().enumerate() {
                    let xx = x as i32 + dx;
                    if xx >= 0 && xx < w as i32 {
                        *o = b[v * w + xx as usize];
                    }
                }
            }
        }
        s.dims = (w, h);
    }
    let ns = (2 * MAX_SHIFT + 1) as usize;
    s.v.clear();
    s.v.resize(ns * FREQS * w, 0.0);
    // v[dy][u][x] = sum over y of a[u][y + dy] * grey[y][x], for y + dy inside.
    for (si, dy) in (-MAX_SHIFT..=MAX_SHIFT).enumerate() {
        for u in 0..FREQS {
            let arow = &s.a[u * h..(u + 1) * h];
            let vrow = &mut s.v[(si * FREQS + u) * w..(si * FREQS + u + 1) * w];
            for (y, row) in grey.chunks_exact(w).enumerate() {
                let yy = y as i32 + dy;
                if yy < 0 || yy >= h as i32 {
                    continue;
                }
                let wt = arow[yy as usize];
                for (o, &p) in vrow.iter_mut().zip(row) {
                    *o += wt * f32::from(p);
                }
            }
        }
    }
    let freqs = bit_freqs();
    let mut hashes = Vec::with_capacity(SHIFTS);
    let mut coef = [0f32; 64];
    for (dx, dy) in shifts() {
        let (si, sx) = ((dy + MAX_SHIFT) as usize, (dx + MAX_SHIFT) as usize);
        for (k, &(u, v)) in freqs.iter().enumerate() {
            let vrow = &s.v[(si * FREQS + u) * w..(si * FREQS + u + 1) * w];
            let brow = &s.bs[(sx * FREQS + v) * w..(sx * FREQS + v + 1) * w];
            // sum over x of vrow[x] * b[v][x + dx], for x + dx inside.
            coef[k] = dot(vrow, brow);
        }
        hashes.push(from_coefficients(&coef).0);
    }
    Some(ShiftKey {
        hashes,
        grey: grey.to_vec(),
    })
}

/// Dot product in 8 independent lanes (vectorises without fast-math).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Pixel correlation of `a` shifted by `(dx, dy)` (0 where uncovered) with `b`, both `w x h`;
/// 0 when either is flat.
///
/// The sums are taken in integers over the covered part only: they are exact, so the result is
/// the same as summing every pixel in `f64`.
pub(crate) fn shifted_correlation(a: &[u8], b: &[u8], w: usize, h: usize, dx: i32, dy: i32) -> f64 {
    debug_assert!(a.len() == w * h && b.len() == w * h && w <= 1 << 16);
    let n = (w * h) as f64;
    let (mut sb, mut sbb) = (0u64, 0u64);
    for row in b.chunks_exact(w.max(1)).take(h) {
        let (mut s1, mut s2) = (0u32, 0u32);
        for &v in row {
            s1 += u32::from(v);
            s2 += u32::from(v) * u32::from(v);
        }
        sb += u64::from(s1);
        sbb += u64::from(s2);
    }
    // Target pixels (x, y) covered by the shifted `a`: x - dx and y - dy inside.
    let span = |d: i32, n: usize| -> (usize, usize) {
        let n = n as i64;
        let lo = i64::from(d).clamp(0, n);
        let hi = (n + i64::from(d)).clamp(0, n);
        (lo as usize, hi.max(lo) as usize)
    };
    let ((x0, x1), (y0, y1)) = (span(dx, w), span(dy, h));
    let (mut sa, mut saa, mut sab) = (0u64, 0u64, 0u64);
    let covered = if x0 < x1 { y0..y1 } else { 0..0 };
    for y in covered {
        let ay = (y as i64 - i64::from(dy)) as usize;
        let ax = (x0 as i64 - i64::from(dx)) as usize;
        let ar = &a[ay * w + ax..ay * w + ax + (x1 - x0)];
        let br = &b[y * w + x0..y * w + x1];
        let (mut s1, mut s2, mut s3) = (0u32, 0u32, 0u32);
        for (&p, &q) in ar.iter().zip(br) {
            let (p, q) = (u32::from(p), u32::from(q));
            s1 += p;
            s2 += p * p;
            s3 += p * q;
        }
        sa += u64::from(s1);
        saa += u64::from(s2);
        sab += u64::from(s3);
    }
    let (sa, sb, saa, sbb, sab) = (sa as f64, sb as f64, saa as f64, sbb as f64, sab as f64);
    let cov = sab - sa * sb / n;
    let (va, vb) = (saa - sa * sa / n, sbb - sb * sb / n);
    if va <= 1e-9 || vb <= 1e-9 {
        return 0.0;
    }
    cov / (va * vb).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phash::{hamming, phash};
    use crate::resize::Resampler;

    fn pattern(w: usize, h: usize) -> Vec<u8> {
        (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f32, (i / w) as f32);
                let r = ((x - 12.0).powi(2) / 40.0 + (y - 14.0).powi(2) / 70.0).sqrt();
                if r < 1.0 {
                    (150.0 + 60.0 * (x * 0.7).sin() + 2.0 * y) as u8
                } else {
                    0
                }
            })
            .collect()
    }

    fn shift(img: &[u8], w: usize, h: usize, dx: i32, dy: i32) -> Vec<u8> {
        let mut out = vec![0u8; w * h];
        for y in 0..h as i32 {
            for x in 0..w as i32 {
                let (sx, sy) = (x - dx, y - dy);
                if sx >= 0 && sy >= 0 && sx < w as i32 && sy < h as i32 {
                    out[y as usize * w + x as usize] = img[sy as usize * w + sx as usize];
                }
            }
        }
        out
    }

    fn plain(img: &[u8], w: usize, h: usize) -> u64 {
        let mut out = Vec::new();
        Resampler::default().resize(img, w, h, 1, SIDE, SIDE, &mut out);
        phash(&out).0
    }

    /// The pass time the shift key adds: the key of every Fashion-MNIST image on one thread
    /// (`cargo test -p dlscope-analyze --lib shift_key_cost -- --ignored --nocapture`).
    #[test]
    #[ignore = "timing; run by hand on a quiet machine"]
    fn shift_key_cost() {
        let dir = std::path::Path::new("/usr/share/datasets/fashion-mnist");
        let Ok(ds) = dlscope_data::idx::open_dir(dir) else {
            return;
        };
        let mut images = Vec::new();
        for split in &ds.splits {
            for i in 0..split.len() {
                images.push(split.get(i).expect("decodes").image.data);
            }
        }
        let mut s = ShiftScratch::default();
        let t = std::time::Instant::now();
        let mut bits = 0u32;
        for img in &images {
            let k = shift_key(img, 28, 28, &mut s).expect("small");
            bits += k.hashes[0].count_ones();
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "shift keys of {} images: {secs:.2} s on one thread ({:.1} us each; {bits})",
            images.len(),
            secs * 1e6 / images.len() as f64
        );
    }

    #[test]
    fn shifted_hashes_are_the_hashes_of_the_shifted_images() {
        let (w, h) = (28, 26);
        let img = pattern(w, h);
        let key = shift_key(&img, w, h, &mut ShiftScratch::default()).expect("small");
        assert_eq!(key.hashes.len(), SHIFTS);
        for ((dx, dy), &k) in shifts().zip(&key.hashes) {
            let direct = plain(&shift(&img, w, h, dx, dy), w, h);
            assert!(
                hamming(k, direct) <= 1,
                "({dx}, {dy}): {}",
                hamming(k, direct)
            );
        }
    }

    /// The straightforward `f64` sum over every pixel, as the correlation was first written.
    fn correlation_reference(a: &[u8], b: &[u8], w: usize, h: usize, dx: i32, dy: i32) -> f64 {
        let n = (w * h) as f64;
        let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0f64, 0f64, 0f64, 0f64, 0f64);
        for y in 0..h as i32 {
            for x in 0..w as i32 {
                let (ax, ay) = (x - dx, y - dy);
                let va = if ax >= 0 && ay >= 0 && ax < w as i32 && ay < h as i32 {
                    f64::from(a[ay as usize * w + ax as usize])
                } else {
                    0.0
                };
                let vb = f64::from(b[y as usize * w + x as usize]);
                sa += va;
                sb += vb;
                saa += va * va;
                sbb += vb * vb;
                sab += va * vb;
            }
        }
        let cov = sab - sa * sb / n;
        let (va, vb) = (saa - sa * sa / n, sbb - sb * sb / n);
        if va <= 1e-9 || vb <= 1e-9 {
            return 0.0;
        }
        cov / (va * vb).sqrt()
    }

    #[test]
    fn integer_correlation_equals_the_f64_sum_exactly() {
        let (w, h) = (28, 26);
        let img = pattern(w, h);
        let mut seen_high = false;
        for (sx, sy) in [(0, 0), (1, 0), (-2, 1), (2, 2), (-1, -2)] {
            let other = shift(&img, w, h, sx, sy);
            for dx in -3..=3 {
                for dy in -3..=3 {
                    let got = shifted_correlation(&img, &other, w, h, dx, dy);
                    let want = correlation_reference(&img, &other, w, h, dx, dy);
                    assert_eq!(
                        got.to_bits(),
                        want.to_bits(),
                        "({dx}, {dy}): {got} vs {want}"
                    );
                    seen_high |= got > 0.99;
                }
            }
        }
        assert!(seen_high);
        let flat = vec![9u8; w * h];
        assert_eq!(shifted_correlation(&flat, &img, w, h, 0, 0), 0.0);
        // Shifts past the whole image leave nothing covered.
        assert_eq!(shifted_correlation(&img, &img, w, h, 40, 0), 0.0);
    }

    #[test]
    fn a_shifted_copy_shifted_back_matches_and_correlates() {
        let (w, h) = (28, 28);
        let img = pattern(w, h);
        let copy = shift(&img, w, h, 2, -1);
        let key = shift_key(&copy, w, h, &mut ShiftScratch::default()).expect("small");
        let back = shifts().position(|s| s == (-2, 1)).expect("shift");
        let base = plain(&img, w, h);
        assert!(hamming(key.hashes[back], base) <= 2);
        assert!(
            hamming(plain(&copy, w, h), base) > 4,
            "plain hashes already match"
        );
        assert!(shifted_correlation(&copy, &img, w, h, -2, 1) > 0.99);
        assert!(shifted_correlation(&copy, &img, w, h, 0, 0) < 0.95);
        assert!(shift_key(&[0u8; 40 * 40], 40, 40, &mut ShiftScratch::default()).is_none());
    }
}
