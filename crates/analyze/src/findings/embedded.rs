//! Per-sample embeddings (e.g. a pretrained network's penultimate layer, from `dlscope embed`)
//! and what the findings take from them: near duplicates by cosine similarity and the vectors
//! the outlier search runs on.
//!
//! Every embedding is L2-normalised; cosines are taken between these unit vectors as they are.
//! (Centring them on the dataset's mean was measured and dropped: on a small folder of a few
//! photos and their copies the mean is the photos' own average, and centring pulled copies
//! apart, from a smallest cosine of 0.74 to 0.57, while unrelated photos stayed below 0.45
//! without it. Raw cosines also do not depend on which other samples are in the dataset.)
//!
//! Near pairs are found without comparing all pairs: each unit vector gets a 64-bit SimHash
//! (signs of its products with 64 seeded Gaussian hyperplanes). Two vectors at angle `a`
//! differ in each bit with probability `a / pi`, so a pair at cosine `c` is, but for a miss
//! rate of at most 1e-4, within the Hamming radius [`radius_for`]`(c)`; [`super::near_pairs`]
//! finds the hash pairs within it and every candidate is confirmed by its exact cosine. The
//! search stays well below all pairs only when unrelated samples are far apart in angle and the
//! radius is small: at the default 0.75 (radius 28) and unrelated photos at cosine 0.2 (28 bits
//! apart on average) a third of all pairs become candidates; at 0.9 (radius 21), 5%.

use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::mih::near_pairs;
use crate::error::{AnalyzeError, Result};
use crate::features::SampleRow;
use crate::shard::DatasetMeta;

/// Embeddings of a dataset's samples, handed to [`crate::analyze_embedded`] or
/// [`crate::finish_embedded`] (for sharded runs: the shards stay as they are, the embeddings
/// go to the finish step that merges them).
#[derive(Debug, Clone, PartialEq)]
pub struct SampleEmbeddings {
    /// Where they come from (model name or file), recorded in the settings of the report.
    pub source: String,
    /// Values per sample.
    pub dim: usize,
    /// One entry per dataset split, in the dataset's order: `split.len() * dim` values, row
    /// `i` for sample `i`. A row holding a non-finite value (NaN) marks a sample without an
    /// embedding (it could not be embedded); it takes no part in the embedding findings.
    pub splits: Vec<Vec<f32>>,
}

/// What the report records of the embeddings used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbeddingsInfo {
    pub source: String,
    pub dim: usize,
}

impl SampleEmbeddings {
    pub fn info(&self) -> EmbeddingsInfo {
        EmbeddingsInfo {
            source: self.source.clone(),
            dim: self.dim,
        }
    }

    /// Checks that there is one row per sample of every split of `meta`.
    pub fn check(&self, meta: &DatasetMeta) -> Result<()> {
        let bad = |why: String| {
            Err(AnalyzeError::DatasetMismatch {
                why: format!("embeddings from {}: {why}", self.source),
            })
        };
        if self.dim == 0 {
            return bad("dimension is 0".into());
        }
        if self.splits.len() != meta.splits.len() {
            return bad(format!(
                "{} split(s) given, the dataset has {}",
                self.splits.len(),
                meta.splits.len()
            ));
        }
        for (s, v) in meta.splits.iter().zip(&self.splits) {
            let want = s.len as usize * self.dim;
            if v.len() != want {
                return bad(format!(
                    "split '{}' has {} values, expected {} samples x {} = {want}",
                    s.name,
                    v.len(),
                    s.len,
                    self.dim
                ));
            }
        }
        Ok(())
    }
}

/// Unit vectors of the feature-table rows that have an embedding.
pub(crate) struct Prepared {
    pub dim: usize,
    /// Feature-table row of each vector.
    pub rows: Vec<u32>,
    /// `rows.len() * dim` values.
    pub vecs: Vec<f32>,
}

impl Prepared {
    pub fn vec(&self, i: usize) -> &[f32] {
        &self.vecs[i * self.dim..(i + 1) * self.dim]
    }
}

fn normalise(v: &mut [f32]) -> bool {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 && n.is_finite() {
        v.iter_mut().for_each(|x| *x /= n);
        true
    } else {
        v.iter_mut().for_each(|x| *x = 0.0);
        false
    }
}

