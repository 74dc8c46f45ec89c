//! The training loop, with Keras' `fit` semantics: the last `validation_split` of the samples
//! (before shuffling) are held out, the rest are shuffled every epoch and cut into batches (the
//! last partial batch kept); the reported loss and accuracy of an epoch are running means over
//! its batches. Everything random derives from one seed: weights from it, the order of epoch `e`
//! and its dropout masks from `(seed, e)`, so training 3 epochs and resuming for 2 more gives
//! the same weights as training 5.

use std::time::Instant;

use dlscope_data::Dense;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::data::check_labels;
use crate::engine::{resolve_threads, with_threads, Engine};
use crate::error::{NnError, Result};
use crate::kernels::dropout::step_key;
use crate::kernels::loss::BatchStats;
use crate::model::{self, Model};
use crate::net::Net;
use crate::optim::{Optimizer, OptimizerConfig};
use crate::params::Params;
use crate::preprocess::{Normalization, NormalizationKind};
use crate::spec::{Arch, ModelSpec};

/// How to start a new training run.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    pub arch: Arch,
    pub optimizer: OptimizerConfig,
    pub normalization: NormalizationKind,
    pub batch_size: usize,
    pub seed: u64,
    /// Fraction of the samples (taken from the end, as Keras) held out for validation.
    pub validation_split: f32,
}

impl Default for TrainConfig {
    /// The Keras tutorial: MLP 512, RMSprop, `/255`, batch 128, no validation.
    fn default() -> Self {
        TrainConfig {
            arch: Arch::mlp(),
            optimizer: OptimizerConfig::default(),
            normalization: NormalizationKind::Scale,
            batch_size: 128,
            seed: 0,
            validation_split: 0.0,
        }
    }
}

/// Loss and accuracy of one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based, counted over the whole run (resumed runs continue the count).
    pub epoch: usize,
    pub loss: f64,
    pub accuracy: f64,
    pub val_loss: Option<f64>,
    pub val_accuracy: Option<f64>,
    pub seconds: f64,
}

/// Progress reported while training, for progress bars and logs.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    EpochStart {
        epoch: usize,
        /// Last epoch this call will reach.
        last_epoch: usize,
        batches: usize,
    },
    /// After each batch, with the running means of the epoch so far.
    Batch {
        epoch: usize,
        batch: usize,
        batches: usize,
        loss: f64,
        accuracy: f64,
    },
    /// Validation is running on this many samples.
    Validating {
        epoch: usize,
        samples: usize,
    },
    EpochEnd(EpochRecord),
}

/// Timing of one [`Trainer::fit`] call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitSummary {
    pub epochs: usize,
    pub train_samples: usize,
    pub validation_samples: usize,
    /// Wall time of the whole call, validation included.
    pub seconds: f64,
    /// Wall time of the training steps only.
    pub train_seconds: f64,
    /// Training arithmetic (forward + backward) per training second, in GFLOP/s.
    pub gflops: f64,
}

/// A model being trained: weights, optimizer state and history. Saved whole in a run folder, so
/// training can resume where it stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct Trainer {
    pub model: Model,
    pub optimizer: Optimizer,
    pub batch_size: usize,
    pub seed: u64,
    pub validation_split: f32,
    pub history: Vec<EpochRecord>,
}

/// Number of training samples when `n` are split with `fraction` held out.
fn train_count(n: usize, fraction: f32) -> usize {
    n - (n as f64 * fraction as f64).floor() as usize
}

fn check_settings(batch_size: usize, validation_split: f32) -> Result<()> {
    if batch_size == 0 {
        return Err(NnError::setting("batch_size", 0, "must be at least 1"));
    }
    if !(0.0..1.0).contains(&validation_split) {
        return Err(NnError::setting(
            "validation_split",
            validation_split,
            "must be in [0, 1)",
        ));
    }
    Ok(())
}

impl Trainer {
    /// A fresh model for `data` (its shape becomes the model's input) and `classes`:
    /// Glorot-initialised from `config.seed`, normalisation fitted on the training part.
    pub fn new(
        config: &TrainConfig,
        classes: Vec<String>,
        split: &str,
        data: &Dense,
    ) -> Result<Self> {
        check_settings(config.batch_size, config.validation_split)?;
        config.optimizer.validate()?;
        let spec = ModelSpec::new(config.arch.clone(), data.shape, classes.len())?;
        let n_train = train_count(data.len(), config.validation_split);
        if n_train == 0 {
            return Err(NnError::EmptyData {
                split: split.to_string(),
                task: "train on",
            });
        }
        let per = data.shape.len();
        let normalization = Normalization::fit(
            config.normalization,
            &data.pixels[..n_train * per],
            data.shape.channels as usize,
        );
        let params = Params::glorot(&spec, config.seed);
        let optimizer = Optimizer::new(config.optimizer, params.len());
        Ok(Trainer {
            model: Model::new(spec, classes, normalization, params)?,
            optimizer,
            batch_size: config.batch_size,
            seed: config.seed,
            validation_split: config.validation_split,
            history: Vec::new(),
        })
    }

    /// Epochs trained so far.
    pub fn epochs_done(&self) -> usize {
        self.history.len()
    }

