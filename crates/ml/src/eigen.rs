//! Symmetric eigen decomposition in `f64`: Householder reduction to tridiagonal form followed by
//! the implicit QL algorithm (the EISPACK `tred2`/`tql2` pair, after the public-domain JAMA
//! port). Accurate to a few ulps of the largest eigenvalue; `O(n^3)`, fine for covariance
//! matrices up to a few thousand features.
//!
//! The transform is kept transposed (`w[j * n + k]` = component `k` of vector `j`), so every
//! inner loop runs over contiguous memory and vectorises.
//!
//! [`sym_eigen_top`] returns only the largest `k` pairs (what PCA needs): Householder
//! tridiagonalisation without forming the transform, all eigenvalues by QL, then inverse
//! iteration on the tridiagonal matrix for the `k` wanted vectors (re-orthogonalised within
//! clusters of close eigenvalues, as LAPACK's `dstein`), and the reflectors applied to those
//! `k` vectors only: about `(4/3) n^3` flops instead of `~9 n^3`.

use rayon::prelude::*;

use crate::error::{MlError, Result};
use crate::kernels;

/// Eigenvalues (descending) and unit eigenvectors of a symmetric matrix.
#[derive(Debug, Clone)]
pub struct SymEigen {
    /// Eigenvalues, largest first.
    pub values: Vec<f64>,
    /// `n x n` row-major; row `j` is the eigenvector of `values[j]`.
    pub vectors: Vec<f64>,
    pub n: usize,
}

impl SymEigen {
    /// Eigenvector `j` (of `values[j]`).
    pub fn vector(&self, j: usize) -> &[f64] {
        &self.vectors[j * self.n..(j + 1) * self.n]
    }
}

/// Decomposes the symmetric `n x n` row-major matrix `a` (only its lower triangle is read).
pub fn sym_eigen(mut a: Vec<f64>, n: usize) -> Result<SymEigen> {
    if a.len() != n * n {
        return Err(MlError::BadShape {
            what: "symmetric matrix",
            rows: n,
            cols: n,
            expected: n * n,
            got: a.len(),
        });
    }
    if let Some(p) = a.iter().position(|v| !v.is_finite()) {
        return Err(MlError::NotFinite {
            what: "symmetric matrix",
            row: p / n,
            col: p % n,
            value: a[p] as f32,
        });
    }
    if n == 0 {
        return Ok(SymEigen {
            values: vec![],
            vectors: vec![],
            n,
        });
    }
    // Work on W = V^T. The input is symmetric, so W starts as the lower triangle mirrored.
    for i in 0..n {
        for j in 0..i {
            a[j * n + i] = a[i * n + j];
        }
    }
    let mut d = vec![0.0; n];
    let mut e = vec![0.0; n];
    tred2(&mut a, &mut d, &mut e, n);
    tql2(&mut a, &mut d, &mut e, n)?;
    // Sort descending, carrying the vectors.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&x, &y| d[y].total_cmp(&d[x]));
    let values = order.iter().map(|&j| d[j]).collect();
    let mut vectors = Vec::with_capacity(n * n);
    for &j in &order {
        vectors.extend_from_slice(&a[j * n..(j + 1) * n]);
    }
    Ok(SymEigen { values, vectors, n })
}

