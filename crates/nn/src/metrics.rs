//! Classification results: loss, accuracy, confusion matrix and per-class precision, recall, F1.

use serde::{Deserialize, Serialize};

/// Precision, recall and F1 of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassReport {
    pub class: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Samples whose true label is this class.
    pub support: u64,
}

/// How a model did on a labelled split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub samples: usize,
    /// Mean categorical cross-entropy.
    pub loss: f64,
    pub accuracy: f64,
    /// `confusion[true][predicted]` counts.
    pub confusion: Vec<Vec<u64>>,
    pub per_class: Vec<ClassReport>,
    /// Unweighted mean of the per-class F1 scores.
    pub macro_f1: f64,
}

impl Evaluation {
    /// Builds the report from true labels, predicted labels and the summed loss.
    pub fn new(classes: &[String], labels: &[u32], predicted: &[u32], loss_sum: f64) -> Self {
        let k = classes.len();
        let mut confusion = vec![vec![0u64; k]; k];
        for (&t, &p) in labels.iter().zip(predicted) {
            if (t as usize) < k && (p as usize) < k {
                confusion[t as usize][p as usize] += 1;
            }
        }
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let per_class: Vec<ClassReport> = (0..k)
            .map(|c| {
                let tp = confusion[c][c];
                let support: u64 = confusion[c].iter().sum();
                let predicted: u64 = confusion.iter().map(|row| row[c]).sum();
                let precision = ratio(tp, predicted);
                let recall = ratio(tp, support);
                let f1 = if precision + recall == 0.0 {
                    0.0
                } else {
                    2.0 * precision * recall / (precision + recall)
                };
                ClassReport {
                    class: classes[c].clone(),
                    precision,
                    recall,
                    f1,
                    support,
                }
            })
            .collect();
        let n = labels.len();
        let correct: u64 = (0..k).map(|c| confusion[c][c]).sum();
        Evaluation {
            samples: n,
            loss: if n == 0 { 0.0 } else { loss_sum / n as f64 },
            accuracy: ratio(correct, n as u64),
            macro_f1: if k == 0 {
                0.0
            } else {
                per_class.iter().map(|c| c.f1).sum::<f64>() / k as f64
            },
            confusion,
            per_class,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_recall_and_confusion_follow_the_definitions() {
        let classes: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let labels = [0, 0, 0, 1, 1, 2];
        let predicted = [0, 0, 1, 1, 2, 2];
        let e = Evaluation::new(&classes, &labels, &predicted, 3.0);
        assert_eq!(
            e.confusion,
            vec![vec![2, 1, 0], vec![0, 1, 1], vec![0, 0, 1]]
        );
        assert!((e.accuracy - 4.0 / 6.0).abs() < 1e-12);
        assert!((e.loss - 0.5).abs() < 1e-12);
        let a = &e.per_class[0];
        assert_eq!((a.precision, a.support), (1.0, 3));
        assert!((a.recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((a.f1 - 0.8).abs() < 1e-12);
        let b = &e.per_class[1];
        assert_eq!((b.precision, b.recall, b.f1), (0.5, 0.5, 0.5));
        let c = &e.per_class[2];
        assert_eq!((c.precision, c.recall), (0.5, 1.0));
    }
}
