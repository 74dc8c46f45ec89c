//! A trained classifier ([`Model`]): spec, class names, input normalisation and weights, with
//! inference on either engine; and the burn module definitions ([`mlp::Mlp`], [`cnn::Cnn`]).

pub mod burn;
pub mod cnn;
pub mod mlp;

use dlscope_data::{Dense, Image};
use serde::{Deserialize, Serialize};

pub use self::burn::BurnModel;
use crate::data::check_labels;
use crate::engine::{resolve_threads, with_threads, Engine};
use crate::error::{NnError, Result};
use crate::kernels::loss;
use crate::metrics::Evaluation;
use crate::net::{Mode, Net};
use crate::params::Params;
use crate::preprocess::{self, Normalization};
use crate::spec::ModelSpec;

/// Samples per inference batch.
const EVAL_BATCH: usize = 256;

/// A classifier ready to predict.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub spec: ModelSpec,
    /// Class names; output `i` is the probability of `classes[i]`.
    pub classes: Vec<String>,
    pub normalization: Normalization,
    pub params: Params,
}

/// One class and its predicted probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassScore {
    pub class: String,
    pub index: usize,
    pub probability: f32,
}

impl Model {
    /// Assembles a model, checking that the class list and the weights fit the spec.
    pub fn new(
        spec: ModelSpec,
        classes: Vec<String>,
        normalization: Normalization,
        params: Params,
    ) -> Result<Self> {
        spec.validate()?;
        if classes.len() != spec.classes {
            return Err(NnError::BadModel(format!(
                "{} class names for a {}-class model",
                classes.len(),
                spec.classes
            )));
        }
        if params.infos != Params::zeros(&spec).infos {
            return Err(NnError::BadModel(
                "weights are not laid out for this model".into(),
            ));
        }
        Ok(Model {
            spec,
            classes,
            normalization,
            params,
        })
    }

    /// Calls `f(first_sample, logits)` for consecutive batches of normalised inputs `x`, on a
    /// pool of `threads` threads (0 = one per core).
    pub(crate) fn for_each_logits(
        &self,
        x: &[f32],
        engine: &Engine,
        threads: usize,
        f: impl FnMut(usize, &mut [f32]) + Send,
    ) -> Result<()> {
        with_threads(threads, || {
            self.logits_in_pool(x, engine, resolve_threads(threads), f)
        })?
    }

    /// [`Model::for_each_logits`] from inside a pool of `threads` threads.
    pub(crate) fn logits_in_pool(
        &self,
        x: &[f32],
        engine: &Engine,
        threads: usize,
        mut f: impl FnMut(usize, &mut [f32]),
    ) -> Result<()> {
        let d = self.spec.input_len();
        let n = x.len() / d;
        match engine {
            Engine::Cpu => {
                let mut net = Net::new(&self.spec, EVAL_BATCH.min(n.max(1)), threads, false);
                let mut logits = vec![0.0; net.max_batch() * self.spec.classes];
                for start in (0..n).step_by(net.max_batch()) {
                    let b = net.max_batch().min(n - start);
                    let out = net.forward(
                        &self.params.values,
                        &x[start * d..(start + b) * d],
                        b,
                        Mode::Eval,
                    );
                    logits[..out.len()].copy_from_slice(out);
                    f(start, &mut logits[..b * self.spec.classes]);
                }
            }
            Engine::Burn(device) => {
                let model = BurnModel::new(&self.spec, &self.params, device);
                for start in (0..n).step_by(EVAL_BATCH) {
                    let b = EVAL_BATCH.min(n - start);
                    let mut logits =
                        self::burn::logits(&model, &self.spec, &x[start * d..], b, device)?;
                    f(start, &mut logits);
                }
            }
        }
        Ok(())
    }

    /// Normalised inputs of `data`, checked against the model's input shape.
    fn inputs(&self, data: &Dense) -> Result<Vec<f32>> {
        if data.shape != self.spec.input {
            return Err(NnError::BadModel(format!(
                "data is {} (HxWxC) but the model takes {}; load it with data::load_split(.., Some(shape))",
                data.shape, self.spec.input
            )));
        }
        Ok(self
            .normalization
            .to_f32(&data.pixels, self.spec.input.channels as usize))
    }

    /// Class probabilities, `[samples, classes]` row-major.
    pub fn predict_proba(&self, data: &Dense, engine: &Engine, threads: usize) -> Result<Vec<f32>> {
        let x = self.inputs(data)?;
        let k = self.spec.classes;
        let mut probs = vec![0.0; data.len() * k];
        self.for_each_logits(&x, engine, threads, |start, logits| {
            loss::softmax_rows(logits, k);
            probs[start * k..start * k + logits.len()].copy_from_slice(logits);
        })?;
        Ok(probs)
    }

    /// Loss, accuracy, confusion matrix and per-class scores on a labelled split.
    pub fn evaluate(
        &self,
        split: &str,
        data: &Dense,
        engine: &Engine,
        threads: usize,
    ) -> Result<Evaluation> {
        if data.is_empty() {
            return Err(NnError::EmptyData {
                split: split.to_string(),
                task: "evaluate",
            });
        }
        check_labels(split, &data.labels, self.spec.classes)?;
        let x = self.inputs(data)?;
        let k = self.spec.classes;
        let mut predicted = vec![0u32; data.len()];
        let mut loss_sum = 0.0;
        self.for_each_logits(&x, engine, threads, |start, logits| {
            let b = logits.len() / k;
            for (i, row) in logits.chunks_exact(k).enumerate() {
                predicted[start + i] = loss::argmax(row) as u32;
            }
            loss_sum += loss::evaluate(logits, &data.labels[start..start + b], k).loss_sum;
        })?;
        Ok(Evaluation::new(
            &self.classes,
            &data.labels,
            &predicted,
            loss_sum,
        ))
    }

    /// The `k` most probable classes of each image, best first. Images of another size or
    /// channel count are converted to the model's input first.
    pub fn top_k(
        &self,
        images: &[Image],
        k: usize,
        engine: &Engine,
        threads: usize,
    ) -> Result<Vec<Vec<ClassScore>>> {
        let shape = self.spec.input;
        let mut pixels = Vec::with_capacity(images.len() * shape.len());
        for img in images {
            pixels.extend(preprocess::conform(img, shape));
        }
        let data = Dense {
            shape,
            pixels,
            labels: vec![u32::MAX; images.len()],
        };
        let probs = self.predict_proba(&data, engine, threads)?;
        Ok(probs
            .chunks_exact(self.spec.classes)
            .map(|row| {
                let mut order: Vec<usize> = (0..row.len()).collect();
                order.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
                order
                    .into_iter()
                    .take(k)
                    .map(|i| ClassScore {
                        class: self.classes[i].clone(),
                        index: i,
                        probability: row[i],
                    })
                    .collect()
            })
            .collect())
    }
}

/// Keras `decode_predictions`-style lines: `1. Trouser: 98.12%`.
pub fn format_top_k(scores: &[ClassScore]) -> Vec<String> {
    scores
        .iter()
        .enumerate()
        .map(|(i, s)| format!("{}. {}: {:.2}%", i + 1, s.class, s.probability * 100.0))
        .collect()
}
