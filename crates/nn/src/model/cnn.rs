//! The CNN as a burn module: `Conv(3x3)+ReLU, Conv(3x3)+ReLU, MaxPool(2), Dropout, Flatten,
//! Dense+ReLU, Dropout, Dense` (logits). Inputs arrive flattened channels-last, as the data
//! layer stores them; flattening before the dense layer is also channels-last (Keras' order),
//! so the dense kernel is the same matrix on both paths.

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use super::burn::{conv2d, conv_params, linear, linear_params, Read};
use crate::params::Params;
use crate::spec::{cnn_pooled, Arch, ModelSpec};

/// Burn definition of [`Arch::Cnn`], weights shared with the fast path's [`Params`].
#[derive(Module, Debug)]
pub struct Cnn {
    pub conv1: Conv2d,
    pub conv2: Conv2d,
    pub pool: MaxPool2d,
    pub dropout1: Dropout,
    pub dense: Linear,
    pub dropout2: Dropout,
    pub output: Linear,
    /// Input height, width, channels.
    pub input: [usize; 3],
}

impl Cnn {
    /// Builds the module on `device` with the values of `params` (laid out for `spec`).
    pub fn new(spec: &ModelSpec, params: &Params, device: &Device) -> Self {
        let rates = match &spec.arch {
            Arch::Cnn { dropout, .. } => *dropout,
            Arch::Mlp { .. } => [0.0, 0.0],
        };
        Cnn {
            conv1: conv2d(params, "conv1", device),
            conv2: conv2d(params, "conv2", device),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            dropout1: DropoutConfig::new(rates[0] as f64).init(),
            dense: linear(params, "dense", device),
            dropout2: DropoutConfig::new(rates[1] as f64).init(),
            output: linear(params, "output", device),
            input: [
                spec.input.height as usize,
                spec.input.width as usize,
                spec.input.channels as usize,
            ],
        }
    }

    /// Logits for a batch of flattened channels-last inputs, `[batch, H*W*C]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let [batch, _] = x.dims();
        let [h, w, c] = self.input;
        let x = x.reshape([batch, h, w, c]).permute([0, 3, 1, 2]);
        let x = relu(self.conv1.forward(x));
        let x = relu(self.conv2.forward(x));
        let x = self.dropout1.forward(self.pool.forward(x));
        let [_, f, ph, pw] = x.dims();
        debug_assert_eq!(
            (ph, pw),
            cnn_pooled(dlscope_data::Shape::new(h as u32, w as u32, c as u8))
        );
        let x = x.permute([0, 2, 3, 1]).reshape([batch, ph * pw * f]);
        let x = self.dropout2.forward(relu(self.dense.forward(x)));
        self.output.forward(x)
    }

    /// Reads values (or, with [`Read::Grad`], gradients) back into the `Params` layout.
    pub(crate) fn read(&self, into: &mut Params, what: &Read<'_>) -> crate::Result<()> {
        conv_params(&self.conv1, into, "conv1", what)?;
        conv_params(&self.conv2, into, "conv2", what)?;
        linear_params(&self.dense, into, "dense", what)?;
        linear_params(&self.output, into, "output", what)
    }
}
