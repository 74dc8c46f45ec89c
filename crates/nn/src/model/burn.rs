//! The burn side: building the burn modules from [`Params`], reading values and autodiff
//! gradients back, and a training step / inference on any burn device (Flex on the CPU, or a
//! GPU backend when built with the `wgpu` or `cuda` feature).
//!
//! Convolution kernels are stored in Keras layout `[kh, kw, in, out]`; burn's `Conv2d` wants
//! `[out, in, kh, kw]`, so they are permuted on the way in and out.

use burn::module::Param;
use burn::nn::conv::Conv2d;
use burn::nn::{Linear, PaddingConfig2d};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Gradients, Tensor, TensorData};

use super::{cnn::Cnn, mlp::Mlp};
use crate::error::{NnError, Result};
use crate::params::Params;
use crate::spec::{Arch, ModelSpec};

/// What to read back from a module.
pub(crate) enum Read<'a> {
    Values,
    Grads(&'a Gradients),
}

fn slice<'a>(params: &'a Params, name: &str) -> &'a [f32] {
    params
        .get(name)
        .unwrap_or_else(|| panic!("parameter {name} is laid out by the model spec"))
}

pub(crate) fn tensor<const D: usize>(
    values: Vec<f32>,
    shape: [usize; D],
    device: &Device,
) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

fn to_vec<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    t.into_data()
        .try_into_vec::<f32>()
        .map_err(|e| NnError::Backend(format!("reading a tensor back: {e:?}")))
}

/// `[kh, kw, in, out]` -> `[out, in, kh, kw]`.
pub fn hwio_to_oihw(w: &[f32], k: usize, i: usize, o: usize) -> Vec<f32> {
    let mut out = vec![0.0; w.len()];
    for y in 0..k {
        for x in 0..k {
            for ic in 0..i {
                for oc in 0..o {
                    out[((oc * i + ic) * k + y) * k + x] = w[((y * k + x) * i + ic) * o + oc];
                }
            }
        }
    }
    out
}

/// `[out, in, kh, kw]` -> `[kh, kw, in, out]`.
pub fn oihw_to_hwio(w: &[f32], k: usize, i: usize, o: usize) -> Vec<f32> {
    let mut out = vec![0.0; w.len()];
    for y in 0..k {
        for x in 0..k {
            for ic in 0..i {
                for oc in 0..o {
                    out[((y * k + x) * i + ic) * o + oc] = w[((oc * i + ic) * k + y) * k + x];
                }
            }
        }
    }
    out
}

pub(crate) fn linear(params: &Params, name: &str, device: &Device) -> Linear {
    let w = slice(params, &format!("{name}.weight"));
    let b = slice(params, &format!("{name}.bias"));
    let (i, o) = (w.len() / b.len(), b.len());
    Linear {
        weight: Param::from_tensor(tensor(w.to_vec(), [i, o], device)),
        bias: Some(Param::from_tensor(tensor(b.to_vec(), [o], device))),
    }
}

pub(crate) fn conv2d(params: &Params, name: &str, device: &Device) -> Conv2d {
    let w = slice(params, &format!("{name}.weight"));
    let b = slice(params, &format!("{name}.bias"));
    let o = b.len();
    let i = w.len() / (9 * o);
    Conv2d {
        weight: Param::from_tensor(tensor(hwio_to_oihw(w, 3, i, o), [o, i, 3, 3], device)),
        bias: Some(Param::from_tensor(tensor(b.to_vec(), [o], device))),
        stride: [1, 1],
        kernel_size: [3, 3],
        dilation: [1, 1],
        groups: 1,
        padding: PaddingConfig2d::Valid,
    }
}

fn read<const D: usize>(p: &Param<Tensor<D>>, what: &Read<'_>) -> Result<Vec<f32>> {
    match what {
        Read::Values => to_vec(p.val()),
        Read::Grads(g) => match p.val().grad(g) {
            Some(t) => to_vec(t),
            None => Err(NnError::Backend(
                "a parameter has no gradient (was the device built with autodiff?)".into(),
            )),
        },
    }
}

fn store(into: &mut Params, name: &str, values: &[f32]) -> Result<()> {
    let dst = into
        .get_mut(name)
        .ok_or_else(|| NnError::Backend(format!("no parameter {name}")))?;
    if dst.len() != values.len() {
        return Err(NnError::Backend(format!(
            "{name}: {} values, expected {}",
            values.len(),
            dst.len()
        )));
    }
    dst.copy_from_slice(values);
    Ok(())
}

fn bias_of<'a, const D: usize>(
    b: &'a Option<Param<Tensor<D>>>,
    name: &str,
) -> Result<&'a Param<Tensor<D>>> {
    b.as_ref()
        .ok_or_else(|| NnError::Backend(format!("{name} has no bias")))
}