    /// Trains `epochs` more epochs on `data` (at the model's input shape; see
    /// [`crate::data::load_split`]), calling `on_event` as it goes. Stops with
    /// [`NnError::NonFiniteLoss`] if the loss diverges; the weights are then those of the last
    /// finite step, and nothing has been written anywhere.
    pub fn fit(
        &mut self,
        split: &str,
        data: &Dense,
        epochs: usize,
        engine: &Engine,
        threads: usize,
        on_event: &mut (dyn FnMut(&Event) + Send),
    ) -> Result<FitSummary> {
        let started = Instant::now();
        check_settings(self.batch_size, self.validation_split)?;
        let spec = self.model.spec.clone();
        if data.shape != spec.input {
            return Err(NnError::BadModel(format!(
                "'{split}' is {} (HxWxC) but the model takes {}",
                data.shape, spec.input
            )));
        }
        let n_train = train_count(data.len(), self.validation_split);
        if data.is_empty() || n_train == 0 {
            return Err(NnError::EmptyData {
                split: split.to_string(),
                task: "train on",
            });
        }
        check_labels(split, &data.labels, spec.classes)?;
        let d = spec.input_len();
        let x = self
            .model
            .normalization
            .to_f32(&data.pixels, spec.input.channels as usize);
        let (x_train, x_val) = x.split_at(n_train * d);
        let (y_train, y_val) = data.labels.split_at(n_train);
        let threads = resolve_threads(threads);
        let batch = self.batch_size.min(n_train);
        let batches = n_train.div_ceil(batch);
        let first = self.history.len();
        let mut train_seconds = 0.0;
        let this = &mut *self;
        with_threads(threads, || -> Result<()> {
            let mut net =
                matches!(engine, Engine::Cpu).then(|| Net::new(&spec, batch, threads, true));
            let mut grads = vec![0.0f32; this.model.params.len()];
            let mut bx = vec![0.0f32; batch * d];
            let mut by = vec![0u32; batch];
            let mut order: Vec<usize> = (0..n_train).collect();
            for epoch in first..first + epochs {
                let epoch_start = Instant::now();
                on_event(&Event::EpochStart {
                    epoch: epoch + 1,
                    last_epoch: first + epochs,
                    batches,
                });
                let mut rng = ChaCha8Rng::seed_from_u64(this.seed);
                rng.set_stream(epoch as u64);
                order.sort_unstable();
                order.shuffle(&mut rng);
                let mut total = BatchStats::default();
                let mut seen = 0usize;
                for (b, idx) in order.chunks(batch).enumerate() {
                    let m = idx.len();
                    for (k, &i) in idx.iter().enumerate() {
                        bx[k * d..(k + 1) * d].copy_from_slice(&x_train[i * d..(i + 1) * d]);
                        by[k] = y_train[i];
                    }
                    let key = step_key(this.seed, epoch as u64, b as u64, 0);
                    let stats = match (&mut net, engine) {
                        (Some(net), _) => net.train_step(
                            &this.model.params.values,
                            &bx[..m * d],
                            &by[..m],
                            &mut grads,
                            key,
                        ),
                        (None, Engine::Burn(device)) => {
                            let ad = device.clone().autodiff();
                            if b == 0 {
                                ad.seed(key);
                            }
                            let (loss_sum, correct, g) = model::burn::loss_and_grads(
                                &spec,
                                &this.model.params,
                                &bx[..m * d],
                                &by[..m],
                                &ad,
                            )?;
                            grads.copy_from_slice(&g.values);
                            BatchStats { loss_sum, correct }
                        }
                        (None, Engine::Cpu) => unreachable!("the CPU engine builds a Net"),
                    };
                    if !stats.loss_sum.is_finite() {
                        return Err(NnError::NonFiniteLoss {
                            epoch: epoch + 1,
                            batch: b + 1,
                            loss: stats.loss_sum as f32,
                        });
                    }
                    this.optimizer.step(&mut this.model.params.values, &grads);
                    total.loss_sum += stats.loss_sum;
                    total.correct += stats.correct;
                    seen += m;
                    on_event(&Event::Batch {
                        epoch: epoch + 1,
                        batch: b + 1,
                        batches,
                        loss: total.loss_sum / seen as f64,
                        accuracy: total.correct as f64 / seen as f64,
                    });
                }
                train_seconds += epoch_start.elapsed().as_secs_f64();
                let (val_loss, val_accuracy) = if y_val.is_empty() {
                    (None, None)
                } else {
                    on_event(&Event::Validating {
                        epoch: epoch + 1,
                        samples: y_val.len(),
                    });
                    let (l, a) = validate(&this.model, x_val, y_val, engine, threads)?;
                    (Some(l), Some(a))
                };
                let record = EpochRecord {
                    epoch: epoch + 1,
                    loss: total.loss_sum / seen as f64,
                    accuracy: total.correct as f64 / seen as f64,
                    val_loss,
                    val_accuracy,
                    seconds: epoch_start.elapsed().as_secs_f64(),
                };
                this.history.push(record.clone());
                on_event(&Event::EpochEnd(record));
            }
            Ok(())
        })??;
        let flops = spec.train_flops_per_sample() * (n_train * epochs) as f64;
        Ok(FitSummary {
            epochs,
            train_samples: n_train,
            validation_samples: y_val.len(),
            seconds: started.elapsed().as_secs_f64(),
            train_seconds,
            gflops: if train_seconds > 0.0 {
                flops / train_seconds / 1e9
            } else {
                0.0
            },
        })
    }
}

/// Mean loss and accuracy of `model` on normalised inputs (already inside the thread pool).
fn validate(
    model: &Model,
    x: &[f32],
    labels: &[u32],
    engine: &Engine,
    threads: usize,
) -> Result<(f64, f64)> {
    let k = model.spec.classes;
    let mut total = BatchStats::default();
    model.logits_in_pool(x, engine, threads, |start, logits| {
        let b = logits.len() / k;
        let s = crate::kernels::loss::evaluate(logits, &labels[start..start + b], k);
        total.loss_sum += s.loss_sum;
        total.correct += s.correct;
    })?;
    let n = labels.len() as f64;
    Ok((total.loss_sum / n, total.correct as f64 / n))
}
