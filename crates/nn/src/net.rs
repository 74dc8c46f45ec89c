//! The fast CPU network: a model spec turned into a sequence of kernel layers with every buffer
//! allocated once for the largest batch. A training step is forward, fused softmax-CE, and
//! backward into one flat gradient buffer laid out like [`Params`](crate::Params).

use crate::kernels::conv::{self, ConvDims, ConvScratch};
use crate::kernels::dense::{self, DenseDims};
use crate::kernels::gemm::Parallelism;
use crate::kernels::loss::{self, BatchStats};
use crate::kernels::{dropout, pool};
use crate::spec::{cnn_pooled, Arch, ModelSpec};

enum Layer {
    Dense {
        dims: DenseDims,
        w: usize,
        b: usize,
    },
    Conv {
        dims: ConvDims,
        w: usize,
        b: usize,
        scratch: Vec<ConvScratch>,
    },
    Pool {
        dims: pool::PoolDims,
        arg: Vec<u8>,
    },
    Dropout {
        rate: f32,
        mask: Vec<f32>,
    },
}

/// What a forward pass is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Inference: dropout is the identity.
    Eval,
    /// Training: dropout masks drawn from this key.
    Train { key: u64 },
}

/// A network for one [`ModelSpec`], with buffers for batches of up to `max_batch` samples.
pub struct Net {
    spec: ModelSpec,
    layers: Vec<Layer>,
    /// Per-sample output length of each layer.
    sizes: Vec<usize>,
    acts: Vec<Vec<f32>>,
    /// Gradients at each layer's output (empty when built for inference only).
    dacts: Vec<Vec<f32>>,
    max_batch: usize,
    par: Parallelism,
}

impl Net {
    /// Builds the layers of `spec`. `threads` bounds the parallelism of each kernel (call from
    /// inside a rayon pool of that size); `training` allocates the backward buffers.
    pub fn new(spec: &ModelSpec, max_batch: usize, threads: usize, training: bool) -> Self {
        let threads = threads.max(1);
        let mut offsets = std::collections::HashMap::new();
        let mut off = 0;
        for p in spec.param_shapes() {
            offsets.insert(p.name.clone(), off);
            off += p.len();
        }
        let at = |name: &str| offsets[name];
        let mut layers = Vec::new();
        let mut sizes = Vec::new();
        let mut push = |layer: Layer, size: usize| {
            layers.push(layer);
            sizes.push(size);
        };
        let dense_layer = |name: &str, inputs: usize, outputs: usize, relu: bool| Layer::Dense {
            dims: DenseDims {
                inputs,
                outputs,
                relu,
            },
            w: at(&format!("{name}.weight")),
            b: at(&format!("{name}.bias")),
        };
        match &spec.arch {
            Arch::Mlp { hidden } => {
                let mut inputs = spec.input_len();
                for (i, &h) in hidden.iter().enumerate() {
                    push(dense_layer(&format!("hidden.{i}"), inputs, h, true), h);
                    inputs = h;
                }
                push(
                    dense_layer("output", inputs, spec.classes, false),
                    spec.classes,
                );
            }
            Arch::Cnn {
                filters,
                dense: units,
                dropout: rates,
            } => {
                let (h, w, c) = (
                    spec.input.height as usize,
                    spec.input.width as usize,
                    spec.input.channels as usize,
                );
                let c1 = ConvDims {
                    height: h,
                    width: w,
                    channels: c,
                    filters: filters[0],
                    kernel: 3,
                    relu: true,
                };
                let c2 = ConvDims {
                    height: h - 2,
                    width: w - 2,
                    channels: filters[0],
                    filters: filters[1],
                    kernel: 3,
                    relu: true,
                };
                for (name, dims) in [("conv1", c1), ("conv2", c2)] {
                    push(
                        Layer::Conv {
                            dims,
                            w: at(&format!("{name}.weight")),
                            b: at(&format!("{name}.bias")),
                            scratch: (0..threads)
                                .map(|_| ConvScratch::new(&dims, training))
                                .collect(),
                        },
                        dims.out_len(),
                    );
                }
                let pd = pool::PoolDims {
                    height: h - 4,
                    width: w - 4,
                    channels: filters[1],
                };
                push(
                    Layer::Pool {
                        dims: pd,
                        arg: vec![0; max_batch * pd.out_len()],
                    },
                    pd.out_len(),
                );
                let (ph, pw) = cnn_pooled(spec.input);
                let flat = ph * pw * filters[1];
                let dropout_layer = |rate: f32, size: usize| Layer::Dropout {
                    rate,
                    mask: if training {
                        vec![0.0; max_batch * size]
                    } else {
                        Vec::new()
                    },
                };
                if rates[0] > 0.0 {
                    push(dropout_layer(rates[0], flat), flat);
                }
                push(dense_layer("dense", flat, *units, true), *units);
                if rates[1] > 0.0 {
                    push(dropout_layer(rates[1], *units), *units);
                }
                push(
                    dense_layer("output", *units, spec.classes, false),
                    spec.classes,
                );
            }
        }
        let acts = sizes.iter().map(|s| vec![0.0; s * max_batch]).collect();
        let dacts = if training {
            sizes.iter().map(|s| vec![0.0; s * max_batch]).collect()
        } else {
            Vec::new()
        };
        Net {
            spec: spec.clone(),
            layers,
            sizes,
            acts,
            dacts,
            max_batch,
            par: if threads > 1 {
                Parallelism::Rayon(threads)
            } else {
                Parallelism::None
            },
        }
    }

    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    pub fn max_batch(&self) -> usize {
        self.max_batch
    }

