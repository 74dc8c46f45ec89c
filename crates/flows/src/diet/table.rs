//! The diet's results: one row per training run, aggregates per (strategy, fraction), and the
//! output files `diet.csv`, `diet_summary.csv`, `diet.json` and `diet.svg`.

use std::path::{Path, PathBuf};

use dlscope_data::io::{write_atomic, AtomicDir};
use dlscope_report::html::chart::{line_chart, Band, LineChart, Series};
use serde::{Deserialize, Serialize};

use super::error::{DietError, Result};
use super::ALL;

/// One training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DietRow {
    /// Sampling strategy, or `all` for fraction 1.
    pub strategy: String,
    pub fraction: f64,
    pub seed: u64,
    /// Samples trained on.
    pub n_train: usize,
    /// Accuracy on the whole test split.
    pub test_accuracy: f64,
    pub test_loss: f64,
    /// Wall time of the selection.
    pub select_seconds: f64,
    /// Wall time of training and evaluation.
    pub seconds: f64,
}

/// Test accuracy over the seeds of one (strategy, fraction).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Aggregate {
    pub strategy: String,
    pub fraction: f64,
    pub runs: usize,
    /// Samples trained on (the same for every seed).
    pub n_train: usize,
    pub mean: f64,
    /// Sample standard deviation (`n - 1`); 0 for a single run.
    pub std: f64,
    pub min: f64,
    pub max: f64,
}

/// Everything a diet produced (`diet.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DietResult {
    pub dataset: String,
    pub model: String,
    pub epochs: usize,
    pub batch_size: usize,
    /// Feature space of the k-center / prototype selections, when one ran.
    pub features: Option<String>,
    pub train_split: String,
    pub test_split: String,
    /// Samples in the (possibly limited) training split and the test split.
    pub train_samples: usize,
    pub test_samples: usize,
    pub strategies: Vec<String>,
    pub fractions: Vec<f64>,
    pub seeds: Vec<u64>,
    /// How fraction 1 was handled, when it was asked for.
    pub note: Option<String>,
    pub rows: Vec<DietRow>,
    pub aggregates: Vec<Aggregate>,
    /// Wall time of the whole experiment.
    pub seconds: f64,
}

/// Mean, std, min and max of the test accuracy per (strategy, fraction), in order of first
/// appearance of the strategy, then by fraction.
pub fn aggregate(rows: &[DietRow]) -> Vec<Aggregate> {
    let mut keys: Vec<(String, f64)> = Vec::new();
    for r in rows {
        if !keys
            .iter()
            .any(|(s, f)| *s == r.strategy && *f == r.fraction)
        {
            keys.push((r.strategy.clone(), r.fraction));
        }
    }
    let order = |s: &str| keys.iter().position(|(k, _)| k == s).unwrap_or(usize::MAX);
    let mut keyed: Vec<(usize, String, f64)> = keys
        .iter()
        .map(|(s, f)| (order(s), s.clone(), *f))
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0).then(a.2.total_cmp(&b.2)));
    keyed
        .into_iter()
        .map(|(_, strategy, fraction)| {
            let acc: Vec<&DietRow> = rows
                .iter()
                .filter(|r| r.strategy == strategy && r.fraction == fraction)
                .collect();
            let n = acc.len() as f64;
            let mean = acc.iter().map(|r| r.test_accuracy).sum::<f64>() / n;
            let std = if acc.len() > 1 {
                (acc.iter()
                    .map(|r| (r.test_accuracy - mean).powi(2))
                    .sum::<f64>()
                    / (n - 1.0))
                    .sqrt()
            } else {
                0.0
            };
            Aggregate {
                strategy,
                fraction,
                runs: acc.len(),
                n_train: acc.first().map_or(0, |r| r.n_train),
                mean,
                std,
                min: acc
                    .iter()
                    .map(|r| r.test_accuracy)
                    .fold(f64::INFINITY, f64::min),
                max: acc
                    .iter()
                    .map(|r| r.test_accuracy)
                    .fold(f64::NEG_INFINITY, f64::max),
            }
        })
        .collect()
}

