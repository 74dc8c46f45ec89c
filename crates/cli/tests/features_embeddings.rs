//! `--features embeddings:FILE`: real EfficientNet-Lite0 embeddings (the fixture weights) of a
//! small folder dataset made from three fixture photos (crops, flips and strong brightness or
//! colour changes of each, labelled by source photo). k-means on the embeddings recovers the
//! photos; on the pixels it groups by brightness and colour instead. Then the `dlscope cluster`
//! binary records the feature source in summary.json and still draws cluster.html.

use std::path::{Path, PathBuf};

use dlscope_ml::features::FeatureSpec;
use dlscope_ml::pipeline::{cluster, ClusterConfig, Method};
use dlscope_vision::embed;
use dlscope_vision::inputs::Source;
use dlscope_vision::models::{self, Engine};
use image::{imageops, RgbImage};

fn imagenet(rel: &str) -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/imagenet"
    ))
    .join(rel)
}

const PHOTOS: [&str; 3] = ["cat_chelsea", "coffee_cup", "rocket_launch_pad"];
const SIDE: u32 = 80;

/// Variant `v` of a photo: a crop (position and size vary), maybe mirrored, and a brightness
/// or colour change shared by every photo's variant `v` (dark, bright, tinted...).
fn variant(img: &RgbImage, v: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    let side = w.min(h) * (70 + 6 * (v % 5)) / 100;
    let x = (w - side) * (v % 3) / 2;
    let y = (h - side) * ((v / 3) % 3) / 2;
    let mut c = imageops::resize(
        &imageops::crop_imm(img, x, y, side, side).to_image(),
        SIDE,
        SIDE,
        imageops::FilterType::Triangle,
    );
    if v % 2 == 1 {
        c = imageops::flip_horizontal(&c);
    }
    // (scale, offset) per channel.
    let looks: [([f32; 3], [f32; 3]); 4] = [
        ([0.35, 0.35, 0.35], [0.0, 0.0, 0.0]),    // dark
        ([0.6, 0.6, 0.6], [110.0, 110.0, 110.0]), // washed out
        ([1.0, 0.5, 0.3], [60.0, 0.0, 0.0]),      // warm tint
        ([0.4, 0.7, 1.0], [0.0, 20.0, 70.0]),     // cool tint
    ];
    let (scale, offset) = looks[(v % 4) as usize];
    for p in c.pixels_mut() {
        for ch in 0..3 {
            p.0[ch] = (p.0[ch] as f32 * scale[ch] + offset[ch]).clamp(0.0, 255.0) as u8;
        }
    }
    c
}

/// `root/<photo>/vNN.png`, 8 variants per photo.
fn make_dataset(root: &Path) {
    for name in PHOTOS {
        let img = image::open(imagenet(&format!("images/{name}.png")))
            .unwrap()
            .to_rgb8();
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        for v in 0..8 {
            variant(&img, v)
                .save(dir.join(format!("v{v:02}.png")))
                .unwrap();
        }
    }
}

fn kmeans(features: FeatureSpec) -> ClusterConfig {
    ClusterConfig {
        method: Method::KMeans { n_init: 10 },
        k: PHOTOS.len(),
        features,
        splits: None,
        seed: 0,
        silhouette_sample: 0,
    }
}

#[test]
fn kmeans_on_embeddings_recovers_the_photos_where_pixels_fail() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("photos");
    make_dataset(&root);
    let ds = dlscope_data::open(root.to_str().unwrap()).unwrap();
    assert_eq!((ds.len(), ds.classes.len()), (24, 3));

    let info = models::find("efficientnet-lite0").unwrap();
    let model = models::load(
        info,
        &imagenet("efficientnet_lite0.safetensors"),
        &Engine::Cpu,
    )
    .unwrap();
    let opts = embed::Options {
        batch_size: 8,
        preprocess: info.preprocess,
    };
    let split = ds.split("train").unwrap();
    let e = embed::run(model.as_ref(), &Source::Split(split), &opts, &mut |_| {}).unwrap();
    assert!(e.failures.is_empty());
    let emb_path = tmp.path().join("emb.safetensors");
    embed::write(&e, &emb_path).unwrap();

    let on_emb = cluster(
        &ds,
        &kmeans(FeatureSpec::Embeddings {
            path: emb_path.clone(),
            pca: None,
        }),
    )
    .unwrap();
    let on_emb_pca = cluster(
        &ds,
        &kmeans(FeatureSpec::Embeddings {
            path: emb_path.clone(),
            pca: Some(8),
        }),
    )
    .unwrap();
    let on_px = cluster(&ds, &kmeans(FeatureSpec::Pixels)).unwrap();
    let ari = |o: &dlscope_ml::pipeline::ClusterOutput| o.summary.ari.unwrap();
    println!(
        "ARI: embeddings {:.3}, embeddings+pca:8 {:.3}, pixels {:.3}",
        ari(&on_emb),
        ari(&on_emb_pca),
        ari(&on_px)
    );
    assert_eq!(on_emb.summary.dimensions, 1280);
    assert_eq!(on_emb_pca.summary.dimensions, 8);
    assert_eq!(
        on_emb.summary.features,
        format!("embeddings:{}", emb_path.display())
    );
    assert!(ari(&on_emb) >= 0.9, "embeddings ARI {}", ari(&on_emb));
    assert!(
        ari(&on_emb_pca) >= 0.9,
        "embeddings+pca ARI {}",
        ari(&on_emb_pca)
    );
    assert!(
        ari(&on_px) <= ari(&on_emb) - 0.4,
        "pixels ARI {} vs embeddings {}",
        ari(&on_px),
        ari(&on_emb)
    );

    // The binary: same features by flag, summary.json names them, cluster.html is drawn.
    let out = tmp.path().join("clusters");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_dlscope"))
        .arg("cluster")
        .arg(&root)
        .args(["--k", "3", "--n-init", "10", "--thumbs", "2", "--features"])
        .arg(format!("embeddings:{}", emb_path.display()))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        summary["features"].as_str(),
        Some(format!("embeddings:{}", emb_path.display()).as_str())
    );
    assert!(summary["ari"].as_f64().unwrap() >= 0.9);
    assert!(std::fs::metadata(out.join("cluster.html")).unwrap().len() > 1000);

    // Embeddings of another dataset: the error names the sample without a row.
    let other = tmp.path().join("other");
    make_dataset(&other);
    std::fs::rename(other.join("coffee_cup"), other.join("mug")).unwrap();
    let ds2 = dlscope_data::open(other.to_str().unwrap()).unwrap();
    let err = cluster(
        &ds2,
        &kmeans(FeatureSpec::Embeddings {
            path: emb_path,
            pca: None,
        }),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("coffee_cup"), "{err}");
}
