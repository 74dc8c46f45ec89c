//! Batch classification over a folder: unreadable images are reported per file and the batch
//! goes on; results go to CSV and JSON.

use dlscope_vision::classify;
use dlscope_vision::inputs::{collect_images, Source};
use dlscope_vision::models::{self, Engine};

use super::util::imagenet;

#[test]
fn a_folder_with_a_broken_image_is_classified_around_it() {
    let dir = tempfile::tempdir().unwrap();
    let imgs = dir.path().join("photos");
    std::fs::create_dir_all(imgs.join("sub")).unwrap();
    std::fs::copy(imagenet("images/coffee_cup.png"), imgs.join("a_coffee.png")).unwrap();
    std::fs::copy(
        imagenet("images/cameraman_tripod.png"),
        imgs.join("sub/c_tripod.png"),
    )
    .unwrap();
    let png = std::fs::read(imagenet("images/cat_chelsea.png")).unwrap();
    std::fs::write(imgs.join("b_broken.png"), &png[..png.len() / 3]).unwrap();
    std::fs::write(imgs.join("notes.txt"), b"not an image").unwrap();

    let (files, missing) = collect_images(&[imgs.clone(), dir.path().join("absent.jpg")]);
    assert_eq!(files.len(), 3, "{files:?}");
    assert_eq!(missing.len(), 1);
    assert!(missing[0].file.ends_with("absent.jpg"));

    let info = models::find("efficientnet-lite0").unwrap();
    let m = models::load(
        info,
        &imagenet("efficientnet_lite0.safetensors"),
        &Engine::Cpu,
    )
    .unwrap();
    let opts = classify::Options {
        top: 3,
        batch_size: 2,
        preprocess: info.preprocess,
    };
    let mut seen = Vec::new();
    let out = classify::run(m.as_ref(), &Source::Files(files), &opts, &mut |d| {
        seen.push(d)
    })
    .unwrap();
    assert_eq!(seen, vec![2, 3]);
    assert_eq!(out.results.len(), 2);
    assert_eq!(out.failures.len(), 1);
    assert!(
        out.failures[0].file.ends_with("b_broken.png"),
        "{:?}",
        out.failures
    );
    assert!(out.failures[0].error.contains("b_broken.png"));
    assert_eq!(out.results[0].predictions[0].label, "espresso");
    assert_eq!(out.results[1].predictions[0].label, "tripod");
    assert_eq!(out.results[1].predictions.len(), 3);

    let csv = dir.path().join("out.csv");
    classify::write_csv(&out.results, &csv).unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 7);
    assert_eq!(lines[0], "file,rank,index,wnid,label,probability");
    let f: Vec<&str> = lines[1].split(',').collect();
    assert!(f[0].ends_with("a_coffee.png"));
    assert_eq!(&f[1..5], &["1", "967", "n07920052", "espresso"]);
    assert!(
        (f[5].parse::<f64>().unwrap() - 0.9255).abs() < 2e-3,
        "{}",
        lines[1]
    );

    let json = dir.path().join("out.json");
    classify::write_json(&out.results, &json).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let p = &v[1]["predictions"][0];
    assert_eq!(
        (p["rank"].as_u64(), p["index"].as_u64()),
        (Some(1), Some(872))
    );
    assert_eq!(p["wnid"].as_str(), Some("n04485082"));
    assert_eq!(p["label"].as_str(), Some("tripod"));
    assert!((p["probability"].as_f64().unwrap() - 0.9323).abs() < 2e-3);

    // JSON Lines, picked by the extension: one object per image, top-1 flattened.
    let jl = dir.path().join("out.jsonl");
    classify::write(&out.results, &jl).unwrap();
    let text = std::fs::read_to_string(&jl).unwrap();
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert!(rows[1]["file"].as_str().unwrap().ends_with("c_tripod.png"));
    assert_eq!(
        (rows[1]["index"].as_u64(), rows[1]["label"].as_str()),
        (Some(872), Some("tripod"))
    );
    assert_eq!(rows[1]["predictions"].as_array().unwrap().len(), 3);
    assert_eq!(rows[0]["label"].as_str(), Some("espresso"));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".dlscope-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
}
