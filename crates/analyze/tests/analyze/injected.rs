//! Recall and false flags per finding kind on a folder dataset with known injected issues.
//!
//! 400 base images (Fashion-MNIST test images, upscaled to 96..160 px, colourised with random
//! colours and textures) are split 320 train / 80 test; issues are injected into disjoint
//! subsets of 20 (copies are new files next to their base), plus 20 blank, 20 near-blank and
//! 20 out-of-distribution images. For each kind, every sample is a positive (issue injected),
//! "don't care" (an injected issue that may legitimately also raise this kind, e.g. a dark copy
//! is an outlier too) or a negative; false flags are flagged negatives over all negatives.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use dlscope_analyze::{analyze, Analysis, FindingKind as K, Settings};
use image::{imageops, DynamicImage, RgbImage};
use rand::seq::SliceRandom;
use rand::Rng;

use crate::util::*;

const CLASSES: [&str; 10] = [
    "tshirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot",
];
const PER: usize = 20;

/// Ground truth of the generated dataset, by file name.
#[derive(Default)]
pub struct Truth {
    /// Every sample: file name -> split.
    pub samples: BTreeMap<String, String>,
    pub positive: HashMap<K, HashSet<String>>,
    pub dont_care: HashMap<K, HashSet<String>>,
    /// Injection type of each sample ("base", "shift", ...), for diagnostics.
    pub origin: HashMap<String, String>,
}

impl Truth {
    fn pos(&mut self, k: K, names: &[&String]) {
        self.positive
            .entry(k)
            .or_default()
            .extend(names.iter().map(|s| s.to_string()));
    }
    fn dc(&mut self, kinds: &[K], names: &[&String]) {
        for &k in kinds {
            self.dont_care
                .entry(k)
                .or_default()
                .extend(names.iter().map(|s| s.to_string()));
        }
    }
}

struct Writer<'a> {
    root: &'a Path,
    truth: Truth,
}

impl Writer<'_> {
    fn put(&mut self, split: &str, label: u32, name: String, bytes: &[u8], origin: &str) -> String {
        let dir = self.root.join(split).join(CLASSES[label as usize]);
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join(&name), bytes).expect("write");
        self.truth.samples.insert(name.clone(), split.to_string());
        self.truth.origin.insert(name.clone(), origin.to_string());
        name
    }
}