pub(crate) fn linear_params(
    l: &Linear,
    into: &mut Params,
    name: &str,
    what: &Read<'_>,
) -> Result<()> {
    store(into, &format!("{name}.weight"), &read(&l.weight, what)?)?;
    store(
        into,
        &format!("{name}.bias"),
        &read(bias_of(&l.bias, name)?, what)?,
    )
}

pub(crate) fn conv_params(
    c: &Conv2d,
    into: &mut Params,
    name: &str,
    what: &Read<'_>,
) -> Result<()> {
    let [o, i, k, _] = c.weight.dims();
    let w = read(&c.weight, what)?;
    store(into, &format!("{name}.weight"), &oihw_to_hwio(&w, k, i, o))?;
    store(
        into,
        &format!("{name}.bias"),
        &read(bias_of(&c.bias, name)?, what)?,
    )
}

/// Either model as a burn module.
#[derive(Debug)]
pub enum BurnModel {
    Mlp(Mlp),
    Cnn(Box<Cnn>),
}

impl BurnModel {
    /// Builds the burn module for `spec` holding the values of `params`, on `device`.
    pub fn new(spec: &ModelSpec, params: &Params, device: &Device) -> Self {
        match spec.arch {
            Arch::Mlp { .. } => BurnModel::Mlp(Mlp::new(spec, params, device)),
            Arch::Cnn { .. } => BurnModel::Cnn(Box::new(Cnn::new(spec, params, device))),
        }
    }

    /// Logits for flattened channels-last inputs `[batch, H*W*C]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        match self {
            BurnModel::Mlp(m) => m.forward(x),
            BurnModel::Cnn(m) => m.forward(x),
        }
    }

    fn read(&self, spec: &ModelSpec, what: &Read<'_>) -> Result<Params> {
        let mut out = Params::zeros(spec);
        match self {
            BurnModel::Mlp(m) => m.read(&mut out, what)?,
            BurnModel::Cnn(m) => m.read(&mut out, what)?,
        }
        Ok(out)
    }

    /// The module's current values in the [`Params`] layout.
    pub fn params(&self, spec: &ModelSpec) -> Result<Params> {
        self.read(spec, &Read::Values)
    }
}

/// Mean cross-entropy and its gradient for one batch, by burn autodiff on `device` (which must
/// have autodiff enabled, e.g. `Device::flex().autodiff()`). Dropout is active. Returns the summed
/// loss, the number of correct predictions and the gradients in the [`Params`] layout.
pub fn loss_and_grads(
    spec: &ModelSpec,
    params: &Params,
    x: &[f32],
    labels: &[u32],
    device: &Device,
) -> Result<(f64, usize, Params)> {
    let model = BurnModel::new(spec, params, device);
    let batch = labels.len();
    let input = tensor(
        x[..batch * spec.input_len()].to_vec(),
        [batch, spec.input_len()],
        device,
    );
    let logits = model.forward(input);
    let mut onehot = vec![0.0f32; batch * spec.classes];
    for (i, &l) in labels.iter().enumerate() {
        onehot[i * spec.classes + l as usize] = 1.0;
    }
    let onehot = tensor(onehot, [batch, spec.classes], device);
    let per_sample = (log_softmax(logits.clone(), 1) * onehot).sum_dim(1).neg();
    let loss = per_sample.clone().sum() / batch as f32;
    let grads = loss.backward();
    let losses = to_vec(per_sample.inner())?;
    let logits = to_vec(logits.inner())?;
    let correct = correct_count(&logits, labels, spec.classes);
    let g = model.read(spec, &Read::Grads(&grads))?;
    Ok((losses.iter().map(|&l| l as f64).sum(), correct, g))
}

fn correct_count(logits: &[f32], labels: &[u32], classes: usize) -> usize {
    logits
        .chunks_exact(classes)
        .zip(labels)
        .filter(|(row, &l)| crate::kernels::loss::argmax(row) == l as usize)
        .count()
}

/// Logits of `batch` inputs computed by a burn module (inference: dropout off).
pub fn logits(
    model: &BurnModel,
    spec: &ModelSpec,
    x: &[f32],
    batch: usize,
    device: &Device,
) -> Result<Vec<f32>> {
    let input = tensor(
        x[..batch * spec.input_len()].to_vec(),
        [batch, spec.input_len()],
        device,
    );
    to_vec(model.forward(input))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_layout_permutations_are_inverse() {
        let w: Vec<f32> = (0..3 * 3 * 2 * 5).map(|v| v as f32).collect();
        let o = hwio_to_oihw(&w, 3, 2, 5);
        assert_ne!(o, w);
        // [kh=1, kw=2, in=1, out=3] in HWIO is [out=3, in=1, kh=1, kw=2] in OIHW.
        assert_eq!(
            o[((3 * 2 + 1) * 3 + 1) * 3 + 2],
            w[((3 + 2) * 2 + 1) * 5 + 3]
        );
        assert_eq!(oihw_to_hwio(&o, 3, 2, 5), w);
    }
}
