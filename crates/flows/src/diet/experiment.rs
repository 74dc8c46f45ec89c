//! Running the grid: strategy x fraction x seed, each one selection, one training and one
//! evaluation on the full test split.

use std::time::Instant;

use dlscope_data::{Dataset, Dense};
use dlscope_ml::features::FeatureSpec;
use dlscope_ml::sampling::{Reduction, Strategy};
use dlscope_nn::{Arch, Engine, Event, NormalizationKind, OptimizerConfig, TrainConfig, Trainer};

use super::error::{DietError, Result};
use super::table::{aggregate, DietResult, DietRow};
use super::ALL;

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub struct DietConfig {
    /// Fractions of the training split to keep, each in `(0, 1]`.
    pub fractions: Vec<f64>,
    /// Strategies compared at every fraction below 1.
    pub strategies: Vec<Strategy>,
    /// Repeats: run `r` uses seed `seed + r` for both the selection and the weights.
    pub repeats: usize,
    pub seed: u64,
    pub arch: Arch,
    pub epochs: usize,
    pub batch_size: usize,
    /// Feature space of the k-center and prototype strategies.
    pub features: FeatureSpec,
    pub train_split: String,
    pub test_split: String,
    /// Use only the first `n` samples of the training split (quick runs, tests).
    pub train_limit: Option<usize>,
    /// Training threads (0: all cores).
    pub threads: usize,
}

impl Default for DietConfig {
    /// Fractions 5 %..100 %, random / stratified / prototypes, 3 repeats, the Keras MLP for 5
    /// epochs, PCA-50 features, train on `train`, test on `test`.
    fn default() -> Self {
        DietConfig {
            fractions: vec![0.05, 0.1, 0.2, 0.5, 1.0],
            strategies: vec![Strategy::Random, Strategy::Stratified, Strategy::Prototypes],
            repeats: 3,
            seed: 0,
            arch: Arch::mlp(),
            epochs: 5,
            batch_size: 128,
            features: FeatureSpec::Pca(50),
            train_split: "train".into(),
            test_split: "test".into(),
            train_limit: None,
            threads: 0,
        }
    }
}

/// Progress of [`run_diet`].
#[derive(Debug, Clone, PartialEq)]
pub enum DietEvent {
    /// Data loaded (and features computed): `runs` trainings follow.
    Prepared {
        train: usize,
        test: usize,
        runs: usize,
    },
    /// Run `run` (1-based) of `runs` starts.
    RunStart {
        run: usize,
        runs: usize,
        strategy: String,
        fraction: f64,
        seed: u64,
        n_train: usize,
        /// Samples of each class in the subset (index = label).
        class_counts: Vec<usize>,
    },
    /// An epoch of the current run ended.
    Epoch {
        run: usize,
        epoch: usize,
        epochs: usize,
        loss: f64,
    },
    /// Run `run` ended with this row.
    RunEnd {
        run: usize,
        runs: usize,
        row: DietRow,
    },
}

impl DietConfig {
    fn validate(&self) -> Result<()> {
        if self.fractions.is_empty() {
            return Err(DietError::setting("fractions", "[]", "give at least one"));
        }
        for &f in &self.fractions {
            if !(f > 0.0 && f <= 1.0) {
                return Err(DietError::setting("fraction", f, "must be in (0, 1]"));
            }
        }
        if self.fractions.iter().any(|&f| f < 1.0) && self.strategies.is_empty() {
            return Err(DietError::setting(
                "strategies",
                "[]",
                "fractions below 1 need at least one strategy",
            ));
        }
        if self.repeats == 0 {
            return Err(DietError::setting("repeats", 0, "must be at least 1"));
        }
        if self.epochs == 0 {
            return Err(DietError::setting("epochs", 0, "must be at least 1"));
        }
        if self.train_limit == Some(0) {
            return Err(DietError::setting("train_limit", 0, "must be at least 1"));
        }
        Ok(())
    }

    /// Sorted, distinct fractions below 1, and whether 1 is asked for.
    fn grid(&self) -> (Vec<f64>, bool) {
        let mut below: Vec<f64> = self
            .fractions
            .iter()
            .copied()
            .filter(|&f| f < 1.0)
            .collect();
        below.sort_by(f64::total_cmp);
        below.dedup();
        (below, self.fractions.contains(&1.0))
    }
}

/// Rows `idx` of `d`, in that order.
fn gather(d: &Dense, idx: &[usize]) -> Dense {
    let per = d.shape.len();
    let mut pixels = Vec::with_capacity(idx.len() * per);
    for &i in idx {
        pixels.extend_from_slice(d.image(i));
    }
    Dense {
        shape: d.shape,
        pixels,
        labels: idx.iter().map(|&i| d.labels[i]).collect(),
    }
}

/// Samples per class among `kept` (labels past `classes` are not counted).
fn class_counts(labels: &[u32], kept: &[usize], classes: usize) -> Vec<usize> {
    let mut c = vec![0usize; classes];
    for &i in kept {
        if let Some(v) = c.get_mut(labels[i] as usize) {
            *v += 1;
        }
    }
    c
}

