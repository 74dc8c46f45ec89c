//! Symmetric eigen decomposition in `f64`: Householder reduction to tridiagonal form followed by
//! the implicit QL algorithm (the EISPACK `tred2`/`tql2` pair, after the public-domain JAMA
//! port). Accurate to a few ulps of the largest eigenvalue; `O(n^3)`, fine for covariance
//! matrices up to a few thousand features.
//!
//! The transform is kept transposed (`w[j * n + k]` = component `k` of vector `j`), so every
//! inner loop runs over contiguous memory and vectorises.
//!
//! [`sym_eigen_top`] (in `eigen_top.rs`) returns only the largest `k` pairs, for PCA.

pub use crate::eigen_top::sym_eigen_top;
use crate::error::{MlError, Result};

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

/// Checks that `a` holds `n x n` finite values (the input of every symmetric solver here).
pub(crate) fn check_symmetric_input(a: &[f64], n: usize) -> Result<()> {
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
    Ok(())
}

/// Decomposes the symmetric `n x n` row-major matrix `a` (only its lower triangle is read).
pub fn sym_eigen(mut a: Vec<f64>, n: usize) -> Result<SymEigen> {
    check_symmetric_input(&a, n)?;
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
pub(crate) fn tql2(v: &mut [f64], d: &mut [f64], e: &mut [f64], n: usize) -> Result<()> {
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
    use crate::eigen::sym_eigen_top;

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
