//! EfficientNet-Lite0 (Google's TF EfficientNet-Lite ImageNet checkpoint): MBConv blocks
//! without squeeze-and-excitation, ReLU6, batch norm eps 1e-3, TensorFlow "SAME" padding.
//!
//! Weights: lukemelas EfficientNet-PyTorch names (`_conv_stem`, `_bn0`,
//! `_blocks.N._expand_conv` / `_depthwise_conv` / `_project_conv` / `_bn0..2`, `_conv_head`,
//! `_bn1`, `_fc`), as in the checkpoint `efficientnet-lite0-57934424.pth` and its safetensors
//! copy; or timm `tf_efficientnet_lite0` names (`conv_stem`, `bn1`, `blocks.S.B.conv_pw/conv_dw/
//! conv_pwl/bn1..3`, `conv_head`, `bn2`, `classifier`).
//!
//! Default preprocessing is the TF eval pipeline the checkpoint was evaluated with: centred
//! square crop of 224/256 of the shorter side, Pillow bicubic to 224 x 224, `(x - 127) / 128`.
//! Embeddings are the 1280 values after the head convolution and global average pooling.

use burn::module::{Module, Param};
use burn::nn::Linear as BurnLinear;
use burn::tensor::activation::relu6;
use burn::tensor::{Device, Tensor};
use rayon::prelude::*;

use super::blocks::{cpu_conv, cpu_depthwise, ConvBn, ConvBnAt};
use super::{burn_input, burn_tensor, burn_values, Classifier, Engine, ModelInfo};
use crate::cpu::{self, pool, Act, Activation, Padding};
use crate::error::Result;
use crate::preprocess::{Batch, Normalize, Preprocess, Resize};
use crate::resample::Filter;
use crate::weights::{Naming, TensorSpec, Weights};

/// (expand ratio, kernel, first stride, in channels, out channels, repeats) per stage.
const STAGES: [(usize, usize, usize, usize, usize, usize); 7] = [
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
];
const STEM: usize = 32;
const HEAD: usize = 1280;
const CLASSES: usize = 1000;
const BN_EPS: f64 = 1e-3;

pub static EFFICIENTNET_LITE0: ModelInfo = ModelInfo {
    name: "efficientnet-lite0",
    aliases: &["efficientnet_lite0", "tf_efficientnet_lite0", "lite0"],
    summary: "EfficientNet-Lite0, 4.7M parameters, lukemelas/timm names, TF SAME padding",
    preprocess: Preprocess {
        size: 224,
        resize: Resize::CentralCrop { padding: 32 },
        filter: Filter::Bicubic,
        normalize: Normalize::Lite,
    },
    classes: CLASSES,
    embedding_dim: HEAD,
    embedding_layer: "global average pool after the 1x1 head convolution (1280)",
    specs,
    namings: &[
        Naming {
            label: "lukemelas",
            map: |n| Some(n.to_string()),
            reshape_ok: |_| false,
        },
        Naming {
            label: "timm",
            map: timm_name,
            reshape_ok: |_| false,
        },
    ],
    load,
};

/// One MBConv block: (expand ratio, kernel, stride, in, out); index = `_blocks.N`.
#[derive(Debug, Clone, Copy)]
struct BlockCfg {
    expand: usize,
    k: usize,
    stride: usize,
    cin: usize,
    cout: usize,
}

impl BlockCfg {
    fn mid(&self) -> usize {
        self.cin * self.expand
    }
    fn residual(&self) -> bool {
        self.stride == 1 && self.cin == self.cout
    }
}

fn blocks() -> Vec<BlockCfg> {
    let mut out = Vec::new();
    for (e, k, s, i, o, r) in STAGES {
        for j in 0..r {
            out.push(BlockCfg {
                expand: e,
                k,
                stride: if j == 0 { s } else { 1 },
                cin: if j == 0 { i } else { o },
                cout: o,
            });
        }
    }
    out
}

fn bn_specs(s: &mut Vec<TensorSpec>, prefix: &str, c: usize) {
    for p in ["weight", "bias", "running_mean", "running_var"] {
        s.push(TensorSpec::new(format!("{prefix}.{p}"), &[c]));
    }
}

