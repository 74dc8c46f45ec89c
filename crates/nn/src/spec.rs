//! What a model is: its architecture, the input shape it takes and the number of classes.
//! A [`ModelSpec`] is stored as JSON in every run folder and rebuilds the same network.

use dlscope_data::Shape;
use serde::{Deserialize, Serialize};

use crate::error::{NnError, Result};

/// A model family and its hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Arch {
    /// Flatten, then `Dense(h, relu)` for each hidden size, then `Dense(classes)` + softmax.
    /// The default, `hidden = [512]`, is the Keras "first look at a neural network" model.
    Mlp { hidden: Vec<usize> },
    /// `Conv(f0, 3x3, relu)`, `Conv(f1, 3x3, relu)`, `MaxPool(2)`, `Dropout(d0)`, flatten,
    /// `Dense(dense, relu)`, `Dropout(d1)`, `Dense(classes)` + softmax (the Keras MNIST CNN).
    Cnn {
        filters: [usize; 2],
        dense: usize,
        dropout: [f32; 2],
    },
}

impl Arch {
    /// The Keras MLP: one hidden layer of 512 units.
    pub fn mlp() -> Self {
        Arch::Mlp { hidden: vec![512] }
    }

    /// The Keras MNIST CNN: 32 and 64 filters, dense 128, dropout 0.25 and 0.5.
    pub fn cnn() -> Self {
        Arch::Cnn {
            filters: [32, 64],
            dense: 128,
            dropout: [0.25, 0.5],
        }
    }

    /// `mlp` or `cnn`.
    pub fn name(&self) -> &'static str {
        match self {
            Arch::Mlp { .. } => "mlp",
            Arch::Cnn { .. } => "cnn",
        }
    }
}

/// A model: its architecture, the input it takes (H x W x C, interleaved) and the class count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    pub arch: Arch,
    pub input: Shape,
    pub classes: usize,
}

/// One parameter tensor of a model: its name (the path of the burn module field) and shape.
///
/// Layouts are Keras': dense kernels are `[inputs, outputs]`, convolution kernels are
/// `[kh, kw, in_channels, out_channels]`, and flattening is in H, W, C order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamShape {
    pub name: String,
    pub shape: Vec<usize>,
    /// Glorot fan-in and fan-out; `None` for biases (initialised to zero).
    pub fans: Option<(usize, usize)>,
}

impl ParamShape {
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Size of the feature map after the two 3x3 valid convolutions and the 2x2 pooling.
pub(crate) fn cnn_pooled(input: Shape) -> (usize, usize) {
    let h = input.height as usize;
    let w = input.width as usize;
    ((h.saturating_sub(4)) / 2, (w.saturating_sub(4)) / 2)
}

impl ModelSpec {
    pub fn new(arch: Arch, input: Shape, classes: usize) -> Result<Self> {
        let spec = ModelSpec {
            arch,
            input,
            classes,
        };
        spec.validate()?;
        Ok(spec)
    }

    /// Checks that the network can be built: non-zero sizes, inputs large enough for the CNN.
    pub fn validate(&self) -> Result<()> {
        let bad = |why: String| Err(NnError::BadModel(why));
        if self.input.is_empty() {
            return bad(format!("input shape {} has no pixels", self.input));
        }
        if self.classes < 2 {
            return bad(format!(
                "{} class(es): a classifier needs at least 2",
                self.classes
            ));
        }
        match &self.arch {
            Arch::Mlp { hidden } => {
                if hidden.contains(&0) {
                    return bad(format!("hidden layer sizes {hidden:?} contain a zero"));
                }
            }
            Arch::Cnn {
                filters,
                dense,
                dropout,
            } => {
                if filters.contains(&0) || *dense == 0 {
                    return bad(format!(
                        "CNN sizes filters={filters:?} dense={dense} contain a zero"
                    ));
                }
                if dropout.iter().any(|d| !(0.0..1.0).contains(d)) {
                    return bad(format!("dropout rates {dropout:?} must be in [0, 1)"));
                }
                let (ph, pw) = cnn_pooled(self.input);
                if ph == 0 || pw == 0 {
                    return bad(format!(
                        "input {} is too small for the CNN (needs at least 6x6)",
                        self.input
                    ));
                }
            }
        }
        Ok(())
    }

    /// Values per input sample (H * W * C).
    pub fn input_len(&self) -> usize {
        self.input.len()
    }

