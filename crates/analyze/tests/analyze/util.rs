//! Fixtures: in-memory datasets, Fashion-MNIST, and generated images.

use std::path::Path;

use dlscope_data::{DataError, Dataset, Format, Image, SampleId, SampleSource, Split};
use image::{imageops, Rgb, RgbImage};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub const FASHION: &str = "/usr/share/datasets/fashion-mnist";

/// A split held in memory; `Err` entries fail to decode with that reason.
pub struct MemSource {
    pub images: Vec<Result<Image, String>>,
    pub labels: Vec<Option<u32>>,
}

impl SampleSource for MemSource {
    fn len(&self) -> usize {
        self.images.len()
    }
    fn label(&self, i: usize) -> Option<u32> {
        self.labels[i]
    }
    fn id(&self, i: usize) -> SampleId {
        SampleId::Index(i as u64)
    }
    fn load(&self, i: usize) -> dlscope_data::Result<Image> {
        self.images[i].clone().map_err(|reason| DataError::Decode {
            path: format!("mem#{i}").into(),
            reason,
        })
    }
}

pub fn mem_dataset(classes: usize, splits: Vec<(&str, MemSource)>) -> Dataset {
    Dataset {
        name: "mem".into(),
        format: Format::Folder,
        root: ".".into(),
        classes: (0..classes).map(|c| format!("c{c}")).collect(),
        splits: splits
            .into_iter()
            .map(|(n, s)| Split::new(n, Box::new(s)))
            .collect(),
        skipped: Vec::new(),
    }
}

pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// Fashion-MNIST, when present on this machine.
pub fn fashion() -> Option<Dataset> {
    if !Path::new(FASHION)
        .join("t10k-images-idx3-ubyte.gz")
        .exists()
    {
        eprintln!("Fashion-MNIST not found at {FASHION}; skipping");
        return None;
    }
    Some(dlscope_data::idx::open_dir(Path::new(FASHION)).expect("Fashion-MNIST opens"))
}

/// `n` Fashion-MNIST test images (28 x 28 grey) with labels, spread over the split.
pub fn fashion_images(ds: &Dataset, n: usize) -> Vec<(Vec<u8>, u32)> {
    let test = ds.split("test").expect("test split");
    let step = test.len() / n;
    (0..n)
        .map(|k| {
            let s = test.get(k * step).expect("decodes");
            let label = s.label.unwrap_or(0);
            assert!(
                label < 10,
                "Fashion-MNIST test sample {} has label {label}",
                k * step
            );
            (s.image.data, label)
        })
        .collect()
}

fn lum(c: [u8; 3]) -> f32 {
    0.299 * c[0] as f32 + 0.587 * c[1] as f32 + 0.114 * c[2] as f32
}

fn random_colour(rng: &mut ChaCha8Rng) -> [u8; 3] {
    [rng.random(), rng.random(), rng.random()]
}

/// A Fashion-MNIST image upscaled (Catmull-Rom) to about 96..160 px, colourised with a random
/// background and foreground (luminance at least 90 apart), a gentle background texture and a
/// little sensor-like grain.
pub fn colourise(gray: &[u8], rng: &mut ChaCha8Rng) -> RgbImage {
    let (bg, fg) = loop {
        let (a, b) = (random_colour(rng), random_colour(rng));
        if (lum(a) - lum(b)).abs() >= 90.0 {
            break (a, b);
        }
    };
    let side: u32 = rng.random_range(96..=160);
    let aspect: f32 = rng.random_range(0.8..1.25);
    let (w, h) = (
        (side as f32 * aspect.sqrt()) as u32,
        (side as f32 / aspect.sqrt()) as u32,
    );
    let small = image::GrayImage::from_raw(28, 28, gray.to_vec()).expect("28x28");
    let big = imageops::resize(&small, w, h, imageops::FilterType::CatmullRom);
    let (fx, fy, ph): (f32, f32, f32) = (
        rng.random_range(0.05..0.4),
        rng.random_range(0.05..0.4),
        rng.random_range(0.0..std::f32::consts::TAU),
    );
    let amp: f32 = rng.random_range(5.0..18.0);
    let grain: Vec<f32> = (0..w * h).map(|_| rng.random_range(-4.0f32..4.0)).collect();
    RgbImage::from_fn(w, h, |x, y| {
        let a = big.get_pixel(x, y).0[0] as f32 / 255.0;
        let tex = amp * ((x as f32 * fx + y as f32 * fy + ph).sin());
        let mut p = [0u8; 3];
        for c in 0..3 {
            let v = bg[c] as f32 + tex;
            let g = grain[(y * w + x) as usize];
            p[c] = (v * (1.0 - a) + fg[c] as f32 * a + g)
                .round()
                .clamp(0.0, 255.0) as u8;
        }
        Rgb(p)
    })
}

