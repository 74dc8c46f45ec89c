//! Out-of-sample predicted probabilities by stratified k-fold cross-validation: every sample's
//! probabilities come from a model that never saw it, the input confident learning needs.
//!
//! Folds are stratified: the samples of each class are shuffled (seeded) and dealt round-robin
//! over the folds, continuing across classes so fold sizes differ by at most one. Fold `f`'s
//! model is trained with [`Trainer`] (the usual loop, seed `seed + f`) on the other folds.
//!
//! [`linear_probe`] does the same over an `f32` feature matrix (embeddings) with softmax
//! regression trained by the crate's optimizers.

use dlscope_data::Dense;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::engine::Engine;
use crate::error::{NnError, Result};
use crate::kernels::loss::softmax_rows;
use crate::optim::{Optimizer, OptimizerConfig};
use crate::train::{Event, TrainConfig, Trainer};

/// Progress of a cross-validation.
#[derive(Debug, Clone, PartialEq)]
pub enum FoldEvent<'a> {
    /// Fold `fold` (0-based) of `folds` starts training on `train` samples.
    Start {
        fold: usize,
        folds: usize,
        train: usize,
        held_out: usize,
    },
    /// A training event of the current fold.
    Train { fold: usize, event: &'a Event },
    /// The fold's held-out samples have their probabilities; `accuracy` is on them.
    Done { fold: usize, accuracy: f64 },
}

/// The stratified fold of every sample (`0..folds`), seeded.
pub fn stratified_folds(labels: &[u32], folds: usize, seed: u64) -> Result<Vec<usize>> {
    if folds < 2 {
        return Err(NnError::BadSetting {
            name: "folds",
            value: folds.to_string(),
            why: "must be at least 2",
        });
    }
    if labels.len() < folds {
        return Err(NnError::BadSetting {
            name: "folds",
            value: folds.to_string(),
            why: "more folds than samples",
        });
    }
    let classes = labels.iter().map(|&l| l as usize + 1).max().unwrap_or(0);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (i, &l) in labels.iter().enumerate() {
        by_class[l as usize].push(i);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut fold_of = vec![0usize; labels.len()];
    let mut next = 0usize;
    for members in &mut by_class {
        members.shuffle(&mut rng);
        for &i in members.iter() {
            fold_of[i] = next % folds;
            next += 1;
        }
    }
    Ok(fold_of)
}

fn gather(data: &Dense, rows: &[usize]) -> Dense {
    let per = data.shape.len();
    let mut pixels = Vec::with_capacity(rows.len() * per);
    for &i in rows {
        pixels.extend_from_slice(&data.pixels[i * per..(i + 1) * per]);
    }
    Dense {
        shape: data.shape,
        pixels,
        labels: rows.iter().map(|&i| data.labels[i]).collect(),
    }
}

fn row_accuracy(probs: &[f32], labels: &[u32], k: usize) -> f64 {
    let correct = labels
        .iter()
        .enumerate()
        .filter(|&(i, &l)| crate::kernels::loss::argmax(&probs[i * k..(i + 1) * k]) == l as usize)
        .count();
    correct as f64 / labels.len().max(1) as f64
}

/// How to cross-validate: fold count, epochs per fold, and where training runs.
#[derive(Debug, Clone)]
pub struct CvPlan {
    pub folds: usize,
    pub epochs: usize,
    pub engine: Engine,
    /// Training threads (0 = one per core).
    pub threads: usize,
}

/// Out-of-sample class probabilities (`n x classes`, row-major) of every sample of `data`:
/// `plan.folds` models built from `config` (fold `f` seeded `config.seed + f`), each trained
/// `plan.epochs` epochs on the other folds. Fold assignment is seeded by `config.seed`.
pub fn cross_val_probs(
    config: &TrainConfig,
    classes: Vec<String>,
    split: &str,
    data: &Dense,
    plan: &CvPlan,
    on_event: &mut (dyn FnMut(FoldEvent) + Send),
) -> Result<Vec<f32>> {
    let (folds, epochs, engine, threads) = (plan.folds, plan.epochs, &plan.engine, plan.threads);
    crate::data::check_labels(split, &data.labels, classes.len())?;
    let k = classes.len();
    let fold_of = stratified_folds(&data.labels, folds, config.seed)?;
    let mut probs = vec![0f32; data.len() * k];
    for f in 0..folds {
        let (held, train): (Vec<usize>, Vec<usize>) =
            (0..data.len()).partition(|&i| fold_of[i] == f);
        on_event(FoldEvent::Start {
            fold: f,
            folds,
            train: train.len(),
            held_out: held.len(),
        });
        let train_data = gather(data, &train);
        let cfg = TrainConfig {
            seed: config.seed.wrapping_add(f as u64),
            ..config.clone()
        };
        let mut trainer = Trainer::new(&cfg, classes.clone(), split, &train_data)?;
        drop(train);
        trainer.fit(split, &train_data, epochs, engine, threads, &mut |e| {
            on_event(FoldEvent::Train { fold: f, event: e })
        })?;
        drop(train_data);
        let held_data = gather(data, &held);
        let p = trainer.model.predict_proba(&held_data, engine, threads)?;
        for (r, &i) in held.iter().enumerate() {
            probs[i * k..(i + 1) * k].copy_from_slice(&p[r * k..(r + 1) * k]);
        }
        on_event(FoldEvent::Done {
            fold: f,
            accuracy: row_accuracy(&p, &held_data.labels, k),
        });
    }
    Ok(probs)
}

/// Settings of the softmax-regression probe.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeConfig {
    pub optimizer: OptimizerConfig,
    pub batch_size: usize,
    pub epochs: usize,
    pub seed: u64,
}

