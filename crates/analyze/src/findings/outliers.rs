//! Outliers: samples far from their nearest neighbours in a small feature space.
//!
//! Each readable sample becomes a unit vector: its 64 low-frequency DCT coefficients (layout at
//! about 16 x 16 detail, free of brightness and contrast). A sample's score is its mean
//! Euclidean distance to its `k` nearest reference samples (all samples, or a seeded random
//! subset of `outlier_reference` when there are more; itself excluded); samples whose score is
//! more than `outlier_z` robust z above the median are outliers. Unit vectors are at most 2
//! apart and unrelated layouts about 1.4 apart, so scores saturate there.
//!
//! When the analysis is given per-sample embeddings, the same rule runs on their unit vectors
//! instead (see [`super::embedded`]), which tell natural photos apart far better than
//! 16 x 16 layouts do.
//!
//! Measured on the injected-issue test set (Fashion-MNIST images, colourised): genuine images
//! and their edited copies score below robust z 3.6, out-of-distribution scenes above 5.

use std::borrow::Cow;

use rand::seq::index::sample;
use rand::SeedableRng;
use rayon::prelude::*;

use super::embedded::Prepared;
use super::{median_mad, FindingKind, Raw};
use crate::features::{ImageFeatures, SampleRow};
use crate::settings::Thresholds;

/// Feature dimensions.
const DIM: usize = 64;

/// The unit-length DCT vector of one image (zero for a flat image).
pub(crate) fn unit_dct(f: &ImageFeatures) -> [f32; DIM] {
    let mut v = [0f32; DIM];
    for (o, &c) in v.iter_mut().zip(f.dct.iter().flatten()) {
        *o = c as f32;
    }
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        for x in &mut v {
            *x /= n;
        }
    }
    v
}

/// Outliers among the readable rows: on their DCT vectors, or on their unit
/// embeddings when `emb` is given (rows without an embedding are then not scored).
pub(crate) fn find(rows: &[SampleRow], t: &Thresholds, emb: Option<&Prepared>) -> Vec<Raw> {
    let (readable, dim, vecs, space): (Vec<usize>, usize, Cow<[f32]>, &str) = match emb {
        Some(p) => (
            p.rows.iter().map(|&r| r as usize).collect(),
            p.dim,
            Cow::Borrowed(&p.vecs[..]),
            "embedding distance",
        ),
        None => {
            let readable: Vec<usize> = (0..rows.len())
                .filter(|&r| rows[r].image.is_some())
                .collect();
            let vecs: Vec<f32> = readable
                .iter()
                .filter_map(|&r| rows[r].image.as_ref().map(unit_dct))
                .flatten()
                .collect();
            (readable, DIM, Cow::Owned(vecs), "distance")
        }
    };
    let n = readable.len();
    if n <= t.outlier_k + 1 || vecs.len() != n * dim {
        return Vec::new();
    }
    let vec_of = |i: usize| &vecs[i * dim..(i + 1) * dim];

    // Reference set: everyone, or a seeded subset.
    let refs: Vec<usize> = if n <= t.outlier_reference {
        (0..n).collect()
    } else {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(t.seed);
        let mut v = sample(&mut rng, n, t.outlier_reference).into_vec();
        v.sort_unstable();
        v
    };
    // Dimension-major copy of the references, so the inner loop runs over references.
    let m = refs.len();
    let mut ref_dm = vec![0f32; dim * m];
    let mut ref_sq = vec![0f32; m];
    for (j, &i) in refs.iter().enumerate() {
        let v = vec_of(i);
        for d in 0..dim {
            ref_dm[d * m + j] = v[d];
        }
        ref_sq[j] = v.iter().map(|x| x * x).sum();
    }
    let k = t.outlier_k.min(m - 1);
    let scores: Vec<f64> = (0..n)
        .into_par_iter()
        .map_init(
            || vec![0f32; m],
            |dot, i| {
                dot.fill(0.0);
                let q = vec_of(i);
                for d in 0..dim {
                    let qd = q[d];
                    if qd == 0.0 {
                        continue;
                    }
                    for (x, &r) in dot.iter_mut().zip(&ref_dm[d * m..(d + 1) * m]) {
                        *x += qd * r;
                    }
                }
                // Squared distances |q|^2 + |r|^2 - 2 q.r; the sample is not its own neighbour.
                let q_sq: f32 = q.iter().map(|x| x * x).sum();
                for (x, &r_sq) in dot.iter_mut().zip(&ref_sq) {
                    *x = (q_sq + r_sq - 2.0 * *x).max(0.0);
                }
                if let Ok(self_pos) = refs.binary_search(&i) {
                    dot[self_pos] = f32::INFINITY;
                }
                mean_smallest(dot, k)
            },
        )
        .collect();

    let (med, mad) = median_mad(&scores);
    let mad = mad.max(1e-9 * med.abs()).max(1e-12);
    let mut out = Vec::new();
    for (i, &s) in scores.iter().enumerate() {
        let z = (s - med) / mad;
        if z > t.outlier_z {
            out.push(Raw {
                kind: FindingKind::Outlier,
                row: readable[i],
                group: None,
                score: z,
                detail: format!(
                    "mean {space} to its {k} nearest neighbours {s:.3} is {z:.1} robust SDs above the median {med:.3}"
                ),
                partner: None,
            });
        }
    }
    out
}

/// Mean of the square roots of the `k` smallest squared distances.
fn mean_smallest(dist: &[f32], k: usize) -> f64 {
    let mut best: Vec<f32> = Vec::with_capacity(k + 1);
    for &d in dist {
        if best.len() == k && d >= best[k - 1] {
            continue;
        }
        let pos = best.partition_point(|&b| b <= d);
        best.insert(pos, d);
        best.truncate(k);
    }
    best.iter().map(|&d| (d as f64).sqrt()).sum::<f64>() / best.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_of_k_smallest() {
        let d = [16.0, 1.0, 9.0, 4.0, f32::INFINITY];
        assert!((mean_smallest(&d, 2) - 1.5).abs() < 1e-9);
        assert!((mean_smallest(&d, 3) - 2.0).abs() < 1e-9);
    }
}
