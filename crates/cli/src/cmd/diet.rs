//! `dlscope diet DATASET --fractions 0.05,0.1,0.2,0.5,1 --strategies random,stratified,prototypes
//! --model mlp --out DIR`: train on subsets chosen by each strategy, evaluate on the whole test
//! split, write `diet.csv`, `diet_summary.csv`, `diet.json` and the chart `diet.svg`.

use std::path::PathBuf;

use anyhow::{bail, Context};
use dlscope_flows::diet::{run_diet, write_diet, DietConfig, DietEvent};
use dlscope_ml::features::FeatureSpec;
use dlscope_ml::sampling::Strategy;
use dlscope_nn::Arch;

use super::common::{progress_bar, ComputeArgs};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModelArg {
    /// The Keras MLP (one hidden layer of 512).
    Mlp,
    /// The Keras MNIST CNN.
    Cnn,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Catalog name or path (see `dlscope info --help`).
    pub dataset: String,
    /// Fractions of the training split to keep, comma-separated, each in (0, 1].
    #[arg(long, value_delimiter = ',', default_value = "0.05,0.1,0.2,0.5,1")]
    pub fractions: Vec<f64>,
    /// Strategies, comma-separated: random, systematic, stratified, k-center, prototypes.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "random,stratified,prototypes"
    )]
    pub strategies: Vec<String>,
    #[arg(long, value_enum, default_value = "mlp")]
    pub model: ModelArg,
    #[arg(long, default_value_t = 5)]
    pub epochs: usize,
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,
    /// Repeats per (strategy, fraction); repeat r uses seed --seed + r.
    #[arg(long, default_value_t = 3)]
    pub seeds: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Feature space of k-center and prototypes: `pixels`, `pca:N`, `embeddings:FILE` (from
    /// `dlscope embed`) or `embeddings:FILE,pca:N`.
    #[arg(long, default_value = "pca:50")]
    pub features: String,
    #[arg(long, default_value = "train")]
    pub train_split: String,
    #[arg(long, default_value = "test")]
    pub test_split: String,
    /// Use only the first N training samples (quick looks).
    #[arg(long)]
    pub limit: Option<usize>,
    /// New output folder for diet.csv, diet_summary.csv, diet.json and diet.svg.
    #[arg(long)]
    pub out: PathBuf,
    /// Print the aggregated table as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub compute: ComputeArgs,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let strategies = args
        .strategies
        .iter()
        .map(|s| s.trim().parse::<Strategy>())
        .collect::<Result<Vec<_>, _>>()?;
    let features: FeatureSpec = args.features.parse()?;
    if args.out.exists() {
        bail!(
            "{}: already exists; choose a new output folder",
            args.out.display()
        );
    }
    let cfg = DietConfig {
        fractions: args.fractions.clone(),
        strategies,
        repeats: args.seeds,
        seed: args.seed,
        arch: match args.model {
            ModelArg::Mlp => Arch::mlp(),
            ModelArg::Cnn => Arch::cnn(),
        },
        epochs: args.epochs,
        batch_size: args.batch_size,
        features,
        train_split: args.train_split.clone(),
        test_split: args.test_split.clone(),
        train_limit: args.limit,
        threads: args.compute.threads,
    };
    let engine = args.compute.engine()?;
    let ds = super::common::open_dataset(&args.dataset)?;
    let mut bar: Option<indicatif::ProgressBar> = None;
    let mut on_event = |e: &DietEvent| match e {
        DietEvent::Prepared { train, test, runs } => {
            eprintln!("diet: {runs} trainings, {train} training samples, {test} test samples");
            bar = Some(progress_bar(*runs as u64, "diet"));
        }
        DietEvent::RunStart {
            strategy,
            fraction,
            seed,
            n_train,
            ..
        } => {
            if let Some(pb) = &bar {
                pb.set_prefix(format!(
                    "{strategy} {fraction} seed {seed} ({n_train} samples)"
                ));
            }
        }
        DietEvent::Epoch { epoch, epochs, .. } => {
            if let Some(pb) = &bar {
                pb.set_message(format!("epoch {epoch}/{epochs}"));
            }
        }
        DietEvent::RunEnd { row, .. } => {
            let line = format!(
                "{:>10} {:>5} seed {:<3} n={:<6} test accuracy {:.4} ({:.1} s)",
                row.strategy, row.fraction, row.seed, row.n_train, row.test_accuracy, row.seconds
            );
            match &bar {
                Some(pb) if !pb.is_hidden() => {
                    pb.inc(1);
                    pb.println(line);
                }
                _ => eprintln!("{line}"),
            }
        }
    };
    let result = run_diet(&ds, &cfg, &engine, &mut on_event)
        .with_context(|| format!("data diet on {}", ds.name))?;
    if let Some(pb) = bar.take() {
        pb.finish_and_clear();
    }
    let written = write_diet(&result, &args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result.aggregates)?);
        return Ok(());
    }
    println!(
        "{}: {} for {} epochs, {} seed(s), test on '{}' ({} samples)",
        result.dataset,
        result.model,
        result.epochs,
        result.seeds.len(),
        result.test_split,
        result.test_samples
    );
    println!(
        "{:>11} {:>8} {:>7} {:>8} {:>7} {:>8} {:>8}",
        "strategy", "fraction", "n_train", "mean", "std", "min", "max"
    );
    for a in &result.aggregates {
        println!(
            "{:>11} {:>8} {:>7} {:>8.4} {:>7.4} {:>8.4} {:>8.4}",
            a.strategy, a.fraction, a.n_train, a.mean, a.std, a.min, a.max
        );
    }
    if let Some(note) = &result.note {
        println!("note: {note}");
    }
    println!("wrote {}", written.dir.display());
    Ok(())
}