/// The chart of test accuracy against fraction (log x): one line per strategy through its mean,
/// with a min-max band; the shared fraction-1 point ends every line.
pub fn chart_svg(r: &DietResult) -> String {
    let band = |a: &Aggregate| Band {
        x: a.fraction,
        mean: a.mean,
        min: a.min,
        max: a.max,
    };
    let full: Option<Band> = r.aggregates.iter().find(|a| a.strategy == ALL).map(band);
    let mut series: Vec<Series> = r
        .strategies
        .iter()
        .map(|s| {
            let mut points: Vec<Band> = r
                .aggregates
                .iter()
                .filter(|a| &a.strategy == s)
                .map(band)
                .collect();
            points.extend(full.clone());
            Series {
                name: s.clone(),
                points,
            }
        })
        .collect();
    if series.is_empty() {
        if let Some(f) = full {
            series.push(Series {
                name: ALL.into(),
                points: vec![f],
            });
        }
    }
    let seeds = r.seeds.len();
    line_chart(&LineChart {
        title: &format!(
            "Data diet: {} on {}, {} epoch{}, {} seed{} (mean, min-max band)",
            r.model,
            r.dataset,
            r.epochs,
            if r.epochs == 1 { "" } else { "s" },
            seeds,
            if seeds == 1 { "" } else { "s" }
        ),
        x_label: &format!("fraction of '{}' kept (log scale)", r.train_split),
        y_label: &format!("accuracy on '{}'", r.test_split),
        log_x: true,
        series: &series,
    })
}

/// Paths written by [`write_diet`].
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    pub dir: PathBuf,
    pub csv: PathBuf,
    pub summary_csv: PathBuf,
    pub json: PathBuf,
    pub svg: PathBuf,
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> DietError {
    DietError::Write {
        path: path.to_path_buf(),
        why: e.to_string(),
    }
}

/// Writes `diet.csv` (one row per run), `diet_summary.csv` (aggregates), `diet.json` and
/// `diet.svg` into the new folder `dir`, which appears only when all four are complete.
pub fn write_diet(r: &DietResult, dir: &Path) -> Result<Written> {
    let tmp = AtomicDir::new(dir)?;
    let csv_path = tmp.path().join("diet.csv");
    write_atomic(&csv_path, |w| {
        let mut c = csv::Writer::from_writer(w);
        for row in &r.rows {
            c.serialize(row).map_err(std::io::Error::other)?;
        }
        c.flush()
    })?;
    let sum_path = tmp.path().join("diet_summary.csv");
    write_atomic(&sum_path, |w| {
        let mut c = csv::Writer::from_writer(w);
        for a in &r.aggregates {
            c.serialize(a).map_err(std::io::Error::other)?;
        }
        c.flush()
    })?;
    let json_path = tmp.path().join("diet.json");
    let json = serde_json::to_vec_pretty(r).map_err(|e| io_err(&json_path, e))?;
    write_atomic(&json_path, |w| w.write_all(&json))?;
    let svg_path = tmp.path().join("diet.svg");
    let svg = chart_svg(r);
    write_atomic(&svg_path, |w| w.write_all(svg.as_bytes()))?;
    let dir = tmp.commit()?;
    Ok(Written {
        csv: dir.join("diet.csv"),
        summary_csv: dir.join("diet_summary.csv"),
        json: dir.join("diet.json"),
        svg: dir.join("diet.svg"),
        dir,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(s: &str, f: f64, seed: u64, acc: f64) -> DietRow {
        DietRow {
            strategy: s.into(),
            fraction: f,
            seed,
            n_train: (f * 100.0) as usize,
            test_accuracy: acc,
            test_loss: 0.0,
            select_seconds: 0.0,
            seconds: 0.0,
        }
    }

    #[test]
    fn aggregates_by_hand() {
        let rows = vec![
            row("random", 0.5, 0, 0.70),
            row("random", 0.1, 0, 0.50),
            row("random", 0.5, 1, 0.80),
            row("all", 1.0, 0, 0.9),
        ];
        let a = aggregate(&rows);
        assert_eq!(a.len(), 3);
        assert_eq!((a[0].strategy.as_str(), a[0].fraction), ("random", 0.1));
        assert_eq!((a[1].runs, a[1].n_train), (2, 50));
        assert!((a[1].mean - 0.75).abs() < 1e-12);
        assert!((a[1].std - (0.005f64).sqrt()).abs() < 1e-12);
        assert_eq!((a[1].min, a[1].max), (0.70, 0.80));
        assert_eq!((a[2].strategy.as_str(), a[2].std), ("all", 0.0));
    }
}
