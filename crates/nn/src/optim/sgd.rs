//! SGD as Keras computes it: without momentum `p -= lr·g`; with momentum
//! `m = momentum·m - lr·g`, then `p += m` (or, Nesterov, `p += momentum·m - lr·g`).

use serde::{Deserialize, Serialize};

use crate::kernels::simd::multiversion;

/// SGD settings; `Default` is lr 0.01 with momentum 0.9 (Keras' default momentum is 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sgd {
    pub learning_rate: f32,
    pub momentum: f32,
    pub nesterov: bool,
}

impl Default for Sgd {
    fn default() -> Self {
        Sgd {
            learning_rate: 1e-2,
            momentum: 0.9,
            nesterov: false,
        }
    }
}

impl Sgd {
    /// Updates one chunk; `m` is the momentum slot (when momentum > 0).
    pub fn update(&self, p: &mut [f32], g: &[f32], m: Option<&mut [f32]>) {
        match m {
            None => plain(self.learning_rate, p, g),
            Some(m) => with_momentum(self.learning_rate, self.momentum, self.nesterov, p, g, m),
        }
    }
}

multiversion! {
    fn plain(lr: f32, p: &mut [f32], g: &[f32]) {
        for (p, &g) in p.iter_mut().zip(g) {
            *p -= lr * g;
        }
    }
}

multiversion! {
    fn with_momentum(lr: f32, momentum: f32, nesterov: bool, p: &mut [f32], g: &[f32], m: &mut [f32]) {
        for ((p, &g), m) in p.iter_mut().zip(g).zip(m) {
            *m = momentum * *m - lr * g;
            *p += if nesterov { momentum * *m - lr * g } else { *m };
        }
    }
}
