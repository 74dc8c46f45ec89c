//! RMSprop as Keras computes it:
//! `v = rho·v + (1 - rho)·g²`, `step = lr·g / sqrt(v + eps)`, then either `p -= step` or, with
//! momentum, `m = momentum·m + step; p -= m`. Velocities start at zero.

use serde::{Deserialize, Serialize};

use crate::kernels::simd::multiversion;

/// RMSprop settings; `Default` is Keras': lr 1e-3, rho 0.9, eps 1e-7, momentum 0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RmsProp {
    pub learning_rate: f32,
    pub rho: f32,
    pub epsilon: f32,
    pub momentum: f32,
}

impl Default for RmsProp {
    fn default() -> Self {
        RmsProp {
            learning_rate: 1e-3,
            rho: 0.9,
            epsilon: 1e-7,
            momentum: 0.0,
        }
    }
}

impl RmsProp {
    /// Updates one chunk: `v` is the velocity slot, `m` the momentum slot (when momentum > 0).
    pub fn update(&self, p: &mut [f32], g: &[f32], v: &mut [f32], m: Option<&mut [f32]>) {
        let (lr, rho, eps) = (self.learning_rate, self.rho, self.epsilon);
        match m {
            None => plain(lr, rho, eps, p, g, v),
            Some(m) => with_momentum(lr, rho, eps, self.momentum, p, g, v, m),
        }
    }
}

multiversion! {
    fn plain(lr: f32, rho: f32, eps: f32, p: &mut [f32], g: &[f32], v: &mut [f32]) {
        for ((p, &g), v) in p.iter_mut().zip(g).zip(v.iter_mut()) {
            *v = rho * *v + (1.0 - rho) * g * g;
            *p -= lr * g / (*v + eps).sqrt();
        }
    }
}

multiversion! {
    #[allow(clippy::too_many_arguments)]
    fn with_momentum(
        lr: f32,
        rho: f32,
        eps: f32,
        momentum: f32,
        p: &mut [f32],
        g: &[f32],
        v: &mut [f32],
        m: &mut [f32],
    ) {
        for (((p, &g), v), m) in p.iter_mut().zip(g).zip(v.iter_mut()).zip(m) {
            *v = rho * *v + (1.0 - rho) * g * g;
            *m = momentum * *m + lr * g / (*v + eps).sqrt();
            *p -= *m;
        }
    }
}
