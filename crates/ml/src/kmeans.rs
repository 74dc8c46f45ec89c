//! k-means (Lloyd's algorithm) with greedy k-means++ seeding, several initialisations and
//! scikit-learn's stopping rule.
//!
//! Each iteration gives exactly the labels and centres of a plain Lloyd iteration, but uses
//! Hamerly's bounds (an upper bound on the distance to the own centre, a lower bound on the
//! distance to every other centre, both moved by how far the centres moved) to skip points
//! whose assignment cannot have changed. Centre sums are updated from the points that moved,
//! so a late iteration reads only the few rows near a boundary instead of all of X.
//!
//! Stopping (as scikit-learn): stop when no label changed, or when the summed squared centre
//! shift is at most `tol * mean(per-feature variance)`; then the labels are refreshed against the
//! final centres and the inertia is computed exactly.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::assign::{block_sq_dists, nearest_two, BLOCK, GEMM_FROM_K};
use crate::error::{MlError, Result};
use crate::kernels;
use crate::matrix::{MatRef, Matrix};
pub use crate::seeding::kmeans_plus_plus;
use crate::seeding::random_rows;

/// How the first centres are chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum Init {
    /// Greedy k-means++ (as scikit-learn: `2 + ln k` candidates per centre, keep the best).
    KMeansPlusPlus,
    /// `k` distinct rows drawn uniformly.
    Random,
    /// Given centres (`k x d`); with `n_init > 1` every run starts from them.
    Centers(Matrix),
}

/// Parameters of [`KMeans::fit`]; defaults follow scikit-learn.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansParams {
    /// Number of clusters.
    pub k: usize,
    /// Independent initialisations; the run with the lowest inertia wins. Default 1.
    pub n_init: usize,
    /// Lloyd iterations per run. Default 300.
    pub max_iter: usize,
    /// Relative tolerance on the centre shift (times the mean feature variance). Default 1e-4.
    pub tol: f64,
    /// Seed of all random choices.
    pub seed: u64,
    pub init: Init,
}

impl KMeansParams {
    pub fn new(k: usize) -> Self {
        KMeansParams {
            k,
            n_init: 1,
            max_iter: 300,
            tol: 1e-4,
            seed: 0,
            init: Init::KMeansPlusPlus,
        }
    }
    pub fn n_init(mut self, n: usize) -> Self {
        self.n_init = n;
        self
    }
    pub fn max_iter(mut self, n: usize) -> Self {
        self.max_iter = n;
        self
    }
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    pub fn init(mut self, init: Init) -> Self {
        self.init = init;
        self
    }

    fn validate(&self, x: MatRef<'_>) -> Result<()> {
        if self.k == 0 {
            return Err(MlError::param("k", 0, "need at least one cluster"));
        }
        if x.rows() < self.k {
            return Err(MlError::TooFew {
                what: "k-means",
                why: format!("{} samples for k = {} clusters", x.rows(), self.k),
            });
        }
        if x.cols() == 0 {
            return Err(MlError::TooFew {
                what: "k-means",
                why: "samples have no features".into(),
            });
        }
        if self.n_init == 0 {
            return Err(MlError::param("n_init", 0, "need at least one run"));
        }
        if self.max_iter == 0 {
            return Err(MlError::param("max_iter", 0, "need at least one iteration"));
        }
        if !(self.tol >= 0.0 && self.tol.is_finite()) {
            return Err(MlError::param("tol", self.tol, "must be finite and >= 0"));
        }
        if let Init::Centers(c) = &self.init {
            if c.rows != self.k || c.cols != x.cols() {
                return Err(MlError::BadShape {
                    what: "initial centres",
                    rows: self.k,
                    cols: x.cols(),
                    expected: self.k * x.cols(),
                    got: c.data.len(),
                });
            }
        }
        x.check_finite("k-means input")
    }
}

/// A fitted k-means model.
#[derive(Debug, Clone)]
pub struct KMeans {
    /// `k x d` centres.
    pub centers: Matrix,
    /// Cluster of each training row.
    pub labels: Vec<u32>,
    /// Sum of squared distances of the rows to their centres.
    pub inertia: f64,
    /// Lloyd iterations of the winning run.
    pub iterations: usize,
    /// Whether the winning run stopped on the tolerance rather than on `max_iter`.
    pub converged: bool,
    /// Objective after each iteration's centre update (sum of squared distances to the new
    /// means); never increases.
    pub inertia_history: Vec<f64>,
}

