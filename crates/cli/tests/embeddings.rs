//! `dlscope analyze --embeddings`: near duplicates of natural photos that pixel hashes miss.
//!
//! A folder holds the six fixture photos (shared/fixtures/imagenet/images), three edited copies
//! of each (a random crop of 70-85% of the area, a brightness and colour change, a JPEG
//! re-encode at quality 60-85) and one image of random noise. The real EfficientNet-Lite0
//! weights of the fixture folder embed them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use image::{imageops, RgbImage};
use rand::{Rng, SeedableRng};
use serde_json::Value;

const COPIES: usize = 3;

fn fixtures() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/imagenet");
    if dir.join("efficientnet_lite0.safetensors").is_file() {
        Some(dir)
    } else {
        eprintln!("fixtures not found at {}; skipping", dir.display());
        None
    }
}

/// Crop to `area` of the image at a random place, scale the channels, re-encode as JPEG.
fn edit(img: &RgbImage, rng: &mut rand_chacha::ChaCha8Rng) -> Vec<u8> {
    let area: f32 = rng.random_range(0.70..0.85);
    let aspect: f32 = rng.random_range(0.85..1.15);
    let (w, h) = (img.width() as f32, img.height() as f32);
    let cw = ((w * h * area * aspect).sqrt()).min(w) as u32;
    let ch = ((w * h * area / aspect).sqrt()).min(h) as u32;
    let x = rng.random_range(0..=img.width() - cw);
    let y = rng.random_range(0..=img.height() - ch);
    let mut out = imageops::crop_imm(img, x, y, cw, ch).to_image();
    let gain: f32 = rng.random_range(0.8..1.2);
    let tint: [f32; 3] = [
        rng.random_range(0.9..1.1),
        rng.random_range(0.9..1.1),
        rng.random_range(0.9..1.1),
    ];
    let offset: f32 = rng.random_range(-15.0..15.0);
    for p in out.pixels_mut() {
        for (c, t) in p.0.iter_mut().zip(tint) {
            *c = (*c as f32 * gain * t + offset).round().clamp(0.0, 255.0) as u8;
        }
    }
    let mut bytes = Vec::new();
    let q = rng.random_range(60..=85);
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, q)
        .encode_image(&out)
        .expect("jpeg");
    bytes
}

/// Writes the folder; returns it and the source photo of every file name (None: the noise).
fn build(fx: &Path, root: &Path) -> BTreeMap<String, Option<String>> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let mut source = BTreeMap::new();
    let mut photos: Vec<PathBuf> = std::fs::read_dir(fx.join("images"))
        .expect("images")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    photos.sort();
    assert_eq!(photos.len(), 6);
    for p in &photos {
        let stem = p.file_stem().expect("stem").to_string_lossy().to_string();
        let img = image::open(p).expect("photo").to_rgb8();
        let name = format!("{stem}.png");
        std::fs::copy(p, root.join(&name)).expect("copy");
        source.insert(name, Some(stem.clone()));
        for k in 0..COPIES {
            let name = format!("{stem}_edit{k}.jpg");
            std::fs::write(root.join(&name), edit(&img, &mut rng)).expect("write");
            source.insert(name, Some(stem.clone()));
        }
    }
    let noise = RgbImage::from_fn(320, 240, |_, _| image::Rgb(rng.random()));
    noise.save(root.join("noise.png")).expect("noise");
    source.insert("noise.png".into(), None);
    source
}

