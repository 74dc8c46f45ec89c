//! The MLP as a burn module: `Flatten -> [Dense(h) + ReLU]* -> Dense(classes)` (logits).

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use super::burn::{linear, linear_params, Read};
use crate::params::Params;
use crate::spec::{Arch, ModelSpec};

/// Burn definition of [`Arch::Mlp`], weights shared with the fast path's [`Params`].
#[derive(Module, Debug)]
pub struct Mlp {
    pub hidden: Vec<Linear>,
    pub output: Linear,
}

impl Mlp {
    /// Builds the module on `device` with the values of `params` (laid out for `spec`).
    pub fn new(spec: &ModelSpec, params: &Params, device: &Device) -> Self {
        let hidden = match &spec.arch {
            Arch::Mlp { hidden } => hidden.len(),
            Arch::Cnn { .. } => 0,
        };
        Mlp {
            hidden: (0..hidden)
                .map(|i| linear(params, &format!("hidden.{i}"), device))
                .collect(),
            output: linear(params, "output", device),
        }
    }

    /// Logits for a batch of flattened (H, W, C order) inputs, `[batch, H*W*C]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let mut x = x;
        for layer in &self.hidden {
            x = relu(layer.forward(x));
        }
        self.output.forward(x)
    }

    /// Reads values (or, with [`Read::Grad`], gradients) back into the `Params` layout.
    pub(crate) fn read(&self, into: &mut Params, what: &Read<'_>) -> crate::Result<()> {
        for (i, layer) in self.hidden.iter().enumerate() {
            linear_params(layer, into, &format!("hidden.{i}"), what)?;
        }
        linear_params(&self.output, into, "output", what)
    }
}
