//! Features of one decoded image, computed with thread-local scratch buffers.

use dlscope_data::Image;

use crate::features::ImageFeatures;
use crate::phash;
use crate::resize::{fit_within, Resampler};
use crate::shiftkey::{shift_key, ShiftScratch};

/// Largest side of the grey copy the sharpness score is computed on.
pub const SHARPNESS_SIDE: usize = 64;

/// Size of the per-class mean images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MeanImageSpec {
    pub width: u32,
    pub height: u32,
    /// 1 or 3.
    pub channels: u8,
}

impl MeanImageSpec {
    pub fn len(&self) -> usize {
        self.width as usize * self.height as usize * self.channels as usize
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Per-thread buffers, grown once and reused for every sample.
pub(crate) struct Scratch {
    grey: Vec<u8>,
    work: Vec<f32>,
    small: Vec<f32>,
    mean_px: Vec<f32>,
    rgb: Vec<u8>,
    rs: Resampler,
    shift: ShiftScratch,
    /// Per-channel 256-bin histograms of the current image.
    pub(crate) hist: [[u32; 256]; 4],
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch {
            grey: Vec::new(),
            work: Vec::new(),
            small: Vec::new(),
            mean_px: Vec::new(),
            rgb: Vec::new(),
            rs: Resampler::default(),
            shift: ShiftScratch::default(),
            hist: [[0; 256]; 4],
        }
    }
}

/// Computes the features of `img` (decoded at `1/scale` of `orig_w x orig_h`), leaves its
/// per-channel histograms in `s.hist`, and writes its mean-image contribution into `mean_out`
/// (`spec.len()` bytes).
pub(crate) fn measure(
    img: &Image,
    orig_w: u32,
    orig_h: u32,
    scale: u8,
    spec: &MeanImageSpec,
    mean_out: &mut [u8],
    s: &mut Scratch,
) -> ImageFeatures {
    let (w, h, c) = (
        img.width as usize,
        img.height as usize,
        img.channels as usize,
    );
    let n = (w * h).max(1);
    let data = &img.data;

    // Histograms per channel and of grey, grey itself and chroma.
    for hst in s.hist.iter_mut() {
        hst.fill(0);
    }
    let mut grey_hist = [0u32; 256];
    let mut chroma_sum = 0u64;
    if c == 1 {
        for &v in data {
            s.hist[0][v as usize] += 1;
        }
    } else {
        s.grey.resize(data.len() / c, 0);
        chroma_sum = grey_and_chroma(data, c, &mut s.grey);
        let [h0, h1, h2, h3] = &mut s.hist;
        if c == 3 {
            for (px, &g) in data.chunks_exact(3).zip(&s.grey) {
                h0[px[0] as usize] += 1;
                h1[px[1] as usize] += 1;
                h2[px[2] as usize] += 1;
                grey_hist[g as usize] += 1;
            }
        } else {
            for (px, &g) in data.chunks_exact(c).zip(&s.grey) {
                h0[px[0] as usize] += 1;
                h1[px[1] as usize] += 1;
                h2[px[2] as usize] += 1;
                h3[px[3] as usize] += 1;
                grey_hist[g as usize] += 1;
            }
        }
    }
    let grey: &[u8] = if c == 1 { data } else { &s.grey };

    let mut mean = [0f32; 4];
    let mut std = [0f32; 4];
    let mut range = 0u8;
    for ch in 0..c {
        let (m, sd, lo, hi) = hist_stats(&s.hist[ch]);
        mean[ch] = m as f32;
        std[ch] = sd as f32;
        if ch < 3 {
            range = range.max(hi - lo);
        }
    }

    // Grey statistics.
    let gh: &[u32; 256] = if c == 1 { &s.hist[0] } else { &grey_hist };
    let (brightness, contrast, _, _) = hist_stats(gh);
    let grey_p05 = percentile(gh, n, 0.05);
    let grey_p99 = percentile(gh, n, 0.99);
    let entropy = gh
        .iter()
        .filter(|&&k| k > 0)
        .map(|&k| {
            let p = k as f64 / n as f64;
            -p * p.log2()
        })
        .sum::<f64>();

    // Sharpness on a grey copy fitted within 64 x 64.
    let (ww, wh) = fit_within(w, h, SHARPNESS_SIDE);
    s.rs.resize_u8(grey, w, h, 1, ww, wh, &mut s.work);
    let sharpness = sharpness(&s.work, ww, wh);

    // Perceptual hash and low-frequency DCT from 32 x 32.
    s.rs.resize(&s.work, ww, wh, 1, phash::SIDE, phash::SIDE, &mut s.small);
    let (phash, dct) = phash::phash(&s.small);
    // Shift key of small images (the plain hash above is computed from the same pixels).
    let shift = if scale == 1 && (ww, wh) == (w, h) {
        shift_key(grey, w, h, &mut s.shift)
    } else {
        None
    };

    mean_image(
        img,
        grey,
        spec,
        mean_out,
        &mut s.rs,
        &mut s.mean_px,
        &mut s.rgb,
    );

    ImageFeatures {
        width: orig_w,
        height: orig_h,
        channels: img.channels,
        decode_scale: scale,
        mean,
        std,
        brightness: brightness as f32,
        contrast: contrast as f32,
        grey_p99,
        grey_p05,
        entropy: entropy as f32,
        sharpness,
        chroma: (chroma_sum as f64 / n as f64) as f32,
        range,
        pixel_hash: xxhash_rust::xxh3::xxh3_64(data),
        phash,
        dct,
        shift,
    }
}

/// Writes the grey of every pixel of `data` (`c` >= 3 interleaved channels) into `grey` and
/// returns the summed chroma (max - min of R, G, B). Three-channel pixels go in blocks of 16
/// the compiler vectorises.
fn grey_and_chroma(data: &[u8], c: usize, grey: &mut [u8]) -> u64 {
    #[inline(always)]
    fn one(r: u8, g: u8, b: u8) -> (u8, u32) {
        let (r, g, b) = (u32::from(r), u32::from(g), u32::from(b));
        let y = ((77 * r + 150 * g + 29 * b + 128) >> 8) as u8;
        (y, r.max(g).max(b) - r.min(g).min(b))
    }
    let mut chroma = 0u64;
    if c != 3 {
        for (px, y) in data.chunks_exact(c).zip(grey.iter_mut()) {
            let (g, k) = one(px[0], px[1], px[2]);
            *y = g;
            chroma += u64::from(k);
        }
        return chroma;
    }
    let blocks = data.chunks_exact(48).zip(grey.chunks_exact_mut(16));
    for (px, y) in blocks {
        let mut k = 0u32;
        for (i, yy) in y.iter_mut().enumerate() {
            let (g, kk) = one(px[3 * i], px[3 * i + 1], px[3 * i + 2]);
            *yy = g;
            k += kk;
        }
        chroma += u64::from(k);
    }
    let done = data.len() / 48 * 16;
    for (px, y) in data[done * 3..]
        .chunks_exact(3)
        .zip(grey[done..].iter_mut())
    {
        let (g, k) = one(px[0], px[1], px[2]);
        *y = g;
        chroma += u64::from(k);
    }
    chroma
}

#[inline]
fn to_u8(v: f32) -> u8 {
    (v + 0.5).clamp(0.0, 255.0) as u8
}

/// Mean, standard deviation, min and max of a 256-bin histogram.
fn hist_stats(h: &[u32; 256]) -> (f64, f64, u8, u8) {
    let (mut n, mut s1, mut s2) = (0u64, 0u64, 0u64);
    let (mut lo, mut hi) = (None, 0u8);
    for (v, &k) in h.iter().enumerate() {
        if k == 0 {
            continue;
        }
        let k = k as u64;
        n += k;
        s1 += k * v as u64;
        s2 += k * (v * v) as u64;
        lo.get_or_insert(v as u8);
        hi = v as u8;
    }
    if n == 0 {
        return (0.0, 0.0, 0, 0);
    }
    let m = s1 as f64 / n as f64;
    let var = (s2 as f64 / n as f64 - m * m).max(0.0);
    (m, var.sqrt(), lo.unwrap_or(0), hi)
}

/// Smallest value whose cumulative count reaches fraction `q` of `n`.
fn percentile(h: &[u32; 256], n: usize, q: f64) -> u8 {
    let target = (q * n as f64).ceil().max(1.0) as u64;
    let mut cum = 0u64;
    for (v, &k) in h.iter().enumerate() {
        cum += k as u64;
        if cum >= target {
            return v as u8;
        }
    }
    255
}

/// Standard deviation of the 4-neighbour Laplacian over the interior, divided by the standard
/// deviation of the image; 0 when the image is flat or smaller than 3 x 3.
fn sharpness(img: &[f32], w: usize, h: usize) -> f32 {
    if w < 3 || h < 3 {
        return 0.0;
    }
    let (mut s1, mut s2) = (0f64, 0f64);
    for &v in img {
        s1 += v as f64;
        s2 += (v as f64) * (v as f64);
    }
    let n = img.len() as f64;
    let var = (s2 / n - (s1 / n).powi(2)).max(0.0);
    if var < 1e-4 {
        return 0.0;
    }
    let (mut l1, mut l2) = (0f64, 0f64);
    for y in 1..h - 1 {
        let (up, row, down) = (&img[(y - 1) * w..], &img[y * w..], &img[(y + 1) * w..]);
        for x in 1..w - 1 {
            let l = (4.0 * row[x] - row[x - 1] - row[x + 1] - up[x] - down[x]) as f64;
            l1 += l;
            l2 += l * l;
        }
    }
    let m = ((w - 2) * (h - 2)) as f64;
    let lvar = (l2 / m - (l1 / m).powi(2)).max(0.0);
    (lvar.sqrt() / var.sqrt()) as f32
}

/// Resamples the image to the mean-image size and channel count.
fn mean_image(
    img: &Image,
    grey: &[u8],
    spec: &MeanImageSpec,
    out: &mut [u8],
    rs: &mut Resampler,
    px: &mut Vec<f32>,
    rgb: &mut Vec<u8>,
) {
    let (w, h, c) = (
        img.width as usize,
        img.height as usize,
        img.channels as usize,
    );
    let (mw, mh, mc) = (
        spec.width as usize,
        spec.height as usize,
        spec.channels as usize,
    );
    if (w, h, c) == (mw, mh, mc) {
        out.copy_from_slice(&img.data);
        return;
    }
    if mc == 1 || c == 1 {
        rs.resize_u8(grey, w, h, 1, mw, mh, px);
        for (o, chunk) in out.chunks_exact_mut(mc).zip(px.iter()) {
            o.fill(to_u8(*chunk));
        }
        return;
    }
    // Colour source into a 3-channel mean image (alpha dropped).
    let src: &[u8] = if c == 4 {
        rgb.clear();
        rgb.extend(img.data.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]));
        rgb
    } else {
        &img.data
    };
    rs.resize_u8(src, w, h, 3, mw, mh, px);
    for (o, v) in out.iter_mut().zip(px.iter()) {
        *o = to_u8(*v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> MeanImageSpec {
        MeanImageSpec {
            width: 8,
            height: 8,
            channels: 3,
        }
    }

    fn run(img: &Image) -> ImageFeatures {
        let mut s = Scratch::default();
        let mut out = vec![0u8; spec().len()];
        measure(img, img.width, img.height, 1, &spec(), &mut out, &mut s)
    }

    fn checker(w: u32, h: u32, cell: u32) -> Image {
        let data = (0..h)
            .flat_map(|y| {
                (0..w).map(move |x| {
                    if (x / cell + y / cell) % 2 == 0 {
                        30
                    } else {
                        220
                    }
                })
            })
            .collect();
        Image::new(w, h, 1, data).unwrap()
    }

    #[test]
    fn constant_image_has_zero_spread_entropy_and_sharpness() {
        let img = Image::new(20, 10, 3, [10u8, 200, 30].repeat(200)).unwrap();
        let f = run(&img);
        assert_eq!(f.range, 0);
        assert_eq!(f.entropy, 0.0);
        assert_eq!(f.sharpness, 0.0);
        assert_eq!(f.contrast, 0.0);
        assert_eq!(&f.mean[..3], &[10.0, 200.0, 30.0]);
        assert_eq!(f.std, [0.0; 4]);
        assert!((f.chroma - 190.0).abs() < 1e-4);
    }

    #[test]
    fn statistics_match_hand_computation() {
        // Half 0, half 255: mean 127.5, std 127.5, entropy 1 bit, percentiles at the ends.
        let data: Vec<u8> = (0..100).map(|i| if i < 50 { 0 } else { 255 }).collect();
        let f = run(&Image::new(10, 10, 1, data).unwrap());
        assert_eq!(f.mean[0], 127.5);
        assert_eq!(f.std[0], 127.5);
        assert!((f.entropy - 1.0).abs() < 1e-6);
        assert_eq!((f.grey_p05, f.grey_p99), (0, 255));
        assert_eq!(f.range, 255);
        assert_eq!(f.chroma, 0.0);
    }

    #[test]
    fn blur_lowers_sharpness_and_size_barely_matters() {
        let sharp = run(&checker(64, 64, 4)).sharpness;
        let sharp_big = run(&checker(256, 256, 16)).sharpness;
        // A 3x3 box blur of the same checkerboard.
        let c = checker(64, 64, 4);
        let mut blurred = c.data.clone();
        for _ in 0..3 {
            let src = blurred.clone();
            for y in 0..64 {
                for x in 0..64 {
                    let mut acc = 0u32;
                    let mut k = 0u32;
                    for dy in -1i32..=1 {
                        for dx in -1i32..=1 {
                            let (xx, yy) = (x as i32 + dx, y as i32 + dy);
                            if (0..64).contains(&xx) && (0..64).contains(&yy) {
                                acc += src[(yy * 64 + xx) as usize] as u32;
                                k += 1;
                            }
                        }
                    }
                    blurred[y * 64 + x] = (acc / k) as u8;
                }
            }
        }
        let soft = run(&Image::new(64, 64, 1, blurred).unwrap()).sharpness;
        assert!(soft < sharp * 0.5, "blurred {soft} vs sharp {sharp}");
        assert!(
            (sharp - sharp_big).abs() < 0.2 * sharp,
            "{sharp} vs {sharp_big}"
        );
    }

    #[test]
    fn pixel_hash_tells_one_pixel_apart_and_mean_image_is_resampled() {
        let a = checker(16, 16, 2);
        let mut b = a.clone();
        b.data[5] ^= 1;
        assert_ne!(run(&a).pixel_hash, run(&b).pixel_hash);
        assert_eq!(run(&a).pixel_hash, run(&a.clone()).pixel_hash);
        let mut s = Scratch::default();
        let mut out = vec![0u8; spec().len()];
        let grey = Image::new(4, 4, 1, vec![100; 16]).unwrap();
        measure(&grey, 4, 4, 1, &spec(), &mut out, &mut s);
        assert!(out.iter().all(|&v| v == 100));
    }
}
