//! `dlscope evaluate RUN DATASET [--split test] [--json]`: loss, accuracy, per-class precision,
//! recall and F1, and the confusion matrix of a saved model on a labelled split.

use std::path::PathBuf;

use anyhow::Context;
use dlscope_nn::data::{check_classes, load_split};
use dlscope_nn::Evaluation;

use super::common::{load_run, open_dataset, ComputeArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run folder written by `dlscope train --out`.
    pub run: PathBuf,
    /// Catalog name or path of the dataset (same classes as the model).
    pub dataset: String,
    /// Split to evaluate on.
    #[arg(long, default_value = "test")]
    pub split: String,
    #[command(flatten)]
    pub compute: ComputeArgs,
    /// Print the evaluation as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let engine = args.compute.engine()?;
    let model = load_run(&args.run)?;
    let ds = open_dataset(&args.dataset)?;
    check_classes(&model.classes, &ds.classes)?;
    // Images of another size are resized to the model's input; another channel count is an error.
    let data = load_split(ds.split(&args.split)?, Some(model.spec.input))
        .with_context(|| format!("cannot load split '{}' of {}", args.split, args.dataset))?;
    let eval = model.evaluate(&args.split, &data, &engine, args.compute.threads)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&eval)?);
    } else {
        print_evaluation(&args.split, &eval);
    }
    Ok(())
}

/// Accuracy, the per-class table and the confusion matrix, for people.
pub fn print_evaluation(split: &str, e: &Evaluation) {
    println!(
        "{split}: accuracy {:.4}, loss {:.4}, macro F1 {:.4} on {} samples",
        e.accuracy, e.loss, e.macro_f1, e.samples
    );
    let width = e
        .per_class
        .iter()
        .map(|c| c.class.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    println!();
    println!(
        "{:<width$}  {:>9}  {:>6}  {:>6}  {:>7}",
        "class", "precision", "recall", "f1", "support"
    );
    for c in &e.per_class {
        println!(
            "{:<width$}  {:>9.4}  {:>6.4}  {:>6.4}  {:>7}",
            c.class, c.precision, c.recall, c.f1, c.support
        );
    }
    println!();
    println!("confusion matrix (rows: true class, columns: predicted)");
    let cell = e
        .confusion
        .iter()
        .flatten()
        .map(|v| v.to_string().len())
        .max()
        .unwrap_or(1)
        .max(3);
    let labels: Vec<String> = e
        .per_class
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{i} {}", c.class))
        .collect();
    let lw = labels.iter().map(|l| l.chars().count()).max().unwrap_or(1);
    let header: String = (0..e.confusion.len())
        .map(|j| format!(" {j:>cell$}"))
        .collect();
    println!("{:<lw$} {header}", "");
    for (label, row) in labels.iter().zip(&e.confusion) {
        let cells: String = row.iter().map(|v| format!(" {v:>cell$}")).collect();
        println!("{label:<lw$} {cells}");
    }
}
