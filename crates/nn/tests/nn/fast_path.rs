//! The hand-written CPU path computes what the burn modules compute: same logits, same
//! gradients (burn autodiff as the reference), on tiny models of both architectures.

use burn::tensor::Device;
use dlscope_data::Shape;
use dlscope_nn::model::burn::loss_and_grads;
use dlscope_nn::preprocess::Normalization;
use dlscope_nn::{Arch, Engine, Model, ModelSpec, Net, Params};

use crate::util::{names, noise, tiny};

fn inputs(spec: &ModelSpec, n: usize, seed: u64) -> Vec<f32> {
    noise(n * spec.input_len(), seed)
        .into_iter()
        .map(|v| v as f32 / 255.0 - 0.5)
        .collect()
}

/// Largest difference relative to the largest magnitude of `want`, per tensor.
fn assert_close(spec: &ModelSpec, got: &Params, want: &Params, tol: f32) {
    for info in &got.infos {
        let g = got.get(&info.name).unwrap();
        let w = want.get(&info.name).unwrap();
        let scale = w.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
        let diff = g.iter().zip(w).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            diff / scale < tol,
            "{} {}: max diff {diff} vs scale {scale}",
            spec.arch.name(),
            info.name
        );
    }
}

fn check(spec: ModelSpec, batch: usize) {
    let params = Params::glorot(&spec, 9);
    // Non-zero biases, so their gradients and uses are exercised.
    let mut params = params;
    for info in params.infos.clone() {
        if info.name.ends_with("bias") {
            for (i, v) in params.get_mut(&info.name).unwrap().iter_mut().enumerate() {
                *v = 0.05 * ((i % 5) as f32 - 2.0);
            }
        }
    }
    let x = inputs(&spec, batch, 3);
    let labels: Vec<u32> = (0..batch as u32)
        .map(|i| (i * 7 + 1) % spec.classes as u32)
        .collect();

    let mut net = Net::new(&spec, batch, 2, true);
    let mut grads = vec![0.0; params.len()];
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let stats = pool.install(|| net.train_step(&params.values, &x, &labels, &mut grads, 0));
    let fast = Params {
        values: grads,
        infos: params.infos.clone(),
    };

    let device = Device::flex().autodiff();
    let (loss_sum, correct, reference) =
        loss_and_grads(&spec, &params, &x, &labels, &device).unwrap();
    assert!(
        (stats.loss_sum - loss_sum).abs() < 1e-4 * loss_sum.abs().max(1.0),
        "{} vs {loss_sum}",
        stats.loss_sum
    );
    assert_eq!(stats.correct, correct);
    assert_close(&spec, &fast, &reference, 1e-4);

    // Inference: logits through both engines give the same probabilities.
    let data = tiny(spec.input, 7, spec.classes as u32, 4);
    let model = Model::new(
        spec.clone(),
        names(spec.classes),
        Normalization::Scale,
        params,
    )
    .unwrap();
    let a = model.predict_proba(&data, &Engine::Cpu, 2).unwrap();
    let b = model
        .predict_proba(&data, &Engine::Burn(Device::flex()), 2)
        .unwrap();
    for (p, q) in a.iter().zip(&b) {
        assert!((p - q).abs() < 1e-5, "{p} vs {q}");
    }
}

#[test]
fn mlp_fast_path_matches_burn_autodiff() {
    let spec = ModelSpec::new(Arch::Mlp { hidden: vec![9, 6] }, Shape::new(5, 4, 2), 4).unwrap();
    check(spec, 11);
}

#[test]
fn cnn_fast_path_matches_burn_autodiff() {
    // Dropout off: the two engines draw different masks.
    let arch = Arch::Cnn {
        filters: [3, 5],
        dense: 6,
        dropout: [0.0, 0.0],
    };
    // Odd sizes: the pooling drops the last row and column.
    let spec = ModelSpec::new(arch, Shape::new(9, 8, 3), 3).unwrap();
    check(spec, 5);
}

#[test]
fn keras_mlp_matches_burn_on_a_real_sized_batch() {
    let spec = ModelSpec::new(Arch::mlp(), Shape::new(28, 28, 1), 10).unwrap();
    check(spec, 128);
}

#[test]
fn burn_engine_trains_with_the_same_optimizer() {
    // Bright versus dark 4x4 images: separable in a few epochs.
    let shape = Shape::new(4, 4, 1);
    let mut data = tiny(shape, 64, 2, 8);
    for (i, px) in data.pixels.chunks_mut(16).enumerate() {
        let bright = data.labels[i] == 1;
        for p in px.iter_mut() {
            *p = if bright { 128 + *p / 2 } else { *p / 2 };
        }
    }
    let config = dlscope_nn::TrainConfig {
        arch: Arch::Mlp { hidden: vec![8] },
        batch_size: 16,
        optimizer: dlscope_nn::OptimizerConfig::by_name("adam")
            .unwrap()
            .with_learning_rate(0.01),
        ..Default::default()
    };
    let engine = Engine::Burn(Device::flex());
    let mut t = dlscope_nn::Trainer::new(&config, names(2), "train", &data).unwrap();
    t.fit("train", &data, 10, &engine, 1, &mut |_| {}).unwrap();
    assert_eq!(t.optimizer.iterations(), 40);
    assert!(t.history[9].loss < t.history[0].loss, "{:?}", t.history);
    let eval = t.model.evaluate("train", &data, &engine, 1).unwrap();
    assert!(eval.accuracy > 0.9, "{}", eval.accuracy);
    // Same weights, other engine: same predictions.
    assert_eq!(
        t.model
            .evaluate("train", &data, &Engine::Cpu, 1)
            .unwrap()
            .confusion,
        eval.confusion
    );
}
