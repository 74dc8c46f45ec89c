//! From 8-bit pixels to network inputs: scaling (`/255`) or per-channel standardisation computed
//! from the training data, plus resizing and channel conversion so that any image fits a model.

use dlscope_data::{Image, Shape};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Which normalisation to fit on the training data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NormalizationKind {
    /// `x / 255` (the Keras tutorial's preprocessing).
    #[default]
    Scale,
    /// `(x / 255 - mean[c]) / std[c]` with mean and std measured per channel.
    Standardize,
}

/// A fitted normalisation, stored with the model so inference applies the same one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Normalization {
    Scale,
    Standardize { mean: Vec<f32>, std: Vec<f32> },
}

/// Standard deviations below this are treated as 1 (a constant channel carries no signal).
const MIN_STD: f64 = 1e-6;

impl Normalization {
    /// Fits `kind` on `pixels` (interleaved, `channels` per pixel).
    pub fn fit(kind: NormalizationKind, pixels: &[u8], channels: usize) -> Self {
        match kind {
            NormalizationKind::Scale => Normalization::Scale,
            NormalizationKind::Standardize => {
                let channels = channels.max(1);
                // Exact integer histograms per channel, then moments in f64.
                let hist = pixels
                    .par_chunks(channels * 4096)
                    .fold(
                        || vec![[0u64; 256]; channels],
                        |mut h, chunk| {
                            for px in chunk.chunks_exact(channels) {
                                for (c, &v) in px.iter().enumerate() {
                                    h[c][v as usize] += 1;
                                }
                            }
                            h
                        },
                    )
                    .reduce(
                        || vec![[0u64; 256]; channels],
                        |mut a, b| {
                            for (ha, hb) in a.iter_mut().zip(&b) {
                                for (x, y) in ha.iter_mut().zip(hb) {
                                    *x += y;
                                }
                            }
                            a
                        },
                    );
                let mut mean = Vec::with_capacity(channels);
                let mut std = Vec::with_capacity(channels);
                for h in &hist {
                    let n: u64 = h.iter().sum();
                    let n = n.max(1) as f64;
                    let m = h
                        .iter()
                        .enumerate()
                        .map(|(v, &c)| v as f64 / 255.0 * c as f64)
                        .sum::<f64>()
                        / n;
                    let var = h
                        .iter()
                        .enumerate()
                        .map(|(v, &c)| (v as f64 / 255.0 - m).powi(2) * c as f64)
                        .sum::<f64>()
                        / n;
                    mean.push(m as f32);
                    std.push(if var.sqrt() < MIN_STD {
                        1.0
                    } else {
                        var.sqrt() as f32
                    });
                }
                Normalization::Standardize { mean, std }
            }
        }
    }

    /// Writes normalised values of `pixels` into `out` (same length).
    pub fn apply(&self, pixels: &[u8], channels: usize, out: &mut [f32]) {
        const CHUNK: usize = 1 << 16;
        match self {
            Normalization::Scale => {
                out.par_chunks_mut(CHUNK)
                    .zip(pixels.par_chunks(CHUNK))
                    .for_each(|(o, p)| {
                        for (o, &p) in o.iter_mut().zip(p) {
                            *o = p as f32 / 255.0;
                        }
                    });
            }
            Normalization::Standardize { mean, std } => {
                let channels = channels.max(1);
                // Per-value lookup table: 256 values per channel.
                let table: Vec<f32> = (0..channels)
                    .flat_map(|c| {
                        let (m, s) = (mean[c.min(mean.len() - 1)], std[c.min(std.len() - 1)]);
                        (0..256).map(move |v| (v as f32 / 255.0 - m) / s)
                    })
                    .collect();
                let chunk = CHUNK - CHUNK % channels;
                out.par_chunks_mut(chunk)
                    .zip(pixels.par_chunks(chunk))
                    .for_each(|(o, p)| {
                        for (i, (o, &p)) in o.iter_mut().zip(p).enumerate() {
                            *o = table[(i % channels) * 256 + p as usize];
                        }
                    });
            }
        }
    }

    /// Normalised copy of `pixels`.
    pub fn to_f32(&self, pixels: &[u8], channels: usize) -> Vec<f32> {
        let mut out = vec![0.0; pixels.len()];
        self.apply(pixels, channels, &mut out);
        out
    }
}

