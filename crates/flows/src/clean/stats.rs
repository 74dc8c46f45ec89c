//! Per-channel mean and standard deviation of each split, for input normalisation.

use dlscope_data::Dataset;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Normalisation statistics of one split, pixel values scaled to 0..1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelStats {
    pub split: String,
    /// Samples included (those that decode and have the split's most common channel count).
    pub samples: usize,
    pub channels: u8,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
}

/// Sums per channel: (count, sum, sum of squares), over one channel count.
#[derive(Clone, Default)]
struct Acc {
    samples: usize,
    n: Vec<u64>,
    s: Vec<u64>,
    ss: Vec<u64>,
}

impl Acc {
    fn merge(mut self, o: Acc) -> Acc {
        if self.n.is_empty() {
            return o;
        }
        self.samples += o.samples;
        for c in 0..o.n.len().min(self.n.len()) {
            self.n[c] += o.n[c];
            self.s[c] += o.s[c];
            self.ss[c] += o.ss[c];
        }
        self
    }
}

/// Mean and standard deviation per channel of every split of `ds` (exact integer sums, so the
/// result does not depend on thread count). Images with a channel count other than the split's
/// most common one, and images that fail to decode, are left out (counted in `samples`).
pub fn channel_stats(ds: &Dataset) -> Vec<ChannelStats> {
    ds.splits
        .iter()
        .map(|split| {
            // Accumulators per channel count 1, 3, 4.
            let accs: [Acc; 3] = split
                .par_samples()
                .filter_map(|(_, r)| r.ok())
                .fold(<[Acc; 3]>::default, |mut a, s| {
                    let c = s.image.channels as usize;
                    let slot = match c {
                        1 => 0,
                        3 => 1,
                        _ => 2,
                    };
                    let acc = &mut a[slot];
                    if acc.n.is_empty() {
                        *acc = Acc {
                            samples: 0,
                            n: vec![0; c],
                            s: vec![0; c],
                            ss: vec![0; c],
                        };
                    }
                    acc.samples += 1;
                    for px in s.image.data.chunks_exact(c) {
                        for (k, &v) in px.iter().enumerate() {
                            acc.n[k] += 1;
                            acc.s[k] += v as u64;
                            acc.ss[k] += (v as u64) * (v as u64);
                        }
                    }
                    a
                })
                .reduce(<[Acc; 3]>::default, |[a0, a1, a2], [b0, b1, b2]| {
                    [a0.merge(b0), a1.merge(b1), a2.merge(b2)]
                });
            let best = accs
                .into_iter()
                .max_by_key(|a| a.samples)
                .unwrap_or_default();
            let mean: Vec<f64> = (0..best.n.len())
                .map(|c| best.s[c] as f64 / best.n[c].max(1) as f64 / 255.0)
                .collect();
            let std = (0..best.n.len())
                .map(|c| {
                    let n = best.n[c].max(1) as f64;
                    let m = best.s[c] as f64 / n;
                    ((best.ss[c] as f64 / n - m * m).max(0.0)).sqrt() / 255.0
                })
                .collect();
            ChannelStats {
                split: split.name().to_string(),
                samples: best.samples,
                channels: best.n.len() as u8,
                mean,
                std,
            }
        })
        .collect()
}
