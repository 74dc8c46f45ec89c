//! Penultimate-layer embeddings of a dataset, written as safetensors plus an ids CSV, for
//! analysis (near-duplicates, clustering, outliers) by other tools.
//!
//! The file holds `embeddings` (F32, `[n, dim]`, row i = the i-th readable sample) and `labels`
//! (I64, `[n]`, -1 for unlabelled samples); its metadata records the model, the layer and the
//! preprocessing. `<out stem>.ids.csv` lists `row,split,id,label` in the same order.
//!
//! ```no_run
//! use dlscope_vision::{embed, inputs::Source, models};
//! let info = models::find("efficientnet-lite0").unwrap();
//! let model = models::load(info, "efficientnet_lite0.safetensors".as_ref(), &models::Engine::Cpu).unwrap();
//! let files = Source::Files(vec!["a.png".into(), "b.png".into()]);
//! let opts = embed::Options { batch_size: 16, preprocess: info.preprocess };
//! let e = embed::run(model.as_ref(), &files, &opts, &mut |_| {}).unwrap();
//! embed::write(&e, "emb.safetensors".as_ref()).unwrap();
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::classify::rate;
use crate::error::{Result, VisionError};
use crate::inputs::{check_batch_size, prepare, Failure, Source};
use crate::models::Classifier;
use crate::preprocess::Preprocess;

/// How to embed.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub batch_size: usize,
    pub preprocess: Preprocess,
}

/// Embeddings of the readable items of a source.
#[derive(Debug, Clone)]
pub struct Embeddings {
    pub model: &'static str,
    pub layer: &'static str,
    pub preprocess: Preprocess,
    pub dim: usize,
    /// Id of each row (path or sample id).
    pub ids: Vec<String>,
    /// Split of each row (empty for files).
    pub splits: Vec<String>,
    pub labels: Vec<Option<u32>>,
    /// `ids.len() * dim` values, row-major.
    pub data: Vec<f32>,
    pub failures: Vec<Failure>,
    pub seconds: f64,
}

impl Embeddings {
    pub fn len(&self) -> usize {
        self.ids.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }
    /// Appends the rows of `other` (another split embedded with the same model).
    pub fn extend(&mut self, other: Embeddings) -> Result<()> {
        if other.dim != self.dim || other.model != self.model {
            return Err(VisionError::Invalid(format!(
                "cannot join {} embeddings of {} with {} embeddings of {}",
                other.model, other.dim, self.model, self.dim
            )));
        }
        self.ids.extend(other.ids);
        self.splits.extend(other.splits);
        self.labels.extend(other.labels);
        self.data.extend(other.data);
        self.failures.extend(other.failures);
        self.seconds += other.seconds;
        Ok(())
    }

    /// Items embedded per second of wall time.
    pub fn images_per_second(&self) -> f64 {
        rate(self.ids.len(), self.seconds)
    }
}

/// Embeds every item of `source` in batches; unreadable items become [`Failure`]s.
pub fn run(
    model: &dyn Classifier,
    source: &Source,
    opts: &Options,
    progress: &mut dyn FnMut(usize),
) -> Result<Embeddings> {
    let bs = check_batch_size(opts.batch_size)?;
    let info = model.info();
    let dim = info.embedding_dim;
    let start = Instant::now();
    let mut e = Embeddings {
        model: info.name,
        layer: info.embedding_layer,
        preprocess: opts.preprocess,
        dim,
        ids: Vec::new(),
        splits: Vec::new(),
        labels: Vec::new(),
        data: Vec::new(),
        failures: Vec::new(),
        seconds: 0.0,
    };
    let mut done = 0;
    while done < source.len() {
        let end = (done + bs).min(source.len());
        let (batch, idx, failed) = prepare(source, done..end, &opts.preprocess);
        e.failures.extend(failed);
        if batch.n > 0 {
            let rows = model.embed(&batch)?;
            if rows.len() != batch.n * dim {
                return Err(VisionError::Invalid(format!(
                    "{} returned {} values for {} images of {dim}",
                    info.name,
                    rows.len(),
                    batch.n
                )));
            }
            e.data.extend_from_slice(&rows);
            for &i in &idx {
                e.ids.push(source.id(i));
                e.splits
                    .push(source.split_name().unwrap_or_default().to_string());
                e.labels.push(source.label(i));
            }
        }
        done = end;
        progress(done);
    }
    e.seconds = start.elapsed().as_secs_f64();
    Ok(e)
}

/// The ids CSV written next to `out`: `emb.safetensors` -> `emb.ids.csv`.
pub fn ids_path(out: &Path) -> PathBuf {
    out.with_extension("ids.csv")
}

/// Writes `out` (safetensors) and its ids CSV, each atomically. Returns the CSV's path.
pub fn write(e: &Embeddings, out: &Path) -> Result<PathBuf> {
    let n = e.len();
    let emb_bytes: Vec<u8> = e.data.iter().flat_map(|v| v.to_le_bytes()).collect();
    let lab_bytes: Vec<u8> = e
        .labels
        .iter()
        .flat_map(|l| l.map_or(-1i64, i64::from).to_le_bytes())
        .collect();
    let bad = |why: String| VisionError::Invalid(format!("{}: {why}", out.display()));
    let emb =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![n, e.dim], &emb_bytes)
            .map_err(|err| bad(err.to_string()))?;
    let lab = safetensors::tensor::TensorView::new(safetensors::Dtype::I64, vec![n], &lab_bytes)
        .map_err(|err| bad(err.to_string()))?;
    let meta = HashMap::from([
        ("model".to_string(), e.model.to_string()),
        ("layer".to_string(), e.layer.to_string()),
        ("preprocess".to_string(), e.preprocess.to_string()),
        ("rows".to_string(), n.to_string()),
        (
            "ids".to_string(),
            ids_path(out)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ),
    ]);
    let bytes = safetensors::serialize([("embeddings", emb), ("labels", lab)], Some(meta))
        .map_err(|err| bad(err.to_string()))?;
    dlscope_data::io::write_atomic(out, |w| w.write_all(&bytes))?;
    let csv_path = ids_path(out);
    dlscope_data::io::write_atomic(&csv_path, |w| {
        let mut c = csv::Writer::from_writer(w);
        c.write_record(["row", "split", "id", "label"])?;
        for (i, ((id, split), l)) in e.ids.iter().zip(&e.splits).zip(&e.labels).enumerate() {
            c.write_record([
                i.to_string(),
                split.clone(),
                id.clone(),
                l.map(|l| l.to_string()).unwrap_or_default(),
            ])?;
        }
        c.flush()
    })?;
    Ok(csv_path)
}
