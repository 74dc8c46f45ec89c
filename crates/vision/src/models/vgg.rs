//! VGG-11/13/16/19 (Simonyan & Zisserman), torchvision's layout without batch norm.
//!
//! Weights: torchvision state-dict names (`features.N.weight/bias` at the positions of the
//! convolutions in `nn.Sequential`, `classifier.{0,3,6}.weight/bias`), or timm's
//! (`features.N.*`, `pre_logits.fc1/fc2.*` stored as 7x7 and 1x1 convolutions, `head.fc.*`),
//! from `.safetensors` or a PyTorch `.pth`.
//!
//! Network: 3x3 convolutions (padding 1, bias, ReLU) with 2x2 max pooling after each group;
//! adaptive average pooling to 7x7; flatten in C, H, W order; 25088 -> 4096 -> 4096 -> 1000
//! with ReLU (dropout is identity at inference). Embeddings are the 4096 values after the second
//! fully connected layer and its ReLU (Keras' `fc2`).
//!
//! Default preprocessing is what torchvision's (and timm's `vgg16.tv_in1k`) ImageNet weights
//! expect: shorter side 256 (bilinear), centre crop 224, `torch` normalisation. Keras' VGG16
//! weights (converted from Caffe) expect `--resize stretch --interpolation nearest
//! --preprocess caffe` instead (BGR, mean subtraction).