fn specs() -> Vec<TensorSpec> {
    let mut s = vec![TensorSpec::new("_conv_stem.weight", &[STEM, 3, 3, 3])];
    bn_specs(&mut s, "_bn0", STEM);
    for (n, b) in blocks().iter().enumerate() {
        let p = format!("_blocks.{n}");
        if b.expand != 1 {
            s.push(TensorSpec::new(
                format!("{p}._expand_conv.weight"),
                &[b.mid(), b.cin, 1, 1],
            ));
            bn_specs(&mut s, &format!("{p}._bn0"), b.mid());
        }
        s.push(TensorSpec::new(
            format!("{p}._depthwise_conv.weight"),
            &[b.mid(), 1, b.k, b.k],
        ));
        bn_specs(&mut s, &format!("{p}._bn1"), b.mid());
        s.push(TensorSpec::new(
            format!("{p}._project_conv.weight"),
            &[b.cout, b.mid(), 1, 1],
        ));
        bn_specs(&mut s, &format!("{p}._bn2"), b.cout);
    }
    let last = STAGES[STAGES.len() - 1].4;
    s.push(TensorSpec::new("_conv_head.weight", &[HEAD, last, 1, 1]));
    bn_specs(&mut s, "_bn1", HEAD);
    s.push(TensorSpec::new("_fc.weight", &[CLASSES, HEAD]));
    s.push(TensorSpec::new("_fc.bias", &[CLASSES]));
    s
}

/// lukemelas name -> timm `tf_efficientnet_lite0` name (the table in the fixture notes).
fn timm_name(src: &str) -> Option<String> {
    let parts: Vec<&str> = src.split('.').collect();
    if parts[0] != "_blocks" {
        let top = match parts[0] {
            "_conv_stem" => "conv_stem",
            "_bn0" => "bn1",
            "_conv_head" => "conv_head",
            "_bn1" => "bn2",
            "_fc" => "classifier",
            _ => return None,
        };
        return Some(format!("{top}.{}", parts[1..].join(".")));
    }
    let n: usize = parts.get(1)?.parse().ok()?;
    let (mut stage, mut j, mut left) = (0, n, n);
    for (si, st) in STAGES.iter().enumerate() {
        if left < st.5 {
            stage = si;
            j = left;
            break;
        }
        left -= st.5;
    }
    let depthwise_separable = blocks().get(n)?.expand == 1;
    let sub = match (depthwise_separable, *parts.get(2)?) {
        (true, "_depthwise_conv") => "conv_dw",
        (true, "_bn1") => "bn1",
        (true, "_project_conv") => "conv_pw",
        (true, "_bn2") => "bn2",
        (false, "_expand_conv") => "conv_pw",
        (false, "_bn0") => "bn1",
        (false, "_depthwise_conv") => "conv_dw",
        (false, "_bn1") => "bn2",
        (false, "_project_conv") => "conv_pwl",
        (false, "_bn2") => "bn3",
        _ => return None,
    };
    Some(format!("blocks.{stage}.{j}.{sub}.{}", parts[3..].join(".")))
}

fn load(info: &'static ModelInfo, w: &Weights, engine: &Engine) -> Result<Box<dyn Classifier>> {
    match engine {
        Engine::Cpu => Ok(Box::new(LiteCpu::new(info, w)?)),
        Engine::Burn(device) => Ok(Box::new(LiteBurn {
            info,
            naming: w.naming(),
            module: EfficientNetLiteModule::new(w, device)?,
            device: device.clone(),
        })),
    }
}

/// A layer of the network in the weights (TF SAME padding, eps 1e-3 everywhere).
fn layer(conv: String, bn: String, shape: [usize; 4], groups: usize, stride: usize) -> ConvBnAt {
    ConvBnAt {
        conv,
        bn,
        shape,
        groups,
        stride,
        pad: Padding::TfSame,
        eps: BN_EPS,
    }
}

fn stem_at() -> ConvBnAt {
    layer(
        "_conv_stem.weight".into(),
        "_bn0".into(),
        [STEM, 3, 3, 3],
        1,
        2,
    )
}

fn head_at() -> ConvBnAt {
    let last = STAGES[STAGES.len() - 1].4;
    layer(
        "_conv_head.weight".into(),
        "_bn1".into(),
        [HEAD, last, 1, 1],
        1,
        1,
    )
}