/// Writes the dataset under `root` and returns its ground truth.
pub fn build(root: &Path) -> Option<Truth> {
    let fm = fashion()?;
    let mut rng = rng(42);
    let bases: Vec<(RgbImage, u32)> = fashion_images(&fm, 400)
        .into_iter()
        .map(|(g, l)| (colourise(&g, &mut rng), l))
        .collect();
    let mut w = Writer {
        root,
        truth: Truth::default(),
    };
    // Bases: 320 train, 80 test; every fourth one stored as JPEG.
    let mut names = Vec::new();
    for (i, (img, label)) in bases.iter().enumerate() {
        let split = if i < 320 { "train" } else { "test" };
        let (name, bytes) = if i % 4 == 3 {
            (format!("b{i:04}.jpg"), jpeg_bytes(img, 92))
        } else {
            (
                format!("b{i:04}.png"),
                png_bytes(&DynamicImage::ImageRgb8(img.clone())),
            )
        };
        names.push(w.put(split, *label, name, &bytes, "base"));
    }
    let mut train_ids: Vec<usize> = (0..320).collect();
    train_ids.shuffle(&mut rng);
    let mut take = |n: usize| -> Vec<usize> { train_ids.drain(..n).collect() };
    let base_file = |i: usize| -> Vec<u8> {
        std::fs::read(
            root.join(if i < 320 { "train" } else { "test" })
                .join(CLASSES[bases[i].1 as usize])
                .join(&names[i]),
        )
        .expect("read base")
    };
    let all_but = |keep: &[K]| -> Vec<K> {
        [
            K::Outlier,
            K::NearDuplicate,
            K::Dark,
            K::Light,
            K::Blurry,
            K::LowInformation,
            K::Grayscale,
            K::OddSize,
            K::OddAspectRatio,
        ]
        .into_iter()
        .filter(|k| !keep.contains(k))
        .collect()
    };

    // Exact copies (same bytes).
    for i in take(PER) {
        let c = w.put(
            "train",
            bases[i].1,
            format!("exact_{i:04}.{}", ext(&names[i])),
            &base_file(i),
            "exact",
        );
        w.truth.pos(K::ExactDuplicate, &[&c, &names[i]]);
        w.truth.dc(&[K::NearDuplicate], &[&c, &names[i]]);
    }
    // Near copies: 1-pixel shifts, +-20 brightness, light noise, JPEG q40-70 with resizing.
    for (kind, ids) in [
        ("shift", take(PER)),
        ("bright", take(PER)),
        ("noise", take(PER)),
        ("jpeg", take(PER)),
    ] {
        for i in ids {
            let img = &bases[i].0;
            let bytes = match kind {
                "shift" => {
                    let (dx, dy) = if rng.random_bool(0.5) { (1, 0) } else { (0, 1) };
                    png_bytes(&DynamicImage::ImageRgb8(shift(img, dx, dy)))
                }
                "bright" => {
                    let d = if rng.random_bool(0.5) { 20.0 } else { -20.0 };
                    png_bytes(&DynamicImage::ImageRgb8(map_px(img, |v| v + d)))
                }
                "noise" => png_bytes(&DynamicImage::ImageRgb8(noise(img, 5.0, &mut rng))),
                _ => jpeg_bytes(
                    &resized(img, rng.random_range(0.6..1.4)),
                    rng.random_range(40..=70),
                ),
            };
            let e = if kind == "jpeg" { "jpg" } else { "png" };
            let c = w.put(
                "train",
                bases[i].1,
                format!("{kind}_{i:04}.{e}"),
                &bytes,
                kind,
            );
            w.truth.pos(K::NearDuplicate, &[&c, &names[i]]);
        }
    }
    // Image-quality copies.
    let quality: [(&str, K); 7] = [
        ("dark", K::Dark),
        ("light", K::Light),
        ("blur", K::Blurry),
        ("tiny", K::OddSize),
        ("stretch", K::OddAspectRatio),
        ("grey", K::Grayscale),
        ("trunc", K::Unreadable),
    ];
    for (kind, k) in quality {
        for (n, i) in take(PER).into_iter().enumerate() {
            let img = &bases[i].0;
            let (wd, ht) = img.dimensions();
            let rgb = |m: RgbImage| png_bytes(&DynamicImage::ImageRgb8(m));
            let (name, bytes) = match kind {
                "dark" => (format!("dark_{i:04}.png"), rgb(map_px(img, |v| v * 0.2))),
                "light" => (
                    format!("light_{i:04}.png"),
                    rgb(map_px(img, |v| 255.0 - (255.0 - v) * 0.2)),
                ),
                "blur" => (
                    format!("blur_{i:04}.png"),
                    rgb(imageops::blur(img, wd.min(ht) as f32 / 30.0)),
                ),
                "tiny" => (
                    format!("tiny_{i:04}.png"),
                    rgb(imageops::resize(
                        img,
                        wd / 4,
                        ht / 4,
                        imageops::FilterType::Triangle,
                    )),
                ),
                "stretch" => {
                    // Three times wider or three times taller than the base, same area.
                    let r = 3f32.sqrt();
                    let (nw, nh) = if n % 2 == 0 {
                        (wd as f32 * r, ht as f32 / r)
                    } else {
                        (wd as f32 / r, ht as f32 * r)
                    };
                    (
                        format!("stretch_{i:04}.png"),
                        rgb(imageops::resize(
                            img,
                            nw as u32,
                            nh as u32,
                            imageops::FilterType::Triangle,
                        )),
                    )
                }
                "grey" => {
                    let g = DynamicImage::ImageRgb8(img.clone()).to_luma8();
                    if n % 2 == 0 {
                        (
                            format!("grey_{i:04}.png"),
                            png_bytes(&DynamicImage::ImageLuma8(g)),
                        )
                    } else {
                        let g3 = DynamicImage::ImageLuma8(g).to_rgb8();
                        (format!("grey_{i:04}.jpg"), jpeg_bytes(&g3, 85))
                    }
                }
                _ => {
                    let full = if n % 2 == 0 {
                        jpeg_bytes(img, 90)
                    } else {
                        rgb(img.clone())
                    };
                    let e = if n % 2 == 0 { "jpg" } else { "png" };
                    (format!("trunc_{i:04}.{e}"), full[..full.len() / 2].to_vec())
                }
            };
            let c = w.put("train", bases[i].1, name, &bytes, kind);
            w.truth.pos(k, &[&c]);
            // The copy may also be an outlier or a near duplicate of its base (and so may the
            // base, of the copy); tiny copies may look blurry or plain.
            let mut dc = all_but(&[k]);
            if kind == "trunc" {
                dc.clear();
            }
            w.truth.dc(&dc, &[&c]);
            w.truth.dc(&[K::NearDuplicate], &[&names[i]]);
        }
    }
    // Label conflicts: copies (10 exact, 10 JPEG re-encodes) filed under another class.
    for (n, i) in take(PER).into_iter().enumerate() {
        let other = (bases[i].1 + 1 + rng.random_range(0..9)) % 10;
        let c = if n < 10 {
            let c = w.put(
                "train",
                other,
                format!("conflict_{i:04}.{}", ext(&names[i])),
                &base_file(i),
                "conflict",
            );
            w.truth.pos(K::ExactDuplicate, &[&c, &names[i]]);
            w.truth.dc(&[K::NearDuplicate], &[&c, &names[i]]);
            c
        } else {
            let c = w.put(
                "train",
                other,
                format!("conflict_{i:04}.jpg"),
                &jpeg_bytes(&bases[i].0, 60),
                "conflict",
            );
            w.truth.pos(K::NearDuplicate, &[&c, &names[i]]);
            c
        };
        w.truth.pos(K::LabelConflict, &[&c, &names[i]]);
    }
    // Leaks: test images copied into train (10 exact, 10 resized JPEG re-encodes).
    let mut test_ids: Vec<usize> = (320..400).collect();
    test_ids.shuffle(&mut rng);
    for (n, &i) in test_ids[..PER].iter().enumerate() {
        let c = if n < 10 {
            let c = w.put(
                "train",
                bases[i].1,
                format!("leak_{i:04}.{}", ext(&names[i])),
                &base_file(i),
                "leak",
            );
            w.truth.pos(K::ExactDuplicate, &[&c, &names[i]]);
            w.truth.dc(&[K::NearDuplicate], &[&c, &names[i]]);
            c
        } else {
            let bytes = jpeg_bytes(
                &resized(&bases[i].0, rng.random_range(0.7..1.3)),
                rng.random_range(40..=70),
            );
            let c = w.put(
                "train",
                bases[i].1,
                format!("leak_{i:04}.jpg"),
                &bytes,
                "leak",
            );
            w.truth.pos(K::NearDuplicate, &[&c, &names[i]]);
            c
        };
        let _ = c;
        w.truth.pos(K::Leak, &[&names[i]]);
    }
    // Fresh images: blank, near-blank (low information), out of distribution.
    for n in 0..PER {
        let split = if n < 15 { "train" } else { "test" };
        let label = rng.random_range(0..10);
        let (wd, ht) = (rng.random_range(48..=96), rng.random_range(48..=96));
        let colour = [rng.random(), rng.random(), rng.random()];
        let blank = RgbImage::from_pixel(wd, ht, image::Rgb(colour));
        let c = w.put(
            split,
            label,
            format!("blank_{n:04}.png"),
            &png_bytes(&DynamicImage::ImageRgb8(blank)),
            "blank",
        );
        w.truth.pos(K::Constant, &[&c]);
        w.truth.dc(&all_but(&[]), &[&c]);

        let (bg, fg) = (
            [
                rng.random_range(90..170),
                rng.random_range(60..200),
                rng.random_range(40..220),
            ],
            [rng.random(), rng.random(), rng.random()],
        );
        let dots: Vec<(u32, u32)> = (0..rng.random_range(3..8))
            .map(|_| (rng.random_range(0..wd), rng.random_range(0..ht)))
            .collect();
        let sparse = RgbImage::from_fn(wd, ht, |x, y| {
            image::Rgb(
                if dots
                    .iter()
                    .any(|&(dx, dy)| x.abs_diff(dx) < 2 && y.abs_diff(dy) < 2)
                {
                    fg
                } else {
                    bg
                },
            )
        });
        let c = w.put(
            split,
            label,
            format!("sparse_{n:04}.png"),
            &png_bytes(&DynamicImage::ImageRgb8(sparse)),
            "sparse",
        );
        w.truth.pos(K::LowInformation, &[&c]);
        w.truth.dc(&all_but(&[K::LowInformation]), &[&c]);

        let ood = scene(&mut rng);
        let c = w.put(
            split,
            label,
            format!("ood_{n:04}.png"),
            &png_bytes(&DynamicImage::ImageRgb8(ood)),
            "ood",
        );
        w.truth.pos(K::Outlier, &[&c]);
        w.truth.dc(&all_but(&[K::Outlier]), &[&c]);
    }
    Some(w.truth)
}