use burn::module::{Module, Param};
use burn::nn::conv::Conv2d as BurnConv2d;
use burn::nn::pool::{AdaptiveAvgPool2dConfig, MaxPool2dConfig};
use burn::nn::{Linear as BurnLinear, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use super::{burn_input, burn_tensor, burn_values, Classifier, Engine, ModelInfo};
use crate::cpu::{self, pool, Act, Activation, Padding};
use crate::error::Result;
use crate::preprocess::{Batch, Normalize, Preprocess, Resize};
use crate::resample::Filter;
use crate::weights::{Naming, TensorSpec, Weights};

/// Marks a 2x2 max pooling in a configuration list.
const M: usize = 0;
const CFG11: &[usize] = &[64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M];
const CFG13: &[usize] = &[
    64, 64, M, 128, 128, M, 256, 256, M, 512, 512, M, 512, 512, M,
];
const CFG16: &[usize] = &[
    64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M,
];
const CFG19: &[usize] = &[
    64, 64, M, 128, 128, M, 256, 256, 256, 256, M, 512, 512, 512, 512, M, 512, 512, 512, 512, M,
];

const HIDDEN: usize = 4096;
const POOLED: usize = 7;

const TORCHVISION_PREPROCESS: Preprocess = Preprocess {
    size: 224,
    resize: Resize::ShorterCrop { shorter: 256 },
    filter: Filter::Bilinear,
    normalize: Normalize::Torch,
};

const NAMINGS: &[Naming] = &[
    Naming {
        label: "torchvision",
        map: |n| Some(n.to_string()),
        reshape_ok: |_| false,
    },
    Naming {
        label: "timm",
        map: timm_name,
        reshape_ok: |n| n == "classifier.0.weight" || n == "classifier.3.weight",
    },
];

macro_rules! vgg_info {
    ($id:ident, $name:literal, $cfg:ident, $summary:literal) => {
        pub static $id: ModelInfo = ModelInfo {
            name: $name,
            aliases: &[],
            summary: $summary,
            preprocess: TORCHVISION_PREPROCESS,
            classes: 1000,
            embedding_dim: HIDDEN,
            embedding_layer: "fc2 (second 4096-wide fully connected layer, after ReLU)",
            specs: || specs($cfg),
            namings: NAMINGS,
            load: |info, w, e| load(info, $cfg, w, e),
        };
    };
}

vgg_info!(
    VGG11,
    "vgg11",
    CFG11,
    "VGG-11, 133M parameters, torchvision/timm names"
);
vgg_info!(
    VGG13,
    "vgg13",
    CFG13,
    "VGG-13, 133M parameters, torchvision/timm names"
);
vgg_info!(
    VGG16,
    "vgg16",
    CFG16,
    "VGG-16, 138M parameters, torchvision/timm names"
);
vgg_info!(
    VGG19,
    "vgg19",
    CFG19,
    "VGG-19, 144M parameters, torchvision/timm names"
);

/// One convolution: its position in `features`, channels, and whether a pool follows.
struct ConvAt {
    index: usize,
    cin: usize,
    cout: usize,
    pool_after: bool,
}

fn layout(cfg: &[usize]) -> Vec<ConvAt> {
    let mut out: Vec<ConvAt> = Vec::new();
    let (mut i, mut cin) = (0, 3);
    for &v in cfg {
        if v == M {
            if let Some(last) = out.last_mut() {
                last.pool_after = true;
            }
            i += 1;
        } else {
            out.push(ConvAt {
                index: i,
                cin,
                cout: v,
                pool_after: false,
            });
            cin = v;
            i += 2;
        }
    }
    out
}

fn last_channels(cfg: &[usize]) -> usize {
    cfg.iter().rev().copied().find(|&v| v != M).unwrap_or(3)
}

fn specs(cfg: &[usize]) -> Vec<TensorSpec> {
    let mut s = Vec::new();
    for c in layout(cfg) {
        s.push(TensorSpec::new(
            format!("features.{}.weight", c.index),
            &[c.cout, c.cin, 3, 3],
        ));
        s.push(TensorSpec::new(
            format!("features.{}.bias", c.index),
            &[c.cout],
        ));
    }
    let flat = last_channels(cfg) * POOLED * POOLED;
    for (i, din, dout) in [(0, flat, HIDDEN), (3, HIDDEN, HIDDEN), (6, HIDDEN, 1000)] {
        s.push(TensorSpec::new(
            format!("classifier.{i}.weight"),
            &[dout, din],
        ));
        s.push(TensorSpec::new(format!("classifier.{i}.bias"), &[dout]));
    }
    s
}

fn timm_name(n: &str) -> Option<String> {
    if n.starts_with("features.") {
        return Some(n.to_string());
    }
    let (layer, param) = n.rsplit_once('.')?;
    let base = match layer {
        "classifier.0" => "pre_logits.fc1",
        "classifier.3" => "pre_logits.fc2",
        "classifier.6" => "head.fc",
        _ => return None,
    };
    Some(format!("{base}.{param}"))
}

fn load(
    info: &'static ModelInfo,
    cfg: &[usize],
    w: &Weights,
    engine: &Engine,
) -> Result<Box<dyn Classifier>> {
    match engine {
        Engine::Cpu => Ok(Box::new(VggCpu::new(info, cfg, w)?)),
        Engine::Burn(device) => Ok(Box::new(VggBurn {
            info,
            naming: w.naming(),
            module: VggModule::new(cfg, w, device)?,
            device: device.clone(),
        })),
    }
}

/// VGG on the CPU engine.
struct VggCpu {
    info: &'static ModelInfo,
    naming: &'static str,
    convs: Vec<(cpu::Conv2d, bool)>,
    fc: [cpu::Linear; 3],
}

impl VggCpu {
    fn new(info: &'static ModelInfo, cfg: &[usize], w: &Weights) -> Result<VggCpu> {
        let mut convs = Vec::new();
        for c in layout(cfg) {
            let wt = w.get(&format!("features.{}.weight", c.index))?;
            let b = w.get(&format!("features.{}.bias", c.index))?;
            let conv = cpu::Conv2d::new(
                &wt,
                c.cout,
                c.cin,
                3,
                Some(&b),
                None,
                1,
                Padding::Symmetric(1),
                Activation::Relu,
            )?;
            convs.push((conv, c.pool_after));
        }
        // torchvision flattens C, H, W; the CPU engine's activations are H, W, C, so the first
        // layer's columns are permuted once here.
        let c = last_channels(cfg);
        let p = POOLED * POOLED;
        let w0 = w.get("classifier.0.weight")?;
        let mut w0p = vec![0f32; w0.len()];
        for (dst, src) in w0p.chunks_exact_mut(c * p).zip(w0.chunks_exact(c * p)) {
            for ch in 0..c {
                for pos in 0..p {
                    dst[pos * c + ch] = src[ch * p + pos];
                }
            }
        }
        drop(w0);
        let fc1 = cpu::Linear::new(
            w0p,
            w.get("classifier.0.bias")?,
            c * p,
            HIDDEN,
            Activation::Relu,
        )?;
        let fc2 = cpu::Linear::new(
            w.get("classifier.3.weight")?,
            w.get("classifier.3.bias")?,
            HIDDEN,
            HIDDEN,
            Activation::Relu,
        )?;
        let fc3 = cpu::Linear::new(
            w.get("classifier.6.weight")?,
            w.get("classifier.6.bias")?,
            HIDDEN,
            1000,
            Activation::None,
        )?;
        Ok(VggCpu {
            info,
            naming: w.naming(),
            convs,
            fc: [fc1, fc2, fc3],
        })
    }

    fn hidden(&self, x: &Batch) -> Vec<f32> {
        let mut a = Act::from_batch(x);
        for (conv, pool_after) in &self.convs {
            a = conv.forward(&a, None);
            if *pool_after {
                a = pool::max_pool(&a, 2, 2);
            }
        }
        let a = pool::adaptive_avg_pool(&a, POOLED, POOLED);
        let h = self.fc[0].forward(a.data(), x.n);
        self.fc[1].forward(&h, x.n)
    }
}

/// Five 2x2 poolings need at least 32 x 32 pixels.
fn check_input(x: &Batch) -> Result<()> {
    if x.height < 32 || x.width < 32 {
        return Err(crate::VisionError::Invalid(format!(
            "VGG needs inputs of at least 32x32 pixels, got {}x{}",
            x.height, x.width
        )));
    }
    Ok(())
}

impl Classifier for VggCpu {
    fn info(&self) -> &'static ModelInfo {
        self.info
    }
    fn naming(&self) -> &'static str {
        self.naming
    }
    fn logits(&self, x: &Batch) -> Result<Vec<f32>> {
        check_input(x)?;
        Ok(self.fc[2].forward(&self.hidden(x), x.n))
    }
    fn embed(&self, x: &Batch) -> Result<Vec<f32>> {
        check_input(x)?;
        Ok(self.hidden(x))
    }
}