/// The unit embeddings of the readable rows of a complete feature table (checked
/// against `meta` by [`SampleEmbeddings::check`] first).
pub(crate) fn prepare(rows: &[SampleRow], emb: &SampleEmbeddings) -> Prepared {
    let dim = emb.dim;
    let mut keep = Vec::new();
    let mut vecs = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        if row.image.is_none() {
            continue;
        }
        let Some(v) = emb.splits.get(row.split as usize).and_then(|s| {
            let i = row.index as usize;
            s.get(i * dim..(i + 1) * dim)
        }) else {
            continue;
        };
        if v.iter().any(|x| !x.is_finite()) {
            continue;
        }
        let start = vecs.len();
        vecs.extend_from_slice(v);
        if normalise(&mut vecs[start..]) {
            keep.push(r as u32);
        } else {
            vecs.truncate(start);
        }
    }
    Prepared {
        dim,
        rows: keep,
        vecs,
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Smallest Hamming radius (of 64 SimHash bits) within which a pair at cosine `min_cos` falls
/// with probability at least 1 - 1e-4; capped at 32.
pub fn radius_for(min_cos: f32) -> u32 {
    let p = (min_cos.clamp(-1.0, 1.0) as f64).acos() / std::f64::consts::PI;
    let mut cdf = 0.0;
    for r in 0..=32u32 {
        cdf += binom(64, r) * p.powi(r as i32) * (1.0 - p).powi(64 - r as i32);
        if 1.0 - cdf <= 1e-4 {
            return r;
        }
    }
    32
}

fn binom(n: u32, k: u32) -> f64 {
    (0..k).fold(1.0, |c, i| c * (n - i) as f64 / (i + 1) as f64)
}

/// 64 SimHash bits of each prepared vector, from hyperplanes drawn with `seed`.
fn simhashes(p: &Prepared, seed: u64) -> Vec<u64> {
    let dim = p.dim;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x51_4d48_4153_4821);
    // Standard normal components (Box-Muller): the bit flip rate is then angle / pi.
    let planes: Vec<f32> = (0..64 * dim)
        .map(|_| {
            let u: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
            let v: f64 = rng.random();
            ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
        })
        .collect();
    (0..p.rows.len())
        .into_par_iter()
        .map(|i| {
            let v = p.vec(i);
            planes
                .chunks_exact(dim)
                .enumerate()
                .fold(0u64, |h, (b, w)| h | (u64::from(dot(v, w) >= 0.0) << b))
        })
        .collect()
}

/// Largest SimHash radius the hash search is used at. Beyond it (cosine thresholds below about
/// 0.93) the radius admits a large share of all pairs as candidates (a third at 0.75, measured:
/// 114 s for 20,000 Lite0 embeddings), and an exact blocked matrix product over all pairs is
/// far cheaper (the same 20,000 in seconds): it is still quadratic, but at GEMM speed.
const HASH_RADIUS_MAX: u32 = 12;

/// Rows per block of the all-pairs product.
const BLOCK: usize = 512;

/// [`cosine_pairs`] by blocked matrix products: every block pair's cosines at once, candidates
/// within a rounding slack of `min_cos` re-checked with [`dot`] so the result equals the
/// hash search's (same cosines, same threshold test).
fn gemm_pairs(p: &Prepared, min_cos: f32, take: &dyn Fn(usize) -> bool) -> Vec<(u32, u32, f32)> {
    use dlscope_ml::linalg::{matmul, Strided};
    let d = p.dim;
    let idx: Vec<u32> = (0..p.rows.len())
        .filter(|&i| take(i))
        .map(|i| i as u32)
        .collect();
    let n = idx.len();
    let mut a = Vec::with_capacity(n * d);
    for &i in &idx {
        a.extend_from_slice(p.vec(i as usize));
    }
    let nb = n.div_ceil(BLOCK);
    let blocks: Vec<(usize, usize)> = (0..nb).flat_map(|i| (i..nb).map(move |j| (i, j))).collect();
    let slack = 1e-3;
    let mut out: Vec<(u32, u32, f32)> = blocks
        .par_iter()
        .flat_map_iter(|&(bi, bj)| {
            let (r0, r1) = (bi * BLOCK, ((bi + 1) * BLOCK).min(n));
            let (c0, c1) = (bj * BLOCK, ((bj + 1) * BLOCK).min(n));
            let (m, k) = (r1 - r0, c1 - c0);
            let mut c = vec![0f32; m * k];
            matmul(
                m,
                k,
                d,
                Strided::rows(&a[r0 * d..r1 * d], d),
                Strided::transposed(&a[c0 * d..c1 * d], d),
                &mut c,
                false,
                false,
            );
            let mut found = Vec::new();
            for r in 0..m {
                let from = if bi == bj { r + 1 } else { 0 };
                for col in from..k {
                    if c[r * k + col] >= min_cos - slack {
                        let (x, y) = (idx[r0 + r], idx[c0 + col]);
                        let cv = dot(p.vec(x as usize), p.vec(y as usize));
                        if cv >= min_cos {
                            found.push((x.min(y), x.max(y), cv));
                        }
                    }
                }
            }
            found
        })
        .collect();
    out.sort_unstable_by_key(|a| (a.0, a.1));
    out
}

/// Every pair of prepared vectors `(i, j)` (positions in `p`, `i < j`) whose cosine is at least
/// `min_cos`, with that cosine, among the vectors `take(i)` admits; sorted.
pub(crate) fn cosine_pairs(
    p: &Prepared,
    min_cos: f32,
    seed: u64,
    take: &dyn Fn(usize) -> bool,
) -> Vec<(u32, u32, f32)> {
    if radius_for(min_cos) > HASH_RADIUS_MAX {
        gemm_pairs(p, min_cos, take)
    } else {
        hash_pairs(p, min_cos, seed, take)
    }
}

