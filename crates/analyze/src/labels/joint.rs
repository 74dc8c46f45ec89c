//! Confident thresholds, the confident joint and its calibration, computed the way cleanlab
//! 2.x computes them (`cleanlab.count`), down to numpy's summation order and rounding, so that
//! the same probabilities give the same counts.

/// numpy's pairwise summation (`np.add.reduce` on a contiguous 1-D array): blocks of 8192
/// (the ufunc buffer), each summed pairwise with an 8-way unrolled base case of up to 128
/// values, accumulated from zero. Generic over f32 / f64 so float32 means match numpy's.
pub(crate) trait Float: Copy + std::ops::Add<Output = Self> {
    const ZERO: Self;
}
impl Float for f32 {
    const ZERO: f32 = 0.0;
}
impl Float for f64 {
    const ZERO: f64 = 0.0;
}

fn pairwise<T: Float>(a: &[T]) -> T {
    let n = a.len();
    if n < 8 {
        let mut r = T::ZERO;
        for &x in a {
            r = r + x;
        }
        r
    } else if n <= 128 {
        let mut r = [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]];
        let mut i = 8;
        while i < n - (n % 8) {
            for (j, rj) in r.iter_mut().enumerate() {
                *rj = *rj + a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res = res + a[i];
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise(&a[..n2]) + pairwise(&a[n2..])
    }
}

/// `np.sum` of a contiguous 1-D array.
pub(crate) fn np_sum<T: Float>(a: &[T]) -> T {
    let mut r = T::ZERO;
    for block in a.chunks(8192) {
        r = r + pairwise(block);
    }
    r
}

/// cleanlab's `CONFIDENT_THRESHOLDS_LOWER_BOUND` (2 * 1e-6).
const THRESHOLD_LOWER_BOUND: f64 = 2e-6;
/// cleanlab's `FLOATING_POINT_COMPARISON`.
pub(crate) const FLOAT_EPS: f64 = 1e-6;

/// Per-class confident thresholds: the mean predicted probability of class `j` over the
/// samples labelled `j` (float32, as numpy), 2 for a class nobody carries (so nothing is
/// confidently that class), clipped below at 2e-6 (`cleanlab.count.get_confident_thresholds`).
pub fn confident_thresholds(pred_probs: &[f32], labels: &[u32], classes: usize) -> Vec<f32> {
    let mut column: Vec<f32> = Vec::with_capacity(labels.len());
    (0..classes)
        .map(|j| {
            column.clear();
            column.extend(
                labels
                    .iter()
                    .enumerate()
                    .filter(|&(_, &l)| l as usize == j)
                    .map(|(i, _)| pred_probs[i * classes + j]),
            );
            if column.is_empty() {
                2.0
            } else {
                let mean = np_sum(&column) / column.len() as f32;
                mean.max(THRESHOLD_LOWER_BOUND as f32)
            }
        })
        .collect()
}

/// First index of the largest value (numpy `argmax`).
pub(crate) fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (j, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = j;
        }
    }
    best
}

/// The confident joint `C[given][true]`: each sample whose probability reaches its class
/// threshold (less 1e-6) for at least one class is counted under its given label and that
/// class (the argmax when several classes qualify). Diagonal entries are raised to at least 1
/// (`cleanlab.count.compute_confident_joint`, before calibration). Row-major `k x k`.
pub fn raw_confident_joint(
    pred_probs: &[f32],
    labels: &[u32],
    classes: usize,
    thresholds: &[f32],
) -> Vec<u64> {
    let k = classes;
    let cut: Vec<f32> = thresholds.iter().map(|&t| t - FLOAT_EPS as f32).collect();
    let mut cj = vec![0u64; k * k];
    for (i, &given) in labels.iter().enumerate() {
        let row = &pred_probs[i * k..(i + 1) * k];
        let mut confident = 0usize;
        let mut first = 0usize;
        for (j, (&p, &c)) in row.iter().zip(&cut).enumerate() {
            if p >= c {
                if confident == 0 {
                    first = j;
                }
                confident += 1;
            }
        }
        if confident == 0 {
            continue;
        }
        let guess = if confident > 1 { argmax(row) } else { first };
        cj[given as usize * k + guess] += 1;
    }
    for j in 0..k {
        cj[j * k + j] = cj[j * k + j].max(1);
    }
    cj
}

/// Number of samples carrying each label.
pub fn label_counts(labels: &[u32], classes: usize) -> Vec<u64> {
    let mut counts = vec![0u64; classes];
    for &l in labels {
        counts[l as usize] += 1;
    }
    counts
}

