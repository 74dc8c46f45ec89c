//! Run folders. A run holds everything needed to predict with a model and to resume training:
//!
//! ```text
//! RUN/model.json             spec, class names, normalisation, optimizer and training settings
//! RUN/weights.safetensors    parameters (Keras layouts, burn module names)
//! RUN/optimizer.safetensors  optimizer state; `iterations` in the metadata
//! RUN/metrics.json           per-epoch history, final test evaluation, timing
//! RUN/history.csv            the history as a table
//! ```
//!
//! A folder is built under a temporary name and renamed into place when complete, so a failed
//! or interrupted save leaves nothing under the run's name (and, when resuming in place, the
//! previous run untouched).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use dlscope_data::io::AtomicDir;
use safetensors::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};

use crate::error::{NnError, Result};
use crate::metrics::Evaluation;
use crate::model::Model;
use crate::optim::{Optimizer, OptimizerConfig};
use crate::params::Params;
use crate::preprocess::Normalization;
use crate::spec::ModelSpec;
use crate::train::{EpochRecord, FitSummary, Trainer};

/// Version tag of the run folder layout.
pub const FORMAT: &str = "dlscope-nn/1";

const CONFIG: &str = "model.json";
const WEIGHTS: &str = "weights.safetensors";
const OPTIMIZER: &str = "optimizer.safetensors";
const METRICS: &str = "metrics.json";
const HISTORY: &str = "history.csv";

/// Where the training data came from (recorded so `--resume` can find it again).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    pub dataset: Option<String>,
    pub split: Option<String>,
}

/// `model.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RunConfig {
    format: String,
    spec: ModelSpec,
    classes: Vec<String>,
    normalization: Normalization,
    optimizer: OptimizerConfig,
    batch_size: usize,
    seed: u64,
    validation_split: f32,
    epochs: usize,
    provenance: Provenance,
}

/// `metrics.json`: what a run measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunMetrics {
    pub history: Vec<EpochRecord>,
    /// Evaluation on the test split, when there was one.
    pub test: Option<Evaluation>,
    /// Timing of the last training call.
    pub fit: Option<FitSummary>,
}

enum Dest {
    New(AtomicDir),
    Replace {
        tmp: tempfile::TempDir,
        target: PathBuf,
    },
}

/// A run folder being written. Create it before training so an unwritable or already used
/// output path fails at once, not after the last epoch.
pub struct RunWriter {
    dest: Dest,
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

impl RunWriter {
    /// A new run at `target`, which must not exist yet.
    pub fn create(target: &Path) -> Result<Self> {
        Ok(RunWriter {
            dest: Dest::New(AtomicDir::new(target)?),
        })
    }

    /// A run that will replace the run folder `target` (when resuming in place).
    pub fn replace(target: &Path) -> Result<Self> {
        if !target.join(CONFIG).is_file() {
            return Err(NnError::BadCheckpoint {
                path: target.to_path_buf(),
                what: format!("not a run folder (no {CONFIG}); refusing to replace it"),
            });
        }
        let parent = parent_of(target);
        let tmp = tempfile::Builder::new()
            .prefix(".dlscope-partial-")
            .tempdir_in(parent)
            .map_err(|e| NnError::io(parent, "create temp folder in", e))?;
        Ok(RunWriter {
            dest: Dest::Replace {
                tmp,
                target: target.to_path_buf(),
            },
        })
    }

    fn dir(&self) -> &Path {
        match &self.dest {
            Dest::New(a) => a.path(),
            Dest::Replace { tmp, .. } => tmp.path(),
        }
    }

