//! Row-major matrix products on the `gemm` crate.

pub use gemm::Parallelism;

/// One operand: a row-major matrix, or the transpose of one.
#[derive(Clone, Copy)]
pub struct Operand<'a> {
    pub data: &'a [f32],
    /// True when `data` holds the transpose (`[cols, rows]` row-major) of the operand.
    pub transposed: bool,
}

/// Row-major matrix `data`, used as is.
pub fn n(data: &[f32]) -> Operand<'_> {
    Operand {
        data,
        transposed: false,
    }
}

/// Row-major matrix `data`, used transposed.
pub fn t(data: &[f32]) -> Operand<'_> {
    Operand {
        data,
        transposed: true,
    }
}

/// `c[m, n] = a[m, k] · b[k, n]` (or `c += ...` when `accumulate`), all row-major.
///
/// # Panics
/// When a slice is shorter than its matrix: callers size their buffers from the model, so this
/// is a bug, never bad input.
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    c: &mut [f32],
    m: usize,
    nn: usize,
    k: usize,
    a: Operand<'_>,
    b: Operand<'_>,
    accumulate: bool,
    par: Parallelism,
) {
    assert!(c.len() >= m * nn, "gemm: output too small");
    assert!(a.data.len() >= m * k, "gemm: lhs too small");
    assert!(b.data.len() >= k * nn, "gemm: rhs too small");
    if m == 0 || nn == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c[..m * nn].fill(0.0);
        }
        return;
    }
    // Strides (column, row) of each operand as stored.
    let (a_cs, a_rs) = if a.transposed {
        (m as isize, 1)
    } else {
        (1, k as isize)
    };
    let (b_cs, b_rs) = if b.transposed {
        (k as isize, 1)
    } else {
        (1, nn as isize)
    };
    // SAFETY: every element addressed lies inside the checked slice lengths: `a` spans
    // `m * k`, `b` spans `k * nn`, `c` spans `m * nn` with the strides above; `c` is borrowed
    // mutably, so it aliases neither input.
    unsafe {
        gemm::gemm(
            m,
            nn,
            k,
            c.as_mut_ptr(),
            1,
            nn as isize,
            accumulate,
            a.data.as_ptr(),
            a_cs,
            a_rs,
            b.data.as_ptr(),
            b_cs,
            b_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            par,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(m: usize, nn: usize, k: usize, a: &[f32], at: bool, b: &[f32], bt: bool) -> Vec<f32> {
        let mut c = vec![0.0; m * nn];
        for i in 0..m {
            for j in 0..nn {
                let mut s = 0.0;
                for p in 0..k {
                    let x = if at { a[p * m + i] } else { a[i * k + p] };
                    let y = if bt { b[j * k + p] } else { b[p * nn + j] };
                    s += x * y;
                }
                c[i * nn + j] = s;
            }
        }
        c
    }

    #[test]
    fn all_transpose_combinations_match_the_naive_product() {
        let (m, nn, k) = (7, 5, 9);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * nn).map(|i| (i as f32 * 0.11).cos()).collect();
        for (at, bt) in [(false, false), (true, false), (false, true), (true, true)] {
            let want = naive(m, nn, k, &a, at, &b, bt);
            let mut c = vec![1.0; m * nn];
            let op = |d, tr| Operand {
                data: d,
                transposed: tr,
            };
            matmul(
                &mut c,
                m,
                nn,
                k,
                op(&a, at),
                op(&b, bt),
                false,
                Parallelism::None,
            );
            for (x, y) in c.iter().zip(&want) {
                assert!((x - y).abs() < 1e-4);
            }
            matmul(
                &mut c,
                m,
                nn,
                k,
                op(&a, at),
                op(&b, bt),
                true,
                Parallelism::Rayon(2),
            );
            for (x, y) in c.iter().zip(&want) {
                assert!((x - 2.0 * y).abs() < 1e-4);
            }
        }
    }
}