/// The `k` largest eigenvalues (descending) and their unit eigenvectors of the symmetric
/// `n x n` row-major matrix `a` (only its lower triangle is read). `vectors` is `k x n`.
pub fn sym_eigen_top(a: Vec<f64>, n: usize, k: usize) -> Result<SymEigen> {
    if k > n {
        return Err(MlError::param(
            "k",
            k,
            format!("a {n} x {n} matrix has {n} eigenvalues"),
        ));
    }
    if k == 0 {
        return Ok(SymEigen {
            values: vec![],
            vectors: vec![],
            n,
        });
    }
    if 3 * k > n {
        let mut full = sym_eigen(a, n)?;
        full.values.truncate(k);
        full.vectors.truncate(k * n);
        return Ok(SymEigen {
            values: full.values,
            vectors: full.vectors,
            n,
        });
    }
    let full = sym_eigen_checked(a, n)?;
    let mut a = full;
    let (d, e, reflectors) = tridiagonalize(&mut a, n);
    drop(a);
    // All eigenvalues of T by QL without vectors.
    let mut dd = d.clone();
    let mut ee = vec![0.0; n];
    ee[1..n].copy_from_slice(&e[..n - 1]);
    tql2(&mut [], &mut dd, &mut ee, n)?;
    dd.sort_by(|x, y| y.total_cmp(x));
    let values: Vec<f64> = dd[..k].to_vec();
    let norm_t = (0..n)
        .map(|i| {
            d[i].abs()
                + if i + 1 < n { e[i].abs() } else { 0.0 }
                + if i > 0 { e[i - 1].abs() } else { 0.0 }
        })
        .fold(0.0f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let mut vectors: Vec<f64> = Vec::with_capacity(k * n);
    let mut cluster_start = 0;
    for j in 0..k {
        if j > 0 && (values[j - 1] - values[j]).abs() > 1e-3 * norm_t {
            cluster_start = j;
        }
        let z = inverse_iteration(
            &d,
            &e,
            values[j],
            norm_t,
            j,
            &vectors[cluster_start * n..],
            n,
        );
        vectors.extend_from_slice(&z);
    }
    for z in vectors.chunks_exact_mut(n) {
        apply_reflectors(&reflectors, z, n);
    }
    Ok(SymEigen { values, vectors, n })
}

fn sym_eigen_checked(a: Vec<f64>, n: usize) -> Result<Vec<f64>> {
    if a.len() != n * n {
        return Err(MlError::BadShape {
            what: "symmetric matrix",
            rows: n,
            cols: n,
            expected: n * n,
            got: a.len(),
        });
    }
    if let Some(p) = a.iter().position(|v| !v.is_finite()) {
        return Err(MlError::NotFinite {
            what: "symmetric matrix",
            row: p / n,
            col: p % n,
            value: a[p] as f32,
        });
    }
    Ok(a)
}

/// Householder reflector `I - beta v v^T` acting on indices `start..n`.
struct Reflector {
    start: usize,
    beta: f64,
    v: Vec<f64>,
}

type Tridiagonal = (Vec<f64>, Vec<f64>, Vec<Reflector>);

/// Reduces the symmetric `a` (lower triangle only is read and updated) to tridiagonal
/// `Q^T A Q = T` (Golub & Van Loan, Algorithm 8.3.1). Returns the diagonal, the sub-diagonal
/// (`e[i]` = `T[i + 1][i]`) and the reflectors whose product (in order) is `Q`. The product
/// with the trailing block and the rank-2 update both sweep its lower triangle row by row, in
/// parallel for large blocks.
fn tridiagonalize(a: &mut [f64], n: usize) -> Tridiagonal {
    let mut reflectors = Vec::with_capacity(n.saturating_sub(2));
    let mut e = vec![0.0; n];
    for k in 0..n.saturating_sub(2) {
        let s = k + 1;
        let m = n - s;
        // x = A[s.., k], a column of the lower triangle.
        let x: Vec<f64> = (s..n).map(|r| a[r * n + k]).collect();
        let alpha = x.iter().map(|v| v * v).sum::<f64>().sqrt();
        if alpha == 0.0 {
            e[k] = 0.0;
            continue;
        }
        // v = x + sign(x0) alpha e1, beta = 2 / v.v; P x = -sign(x0) alpha e1.
        let sign = if x[0] >= 0.0 { 1.0 } else { -1.0 };
        let mut v = x;
        v[0] += sign * alpha;
        let vv: f64 = v.iter().map(|t| t * t).sum();
        let beta = 2.0 / vv;
        // p = beta A' v from the lower triangle: row r contributes its dot with v[..=r] to
        // p[r] and v[r] * row to p[..r].
        let trailing = &a[s * n..];
        let rows_p = |lo: usize, hi: usize| -> Vec<f64> {
            let mut p = vec![0.0; m];
            for r in lo..hi {
                let row = &trailing[r * n + s..r * n + s + r + 1];
                p[r] += kernels::dot_f64(row, &v[..=r]);
                kernels::axpy_f64(v[r], &row[..r], &mut p[..r]);
            }
            p
        };
        let mut p = if m >= PAR_FROM {
            let cuts = balanced_cuts(m, rayon::current_num_threads() * 4);
            cuts.par_windows(2).map(|w| rows_p(w[0], w[1])).reduce(
                || vec![0.0; m],
                |mut acc, part| {
                    for (x, y) in acc.iter_mut().zip(part) {
                        *x += y;
                    }
                    acc
                },
            )
        } else {
            rows_p(0, m)
        };
        p.iter_mut().for_each(|x| *x *= beta);
        let pv: f64 = p.iter().zip(&v).map(|(x, y)| x * y).sum();
        let kk = beta * pv / 2.0;
        for (pr, &vr) in p.iter_mut().zip(&v) {
            *pr -= kk * vr;
        }
        // A' -= v w^T + w v^T (w = p), lower triangle.
        let update = |r: usize, row: &mut [f64]| {
            kernels::rank2_f64(&mut row[s..s + r + 1], v[r], &p[..=r], &v[..=r], p[r]);
        };
        let rows = &mut a[s * n..];
        if m >= PAR_FROM {
            rows.par_chunks_mut(n)
                .enumerate()
                .for_each(|(r, row)| update(r, row));
        } else {
            rows.chunks_mut(n)
                .enumerate()
                .for_each(|(r, row)| update(r, row));
        }
        e[k] = -sign * alpha;
        reflectors.push(Reflector { start: s, beta, v });
    }
    if n >= 2 {
        e[n - 2] = a[(n - 1) * n + (n - 2)];
    }
    let d = (0..n).map(|i| a[i * n + i]).collect();
    (d, e, reflectors)
}

/// Trailing blocks at least this large are processed in parallel.
const PAR_FROM: usize = 192;

/// Row boundaries splitting a lower triangle of `m` rows into `parts` pieces of about equal
/// area.
fn balanced_cuts(m: usize, parts: usize) -> Vec<usize> {
    let mut cuts: Vec<usize> = (0..=parts)
        .map(|i| ((i as f64 / parts as f64).sqrt() * m as f64).round() as usize)
        .collect();
    cuts.dedup();
    cuts
}

/// `z <- Q z` with `Q = P_0 P_1 ... P_m`.
fn apply_reflectors(refl: &[Reflector], z: &mut [f64], n: usize) {
    for r in refl.iter().rev() {
        let seg = &mut z[r.start..n];
        let f = r.beta * kernels::dot_f64(seg, &r.v);
        kernels::axpy_f64(-f, &r.v, seg);
    }
}

/// Eigenvector of the tridiagonal (`d`, sub-diagonal `e`) for the eigenvalue `lambda`, by
/// inverse iteration with a partially pivoted LU of `T - lambda I`; orthogonalised against
/// `prev` (the vectors of the same cluster computed so far).
fn inverse_iteration(
    d: &[f64],
    e: &[f64],
    lambda: f64,
    norm_t: f64,
    seed: usize,
    prev: &[f64],
    n: usize,
) -> Vec<f64> {
    let tiny = f64::EPSILON * norm_t;
    // LU with partial pivoting: U has three diagonals (u0, u1, u2), L multipliers with swaps.
    let (mut u0, mut u1, mut u2) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let mut l = vec![0.0; n];
    let mut swap = vec![false; n];
    let (mut p, mut q) = (d[0] - lambda, if n > 1 { e[0] } else { 0.0 });
    for i in 0..n - 1 {
        let (s, t) = (e[i], d[i + 1] - lambda);
        let w = if i + 2 < n { e[i + 1] } else { 0.0 };
        if p.abs() >= s.abs() {
            if p == 0.0 {
                p = tiny;
            }
            let m = s / p;
            (u0[i], u1[i], u2[i]) = (p, q, 0.0);
            l[i] = m;
            (p, q) = (t - m * q, w);
        } else {
            let m = p / s;
            (u0[i], u1[i], u2[i]) = (s, t, w);
            l[i] = m;
            swap[i] = true;
            (p, q) = (q - m * t, -m * w);
        }
    }
    u0[n - 1] = if p == 0.0 { tiny } else { p };
    // Deterministic pseudo-random start.
    let mut x: Vec<f64> = (0..n)
        .map(|i| (((i + 1) * 7919 + seed * 104_729) as f64 * 0.618_033_988_749).fract() - 0.5)
        .collect();
    for _ in 0..4 {
        orthogonalize(&mut x, prev, n);
        for i in 0..n - 1 {
            if swap[i] {
                x.swap(i, i + 1);
            }
            x[i + 1] -= l[i] * x[i];
        }
        for i in (0..n).rev() {
            let mut v = x[i];
            if i + 1 < n {
                v -= u1[i] * x[i + 1];
            }
            if i + 2 < n {
                v -= u2[i] * x[i + 2];
            }
            x[i] = v / if u0[i] == 0.0 { tiny } else { u0[i] };
        }
        let norm = x.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 0.0 && norm.is_finite() {
            x.iter_mut().for_each(|v| *v /= norm);
        }
    }
    orthogonalize(&mut x, prev, n);
    let norm = x.iter().map(|v| v * v).sum::<f64>().sqrt();
    if norm > 0.0 {
        x.iter_mut().for_each(|v| *v /= norm);
    }
    x
}

fn orthogonalize(x: &mut [f64], prev: &[f64], n: usize) {
    for q in prev.chunks_exact(n) {
        let dot: f64 = q.iter().zip(x.iter()).map(|(a, b)| a * b).sum();
        for (xv, &qv) in x.iter_mut().zip(q) {
            *xv -= dot * qv;
        }
    }
}

#[inline]
fn w(i: usize, j: usize, n: usize) -> usize {
    i * n + j
}

/// Householder tridiagonalisation; on return `w` holds the orthogonal transform (transposed),
/// `d` the diagonal and `e` the sub-diagonal (in `e[1..]`).
fn tred2(v: &mut [f64], d: &mut [f64], e: &mut [f64], n: usize) {
    // JAMA's V[r][c] is v[w(c, r)] here.
    for j in 0..n {
        d[j] = v[w(j, n - 1, n)];
    }
    for i in (1..n).rev() {
        let scale: f64 = d[..i].iter().map(|x| x.abs()).sum();
        let mut h = 0.0;
        if scale == 0.0 {
            e[i] = d[i - 1];
            for j in 0..i {
                d[j] = v[w(j, i - 1, n)];
                v[w(j, i, n)] = 0.0;
                v[w(i, j, n)] = 0.0;
            }
        } else {
            for dk in d[..i].iter_mut() {
                *dk /= scale;
                h += *dk * *dk;
            }
            let mut f = d[i - 1];
            let mut g = h.sqrt();
            if f > 0.0 {
                g = -g;
            }
            e[i] = scale * g;
            h -= f * g;
            d[i - 1] = f - g;
            e[..i].fill(0.0);
            for j in 0..i {
                f = d[j];
                v[w(i, j, n)] = f;
                let row = &v[w(j, 0, n)..w(j, n, n)];
                let mut g = e[j] + row[j] * f;
                for k in j + 1..i {
                    g += row[k] * d[k];
                    e[k] += row[k] * f;
                }
                e[j] = g;
            }
            f = 0.0;
            for j in 0..i {
                e[j] /= h;
                f += e[j] * d[j];
            }
            let hh = f / (h + h);
            for j in 0..i {
                e[j] -= hh * d[j];
            }
            for j in 0..i {
                let (f, g) = (d[j], e[j]);
                let row = &mut v[w(j, 0, n)..w(j, n, n)];
                for k in j..i {
                    row[k] -= f * e[k] + g * d[k];
                }
                d[j] = row[i - 1];
                row[i] = 0.0;
            }
        }
        d[i] = h;
    }
    // Accumulate transformations.
    for i in 0..n - 1 {
        v[w(i, n - 1, n)] = v[w(i, i, n)];
        v[w(i, i, n)] = 1.0;
        let h = d[i + 1];
        if h != 0.0 {
            let (head, tail) = v.split_at_mut(w(i + 1, 0, n));
            let col = &tail[..n]; // V[.][i+1]
            for k in 0..=i {
                d[k] = col[k] / h;
            }
            for j in 0..=i {
                let row = &mut head[w(j, 0, n)..w(j, n, n)];
                let g: f64 = col[..=i].iter().zip(&row[..=i]).map(|(a, b)| a * b).sum();
                for k in 0..=i {
                    row[k] -= g * d[k];
                }
            }
        }
        v[w(i + 1, 0, n)..w(i + 1, i + 1, n)].fill(0.0);
    }
    for j in 0..n {
        d[j] = v[w(j, n - 1, n)];
        v[w(j, n - 1, n)] = 0.0;
    }
    v[w(n - 1, n - 1, n)] = 1.0;
    e[0] = 0.0;
}

/// Implicit QL iterations on the tridiagonal matrix, rotating the transform along (no
/// transform when `v` is empty: eigenvalues only).
fn tql2(v: &mut [f64], d: &mut [f64], e: &mut [f64], n: usize) -> Result<()> {
    const MAX_ITER: usize = 60;
    for i in 1..n {
        e[i - 1] = e[i];
    }
    e[n - 1] = 0.0;
    let mut f = 0.0;
    let mut tst1: f64 = 0.0;
    let eps = f64::EPSILON;
    for l in 0..n {
        tst1 = tst1.max(d[l].abs() + e[l].abs());
        let mut m = l;
        while m < n - 1 {
            if e[m].abs() <= eps * tst1 {
                break;
            }
            m += 1;
        }
        if m > l {
            let mut iter = 0;
            loop {
                iter += 1;
                if iter > MAX_ITER {
                    return Err(MlError::NoConvergence {
                        what: "symmetric eigen decomposition (QL)",
                        iterations: MAX_ITER,
                    });
                }
                let mut g = d[l];
                let mut p = (d[l + 1] - g) / (2.0 * e[l]);
                let mut r = p.hypot(1.0);
                if p < 0.0 {
                    r = -r;
                }
                d[l] = e[l] / (p + r);
                d[l + 1] = e[l] * (p + r);
                let dl1 = d[l + 1];
                let mut h = g - d[l];
                for di in d[l + 2..].iter_mut() {
                    *di -= h;
                }
                f += h;
                p = d[m];
                let (mut c, mut c2, mut c3) = (1.0, 1.0, 1.0);
                let el1 = e[l + 1];
                let (mut s, mut s2) = (0.0, 0.0);
                for i in (l..m).rev() {
                    c3 = c2;
                    c2 = c;
                    s2 = s;
                    g = c * e[i];
                    h = c * p;
                    r = p.hypot(e[i]);
                    e[i + 1] = s * r;
                    s = e[i] / r;
                    c = p / r;
                    p = c * d[i] - s * g;
                    d[i + 1] = h + s * (c * g + s * d[i]);
                    if v.is_empty() {
                        continue;
                    }
                    let (lo, hi) = v.split_at_mut(w(i + 1, 0, n));
                    let vi = &mut lo[w(i, 0, n)..];
                    let vi1 = &mut hi[..n];
                    for (a, b) in vi.iter_mut().zip(vi1.iter_mut()) {
                        let hk = *b;
                        *b = s * *a + c * hk;
                        *a = c * *a - s * hk;
                    }
                }
                p = -s * s2 * c3 * el1 * e[l] / dl1;
                e[l] = s * p;
                d[l] = c * p;
                if e[l].abs() <= eps * tst1 {
                    break;
                }
            }
        }
        d[l] += f;
        e[l] = 0.0;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(a: &[f64], n: usize) {
        let eig = sym_eigen(a.to_vec(), n).unwrap();
        let scale = eig.values.iter().map(|v| v.abs()).fold(1.0, f64::max);
        for j in 0..n {
            let v = eig.vector(j);
            let norm: f64 = v.iter().map(|x| x * x).sum();
            assert!((norm - 1.0).abs() < 1e-10);
            // A v = lambda v
            for r in 0..n {
                let av: f64 = (0..n).map(|c| a[r * n + c] * v[c]).sum();
                assert!(
                    (av - eig.values[j] * v[r]).abs() < 1e-9 * scale,
                    "n={n} j={j} r={r}"
                );
            }
            for k in 0..j {
                let dot: f64 = v.iter().zip(eig.vector(k)).map(|(x, y)| x * y).sum();
                assert!(dot.abs() < 1e-10);
            }
        }
        for j in 1..n {
            assert!(eig.values[j - 1] >= eig.values[j]);
        }
    }

    #[test]
    fn known_two_by_two() {
        // [[2, 1], [1, 2]] has eigenvalues 3 and 1 with vectors (1, 1)/sqrt2 and (1, -1)/sqrt2.
        let eig = sym_eigen(vec![2.0, 1.0, 1.0, 2.0], 2).unwrap();
        assert!((eig.values[0] - 3.0).abs() < 1e-14);
        assert!((eig.values[1] - 1.0).abs() < 1e-14);
        let v = eig.vector(0);
        assert!((v[0].abs() - 0.5f64.sqrt()).abs() < 1e-14 && v[0] * v[1] > 0.0);
    }

    #[test]
    fn random_symmetric_matrices() {
        for n in [1usize, 2, 3, 7, 40] {
            let mut a = vec![0.0; n * n];
            for i in 0..n {
                for j in 0..=i {
                    let x = ((i * 31 + j * 17) as f64 * 0.731).sin();
                    a[i * n + j] = x;
                    a[j * n + i] = x;
                }
            }
            check(&a, n);
        }
    }

    #[test]
    fn degenerate_and_diagonal() {
        check(&[0.0; 9], 3);
        check(&[5.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, -1.0], 3);
        let eig = sym_eigen(vec![1.0, 0.0, 0.0, 4.0], 2).unwrap();
        assert_eq!(eig.values, vec![4.0, 1.0]);
    }

    fn check_top(a: &[f64], n: usize, k: usize) {
        let full = sym_eigen(a.to_vec(), n).unwrap();
        let top = sym_eigen_top(a.to_vec(), n, k).unwrap();
        let scale = full.values.iter().map(|v| v.abs()).fold(1.0, f64::max);
        for j in 0..k {
            assert!(
                (full.values[j] - top.values[j]).abs() < 1e-12 * scale,
                "value {j}"
            );
            let v = top.vector(j);
            for r in 0..n {
                let av: f64 = (0..n).map(|c| a[r * n + c] * v[c]).sum();
                assert!(
                    (av - top.values[j] * v[r]).abs() < 1e-10 * scale,
                    "residual {j}/{r}"
                );
            }
            for i in 0..j {
                let dot: f64 = v.iter().zip(top.vector(i)).map(|(x, y)| x * y).sum();
                assert!(dot.abs() < 1e-10, "orthogonality {i} {j}: {dot}");
            }
            let norm: f64 = v.iter().map(|x| x * x).sum();
            assert!((norm - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn top_k_matches_full_decomposition() {
        let n = 90;
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let x = ((i * 13 + j * 7) as f64 * 0.377).sin()
                    + if i == j { 0.05 * i as f64 } else { 0.0 };
                a[i * n + j] = x;
                a[j * n + i] = x;
            }
        }
        check_top(&a, n, 10);
        check_top(&a, n, 1);
        // Clustered: 5 I + a rank-3 update has eigenvalue 5 with multiplicity n - 3.
        let mut b = vec![0.0; n * n];
        let u: Vec<[f64; 3]> = (0..n)
            .map(|i| {
                [
                    (i as f64).sin(),
                    (i as f64 * 0.5).cos(),
                    1.0 / (1.0 + i as f64),
                ]
            })
            .collect();
        for i in 0..n {
            for j in 0..n {
                b[i * n + j] = u[i].iter().zip(&u[j]).map(|(x, y)| x * y).sum::<f64>()
                    + if i == j { 5.0 } else { 0.0 };
            }
        }
        check_top(&b, n, 12);
    }

    #[test]
    fn rejects_nan() {
        assert!(sym_eigen(vec![f64::NAN, 0.0, 0.0, 1.0], 2).is_err());
    }
}