impl KMeans {
    /// Clusters the rows of `x`.
    pub fn fit(x: MatRef<'_>, params: &KMeansParams) -> Result<KMeans> {
        params.validate(x)?;
        let (_, var) = x.column_mean_var();
        let tol_abs = params.tol * var.iter().sum::<f64>() / var.len() as f64;
        let mut master = ChaCha8Rng::seed_from_u64(params.seed);
        let mut best: Option<KMeans> = None;
        for _ in 0..params.n_init {
            let mut rng = ChaCha8Rng::seed_from_u64(master.random());
            let init = match &params.init {
                Init::KMeansPlusPlus => kmeans_plus_plus(x, params.k, &mut rng),
                Init::Random => random_rows(x, params.k, &mut rng),
                Init::Centers(c) => c.data.clone(),
            };
            let run = lloyd(x, init, params.k, params.max_iter, tol_abs);
            if best.as_ref().is_none_or(|b| run.inertia < b.inertia) {
                best = Some(run);
            }
        }
        best.ok_or_else(|| MlError::param("n_init", 0, "need at least one run"))
    }

    /// Nearest centre of each row of `x`.
    pub fn predict(&self, x: MatRef<'_>) -> Result<Vec<u32>> {
        if x.cols() != self.centers.cols {
            return Err(MlError::FeatureMismatch {
                what: "k-means predict",
                expected: self.centers.cols,
                got: x.cols(),
            });
        }
        Ok(nearest_two(x, &self.centers.data, self.centers.rows).labels)
    }
}

/// Per-cluster running sums: coordinate sums, counts and sums of squared norms, in `f64`.
struct Sums {
    k: usize,
    d: usize,
    sum: Vec<f64>,
    count: Vec<u64>,
    sq: Vec<f64>,
}

impl Sums {
    fn build(x: MatRef<'_>, labels: &[u32], k: usize) -> Sums {
        let d = x.cols();
        let parts: Vec<Sums> = labels
            .par_chunks(BLOCK * 8)
            .enumerate()
            .map(|(b, lab)| {
                let mut s = Sums::zeros(k, d);
                for (r, &l) in lab.iter().enumerate() {
                    s.add(l as usize, x.row(b * BLOCK * 8 + r));
                }
                s
            })
            .collect();
        let mut total = Sums::zeros(k, d);
        for p in parts {
            for (a, b) in total.sum.iter_mut().zip(&p.sum) {
                *a += b;
            }
            for j in 0..k {
                total.count[j] += p.count[j];
                total.sq[j] += p.sq[j];
            }
        }
        total
    }
    fn zeros(k: usize, d: usize) -> Sums {
        Sums {
            k,
            d,
            sum: vec![0.0; k * d],
            count: vec![0; k],
            sq: vec![0.0; k],
        }
    }
    fn add(&mut self, j: usize, row: &[f32]) {
        for (a, &v) in self.sum[j * self.d..(j + 1) * self.d].iter_mut().zip(row) {
            *a += v as f64;
        }
        self.count[j] += 1;
        self.sq[j] += kernels::norm_sq(row) as f64;
    }
    fn remove(&mut self, j: usize, row: &[f32]) {
        for (a, &v) in self.sum[j * self.d..(j + 1) * self.d].iter_mut().zip(row) {
            *a -= v as f64;
        }
        self.count[j] -= 1;
        self.sq[j] -= kernels::norm_sq(row) as f64;
    }
    /// Sum of squared distances of the points to their cluster means.
    fn objective(&self) -> f64 {
        (0..self.k)
            .filter(|&j| self.count[j] > 0)
            .map(|j| {
                let s = &self.sum[j * self.d..(j + 1) * self.d];
                let ss: f64 = s.iter().map(|v| v * v).sum();
                (self.sq[j] - ss / self.count[j] as f64).max(0.0)
            })
            .sum()
    }
}

/// Lloyd bookkeeping of one run: labels and Hamerly's bounds (distances, not squared).
struct State {
    labels: Vec<u32>,
    upper: Vec<f32>,
    lower: Vec<f32>,
}

