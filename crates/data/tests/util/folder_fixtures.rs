//! Builders for tiny image folders, manifests and broken image files in a temp dir.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use dlscope_data::{Image, SampleId, SampleSource};

/// A deterministic test image: pixel values depend on position, channel and `seed`.
pub fn pattern(w: u32, h: u32, c: u8, seed: u8) -> Image {
    let mut data = Vec::with_capacity((w * h) as usize * c as usize);
    for y in 0..h {
        for x in 0..w {
            for k in 0..c {
                let v = (x * 37 + y * 11 + u32::from(k) * 71 + u32::from(seed) * 13) % 256;
                data.push(v as u8);
            }
        }
    }
    Image::new(w, h, c, data).expect("pattern shape")
}

/// Writes `img` to `path` in `fmt`, creating parent folders.
pub fn save(path: &Path, img: &Image, fmt: image::ImageFormat) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let mut bytes = std::io::Cursor::new(Vec::new());
    match fmt {
        image::ImageFormat::WebP => {
            let enc = image::codecs::webp::WebPEncoder::new_lossless(&mut bytes);
            img.to_dynamic()
                .write_with_encoder(enc)
                .expect("webp encode");
        }
        _ => img.to_dynamic().write_to(&mut bytes, fmt).expect("encode"),
    }
    std::fs::write(path, bytes.into_inner()).expect("write image");
}

/// Writes a PNG of `img` to `path` and returns the bytes written.
pub fn save_png(path: &Path, img: &Image) -> Vec<u8> {
    save(path, img, image::ImageFormat::Png);
    std::fs::read(path).expect("read back")
}

pub fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, bytes).expect("write");
}

/// CRC-32 (IEEE) as PNG chunks use it.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
}

/// A well-formed PNG whose header claims `w` x `h` RGB pixels but whose data is tiny.
pub fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    // zlib stream of a few zero bytes.
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

#[cfg(unix)]
/// Whether this process can read files whose permissions say nobody may (root can).
pub fn privileged(probe_dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let p = probe_dir.join(".probe");
    std::fs::write(&p, b"x").expect("probe");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    let readable = std::fs::read(&p).is_ok();
    std::fs::remove_file(&p).expect("rm probe");
    readable
}

pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// First `n` Fashion-MNIST training images (28x28 grey) and labels, read straight from the
/// gzip IDX files.
pub fn fashion_mnist(n: usize) -> (Vec<Image>, Vec<u8>) {
    use std::io::Read;
    let dir = Path::new("/usr/share/datasets/fashion-mnist");
    let read = |name: &str| {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(dir.join(name)).expect("fashion-mnist"))
            .read_to_end(&mut out)
            .expect("gunzip");
        out
    };
    let images = read("train-images-idx3-ubyte.gz");
    let labels = read("train-labels-idx1-ubyte.gz");
    let imgs = (0..n)
        .map(|i| {
            let px = images[16 + i * 784..16 + (i + 1) * 784].to_vec();
            Image::new(28, 28, 1, px).expect("28x28")
        })
        .collect();
    (imgs, labels[8..8 + n].to_vec())
}

/// An in-memory split (like IDX or CIFAR): index ids, no file paths. `None` images fail to load.
pub struct Memory {
    pub images: Vec<Option<Image>>,
    pub labels: Vec<Option<u32>>,
}

impl SampleSource for Memory {
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
        self.images[i]
            .clone()
            .ok_or_else(|| dlscope_data::DataError::Decode {
                path: PathBuf::from(format!("memory/{i}")),
                reason: "broken on purpose".into(),
            })
    }
}
