//! Adam as Keras computes it: `m += (g - m)(1 - b1)`, `v += (g² - v)(1 - b2)`,
//! `p -= lr·sqrt(1 - b2^t)/(1 - b1^t) · m / (sqrt(v) + eps)` with `t` counted from 1.

use serde::{Deserialize, Serialize};

use crate::kernels::simd::multiversion;

/// Adam settings; `Default` is Keras': lr 1e-3, beta_1 0.9, beta_2 0.999, eps 1e-7.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Adam {
    pub learning_rate: f32,
    pub beta_1: f32,
    pub beta_2: f32,
    pub epsilon: f32,
}

impl Default for Adam {
    fn default() -> Self {
        Adam {
            learning_rate: 1e-3,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
        }
    }
}

impl Adam {
    /// The bias-corrected step size of update number `t` (1-based).
    pub fn alpha(&self, t: u64) -> f32 {
        let t = t as i32;
        let b1 = 1.0 - (self.beta_1 as f64).powi(t);
        let b2 = 1.0 - (self.beta_2 as f64).powi(t);
        (self.learning_rate as f64 * b2.sqrt() / b1) as f32
    }

    /// Updates one chunk with step size `alpha` (see [`Adam::alpha`]).
    pub fn update(&self, alpha: f32, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
        let (c1, c2) = (1.0 - self.beta_1, 1.0 - self.beta_2);
        step(alpha, c1, c2, self.epsilon, p, g, m, v);
    }
}

multiversion! {
    #[allow(clippy::too_many_arguments)]
    fn step(
        alpha: f32,
        c1: f32,
        c2: f32,
        eps: f32,
        p: &mut [f32],
        g: &[f32],
        m: &mut [f32],
        v: &mut [f32],
    ) {
        for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m).zip(v) {
            *m += (g - *m) * c1;
            *v += (g * g - *v) * c2;
            *p -= alpha * *m / (v.sqrt() + eps);
        }
    }
}
