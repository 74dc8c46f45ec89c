//! `dlscope train DATASET [--model mlp|cnn] [--epochs N] [--out RUN] [--json]`: train a
//! classifier with Keras semantics (the defaults are the Keras tutorial: MLP 512, RMSprop,
//! batch 128, 5 epochs), evaluate it on the test split and save the run.
//! `dlscope train --resume RUN --epochs N` continues a saved run with its optimizer state.

use std::path::PathBuf;

use anyhow::{bail, Context};
use dlscope_data::Shape;
use dlscope_nn::checkpoint::{self, Provenance, RunMetrics, RunWriter};
use dlscope_nn::data::{check_classes, load_split};
use dlscope_nn::{Arch, Event, NormalizationKind, OptimizerConfig, TrainConfig, Trainer};
use indicatif::{ProgressBar, ProgressStyle};

use super::common::{open_dataset, ComputeArgs};
use super::evaluate::print_evaluation;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModelArg {
    /// Flatten, Dense(512, relu), Dense(classes, softmax).
    Mlp,
    /// Conv 32, Conv 64, MaxPool, Dropout .25, Dense 128, Dropout .5, Dense(classes).
    Cnn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OptimizerArg {
    Rmsprop,
    Adam,
    Sgd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NormalizeArg {
    /// x / 255.
    Scale,
    /// Per-channel mean/std measured on the training data.
    Standardize,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Catalog name or path of the dataset (with --resume: defaults to the run's dataset).
    pub dataset: Option<String>,
    /// Model to train.
    #[arg(long, value_enum, default_value = "mlp", conflicts_with = "resume")]
    pub model: ModelArg,
    /// Hidden layer sizes of the MLP, comma separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "512",
        conflicts_with = "resume"
    )]
    pub hidden: Vec<usize>,
    /// Epochs to train (with --resume: epochs to add).
    #[arg(long, default_value_t = 5)]
    pub epochs: usize,
    #[arg(long, default_value_t = 128, conflicts_with = "resume")]
    pub batch_size: usize,
    /// Optimizer, with Keras' defaults (rmsprop lr 1e-3, adam lr 1e-3, sgd lr 1e-2 momentum 0.9).
    #[arg(long, value_enum, default_value = "rmsprop", conflicts_with = "resume")]
    pub optimizer: OptimizerArg,
    #[arg(long, conflicts_with = "resume")]
    pub learning_rate: Option<f32>,
    /// Momentum of rmsprop or sgd.
    #[arg(long, conflicts_with = "resume")]
    pub momentum: Option<f32>,
    /// Input normalisation.
    #[arg(long, value_enum, default_value = "scale", conflicts_with = "resume")]
    pub normalize: NormalizeArg,
    /// Seed of weights, shuffling and dropout: the same seed gives the same model.
    #[arg(long, default_value_t = 0, conflicts_with = "resume")]
    pub seed: u64,
    /// Fraction of the training split (its end, as Keras) held out for validation.
    #[arg(long, default_value_t = 0.0, conflicts_with = "resume")]
    pub validation_split: f32,
    /// Input size HxW (e.g. 32x32); images of other sizes are resized. Default: the data's.
    #[arg(long, value_parser = parse_size, conflicts_with = "resume")]
    pub size: Option<(u32, u32)>,
    /// Split to train on.
    #[arg(long, default_value = "train")]
    pub split: String,
    /// Split to evaluate on after training ("none" to skip).
    #[arg(long, default_value = "test")]
    pub test_split: String,
    /// Save the run (weights, config, metrics, history) in this new folder.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue training the run in this folder (replaced in place unless --out is given).
    #[arg(long)]
    pub resume: Option<PathBuf>,
    #[command(flatten)]
    pub compute: ComputeArgs,
    /// Print results as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let parse = |v: &str| {
        v.trim()
            .parse::<u32>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("'{s}' is not a size like 32x32"))
    };
    match s.split_once(['x', 'X']) {
        Some((h, w)) => Ok((parse(h)?, parse(w)?)),
        None => parse(s).map(|n| (n, n)),
    }
}

fn new_trainer(
    args: &Args,
    classes: Vec<String>,
    train: &dlscope_data::Dense,
) -> anyhow::Result<Trainer> {
    let arch = match args.model {
        ModelArg::Mlp => Arch::Mlp {
            hidden: args.hidden.clone(),
        },
        ModelArg::Cnn => Arch::cnn(),
    };
    let name = match args.optimizer {
        OptimizerArg::Rmsprop => "rmsprop",
        OptimizerArg::Adam => "adam",
        OptimizerArg::Sgd => "sgd",
    };
    let mut optimizer = OptimizerConfig::by_name(name).context("known optimizer")?;
    if let Some(lr) = args.learning_rate {
        optimizer = optimizer.with_learning_rate(lr);
    }
    if let Some(m) = args.momentum {
        if args.optimizer == OptimizerArg::Adam {
            bail!("--momentum applies to rmsprop and sgd, not adam");
        }
        optimizer = optimizer.with_momentum(m);
    }
    let config = TrainConfig {
        arch,
        optimizer,
        normalization: match args.normalize {
            NormalizeArg::Scale => NormalizationKind::Scale,
            NormalizeArg::Standardize => NormalizationKind::Standardize,
        },
        batch_size: args.batch_size,
        seed: args.seed,
        validation_split: args.validation_split,
    };
    Ok(Trainer::new(&config, classes, &args.split, train)?)
}

