//! `f32` matrix products on the `gemm` crate (SIMD dispatched at run time, rayon-parallel),
//! with strided operands so transposes cost nothing.

/// A strided view for [`matmul`]: element `(r, c)` is `data[r * rs + c * cs]`.
#[derive(Debug, Clone, Copy)]
pub struct Strided<'a> {
    pub data: &'a [f32],
    pub rs: usize,
    pub cs: usize,
}

impl<'a> Strided<'a> {
    /// A row-major matrix with `cols` columns.
    pub fn rows(data: &'a [f32], cols: usize) -> Self {
        Strided {
            data,
            rs: cols,
            cs: 1,
        }
    }
    /// The transpose of a row-major matrix with `cols` columns.
    pub fn transposed(data: &'a [f32], cols: usize) -> Self {
        Strided {
            data,
            rs: 1,
            cs: cols,
        }
    }
    fn max_index(&self, rows: usize, cols: usize) -> usize {
        if rows == 0 || cols == 0 {
            0
        } else {
            (rows - 1) * self.rs + (cols - 1) * self.cs + 1
        }
    }
}

/// `out (m x n, row-major) = beta * out + a (m x k) * b (k x n)` where `beta` is 0 when
/// `accumulate` is false. Runs on all rayon threads when `parallel`.
///
/// # Panics
/// When a view is too short for its stated shape (a programming error, never data-dependent).
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    m: usize,
    n: usize,
    k: usize,
    a: Strided<'_>,
    b: Strided<'_>,
    out: &mut [f32],
    accumulate: bool,
    parallel: bool,
) {
    assert!(a.data.len() >= a.max_index(m, k), "matmul: lhs too short");
    assert!(b.data.len() >= b.max_index(k, n), "matmul: rhs too short");
    assert!(out.len() >= m * n, "matmul: output too short");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            out[..m * n].fill(0.0);
        }
        return;
    }
    let par = if parallel {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the asserts above bound every index the kernel can touch: lhs (r, c) for r < m,
    // c < k at r*rs + c*cs, rhs likewise, dst (r, c) at r*n + c < m*n. `out` is exclusively
    // borrowed and does not alias the shared inputs.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            1.0f32,
            1.0f32,
            false,
            false,
            false,
            par,
        );
    }
}

/// `out (m x n) = a (m x k) b (k x n)`, all row-major `f64`, on all rayon threads.
///
/// # Panics
/// When a slice is shorter than its stated shape (a programming error).
pub fn matmul_f64(m: usize, n: usize, k: usize, a: &[f64], b: &[f64], out: &mut [f64]) {
    assert!(
        a.len() >= m * k && b.len() >= k * n && out.len() >= m * n,
        "matmul_f64: short operand"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        out[..m * n].fill(0.0);
        return;
    }
    // SAFETY: the assert bounds every index: a (r, c) at r*k + c < m*k, b (r, c) at
    // r*n + c < k*n, out (r, c) at r*n + c < m*n; `out` is exclusively borrowed.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            k as isize,
            b.as_ptr(),
            1,
            n as isize,
            1.0f64,
            1.0f64,
            false,
            false,
            false,
            gemm::Parallelism::Rayon(0),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matmul_all_layouts() {
        // a = [[1,2,3],[4,5,6]] (2x3), b = [[1,0],[0,1],[1,1]] (3x2): a b = [[4,5],[10,11]].
        let a = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [1.0f32, 0.0, 0.0, 1.0, 1.0, 1.0];
        let mut out = vec![0.0f32; 4];
        matmul(
            2,
            2,
            3,
            Strided::rows(&a, 3),
            Strided::rows(&b, 2),
            &mut out,
            false,
            false,
        );
        assert_eq!(out, vec![4.0, 5.0, 10.0, 11.0]);
        // a a^T = [[14, 32], [32, 77]], accumulated onto ones.
        let mut out = vec![1.0f32; 4];
        matmul(
            2,
            2,
            3,
            Strided::rows(&a, 3),
            Strided::transposed(&a, 3),
            &mut out,
            true,
            true,
        );
        assert_eq!(out, vec![15.0, 33.0, 33.0, 78.0]);
        // a^T a (3x3), first row = [17, 22, 27].
        let mut out = vec![0.0f32; 9];
        matmul(
            3,
            3,
            2,
            Strided::transposed(&a, 3),
            Strided::rows(&a, 3),
            &mut out,
            false,
            false,
        );
        assert_eq!(&out[..3], &[17.0, 22.0, 27.0]);
        let a64 = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b64 = [1.0f64, 0.0, 0.0, 1.0, 1.0, 1.0];
        let mut o = vec![0.0f64; 4];
        matmul_f64(2, 2, 3, &a64, &b64, &mut o);
        assert_eq!(o, vec![4.0, 5.0, 10.0, 11.0]);
    }
}