fn ext(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or("png")
}

fn resized(img: &RgbImage, f: f32) -> RgbImage {
    let (w, h) = img.dimensions();
    imageops::resize(
        img,
        ((w as f32 * f) as u32).max(8),
        ((h as f32 * f) as u32).max(8),
        imageops::FilterType::Triangle,
    )
}

pub fn file_name(id: &dlscope_data::SampleId) -> String {
    id.to_string()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Per kind: (positives, found, negatives, false flags).
pub fn score(a: &Analysis, truth: &Truth) -> BTreeMap<K, (usize, usize, usize, usize)> {
    let mut flagged: HashMap<K, HashSet<String>> = HashMap::new();
    for f in &a.findings {
        flagged.entry(f.kind).or_default().insert(file_name(&f.id));
    }
    let empty = HashSet::new();
    // Label issues come from a model (`dlscope labels`), not from the pixel pass judged here.
    K::ALL
        .iter()
        .filter(|&&k| k != K::LabelIssue)
        .map(|&k| {
            let pos = truth.positive.get(&k).unwrap_or(&empty);
            let dc = truth.dont_care.get(&k).unwrap_or(&empty);
            let got = flagged.get(&k).unwrap_or(&empty);
            // Leaks are only ever reported for non-train samples: judge those.
            let population = truth
                .samples
                .iter()
                .filter(|(_, split)| k != K::Leak || split.as_str() != "train")
                .map(|(n, _)| n);
            let (mut neg, mut fp) = (0, 0);
            for n in population {
                if pos.contains(n) || dc.contains(n) {
                    continue;
                }
                neg += 1;
                fp += got.contains(n) as usize;
            }
            let found = pos.iter().filter(|n| got.contains(*n)).count();
            (k, (pos.len(), found, neg, fp))
        })
        .collect()
}

#[test]
fn injected_issues_are_found_with_few_false_flags() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("ds");
    let Some(truth) = build(&root) else { return };
    let ds = dlscope_data::folder::open(&root).expect("folder opens");
    assert_eq!(ds.len(), truth.samples.len());
    let a = analyze(&ds, &Settings::default(), &|_| {}).expect("analysis");
    let scores = score(&a, &truth);
    // Pairwise findings name their partner: a leak's is in train, a conflict's carries
    // another label, and each names another sample; other kinds have none.
    let label_of = |split: &str, index: u64| {
        let si = ds
            .splits
            .iter()
            .position(|s| s.name() == split)
            .expect("split");
        ds.splits[si].label(index as usize)
    };
    for f in &a.findings {
        match (f.kind.grouped(), &f.partner) {
            (true, Some(p)) => {
                assert!(
                    (p.split.as_str(), p.index) != (f.split.as_str(), f.index),
                    "{f:?}"
                );
                assert!(f.detail.contains(&p.id.to_string()), "{f:?}");
                if f.kind == K::Leak {
                    assert_eq!(p.split, "train", "{f:?}");
                }
                if f.kind == K::LabelConflict {
                    assert_ne!(label_of(&p.split, p.index), f.label, "{f:?}");
                }
            }
            (false, None) => {}
            _ => panic!("partner wrongly set or missing: {f:?}"),
        }
    }
    // Every injected leak names its own train copy.
    for f in a.findings.iter().filter(|f| f.kind == K::Leak) {
        let p = f.partner.as_ref().expect("leak partner");
        let base = file_name(&f.id);
        let stem = base
            .trim_start_matches('b')
            .split('.')
            .next()
            .unwrap_or_default();
        if truth.positive[&K::Leak].contains(&base) {
            let pn = file_name(&p.id);
            assert!(pn.starts_with(&format!("leak_{stem}")), "{base} -> {pn}");
        }
    }
    println!(
        "{:<18} {:>9} {:>7} {:>12} {:>8}",
        "kind", "positives", "recall", "false flags", "rate"
    );
    let mut failed = Vec::new();
    for (k, (pos, found, neg, fp)) in &scores {
        let recall = *found as f64 / (*pos).max(1) as f64;
        let rate = *fp as f64 / (*neg).max(1) as f64;
        println!(
            "{:<18} {pos:>9} {recall:>7.3} {fp:>5} of {neg:<5} {rate:>8.4}",
            k.as_str()
        );
        if *pos == 0 || recall < 0.95 || rate > 0.02 {
            failed.push(*k);
        }
    }
    if !failed.is_empty() {
        for k in &failed {
            let pos = &truth.positive.get(k).cloned().unwrap_or_default();
            let dc = &truth.dont_care.get(k).cloned().unwrap_or_default();
            let got: HashSet<String> = a
                .findings
                .iter()
                .filter(|f| f.kind == *k)
                .map(|f| file_name(&f.id))
                .collect();
            let missed: Vec<_> = pos.iter().filter(|n| !got.contains(*n)).collect();
            let wrong: Vec<_> = a
                .findings
                .iter()
                .filter(|f| f.kind == *k)
                .filter(|f| {
                    let n = file_name(&f.id);
                    !pos.contains(&n) && !dc.contains(&n)
                })
                .map(|f| format!("{} ({})", f.id, f.detail))
                .take(12)
                .collect();
            println!("{k}: missed {missed:?}\n  false: {wrong:#?}");
        }
        panic!("kinds below recall 0.95 or above 2% false flags: {failed:?}");
    }
}
