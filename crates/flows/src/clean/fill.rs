//! Filling missing labels from a trained model (`dlscope clean --fill-labels RUN`): every kept,
//! unlabelled sample gets the model's most probable class, unless its probability is below the
//! chosen minimum (then it stays unlabelled, with the reason). Never silent: each one is listed
//! in `filled.csv` and counted in the summary.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use dlscope_data::{Dataset, Dense};
use dlscope_nn::{Engine, Model};
use rayon::prelude::*;
use serde::Serialize;

use super::{CleanError, Plan};

/// How to fill.
#[derive(Debug, Clone)]
pub struct FillOptions {
    /// Samples whose top probability is below this stay unlabelled (`None`: fill all).
    pub min_prob: Option<f32>,
    pub engine: Engine,
    /// Inference threads (0 = one per core).
    pub threads: usize,
}

impl Default for FillOptions {
    fn default() -> Self {
        FillOptions {
            min_prob: None,
            engine: Engine::Cpu,
            threads: 0,
        }
    }
}

/// One unlabelled sample and what the model said about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fill {
    pub split: String,
    /// Index in the input split.
    pub index: u64,
    pub id: String,
    /// The label written (a class index of the dataset), `None` when left unlabelled.
    pub label: Option<u32>,
    /// The model's most probable class, by name.
    pub class: String,
    /// Its probability.
    pub probability: f32,
    /// Why the sample was left unlabelled (`None` when filled).
    pub reason: Option<String>,
}

/// The model's class index -> the dataset's class index, by name. The two class lists must
/// hold the same names (order may differ: a manifest sorts its class names).
fn class_map(ds: &Dataset, model: &Model, run: &Path) -> Result<Vec<u32>, CleanError> {
    let data: HashMap<&str, u32> = ds
        .classes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i as u32))
        .collect();
    let model_names: HashSet<&str> = model.classes.iter().map(String::as_str).collect();
    let not_in_data: Vec<&str> = model
        .classes
        .iter()
        .map(String::as_str)
        .filter(|c| !data.contains_key(c))
        .collect();
    let not_in_model: Vec<&str> = ds
        .classes
        .iter()
        .map(String::as_str)
        .filter(|c| !model_names.contains(c))
        .collect();
    if !not_in_data.is_empty() || !not_in_model.is_empty() {
        return Err(CleanError::Model {
            run: run.to_path_buf(),
            why: format!(
                "its {} classes are not the dataset's {}: only in the model [{}], only in the \
                 dataset [{}]; fill labels with a model trained on this dataset's classes",
                model.classes.len(),
                ds.classes.len(),
                not_in_data.join(", "),
                not_in_model.join(", ")
            ),
        });
    }
    Ok(model.classes.iter().map(|c| data[c.as_str()]).collect())
}

