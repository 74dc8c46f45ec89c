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

use burn::module::{Module, Param, RunningState};
use burn::nn::conv::Conv2d as BurnConv2d;
use burn::nn::{
    BatchNorm as BurnBatchNorm, BatchNormConfig, Linear as BurnLinear, PaddingConfig2d,
};
use burn::tensor::activation::relu6;
use burn::tensor::{Device, Tensor};
use rayon::prelude::*;

use super::{burn_input, burn_tensor, burn_values, Classifier, Engine, ModelInfo};
use crate::cpu::{self, pool, Act, Activation, BatchNorm, Padding};
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

/// The four batch-norm tensors under `prefix`.
struct BnData([Vec<f32>; 4]);

impl BnData {
    fn read(w: &Weights, prefix: &str) -> Result<BnData> {
        let g = |p: &str| w.get(&format!("{prefix}.{p}"));
        Ok(BnData([
            g("weight")?,
            g("bias")?,
            g("running_mean")?,
            g("running_var")?,
        ]))
    }
    fn view(&self) -> BatchNorm<'_> {
        BatchNorm {
            gamma: &self.0[0],
            beta: &self.0[1],
            mean: &self.0[2],
            var: &self.0[3],
            eps: BN_EPS,
        }
    }
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

#[allow(clippy::too_many_arguments)]
fn conv_bn(
    w: &Weights,
    conv: &str,
    bn: &str,
    cout: usize,
    cin: usize,
    k: usize,
    stride: usize,
    act: Activation,
) -> Result<cpu::Conv2d> {
    let bn = BnData::read(w, bn)?;
    cpu::Conv2d::new(
        &w.get(conv)?,
        cout,
        cin,
        k,
        None,
        Some(&bn.view()),
        stride,
        Padding::TfSame,
        act,
    )
}

impl LiteCpu {
    fn new(info: &'static ModelInfo, w: &Weights) -> Result<LiteCpu> {
        let stem = conv_bn(
            w,
            "_conv_stem.weight",
            "_bn0",
            STEM,
            3,
            3,
            2,
            Activation::Relu6,
        )?;
        let mut out = Vec::new();
        for (n, b) in blocks().iter().enumerate() {
            let p = format!("_blocks.{n}");
            let expand = if b.expand != 1 {
                Some(conv_bn(
                    w,
                    &format!("{p}._expand_conv.weight"),
                    &format!("{p}._bn0"),
                    b.mid(),
                    b.cin,
                    1,
                    1,
                    Activation::Relu6,
                )?)
            } else {
                None
            };
            let bn1 = BnData::read(w, &format!("{p}._bn1"))?;
            let dw = cpu::Depthwise::new(
                &w.get(&format!("{p}._depthwise_conv.weight"))?,
                b.mid(),
                b.k,
                None,
                Some(&bn1.view()),
                b.stride,
                Padding::TfSame,
                Activation::Relu6,
            )?;
            let project = conv_bn(
                w,
                &format!("{p}._project_conv.weight"),
                &format!("{p}._bn2"),
                b.cout,
                b.mid(),
                1,
                1,
                Activation::None,
            )?;
            out.push(CpuBlock {
                expand,
                dw,
                project,
                residual: b.residual(),
            });
        }
        let last = STAGES[STAGES.len() - 1].4;
        let head = conv_bn(
            w,
            "_conv_head.weight",
            "_bn1",
            HEAD,
            last,
            1,
            1,
            Activation::Relu6,
        )?;
        let fc = cpu::Linear::new(
            w.get("_fc.weight")?,
            w.get("_fc.bias")?,
            HEAD,
            CLASSES,
            Activation::None,
        )?;
        Ok(LiteCpu {
            info,
            naming: w.naming(),
            stem,
            blocks: out,
            head,
            fc,
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

/// A convolution (no bias) followed by a batch norm, as a burn module.
#[derive(Module, Debug)]
pub struct ConvBn {
    pub conv: BurnConv2d,
    pub bn: BurnBatchNorm,
}

impl ConvBn {
    #[allow(clippy::too_many_arguments)]
    fn new(
        w: &Weights,
        conv: &str,
        bn: &str,
        shape: [usize; 4],
        groups: usize,
        stride: usize,
        device: &Device,
    ) -> Result<ConvBn> {
        let [cout, _, k, _] = shape;
        let mut norm = BatchNormConfig::new(cout).with_epsilon(BN_EPS).init(device);
        let t = |name: &str| -> Result<Tensor<1>> {
            Ok(burn_tensor(w.get(&format!("{bn}.{name}"))?, [cout], device))
        };
        norm.gamma = Param::from_tensor(t("weight")?);
        norm.beta = Param::from_tensor(t("bias")?);
        norm.running_mean = RunningState::new(t("running_mean")?);
        norm.running_var = RunningState::new(t("running_var")?);
        Ok(ConvBn {
            conv: BurnConv2d {
                weight: Param::from_tensor(burn_tensor(w.get(conv)?, shape, device)),
                bias: None,
                stride: [stride, stride],
                kernel_size: [k, k],
                dilation: [1, 1],
                groups,
                // burn's `Same` is TensorFlow's: the smaller half of the padding goes first.
                padding: if k == 1 && stride == 1 {
                    PaddingConfig2d::Valid
                } else {
                    PaddingConfig2d::Same
                },
            },
            bn: norm,
        })
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.bn.forward(self.conv.forward(x))
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
        let stem = ConvBn::new(
            w,
            "_conv_stem.weight",
            "_bn0",
            [STEM, 3, 3, 3],
            1,
            2,
            device,
        )?;
        let mut out = Vec::new();
        for (n, b) in blocks().iter().enumerate() {
            let p = format!("_blocks.{n}");
            let expand = if b.expand != 1 {
                Some(ConvBn::new(
                    w,
                    &format!("{p}._expand_conv.weight"),
                    &format!("{p}._bn0"),
                    [b.mid(), b.cin, 1, 1],
                    1,
                    1,
                    device,
                )?)
            } else {
                None
            };
            out.push(MbConv {
                expand,
                depthwise: ConvBn::new(
                    w,
                    &format!("{p}._depthwise_conv.weight"),
                    &format!("{p}._bn1"),
                    [b.mid(), 1, b.k, b.k],
                    b.mid(),
                    b.stride,
                    device,
                )?,
                project: ConvBn::new(
                    w,
                    &format!("{p}._project_conv.weight"),
                    &format!("{p}._bn2"),
                    [b.cout, b.mid(), 1, 1],
                    1,
                    1,
                    device,
                )?,
                residual: b.residual(),
            });
        }
        let last = STAGES[STAGES.len() - 1].4;
        let head = ConvBn::new(
            w,
            "_conv_head.weight",
            "_bn1",
            [HEAD, last, 1, 1],
            1,
            1,
            device,
        )?;
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
            stem,
            blocks: out,
            head,
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