/// Bilinear resize of an interleaved `from` image to `height x width` (pixel centres aligned,
/// as `tf.image.resize` and PIL without antialiasing).
pub fn resize(src: &[u8], from: Shape, height: usize, width: usize) -> Vec<u8> {
    let (sh, sw, c) = (
        from.height as usize,
        from.width as usize,
        from.channels as usize,
    );
    if (sh, sw) == (height, width) {
        return src.to_vec();
    }
    let mut out = vec![0u8; height * width * c];
    if sh == 0 || sw == 0 {
        return out;
    }
    let axis = |dst: usize, n: usize| -> Vec<(usize, usize, f32)> {
        let scale = n as f32 / dst as f32;
        (0..dst)
            .map(|i| {
                let s = ((i as f32 + 0.5) * scale - 0.5).clamp(0.0, (n - 1) as f32);
                let i0 = s.floor() as usize;
                let i1 = (i0 + 1).min(n - 1);
                (i0, i1, s - i0 as f32)
            })
            .collect()
    };
    let (ys, xs) = (axis(height, sh), axis(width, sw));
    for (y, &(y0, y1, fy)) in ys.iter().enumerate() {
        for (x, &(x0, x1, fx)) in xs.iter().enumerate() {
            for ch in 0..c {
                let p = |yy: usize, xx: usize| src[(yy * sw + xx) * c + ch] as f32;
                let top = p(y0, x0) * (1.0 - fx) + p(y0, x1) * fx;
                let bottom = p(y1, x0) * (1.0 - fx) + p(y1, x1) * fx;
                let v = top * (1.0 - fy) + bottom * fy;
                out[(y * width + x) * c + ch] = v.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    out
}

/// Converts interleaved pixels between 1 (grey), 3 (RGB) and 4 (RGBA) channels: grey is
/// replicated, colour becomes grey by ITU-R 601 luma, alpha is dropped.
pub fn convert_channels(src: &[u8], from: usize, to: usize) -> Vec<u8> {
    if from == to {
        return src.to_vec();
    }
    let pixels = src.len() / from.max(1);
    let mut out = Vec::with_capacity(pixels * to);
    for px in src.chunks_exact(from) {
        let rgb = if from >= 3 {
            [px[0], px[1], px[2]]
        } else {
            [px[0]; 3]
        };
        match to {
            1 => {
                let y = 0.299 * rgb[0] as f32 + 0.587 * rgb[1] as f32 + 0.114 * rgb[2] as f32;
                out.push(y.round().clamp(0.0, 255.0) as u8);
            }
            _ => {
                out.extend_from_slice(&rgb);
                out.extend(std::iter::repeat_n(255, to.saturating_sub(3)));
            }
        }
    }
    out
}

/// An image brought to `target` (channels converted, then resized).
pub fn conform(image: &Image, target: Shape) -> Vec<u8> {
    let c = convert_channels(
        &image.data,
        image.channels as usize,
        target.channels as usize,
    );
    let from = Shape::new(image.height, image.width, target.channels);
    resize(&c, from, target.height as usize, target.width as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standardize_gives_zero_mean_unit_variance_per_channel() {
        // Two channels: the first ramps 0..=255, the second is constant.
        let pixels: Vec<u8> = (0..=255u8).flat_map(|v| [v, 7]).collect();
        let norm = Normalization::fit(NormalizationKind::Standardize, &pixels, 2);
        let out = norm.to_f32(&pixels, 2);
        let first: Vec<f32> = out.iter().step_by(2).copied().collect();
        let mean = first.iter().sum::<f32>() / first.len() as f32;
        let var = first.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / first.len() as f32;
        assert!(
            mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-4,
            "{mean} {var}"
        );
        // The constant channel is centred, not blown up.
        assert!(out.iter().skip(1).step_by(2).all(|v| v.abs() < 1e-6));
        let scale = Normalization::fit(NormalizationKind::Scale, &pixels, 2).to_f32(&[255, 0], 2);
        assert_eq!(scale, [1.0, 0.0]);
    }

    #[test]
    fn resize_keeps_constant_images_and_interpolates_ramps() {
        let flat = vec![100u8; 4 * 6 * 3];
        assert_eq!(
            resize(&flat, Shape::new(4, 6, 3), 9, 2),
            vec![100u8; 9 * 2 * 3]
        );
        // Upscaling a 1x2 ramp [0, 200] to 1x4: centres at -0.25, 0.25, 0.75, 1.25.
        let up = resize(&[0, 200], Shape::new(1, 2, 1), 1, 4);
        assert_eq!(up, [0, 50, 150, 200]);
        let down = resize(&[0, 100, 200, 250], Shape::new(1, 4, 1), 1, 2);
        assert_eq!(down, [50, 225]);
    }

    #[test]
    fn channel_conversion_round_trips_grey() {
        let rgb = convert_channels(&[10, 200], 1, 3);
        assert_eq!(rgb, [10, 10, 10, 200, 200, 200]);
        assert_eq!(convert_channels(&rgb, 3, 1), [10, 200]);
        assert_eq!(convert_channels(&[255, 0, 0, 9], 4, 1), [76]);
    }
}
