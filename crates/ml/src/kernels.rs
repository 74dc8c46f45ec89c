//! Squared Euclidean distance kernels, vectorised and dispatched at run time (AVX2 + FMA when
//! the CPU has them, baseline SSE2 otherwise), so portable builds stay fast without `target-cpu=native`.
//!
//! Distances are computed from differences, `sum((x - c)^2)`, not from the expanded
//! `|x|^2 - 2 x.c + |c|^2`: no cancellation, so bounds and ties behave like exact arithmetic
//! to `f32` rounding.

const LANES: usize = 16;

/// Squared distances from `x` to each of the `out.len()` rows of `rows` (row-major, each
/// `x.len()` long): `out[j] = |x - rows[j]|^2`.
#[inline]
pub fn sq_dists(x: &[f32], rows: &[f32], out: &mut [f32]) {
    debug_assert_eq!(rows.len(), x.len() * out.len());
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU supports AVX2 and FMA, checked just above.
            unsafe { sq_dists_avx2(x, rows, out) };
            return;
        }
    }
    sq_dists_body::<false>(x, rows, out);
}

/// Squared distance between two vectors of equal length.
#[inline]
pub fn sq_dist(a: &[f32], b: &[f32]) -> f32 {
    let mut out = [0.0f32];
    sq_dists(a, b, &mut out);
    out[0]
}

/// `|v|^2`.
#[inline]
pub fn norm_sq(v: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU supports AVX2 and FMA, checked just above.
            return unsafe { norm_sq_avx2(v) };
        }
    }
    norm_sq_body::<false>(v)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn norm_sq_avx2(v: &[f32]) -> f32 {
    norm_sq_body::<true>(v)
}

#[inline(always)]
fn norm_sq_body<const FMA: bool>(v: &[f32]) -> f32 {
    let main = v.len() - v.len() % LANES;
    let mut a = [0f32; LANES];
    for c in v[..main].chunks_exact(LANES) {
        for l in 0..LANES {
            a[l] = acc::<FMA>(a[l], c[l]);
        }
    }
    hsum(&a) + v[main..].iter().map(|x| x * x).sum::<f32>()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn sq_dists_avx2(x: &[f32], rows: &[f32], out: &mut [f32]) {
    sq_dists_body::<true>(x, rows, out);
}

/// `a + e * e`, fused when the caller was compiled with FMA (`FMA = true`).
#[inline(always)]
fn acc<const FMA: bool>(a: f32, e: f32) -> f32 {
    if FMA {
        e.mul_add(e, a)
    } else {
        a + e * e
    }
}

#[inline(always)]
fn sq_dists_body<const FMA: bool>(x: &[f32], rows: &[f32], out: &mut [f32]) {
    let d = x.len();
    let k = out.len();
    if d == 0 {
        out.fill(0.0);
        return;
    }
    let main = d - d % LANES;
    let (xm, xt) = x.split_at(main);
    let mut j = 0;
    while j + 4 <= k {
        let c = &rows[j * d..(j + 4) * d];
        let (c0, c) = c.split_at(d);
        let (c1, c) = c.split_at(d);
        let (c2, c3) = c.split_at(d);
        let (mut a0, mut a1, mut a2, mut a3) =
            ([0f32; LANES], [0f32; LANES], [0f32; LANES], [0f32; LANES]);
        for ((((xc, p0), p1), p2), p3) in xm
            .chunks_exact(LANES)
            .zip(c0.chunks_exact(LANES))
            .zip(c1.chunks_exact(LANES))
            .zip(c2.chunks_exact(LANES))
            .zip(c3.chunks_exact(LANES))
        {
            for l in 0..LANES {
                let v = xc[l];
                let e0 = v - p0[l];
                let e1 = v - p1[l];
                let e2 = v - p2[l];
                let e3 = v - p3[l];
                a0[l] = acc::<FMA>(a0[l], e0);
                a1[l] = acc::<FMA>(a1[l], e1);
                a2[l] = acc::<FMA>(a2[l], e2);
                a3[l] = acc::<FMA>(a3[l], e3);
            }
        }
        let tail = |c: &[f32]| -> f32 {
            xt.iter()
                .zip(&c[main..])
                .map(|(a, b)| (a - b) * (a - b))
                .sum()
        };
        out[j] = hsum(&a0) + tail(c0);
        out[j + 1] = hsum(&a1) + tail(c1);
        out[j + 2] = hsum(&a2) + tail(c2);
        out[j + 3] = hsum(&a3) + tail(c3);
        j += 4;
    }
    while j < k {
        let c = &rows[j * d..(j + 1) * d];
        let mut a = [0f32; LANES];
        for (xc, p) in xm.chunks_exact(LANES).zip(c.chunks_exact(LANES)) {
            for l in 0..LANES {
                a[l] = acc::<FMA>(a[l], xc[l] - p[l]);
            }
        }
        let t: f32 = xt
            .iter()
            .zip(&c[main..])
            .map(|(a, b)| (a - b) * (a - b))
            .sum();
        out[j] = hsum(&a) + t;
        j += 1;
    }
}

#[inline(always)]
fn hsum(a: &[f32; LANES]) -> f32 {
    let mut h = [0f32; 8];
    for l in 0..8 {
        h[l] = a[l] + a[l + 8];
    }
    ((h[0] + h[4]) + (h[1] + h[5])) + ((h[2] + h[6]) + (h[3] + h[7]))
}

/// Runs `$body` compiled for AVX2 + FMA when the CPU has them, else for the baseline.
macro_rules! dispatch {
    ($name:ident, $avx:ident, fn($($arg:ident: $ty:ty),*) -> $ret:ty, $body:ident) => {
        #[inline]
        pub fn $name($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the CPU supports AVX2 and FMA, checked just above.
                    return unsafe { $avx($($arg),*) };
                }
            }
            $body::<false>($($arg),*)
        }
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn $avx($($arg: $ty),*) -> $ret {
            $body::<true>($($arg),*)
        }
    };
}

