//! Dataset reduction: choose which samples to keep. Every strategy returns sorted, distinct
//! indices into the input and is reproducible from its seed.
//!
//! - [`random`]: uniform without replacement.
//! - [`systematic`]: every `n / m`-th sample from a random offset.
//! - [`stratified`]: per class, proportional, exact counts by the largest-remainder method.
//! - [`k_center_greedy`]: a coreset that covers feature space (farthest-point traversal).
//! - [`class_prototypes`]: per class, k-means with the class's quota of centres, keeping the
//!   member nearest each centre.
//! - duplicate-aware: [`Reduction::select`] with `duplicates` first keeps one sample per
//!   duplicate group, then applies the strategy to what is left.

use std::collections::HashMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{MlError, Result};
use crate::kernels;
use crate::kmeans::{KMeans, KMeansParams};
use crate::matrix::MatRef;

/// How to choose the kept samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    Random,
    Systematic,
    Stratified,
    KCenter,
    Prototypes,
}

impl Strategy {
    /// Whether the strategy needs a feature matrix.
    pub fn needs_features(&self) -> bool {
        matches!(self, Strategy::KCenter | Strategy::Prototypes)
    }
    pub fn as_str(&self) -> &'static str {
        match self {
            Strategy::Random => "random",
            Strategy::Systematic => "systematic",
            Strategy::Stratified => "stratified",
            Strategy::KCenter => "k-center",
            Strategy::Prototypes => "prototypes",
        }
    }
}

impl std::str::FromStr for Strategy {
    type Err = MlError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "random" => Ok(Strategy::Random),
            "systematic" => Ok(Strategy::Systematic),
            "stratified" => Ok(Strategy::Stratified),
            "k-center" | "kcenter" | "coreset" => Ok(Strategy::KCenter),
            "prototypes" => Ok(Strategy::Prototypes),
            other => Err(MlError::param(
                "strategy",
                other,
                "expected random, systematic, stratified, k-center or prototypes",
            )),
        }
    }
}

/// Number of samples to keep: `round(fraction * n)`, at least 1 when `n > 0`.
pub fn target_count(n: usize, fraction: f64) -> Result<usize> {
    if !(fraction > 0.0 && fraction <= 1.0) {
        return Err(MlError::param("fraction", fraction, "must be in (0, 1]"));
    }
    Ok(((fraction * n as f64).round() as usize).clamp(n.min(1), n))
}

fn check_m(n: usize, m: usize) -> Result<()> {
    if m > n {
        return Err(MlError::param(
            "count",
            m,
            format!("only {n} samples to choose from"),
        ));
    }
    Ok(())
}

/// `m` of `0..n` uniformly without replacement, sorted.
pub fn random(n: usize, m: usize, seed: u64) -> Result<Vec<usize>> {
    check_m(n, m)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut v = rand::seq::index::sample(&mut rng, n, m).into_vec();
    v.sort_unstable();
    Ok(v)
}

/// `m` of `0..n` evenly spaced (`floor(offset + i n / m)`) from a random offset in `[0, n / m)`.
pub fn systematic(n: usize, m: usize, seed: u64) -> Result<Vec<usize>> {
    check_m(n, m)?;
    if m == 0 {
        return Ok(Vec::new());
    }
    let step = n as f64 / m as f64;
    let offset = ChaCha8Rng::seed_from_u64(seed).random::<f64>() * step;
    Ok((0..m)
        .map(|i| ((offset + i as f64 * step).floor() as usize).min(n - 1 - (m - 1 - i)))
        .collect())
}

/// Splits `m` over groups of sizes `sizes` proportionally, by largest remainder (ties: the
/// larger group, then the lower index). The counts sum to `m` and never exceed a group's size.
pub fn largest_remainder(sizes: &[usize], m: usize) -> Result<Vec<usize>> {
    let n: usize = sizes.iter().sum();
    check_m(n, m)?;
    if n == 0 {
        return Ok(vec![0; sizes.len()]);
    }
    let quota: Vec<f64> = sizes
        .iter()
        .map(|&s| m as f64 * s as f64 / n as f64)
        .collect();
    let mut out: Vec<usize> = quota
        .iter()
        .zip(sizes)
        .map(|(q, &s)| (q.floor() as usize).min(s))
        .collect();
    let mut left = m - out.iter().sum::<usize>();
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by(|&a, &b| {
        let (ra, rb) = (quota[a] - quota[a].floor(), quota[b] - quota[b].floor());
        rb.total_cmp(&ra)
            .then(sizes[b].cmp(&sizes[a]))
            .then(a.cmp(&b))
    });
    // Rounding can leave more than one pass' worth in pathological float cases: loop.
    while left > 0 {
        let before = left;
        for &g in &order {
            if left == 0 {
                break;
            }
            if out[g] < sizes[g] {
                out[g] += 1;
                left -= 1;
            }
        }
        if left == before {
            break;
        }
    }
    Ok(out)
}