/// Draws one bar per epoch with the running loss and accuracy; prints a Keras-like line when an
/// epoch ends (on stderr, so `--json` output stays clean).
fn progress(quiet: bool) -> impl FnMut(&Event) + Send {
    let mut bar: Option<ProgressBar> = None;
    move |event| match event {
        Event::EpochStart {
            epoch,
            last_epoch,
            batches,
        } => {
            let pb = ProgressBar::new(*batches as u64);
            pb.set_style(
                ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed} {prefix}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            pb.set_message(format!("epoch {epoch}/{last_epoch}"));
            bar = Some(pb);
        }
        Event::Batch {
            batch,
            loss,
            accuracy,
            ..
        } => {
            if let Some(pb) = &bar {
                pb.set_position(*batch as u64);
                pb.set_prefix(format!("loss {loss:.4} accuracy {accuracy:.4}"));
            }
        }
        Event::Validating { .. } => {
            if let Some(pb) = &bar {
                pb.set_prefix("validating...");
            }
        }
        Event::EpochEnd(r) => {
            if let Some(pb) = bar.take() {
                pb.finish_and_clear();
            }
            if !quiet {
                let val = match (r.val_loss, r.val_accuracy) {
                    (Some(l), Some(a)) => format!(" - val_loss {l:.4} - val_accuracy {a:.4}"),
                    _ => String::new(),
                };
                eprintln!(
                    "epoch {} - {:.1}s - loss {:.4} - accuracy {:.4}{val}",
                    r.epoch, r.seconds, r.loss, r.accuracy
                );
            }
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let engine = args.compute.engine()?;
    let (mut trainer, provenance, dataset_spec, writer) = match &args.resume {
        Some(run) => {
            let (trainer, provenance) = checkpoint::load_trainer(run)
                .with_context(|| format!("cannot resume from {}", run.display()))?;
            let spec = match (&args.dataset, &provenance.dataset) {
                (Some(d), _) | (None, Some(d)) => d.clone(),
                (None, None) => {
                    bail!("the run does not record its dataset; name it on the command line")
                }
            };
            let writer = match &args.out {
                Some(out) => RunWriter::create(out)?,
                None => RunWriter::replace(run)?,
            };
            (Some(trainer), provenance, spec, Some(writer))
        }
        None => {
            let Some(spec) = args.dataset.clone() else {
                bail!("name a dataset to train on (or --resume RUN)");
            };
            // Claim the output folder first: an unusable path fails now, not after training.
            let writer = args.out.as_deref().map(RunWriter::create).transpose()?;
            let provenance = Provenance {
                dataset: Some(spec.clone()),
                split: Some(args.split.clone()),
            };
            (None, provenance, spec, writer)
        }
    };

    let ds = open_dataset(&dataset_spec)?;
    let target = match (&trainer, args.size) {
        (Some(t), _) => Some(t.model.spec.input),
        (None, Some((h, w))) => {
            let first = ds.split(&args.split)?;
            let channels = match first.fixed_shape() {
                Some(s) => s.channels,
                None => first.get(0)?.image.channels,
            };
            Some(Shape::new(h, w, channels))
        }
        (None, None) => None,
    };
    let train = load_split(ds.split(&args.split)?, target)
        .with_context(|| format!("cannot load split '{}' of {dataset_spec}", args.split))?;
    let mut trainer = match trainer.take() {
        Some(t) => {
            check_classes(&t.model.classes, &ds.classes)?;
            t
        }
        None => new_trainer(&args, ds.classes.clone(), &train)?,
    };

    let mut on_event = progress(args.json);
    let fit = trainer.fit(
        &args.split,
        &train,
        args.epochs,
        &engine,
        args.compute.threads,
        &mut on_event,
    )?;

    let test = if args.test_split != "none" && args.test_split != args.split {
        match ds.split(&args.test_split) {
            Ok(split) => {
                let data = load_split(split, Some(trainer.model.spec.input))?;
                Some(trainer.model.evaluate(
                    &args.test_split,
                    &data,
                    &engine,
                    args.compute.threads,
                )?)
            }
            Err(_) if args.test_split == "test" => None,
            Err(e) => return Err(e.into()),
        }
    } else {
        None
    };

    let metrics = RunMetrics {
        history: trainer.history.clone(),
        test: test.clone(),
        fit: Some(fit.clone()),
    };
    let saved = match writer {
        Some(w) => Some(w.finish(&trainer, &provenance, &metrics)?),
        None => None,
    };

    if args.json {
        let out = serde_json::json!({
            "model": trainer.model.spec.arch.name(),
            "parameters": trainer.model.spec.param_count(),
            "test_accuracy": test.as_ref().map(|e| e.accuracy),
            "test_loss": test.as_ref().map(|e| e.loss),
            "epochs": trainer.history.len(),
            "seconds": fit.seconds,
            "train_seconds": fit.train_seconds,
            "gflops": fit.gflops,
            "history": trainer.history,
            "test": test,
            "run": saved,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "trained {} ({} parameters) for {} epoch(s) on {} samples in {:.1}s ({:.1} GFLOP/s)",
            trainer.model.spec.arch.name(),
            trainer.model.spec.param_count(),
            fit.epochs,
            fit.train_samples,
            fit.seconds,
            fit.gflops
        );
        if let Some(e) = &test {
            println!();
            print_evaluation(&args.test_split, e);
        }
        if let Some(path) = &saved {
            println!("\nsaved run to {}", path.display());
        }
    }
    Ok(())
}
