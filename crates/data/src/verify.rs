//! Decode every sample once and list the ones that fail: the integrity check behind
//! `dlscope verify`, and the data layer's whole-dataset read path.

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::dataset::{Dataset, SampleId};

/// A sample that could not be decoded.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Failure {
    pub split: String,
    pub id: SampleId,
    pub reason: String,
}

/// Result of decoding a whole dataset.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verified {
    /// Samples decoded successfully.
    pub decoded: u64,
    /// Total decoded pixel bytes (H x W x C summed over samples).
    pub pixel_bytes: u64,
    /// Samples that failed, in split then index order.
    pub failures: Vec<Failure>,
}

/// Decodes every sample of every split in parallel. A bad sample is recorded and the run goes
/// on. `progress` is called with the number of samples done so far (from worker threads).
pub fn verify(ds: &Dataset, progress: &(dyn Fn(u64) + Sync)) -> Verified {
    let done = AtomicU64::new(0);
    let mut decoded = 0;
    let mut pixel_bytes = 0;
    let mut failures = Vec::new();
    for split in &ds.splits {
        let results: Vec<(usize, Result<u64, String>)> = (0..split.len())
            .into_par_iter()
            .with_min_len(64)
            .map(|i| {
                let r = split
                    .source()
                    .load(i)
                    .map(|img| img.data.len() as u64)
                    .map_err(|e| e.to_string());
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if n % 256 == 0 {
                    progress(n);
                }
                (i, r)
            })
            .collect();
        for (i, r) in results {
            match r {
                Ok(bytes) => {
                    decoded += 1;
                    pixel_bytes += bytes;
                }
                Err(reason) => failures.push(Failure {
                    split: split.name().to_string(),
                    id: split.id(i),
                    reason,
                }),
            }
        }
    }
    progress(done.load(Ordering::Relaxed));
    Verified {
        decoded,
        pixel_bytes,
        failures,
    }
}
