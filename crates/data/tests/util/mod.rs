//! Fixture builders for integration tests: tiny IDX and CIFAR files written into temp folders,
//! and an in-memory dataset to feed writers.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::Write;
use std::path::{Path, PathBuf};

use dlscope_data::{DataError, Dataset, Format, Image, SampleId, SampleSource, Split};

/// Fashion-MNIST as shipped (four `.gz` files).
pub const FASHION_MNIST: &str = "/usr/share/datasets/fashion-mnist";

/// An IDX `u8` file: header for `dims` followed by `data` (not checked: tests build bad files).
pub fn idx_file(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend_from_slice(data);
    v
}

pub fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

pub fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(bytes), &mut out).unwrap();
    out
}

/// Writes `bytes` to `dir/name` and returns the path.
pub fn put(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Deterministic pseudo-random bytes (xorshift), so fixtures differ per seed but never per run.
pub fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 24) as u8
        })
        .collect()
}

/// One CIFAR record: label byte(s) then R, G, B planes of 32x32 pseudo-random pixels.
pub fn cifar_record(labels: &[u8], seed: u64) -> Vec<u8> {
    let mut r = labels.to_vec();
    r.extend(noise(seed, 3072));
    r
}

/// A batch of records with the given label tuples, pixels seeded by `seed0 + index`.
pub fn cifar_batch(labels: &[&[u8]], seed0: u64) -> Vec<u8> {
    labels
        .iter()
        .enumerate()
        .flat_map(|(i, l)| cifar_record(l, seed0 + i as u64))
        .collect()
}

/// The pixel at (y, x, channel c) of record bytes `rec` as stored (planar), skipping `label_bytes`.
pub fn planar_pixel(rec: &[u8], label_bytes: usize, y: usize, x: usize, c: usize) -> u8 {
    rec[label_bytes + c * 1024 + y * 32 + x]
}

/// A `.tar.gz` holding `members` (path, bytes), with directory entries as the official archives.
pub fn tar_gz(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    let mut dirs: Vec<&str> = members
        .iter()
        .filter_map(|(p, _)| p.split_once('/').map(|(d, _)| d))
        .collect();
    dirs.dedup();
    for d in dirs {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_size(0);
        h.set_mode(0o755);
        h.set_cksum();
        b.append_data(&mut h, format!("{d}/"), std::io::empty())
            .unwrap();
    }
    for (path, bytes) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, path, *bytes).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

/// Asserts that an error's message names `file` (its file name at least).
pub fn assert_names(e: &DataError, file: &Path) {
    let name = file.file_name().unwrap().to_string_lossy();
    assert!(
        e.to_string().contains(&*name),
        "error does not name {name}: {e}"
    );
}

/// Samples held in memory; an `Err` item fails to load with that reason.
pub struct MemSource {
    pub items: Vec<(Option<u32>, Result<Image, String>)>,
}

impl SampleSource for MemSource {
    fn len(&self) -> usize {
        self.items.len()
    }
    fn label(&self, i: usize) -> Option<u32> {
        self.items[i].0
    }
    fn id(&self, i: usize) -> SampleId {
        SampleId::Index(i as u64)
    }
    fn load(&self, i: usize) -> dlscope_data::Result<Image> {
        self.items[i].1.clone().map_err(|reason| DataError::Decode {
            path: PathBuf::from(format!("mem/{i}")),
            reason,
        })
    }
}

/// A dataset of in-memory splits rooted at `root` (used for the writer's overlap check).
pub fn mem_dataset(root: &Path, splits: Vec<(&str, MemSource)>, n_classes: usize) -> Dataset {
    Dataset {
        name: "mem".into(),
        format: Format::Folder,
        root: root.to_path_buf(),
        classes: (0..n_classes).map(|c| c.to_string()).collect(),
        splits: splits
            .into_iter()
            .map(|(n, s)| Split::new(n, Box::new(s)))
            .collect(),
        skipped: Vec::new(),
    }
}

/// An image of the given shape with pseudo-random pixels.
pub fn image(h: u32, w: u32, c: u8, seed: u64) -> Image {
    Image::new(w, h, c, noise(seed, (h * w) as usize * c as usize)).unwrap()
}