/// Predicts a label for every kept, unlabelled (and not relabelled) sample of `plan`, in split
/// order then index order. `run` names the model in errors. Fails when the model's classes are
/// not the dataset's, or an unlabelled image's shape is not the model's input; an unlabelled
/// sample that does not decode is listed, unfilled, with the reason.
pub fn fill_labels(
    ds: &Dataset,
    plan: &Plan,
    model: &Model,
    run: &Path,
    opts: &FillOptions,
) -> Result<Vec<Fill>, CleanError> {
    if let Some(p) = opts.min_prob.filter(|p| !(0.0..=1.0).contains(p)) {
        return Err(CleanError::Policy(format!(
            "the minimum fill probability must be in 0..=1, not {p}"
        )));
    }
    let to_data = class_map(ds, model, run)?;
    let relabelled: HashSet<(&str, u64)> = plan
        .relabelled
        .iter()
        .map(|r| (r.split.as_str(), r.index))
        .collect();
    let input = model.spec.input;
    let mut fills = Vec::new();
    for ((name, kept), split) in plan.kept.iter().zip(&ds.splits) {
        let todo: Vec<usize> = kept
            .iter()
            .copied()
            .filter(|&i| split.label(i).is_none() && !relabelled.contains(&(name, i as u64)))
            .collect();
        if todo.is_empty() {
            continue;
        }
        let loaded: Vec<Result<Vec<u8>, String>> = todo
            .par_iter()
            .map(|&i| match split.get(i) {
                Ok(s) => Ok(s.image),
                Err(e) => Err(e.to_string()),
            })
            .map(|r| match r {
                Ok(img) if img.shape() == input => Ok(Ok(img.data)),
                Ok(img) => Err(img.shape()),
                Err(e) => Ok(Err(e)),
            })
            .collect::<Result<_, _>>()
            .map_err(|got| CleanError::Model {
                run: run.to_path_buf(),
                why: format!(
                    "the model takes {input} (HxWxC) images but split '{name}' has {got} images; \
                     resize the dataset (dlscope convert --resize) or use a model of that size"
                ),
            })?;
        let mut pixels = Vec::with_capacity(todo.len() * input.len());
        for px in loaded.iter().flatten() {
            pixels.extend_from_slice(px);
        }
        let ok = loaded.iter().filter(|r| r.is_ok()).count();
        let probs = if ok == 0 {
            Vec::new()
        } else {
            let dense = Dense {
                shape: input,
                pixels,
                labels: vec![u32::MAX; ok],
            };
            model
                .predict_proba(&dense, &opts.engine, opts.threads)
                .map_err(|e| CleanError::Model {
                    run: run.to_path_buf(),
                    why: e.to_string(),
                })?
        };
        let k = model.spec.classes;
        let mut rows = probs.chunks_exact(k);
        for (&i, r) in todo.iter().zip(&loaded) {
            let id = split.id(i).to_string();
            let fill = match r {
                Err(reason) => Fill {
                    split: name.clone(),
                    index: i as u64,
                    id,
                    label: None,
                    class: String::new(),
                    probability: 0.0,
                    reason: Some(format!("does not decode: {reason}")),
                },
                Ok(_) => {
                    let row = rows.next().ok_or_else(|| {
                        CleanError::Reconcile(format!(
                            "the model returned fewer predictions than the {ok} samples of split \
                             '{name}'"
                        ))
                    })?;
                    let best = (0..k)
                        .max_by(|&a, &b| row[a].total_cmp(&row[b]).then(b.cmp(&a)))
                        .unwrap_or(0);
                    let p = row[best];
                    let low = opts.min_prob.filter(|&m| p < m);
                    Fill {
                        split: name.clone(),
                        index: i as u64,
                        id,
                        label: low.is_none().then_some(to_data[best]),
                        class: model.classes[best].clone(),
                        probability: p,
                        reason: low.map(|m| format!("probability {p:.4} is below the minimum {m}")),
                    }
                }
            };
            fills.push(fill);
        }
    }
    Ok(fills)
}

/// Writes `filled.csv`: `split,index,id,label,class,probability,reason` (label = the class name
/// written, empty when left unlabelled; class = the model's top class).
pub(crate) fn write_filled_csv(path: &Path, fills: &[Fill]) -> Result<(), CleanError> {
    let werr = |e: csv::Error| CleanError::Write {
        path: PathBuf::from(path),
        what: "write CSV",
        source: std::io::Error::other(e),
    };
    let mut w = csv::Writer::from_path(path).map_err(werr)?;
    w.write_record([
        "split",
        "index",
        "id",
        "label",
        "class",
        "probability",
        "reason",
    ])
    .map_err(werr)?;
    for f in fills {
        let label = if f.label.is_some() {
            f.class.as_str()
        } else {
            ""
        };
        w.write_record([
            f.split.as_str(),
            &f.index.to_string(),
            &f.id,
            label,
            &f.class,
            &format!("{:.6}", f.probability),
            f.reason.as_deref().unwrap_or(""),
        ])
        .map_err(werr)?;
    }
    w.flush().map_err(|e| werr(e.into()))
}
