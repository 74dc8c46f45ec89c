//! Whole-program benchmark on Fashion-MNIST, the Rust side of `bench/mlp_pytorch.py` and
//! `bench/cnn_pytorch.py`: trains from scratch, evaluates on the test split and prints one JSON
//! line `{"model", "seed", "threads", "epochs", "seconds", "train_seconds", "gflops",
//! "test_accuracy", "history"}`. `seconds` covers what the peer scripts time: preprocessing and
//! training (data already decoded in memory), not the final evaluation.
//!
//! ```text
//! cargo bench -p dlscope-nn --bench fashion -- --model mlp --epochs 5 --seed 1 --threads 2
//! cargo bench -p dlscope-nn --bench fashion -- --model cnn --epochs 3 --seed 1 --threads 2
//! ```
//! Options: `--dataset SPEC` (default `fashion-mnist`), `--optimizer rmsprop|adam|sgd`,
//! `--batch-size N`, `--device cpu|flex`.

use std::time::Instant;

use dlscope_nn::{data, Arch, Engine, OptimizerConfig, TrainConfig, Trainer};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let model = arg(&args, "--model").unwrap_or_else(|| "mlp".into());
    let arch = match model.as_str() {
        "mlp" => Arch::mlp(),
        "cnn" => Arch::cnn(),
        other => return Err(format!("unknown model {other}").into()),
    };
    let default_epochs = if model == "cnn" { 3 } else { 5 };
    let epochs: usize = arg(&args, "--epochs").map_or(Ok(default_epochs), |v| v.parse())?;
    let seed: u64 = arg(&args, "--seed").map_or(Ok(1), |v| v.parse())?;
    let threads: usize = arg(&args, "--threads").map_or(Ok(2), |v| v.parse())?;
    let batch_size: usize = arg(&args, "--batch-size").map_or(Ok(128), |v| v.parse())?;
    let dataset = arg(&args, "--dataset").unwrap_or_else(|| "fashion-mnist".into());
    let optimizer = match arg(&args, "--optimizer") {
        Some(name) => OptimizerConfig::by_name(&name).ok_or("unknown optimizer")?,
        None => OptimizerConfig::default(),
    };
    let engine = Engine::from_name(&arg(&args, "--device").unwrap_or_else(|| "cpu".into()))?;

    let ds = dlscope_data::open(&dataset)?;
    let train = data::load_split(ds.split("train")?, None)?;
    let test = data::load_split(ds.split("test")?, Some(train.shape))?;
    let config = TrainConfig {
        arch,
        optimizer,
        batch_size,
        seed,
        ..TrainConfig::default()
    };
    let started = Instant::now();
    let mut trainer = Trainer::new(&config, ds.classes.clone(), "train", &train)?;
    let fit = trainer.fit("train", &train, epochs, &engine, threads, &mut |_| {})?;
    let seconds = started.elapsed().as_secs_f64();
    let eval = trainer.model.evaluate("test", &test, &engine, threads)?;
    let out = serde_json::json!({
        "model": model,
        "seed": seed,
        "threads": threads,
        "epochs": epochs,
        "seconds": seconds,
        "train_seconds": fit.train_seconds,
        "gflops": fit.gflops,
        "test_accuracy": eval.accuracy,
        "history": trainer.history,
    });
    println!("{out}");
    Ok(())
}