    /// Writes every file of the run and moves the folder into place.
    pub fn finish(
        self,
        trainer: &Trainer,
        provenance: &Provenance,
        metrics: &RunMetrics,
    ) -> Result<PathBuf> {
        write_files(self.dir(), trainer, provenance, metrics)?;
        match self.dest {
            Dest::New(a) => Ok(a.commit()?),
            Dest::Replace { tmp, target } => {
                let parent = parent_of(&target).to_path_buf();
                let old = tempfile::Builder::new()
                    .prefix(".dlscope-old-")
                    .tempdir_in(&parent)
                    .map_err(|e| NnError::io(&parent, "create temp folder in", e))?;
                let old_run = old.path().join("run");
                std::fs::rename(&target, &old_run)
                    .map_err(|e| NnError::io(&target, "move the previous run aside", e))?;
                let new = tmp.keep();
                if let Err(e) = std::fs::rename(&new, &target) {
                    // Put the previous run back; the new one is dropped.
                    let _ = std::fs::rename(&old_run, &target);
                    let _ = std::fs::remove_dir_all(&new);
                    return Err(NnError::io(&target, "rename folder into place", e));
                }
                drop(old);
                Ok(target)
            }
        }
    }
}

/// Saves a run to a new folder `target` (convenience for [`RunWriter::create`] + `finish`).
pub fn save_run(
    target: &Path,
    trainer: &Trainer,
    provenance: &Provenance,
    metrics: &RunMetrics,
) -> Result<PathBuf> {
    RunWriter::create(target)?.finish(trainer, provenance, metrics)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = std::fs::File::create(path).map_err(|e| NnError::io(path, "create", e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| NnError::io(path, "write", e))
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| NnError::BadCheckpoint {
        path: path.to_path_buf(),
        what: format!("cannot encode JSON: {e}"),
    })?;
    bytes.push(b'\n');
    write_file(path, &bytes)
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn safetensors_bytes(
    path: &Path,
    tensors: Vec<(String, Vec<usize>, Vec<u8>)>,
    meta: HashMap<String, String>,
) -> Result<Vec<u8>> {
    let bad = |e: safetensors::SafeTensorError| NnError::BadCheckpoint {
        path: path.to_path_buf(),
        what: format!("cannot encode safetensors: {e}"),
    };
    let views = tensors
        .iter()
        .map(|(name, shape, bytes)| {
            safetensors::tensor::TensorView::new(Dtype::F32, shape.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(bad)
        })
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize(views, Some(meta)).map_err(bad)
}

fn write_files(
    dir: &Path,
    t: &Trainer,
    provenance: &Provenance,
    metrics: &RunMetrics,
) -> Result<()> {
    let m = &t.model;
    let config = RunConfig {
        format: FORMAT.to_string(),
        spec: m.spec.clone(),
        classes: m.classes.clone(),
        normalization: m.normalization.clone(),
        optimizer: *t.optimizer.config(),
        batch_size: t.batch_size,
        seed: t.seed,
        validation_split: t.validation_split,
        epochs: t.history.len(),
        provenance: provenance.clone(),
    };
    write_json(&dir.join(CONFIG), &config)?;

    let weights = m
        .params
        .infos
        .iter()
        .map(|i| {
            (
                i.name.clone(),
                i.shape.clone(),
                f32_bytes(&m.params.values[i.offset..i.offset + i.len]),
            )
        })
        .collect();
    let meta = HashMap::from([
        ("format".to_string(), FORMAT.to_string()),
        ("arch".to_string(), m.spec.arch.name().to_string()),
    ]);
    let path = dir.join(WEIGHTS);
    write_file(&path, &safetensors_bytes(&path, weights, meta)?)?;

    let slots = t
        .optimizer
        .slots()
        .map(|(name, v)| (name.to_string(), vec![v.len()], f32_bytes(v)))
        .collect();
    let meta = HashMap::from([
        ("format".to_string(), FORMAT.to_string()),
        (
            "iterations".to_string(),
            t.optimizer.iterations().to_string(),
        ),
    ]);
    let path = dir.join(OPTIMIZER);
    write_file(&path, &safetensors_bytes(&path, slots, meta)?)?;

    write_json(&dir.join(METRICS), metrics)?;
    write_file(&dir.join(HISTORY), history_csv(&metrics.history).as_bytes())
}

/// The history as CSV: `epoch,loss,accuracy,val_loss,val_accuracy,seconds`.
pub fn history_csv(history: &[EpochRecord]) -> String {
    let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let mut s = String::from("epoch,loss,accuracy,val_loss,val_accuracy,seconds\n");
    for r in history {
        s.push_str(&format!(
            "{},{},{},{},{},{:.3}\n",
            r.epoch,
            r.loss,
            r.accuracy,
            opt(r.val_loss),
            opt(r.val_accuracy),
            r.seconds
        ));
    }
    s
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| NnError::io(path, "read", e))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    serde_json::from_slice(&read(path)?).map_err(|e| NnError::BadCheckpoint {
        path: path.to_path_buf(),
        what: format!("not a valid dlscope file: {e}"),
    })
}

fn read_config(run: &Path) -> Result<RunConfig> {
    let path = run.join(CONFIG);
    let config: RunConfig = read_json(&path)?;
    if config.format != FORMAT {
        return Err(NnError::BadCheckpoint {
            path,
            what: format!("format '{}' is not '{FORMAT}'", config.format),
        });
    }
    config.spec.validate()?;
    Ok(config)
}

/// Tensors of a file by name: shape and values.
type Tensors = HashMap<String, (Vec<usize>, Vec<f32>)>;

/// Reads every tensor of a safetensors file as f32, with the metadata.
fn read_tensors(path: &Path) -> Result<(Tensors, HashMap<String, String>)> {
    let bytes = read(path)?;
    let bad = |what: String| NnError::BadCheckpoint {
        path: path.to_path_buf(),
        what,
    };
    let (_, meta) = SafeTensors::read_metadata(&bytes).map_err(|e| bad(format!("{e}")))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| bad(format!("{e}")))?;
    let mut out = HashMap::new();
    for (name, view) in st.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(bad(format!(
                "tensor '{name}' is {:?}, expected F32",
                view.dtype()
            )));
        }
        let values = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        out.insert(name, (view.shape().to_vec(), values));
    }
    Ok((out, meta.metadata().clone().unwrap_or_default()))
}

