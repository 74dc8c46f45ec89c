//! VGG16 architecture parity: every weight and the input filled by the fixture's integer
//! formula, written as a torchvision-named safetensors file, loaded the way a user's
//! `vgg16.safetensors` is, and all 1000 logits compared with torchvision's.

use std::io::Write;
use std::path::Path;

use dlscope_vision::models::{self, Engine};
use dlscope_vision::preprocess::Batch;
use rayon::prelude::*;
use serde_json::Value;

use super::util::{fixture, max_abs_diff, write_safetensors};

/// `u(t, i) = ((i * 2654435761 + t * 40503 + 12345) mod 2^32) / 2^32`, in u64 then f64.
fn u(t: u64, i: u64) -> f64 {
    ((i * 2654435761 + t * 40503 + 12345) % (1u64 << 32)) as f64 / 2f64.powi(32)
}

/// Values of tensor number `t` (torchvision state-dict order), as reference.py computes them.
fn values(t: u64, name: &str, shape: &[usize], start: usize, out: &mut [f32]) {
    let fan_in: usize = shape[1..].iter().product();
    let weight = name.ends_with("weight");
    let scale = 2.0 * 3f64.sqrt();
    let gain = (2.0 / fan_in as f64).sqrt();
    out.par_iter_mut().enumerate().for_each(|(k, v)| {
        let x = u(t, (start + k) as u64);
        *v = if weight {
            ((x - 0.5) * scale * gain) as f32
        } else {
            ((x - 0.5) * 0.02) as f32
        };
    });
}

fn write_weights(
    path: &Path,
    tensors: &[(String, Vec<usize>)],
    names: &[(u64, String, Vec<usize>)],
) {
    write_safetensors(path, tensors, |i, w: &mut dyn Write| {
        let (t, name, shape) = &names[i];
        let n: usize = shape.iter().product();
        let mut buf = vec![0f32; 1 << 20];
        let mut start = 0;
        while start < n {
            let len = (n - start).min(buf.len());
            values(*t, name, shape, start, &mut buf[..len]);
            let bytes: Vec<u8> = buf[..len].iter().flat_map(|v| v.to_le_bytes()).collect();
            w.write_all(&bytes)?;
            start += len;
        }
        Ok(())
    });
}

fn timm_name(name: &str, shape: &[usize]) -> (String, Vec<usize>) {
    match name {
        "classifier.0.weight" => ("pre_logits.fc1.weight".into(), vec![4096, 512, 7, 7]),
        "classifier.0.bias" => ("pre_logits.fc1.bias".into(), shape.to_vec()),
        "classifier.3.weight" => ("pre_logits.fc2.weight".into(), vec![4096, 4096, 1, 1]),
        "classifier.3.bias" => ("pre_logits.fc2.bias".into(), shape.to_vec()),
        "classifier.6.weight" => ("head.fc.weight".into(), shape.to_vec()),
        "classifier.6.bias" => ("head.fc.bias".into(), shape.to_vec()),
        _ => (name.to_string(), shape.to_vec()),
    }
}

#[test]
fn vgg16_matches_torchvision_logits_on_both_engines_and_namings() {
    let fx: Value =
        serde_json::from_slice(&std::fs::read(fixture("vgg16/logits.json")).unwrap()).unwrap();
    let tol = fx["tolerance"]["abs"].as_f64().unwrap() as f32;
    assert!(tol <= 1e-4);
    let want: Vec<f32> = fx["logits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    let names: Vec<(u64, String, Vec<usize>)> = fx["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let shape = t["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect();
            (
                t["index"].as_u64().unwrap(),
                t["name"].as_str().unwrap().to_string(),
                shape,
            )
        })
        .collect();
    assert_eq!(names.len(), 32);

    let mut input = vec![0f32; 3 * 224 * 224];
    input
        .iter_mut()
        .enumerate()
        .for_each(|(i, v)| *v = ((u(999, i as u64) - 0.5) * 4.0) as f32);
    let x = Batch::new(1, 224, 224, input).unwrap();
    let info = models::find("vgg16").unwrap();
    let dir = tempfile::tempdir().unwrap();

    let path = dir.path().join("vgg16.safetensors");
    let tv: Vec<(String, Vec<usize>)> = names
        .iter()
        .map(|(_, n, s)| (n.clone(), s.clone()))
        .collect();
    write_weights(&path, &tv, &names);
    for engine in [Engine::Cpu, Engine::Burn(burn::tensor::Device::flex())] {
        let m = models::load(info, &path, &engine).unwrap();
        assert_eq!(m.naming(), "torchvision");
        let got = m.logits(&x).unwrap();
        let d = max_abs_diff(&got, &want);
        eprintln!("vgg16 {} engine: max |dlogit| = {d:.2e}", engine.name());
        assert!(
            d <= tol,
            "{} engine: max |dlogit| {d} > {tol}",
            engine.name()
        );
        let top = dlscope_vision::labels::top_k(&got, 5);
        let want_top: Vec<usize> = fx["top5"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(top, want_top);
    }
    std::fs::remove_file(&path).unwrap();

    // timm stores the classifier as 7x7 and 1x1 convolutions under other names.
    let timm_path = dir.path().join("vgg16_timm.safetensors");
    let timm: Vec<(String, Vec<usize>)> = names.iter().map(|(_, n, s)| timm_name(n, s)).collect();
    write_weights(&timm_path, &timm, &names);
    let m = models::load(info, &timm_path, &Engine::Cpu).unwrap();
    assert_eq!(m.naming(), "timm");
    let d = max_abs_diff(&m.logits(&x).unwrap(), &want);
    assert!(d <= tol, "timm names: max |dlogit| {d} > {tol}");
    let emb = m.embed(&x).unwrap();
    assert_eq!(emb.len(), 4096);
    assert!(
        emb.iter().all(|&v| v >= 0.0),
        "fc2 embeddings come after ReLU"
    );
    let tiny = Batch::new(1, 16, 16, vec![0.0; 3 * 16 * 16]).unwrap();
    let e = m.logits(&tiny).unwrap_err().to_string();
    assert!(e.contains("at least 32x32"), "{e}");
}