/// Runs the whole grid on `ds` (training on `engine`) and aggregates it. Fractions below 1 run once per strategy and
/// repeat; fraction 1 once per repeat, as strategy [`ALL`].
pub fn run_diet(
    ds: &Dataset,
    cfg: &DietConfig,
    engine: &Engine,
    on_event: &mut (dyn FnMut(&DietEvent) + Send),
) -> Result<DietResult> {
    let started = Instant::now();
    cfg.validate()?;
    let (fractions, full) = cfg.grid();
    let mut strategies: Vec<Strategy> = Vec::new();
    for s in &cfg.strategies {
        if !strategies.contains(s) {
            strategies.push(*s);
        }
    }
    let mut train = dlscope_nn::data::load_split(ds.split(&cfg.train_split)?, None)?;
    if let Some(limit) = cfg.train_limit {
        if limit < train.len() {
            train = gather(&train, &(0..limit).collect::<Vec<_>>());
        }
    }
    let test = dlscope_nn::data::load_split(ds.split(&cfg.test_split)?, Some(train.shape))?;
    let features = if !fractions.is_empty() && strategies.iter().any(|s| s.needs_features()) {
        Some(
            cfg.features
                .compute_for(
                    &[ds.split(&cfg.train_split)?],
                    Some(train.len()),
                    &train.pixels,
                    train.shape.len(),
                    cfg.seed,
                )
                .map_err(|source| DietError::Features {
                    split: cfg.train_split.clone(),
                    source,
                })?,
        )
    } else {
        None
    };
    let runs = cfg.repeats * (fractions.len() * strategies.len() + usize::from(full));
    on_event(&DietEvent::Prepared {
        train: train.len(),
        test: test.len(),
        runs,
    });
    let mut rows = Vec::with_capacity(runs);
    let mut run = 0usize;
    for r in 0..cfg.repeats {
        let seed = cfg.seed + r as u64;
        let mut jobs: Vec<(Option<Strategy>, f64)> = Vec::new();
        for &f in &fractions {
            jobs.extend(strategies.iter().map(|&s| (Some(s), f)));
        }
        if full {
            jobs.push((None, 1.0));
        }
        for (strategy, fraction) in jobs {
            run += 1;
            let name = strategy.map_or(ALL, |s| s.as_str()).to_string();
            let t_select = Instant::now();
            let kept: Vec<usize> = match strategy {
                None => (0..train.len()).collect(),
                Some(s) => {
                    let red = Reduction {
                        strategy: s,
                        fraction,
                        seed,
                        duplicates: None,
                    };
                    red.select(&train.labels, features.as_ref().map(|f| f.matrix.view()))
                        .map_err(|source| DietError::Select {
                            strategy: name.clone(),
                            fraction,
                            seed,
                            source,
                        })?
                        .kept
                }
            };
            let select_seconds = t_select.elapsed().as_secs_f64();
            on_event(&DietEvent::RunStart {
                run,
                runs,
                strategy: name.clone(),
                fraction,
                seed,
                n_train: kept.len(),
                class_counts: class_counts(&train.labels, &kept, ds.classes.len()),
            });
            let t_train = Instant::now();
            let subset = gather(&train, &kept);
            let wrap = |source| DietError::Train {
                strategy: name.clone(),
                fraction,
                seed,
                source,
            };
            let tc = TrainConfig {
                arch: cfg.arch.clone(),
                optimizer: OptimizerConfig::default(),
                normalization: NormalizationKind::Scale,
                batch_size: cfg.batch_size,
                seed,
                validation_split: 0.0,
            };
            let mut trainer =
                Trainer::new(&tc, ds.classes.clone(), &cfg.train_split, &subset).map_err(wrap)?;
            let epochs = cfg.epochs;
            let mut forward = |e: &Event| {
                if let Event::EpochEnd(rec) = e {
                    on_event(&DietEvent::Epoch {
                        run,
                        epoch: rec.epoch,
                        epochs,
                        loss: rec.loss,
                    });
                }
            };
            trainer
                .fit(
                    &cfg.train_split,
                    &subset,
                    epochs,
                    engine,
                    cfg.threads,
                    &mut forward,
                )
                .map_err(wrap)?;
            let eval = trainer
                .model
                .evaluate(&cfg.test_split, &test, engine, cfg.threads)
                .map_err(wrap)?;
            let row = DietRow {
                strategy: name,
                fraction,
                seed,
                n_train: kept.len(),
                test_accuracy: eval.accuracy,
                test_loss: eval.loss,
                select_seconds,
                seconds: t_train.elapsed().as_secs_f64(),
            };
            on_event(&DietEvent::RunEnd {
                run,
                runs,
                row: row.clone(),
            });
            rows.push(row);
        }
    }
    let aggregates = aggregate(&rows);
    Ok(DietResult {
        dataset: ds.name.clone(),
        model: cfg.arch.name().to_string(),
        epochs: cfg.epochs,
        batch_size: cfg.batch_size,
        features: strategies
            .iter()
            .any(|s| s.needs_features())
            .then(|| cfg.features.to_string()),
        train_split: cfg.train_split.clone(),
        test_split: cfg.test_split.clone(),
        train_samples: train.len(),
        test_samples: test.len(),
        strategies: strategies.iter().map(|s| s.as_str().to_string()).collect(),
        fractions: {
            let mut f = fractions.clone();
            if full {
                f.push(1.0);
            }
            f
        },
        seeds: (0..cfg.repeats).map(|r| cfg.seed + r as u64).collect(),
        note: full.then(|| {
            format!(
                "fraction 1 keeps every training sample whatever the strategy, so it was trained \
                 once per seed (strategy '{ALL}') and every strategy's line ends at that point"
            )
        }),
        rows,
        aggregates,
        seconds: started.elapsed().as_secs_f64(),
    })
}