fn load_params(run: &Path, spec: &ModelSpec) -> Result<Params> {
    let path = run.join(WEIGHTS);
    let (mut tensors, _) = read_tensors(&path)?;
    Params::from_named(spec, |name| tensors.remove(name), &path)
}

/// Loads the model of a run folder (for evaluation and prediction).
pub fn load_model(run: &Path) -> Result<Model> {
    let config = read_config(run)?;
    let params = load_params(run, &config.spec)?;
    Model::new(config.spec, config.classes, config.normalization, params)
}

/// Loads a run folder whole (model, optimizer state, history) to resume training.
pub fn load_trainer(run: &Path) -> Result<(Trainer, Provenance)> {
    let config = read_config(run)?;
    let params = load_params(run, &config.spec)?;
    let n = params.len();
    let model = Model::new(config.spec, config.classes, config.normalization, params)?;
    let path = run.join(OPTIMIZER);
    let (mut tensors, meta) = read_tensors(&path)?;
    let bad = |what: String| NnError::BadCheckpoint {
        path: path.clone(),
        what,
    };
    let iterations = meta
        .get("iterations")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| bad("no 'iterations' in the metadata".into()))?;
    let slots = config
        .optimizer
        .slot_names()
        .iter()
        .map(|&name| match tensors.remove(name) {
            Some((_, v)) if v.len() == n => Ok(v),
            Some((_, v)) => Err(bad(format!(
                "state '{name}' has {} values, expected {n}",
                v.len()
            ))),
            None => Err(bad(format!("state '{name}' is missing"))),
        })
        .collect::<Result<Vec<_>>>()?;
    let metrics = load_metrics(run)?;
    if metrics.history.len() != config.epochs {
        return Err(NnError::BadCheckpoint {
            path: run.join(METRICS),
            what: format!(
                "{} epochs of history but {CONFIG} says {}",
                metrics.history.len(),
                config.epochs
            ),
        });
    }
    Ok((
        Trainer {
            model,
            optimizer: Optimizer::from_state(config.optimizer, iterations, slots),
            batch_size: config.batch_size,
            seed: config.seed,
            validation_split: config.validation_split,
            history: metrics.history,
        },
        config.provenance,
    ))
}

/// Reads `metrics.json` of a run.
pub fn load_metrics(run: &Path) -> Result<RunMetrics> {
    read_json(&run.join(METRICS))
}