/// VGG as a burn module (NCHW, any burn device).
#[derive(Module, Debug)]
pub struct VggModule {
    pub convs: Vec<BurnConv2d>,
    pub pool_after: Vec<bool>,
    pub fc1: BurnLinear,
    pub fc2: BurnLinear,
    pub fc3: BurnLinear,
}

impl VggModule {
    /// Builds the module from resolved weights (canonical torchvision names).
    pub fn new(cfg: &[usize], w: &Weights, device: &Device) -> Result<VggModule> {
        let mut convs = Vec::new();
        let mut pool_after = Vec::new();
        for c in layout(cfg) {
            let wt = w.get(&format!("features.{}.weight", c.index))?;
            let b = w.get(&format!("features.{}.bias", c.index))?;
            convs.push(BurnConv2d {
                weight: Param::from_tensor(burn_tensor(wt, [c.cout, c.cin, 3, 3], device)),
                bias: Some(Param::from_tensor(burn_tensor(b, [c.cout], device))),
                stride: [1, 1],
                kernel_size: [3, 3],
                dilation: [1, 1],
                groups: 1,
                padding: PaddingConfig2d::Explicit(1, 1, 1, 1),
            });
            pool_after.push(c.pool_after);
        }
        let flat = last_channels(cfg) * POOLED * POOLED;
        let linear = |i: usize, din: usize, dout: usize| -> Result<BurnLinear> {
            let wt: Tensor<2> = burn_tensor(
                w.get(&format!("classifier.{i}.weight"))?,
                [dout, din],
                device,
            );
            let b = burn_tensor(w.get(&format!("classifier.{i}.bias"))?, [dout], device);
            Ok(BurnLinear {
                weight: Param::from_tensor(wt.transpose()),
                bias: Some(Param::from_tensor(b)),
            })
        };
        Ok(VggModule {
            convs,
            pool_after,
            fc1: linear(0, flat, HIDDEN)?,
            fc2: linear(3, HIDDEN, HIDDEN)?,
            fc3: linear(6, HIDDEN, 1000)?,
        })
    }

    /// Output of the second fully connected layer (after ReLU), `[n, 4096]`.
    pub fn hidden(&self, x: Tensor<4>) -> Tensor<2> {
        let pool = MaxPool2dConfig::new([2, 2]).init();
        let mut x = x;
        for (conv, &p) in self.convs.iter().zip(&self.pool_after) {
            x = relu(conv.forward(x));
            if p {
                x = pool.forward(x);
            }
        }
        let x = AdaptiveAvgPool2dConfig::new([POOLED, POOLED])
            .init()
            .forward(x);
        let x: Tensor<2> = x.flatten(1, 3);
        relu(self.fc2.forward(relu(self.fc1.forward(x))))
    }

    /// Logits, `[n, 1000]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.fc3.forward(self.hidden(x))
    }
}

struct VggBurn {
    info: &'static ModelInfo,
    naming: &'static str,
    module: VggModule,
    device: Device,
}

impl Classifier for VggBurn {
    fn info(&self) -> &'static ModelInfo {
        self.info
    }
    fn naming(&self) -> &'static str {
        self.naming
    }
    fn logits(&self, x: &Batch) -> Result<Vec<f32>> {
        check_input(x)?;
        burn_values(self.module.forward(burn_input(x, &self.device)))
    }
    fn embed(&self, x: &Batch) -> Result<Vec<f32>> {
        check_input(x)?;
        burn_values(self.module.hidden(burn_input(x, &self.device)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vgg16_names_and_shapes_are_torchvisions() {
        let s = specs(CFG16);
        assert_eq!(s.len(), 32);
        let idx: Vec<String> = s
            .iter()
            .step_by(2)
            .take(13)
            .map(|t| t.name.clone())
            .collect();
        let want = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28];
        for (n, i) in idx.iter().zip(want) {
            assert_eq!(n, &format!("features.{i}.weight"));
        }
        assert_eq!(s[26].shape, vec![4096, 25088]);
        let params: usize = s.iter().map(|t| t.shape.iter().product::<usize>()).sum();
        assert_eq!(params, 138_357_544);
        assert_eq!(
            timm_name("classifier.0.weight").as_deref(),
            Some("pre_logits.fc1.weight")
        );
        assert_eq!(
            timm_name("classifier.6.bias").as_deref(),
            Some("head.fc.bias")
        );
        assert_eq!(specs(CFG19).len(), 38);
        assert_eq!(specs(CFG11).len(), 22);
    }
}