fn dlscope(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_dlscope"))
        .args(args)
        .output()
        .expect("run dlscope");
    assert!(
        out.status.success(),
        "dlscope {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn report(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("report.json")).expect("report.json");
    serde_json::from_str(&text).expect("json")
}

/// Near-duplicate groups of a report: group -> file names.
fn groups(r: &Value) -> BTreeMap<u64, BTreeSet<String>> {
    let mut out: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
    for f in r["findings"].as_array().expect("findings") {
        if f["kind"] == "near_duplicate" {
            let id = f["id"].as_str().expect("id").to_string();
            out.entry(f["group"].as_u64().expect("group"))
                .or_default()
                .insert(id);
        }
    }
    out
}

/// (pairs of a copy and its photo or another copy of it that share a group, of all such
/// pairs; pairs of different sources that share a group).
fn score(
    g: &BTreeMap<u64, BTreeSet<String>>,
    source: &BTreeMap<String, Option<String>>,
) -> (usize, usize, usize) {
    let group_of: BTreeMap<&String, u64> = g
        .iter()
        .flat_map(|(&k, names)| names.iter().map(move |n| (n, k)))
        .collect();
    let names: Vec<&String> = source.keys().collect();
    let (mut found, mut total, mut false_pairs) = (0, 0, 0);
    for (i, a) in names.iter().enumerate() {
        for b in &names[i + 1..] {
            let same = group_of.contains_key(a) && group_of.get(a) == group_of.get(b);
            match (&source[*a], &source[*b]) {
                (Some(x), Some(y)) if x == y => {
                    total += 1;
                    found += usize::from(same);
                }
                _ => false_pairs += usize::from(same),
            }
        }
    }
    (found, total, false_pairs)
}

#[test]
fn embeddings_find_the_edited_copies_that_pixels_miss() {
    let Some(fx) = fixtures() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("photos");
    std::fs::create_dir(&root).expect("mkdir");
    let source = build(&fx, &root);
    let weights = fx.join("efficientnet_lite0.safetensors");
    let (root_s, weights_s) = (
        root.to_str().expect("utf8"),
        weights.to_str().expect("utf8"),
    );
    let out = |name: &str| tmp.path().join(name);

    // Pixels only.
    dlscope(&[
        "analyze",
        root_s,
        "--out",
        out("pixels").to_str().expect("utf8"),
        "--no-html",
        "--json",
    ]);
    let pixels = report(&out("pixels"));
    let (pf, total, pfalse) = score(&groups(&pixels), &source);
    assert_eq!(total, 6 * (COPIES + 1) * COPIES / 2);
    eprintln!("pixels: {pf} of {total} copy pairs, {pfalse} false pairs");
    assert!(pf * 2 < total, "pixel hashes found {pf} of {total}");
    assert!(pixels["settings"].get("embeddings").is_none());

    // Embeddings computed by the model.
    dlscope(&[
        "analyze",
        root_s,
        "--out",
        out("model").to_str().expect("utf8"),
        "--no-html",
        "--json",
        "--embeddings",
        "efficientnet-lite0",
        "--weights",
        weights_s,
    ]);
    let model = report(&out("model"));
    let (found, total, false_pairs) = score(&groups(&model), &source);
    eprintln!("embeddings: {found} of {total} copy pairs, {false_pairs} false pairs");
    assert!(
        found as f64 >= 0.95 * total as f64,
        "recall {found}/{total}"
    );
    assert_eq!(false_pairs, 0);
    assert_eq!(
        model["settings"]["embeddings"]["source"],
        "efficientnet-lite0"
    );
    assert_eq!(model["settings"]["embeddings"]["dim"], 1280);
    let details: Vec<&str> = model["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["kind"] == "near_duplicate")
        .filter_map(|f| f["detail"].as_str())
        .collect();
    assert!(
        details.iter().any(|d| d.starts_with("embedding cosine 0.")),
        "{details:?}"
    );

    // The noise image is the top outlier in embedding space.
    let top = model["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["kind"] == "outlier")
        .max_by(|a, b| {
            a["score"]
                .as_f64()
                .unwrap_or(0.0)
                .total_cmp(&b["score"].as_f64().unwrap_or(0.0))
        })
        .expect("an outlier");
    assert_eq!(top["id"], "noise.png");
    assert!(top["detail"]
        .as_str()
        .unwrap_or("")
        .contains("embedding distance"));

    // The same from a `dlscope embed` file.
    let emb = out("emb.safetensors");
    dlscope(&[
        "embed",
        root_s,
        "--out",
        emb.to_str().expect("utf8"),
        "--weights",
        weights_s,
        "--json",
    ]);
    dlscope(&[
        "analyze",
        root_s,
        "--out",
        out("file").to_str().expect("utf8"),
        "--no-html",
        "--json",
        "--embeddings",
        emb.to_str().expect("utf8"),
    ]);
    let file = report(&out("file"));
    assert_eq!(file["findings"], model["findings"]);
    assert_eq!(
        file["settings"]["embeddings"]["source"],
        emb.to_str().expect("utf8")
    );
}

#[test]
fn embeddings_are_refused_with_shard() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_dlscope"))
        .args(["analyze", "x", "--out"])
        .arg(tmp.path().join("o"))
        .args(["--shard", "0/2", "--embeddings", "efficientnet-lite0"])
        .output()
        .expect("run dlscope");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--shard") && err.contains("--embeddings"),
        "{err}"
    );
}
