//! Fashion-MNIST from the IDX `.gz` files at /usr/share/datasets/fashion-mnist, parsed locally
//! (a few lines, so tests and the benchmark do not wait on the dataset readers).

use std::io::Read;
use std::path::Path;

pub const DIR: &str = "/usr/share/datasets/fashion-mnist";

fn read_gz(path: &Path) -> Option<Vec<u8>> {
    let f = std::fs::File::open(path).ok()?;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(f).read_to_end(&mut out).ok()?;
    Some(out)
}

fn be32(b: &[u8], at: usize) -> usize {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize
}

/// One split: 784-byte images and labels. `None` when the files are absent or malformed.
pub fn split(prefix: &str) -> Option<(Vec<u8>, Vec<u32>)> {
    let dir = Path::new(DIR);
    let img = read_gz(&dir.join(format!("{prefix}-images-idx3-ubyte.gz")))?;
    let lab = read_gz(&dir.join(format!("{prefix}-labels-idx1-ubyte.gz")))?;
    if img.len() < 16 || lab.len() < 8 || be32(&img, 0) != 0x803 || be32(&lab, 0) != 0x801 {
        return None;
    }
    let n = be32(&img, 4);
    if be32(&lab, 4) != n || img.len() != 16 + n * 784 || lab.len() != 8 + n {
        return None;
    }
    Some((
        img[16..].to_vec(),
        lab[8..].iter().map(|&l| l as u32).collect(),
    ))
}

/// Train then test (70,000 images).
#[allow(dead_code)] // used by benches/ml_bench.rs, which shares this file
pub fn all() -> Option<(Vec<u8>, Vec<u32>)> {
    let (mut px, mut lab) = split("train")?;
    let (p2, l2) = split("t10k")?;
    px.extend_from_slice(&p2);
    lab.extend_from_slice(&l2);
    Some((px, lab))
}