/// One Lloyd run from `centers`.
fn lloyd(x: MatRef<'_>, mut centers: Vec<f32>, k: usize, max_iter: usize, tol: f64) -> KMeans {
    let d = x.cols();
    let near = nearest_two(x, &centers, k);
    let mut st = State {
        labels: near.labels,
        upper: near.best.iter().map(|v| v.sqrt()).collect(),
        lower: near.second.iter().map(|v| v.sqrt()).collect(),
    };
    let mut sums = Sums::build(x, &st.labels, k);
    let mut history = Vec::new();
    let (mut iterations, mut strict, mut converged) = (0, false, false);
    let mut shift = vec![0.0f32; k];
    for it in 0..max_iter {
        iterations = it + 1;
        let changed = if it == 0 {
            usize::MAX
        } else {
            estep(x, &centers, k, &mut st, Some(&mut sums))
        };
        relocate_empty(x, &centers, &mut st, &mut sums);
        let mut total_shift = 0.0f64;
        for j in 0..k {
            let c = &mut centers[j * d..(j + 1) * d];
            let s = &sums.sum[j * d..(j + 1) * d];
            let cnt = sums.count[j] as f64;
            let mut sh = 0.0f64;
            if sums.count[j] > 0 {
                for (cv, sv) in c.iter_mut().zip(s) {
                    let new = (sv / cnt) as f32;
                    sh += ((new - *cv) as f64).powi(2);
                    *cv = new;
                }
            }
            shift[j] = sh.sqrt() as f32;
            total_shift += sh;
        }
        history.push(sums.objective());
        move_bounds(&mut st, &shift);
        if changed == 0 {
            strict = true;
            converged = true;
            break;
        }
        if total_shift <= tol {
            converged = true;
            break;
        }
    }
    if !strict {
        estep(x, &centers, k, &mut st, None);
    }
    let inertia = exact_inertia(x, &centers, &st.labels);
    KMeans {
        centers: Matrix {
            data: centers,
            rows: k,
            cols: d,
        },
        labels: st.labels,
        inertia,
        iterations,
        converged,
        inertia_history: history,
    }
}

/// After the centres moved by `shift`: the own-centre bound grows by its shift, the
/// other-centre bound shrinks by the largest shift of any other centre.
fn move_bounds(st: &mut State, shift: &[f32]) {
    let (mut m1, mut m1j, mut m2) = (0.0f32, usize::MAX, 0.0f32);
    for (j, &s) in shift.iter().enumerate() {
        if s > m1 {
            m2 = m1;
            m1 = s;
            m1j = j;
        } else if s > m2 {
            m2 = s;
        }
    }
    st.upper
        .par_iter_mut()
        .zip(st.lower.par_iter_mut())
        .zip(st.labels.par_iter())
        .for_each(|((u, l), &a)| {
            *u += shift[a as usize];
            *l -= if a as usize == m1j { m2 } else { m1 };
        });
}

/// Assignment step with Hamerly's test; moves are applied to `sums` in index order.
/// Returns the number of rows whose label changed.
fn estep(
    x: MatRef<'_>,
    centers: &[f32],
    k: usize,
    st: &mut State,
    sums: Option<&mut Sums>,
) -> usize {
    let d = x.cols();
    // Half the distance from each centre to its nearest other centre.
    let half: Vec<f32> = (0..k)
        .into_par_iter()
        .map_init(
            || vec![0.0f32; k],
            |tmp, j| {
                kernels::sq_dists(&centers[j * d..(j + 1) * d], centers, tmp);
                let mut h = f32::INFINITY;
                for (jj, &v) in tmp.iter().enumerate() {
                    if jj != j {
                        h = h.min(0.5 * v.sqrt());
                    }
                }
                h
            },
        )
        .collect();
    let c_norms: Vec<f32> = centers.chunks_exact(d).map(kernels::norm_sq).collect();
    let moves: Vec<Vec<(usize, u32, u32)>> = st
        .labels
        .par_chunks_mut(BLOCK)
        .zip(st.upper.par_chunks_mut(BLOCK))
        .zip(st.lower.par_chunks_mut(BLOCK))
        .enumerate()
        .map(|(b, ((lab, up), lo))| {
            let mut mv = Vec::new();
            // Rows whose bounds cannot rule out a change: their distances to every centre.
            let mut need = Vec::new();
            for r in 0..lab.len() {
                let a = lab[r] as usize;
                let m = half[a].max(lo[r]);
                if up[r] <= m {
                    continue;
                }
                up[r] = kernels::sq_dist(x.row(b * BLOCK + r), &centers[a * d..(a + 1) * d]).sqrt();
                if up[r] > m {
                    need.push(r);
                }
            }
            if need.is_empty() {
                return mv;
            }
            let mut dist = vec![0.0f32; need.len() * k];
            if k >= GEMM_FROM_K {
                let mut rows = Vec::with_capacity(need.len() * d);
                for &r in &need {
                    rows.extend_from_slice(x.row(b * BLOCK + r));
                }
                block_sq_dists(&rows, need.len(), d, centers, &c_norms, k, &mut dist);
            } else {
                for (t, &r) in need.iter().enumerate() {
                    kernels::sq_dists(x.row(b * BLOCK + r), centers, &mut dist[t * k..(t + 1) * k]);
                }
            }
            for (t, &r) in need.iter().enumerate() {
                let a = lab[r] as usize;
                let (j, d1, d2) = kernels::two_smallest(&dist[t * k..(t + 1) * k]);
                up[r] = d1.sqrt();
                lo[r] = d2.sqrt();
                if j != a {
                    lab[r] = j as u32;
                    mv.push((b * BLOCK + r, a as u32, j as u32));
                }
            }
            mv
        })
        .collect();
    let mut changed = 0;
    let mut sums = sums;
    for (i, from, to) in moves.into_iter().flatten() {
        changed += 1;
        if let Some(s) = sums.as_deref_mut() {
            s.remove(from as usize, x.row(i));
            s.add(to as usize, x.row(i));
        }
    }
    changed
}

