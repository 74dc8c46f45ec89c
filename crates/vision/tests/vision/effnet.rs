//! EfficientNet-Lite0 against the PyTorch fixtures: logits on the parity inputs, the
//! preprocessing crop byte for byte, top-5 classes and probabilities on every photo, on both
//! engines and under both naming conventions.

use dlscope_vision::inputs::Source;
use dlscope_vision::models::{self, Engine};
use dlscope_vision::preprocess::Batch;
use dlscope_vision::{classify, embed, Classifier};
use serde_json::Value;

use super::util::{f32s, imagenet, max_abs_diff, raw_tensor, rewrite_safetensors};

const TOL: f32 = 1e-3;

fn model(engine: &Engine) -> Box<dyn Classifier> {
    let info = models::find("efficientnet-lite0").unwrap();
    models::load(info, &imagenet("efficientnet_lite0.safetensors"), engine).unwrap()
}

fn expected() -> Value {
    serde_json::from_slice(&std::fs::read(imagenet("expected.json")).unwrap()).unwrap()
}

fn image_paths() -> Vec<std::path::PathBuf> {
    expected()["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| imagenet(e["file"].as_str().unwrap()))
        .collect()
}

/// The six stored uint8 crops, normalised as the fixture did: (x - 127) / 128, NCHW.
fn crops_batch() -> (Vec<u8>, Batch) {
    let (shape, crops) = raw_tensor(&imagenet("parity.safetensors"), "batch_crops_u8");
    assert_eq!(shape, vec![6, 224, 224, 3]);
    let plane = 224 * 224;
    let mut data = vec![0f32; 6 * 3 * plane];
    for (i, img) in crops.chunks_exact(3 * plane).enumerate() {
        for (p, px) in img.chunks_exact(3).enumerate() {
            for c in 0..3 {
                data[(i * 3 + c) * plane + p] = (f32::from(px[c]) - 127.0) / 128.0;
            }
        }
    }
    (crops, Batch::new(6, 224, 224, data).unwrap())
}

fn check_parity(engine: &Engine) {
    let m = model(engine);
    assert_eq!(m.naming(), "lukemelas");
    let parity = imagenet("parity.safetensors");
    let input = f32s(&raw_tensor(&parity, "input").1);
    let want = f32s(&raw_tensor(&parity, "logits").1);
    let got = m.logits(&Batch::new(1, 224, 224, input).unwrap()).unwrap();
    let d = max_abs_diff(&got, &want);
    eprintln!(
        "{} engine, parity input: max |dlogit| = {d:.2e}",
        engine.name()
    );
    assert!(d <= TOL, "{}: max |dlogit| {d} > {TOL}", engine.name());

    let (_, batch) = crops_batch();
    let want = f32s(&raw_tensor(&parity, "batch_logits").1);
    let got = m.logits(&batch).unwrap();
    let d = max_abs_diff(&got, &want);
    eprintln!(
        "{} engine, six crops: max |dlogit| = {d:.2e}",
        engine.name()
    );
    assert!(
        d <= TOL,
        "{}: batch max |dlogit| {d} > {TOL}",
        engine.name()
    );
}

#[test]
fn cpu_engine_reproduces_pytorch_logits() {
    check_parity(&Engine::Cpu);
}

#[test]
fn burn_engine_reproduces_pytorch_logits() {
    check_parity(&Engine::Burn(burn::tensor::Device::flex()));
}

#[test]
fn preprocessing_reproduces_the_fixture_crops_byte_for_byte() {
    let info = models::find("efficientnet-lite0").unwrap();
    let (crops, _) = crops_batch();
    for (i, path) in image_paths().iter().enumerate() {
        let img = dlscope_data::decode::decode_file(path).unwrap();
        let crop = info.preprocess.crop(&img);
        let want = &crops[i * 224 * 224 * 3..(i + 1) * 224 * 224 * 3];
        let differ = crop.data.iter().zip(want).filter(|(a, b)| a != b).count();
        assert_eq!(
            differ,
            0,
            "{}: {differ} bytes differ from the Pillow crop",
            path.display()
        );
    }
}

#[test]
fn top5_and_probabilities_match_pytorch_on_every_photo() {
    let info = models::find("efficientnet-lite0").unwrap();
    let m = model(&Engine::Cpu);
    let opts = classify::Options {
        top: 5,
        batch_size: 4,
        preprocess: info.preprocess,
    };
    let out = classify::run(
        m.as_ref(),
        &Source::Files(image_paths()),
        &opts,
        &mut |_| {},
    )
    .unwrap();
    assert!(out.failures.is_empty());
    assert!(out.images_per_second() > 0.0);
    let exp = expected();
    for (res, e) in out.results.iter().zip(exp["images"].as_array().unwrap()) {
        let want = e["top5"].as_array().unwrap();
        for (p, w) in res.predictions.iter().zip(want) {
            assert_eq!(p.index as u64, w["index"].as_u64().unwrap(), "{}", res.file);
            assert_eq!(p.label, w["name"].as_str().unwrap());
            assert_eq!(p.wnid.as_deref(), w["wnid"].as_str());
            let dp = (f64::from(p.probability) - w["prob"].as_f64().unwrap()).abs();
            assert!(dp <= 1e-3, "{}: {} p differs by {dp}", res.file, p.label);
        }
    }
    assert_eq!(out.results[0].predictions[0].label, "Egyptian cat");
}

#[test]
fn timm_names_load_to_the_same_network() {
    let dir = tempfile::tempdir().unwrap();
    let timm = dir.path().join("tf_efficientnet_lite0.safetensors");
    // Rename with the table of the fixture notes, written out here independently.
    let stages = [1usize, 2, 2, 3, 3, 4, 1];
    rewrite_safetensors(&imagenet("efficientnet_lite0.safetensors"), &timm, |n| {
        let p: Vec<&str> = n.split('.').collect();
        let top = |a: &str| format!("{a}.{}", p[1..].join("."));
        Some(match p[0] {
            "_conv_stem" => top("conv_stem"),
            "_bn0" => top("bn1"),
            "_conv_head" => top("conv_head"),
            "_bn1" => top("bn2"),
            "_fc" => top("classifier"),
            _ => {
                let mut b: usize = p[1].parse().unwrap();
                let mut s = 0;
                while b >= stages[s] {
                    b -= stages[s];
                    s += 1;
                }
                let sub = match (s, p[2]) {
                    (0, "_depthwise_conv") => "conv_dw",
                    (0, "_bn1") => "bn1",
                    (0, "_project_conv") => "conv_pw",
                    (0, "_bn2") => "bn2",
                    (_, "_expand_conv") => "conv_pw",
                    (_, "_bn0") => "bn1",
                    (_, "_depthwise_conv") => "conv_dw",
                    (_, "_bn1") => "bn2",
                    (_, "_project_conv") => "conv_pwl",
                    _ => "bn3",
                };
                format!("blocks.{s}.{b}.{sub}.{}", p[3..].join("."))
            }
        })
    });
    let info = models::find("tf_efficientnet_lite0").unwrap();
    let m = models::load(info, &timm, &Engine::Cpu).unwrap();
    assert_eq!(m.naming(), "timm");
    let parity = imagenet("parity.safetensors");
    let input = f32s(&raw_tensor(&parity, "input").1);
    let want = f32s(&raw_tensor(&parity, "logits").1);
    let got = m.logits(&Batch::new(1, 224, 224, input).unwrap()).unwrap();
    assert!(max_abs_diff(&got, &want) <= TOL);
}

#[test]
fn embeddings_are_the_pooled_features_the_classifier_reads() {
    let m = model(&Engine::Cpu);
    let info = m.info();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("emb.safetensors");
    let opts = embed::Options {
        batch_size: 4,
        preprocess: info.preprocess,
    };
    let e = embed::run(
        m.as_ref(),
        &Source::Files(image_paths()),
        &opts,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!((e.len(), e.dim), (6, 1280));
    // ReLU6 then mean: every feature lies in [0, 6], and images differ.
    assert!(e.data.iter().all(|v| (0.0..=6.0).contains(v)));
    assert!(max_abs_diff(e.row(0), e.row(1)) > 0.1);
    // logits = fc(embedding): check with the fixture's fc weights for the cat.
    let fw = f32s(&raw_tensor(&imagenet("efficientnet_lite0.safetensors"), "_fc.weight").1);
    let fb = f32s(&raw_tensor(&imagenet("efficientnet_lite0.safetensors"), "_fc.bias").1);
    let logit285: f32 = fb[285]
        + e.row(0)
            .iter()
            .zip(&fw[285 * 1280..286 * 1280])
            .map(|(a, b)| a * b)
            .sum::<f32>();
    let exp = expected();
    let want = exp["images"][0]["top5"][0]["logit"].as_f64().unwrap() as f32;
    assert!((logit285 - want).abs() < 1e-3, "{logit285} vs {want}");

    let ids = embed::write(&e, &out).unwrap();
    let (shape, data) = raw_tensor(&out, "embeddings");
    assert_eq!(shape, vec![6, 1280]);
    assert_eq!(f32s(&data), e.data);
    let (lshape, _) = raw_tensor(&out, "labels");
    assert_eq!(lshape, vec![6]);
    let csv = std::fs::read_to_string(ids).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 7);
    assert_eq!(lines[0], "row,split,id,label");
    assert!(
        lines[1].starts_with("0,,") && lines[1].ends_with("cat_chelsea.png,"),
        "{}",
        lines[1]
    );
}
