//! Batch classification: images in, top-k predictions out, with the throughput measured, and
//! CSV/JSON writers for the results.
//!
//! ```no_run
//! use dlscope_vision::{classify, inputs::Source, models};
//! let info = models::find("vgg16").unwrap();
//! let model = models::load(info, "vgg16.safetensors".as_ref(), &models::Engine::Cpu).unwrap();
//! let opts = classify::Options { top: 3, batch_size: 8, preprocess: info.preprocess };
//! let out = classify::run(model.as_ref(), &Source::Files(vec!["cat.jpg".into()]), &opts, &mut |_| {}).unwrap();
//! for p in &out.results[0].predictions {
//!     println!("{p}"); // 1. tabby: 62.31%
//! }
//! ```

use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::error::{Result, VisionError};
use crate::inputs::{check_batch_size, prepare, Failure, Source};
use crate::labels::{decode_predictions, Prediction};
use crate::models::Classifier;
use crate::preprocess::Preprocess;

/// How to classify.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Predictions kept per image.
    pub top: usize,
    /// Images per forward pass.
    pub batch_size: usize,
    pub preprocess: Preprocess,
}

/// The predictions for one image, in rank order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageResult {
    pub file: String,
    pub predictions: Vec<Prediction>,
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Classification {
    pub model: &'static str,
    /// One entry per image that could be read, in input order.
    pub results: Vec<ImageResult>,
    /// Images that could not be read or decoded.
    pub failures: Vec<Failure>,
    /// Wall time of the whole run (decoding, preprocessing, network).
    pub seconds: f64,
    /// Time spent in the network's forward passes.
    pub network_seconds: f64,
}

impl Classification {
    /// Images classified per second of wall time.
    pub fn images_per_second(&self) -> f64 {
        rate(self.results.len(), self.seconds)
    }

    /// Images per second of forward-pass time alone.
    pub fn network_images_per_second(&self) -> f64 {
        rate(self.results.len(), self.network_seconds)
    }
}

pub(crate) fn rate(n: usize, s: f64) -> f64 {
    if s > 0.0 {
        n as f64 / s
    } else {
        0.0
    }
}

/// Classifies every item of `source` in batches; `progress` gets the number of items done after
/// each batch. Unreadable images become [`Failure`]s and the run goes on; an error of the
/// network itself stops it.
pub fn run(
    model: &dyn Classifier,
    source: &Source,
    opts: &Options,
    progress: &mut dyn FnMut(usize),
) -> Result<Classification> {
    let bs = check_batch_size(opts.batch_size)?;
    let start = Instant::now();
    let mut network = 0f64;
    let mut results = Vec::with_capacity(source.len());
    let mut failures = Vec::new();
    let classes = model.info().classes;
    let mut done = 0;
    while done < source.len() {
        let end = (done + bs).min(source.len());
        let (batch, idx, failed) = prepare(source, done..end, &opts.preprocess);
        failures.extend(failed);
        if batch.n > 0 {
            let t = Instant::now();
            let logits = model.logits(&batch)?;
            network += t.elapsed().as_secs_f64();
            if logits.len() != batch.n * classes {
                return Err(VisionError::Invalid(format!(
                    "{} returned {} logits for {} images",
                    model.info().name,
                    logits.len(),
                    batch.n
                )));
            }
            for (row, &i) in logits.chunks_exact(classes).zip(&idx) {
                results.push(ImageResult {
                    file: source.id(i),
                    predictions: decode_predictions(row, opts.top),
                });
            }
        }
        done = end;
        progress(done);
    }
    Ok(Classification {
        model: model.info().name,
        results,
        failures,
        seconds: start.elapsed().as_secs_f64(),
        network_seconds: network,
    })
}

/// Writes `file,rank,index,wnid,label,probability` rows (one per prediction), atomically.
pub fn write_csv(results: &[ImageResult], path: &Path) -> Result<()> {
    dlscope_data::io::write_atomic(path, |w| {
        let mut c = csv::Writer::from_writer(w);
        c.write_record(["file", "rank", "index", "wnid", "label", "probability"])?;
        for r in results {
            for p in &r.predictions {
                c.write_record([
                    r.file.as_str(),
                    &p.rank.to_string(),
                    &p.index.to_string(),
                    p.wnid.as_deref().unwrap_or(""),
                    &p.label,
                    &format!("{:.6}", p.probability),
                ])?;
            }
        }
        c.flush()
    })?;
    Ok(())
}

/// Writes one JSON object per line (JSON Lines), atomically: the top-1 class flattened
/// (`file`, `index`, `wnid`, `label`, `probability`) and all `predictions` (top-k, in rank
/// order).
pub fn write_jsonl(results: &[ImageResult], path: &Path) -> Result<()> {
    dlscope_data::io::write_atomic(path, |w| {
        for r in results {
            let top = r.predictions.first();
            let line = serde_json::json!({
                "file": r.file,
                "index": top.map(|p| p.index),
                "wnid": top.and_then(|p| p.wnid.as_deref()),
                "label": top.map(|p| p.label.as_str()),
                "probability": top.map(|p| p.probability),
                "predictions": r.predictions,
            });
            serde_json::to_writer(&mut *w, &line).map_err(std::io::Error::other)?;
            w.write_all(b"\n")?;
        }
        Ok(())
    })?;
    Ok(())
}

/// Output formats of [`write`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutFormat {
    /// One row per prediction: `file,rank,index,wnid,label,probability`.
    Csv,
    /// One JSON array of `{"file", "predictions"}`.
    Json,
    /// One JSON object per image and line.
    Jsonl,
}

impl OutFormat {
    /// From the file name: `.json`, `.jsonl`/`.ndjson`, anything else CSV.
    pub fn from_path(path: &Path) -> OutFormat {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("json") => OutFormat::Json,
            Some("jsonl" | "ndjson") => OutFormat::Jsonl,
            _ => OutFormat::Csv,
        }
    }
}

/// Writes `results` to `path` in the format its extension names ([`OutFormat::from_path`]),
/// atomically.
pub fn write(results: &[ImageResult], path: &Path) -> Result<()> {
    match OutFormat::from_path(path) {
        OutFormat::Csv => write_csv(results, path),
        OutFormat::Json => write_json(results, path),
        OutFormat::Jsonl => write_jsonl(results, path),
    }
}

/// Writes a JSON array of `{"file", "predictions": [...]}` objects, atomically.
pub fn write_json(results: &[ImageResult], path: &Path) -> Result<()> {
    dlscope_data::io::write_atomic(path, |w| {
        serde_json::to_writer_pretty(&mut *w, results).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })?;
    Ok(())
}