    /// The parameter tensors, in the order they are stored.
    pub fn param_shapes(&self) -> Vec<ParamShape> {
        let dense = |name: &str, i: usize, o: usize| {
            [
                ParamShape {
                    name: format!("{name}.weight"),
                    shape: vec![i, o],
                    fans: Some((i, o)),
                },
                ParamShape {
                    name: format!("{name}.bias"),
                    shape: vec![o],
                    fans: None,
                },
            ]
        };
        let mut out = Vec::new();
        match &self.arch {
            Arch::Mlp { hidden } => {
                let mut inputs = self.input_len();
                for (i, &h) in hidden.iter().enumerate() {
                    out.extend(dense(&format!("hidden.{i}"), inputs, h));
                    inputs = h;
                }
                out.extend(dense("output", inputs, self.classes));
            }
            Arch::Cnn {
                filters,
                dense: units,
                ..
            } => {
                let c = self.input.channels as usize;
                let conv = |name: &str, i: usize, o: usize| {
                    [
                        ParamShape {
                            name: format!("{name}.weight"),
                            shape: vec![3, 3, i, o],
                            fans: Some((9 * i, 9 * o)),
                        },
                        ParamShape {
                            name: format!("{name}.bias"),
                            shape: vec![o],
                            fans: None,
                        },
                    ]
                };
                out.extend(conv("conv1", c, filters[0]));
                out.extend(conv("conv2", filters[0], filters[1]));
                let (ph, pw) = cnn_pooled(self.input);
                out.extend(dense("dense", ph * pw * filters[1], *units));
                out.extend(dense("output", *units, self.classes));
            }
        }
        out
    }

    /// Total number of trainable values.
    pub fn param_count(&self) -> usize {
        self.param_shapes().iter().map(ParamShape::len).sum()
    }

    /// Floating-point operations of one training step on one sample (forward + backward),
    /// counting a multiply-add as two; used to report achieved GFLOP/s.
    pub fn train_flops_per_sample(&self) -> f64 {
        let mut flops = 0f64;
        match &self.arch {
            Arch::Mlp { hidden } => {
                let mut inputs = self.input_len();
                for (i, &h) in hidden
                    .iter()
                    .chain(std::iter::once(&self.classes))
                    .enumerate()
                {
                    let mac = (inputs * h) as f64;
                    // forward, weight gradient, and input gradient except for the first layer
                    flops += 2.0 * mac * if i == 0 { 2.0 } else { 3.0 };
                    inputs = h;
                }
            }
            Arch::Cnn { filters, dense, .. } => {
                let (h, w, c) = (
                    self.input.height as usize,
                    self.input.width as usize,
                    self.input.channels as usize,
                );
                let mac1 = ((h - 2) * (w - 2) * 9 * c * filters[0]) as f64;
                let mac2 = ((h - 4) * (w - 4) * 9 * filters[0] * filters[1]) as f64;
                let (ph, pw) = cnn_pooled(self.input);
                let mac3 = (ph * pw * filters[1] * dense) as f64;
                let mac4 = (dense * self.classes) as f64;
                flops += 2.0 * (2.0 * mac1 + 3.0 * (mac2 + mac3 + mac4));
            }
        }
        flops
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keras_mlp_has_the_keras_parameter_count() {
        let spec = ModelSpec::new(Arch::mlp(), Shape::new(28, 28, 1), 10).unwrap();
        // Keras summary: 401,920 + 5,130 = 407,050 trainable parameters.
        assert_eq!(spec.param_count(), 407_050);
    }

    #[test]
    fn keras_cnn_has_the_keras_parameter_count() {
        let spec = ModelSpec::new(Arch::cnn(), Shape::new(28, 28, 1), 10).unwrap();
        // Keras mnist_cnn summary: 320 + 18,496 + 1,179,776 + 1,290 = 1,199,882.
        assert_eq!(spec.param_count(), 1_199_882);
    }

    #[test]
    fn too_small_inputs_and_single_class_are_refused() {
        assert!(ModelSpec::new(Arch::cnn(), Shape::new(5, 28, 1), 10).is_err());
        assert!(ModelSpec::new(Arch::mlp(), Shape::new(28, 28, 1), 1).is_err());
        assert!(ModelSpec::new(Arch::Mlp { hidden: vec![0] }, Shape::new(2, 2, 1), 3).is_err());
    }
}