/// The layers of block `_blocks.n`: (expand, depthwise, project).
fn block_at(n: usize, b: &BlockCfg) -> (Option<ConvBnAt>, ConvBnAt, ConvBnAt) {
    let p = format!("_blocks.{n}");
    let expand = (b.expand != 1).then(|| {
        layer(
            format!("{p}._expand_conv.weight"),
            format!("{p}._bn0"),
            [b.mid(), b.cin, 1, 1],
            1,
            1,
        )
    });
    let dw = layer(
        format!("{p}._depthwise_conv.weight"),
        format!("{p}._bn1"),
        [b.mid(), 1, b.k, b.k],
        b.mid(),
        b.stride,
    );
    let project = layer(
        format!("{p}._project_conv.weight"),
        format!("{p}._bn2"),
        [b.cout, b.mid(), 1, 1],
        1,
        1,
    );
    (expand, dw, project)
}

struct CpuBlock {
    expand: Option<cpu::Conv2d>,
    dw: cpu::Depthwise,
    project: cpu::Conv2d,
    residual: bool,
}

/// EfficientNet-Lite on the CPU engine (batch norms folded into the convolutions).
struct LiteCpu {
    info: &'static ModelInfo,
    naming: &'static str,
    stem: cpu::Conv2d,
    blocks: Vec<CpuBlock>,
    head: cpu::Conv2d,
    fc: cpu::Linear,
}

impl LiteCpu {
    fn new(info: &'static ModelInfo, w: &Weights) -> Result<LiteCpu> {
        let mut out = Vec::new();
        for (n, b) in blocks().iter().enumerate() {
            let (expand, dw, project) = block_at(n, b);
            out.push(CpuBlock {
                expand: expand
                    .map(|e| cpu_conv(w, &e, Activation::Relu6))
                    .transpose()?,
                dw: cpu_depthwise(w, &dw, Activation::Relu6)?,
                project: cpu_conv(w, &project, Activation::None)?,
                residual: b.residual(),
            });
        }
        Ok(LiteCpu {
            info,
            naming: w.naming(),
            stem: cpu_conv(w, &stem_at(), Activation::Relu6)?,
            blocks: out,
            head: cpu_conv(w, &head_at(), Activation::Relu6)?,
            fc: cpu::Linear::new(
                w.get("_fc.weight")?,
                w.get("_fc.bias")?,
                HEAD,
                CLASSES,
                Activation::None,
            )?,
        })
    }

    /// Pooled features of a batch. Several images run one per thread, each through the
    /// whole network: one image's largest activation (112 x 112 x 96, 4.8 MB) stays in cache,
    /// where a whole batch's would not, and the depthwise layers are bound by memory traffic.
    fn features(&self, x: &Batch) -> Vec<f32> {
        if x.n < 2 {
            return self.features_of(x);
        }
        let rows: Vec<Vec<f32>> = (0..x.n)
            .into_par_iter()
            .map(|i| {
                let one = Batch {
                    n: 1,
                    height: x.height,
                    width: x.width,
                    data: x.image(i).to_vec(),
                };
                self.features_of(&one)
            })
            .collect();
        rows.concat()
    }

    fn features_of(&self, x: &Batch) -> Vec<f32> {
        let mut a = self.stem.forward(&Act::from_batch(x), None);
        for b in &self.blocks {
            let h = match &b.expand {
                Some(e) => b.dw.forward(&e.forward(&a, None)),
                None => b.dw.forward(&a),
            };
            a = b.project.forward(&h, b.residual.then_some(&a));
        }
        pool::global_avg_pool(&self.head.forward(&a, None))
    }
}

impl Classifier for LiteCpu {
    fn info(&self) -> &'static ModelInfo {
        self.info
    }
    fn naming(&self) -> &'static str {
        self.naming
    }
    fn logits(&self, x: &Batch) -> Result<Vec<f32>> {
        Ok(self.fc.forward(&self.features(x), x.n))
    }
    fn embed(&self, x: &Batch) -> Result<Vec<f32>> {
        Ok(self.features(x))
    }
}