/// Something that is not a piece of clothing: checkerboards, stripes, rings or scattered
/// discs over the whole frame.
pub fn scene(rng: &mut ChaCha8Rng) -> RgbImage {
    let (w, h) = (rng.random_range(56..=88), rng.random_range(56..=88));
    let (a, b) = (random_colour(rng), random_colour(rng));
    let kind = rng.random_range(0..4);
    let cell: f32 = rng.random_range(5.0..10.0);
    let angle: f32 = rng.random_range(0.0..std::f32::consts::PI);
    let (cx, cy) = (
        rng.random_range(0.0..w as f32),
        rng.random_range(0.0..h as f32),
    );
    let discs: Vec<(f32, f32, f32)> = (0..rng.random_range(6..14))
        .map(|_| {
            (
                rng.random_range(0.0..w as f32),
                rng.random_range(0.0..h as f32),
                rng.random_range(4.0..12.0),
            )
        })
        .collect();
    RgbImage::from_fn(w, h, |x, y| {
        let (xf, yf) = (x as f32, y as f32);
        let on = match kind {
            0 => ((xf / cell) as i32 + (yf / cell) as i32) % 2 == 0,
            1 => ((xf * angle.cos() + yf * angle.sin()) / cell) as i32 % 2 == 0,
            2 => (((xf - cx).hypot(yf - cy)) / cell) as i32 % 2 == 0,
            _ => discs
                .iter()
                .any(|&(dx, dy, r)| (xf - dx).hypot(yf - dy) < r),
        };
        Rgb(if on { a } else { b })
    })
}

pub fn to_image(img: &RgbImage) -> Image {
    Image::new(img.width(), img.height(), 3, img.as_raw().clone()).expect("shape")
}

pub fn png_bytes(img: &image::DynamicImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

pub fn jpeg_bytes(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
    img.write_with_encoder(enc).expect("jpeg");
    out
}

/// Maps every channel value through `f`.
pub fn map_px(img: &RgbImage, f: impl Fn(f32) -> f32) -> RgbImage {
    let mut out = img.clone();
    for p in out.pixels_mut() {
        for c in 0..3 {
            p.0[c] = f(p.0[c] as f32).round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

/// Shifts content by (dx, dy), repeating the edge pixels.
pub fn shift(img: &RgbImage, dx: i32, dy: i32) -> RgbImage {
    let (w, h) = (img.width() as i32, img.height() as i32);
    RgbImage::from_fn(w as u32, h as u32, |x, y| {
        let sx = (x as i32 - dx).clamp(0, w - 1);
        let sy = (y as i32 - dy).clamp(0, h - 1);
        *img.get_pixel(sx as u32, sy as u32)
    })
}

/// Adds Gaussian-ish noise (sum of uniforms) of standard deviation `sd`.
pub fn noise(img: &RgbImage, sd: f32, rng: &mut ChaCha8Rng) -> RgbImage {
    let mut out = img.clone();
    for p in out.pixels_mut() {
        for c in 0..3 {
            let n: f32 = (0..4).map(|_| rng.random_range(-1.0f32..1.0)).sum::<f32>() * sd * 0.866;
            p.0[c] = (p.0[c] as f32 + n).round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}