/// [`cosine_pairs`] through SimHash and the multi-index search.
fn hash_pairs(
    p: &Prepared,
    min_cos: f32,
    seed: u64,
    take: &dyn Fn(usize) -> bool,
) -> Vec<(u32, u32, f32)> {
    let hashes = simhashes(p, seed);
    // Collapse equal hashes: `values` distinct, `groups[u]` the vectors with hash u.
    let mut by_hash: Vec<(u64, u32)> = (0..p.rows.len())
        .filter(|&i| take(i))
        .map(|i| (hashes[i], i as u32))
        .collect();
    by_hash.sort_unstable();
    let mut values: Vec<u64> = Vec::new();
    let mut starts: Vec<usize> = Vec::new();
    for (k, &(h, _)) in by_hash.iter().enumerate() {
        if values.last() != Some(&h) {
            values.push(h);
            starts.push(k);
        }
    }
    starts.push(by_hash.len());
    let group = |u: usize| &by_hash[starts[u]..starts[u + 1]];
    let cos = |a: u32, b: u32| dot(p.vec(a as usize), p.vec(b as usize));

    let mut out: Vec<(u32, u32, f32)> = (0..values.len())
        .into_par_iter()
        .flat_map_iter(|u| {
            let g = group(u);
            let mut found = Vec::new();
            for (k, &(_, a)) in g.iter().enumerate() {
                for &(_, b) in &g[k + 1..] {
                    let c = cos(a, b);
                    if c >= min_cos {
                        found.push((a.min(b), a.max(b), c));
                    }
                }
            }
            found
        })
        .collect();
    let accept = |a: u32, b: u32| {
        group(a as usize)
            .iter()
            .any(|&(_, x)| group(b as usize).iter().any(|&(_, y)| cos(x, y) >= min_cos))
    };
    near_pairs(&values, radius_for(min_cos), &accept, &mut |pairs| {
        for &(a, b, _) in pairs {
            for &(_, x) in group(a as usize) {
                for &(_, y) in group(b as usize) {
                    let c = cos(x, y);
                    if c >= min_cos {
                        out.push((x.min(y), x.max(y), c));
                    }
                }
            }
        }
    });
    out.sort_unstable_by_key(|a| (a.0, a.1));
    out
}

#[cfg(test)]
mod tests {

    #[test]
    fn blocked_product_and_hash_search_find_the_same_pairs() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let (n, dim) = (1300usize, 24usize);
        let mut vecs: Vec<f32> = (0..n * dim).map(|_| rng.random::<f32>() - 0.5).collect();
        // Plant near copies: row i + 1 = row i plus a little noise, for every 10th row.
        for i in (0..n - 1).step_by(10) {
            for k in 0..dim {
                let v = vecs[i * dim + k] + 0.02 * (rng.random::<f32>() - 0.5);
                vecs[(i + 1) * dim + k] = v;
            }
        }
        for v in vecs.chunks_exact_mut(dim) {
            normalise(v);
        }
        let p = Prepared {
            dim,
            rows: (0..n as u32).collect(),
            vecs,
        };
        let take = |i: usize| i % 97 != 5;
        for min_cos in [0.95f32, 0.99] {
            let hashed = hash_pairs(&p, min_cos, 7, &take);
            let blocked = gemm_pairs(&p, min_cos, &take);
            assert!(hashed.len() >= 120, "{min_cos}: {}", hashed.len());
            assert_eq!(hashed, blocked, "threshold {min_cos}");
        }
        // Low thresholds take the blocked product (many pairs, beyond one block).
        let low = cosine_pairs(&p, 0.75, 7, &take);
        assert!(low.len() >= 120);
        assert!(low
            .iter()
            .all(|&(a, b, c)| a < b && c >= 0.75 && take(a as usize)));
    }
    use super::*;

    #[test]
    fn radius_grows_as_the_cosine_falls() {
        assert_eq!(radius_for(1.0), 0);
        assert!(radius_for(0.97) < radius_for(0.9));
        assert!(radius_for(0.9) <= 32);
        assert_eq!(radius_for(0.0), 32);
    }

    #[test]
    fn hash_bits_flip_at_angle_over_pi() {
        // Two vectors at 60 degrees differ in about a third of the bits.
        let dim = 16;
        let mut vecs = vec![0f32; 2 * dim];
        vecs[0] = 1.0;
        vecs[dim] = 0.5;
        vecs[dim + 1] = 0.75f32.sqrt();
        let p = Prepared {
            dim,
            rows: vec![0, 1],
            vecs,
        };
        let mut total = 0;
        for seed in 0..200 {
            let h = simhashes(&p, seed);
            total += (h[0] ^ h[1]).count_ones();
        }
        let rate = total as f64 / (200.0 * 64.0);
        assert!((rate - 1.0 / 3.0).abs() < 0.02, "{rate}");
    }
}
