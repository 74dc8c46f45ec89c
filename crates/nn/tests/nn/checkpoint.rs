//! Run folders: reload to identical predictions, resume where training stopped, predict files.

use dlscope_nn::checkpoint::{self, Provenance, RunMetrics, RunWriter};
use dlscope_nn::{
    format_top_k, predict, Engine, NormalizationKind, OptimizerConfig, TrainConfig, Trainer,
};

use crate::util::{fashion, subset};

#[test]
fn checkpoints_reload_to_identical_predictions() {
    let f = fashion();
    let data = subset(&f.train, 0, 4000);
    let test = subset(&f.test, 0, 1000);
    let config = TrainConfig {
        normalization: NormalizationKind::Standardize,
        ..TrainConfig::default()
    };
    let mut t = Trainer::new(&config, f.classes.clone(), "train", &data).unwrap();
    t.fit("train", &data, 1, &Engine::Cpu, 2, &mut |_| {})
        .unwrap();
    let eval = t.model.evaluate("test", &test, &Engine::Cpu, 2).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let metrics = RunMetrics {
        history: t.history.clone(),
        test: Some(eval.clone()),
        fit: None,
    };
    checkpoint::save_run(&run, &t, &Provenance::default(), &metrics).unwrap();
    for file in [
        "model.json",
        "weights.safetensors",
        "optimizer.safetensors",
        "metrics.json",
        "history.csv",
    ] {
        assert!(run.join(file).is_file(), "{file} missing");
    }
    // Nothing else is left beside the run (the temp folder was renamed into place).
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    let model = checkpoint::load_model(&run).unwrap();
    assert_eq!(model, t.model);
    let before = t.model.predict_proba(&test, &Engine::Cpu, 2).unwrap();
    let after = model.predict_proba(&test, &Engine::Cpu, 2).unwrap();
    assert_eq!(before, after);
    // JSON keeps counts exactly and rates to within a rounding.
    let saved = checkpoint::load_metrics(&run).unwrap().test.unwrap();
    assert_eq!(saved.confusion, eval.confusion);
    assert!((saved.accuracy - eval.accuracy).abs() < 1e-12);
    for (a, b) in saved.per_class.iter().zip(&eval.per_class) {
        assert_eq!((&a.class, a.support), (&b.class, b.support));
        assert!((a.f1 - b.f1).abs() < 1e-12);
    }
    let csv = std::fs::read_to_string(run.join("history.csv")).unwrap();
    assert_eq!(csv.lines().count(), 2);
    assert!(csv.starts_with("epoch,loss,accuracy,val_loss,val_accuracy,seconds\n1,"));
    // A second save to the same place is refused, the first run stays intact.
    assert!(checkpoint::save_run(&run, &t, &Provenance::default(), &metrics).is_err());
    assert_eq!(checkpoint::load_model(&run).unwrap(), model);
}

#[test]
fn resuming_continues_exactly_like_a_longer_run() {
    let f = fashion();
    let data = subset(&f.train, 30_000, 2500);
    let config = TrainConfig {
        optimizer: OptimizerConfig::by_name("adam").unwrap(),
        seed: 21,
        validation_split: 0.1,
        ..TrainConfig::default()
    };
    let mut straight = Trainer::new(&config, f.classes.clone(), "train", &data).unwrap();
    straight
        .fit("train", &data, 3, &Engine::Cpu, 2, &mut |_| {})
        .unwrap();

    let mut first = Trainer::new(&config, f.classes.clone(), "train", &data).unwrap();
    first
        .fit("train", &data, 2, &Engine::Cpu, 2, &mut |_| {})
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let provenance = Provenance {
        dataset: Some("fashion-mnist".into()),
        split: Some("train".into()),
    };
    let metrics = RunMetrics {
        history: first.history.clone(),
        ..RunMetrics::default()
    };
    checkpoint::save_run(&run, &first, &provenance, &metrics).unwrap();
    let (mut resumed, prov) = checkpoint::load_trainer(&run).unwrap();
    assert_eq!(prov, provenance);
    assert_eq!(resumed, first);
    assert_eq!(resumed.optimizer.iterations(), 2 * 18);
    resumed
        .fit("train", &data, 1, &Engine::Cpu, 2, &mut |_| {})
        .unwrap();
    assert_eq!(resumed.history.len(), 3);
    assert_eq!(resumed.history[2].epoch, 3);
    assert_eq!(resumed.model.params, straight.model.params);
    assert_eq!(resumed.optimizer, straight.optimizer);

    // Resuming in place replaces the run folder whole.
    let metrics = RunMetrics {
        history: resumed.history.clone(),
        ..RunMetrics::default()
    };
    RunWriter::replace(&run)
        .unwrap()
        .finish(&resumed, &prov, &metrics)
        .unwrap();
    let (again, _) = checkpoint::load_trainer(&run).unwrap();
    assert_eq!(again.history.len(), 3);
    assert_eq!(again.model.params, straight.model.params);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn predict_reads_image_files_and_ranks_classes() {
    let f = fashion();
    let data = subset(&f.train, 0, 5000);
    let mut t = Trainer::new(&TrainConfig::default(), f.classes.clone(), "train", &data).unwrap();
    t.fit("train", &data, 2, &Engine::Cpu, 2, &mut |_| {})
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Test image 1 (a pullover) as a PNG, and the same image enlarged to RGB 56x56.
    let px = f.test.image(1).to_vec();
    let small = dir.path().join("small.png");
    image::GrayImage::from_raw(28, 28, px.clone())
        .unwrap()
        .save(&small)
        .unwrap();
    let big = dir.path().join("big.png");
    let rgb = image::DynamicImage::ImageLuma8(image::GrayImage::from_raw(28, 28, px).unwrap())
        .resize_exact(56, 56, image::imageops::FilterType::Triangle)
        .to_rgb8();
    rgb.save(&big).unwrap();
    let images = [
        predict::load_image(&small).unwrap(),
        predict::load_image(&big).unwrap(),
    ];
    let top = t.model.top_k(&images, 3, &Engine::Cpu, 1).unwrap();
    assert_eq!(top.len(), 2);
    let probs = t
        .model
        .predict_proba(&subset(&f.test, 1, 1), &Engine::Cpu, 1)
        .unwrap();
    let best = (0..10)
        .max_by(|&a, &b| probs[a].total_cmp(&probs[b]))
        .unwrap();
    assert_eq!(top[0][0].index, best);
    // Same image, same weights; only the batch size differs (GEMM blocking: last-bit noise).
    assert!((top[0][0].probability - probs[best]).abs() < 1e-6);
    for scores in &top {
        assert_eq!(scores.len(), 3);
        assert!(scores
            .windows(2)
            .all(|w| w[0].probability >= w[1].probability));
    }
    let lines = format_top_k(&top[0]);
    assert!(
        lines[0].starts_with(&format!("1. {}: ", f.classes[best])),
        "{lines:?}"
    );
    assert!(lines[0].ends_with('%'));
    assert!(predict::load_image(&dir.path().join("missing.png")).is_err());
}
