//! ImageNet-1k class names and WordNet ids, softmax, and Keras-style `decode_predictions`.
//!
//! The lists are embedded in the binary: class `i` is line `i` of `data/imagenet_classes.txt`
//! (torchvision's names, standard ILSVRC-2012 order; 134 is "crane bird" and 639 "maillot tank
//! suit", torchvision's renames of the two duplicated names) and of `data/imagenet_wnids.txt`
//! (`n01440764` = tench, ...).
//!
//! ```
//! let logits = vec![0.0f32; 1000];
//! let top = dlscope_vision::labels::decode_predictions(&logits, 3);
//! assert_eq!(top.len(), 3);
//! assert_eq!(top[0].rank, 1);
//! ```

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

const CLASSES_TXT: &str = include_str!("../data/imagenet_classes.txt");
const WNIDS_TXT: &str = include_str!("../data/imagenet_wnids.txt");

/// Number of ImageNet-1k classes.
pub const IMAGENET_CLASSES: usize = 1000;

struct Lists {
    names: Vec<&'static str>,
    wnids: Vec<&'static str>,
}

fn lists() -> &'static Lists {
    static LISTS: OnceLock<Lists> = OnceLock::new();
    LISTS.get_or_init(|| Lists {
        names: CLASSES_TXT.lines().filter(|l| !l.is_empty()).collect(),
        wnids: WNIDS_TXT.lines().filter(|l| !l.is_empty()).collect(),
    })
}

/// The 1000 ImageNet class names, index = class.
pub fn class_names() -> &'static [&'static str] {
    &lists().names
}

/// The 1000 WordNet ids, index = class.
pub fn wnids() -> &'static [&'static str] {
    &lists().wnids
}

/// One line of a top-k answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// 1 for the most probable class.
    pub rank: usize,
    /// Class index (0-based, ILSVRC-2012 order).
    pub index: usize,
    /// WordNet id, when the model's classes are ImageNet-1k.
    pub wnid: Option<String>,
    /// Class name.
    pub label: String,
    /// Softmax probability.
    pub probability: f32,
}

impl std::fmt::Display for Prediction {
    /// Keras' line: `1. tabby: 62.31%`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}. {}: {:.2}%",
            self.rank,
            self.label,
            self.probability * 100.0
        )
    }
}

/// Softmax of one row of logits, computed in f64 (max subtracted first) and rounded to f32.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let exps: Vec<f64> = logits.iter().map(|&v| (v as f64 - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|&e| (e / sum) as f32).collect()
}

/// Indices of the `k` largest values, largest first (ties: lower index first). NaN sorts last.
pub fn top_k(values: &[f32], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..values.len()).collect();
    let key = |i: usize| {
        if values[i].is_nan() {
            f32::NEG_INFINITY
        } else {
            values[i]
        }
    };
    idx.sort_by(|&a, &b| key(b).total_cmp(&key(a)).then(a.cmp(&b)));
    idx.truncate(k);
    idx
}

/// Keras' `decode_predictions` for one image: softmax over `logits`, then the `k` most probable
/// classes with their ImageNet names and WordNet ids. Rows of another length than 1000 get
/// `class N` names and no WordNet id.
pub fn decode_predictions(logits: &[f32], k: usize) -> Vec<Prediction> {
    let probs = softmax(logits);
    let imagenet = logits.len() == IMAGENET_CLASSES;
    top_k(&probs, k)
        .into_iter()
        .enumerate()
        .map(|(r, i)| Prediction {
            rank: r + 1,
            index: i,
            wnid: imagenet.then(|| wnids()[i].to_string()),
            label: if imagenet {
                class_names()[i].to_string()
            } else {
                format!("class {i}")
            },
            probability: probs[i],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_complete_and_aligned() {
        assert_eq!(class_names().len(), 1000);
        assert_eq!(wnids().len(), 1000);
        assert_eq!(class_names()[0], "tench");
        assert_eq!(wnids()[0], "n01440764");
        assert_eq!(class_names()[281], "tabby");
        assert_eq!(wnids()[281], "n02123045");
        assert_eq!(class_names()[999], "toilet tissue");
        assert!(wnids().iter().all(|w| w.len() == 9 && w.starts_with('n')));
    }

    #[test]
    fn decode_ranks_and_formats_like_keras() {
        let mut logits = vec![0.0f32; 1000];
        logits[281] = 5.0;
        logits[285] = 4.0;
        let top = decode_predictions(&logits, 3);
        assert_eq!((top[0].index, top[1].index, top[2].index), (281, 285, 0));
        assert_eq!(top[0].wnid.as_deref(), Some("n02123045"));
        let e5 = 5f64.exp();
        let p = e5 / (e5 + 4f64.exp() + 998.0);
        assert!((top[0].probability as f64 - p).abs() < 1e-6);
        assert_eq!(top[0].to_string(), format!("1. tabby: {:.2}%", p * 100.0));
    }

    #[test]
    fn top_k_puts_nan_last() {
        assert_eq!(top_k(&[1.0, f32::NAN, 3.0, 2.0], 4), vec![2, 3, 0, 1]);
        assert_eq!(decode_predictions(&[0.0, 1.0], 1)[0].label, "class 1");
    }
}