/// Groups `0..labels.len()` by label, in order of label value.
fn by_class(labels: &[u32]) -> Vec<(u32, Vec<usize>)> {
    let mut map: HashMap<u32, Vec<usize>> = HashMap::new();
    for (i, &l) in labels.iter().enumerate() {
        map.entry(l).or_default().push(i);
    }
    let mut v: Vec<(u32, Vec<usize>)> = map.into_iter().collect();
    v.sort_by_key(|(l, _)| *l);
    v
}

/// `m` samples, each class (unlabelled samples, `u32::MAX`, form one more class) getting its
/// proportional share by largest remainder, drawn uniformly within the class.
pub fn stratified(labels: &[u32], m: usize, seed: u64) -> Result<Vec<usize>> {
    let classes = by_class(labels);
    let counts = largest_remainder(&classes.iter().map(|(_, v)| v.len()).collect::<Vec<_>>(), m)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(m);
    for ((_, members), &c) in classes.iter().zip(&counts) {
        for i in rand::seq::index::sample(&mut rng, members.len(), c).iter() {
            out.push(members[i]);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Greedy k-center coreset (farthest-point traversal): starts from a random row, then keeps
/// adding the row farthest from everything chosen. `O(n m d)`; run it on reduced features
/// (PCA or embeddings).
pub fn k_center_greedy(x: MatRef<'_>, m: usize, seed: u64) -> Result<Vec<usize>> {
    let n = x.rows();
    check_m(n, m)?;
    if m == 0 {
        return Ok(Vec::new());
    }
    x.check_finite("k-center features")?;
    let first = ChaCha8Rng::seed_from_u64(seed).random_range(0..n);
    let mut chosen = vec![first];
    let mut dist = vec![f32::INFINITY; n];
    let mut last = first;
    const CHUNK: usize = 2048;
    while chosen.len() < m {
        let c = x.row(last);
        let best: Vec<(f32, usize)> = dist
            .par_chunks_mut(CHUNK)
            .enumerate()
            .map(|(b, ds)| {
                let mut best = (f32::NEG_INFINITY, usize::MAX);
                for (r, dv) in ds.iter_mut().enumerate() {
                    let i = b * CHUNK + r;
                    *dv = dv.min(kernels::sq_dist(x.row(i), c));
                    if *dv > best.0 {
                        best = (*dv, i);
                    }
                }
                best
            })
            .collect();
        let mut pick = (f32::NEG_INFINITY, usize::MAX);
        for &(v, i) in &best {
            if v > pick.0 {
                pick = (v, i);
            }
        }
        // Chosen rows sit at distance 0, so a pick is always a new row while any row is
        // farther than 0; past that (duplicates only) take the lowest unchosen index.
        let next = if pick.0 > 0.0 {
            pick.1
        } else {
            let taken: std::collections::HashSet<usize> = chosen.iter().copied().collect();
            match (0..n).find(|i| !taken.contains(i)) {
                Some(i) => i,
                None => break,
            }
        };
        dist[next] = 0.0;
        chosen.push(next);
        last = next;
    }
    chosen.sort_unstable();
    Ok(chosen)
}

/// Per class (by largest remainder), k-means with as many centres as the class's quota, and
/// for each centre the member of its cluster nearest to it: representative prototypes.
pub fn class_prototypes(x: MatRef<'_>, labels: &[u32], m: usize, seed: u64) -> Result<Vec<usize>> {
    if labels.len() != x.rows() {
        return Err(MlError::LengthMismatch {
            what: "feature rows vs labels",
            left: x.rows(),
            right: labels.len(),
        });
    }
    let classes = by_class(labels);
    let counts = largest_remainder(&classes.iter().map(|(_, v)| v.len()).collect::<Vec<_>>(), m)?;
    let mut out = Vec::with_capacity(m);
    for ((_, members), &c) in classes.iter().zip(&counts) {
        if c == 0 {
            continue;
        }
        if c == members.len() {
            out.extend_from_slice(members);
            continue;
        }
        let sub = x.select_rows(members);
        let km = KMeans::fit(sub.view(), &KMeansParams::new(c).seed(seed).max_iter(100))?;
        let d = x.cols();
        let mut best = vec![(f32::INFINITY, usize::MAX); c];
        for (r, &l) in km.labels.iter().enumerate() {
            let l = l as usize;
            let dv = kernels::sq_dist(sub.row(r), &km.centers.data[l * d..(l + 1) * d]);
            if dv < best[l].0 {
                best[l] = (dv, members[r]);
            }
        }
        out.extend(best.iter().filter(|b| b.1 != usize::MAX).map(|b| b.1));
    }
    out.sort_unstable();
    Ok(out)
}

/// Groups of byte-identical rows (each group sorted, groups ordered by first member).
pub fn exact_duplicate_groups(rows: &[u8], row_len: usize) -> Vec<Vec<usize>> {
    if row_len == 0 {
        return Vec::new();
    }
    let mut map: HashMap<&[u8], Vec<usize>> = HashMap::new();
    for (i, r) in rows.chunks_exact(row_len).enumerate() {
        map.entry(r).or_default().push(i);
    }
    let mut groups: Vec<Vec<usize>> = map.into_values().filter(|g| g.len() > 1).collect();
    groups.sort_by_key(|g| g[0]);
    groups
}

/// The indices of `0..n` left after keeping only the first member of each duplicate group.
pub fn drop_duplicates(n: usize, groups: &[Vec<usize>]) -> Result<Vec<usize>> {
    let mut drop = vec![false; n];
    for g in groups {
        let Some(&first) = g.iter().min() else {
            continue;
        };
        for &i in g {
            if i >= n {
                return Err(MlError::param(
                    "duplicate index",
                    i,
                    format!("only {n} samples"),
                ));
            }
            drop[i] = i != first;
        }
    }
    Ok((0..n).filter(|&i| !drop[i]).collect())
}

/// A complete reduction request.
#[derive(Debug, Clone, PartialEq)]
pub struct Reduction {
    pub strategy: Strategy,
    /// Fraction of the samples to keep, in `(0, 1]`.
    pub fraction: f64,
    pub seed: u64,
    /// Duplicate groups to collapse (one kept per group) before the strategy runs.
    pub duplicates: Option<Vec<Vec<usize>>>,
}

/// What [`Reduction::select`] kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    /// Sorted indices of the kept samples.
    pub kept: Vec<usize>,
    /// Samples dropped as duplicates before the strategy ran.
    pub duplicates_dropped: usize,
    /// `round(fraction * n)`; `kept` is shorter only when duplicates left fewer samples.
    pub target: usize,
}

impl Reduction {
    /// Chooses among `labels.len()` samples; `features` (one row per sample) is required by
    /// [`Strategy::KCenter`] and [`Strategy::Prototypes`].
    pub fn select(&self, labels: &[u32], features: Option<MatRef<'_>>) -> Result<Selection> {
        let n = labels.len();
        if let Some(f) = features {
            if f.rows() != n {
                return Err(MlError::LengthMismatch {
                    what: "feature rows vs samples",
                    left: f.rows(),
                    right: n,
                });
            }
        }
        let target = target_count(n, self.fraction)?;
        let pool: Vec<usize> = match &self.duplicates {
            Some(g) => drop_duplicates(n, g)?,
            None => (0..n).collect(),
        };
        let m = target.min(pool.len());
        let sub_labels: Vec<u32> = pool.iter().map(|&i| labels[i]).collect();
        let need = |what: &'static str| {
            features.ok_or_else(|| MlError::TooFew {
                what,
                why: "this strategy needs a feature matrix".into(),
            })
        };
        let picked = match self.strategy {
            Strategy::Random => random(pool.len(), m, self.seed)?,
            Strategy::Systematic => systematic(pool.len(), m, self.seed)?,
            Strategy::Stratified => stratified(&sub_labels, m, self.seed)?,
            Strategy::KCenter => {
                let f = need("k-center")?.select_rows(&pool);
                k_center_greedy(f.view(), m, self.seed)?
            }
            Strategy::Prototypes => {
                let f = need("prototypes")?.select_rows(&pool);
                class_prototypes(f.view(), &sub_labels, m, self.seed)?
            }
        };
        Ok(Selection {
            kept: picked.iter().map(|&i| pool[i]).collect(),
            duplicates_dropped: n - pool.len(),
            target,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::Matrix;
    use crate::synthetic::{blobs, random_centers};

    #[test]
    fn counts_and_reproducibility() {
        assert_eq!(target_count(1000, 0.1).unwrap(), 100);
        assert_eq!(target_count(7, 0.01).unwrap(), 1);
        assert!(target_count(10, 0.0).is_err() && target_count(10, 1.5).is_err());
        let a = random(1000, 137, 5).unwrap();
        assert_eq!(a.len(), 137);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(a, random(1000, 137, 5).unwrap());
        assert_ne!(a, random(1000, 137, 6).unwrap());
        assert!(random(5, 6, 0).is_err());
    }

    #[test]
    fn systematic_is_evenly_spaced() {
        let v = systematic(100, 10, 3).unwrap();
        assert_eq!(v.len(), 10);
        let gaps: Vec<usize> = v.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|&g| g == 10), "{v:?}");
        assert!(v[0] < 10);
        let w = systematic(10, 7, 1).unwrap();
        assert_eq!(w.len(), 7);
        assert!(w.windows(2).all(|p| p[0] < p[1]) && *w.last().unwrap() < 10);
        assert_eq!(systematic(5, 5, 9).unwrap(), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn largest_remainder_by_hand() {
        // Quotas 10 * (5, 3, 2) / 10 = exact.
        assert_eq!(largest_remainder(&[5, 3, 2], 10).unwrap(), vec![5, 3, 2]);
        // 7 of (6, 3, 1): quotas 4.2, 2.1, 0.7 -> floors 4, 2, 0, the one left goes to 0.7.
        assert_eq!(largest_remainder(&[6, 3, 1], 7).unwrap(), vec![4, 2, 1]);
        // 2 of (1, 1, 1): remainders tie at 2/3, lower index first.
        assert_eq!(largest_remainder(&[1, 1, 1], 2).unwrap(), vec![1, 1, 0]);
        assert_eq!(largest_remainder(&[0, 4], 3).unwrap(), vec![0, 3]);
    }

    #[test]
    fn stratified_keeps_proportions_exactly() {
        // 600 of class 0, 300 of class 1, 100 of class 2, interleaved.
        let labels: Vec<u32> = (0..1000)
            .map(|i| {
                if i % 10 < 6 {
                    0
                } else if i % 10 < 9 {
                    1
                } else {
                    2
                }
            })
            .collect();
        let kept = stratified(&labels, 250, 7).unwrap();
        assert_eq!(kept.len(), 250);
        let mut c = [0; 3];
        for &i in &kept {
            c[labels[i] as usize] += 1;
        }
        assert_eq!(c, [150, 75, 25]);
        assert_eq!(kept, stratified(&labels, 250, 7).unwrap());
    }

    #[test]
    fn k_center_covers_every_blob() {
        let c = random_centers(6, 3, 50.0, 1);
        let (x, truth) = blobs(&c, 100, 0.5, 2);
        let kept = k_center_greedy(x.view(), 6, 3).unwrap();
        let mut seen: Vec<u32> = kept.iter().map(|&i| truth[i]).collect();
        seen.sort_unstable();
        assert_eq!(seen, vec![0, 1, 2, 3, 4, 5]);
        // Duplicated rows: asking for every row still returns each index once.
        let dup = Matrix::new(vec![1.0; 8], 4, 2).unwrap();
        assert_eq!(k_center_greedy(dup.view(), 4, 0).unwrap(), vec![0, 1, 2, 3]);
    }

    #[test]
    fn prototypes_are_central_and_per_class() {
        let c = random_centers(2, 2, 50.0, 4);
        let (x, truth) = blobs(&c, 200, 1.0, 5);
        let kept = class_prototypes(x.view(), &truth, 2, 6).unwrap();
        assert_eq!(kept.len(), 2);
        assert_ne!(truth[kept[0]], truth[kept[1]]);
        // With one centre per class, the prototype is the member nearest the class mean.
        for &k in &kept {
            let cls = truth[k];
            let members: Vec<usize> = (0..x.rows).filter(|&i| truth[i] == cls).collect();
            let mean: Vec<f32> = (0..2)
                .map(|t| members.iter().map(|&i| x.row(i)[t]).sum::<f32>() / members.len() as f32)
                .collect();
            let best = members
                .iter()
                .min_by(|&&a, &&b| {
                    kernels::sq_dist(x.row(a), &mean).total_cmp(&kernels::sq_dist(x.row(b), &mean))
                })
                .unwrap();
            assert_eq!(*best, k);
        }
    }

    #[test]
    fn duplicates_are_dropped_first() {
        let px: Vec<u8> = vec![1, 1, 2, 2, 1, 1, 3, 3, 2, 2, 1, 1];
        let groups = exact_duplicate_groups(&px, 2);
        assert_eq!(groups, vec![vec![0, 2, 5], vec![1, 4]]);
        assert_eq!(drop_duplicates(6, &groups).unwrap(), vec![0, 1, 3]);
        let r = Reduction {
            strategy: Strategy::Random,
            fraction: 1.0,
            seed: 0,
            duplicates: Some(groups.clone()),
        };
        let s = r.select(&[0; 6], None).unwrap();
        assert_eq!(s.kept, vec![0, 1, 3]);
        assert_eq!((s.duplicates_dropped, s.target), (3, 6));
        let r = Reduction {
            strategy: Strategy::Stratified,
            fraction: 0.5,
            seed: 0,
            duplicates: Some(groups),
        };
        let s = r.select(&[0, 1, 0, 1, 1, 0], None).unwrap();
        assert_eq!(s.kept.len(), 3);
        let r = Reduction {
            strategy: Strategy::KCenter,
            fraction: 0.5,
            seed: 0,
            duplicates: None,
        };
        assert!(r.select(&[0; 6], None).is_err());
    }
}
