//! Optimizers with Keras semantics, updating all parameters of a model in one fused, parallel
//! pass over the flat parameter, gradient and state buffers.

pub mod adam;
pub mod rmsprop;
pub mod sgd;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use adam::Adam;
pub use rmsprop::RmsProp;
pub use sgd::Sgd;

use crate::error::{NnError, Result};

/// Which optimizer, with its settings (stored in the run's config).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "lowercase")]
pub enum OptimizerConfig {
    Rmsprop(RmsProp),
    Adam(Adam),
    Sgd(Sgd),
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        OptimizerConfig::Rmsprop(RmsProp::default())
    }
}

impl OptimizerConfig {
    /// `rmsprop`, `adam` or `sgd` with Keras' defaults.
    pub fn by_name(name: &str) -> Option<Self> {
        Some(match name {
            "rmsprop" => OptimizerConfig::Rmsprop(RmsProp::default()),
            "adam" => OptimizerConfig::Adam(Adam::default()),
            "sgd" => OptimizerConfig::Sgd(Sgd::default()),
            _ => return None,
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            OptimizerConfig::Rmsprop(_) => "rmsprop",
            OptimizerConfig::Adam(_) => "adam",
            OptimizerConfig::Sgd(_) => "sgd",
        }
    }

    pub fn learning_rate(&self) -> f32 {
        match self {
            OptimizerConfig::Rmsprop(o) => o.learning_rate,
            OptimizerConfig::Adam(o) => o.learning_rate,
            OptimizerConfig::Sgd(o) => o.learning_rate,
        }
    }

    /// The same optimizer with another learning rate.
    pub fn with_learning_rate(mut self, lr: f32) -> Self {
        match &mut self {
            OptimizerConfig::Rmsprop(o) => o.learning_rate = lr,
            OptimizerConfig::Adam(o) => o.learning_rate = lr,
            OptimizerConfig::Sgd(o) => o.learning_rate = lr,
        }
        self
    }

    /// The same optimizer with another momentum (RMSprop and SGD; Adam has none).
    pub fn with_momentum(mut self, momentum: f32) -> Self {
        match &mut self {
            OptimizerConfig::Rmsprop(o) => o.momentum = momentum,
            OptimizerConfig::Sgd(o) => o.momentum = momentum,
            OptimizerConfig::Adam(_) => {}
        }
        self
    }

    /// Rejects settings that cannot train: non-positive learning rates, decay rates outside
    /// `[0, 1)`, negative epsilon.
    pub fn validate(&self) -> Result<()> {
        let lr = self.learning_rate();
        if !(lr.is_finite() && lr > 0.0) {
            return Err(NnError::setting(
                "learning_rate",
                lr,
                "must be a positive number",
            ));
        }
        let unit = |name, v: f32| {
            if (0.0..1.0).contains(&v) {
                Ok(())
            } else {
                Err(NnError::setting(name, v, "must be in [0, 1)"))
            }
        };
        let eps = |v: f32| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(NnError::setting("epsilon", v, "must be >= 0"))
            }
        };
        match self {
            OptimizerConfig::Rmsprop(o) => {
                unit("rho", o.rho)?;
                unit("momentum", o.momentum)?;
                eps(o.epsilon)
            }
            OptimizerConfig::Adam(o) => {
                unit("beta_1", o.beta_1)?;
                unit("beta_2", o.beta_2)?;
                eps(o.epsilon)
            }
            OptimizerConfig::Sgd(o) => unit("momentum", o.momentum),
        }
    }

    /// Names of the state buffers this optimizer keeps, each as long as the parameters.
    pub fn slot_names(&self) -> &'static [&'static str] {
        match self {
            OptimizerConfig::Rmsprop(o) if o.momentum > 0.0 => &["velocity", "momentum"],
            OptimizerConfig::Rmsprop(_) => &["velocity"],
            OptimizerConfig::Adam(_) => &["m", "v"],
            OptimizerConfig::Sgd(o) if o.momentum > 0.0 => &["momentum"],
            OptimizerConfig::Sgd(_) => &[],
        }
    }
}

/// An optimizer and its state over a flat parameter buffer.
#[derive(Debug, Clone, PartialEq)]
pub struct Optimizer {
    config: OptimizerConfig,
    /// Updates applied so far.
    iterations: u64,
    /// One buffer per [`OptimizerConfig::slot_names`] entry.
    slots: Vec<Vec<f32>>,
}

