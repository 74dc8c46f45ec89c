//! `dlscope labels`: likely label errors by cross-validated predictions and confident learning.

use std::path::PathBuf;

use anyhow::{bail, Context};
use dlscope_analyze::labels::RankBy;
use dlscope_flows::labels::{self, LabelsConfig, ModelChoice, ProbSource};
use dlscope_nn::crossval::FoldEvent;
use dlscope_nn::Event;

use super::common::{open_dataset, progress_bar};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ModelArg {
    Mlp,
    Cnn,
    Linear,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RankArg {
    SelfConfidence,
    NormalizedMargin,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Catalog name or path (see `dlscope info --help`).
    pub dataset: String,
    /// Split whose labels are checked.
    #[arg(long, default_value = "train")]
    pub split: String,
    /// Model cross-validated for out-of-sample probabilities (linear needs --embeddings).
    #[arg(long, value_enum, default_value = "mlp")]
    pub model: ModelArg,
    /// Embeddings file of `dlscope embed` (safetensors; its .ids.csv beside it) for --model linear.
    #[arg(long)]
    pub embeddings: Option<PathBuf>,
    /// Cross-validation folds.
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Training epochs per fold.
    #[arg(long, default_value_t = 5)]
    pub epochs: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Training threads (0 = one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Use these predicted probabilities (.npy, samples x classes) instead of training.
    #[arg(long)]
    pub pred_probs: Option<PathBuf>,
    /// Order of the issues (lowest first).
    #[arg(long, value_enum, default_value = "self-confidence")]
    pub rank_by: RankArg,
    /// Indices known to be mislabelled (one per line): report precision and recall.
    #[arg(long)]
    pub flipped_list: Option<PathBuf>,
    /// Output folder (must not exist).
    #[arg(long)]
    pub out: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let ds = open_dataset(&args.dataset)?;
    let source = match (&args.pred_probs, args.model, &args.embeddings) {
        (Some(p), _, _) => ProbSource::File(p.clone()),
        (None, ModelArg::Linear, None) => bail!("--model linear needs --embeddings FILE"),
        (None, m, e) => ProbSource::CrossVal {
            model: match (m, e) {
                (ModelArg::Linear, Some(e)) => ModelChoice::Linear {
                    embeddings: e.clone(),
                },
                (ModelArg::Cnn, _) => ModelChoice::Cnn,
                _ => ModelChoice::Mlp,
            },
            folds: args.folds,
            epochs: args.epochs,
        },
    };
    let cfg = LabelsConfig {
        split: args.split.clone(),
        source,
        seed: args.seed,
        threads: args.threads,
        rank_by: match args.rank_by {
            RankArg::SelfConfidence => RankBy::SelfConfidence,
            RankArg::NormalizedMargin => RankBy::NormalizedMargin,
        },
        flipped_list: args.flipped_list.clone(),
    };
    let mut bar = None;
    let outcome = labels::run(&ds, &cfg, &args.out, &mut |e| match e {
        FoldEvent::Start { fold, folds, .. } => {
            bar = Some(progress_bar(0, &format!("fold {}/{folds}", fold + 1)));
        }
        FoldEvent::Train {
            event: Event::EpochStart { batches, .. },
            ..
        } => {
            if let Some(b) = &bar {
                b.set_length(*batches as u64);
                b.set_position(0);
            }
        }
        FoldEvent::Train {
            event: Event::Batch { batch, .. },
            ..
        } => {
            if let Some(b) = &bar {
                b.set_position(*batch as u64);
            }
        }
        FoldEvent::Done { fold, accuracy } => {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
            eprintln!("fold {}: held-out accuracy {accuracy:.4}", fold + 1);
        }
        _ => {}
    })
    .with_context(|| format!("labels of '{}' split '{}'", args.dataset, args.split))?;
    let s = &outcome.summary;
    if args.json {
        println!("{}", serde_json::to_string_pretty(s)?);
        return Ok(());
    }
    println!(
        "{} likely label errors in {} samples of '{}' ({} classes; out-of-sample accuracy {:.4})",
        s.issues, s.n, s.split, s.k, s.cv_accuracy
    );
    for f in outcome.findings.iter().take(10) {
        println!("  {:>8}  {}", f.id, f.detail);
    }
    if let Some(t) = &s.truth {
        println!(
            "against {} known flips: precision {:.4}, recall {:.4}",
            t.flipped, t.precision, t.recall
        );
    }
    println!("wrote {}", outcome.out.display());
    Ok(())
}
