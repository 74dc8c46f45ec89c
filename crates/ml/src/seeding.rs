//! Seeding for k-means: greedy k-means++ (scikit-learn's variant) and uniform random rows.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::assign::BLOCK;
use crate::kernels;
use crate::matrix::MatRef;

/// `k` distinct rows chosen uniformly.
pub(crate) fn random_rows(x: MatRef<'_>, k: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let idx = rand::seq::index::sample(rng, x.rows(), k);
    let mut c = Vec::with_capacity(k * x.cols());
    for i in idx.iter() {
        c.extend_from_slice(x.row(i));
    }
    c
}

/// Greedy k-means++: each new centre is the best (lowest potential) of `2 + ln k` candidates
/// drawn with probability proportional to the squared distance to the nearest chosen centre.
pub fn kmeans_plus_plus(x: MatRef<'_>, k: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let (n, d) = (x.rows(), x.cols());
    let trials = 2 + (k as f64).ln() as usize;
    let mut centers = Vec::with_capacity(k * d);
    let first = rng.random_range(0..n);
    centers.extend_from_slice(x.row(first));
    let mut closest: Vec<f32> = vec![0.0; n];
    closest
        .par_chunks_mut(BLOCK)
        .enumerate()
        .for_each(|(b, out)| {
            for (r, o) in out.iter_mut().enumerate() {
                *o = kernels::sq_dist(x.row(b * BLOCK + r), x.row(first));
            }
        });
    let mut pot: f64 = block_sum(&closest);
    let mut cand_d = vec![0.0f32; n * trials];
    let mut cumsum = vec![0.0f64; n];
    for _ in 1..k {
        let mut acc = 0.0f64;
        for (c, &v) in cumsum.iter_mut().zip(&closest) {
            acc += v as f64;
            *c = acc;
        }
        let total = acc;
        let cands: Vec<usize> = (0..trials)
            .map(|_| {
                let r = rng.random::<f64>() * pot.min(total);
                cumsum.partition_point(|&c| c < r).min(n - 1)
            })
            .collect();
        let mut cand_rows = Vec::with_capacity(trials * d);
        for &c in &cands {
            cand_rows.extend_from_slice(x.row(c));
        }
        let pots: Vec<Vec<f64>> = cand_d
            .par_chunks_mut(BLOCK * trials)
            .zip(closest.par_chunks(BLOCK))
            .enumerate()
            .map(|(b, (out, cl))| {
                let mut p = vec![0.0f64; trials];
                for (r, &c0) in cl.iter().enumerate() {
                    let o = &mut out[r * trials..(r + 1) * trials];
                    kernels::sq_dists(x.row(b * BLOCK + r), &cand_rows, o);
                    for (t, v) in o.iter_mut().enumerate() {
                        *v = v.min(c0);
                        p[t] += *v as f64;
                    }
                }
                p
            })
            .collect();
        let cand_pot: Vec<f64> = (0..trials)
            .map(|t| pots.iter().map(|p| p[t]).sum())
            .collect();
        let mut bt = 0;
        for t in 1..trials {
            if cand_pot[t] < cand_pot[bt] {
                bt = t;
            }
        }
        pot = cand_pot[bt];
        for (i, c) in closest.iter_mut().enumerate() {
            *c = cand_d[i * trials + bt];
        }
        centers.extend_from_slice(x.row(cands[bt]));
    }
    centers
}

/// Sum of `v` in fixed blocks, combined in order (deterministic whatever the thread count).
fn block_sum(v: &[f32]) -> f64 {
    let parts: Vec<f64> = v
        .par_chunks(BLOCK * 16)
        .map(|c| c.iter().map(|&x| x as f64).sum())
        .collect();
    parts.iter().sum()
}