    /// Runs the network on `batch` samples of `x` (`batch * input_len` values) and returns the
    /// logits, `[batch, classes]`.
    pub fn forward(&mut self, params: &[f32], x: &[f32], batch: usize, mode: Mode) -> &[f32] {
        assert!(
            batch <= self.max_batch,
            "batch larger than the network buffers"
        );
        let par = self.par;
        for (l, layer) in self.layers.iter_mut().enumerate() {
            let (before, rest) = self.acts.split_at_mut(l);
            let input: &[f32] = if l == 0 { x } else { &before[l - 1] };
            let out = &mut rest[0];
            match layer {
                Layer::Dense { dims, w, b } => dense::forward(
                    *dims,
                    batch,
                    input,
                    &params[*w..*b],
                    &params[*b..*b + dims.outputs],
                    out,
                    par,
                ),
                Layer::Conv {
                    dims,
                    w,
                    b,
                    scratch,
                } => conv::forward(
                    dims,
                    batch,
                    input,
                    &params[*w..*b],
                    &params[*b..*b + dims.filters],
                    out,
                    scratch,
                ),
                Layer::Pool { dims, arg } => pool::forward(dims, batch, input, out, arg),
                Layer::Dropout { rate, mask } => {
                    let n = batch * self.sizes[l];
                    match mode {
                        Mode::Train { key } => dropout::forward(
                            *rate,
                            key.wrapping_add(l as u64),
                            &input[..n],
                            &mut out[..n],
                            &mut mask[..n],
                        ),
                        Mode::Eval => out[..n].copy_from_slice(&input[..n]),
                    }
                }
            }
        }
        let last = self.acts.len() - 1;
        &self.acts[last][..batch * self.spec.classes]
    }

    /// One training step's gradient: forward (dropout keyed by `key`), softmax cross-entropy
    /// against `labels`, backward into `grads` (same layout as the parameters). Returns the
    /// batch loss sum and number of correct predictions.
    pub fn train_step(
        &mut self,
        params: &[f32],
        x: &[f32],
        labels: &[u32],
        grads: &mut [f32],
        key: u64,
    ) -> BatchStats {
        assert!(!self.dacts.is_empty(), "network built for inference only");
        let batch = labels.len();
        self.forward(params, x, batch, Mode::Train { key });
        let last = self.layers.len() - 1;
        let classes = self.spec.classes;
        let stats = loss::forward_backward(
            &self.acts[last][..batch * classes],
            labels,
            classes,
            &mut self.dacts[last][..batch * classes],
        );
        let par = self.par;
        for l in (0..self.layers.len()).rev() {
            let input: &[f32] = if l == 0 { x } else { &self.acts[l - 1] };
            let output = &self.acts[l];
            let (before, rest) = self.dacts.split_at_mut(l);
            let dy = &mut rest[0];
            let dx = if l == 0 {
                None
            } else {
                Some(&mut before[l - 1][..])
            };
            match &mut self.layers[l] {
                Layer::Dense { dims, w, b } => {
                    let (gw, gb) = grads[*w..*b + dims.outputs].split_at_mut(*b - *w);
                    dense::backward(
                        *dims,
                        batch,
                        input,
                        &params[*w..*b],
                        output,
                        dy,
                        gw,
                        gb,
                        dx,
                        par,
                    );
                }
                Layer::Conv {
                    dims,
                    w,
                    b,
                    scratch,
                } => {
                    let (gw, gb) = grads[*w..*b + dims.filters].split_at_mut(*b - *w);
                    conv::backward(
                        dims,
                        batch,
                        input,
                        &params[*w..*b],
                        output,
                        dy,
                        gw,
                        gb,
                        dx,
                        scratch,
                    );
                }
                Layer::Pool { dims, arg } => {
                    if let Some(dx) = dx {
                        pool::backward(dims, batch, dy, arg, dx);
                    }
                }
                Layer::Dropout { mask, .. } => {
                    if let Some(dx) = dx {
                        let n = batch * self.sizes[l];
                        dropout::backward(&dy[..n], &mask[..n], &mut dx[..n]);
                    }
                }
            }
        }
        stats
    }
}