/// Gives each empty cluster the row farthest from its own centre (as scikit-learn does),
/// taking rows only from clusters that keep at least one member.
fn relocate_empty(x: MatRef<'_>, centers: &[f32], st: &mut State, sums: &mut Sums) {
    let empty: Vec<usize> = (0..sums.k).filter(|&j| sums.count[j] == 0).collect();
    if empty.is_empty() {
        return;
    }
    let d = x.cols();
    let dist: Vec<f32> = (0..x.rows())
        .into_par_iter()
        .map(|i| {
            let a = st.labels[i] as usize;
            kernels::sq_dist(x.row(i), &centers[a * d..(a + 1) * d])
        })
        .collect();
    let mut order: Vec<usize> = (0..x.rows()).collect();
    order.sort_by(|&a, &b| dist[b].total_cmp(&dist[a]).then(a.cmp(&b)));
    let mut far = order.into_iter();
    for j in empty {
        for i in far.by_ref() {
            let from = st.labels[i] as usize;
            if sums.count[from] >= 2 {
                sums.remove(from, x.row(i));
                sums.add(j, x.row(i));
                st.labels[i] = j as u32;
                st.upper[i] = 0.0;
                st.lower[i] = 0.0;
                break;
            }
        }
    }
}

/// `sum_i |x_i - c_{labels_i}|^2`, in `f64`, deterministic.
pub(crate) fn exact_inertia(x: MatRef<'_>, centers: &[f32], labels: &[u32]) -> f64 {
    let d = x.cols();
    let parts: Vec<f64> = labels
        .par_chunks(BLOCK)
        .enumerate()
        .map(|(b, lab)| {
            lab.iter()
                .enumerate()
                .map(|(r, &a)| {
                    let a = a as usize;
                    kernels::sq_dist(x.row(b * BLOCK + r), &centers[a * d..(a + 1) * d]) as f64
                })
                .sum()
        })
        .collect();
    parts.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::adjusted_rand_index;
    use crate::synthetic::{blobs, random_centers};

    /// Textbook Lloyd (full reassignment every iteration) with scikit-learn's stopping rule.
    fn naive_lloyd(x: MatRef<'_>, mut c: Vec<f32>, k: usize, tol: f64) -> (Vec<u32>, usize) {
        let d = x.cols();
        let mut old: Vec<u32> = vec![u32::MAX; x.rows()];
        let mut it = 0;
        loop {
            it += 1;
            let lab = nearest_two(x, &c, k).labels;
            let mut s = vec![0.0f64; k * d];
            let mut cnt = vec![0usize; k];
            for (i, &l) in lab.iter().enumerate() {
                cnt[l as usize] += 1;
                for (a, &v) in s[l as usize * d..][..d].iter_mut().zip(x.row(i)) {
                    *a += v as f64;
                }
            }
            let mut shift = 0.0;
            for j in 0..k {
                for t in 0..d {
                    let new = (s[j * d + t] / cnt[j] as f64) as f32;
                    shift += ((new - c[j * d + t]) as f64).powi(2);
                    c[j * d + t] = new;
                }
            }
            if lab == old || shift <= tol {
                return (nearest_two(x, &c, k).labels, it);
            }
            old = lab;
        }
    }

    #[test]
    fn recovers_separated_blobs() {
        let c = random_centers(6, 8, 20.0, 1);
        let (x, truth) = blobs(&c, 200, 0.5, 2);
        let km = KMeans::fit(x.view(), &KMeansParams::new(6).seed(3)).unwrap();
        assert_eq!(adjusted_rand_index(&truth, &km.labels).unwrap(), 1.0);
        assert!(km.converged);
        // Inertia ~ n * d * std^2 = 1200 * 8 * 0.25.
        assert!((km.inertia / 2400.0 - 1.0).abs() < 0.1, "{}", km.inertia);
        assert_eq!(km.predict(x.view()).unwrap(), km.labels);
    }

    #[test]
    fn bounds_give_the_same_run_as_plain_lloyd() {
        // Overlapping blobs: many reassignments over many iterations.
        let c = random_centers(8, 5, 3.0, 4);
        let (x, _) = blobs(&c, 400, 1.5, 5);
        let init = kmeans_plus_plus(x.view(), 8, &mut ChaCha8Rng::seed_from_u64(9));
        let (_, var) = x.view().column_mean_var();
        let tol = 1e-4 * var.iter().sum::<f64>() / var.len() as f64;
        let (want, want_it) = naive_lloyd(x.view(), init.clone(), 8, tol);
        let p = KMeansParams::new(8).init(Init::Centers(Matrix::new(init, 8, 5).unwrap()));
        let km = KMeans::fit(x.view(), &p).unwrap();
        assert!(want_it > 5, "test data converges too fast ({want_it})");
        assert_eq!(km.iterations, want_it);
        assert_eq!(km.labels, want);
        for w in km.inertia_history.windows(2) {
            assert!(w[1] <= w[0] * (1.0 + 1e-9), "{:?}", km.inertia_history);
        }
        assert!((km.inertia_history.last().unwrap() - km.inertia).abs() <= 1e-3 * km.inertia);
    }

    #[test]
    fn more_inits_never_worse() {
        let c = random_centers(10, 4, 3.0, 6);
        let (x, _) = blobs(&c, 60, 1.0, 7);
        let one = KMeans::fit(x.view(), &KMeansParams::new(10).seed(11)).unwrap();
        let many = KMeans::fit(x.view(), &KMeansParams::new(10).seed(11).n_init(5)).unwrap();
        assert!(many.inertia <= one.inertia);
        let again = KMeans::fit(x.view(), &KMeansParams::new(10).seed(11).n_init(5)).unwrap();
        assert_eq!(again.labels, many.labels);
        assert_eq!(again.inertia, many.inertia);
    }

    #[test]
    fn empty_cluster_gets_relocated() {
        let c = random_centers(3, 2, 10.0, 8);
        let (x, _) = blobs(&c, 50, 0.3, 9);
        // Third initial centre far from all data: it captures nothing on the first pass.
        let mut init = c.data.clone();
        init[4] = 1e4;
        init[5] = 1e4;
        let p = KMeansParams::new(3).init(Init::Centers(Matrix::new(init, 3, 2).unwrap()));
        let km = KMeans::fit(x.view(), &p).unwrap();
        let mut counts = [0; 3];
        for &l in &km.labels {
            counts[l as usize] += 1;
        }
        assert!(counts.iter().all(|&c| c > 0), "{counts:?}");
        assert!(km.centers.data.iter().all(|v| v.abs() < 100.0));
    }

    #[test]
    fn random_init_and_errors() {
        let c = random_centers(3, 2, 10.0, 8);
        let (x, truth) = blobs(&c, 30, 0.3, 9);
        let km = KMeans::fit(x.view(), &KMeansParams::new(3).init(Init::Random).n_init(4)).unwrap();
        assert_eq!(adjusted_rand_index(&truth, &km.labels).unwrap(), 1.0);
        assert!(KMeans::fit(x.view(), &KMeansParams::new(91)).is_err());
        assert!(KMeans::fit(x.view(), &KMeansParams::new(0)).is_err());
        let mut bad = x.clone();
        bad.data[3] = f32::INFINITY;
        assert!(matches!(
            KMeans::fit(bad.view(), &KMeansParams::new(3)),
            Err(MlError::NotFinite { row: 1, col: 1, .. })
        ));
        let wrong = Matrix::zeros(2, 2);
        assert!(km.predict(MatRef::new(&wrong.data, 1, 4).unwrap()).is_err());
    }
}
