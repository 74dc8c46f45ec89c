//! Inverted dropout (kept values scaled by `1 / keep`, as Keras and PyTorch) with a
//! counter-based mask: element `i` of step `key` is kept when `hash(key, i)` falls under `keep`,
//! so masks are reproducible, need no generator state and fill in parallel.

use rayon::prelude::*;

use super::simd::multiversion;

/// SplitMix64 finaliser.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A key for one layer at one training step.
pub fn step_key(seed: u64, epoch: u64, step: u64, layer: u64) -> u64 {
    mix(mix(mix(seed ^ 0x6a09_e667_f3bc_c908) ^ epoch) ^ (step << 8 | layer))
}

const CHUNK: usize = 1 << 14;

/// Fills `mask` with `0` or `1 / (1 - rate)` and writes `y = x * mask`.
pub fn forward(rate: f32, key: u64, x: &[f32], y: &mut [f32], mask: &mut [f32]) {
    let keep = 1.0 - rate;
    let scale = 1.0 / keep;
    // Keep when the top 24 bits, as a fraction, are below `keep`.
    let threshold = (keep as f64 * (1u64 << 24) as f64) as u64;
    mask.par_chunks_mut(CHUNK)
        .zip(y.par_chunks_mut(CHUNK))
        .zip(x.par_chunks(CHUNK))
        .enumerate()
        .for_each(|(c, ((m, y), x))| {
            let base = (c * CHUNK) as u64;
            for (i, ((m, y), &x)) in m.iter_mut().zip(y).zip(x).enumerate() {
                let r =
                    mix(key.wrapping_add((base + i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)));
                *m = if (r >> 40) < threshold { scale } else { 0.0 };
                *y = x * *m;
            }
        });
}

multiversion! {
    /// `dx = dy * mask`.
    pub fn backward(dy: &[f32], mask: &[f32], dx: &mut [f32]) {
        for ((d, &g), &m) in dx.iter_mut().zip(dy).zip(mask) {
            *d = g * m;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_right_fraction_scaled_and_is_reproducible() {
        let x = vec![1.0f32; 100_000];
        let (mut y, mut m) = (vec![0.0; x.len()], vec![0.0; x.len()]);
        forward(0.25, step_key(1, 0, 0, 3), &x, &mut y, &mut m);
        let kept = y.iter().filter(|&&v| v != 0.0).count() as f64 / x.len() as f64;
        assert!((kept - 0.75).abs() < 0.01, "{kept}");
        assert!(y.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.75).abs() < 1e-6));
        let (mut y2, mut m2) = (vec![0.0; x.len()], vec![0.0; x.len()]);
        forward(0.25, step_key(1, 0, 0, 3), &x, &mut y2, &mut m2);
        assert_eq!(y, y2);
        forward(0.25, step_key(1, 0, 1, 3), &x, &mut y2, &mut m2);
        assert_ne!(y, y2);
        let mut dx = vec![0.0; x.len()];
        backward(&x, &m, &mut dx);
        assert_eq!(dx, y);
    }
}
