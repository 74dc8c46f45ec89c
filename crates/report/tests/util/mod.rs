//! Fixtures: tiny image-folder datasets written into a temp dir, and a hand-made [`Analysis`]
//! whose numbers are chosen, not measured.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use dlscope_analyze::measure::MeanImageSpec;
use dlscope_analyze::profile::{MeanImageAccum, SplitAccum};
use dlscope_analyze::shard::SplitMeta;
use dlscope_analyze::{
    Analysis, DatasetMeta, DecodeSettings, FeatureTable, Finding, FindingKind, PassSettings,
    ProfileAccum, Settings,
};
use dlscope_data::{Format, SampleId, Shape};

/// Deterministic noise (xorshift), so fixtures are the same on every run.
pub struct Noise(u64);

impl Noise {
    pub fn new(seed: u64) -> Self {
        Noise(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A textured RGB image: an 8 x 8 grid of cells with seed-specific random levels, plus noise,
/// values in `lo..=hi` (a narrow low range makes a dark image). Different seeds give images
/// with unrelated perceptual hashes.
pub fn textured(w: u32, h: u32, seed: u64, lo: u8, hi: u8) -> image::RgbImage {
    let mut n = Noise::new(seed);
    let span = (hi - lo) as u64 + 1;
    let cells: Vec<u64> = (0..64).map(|_| n.next() % span).collect();
    image::RgbImage::from_fn(w, h, |x, y| {
        let cell = cells[((y * 8 / h) * 8 + x * 8 / w) as usize];
        let mut px = [0u8; 3];
        for p in px.iter_mut() {
            let noise = n.next() % (span / 8 + 1);
            *p = lo + ((cell + noise) % span) as u8;
        }
        image::Rgb(px)
    })
}

pub fn save(path: &Path, img: &image::RgbImage) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    img.save_with_format(path, image::ImageFormat::Png).unwrap();
}

/// A folder dataset at `root`:
/// - `train/cat/c{0..4}.png`, `train/dog/d{0..4}.png`: distinct textured images
/// - `train/dog/copy of c1.png`: the same file as `train/cat/c1.png` (an exact duplicate across
///   classes, so also a label conflict)
/// - `train/cat/dark.png`: values 0..=30 (dark)
/// - `test/cat/t{0..2}.png`, and `test/dog/leak.png` = `train/dog/d2.png` (a leak)
pub fn folder_dataset(root: &Path) {
    for i in 0..5u64 {
        save(
            &root.join(format!("train/cat/c{i}.png")),
            &textured(32, 32, 10 + i, 0, 255),
        );
        save(
            &root.join(format!("train/dog/d{i}.png")),
            &textured(32, 32, 20 + i, 0, 255),
        );
    }
    std::fs::copy(
        root.join("train/cat/c1.png"),
        root.join("train/dog/copy of c1.png"),
    )
    .unwrap();
    save(
        &root.join("train/cat/dark.png"),
        &textured(32, 32, 99, 0, 30),
    );
    for i in 0..3u64 {
        save(
            &root.join(format!("test/cat/t{i}.png")),
            &textured(32, 32, 40 + i, 0, 255),
        );
    }
    std::fs::create_dir_all(root.join("test/dog")).unwrap();
    std::fs::copy(
        root.join("train/dog/d2.png"),
        root.join("test/dog/leak.png"),
    )
    .unwrap();
}

pub fn finding(
    kind: FindingKind,
    split: &str,
    index: u64,
    id: SampleId,
    group: Option<u64>,
    score: f64,
    detail: &str,
) -> Finding {
    Finding {
        kind,
        split: split.into(),
        index,
        id,
        label: Some(0),
        group,
        score,
        detail: detail.into(),
        suggested_label: None,
        partner: None,
    }
}

/// A hand-made analysis of a two-split grey dataset (classes `shirt`, `bag`, `shoe`):
/// train 100 samples (50 / 30 / 20), test 10 (4 / 3 / 3); exact normalisation numbers.
pub fn hand_made(findings: Vec<Finding>) -> Analysis {
    let classes: Vec<String> = ["shirt", "bag", "shoe"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let spec = MeanImageSpec {
        width: 2,
        height: 2,
        channels: 1,
    };
    // Train: pixels 0 x 3 and 255 x 1 per image -> mean 0.25, std sqrt(3)/4 = 0.4330.
    let mut train_hist = vec![0u64; 256];
    train_hist[0] = 300;
    train_hist[255] = 100;
    // Test: pixels all 51 -> mean 0.2, std 0.
    let mut test_hist = vec![0u64; 256];
    test_hist[51] = 40;
    let split = |samples, unreadable, counts: Vec<u64>, hist: Vec<u64>| SplitAccum {
        samples,
        unreadable,
        reduced: 0,
        class_counts: counts,
        unlabelled: 0,
        histograms: BTreeMap::from([(1u8, hist)]),
        shapes: BTreeMap::from([((2, 2, 1), samples - unreadable)]),
        formats: BTreeMap::new(),
        file_bytes: 0,
    };
    let accum = ProfileAccum {
        splits: vec![
            split(100, 0, vec![50, 30, 20], train_hist),
            split(10, 0, vec![4, 3, 3], test_hist),
        ],
        mean_images: MeanImageAccum {
            spec,
            counts: vec![2, 1, 0],
            sums: vec![vec![0, 255, 510, 100], vec![9, 9, 9, 9], vec![]],
        },
    };
    let names = vec!["train".to_string(), "test".to_string()];
    let profile = accum.finish(&names, &classes);
    let mut counts: BTreeMap<FindingKind, u64> = FindingKind::ALL.iter().map(|&k| (k, 0)).collect();
    for f in &findings {
        *counts.entry(f.kind).or_default() += 1;
    }
    Analysis {
        dataset: DatasetMeta {
            name: "hand-made".into(),
            format: Format::Idx,
            classes,
            splits: vec![
                SplitMeta {
                    name: "train".into(),
                    len: 100,
                    fixed_shape: Some(Shape::new(2, 2, 1)),
                },
                SplitMeta {
                    name: "test".into(),
                    len: 10,
                    fixed_shape: Some(Shape::new(2, 2, 1)),
                },
            ],
        },
        settings: Settings::default(),
        pass: PassSettings {
            decode: DecodeSettings::default(),
            mean_image: spec,
        },
        profile,
        features: FeatureTable::default(),
        findings,
        counts,
    }
}
