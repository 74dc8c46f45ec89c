//! The 64-bit perceptual hash (pHash): grey image resampled to 32 x 32, 2-D DCT-II, the 64
//! lowest-frequency AC coefficients (the top-left 8 x 8 block without the DC term, plus the
//! horizontal frequency 8), each bit saying whether its coefficient is above their median.
//!
//! Brightness offsets only move the DC term; contrast changes scale all coefficients alike;
//! small shifts, resizing, noise and JPEG re-encoding barely touch the low frequencies. So the
//! hash changes by a few bits under those edits and by about 32 between unrelated images.

use std::sync::OnceLock;

/// Side of the grey image the hash is computed from.
pub const SIDE: usize = 32;

/// Rows of the DCT basis that are needed (frequencies 0..=8).
pub(crate) const FREQS: usize = 9;

/// Orthonormal DCT-II basis rows: `basis[u][x] = a(u) cos((2x + 1) u pi / 64)`.
pub(crate) fn basis() -> &'static [[f32; SIDE]; FREQS] {
    static B: OnceLock<[[f32; SIDE]; FREQS]> = OnceLock::new();
    B.get_or_init(|| {
        let mut b = [[0f32; SIDE]; FREQS];
        for (u, row) in b.iter_mut().enumerate() {
            let a = if u == 0 {
                (1.0 / SIDE as f64).sqrt()
            } else {
                (2.0 / SIDE as f64).sqrt()
            };
            for (x, v) in row.iter_mut().enumerate() {
                let angle =
                    std::f64::consts::PI * (2 * x + 1) as f64 * u as f64 / (2 * SIDE) as f64;
                *v = (a * angle.cos()) as f32;
            }
        }
        b
    })
}

/// The (vertical, horizontal) frequencies whose coefficients make the 64 bits, in bit order.
pub(crate) fn bit_freqs() -> &'static [(usize, usize); 64] {
    static F: OnceLock<[(usize, usize); 64]> = OnceLock::new();
    F.get_or_init(|| {
        let mut f = [(0, 0); 64];
        let mut k = 0;
        for u in 0..8 {
            for v in 0..8 {
                if (u, v) != (0, 0) {
                    f[k] = (u, v);
                    k += 1;
                }
            }
        }
        f[63] = (0, 8);
        f
    })
}

/// Hash of a `SIDE x SIDE` grey image (row-major), and the 64 coefficients it was made of
/// scaled so the largest magnitude is 127 (all zero for a flat image).
pub(crate) fn phash(img: &[f32]) -> (u64, [[i8; 8]; 8]) {
    debug_assert_eq!(img.len(), SIDE * SIDE);
    let b = basis();
    // Vertical transform: t[u][x] = sum_y b[u][y] * img[y][x].
    let mut t = [[0f32; SIDE]; FREQS];
    for (y, row) in img.chunks_exact(SIDE).enumerate() {
        for u in 0..FREQS {
            let by = b[u][y];
            for (tv, &p) in t[u].iter_mut().zip(row) {
                *tv += by * p;
            }
        }
    }
    let mut coef = [0f32; 64];
    for (k, &(u, v)) in bit_freqs().iter().enumerate() {
        coef[k] = t[u].iter().zip(&b[v]).map(|(a, c)| a * c).sum();
    }
    from_coefficients(&coef)
}

/// The hash and scaled coefficients from the 64 coefficients in bit order.
pub(crate) fn from_coefficients(coef: &[f32; 64]) -> (u64, [[i8; 8]; 8]) {
    // The median of 64 values: the 33rd smallest and the largest of the 32 below it.
    let mut sorted = *coef;
    let (below, &mut upper, _) = sorted.select_nth_unstable_by(32, f32::total_cmp);
    let lower = below.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let median = 0.5 * (lower + upper);
    let hash = coef
        .iter()
        .enumerate()
        .fold(0u64, |h, (k, &c)| if c > median { h | (1 << k) } else { h });
    let peak = coef.iter().fold(0f32, |m, c| m.max(c.abs()));
    let mut q = [[0i8; 8]; 8];
    if peak > 1e-3 {
        for (k, &c) in coef.iter().enumerate() {
            q[k / 8][k % 8] = (c * 127.0 / peak).round().clamp(-127.0, 127.0) as i8;
        }
    }
    (hash, q)
}

/// Number of differing bits.
#[inline]
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(seed: u32, gain: f32, offset: f32) -> Vec<f32> {
        let mut img = vec![0f32; SIDE * SIDE];
        for y in 0..SIDE {
            for x in 0..SIDE {
                let (fx, fy) = (x as f32 / SIDE as f32, y as f32 / SIDE as f32);
                let s = seed as f32;
                let v = 128.0
                    + 40.0 * (fx * (3.0 + s) + fy * 2.0).sin()
                    + 25.0 * (fy * (5.0 + s * 0.7)).cos()
                    + 20.0 * ((fx - 0.5) * (fy - 0.3) * 20.0 * (1.0 + s * 0.3)).sin();
                img[y * SIDE + x] = (v * gain + offset).clamp(0.0, 255.0);
            }
        }
        img
    }

    #[test]
    fn brightness_and_contrast_do_not_change_the_hash_much() {
        let a = phash(&pattern(1, 1.0, 0.0)).0;
        let brighter = hamming(a, phash(&pattern(1, 1.0, 20.0)).0);
        assert!(brighter <= 2, "+20 brightness: {brighter} bits");
        let flatter = hamming(a, phash(&pattern(1, 0.8, 0.0)).0);
        assert!(flatter <= 2, "0.8 contrast: {flatter} bits");
        // (Shifts are measured end to end on whole images in tests/analyze/injected.rs: one
        // pixel of a 32 x 32 hash input is already a 3% shift.)
    }

    #[test]
    fn different_images_differ_by_many_bits() {
        let hashes: Vec<u64> = (0..6)
            .map(|s| phash(&pattern(s * 3 + 1, 1.0, 0.0)).0)
            .collect();
        for i in 0..hashes.len() {
            for j in i + 1..hashes.len() {
                assert!(hamming(hashes[i], hashes[j]) > 12, "{i} {j}");
            }
        }
    }

    #[test]
    fn hash_is_balanced() {
        let h = phash(&pattern(2, 1.0, 0.0)).0;
        assert_eq!(h.count_ones(), 32);
    }
}
