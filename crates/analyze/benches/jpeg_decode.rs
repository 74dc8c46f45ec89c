//! Compares full JPEG decoding (the `image` crate's zune-jpeg, as the folder reader does) with
//! `jpeg-decoder`'s DCT-scaled decoding at 1/1, 1/2, 1/4 and 1/8, on generated 500x375 photos
//! (ImageNet's typical size). Run: `cargo bench -p dlscope-analyze --bench jpeg_decode`.

use std::time::Instant;

use rand::{Rng, SeedableRng};

fn photo(seed: u64, w: u32, h: u32) -> Vec<u8> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut img = image::RgbImage::new(w, h);
    let (a, b, c): (f32, f32, f32) = (rng.random(), rng.random(), rng.random());
    for (x, y, p) in img.enumerate_pixels_mut() {
        let fx = x as f32 / w as f32;
        let fy = y as f32 / h as f32;
        let base = [
            120.0 + 90.0 * (fx * 6.0 * a + fy * 3.0).sin(),
            110.0 + 80.0 * (fy * 5.0 * b + fx * 2.0).cos(),
            100.0 + 70.0 * ((fx + fy) * 9.0 * c).sin(),
        ];
        for (out, b) in p.0.iter_mut().zip(base) {
            let n: f32 = rng.random_range(-12.0..12.0);
            *out = (b + n).clamp(0.0, 255.0) as u8;
        }
    }
    let mut out = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90);
    img.write_with_encoder(enc).unwrap();
    out
}

fn main() {
    let files: Vec<Vec<u8>> = (0..40).map(|s| photo(s, 500, 375)).collect();
    let mb = files.iter().map(Vec::len).sum::<usize>() as f64 / 1e6;
    println!("{} files, {mb:.1} MB", files.len());
    for round in 0..3 {
        let t = Instant::now();
        for f in &files {
            let img = dlscope_data::decode::decode_bytes("x.jpg".as_ref(), f).unwrap();
            std::hint::black_box(img);
        }
        let full = t.elapsed().as_secs_f64() / files.len() as f64;
        print!("round {round}: image/zune full {:.2} ms", full * 1e3);
        for s in [1u16, 2, 4, 8] {
            let t = Instant::now();
            for f in &files {
                let mut d = jpeg_decoder::Decoder::new(&f[..]);
                d.read_info().unwrap();
                let info = d.info().unwrap();
                d.scale(info.width.div_ceil(s), info.height.div_ceil(s))
                    .unwrap();
                std::hint::black_box(d.decode().unwrap());
            }
            let per = t.elapsed().as_secs_f64() / files.len() as f64;
            print!(" | jpeg-decoder 1/{s} {:.2} ms", per * 1e3);
        }
        println!();
    }
}