impl Default for ProbeConfig {
    /// Adam (Keras defaults), batch 128, 20 epochs.
    fn default() -> Self {
        ProbeConfig {
            optimizer: OptimizerConfig::Adam(crate::optim::Adam::default()),
            batch_size: 128,
            epochs: 20,
            seed: 0,
        }
    }
}

/// Softmax regression on standardised features: returns `W [dim, k]` then `b [k]` and the
/// per-feature mean and scale used.
struct Probe {
    w: Vec<f32>,
    mean: Vec<f32>,
    scale: Vec<f32>,
    dim: usize,
    k: usize,
}

impl Probe {
    fn logits(&self, x: &[f32], out: &mut [f32]) {
        let (d, k) = (self.dim, self.k);
        out.copy_from_slice(&self.w[d * k..]);
        for (j, &v) in x.iter().enumerate() {
            let z = (v - self.mean[j]) * self.scale[j];
            if z != 0.0 {
                for (o, &w) in out.iter_mut().zip(&self.w[j * k..(j + 1) * k]) {
                    *o += z * w;
                }
            }
        }
    }

    fn fit(x: &[f32], y: &[u32], dim: usize, k: usize, cfg: &ProbeConfig) -> Result<Probe> {
        let n = y.len();
        let mut mean = vec![0f64; dim];
        let mut sq = vec![0f64; dim];
        for row in x.chunks(dim) {
            for (j, &v) in row.iter().enumerate() {
                mean[j] += v as f64;
                sq[j] += v as f64 * v as f64;
            }
        }
        let mean: Vec<f32> = mean.iter().map(|m| (m / n as f64) as f32).collect();
        let scale: Vec<f32> = sq
            .iter()
            .zip(&mean)
            .map(|(s, &m)| {
                let var = (s / n as f64 - (m as f64) * (m as f64)).max(0.0);
                if var > 1e-12 {
                    (1.0 / var.sqrt()) as f32
                } else {
                    0.0
                }
            })
            .collect();
        let mut probe = Probe {
            w: vec![0f32; dim * k + k],
            mean,
            scale,
            dim,
            k,
        };
        let mut opt = Optimizer::new(cfg.optimizer, probe.w.len());
        let mut order: Vec<usize> = (0..n).collect();
        let batch = cfg.batch_size.clamp(1, n);
        for epoch in 0..cfg.epochs {
            let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
            rng.set_stream(epoch as u64);
            order.sort_unstable();
            order.shuffle(&mut rng);
            for (b, idx) in order.chunks(batch).enumerate() {
                // Gradients of fixed chunks of the batch in parallel, summed in chunk order, so
                // the result does not depend on how rayon schedules the work.
                let parts: Vec<Vec<f32>> = idx
                    .par_chunks(16)
                    .map(|chunk| {
                        let mut g = vec![0f32; probe.w.len()];
                        let mut p = vec![0f32; k];
                        for &i in chunk {
                            let xi = &x[i * dim..(i + 1) * dim];
                            probe.logits(xi, &mut p);
                            softmax_rows(&mut p, k);
                            p[y[i] as usize] -= 1.0;
                            for (j, &v) in xi.iter().enumerate() {
                                let z = (v - probe.mean[j]) * probe.scale[j];
                                if z != 0.0 {
                                    for (gw, &d) in g[j * k..(j + 1) * k].iter_mut().zip(&p) {
                                        *gw += z * d;
                                    }
                                }
                            }
                            for (gb, &d) in g[dim * k..].iter_mut().zip(&p) {
                                *gb += d;
                            }
                        }
                        g
                    })
                    .collect();
                let mut grads = vec![0f32; probe.w.len()];
                for part in &parts {
                    grads.iter_mut().zip(part).for_each(|(a, b)| *a += b);
                }
                let m = idx.len() as f32;
                grads.iter_mut().for_each(|g| *g /= m);
                if grads.iter().any(|g| !g.is_finite()) {
                    return Err(NnError::NonFiniteLoss {
                        epoch: epoch + 1,
                        batch: b + 1,
                        loss: f32::NAN,
                    });
                }
                opt.step(&mut probe.w, &grads);
            }
        }
        Ok(probe)
    }
}