/// Values per parallel task of an update.
const CHUNK: usize = 1 << 14;

impl Optimizer {
    /// A fresh optimizer (zero state) for `len` parameters.
    pub fn new(config: OptimizerConfig, len: usize) -> Self {
        Optimizer {
            config,
            iterations: 0,
            slots: config.slot_names().iter().map(|_| vec![0.0; len]).collect(),
        }
    }

    /// Restores saved state; `slots` must match [`OptimizerConfig::slot_names`] in order.
    pub fn from_state(config: OptimizerConfig, iterations: u64, slots: Vec<Vec<f32>>) -> Self {
        Optimizer {
            config,
            iterations,
            slots,
        }
    }

    pub fn config(&self) -> &OptimizerConfig {
        &self.config
    }

    pub fn iterations(&self) -> u64 {
        self.iterations
    }

    /// State buffers, named as [`OptimizerConfig::slot_names`].
    pub fn slots(&self) -> impl Iterator<Item = (&'static str, &[f32])> {
        self.config
            .slot_names()
            .iter()
            .copied()
            .zip(self.slots.iter().map(Vec::as_slice))
    }

    /// Applies one update to `params` from `grads`, in parallel chunks.
    pub fn step(&mut self, params: &mut [f32], grads: &[f32]) {
        self.iterations += 1;
        let ps = params.par_chunks_mut(CHUNK).zip(grads.par_chunks(CHUNK));
        match (&self.config, self.slots.as_mut_slice()) {
            (OptimizerConfig::Rmsprop(o), [v]) => ps
                .zip(v.par_chunks_mut(CHUNK))
                .for_each(|((p, g), v)| o.update(p, g, v, None)),
            (OptimizerConfig::Rmsprop(o), [v, m]) => ps
                .zip(v.par_chunks_mut(CHUNK))
                .zip(m.par_chunks_mut(CHUNK))
                .for_each(|(((p, g), v), m)| o.update(p, g, v, Some(m))),
            (OptimizerConfig::Adam(o), [m, v]) => {
                let alpha = o.alpha(self.iterations);
                ps.zip(m.par_chunks_mut(CHUNK))
                    .zip(v.par_chunks_mut(CHUNK))
                    .for_each(|(((p, g), m), v)| o.update(alpha, p, g, m, v))
            }
            (OptimizerConfig::Sgd(o), []) => ps.for_each(|(p, g)| o.update(p, g, None)),
            (OptimizerConfig::Sgd(o), [m]) => ps
                .zip(m.par_chunks_mut(CHUNK))
                .for_each(|((p, g), m)| o.update(p, g, Some(m))),
            _ => unreachable!("slots are built from slot_names"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two steps of each optimizer on a 3-value tensor against values computed by hand (with
    /// the formulas of Keras' `update_step`, in f64).
    #[test]
    fn rmsprop_matches_hand_computed_updates() {
        let mut p = vec![1.0f32, -2.0, 0.5];
        let g1 = [0.5f32, -1.0, 0.0];
        let g2 = [0.1f32, 2.0, -0.3];
        let mut opt = Optimizer::new(OptimizerConfig::default(), 3);
        opt.step(&mut p, &g1);
        // v = 0.1 g^2; p -= 1e-3 g / sqrt(v + 1e-7)
        // g=0.5: v=0.025, step=1e-3*0.5/sqrt(0.0250001)=0.0031622713
        // g=-1: v=0.1, step=-1e-3/sqrt(0.1000001)=-0.0031622761
        let want1 = [1.0 - 0.003_162_271_3, -2.0 + 0.003_162_276, 0.5];
        for (a, b) in p.iter().zip(want1) {
            assert!((a - b).abs() < 1e-7, "{a} vs {b}");
        }
        opt.step(&mut p, &g2);
        // v2 = 0.9 v1 + 0.1 g2^2
        // [0]: 0.0225 + 0.001 = 0.0235, step = 1e-4/sqrt(0.0235001) = 0.0006523267
        // [1]: 0.09 + 0.4 = 0.49, step = 2e-3/sqrt(0.4900001) = 0.0028571426
        // [2]: 0 + 0.009 = 0.009, step = -3e-4/sqrt(0.0090001) = -0.0031622602
        let want2 = [
            want1[0] - 0.000_652_326_7,
            want1[1] - 0.002_857_142_6,
            0.5 + 0.003_162_260_2,
        ];
        for (a, b) in p.iter().zip(want2) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        assert_eq!(opt.iterations(), 2);
    }

    #[test]
    fn adam_matches_hand_computed_updates() {
        let mut p = vec![1.0f32, -1.0];
        let mut opt = Optimizer::new(OptimizerConfig::Adam(Adam::default()), 2);
        opt.step(&mut p, &[0.2, -0.4]);
        // t=1: m = 0.1 g, v = 0.001 g^2, alpha = 1e-3 sqrt(0.001)/0.1 = 3.16227766e-4
        // step = alpha * 0.1 g / (sqrt(0.001) |g| + 1e-7) ~= 1e-3 * sign(g) (slightly less)
        // [0]: 3.16227766e-4 * 0.02 / (0.0063245553 + 1e-7) = 9.99984e-4
        let s0 = 3.162_277_7e-4 * 0.02 / (0.006_324_555_3 + 1e-7);
        let s1 = 3.162_277_7e-4 * 0.04 / (0.012_649_111 + 1e-7);
        assert!((p[0] - (1.0 - s0)).abs() < 1e-7, "{}", p[0]);
        assert!((p[1] - (-1.0 + s1)).abs() < 1e-7, "{}", p[1]);
        opt.step(&mut p, &[0.2, 0.4]);
        // t=2: m = 0.9*0.02 + 0.1*0.2 = 0.038 ; m1 = 0.9*(-0.04) + 0.04 = 0.004
        // v0 = 0.999*4e-5 + 0.001*0.04 = 7.996e-5 ; v1 = 0.999*1.6e-4 + 0.001*0.16 = 3.1984e-4
        // alpha = 1e-3 sqrt(1 - 0.999^2)/(1 - 0.81) = 1e-3 * 0.044710177 / 0.19 = 2.3531672e-4
        let alpha = 2.353_167_2e-4f64;
        let t0 = alpha * 0.038 / ((7.996e-5f64).sqrt() + 1e-7);
        let t1 = alpha * 0.004 / ((3.1984e-4f64).sqrt() + 1e-7);
        assert!(
            (p[0] as f64 - (1.0 - s0 as f64 - t0)).abs() < 1e-6,
            "{}",
            p[0]
        );
        assert!(
            (p[1] as f64 - (-1.0 + s1 as f64 - t1)).abs() < 1e-6,
            "{}",
            p[1]
        );
    }

    #[test]
    fn sgd_momentum_and_rmsprop_momentum_accumulate() {
        let mut p = vec![1.0f32];
        let mut opt = Optimizer::new(OptimizerConfig::Sgd(Sgd::default()), 1);
        opt.step(&mut p, &[1.0]);
        opt.step(&mut p, &[1.0]);
        // m1 = -0.01, p = 0.99; m2 = -0.009 - 0.01 = -0.019, p = 0.971
        assert!((p[0] - 0.971).abs() < 1e-6);
        let cfg = OptimizerConfig::Rmsprop(RmsProp {
            momentum: 0.5,
            ..RmsProp::default()
        });
        let mut p = vec![0.0f32];
        let mut opt = Optimizer::new(cfg, 1);
        opt.step(&mut p, &[1.0]);
        opt.step(&mut p, &[1.0]);
        // v1 = 0.1, inc1 = 1e-3/sqrt(0.1000001); v2 = 0.19, inc2 = 1e-3/sqrt(0.1900001)
        let inc1 = 1e-3 / (0.100_000_1f64).sqrt();
        let inc2 = 1e-3 / (0.190_000_1f64).sqrt();
        let want = -(inc1 + (0.5 * inc1 + inc2));
        assert!((p[0] as f64 - want).abs() < 1e-7, "{} vs {want}", p[0]);
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(OptimizerConfig::default()
            .with_learning_rate(0.0)
            .validate()
            .is_err());
        assert!(OptimizerConfig::default()
            .with_momentum(1.5)
            .validate()
            .is_err());
        assert!(OptimizerConfig::by_name("adam").unwrap().validate().is_ok());
        assert!(OptimizerConfig::by_name("adagrad").is_none());
    }
}
