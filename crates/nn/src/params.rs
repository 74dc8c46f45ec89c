//! All trainable values of a model in one contiguous `f32` buffer, so the optimizer updates them
//! in one fused pass and a checkpoint is one copy.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{NnError, Result};
use crate::spec::{ModelSpec, ParamShape};

/// Where one named tensor lives inside [`Params::values`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamInfo {
    pub name: String,
    pub shape: Vec<usize>,
    pub offset: usize,
    pub len: usize,
}

/// A model's parameters: one flat buffer and the named tensors within it.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub values: Vec<f32>,
    pub infos: Vec<ParamInfo>,
}

/// Stream of the seeded generator used for weight initialisation (other streams shuffle).
const INIT_STREAM: u64 = u64::MAX;

impl Params {
    /// Zero-filled parameters laid out for `spec`.
    pub fn zeros(spec: &ModelSpec) -> Self {
        let shapes = spec.param_shapes();
        let mut infos = Vec::with_capacity(shapes.len());
        let mut offset = 0;
        for ParamShape { name, shape, .. } in &shapes {
            let len = shape.iter().product();
            infos.push(ParamInfo {
                name: name.clone(),
                shape: shape.clone(),
                offset,
                len,
            });
            offset += len;
        }
        Params {
            values: vec![0.0; offset],
            infos,
        }
    }

    /// Keras initialisation: Glorot-uniform kernels (`U(-l, l)`, `l = sqrt(6 / (fan_in +
    /// fan_out))`) and zero biases, drawn from a ChaCha8 generator seeded with `seed`.
    pub fn glorot(spec: &ModelSpec, seed: u64) -> Self {
        let mut params = Params::zeros(spec);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(INIT_STREAM);
        for (shape, info) in spec.param_shapes().iter().zip(&params.infos) {
            if let Some((fan_in, fan_out)) = shape.fans {
                let limit = (6.0 / (fan_in + fan_out) as f64).sqrt() as f32;
                for v in &mut params.values[info.offset..info.offset + info.len] {
                    *v = rng.random_range(-limit..limit);
                }
            }
        }
        params
    }

    /// The values of the tensor called `name`.
    pub fn get(&self, name: &str) -> Option<&[f32]> {
        self.infos
            .iter()
            .find(|i| i.name == name)
            .map(|i| &self.values[i.offset..i.offset + i.len])
    }

    /// Mutable values of the tensor called `name`.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut [f32]> {
        let info = self.infos.iter().find(|i| i.name == name)?;
        Some(&mut self.values[info.offset..info.offset + info.len])
    }

    /// Total number of values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Builds parameters for `spec` from named tensors, checking every name and shape.
    pub fn from_named(
        spec: &ModelSpec,
        mut lookup: impl FnMut(&str) -> Option<(Vec<usize>, Vec<f32>)>,
        source: &std::path::Path,
    ) -> Result<Self> {
        let mut params = Params::zeros(spec);
        for info in params.infos.clone() {
            let (shape, values) = lookup(&info.name).ok_or_else(|| NnError::BadCheckpoint {
                path: source.to_path_buf(),
                what: format!("tensor '{}' is missing", info.name),
            })?;
            if shape != info.shape || values.len() != info.len {
                return Err(NnError::BadCheckpoint {
                    path: source.to_path_buf(),
                    what: format!(
                        "tensor '{}' has shape {:?} but the model needs {:?}",
                        info.name, shape, info.shape
                    ),
                });
            }
            params.values[info.offset..info.offset + info.len].copy_from_slice(&values);
        }
        Ok(params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Arch;
    use dlscope_data::Shape;

    #[test]
    fn glorot_respects_the_limit_and_zeroes_biases() {
        let spec = ModelSpec::new(Arch::mlp(), Shape::new(28, 28, 1), 10).unwrap();
        let p = Params::glorot(&spec, 7);
        let w = p.get("hidden.0.weight").unwrap();
        let limit = (6.0f32 / (784.0 + 512.0)).sqrt();
        assert!(w.iter().all(|v| v.abs() <= limit));
        // Uniform on [-l, l] has variance l^2 / 3.
        let var = w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32;
        assert!((var / (limit * limit / 3.0) - 1.0).abs() < 0.02, "{var}");
        assert!(p.get("hidden.0.bias").unwrap().iter().all(|&b| b == 0.0));
        assert_eq!(p, Params::glorot(&spec, 7));
        assert_ne!(p, Params::glorot(&spec, 8));
    }
}