/// Out-of-sample probabilities of a linear probe (softmax regression on standardised
/// features) over `features` (`labels.len() x dim`, row-major), by stratified k-fold
/// cross-validation seeded by `config.seed`.
pub fn linear_probe(
    features: &[f32],
    dim: usize,
    labels: &[u32],
    classes: usize,
    folds: usize,
    config: &ProbeConfig,
    on_event: &mut (dyn FnMut(FoldEvent) + Send),
) -> Result<Vec<f32>> {
    if dim == 0 || features.len() != labels.len() * dim {
        return Err(NnError::BadModel(format!(
            "features hold {} values, not {} samples x {dim} dimensions",
            features.len(),
            labels.len()
        )));
    }
    if classes < 2 {
        return Err(NnError::BadModel(format!(
            "{classes} class(es): a classifier needs at least 2"
        )));
    }
    config.optimizer.validate()?;
    crate::data::check_labels("features", labels, classes)?;
    let fold_of = stratified_folds(labels, folds, config.seed)?;
    let k = classes;
    let mut probs = vec![0f32; labels.len() * k];
    for f in 0..folds {
        let (held, train): (Vec<usize>, Vec<usize>) =
            (0..labels.len()).partition(|&i| fold_of[i] == f);
        on_event(FoldEvent::Start {
            fold: f,
            folds,
            train: train.len(),
            held_out: held.len(),
        });
        let mut x = Vec::with_capacity(train.len() * dim);
        for &i in &train {
            x.extend_from_slice(&features[i * dim..(i + 1) * dim]);
        }
        let y: Vec<u32> = train.iter().map(|&i| labels[i]).collect();
        let cfg = ProbeConfig {
            seed: config.seed.wrapping_add(f as u64),
            ..config.clone()
        };
        let probe = Probe::fit(&x, &y, dim, k, &cfg)?;
        let mut correct = 0usize;
        for &i in &held {
            let row = &mut probs[i * k..(i + 1) * k];
            probe.logits(&features[i * dim..(i + 1) * dim], row);
            softmax_rows(row, k);
            correct += usize::from(crate::kernels::loss::argmax(row) == labels[i] as usize);
        }
        on_event(FoldEvent::Done {
            fold: f,
            accuracy: correct as f64 / held.len().max(1) as f64,
        });
    }
    Ok(probs)
}
