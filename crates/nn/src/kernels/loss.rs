//! Softmax + categorical cross-entropy on integer labels (one-hot targets), fused: the gradient
//! with respect to the logits is `(softmax - onehot) / batch`, as Keras computes it for a softmax
//! output layer.

/// Loss and accuracy counts of one batch.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BatchStats {
    /// Sum over samples of `-log p(label)`.
    pub loss_sum: f64,
    /// Samples whose highest-scoring class is their label.
    pub correct: usize,
}

/// Turns each row of `logits` into probabilities in place (numerically stable softmax).
pub fn softmax_rows(logits: &mut [f32], classes: usize) {
    for row in logits.chunks_exact_mut(classes) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0f32;
        for v in row.iter_mut() {
            *v = (*v - max).exp();
            sum += *v;
        }
        let inv = 1.0 / sum;
        for v in row.iter_mut() {
            *v *= inv;
        }
    }
}

/// Index of the largest value (first on ties).
pub fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

/// Loss of one row of logits against `label`: `logsumexp(z) - z[label]`, computed stably.
/// Also turns the row into its softmax.
fn row_loss(row: &mut [f32], label: usize) -> f64 {
    let z_label = row[label] as f64;
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f64;
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        sum += *v as f64;
    }
    let inv = (1.0 / sum) as f32;
    for v in row.iter_mut() {
        *v *= inv;
    }
    max as f64 + sum.ln() - z_label
}

/// Loss and accuracy of `logits` against `labels`, without gradient (evaluation).
/// `logits` is overwritten with the probabilities.
pub fn evaluate(logits: &mut [f32], labels: &[u32], classes: usize) -> BatchStats {
    let mut stats = BatchStats::default();
    for (row, &label) in logits.chunks_exact_mut(classes).zip(labels) {
        let pred = argmax(row);
        stats.correct += usize::from(pred == label as usize);
        stats.loss_sum += row_loss(row, label as usize);
    }
    stats
}

/// Loss, accuracy and the gradient `(softmax - onehot) / batch` written into `grad`.
/// The mean loss over the batch is the objective the gradient belongs to.
pub fn forward_backward(
    logits: &[f32],
    labels: &[u32],
    classes: usize,
    grad: &mut [f32],
) -> BatchStats {
    let batch = labels.len();
    let scale = 1.0 / batch as f32;
    let mut stats = BatchStats::default();
    for ((row, g), &label) in logits
        .chunks_exact(classes)
        .zip(grad.chunks_exact_mut(classes))
        .zip(labels)
    {
        stats.correct += usize::from(argmax(row) == label as usize);
        g.copy_from_slice(row);
        stats.loss_sum += row_loss(g, label as usize);
        for v in g.iter_mut() {
            *v *= scale;
        }
        g[label as usize] -= scale;
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_and_gradient_match_the_definition() {
        let logits = [1.0f32, 2.0, 0.5, -1.0, 0.0, 3.0];
        let labels = [1u32, 0];
        let mut grad = [0.0; 6];
        let stats = forward_backward(&logits, &labels, 3, &mut grad);
        let p = |r: &[f32]| {
            let s: f32 = r.iter().map(|v| v.exp()).sum();
            r.iter().map(|v| v.exp() / s).collect::<Vec<_>>()
        };
        let (p0, p1) = (p(&logits[..3]), p(&logits[3..]));
        let want = -(p0[1].ln() as f64) - (p1[0].ln() as f64);
        assert!((stats.loss_sum - want).abs() < 1e-5);
        assert_eq!(stats.correct, 1);
        let want_grad = [
            p0[0] / 2.0,
            (p0[1] - 1.0) / 2.0,
            p0[2] / 2.0,
            (p1[0] - 1.0) / 2.0,
            p1[1] / 2.0,
            p1[2] / 2.0,
        ];
        for (g, w) in grad.iter().zip(&want_grad) {
            assert!((g - w).abs() < 1e-6);
        }
        // Huge logits stay finite.
        let mut big = [1000.0f32, -1000.0, 0.0];
        let s = evaluate(&mut big, &[1], 3);
        assert!((s.loss_sum - 2000.0).abs() < 1e-3);
    }
}
