//! Image resizing that gives the same bytes as Pillow's `Image.resize` on 8-bit images, so that
//! a port of a Python pipeline (Keras' `load_img`, torchvision's PIL transforms, the TF
//! EfficientNet eval crop) feeds the network the same pixels.
//!
//! * [`Filter::Nearest`]: Pillow's affine nearest neighbour, source pixel
//!   `floor((x + 0.5) * in / out)`, positions accumulated in f64 as Pillow does
//!   (`ImagingScaleAffine` in `libImaging/Geometry.c`). Keras' `load_img` default.
//! * [`Filter::Bilinear`] (triangle, support 1) and [`Filter::Bicubic`] (Keys cubic, a = -0.5,
//!   support 2): Pillow's separable convolution resampler (`libImaging/Resample.c`). The kernel is
//!   widened by the scale factor when shrinking (antialiasing); coefficients are normalised and
//!   turned into 22-bit fixed point; the horizontal pass runs first and is rounded and clamped to
//!   u8, then the vertical pass.
//!
//! ```
//! use dlscope_vision::resample::{resize, Filter, Pixels};
//! let img = Pixels { width: 4, height: 2, channels: 3, data: vec![128; 24] };
//! let out = resize(&img, 2, 1, Filter::Bicubic);
//! assert_eq!((out.width, out.height, out.data.len()), (2, 1, 6));
//! assert!(out.data.iter().all(|&v| v == 128));
//! ```

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Resampling filter, named as in Pillow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Filter {
    Nearest,
    Bilinear,
    Bicubic,
}

impl Filter {
    pub fn as_str(&self) -> &'static str {
        match self {
            Filter::Nearest => "nearest",
            Filter::Bilinear => "bilinear",
            Filter::Bicubic => "bicubic",
        }
    }

    /// Parses `nearest`, `bilinear` or `bicubic`.
    pub fn parse(s: &str) -> Option<Filter> {
        match s.to_ascii_lowercase().as_str() {
            "nearest" => Some(Filter::Nearest),
            "bilinear" | "linear" => Some(Filter::Bilinear),
            "bicubic" | "cubic" => Some(Filter::Bicubic),
            _ => None,
        }
    }

    fn support(&self) -> f64 {
        match self {
            Filter::Nearest => 0.0,
            Filter::Bilinear => 1.0,
            Filter::Bicubic => 2.0,
        }
    }

    fn eval(&self, x: f64) -> f64 {
        let x = x.abs();
        match self {
            Filter::Nearest => 0.0,
            Filter::Bilinear => {
                if x < 1.0 {
                    1.0 - x
                } else {
                    0.0
                }
            }
            Filter::Bicubic => {
                const A: f64 = -0.5;
                if x < 1.0 {
                    ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
                } else if x < 2.0 {
                    (((x - 5.0) * x + 8.0) * x - 4.0) * A
                } else {
                    0.0
                }
            }
        }
    }
}

impl std::fmt::Display for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An 8-bit image, row-major, interleaved channels (H x W x C).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pixels {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    pub data: Vec<u8>,
}

impl Pixels {
    /// The rectangle `[left, left + width) x [top, top + height)`; the caller keeps it inside.
    pub fn crop(&self, left: usize, top: usize, width: usize, height: usize) -> Pixels {
        let c = self.channels;
        let mut data = Vec::with_capacity(width * height * c);
        for y in top..top + height {
            let row = (y * self.width + left) * c;
            data.extend_from_slice(&self.data[row..row + width * c]);
        }
        Pixels {
            width,
            height,
            channels: c,
            data,
        }
    }
}

/// Resizes `src` to `out_w` x `out_h` as Pillow's `Image.resize((out_w, out_h), filter)` does.
/// An empty source or target gives an empty image of the target size.
pub fn resize(src: &Pixels, out_w: usize, out_h: usize, filter: Filter) -> Pixels {
    let c = src.channels;
    if src.width == out_w && src.height == out_h {
        return src.clone();
    }
    if src.width == 0 || src.height == 0 || out_w == 0 || out_h == 0 {
        return Pixels {
            width: out_w,
            height: out_h,
            channels: c,
            data: vec![0; out_w * out_h * c],
        };
    }
    if filter == Filter::Nearest {
        return nearest(src, out_w, out_h);
    }
    let (hb, hk, hks) = coefficients(src.width, out_w, filter);
    let (mut vb, vk, vks) = coefficients(src.height, out_h, filter);
    // Horizontal pass over the rows the vertical pass reads (Pillow's ybox_first..ybox_last).
    let need_h = out_w != src.width;
    let need_v = out_h != src.height;
    let tmp = if need_h {
        let first = vb[0].0;
        let last = vb[out_h - 1].0 + vb[out_h - 1].1;
        for b in vb.iter_mut() {
            b.0 -= first;
        }
        let mut tmp = vec![0u8; out_w * (last - first) * c];
        tmp.par_chunks_exact_mut(out_w * c)
            .enumerate()
            .for_each(|(ty, row)| {
                let srow = &src.data[(ty + first) * src.width * c..][..src.width * c];
                for (x, &(xmin, xn)) in hb.iter().enumerate() {
                    let k = &hk[x * hks..][..xn];
                    for ch in 0..c {
                        let mut ss: i64 = 1 << (PRECISION_BITS - 1);
                        for (i, &kv) in k.iter().enumerate() {
                            ss += i64::from(srow[(xmin + i) * c + ch]) * i64::from(kv);
                        }
                        row[x * c + ch] = clip8(ss);
                    }
                }
            });
        Pixels {
            width: out_w,
            height: last - first,
            channels: c,
            data: tmp,
        }
    } else {
        src.clone()
    };
    if !need_v {
        return tmp;
    }
    let w = tmp.width;
    let mut out = vec![0u8; w * out_h * c];
    out.par_chunks_exact_mut(w * c)
        .enumerate()
        .for_each(|(y, row)| {
            let (ymin, yn) = vb[y];
            let k = &vk[y * vks..][..yn];
            for (xc, o) in row.iter_mut().enumerate() {
                let mut ss: i64 = 1 << (PRECISION_BITS - 1);
                for (i, &kv) in k.iter().enumerate() {
                    ss += i64::from(tmp.data[(ymin + i) * w * c + xc]) * i64::from(kv);
                }
                *o = clip8(ss);
            }
        });
    Pixels {
        width: w,
        height: out_h,
        channels: c,
        data: out,
    }
}