#[inline(always)]
fn fmadd64<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

dispatch!(
    dot_f64,
    dot_f64_avx2,
    fn(a: &[f64], b: &[f64]) -> f64,
    dot_f64_body
);

/// `sum a[i] b[i]` over the shorter length, with 16 independent partial sums.
#[inline(always)]
fn dot_f64_body<const FMA: bool>(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let main = n - n % 16;
    let mut acc = [0f64; 16];
    for (x, y) in a[..main].chunks_exact(16).zip(b[..main].chunks_exact(16)) {
        for l in 0..16 {
            acc[l] = fmadd64::<FMA>(x[l], y[l], acc[l]);
        }
    }
    let mut h = [0f64; 4];
    for l in 0..4 {
        h[l] = (acc[l] + acc[l + 4]) + (acc[l + 8] + acc[l + 12]);
    }
    let tail: f64 = a[main..n].iter().zip(&b[main..n]).map(|(x, y)| x * y).sum();
    (h[0] + h[1]) + (h[2] + h[3]) + tail
}

dispatch!(
    axpy_f64,
    axpy_f64_avx2,
    fn(alpha: f64, x: &[f64], y: &mut [f64]) -> (),
    axpy_f64_body
);

/// `y += alpha x` over the shorter length.
#[inline(always)]
fn axpy_f64_body<const FMA: bool>(alpha: f64, x: &[f64], y: &mut [f64]) {
    for (yv, &xv) in y.iter_mut().zip(x) {
        *yv = fmadd64::<FMA>(alpha, xv, *yv);
    }
}

dispatch!(
    rank2_f64,
    rank2_f64_avx2,
    fn(row: &mut [f64], a: f64, w: &[f64], b: &[f64], v: f64) -> (),
    rank2_f64_body
);

/// `row -= a w + v b` elementwise (the symmetric rank-2 update of one row).
#[inline(always)]
fn rank2_f64_body<const FMA: bool>(row: &mut [f64], a: f64, w: &[f64], b: &[f64], v: f64) {
    for ((x, &wc), &bc) in row.iter_mut().zip(w).zip(b) {
        *x = fmadd64::<FMA>(-a, wc, fmadd64::<FMA>(-v, bc, *x));
    }
}

/// Index and value of the smallest element (first one on ties); `(0, inf)` when empty.
#[inline]
pub fn argmin(v: &[f32]) -> (usize, f32) {
    let mut best = (0, f32::INFINITY);
    for (j, &x) in v.iter().enumerate() {
        if x < best.1 {
            best = (j, x);
        }
    }
    best
}

/// Smallest and second-smallest values with the index of the smallest.
#[inline]
pub fn two_smallest(v: &[f32]) -> (usize, f32, f32) {
    let (mut bj, mut b1, mut b2) = (0, f32::INFINITY, f32::INFINITY);
    for (j, &x) in v.iter().enumerate() {
        if x < b1 {
            b2 = b1;
            b1 = x;
            bj = j;
        } else if x < b2 {
            b2 = x;
        }
    }
    (bj, b1, b2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(x: &[f32], c: &[f32]) -> f32 {
        x.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum()
    }

    #[test]
    fn matches_naive_for_all_tails() {
        for d in [1usize, 3, 15, 16, 17, 33, 50, 784] {
            for k in [1usize, 3, 4, 5, 9] {
                let x: Vec<f32> = (0..d).map(|i| (i as f32 * 0.37).sin()).collect();
                let c: Vec<f32> = (0..d * k).map(|i| (i as f32 * 0.11).cos()).collect();
                let mut out = vec![0.0; k];
                sq_dists(&x, &c, &mut out);
                for j in 0..k {
                    let want = naive(&x, &c[j * d..(j + 1) * d]);
                    assert!(
                        (out[j] - want).abs() <= 1e-4 * want.max(1.0),
                        "d={d} k={k} j={j}: {} vs {want}",
                        out[j]
                    );
                }
            }
        }
    }

    #[test]
    fn norm_matches_naive() {
        for d in [0usize, 5, 16, 100] {
            let v: Vec<f32> = (0..d).map(|i| i as f32 * 0.5).collect();
            let want: f32 = v.iter().map(|x| x * x).sum();
            assert!((norm_sq(&v) - want).abs() <= 1e-4 * want.max(1.0));
        }
    }

    #[test]
    fn f64_helpers() {
        let a: Vec<f64> = (0..37).map(|i| i as f64 * 0.5).collect();
        let b: Vec<f64> = (0..37).map(|i| 1.0 - i as f64 * 0.25).collect();
        let want: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot_f64(&a, &b) - want).abs() < 1e-9);
        let mut y = b.clone();
        axpy_f64(2.0, &a, &mut y);
        assert_eq!(y[3], b[3] + 2.0 * a[3]);
        let mut r = vec![1.0; 37];
        rank2_f64(&mut r, 2.0, &a, &b, 3.0);
        assert_eq!(r[5], 1.0 - 2.0 * a[5] - 3.0 * b[5]);
    }

    #[test]
    fn smallest_values() {
        assert_eq!(argmin(&[3.0, 1.0, 1.0, 2.0]), (1, 1.0));
        assert_eq!(two_smallest(&[3.0, 1.0, 2.0, 5.0]), (1, 1.0, 2.0));
        assert_eq!(two_smallest(&[1.0, 1.0]), (0, 1.0, 1.0));
    }
}
