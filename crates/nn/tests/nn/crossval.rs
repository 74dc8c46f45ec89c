//! Cross-validated probabilities: out of sample, stratified, reproducible by seed.

use dlscope_data::Shape;
use dlscope_nn::crossval::{cross_val_probs, linear_probe, stratified_folds, CvPlan, ProbeConfig};
use dlscope_nn::{Engine, TrainConfig, Trainer};

use crate::util::{names, noise, tiny};

/// Mean probability of the given label.
fn mean_self_prob(probs: &[f32], labels: &[u32], k: usize) -> f64 {
    labels
        .iter()
        .enumerate()
        .map(|(i, &l)| probs[i * k + l as usize] as f64)
        .sum::<f64>()
        / labels.len() as f64
}

#[test]
fn folds_are_stratified_and_seeded() {
    let labels: Vec<u32> = (0..103u32).map(|i| i % 3).collect();
    let f = stratified_folds(&labels, 5, 7).unwrap();
    for fold in 0..5 {
        let size = f.iter().filter(|&&x| x == fold).count();
        assert!((20..=21).contains(&size), "fold {fold} has {size}");
        for class in 0..3u32 {
            let c = (0..103)
                .filter(|&i| f[i] == fold && labels[i] == class)
                .count();
            assert!((6..=8).contains(&c), "fold {fold} class {class}: {c}");
        }
    }
    assert_eq!(f, stratified_folds(&labels, 5, 7).unwrap());
    assert_ne!(f, stratified_folds(&labels, 5, 8).unwrap());
    assert!(stratified_folds(&labels, 1, 0).is_err());
}

#[test]
fn probabilities_are_out_of_sample_and_reproducible() {
    // Random pixels with arbitrary labels: a big MLP memorises them (in-sample p(given) near
    // 1), but a model that never saw a sample can only guess (about 1/2).
    let data = tiny(Shape::new(8, 8, 1), 240, 2, 11);
    let cfg = TrainConfig {
        seed: 3,
        batch_size: 16,
        ..TrainConfig::default()
    };
    let mut t = Trainer::new(&cfg, names(2), "train", &data).unwrap();
    t.fit("train", &data, 40, &Engine::Cpu, 1, &mut |_| {})
        .unwrap();
    let in_sample = t.model.predict_proba(&data, &Engine::Cpu, 1).unwrap();
    let in_mean = mean_self_prob(&in_sample, &data.labels, 2);
    assert!(in_mean > 0.9, "in-sample mean p(given) {in_mean}");

    let plan = CvPlan {
        folds: 4,
        epochs: 40,
        engine: Engine::Cpu,
        threads: 1,
    };
    let mut folds_seen = Vec::new();
    let cv = cross_val_probs(&cfg, names(2), "train", &data, &plan, &mut |e| {
        if let dlscope_nn::crossval::FoldEvent::Done { fold, .. } = e {
            folds_seen.push(fold)
        }
    })
    .unwrap();
    assert_eq!(folds_seen, vec![0, 1, 2, 3]);
    let cv_mean = mean_self_prob(&cv, &data.labels, 2);
    assert!(cv_mean < 0.65, "out-of-sample mean p(given) {cv_mean}");
    for row in cv.chunks(2) {
        assert!((row[0] + row[1] - 1.0).abs() < 1e-4);
    }
    let again = cross_val_probs(&cfg, names(2), "train", &data, &plan, &mut |_| {}).unwrap();
    assert_eq!(cv, again, "same seed, same probabilities");
    let other = TrainConfig { seed: 4, ..cfg };
    let differ = cross_val_probs(&other, names(2), "train", &data, &plan, &mut |_| {}).unwrap();
    assert_ne!(cv, differ);
}

#[test]
fn linear_probe_learns_separable_features_and_not_noise() {
    // 3 classes of 16-d features around distinct centres.
    let (n, dim, k) = (300usize, 16usize, 3usize);
    let jitter = noise(n * dim, 5);
    let labels: Vec<u32> = (0..n as u32).map(|i| i % k as u32).collect();
    let features: Vec<f32> = (0..n * dim)
        .map(|p| {
            let (i, j) = (p / dim, p % dim);
            let centre = if j % k == labels[i] as usize {
                2.0
            } else {
                0.0
            };
            centre + (jitter[p] as f32 / 255.0 - 0.5)
        })
        .collect();
    let cfg = ProbeConfig {
        epochs: 10,
        seed: 1,
        ..ProbeConfig::default()
    };
    let probs = linear_probe(&features, dim, &labels, k, 5, &cfg, &mut |_| {}).unwrap();
    let acc = (0..n)
        .filter(|&i| {
            let row = &probs[i * k..(i + 1) * k];
            row.iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(j, _)| j)
                == Some(labels[i] as usize)
        })
        .count() as f64
        / n as f64;
    assert!(acc > 0.95, "probe accuracy {acc}");
    assert_eq!(
        probs,
        linear_probe(&features, dim, &labels, k, 5, &cfg, &mut |_| {}).unwrap()
    );
    // Pure-noise features: out of sample the given label gets about 1/3.
    let noise_f: Vec<f32> = noise(n * dim, 9).iter().map(|&b| b as f32).collect();
    let p = linear_probe(&noise_f, dim, &labels, k, 5, &cfg, &mut |_| {}).unwrap();
    let m = mean_self_prob(&p, &labels, k);
    assert!(m < 0.45, "noise mean p(given) {m}");
    assert!(linear_probe(&features[1..], dim, &labels, k, 5, &cfg, &mut |_| {}).is_err());
}
