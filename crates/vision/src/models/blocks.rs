//! Building blocks shared by model files: a convolution without bias followed by a batch norm
//! (EfficientNet, ResNet, MobileNet all use it), read from resolved weights either for the CPU
//! engine (batch norm folded into the convolution) or as a burn module.

use burn::module::{Module, Param, RunningState};
use burn::nn::conv::Conv2d as BurnConv2d;
use burn::nn::{BatchNorm as BurnBatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::{Device, Tensor};

use super::burn_tensor;
use crate::cpu::{self, Activation, BatchNorm, Padding};
use crate::error::{Result, VisionError};
use crate::weights::Weights;

/// Where a convolution + batch norm pair is in the weights, and how it is applied.
#[derive(Debug, Clone)]
pub(crate) struct ConvBnAt {
    /// Name of the convolution weight (`[cout, cin / groups, k, k]`).
    pub conv: String,
    /// Prefix of the batch norm's `weight`, `bias`, `running_mean`, `running_var`.
    pub bn: String,
    pub shape: [usize; 4],
    pub groups: usize,
    pub stride: usize,
    pub pad: Padding,
    pub eps: f64,
}

/// The four batch-norm tensors under `prefix`, in [`BatchNorm`] order.
fn read_bn(w: &Weights, prefix: &str) -> Result<[Vec<f32>; 4]> {
    let g = |p: &str| w.get(&format!("{prefix}.{p}"));
    Ok([
        g("weight")?,
        g("bias")?,
        g("running_mean")?,
        g("running_var")?,
    ])
}

fn with_bn<T>(
    w: &Weights,
    at: &ConvBnAt,
    f: impl FnOnce(&[f32], &BatchNorm) -> Result<T>,
) -> Result<T> {
    let [gamma, beta, mean, var] = read_bn(w, &at.bn)?;
    let bn = BatchNorm {
        gamma: &gamma,
        beta: &beta,
        mean: &mean,
        var: &var,
        eps: at.eps,
    };
    f(&w.get(&at.conv)?, &bn)
}

/// A dense convolution (groups = 1) with the batch norm folded in, for the CPU engine.
pub(crate) fn cpu_conv(w: &Weights, at: &ConvBnAt, act: Activation) -> Result<cpu::Conv2d> {
    let [cout, cin, k, _] = at.shape;
    if at.groups != 1 {
        return Err(VisionError::Invalid(format!(
            "{}: a grouped convolution is not a dense one",
            at.conv
        )));
    }
    with_bn(w, at, |wt, bn| {
        cpu::Conv2d::new(wt, cout, cin, k, None, Some(bn), at.stride, at.pad, act)
    })
}

/// A depthwise convolution (groups = channels) with the batch norm folded in, for the CPU
/// engine.
pub(crate) fn cpu_depthwise(w: &Weights, at: &ConvBnAt, act: Activation) -> Result<cpu::Depthwise> {
    let [c, one, k, _] = at.shape;
    if one != 1 || at.groups != c {
        return Err(VisionError::Invalid(format!(
            "{}: not a depthwise convolution",
            at.conv
        )));
    }
    with_bn(w, at, |wt, bn| {
        cpu::Depthwise::new(wt, c, k, None, Some(bn), at.stride, at.pad, act)
    })
}

/// A convolution (no bias) followed by a batch norm, as a burn module.
#[derive(Module, Debug)]
pub struct ConvBn {
    pub conv: BurnConv2d,
    pub bn: BurnBatchNorm,
}

impl ConvBn {
    pub(crate) fn new(w: &Weights, at: &ConvBnAt, device: &Device) -> Result<ConvBn> {
        let [cout, _, k, _] = at.shape;
        let mut norm = BatchNormConfig::new(cout).with_epsilon(at.eps).init(device);
        let [gamma, beta, mean, var] = read_bn(w, &at.bn)?;
        let t = |v: Vec<f32>| -> Tensor<1> { burn_tensor(v, [cout], device) };
        norm.gamma = Param::from_tensor(t(gamma));
        norm.beta = Param::from_tensor(t(beta));
        norm.running_mean = RunningState::new(t(mean));
        norm.running_var = RunningState::new(t(var));
        let padding = match at.pad {
            Padding::TfSame if k == 1 && at.stride == 1 => PaddingConfig2d::Valid,
            // burn's `Same` is TensorFlow's: the smaller half of the padding goes first.
            Padding::TfSame => PaddingConfig2d::Same,
            Padding::Symmetric(p) => PaddingConfig2d::Explicit(p, p, p, p),
        };
        Ok(ConvBn {
            conv: BurnConv2d {
                weight: Param::from_tensor(burn_tensor(w.get(&at.conv)?, at.shape, device)),
                bias: None,
                stride: [at.stride, at.stride],
                kernel_size: [k, k],
                dilation: [1, 1],
                groups: at.groups,
                padding,
            },
            bn: norm,
        })
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.bn.forward(self.conv.forward(x))
    }
}