/// Scales each row of the confident joint to its label count, then the whole matrix to the
/// sample count, and rounds each row preserving its total
/// (`cleanlab.count.calibrate_confident_joint`). Entries are `i64` as numpy's are.
pub fn calibrate(cj: &[u64], counts: &[u64]) -> Vec<i64> {
    let k = counts.len();
    let mut cal = vec![0.0f64; k * k];
    for i in 0..k {
        let row_sum = (cj[i * k..(i + 1) * k].iter().sum::<u64>() as f64).max(1e-100);
        for j in 0..k {
            cal[i * k + j] = cj[i * k + j] as f64 / row_sum * counts[i] as f64;
        }
    }
    let total = np_sum(&cal).max(1e-100);
    let n = counts.iter().sum::<u64>() as f64;
    for v in &mut cal {
        *v = *v / total * n;
    }
    let mut out = Vec::with_capacity(k * k);
    for row in cal.chunks(k) {
        out.extend(round_preserving_sum(row));
    }
    out
}

/// Rounds values to integers whose sum is the rounded sum of the values, moving the largest
/// (or smallest) remainders first (`cleanlab.internal.util.round_preserving_sum`; numpy rounds
/// half to even).
pub(crate) fn round_preserving_sum(floats: &[f64]) -> Vec<i64> {
    let mut ints: Vec<f64> = floats.iter().map(|v| v.round_ties_even()).collect();
    let orig_sum = np_sum(floats).round_ties_even();
    let mut int_sum = np_sum(&ints).round_ties_even();
    while (int_sum - orig_sum).abs() > FLOAT_EPS {
        let diff = (orig_sum - int_sum).round_ties_even();
        let increment = if diff < 0.0 { -1.0 } else { 1.0 };
        let changes = (diff.abs() as usize).min(floats.len());
        let rem: Vec<f64> = floats.iter().zip(&ints).map(|(f, i)| f - i).collect();
        let mut order: Vec<usize> = (0..floats.len()).collect();
        order.sort_by(|&a, &b| rem[a].total_cmp(&rem[b]));
        if increment > 0.0 {
            order.reverse();
        }
        for &i in order.iter().take(changes) {
            ints[i] += increment;
        }
        int_sum = np_sum(&ints).round_ties_even();
    }
    ints.iter().map(|&v| v as i64).collect()
}

/// How many samples to prune for each (given, true) pair, `k x k` by given label: the
/// calibrated joint with each given class keeping at least `min_per_class` on its diagonal,
/// the increase taken evenly from that row's non-zero off-diagonal entries, then truncated
/// (`cleanlab.filter._keep_at_least_n_per_class` with `frac_noise = 1`, untransposed).
pub fn prune_counts(calibrated: &[i64], classes: usize, min_per_class: usize) -> Vec<i64> {
    let k = classes;
    let mut out = vec![0i64; k * k];
    for g in 0..k {
        let row = &calibrated[g * k..(g + 1) * k];
        let diag = row[g];
        let new_diag = diag.max(min_per_class as i64);
        let diff = (new_diag - diag) as f64;
        let nonzero = row.iter().filter(|&&v| v != 0).count() as f64;
        let spread = (nonzero - 1.0).max(1.0);
        for t in 0..k {
            out[g * k + t] = if t == g {
                new_diag
            } else {
                let v = row[t] as f64 - diff / spread;
                // Negative entries become 0; `astype(int)` truncates toward zero.
                if v < 0.0 {
                    0
                } else {
                    v.trunc() as i64
                }
            };
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_preserving_sum_matches_numpy_examples() {
        // Pinned from cleanlab 2.9.0 / numpy 2.4:
        // round_preserving_sum([1.4, 1.4, 1.2]) -> [1, 2, 1]; ([0.5, 2.5]) -> [0, 3]
        // (half to even, then the largest remainder, ties to the later index).
        assert_eq!(round_preserving_sum(&[1.4, 1.4, 1.2]), vec![1, 2, 1]);
        assert_eq!(round_preserving_sum(&[0.5, 2.5]), vec![0, 3]);
    }

    #[test]
    fn pairwise_sum_differs_from_naive_like_numpy() {
        // np.add.reduce(np.float32([0.1] * 1000)) == 100.000015 (pairwise); a naive float32
        // running sum gives 99.99905.
        let a = vec![0.1f32; 1000];
        assert_eq!(np_sum(&a), 100.000015f32);
        let naive: f32 = a.iter().sum();
        assert_ne!(naive, np_sum(&a));
    }
}
