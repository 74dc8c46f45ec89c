//! Shared fixtures: real Fashion-MNIST loaded once, subsets, tiny synthetic datasets.

use std::sync::OnceLock;

use dlscope_data::{Dense, Shape};
use dlscope_nn::data;

pub struct Fashion {
    pub classes: Vec<String>,
    pub train: Dense,
    pub test: Dense,
}

/// Fashion-MNIST through the data layer (the Debian copy in /usr/share/datasets).
pub fn fashion() -> &'static Fashion {
    static DATA: OnceLock<Fashion> = OnceLock::new();
    DATA.get_or_init(|| {
        let ds = dlscope_data::open("fashion-mnist").expect("Fashion-MNIST is installed");
        let train = data::load_split(ds.split("train").unwrap(), None).unwrap();
        let test = data::load_split(ds.split("test").unwrap(), None).unwrap();
        assert_eq!((train.len(), test.len()), (60_000, 10_000));
        Fashion {
            classes: ds.classes.clone(),
            train,
            test,
        }
    })
}

/// The samples `start..start + n` of `d`.
pub fn subset(d: &Dense, start: usize, n: usize) -> Dense {
    let per = d.shape.len();
    Dense {
        shape: d.shape,
        pixels: d.pixels[start * per..(start + n) * per].to_vec(),
        labels: d.labels[start..start + n].to_vec(),
    }
}

/// Deterministic pseudo-random bytes.
pub fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 24) as u8
        })
        .collect()
}

/// A tiny random dataset of `n` samples of `shape` with `classes` labels.
pub fn tiny(shape: Shape, n: usize, classes: u32, seed: u64) -> Dense {
    Dense {
        shape,
        pixels: noise(n * shape.len(), seed),
        labels: (0..n as u32).map(|i| i % classes).collect(),
    }
}

pub fn names(k: usize) -> Vec<String> {
    (0..k).map(|i| format!("class{i}")).collect()
}