const PRECISION_BITS: u32 = 32 - 8 - 2;

fn clip8(ss: i64) -> u8 {
    if ss >= (1i64 << PRECISION_BITS << 8) {
        255
    } else if ss <= 0 {
        0
    } else {
        (ss >> PRECISION_BITS) as u8
    }
}

/// Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for a full-image box: per output
/// position (first input index, count), the fixed-point weights, and the row stride of weights.
#[allow(clippy::type_complexity)]
fn coefficients(
    in_size: usize,
    out_size: usize,
    filter: Filter,
) -> (Vec<(usize, usize)>, Vec<i32>, usize) {
    let scale = in_size as f64 / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = filter.support() * filterscale;
    let ksize = support.ceil() as usize * 2 + 1;
    let mut bounds = Vec::with_capacity(out_size);
    let mut kk = vec![0i32; out_size * ksize];
    let mut w = vec![0f64; ksize];
    for xx in 0..out_size {
        let center = (xx as f64 + 0.5) * scale;
        let ss = 1.0 / filterscale;
        // C casts truncate toward zero; negative starts are clamped to 0 right after.
        let xmin = ((center - support + 0.5) as i64).max(0) as usize;
        let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
        let n = xmax.saturating_sub(xmin).min(ksize);
        let mut ww = 0.0;
        for (x, wx) in w.iter_mut().enumerate().take(n) {
            *wx = filter.eval((x as f64 + xmin as f64 - center + 0.5) * ss);
            ww += *wx;
        }
        let k = &mut kk[xx * ksize..][..ksize];
        for x in 0..n {
            let v = if ww != 0.0 { w[x] / ww } else { w[x] };
            let f = v * f64::from(1u32 << PRECISION_BITS);
            k[x] = if v < 0.0 {
                (-0.5 + f) as i32
            } else {
                (0.5 + f) as i32
            };
        }
        bounds.push((xmin, n));
    }
    (bounds, kk, ksize)
}

/// Pillow's nearest-neighbour resize (affine scaling with positions accumulated in f64).
fn nearest(src: &Pixels, out_w: usize, out_h: usize) -> Pixels {
    let c = src.channels;
    let positions = |in_size: usize, out_size: usize| -> Vec<Option<usize>> {
        let a = in_size as f64 / out_size as f64;
        let mut o = a * 0.5;
        (0..out_size)
            .map(|_| {
                let p = if o < 0.0 { None } else { Some(o as usize) };
                o += a;
                p.filter(|&p| p < in_size)
            })
            .collect()
    };
    let xs = positions(src.width, out_w);
    let ys = positions(src.height, out_h);
    let mut data = vec![0u8; out_w * out_h * c];
    for (row, sy) in data.chunks_exact_mut(out_w * c).zip(&ys) {
        let Some(sy) = *sy else { continue };
        let srow = &src.data[sy * src.width * c..][..src.width * c];
        for (px, sx) in row.chunks_exact_mut(c).zip(&xs) {
            if let Some(sx) = *sx {
                px.copy_from_slice(&srow[sx * c..][..c]);
            }
        }
    }
    Pixels {
        width: out_w,
        height: out_h,
        channels: c,
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(w: usize, h: usize) -> Pixels {
        let data = (0..w * h * 3).map(|i| (i * 37 % 251) as u8).collect();
        Pixels {
            width: w,
            height: h,
            channels: 3,
            data,
        }
    }

    #[test]
    fn nearest_picks_centres() {
        let img = ramp(4, 1);
        let out = resize(&img, 2, 1, Filter::Nearest);
        // floor((x + 0.5) * 2) = 1, 3
        assert_eq!(&out.data[..3], &img.data[3..6]);
        assert_eq!(&out.data[3..], &img.data[9..12]);
    }

    #[test]
    fn coefficients_sum_to_one_in_fixed_point() {
        for (i, o) in [(186, 224), (320, 224), (7, 3), (3, 7)] {
            for f in [Filter::Bilinear, Filter::Bicubic] {
                let (b, k, ks) = coefficients(i, o, f);
                for (x, &(_, n)) in b.iter().enumerate() {
                    let s: i64 = k[x * ks..][..n].iter().map(|&v| i64::from(v)).sum();
                    assert!(
                        (s - (1 << PRECISION_BITS)).abs() <= n as i64,
                        "{i}->{o} {f}"
                    );
                }
            }
        }
    }

    #[test]
    fn crop_takes_the_rectangle() {
        let img = ramp(5, 4);
        let c = img.crop(1, 2, 3, 2);
        assert_eq!((c.width, c.height), (3, 2));
        assert_eq!(&c.data[..9], &img.data[(2 * 5 + 1) * 3..(2 * 5 + 4) * 3]);
    }
}