/// One MBConv block as a burn module.
#[derive(Module, Debug)]
pub struct MbConv {
    pub expand: Option<ConvBn>,
    pub depthwise: ConvBn,
    pub project: ConvBn,
    pub residual: bool,
}

/// EfficientNet-Lite0 as a burn module (NCHW, any burn device).
#[derive(Module, Debug)]
pub struct EfficientNetLiteModule {
    pub stem: ConvBn,
    pub blocks: Vec<MbConv>,
    pub head: ConvBn,
    pub fc: BurnLinear,
}

impl EfficientNetLiteModule {
    /// Builds the module from resolved weights (canonical lukemelas names).
    pub fn new(w: &Weights, device: &Device) -> Result<EfficientNetLiteModule> {
        let mut out = Vec::new();
        for (n, b) in blocks().iter().enumerate() {
            let (expand, dw, project) = block_at(n, b);
            out.push(MbConv {
                expand: expand.map(|e| ConvBn::new(w, &e, device)).transpose()?,
                depthwise: ConvBn::new(w, &dw, device)?,
                project: ConvBn::new(w, &project, device)?,
                residual: b.residual(),
            });
        }
        let fw: Tensor<2> = burn_tensor(w.get("_fc.weight")?, [CLASSES, HEAD], device);
        let fc = BurnLinear {
            weight: Param::from_tensor(fw.transpose()),
            bias: Some(Param::from_tensor(burn_tensor(
                w.get("_fc.bias")?,
                [CLASSES],
                device,
            ))),
        };
        Ok(EfficientNetLiteModule {
            stem: ConvBn::new(w, &stem_at(), device)?,
            blocks: out,
            head: ConvBn::new(w, &head_at(), device)?,
            fc,
        })
    }

    /// Globally pooled head features, `[n, 1280]`.
    pub fn features(&self, x: Tensor<4>) -> Tensor<2> {
        let mut x = relu6(self.stem.forward(x));
        for b in &self.blocks {
            let mut h = x.clone();
            if let Some(e) = &b.expand {
                h = relu6(e.forward(h));
            }
            h = relu6(b.depthwise.forward(h));
            h = b.project.forward(h);
            x = if b.residual { h + x } else { h };
        }
        let x = relu6(self.head.forward(x));
        x.mean_dim(3).mean_dim(2).flatten(1, 3)
    }

    /// Logits, `[n, 1000]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.fc.forward(self.features(x))
    }
}

struct LiteBurn {
    info: &'static ModelInfo,
    naming: &'static str,
    module: EfficientNetLiteModule,
    device: Device,
}

impl Classifier for LiteBurn {
    fn info(&self) -> &'static ModelInfo {
        self.info
    }
    fn naming(&self) -> &'static str {
        self.naming
    }
    fn logits(&self, x: &Batch) -> Result<Vec<f32>> {
        burn_values(self.module.forward(burn_input(x, &self.device)))
    }
    fn embed(&self, x: &Batch) -> Result<Vec<f32>> {
        burn_values(self.module.features(burn_input(x, &self.device)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_checkpoint_layout() {
        let s = specs();
        assert_eq!(s.len(), 247);
        let params: usize = s.iter().map(|t| t.shape.iter().product::<usize>()).sum();
        assert_eq!(params, 4_694_024);
        assert_eq!(
            timm_name("_bn0.running_var").as_deref(),
            Some("bn1.running_var")
        );
        assert_eq!(
            timm_name("_blocks.0._project_conv.weight").as_deref(),
            Some("blocks.0.0.conv_pw.weight")
        );
        assert_eq!(
            timm_name("_blocks.4._project_conv.weight").as_deref(),
            Some("blocks.2.1.conv_pwl.weight")
        );
        assert_eq!(
            timm_name("_blocks.15._bn0.bias").as_deref(),
            Some("blocks.6.0.bn1.bias")
        );
        assert_eq!(
            timm_name("_fc.weight").as_deref(),
            Some("classifier.weight")
        );
        let res: Vec<usize> = blocks()
            .iter()
            .enumerate()
            .filter(|(_, b)| b.residual())
            .map(|(i, _)| i)
            .collect();
        assert_eq!(res, vec![2, 4, 6, 7, 9, 10, 12, 13, 14]);
    }
}
