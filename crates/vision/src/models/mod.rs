//! The model registry: every pretrained classifier is described by a [`ModelInfo`] (name,
//! input size, default preprocessing, tensors it needs under which naming conventions, a
//! loader) and runs behind the [`Classifier`] trait.
//!
//! Adding a model (ResNet-50, MobileNet...) is one file: a `pub static` [`ModelInfo`] whose
//! `specs` list the tensors under canonical names, whose `namings` map them to other
//! conventions, and whose `load` builds the network for an [`Engine`]; then one line in
//! [`REGISTRY`]. The building blocks are in [`crate::cpu`] (fast CPU engine) and in burn
//! (`burn::nn`, for [`Engine::Burn`]).
//!
//! ```no_run
//! use dlscope_vision::models::{self, Engine};
//! let info = models::find("efficientnet-lite0").unwrap();
//! let model = models::load(info, "efficientnet_lite0.safetensors".as_ref(), &Engine::Cpu).unwrap();
//! println!("{} reads {} names", info.name, model.naming());
//! ```

pub mod blocks;
pub mod efficientnet_lite;
pub mod vgg;

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};

/// burn's device type, for [`Engine::Burn`] (`BurnDevice::default()` is the best backend burn
/// was built with; `BurnDevice::flex()` the pure-Rust CPU one).
pub use burn::tensor::Device as BurnDevice;

use crate::error::{Result, VisionError};
use crate::preprocess::{Batch, Preprocess};
use crate::weights::{Naming, TensorSpec, WeightFile, Weights};

/// Where a model runs.
#[derive(Debug, Clone, Default)]
pub enum Engine {
    /// dlscope's CPU engine ([`crate::cpu`]): NHWC, gemm, folded batch norms. The fast choice on
    /// a CPU.
    #[default]
    Cpu,
    /// A burn module on a burn device (`Device::flex()` on a CPU, or any backend burn was
    /// built with). The reference implementation and the way to a GPU.
    Burn(Device),
}

impl Engine {
    pub fn name(&self) -> &'static str {
        match self {
            Engine::Cpu => "cpu",
            Engine::Burn(_) => "burn",
        }
    }
}

/// A loaded classifier.
pub trait Classifier: Send + Sync {
    /// What model this is.
    fn info(&self) -> &'static ModelInfo;
    /// The naming convention its weights file used (`torchvision`, `timm`...).
    fn naming(&self) -> &'static str;
    /// Logits for a batch: `x.n` rows of `info().classes` values.
    fn logits(&self, x: &Batch) -> Result<Vec<f32>>;
    /// Penultimate-layer features: `x.n` rows of `info().embedding_dim` values.
    fn embed(&self, x: &Batch) -> Result<Vec<f32>>;
}

/// Everything dlscope knows about one model.
pub struct ModelInfo {
    /// Registry name, as typed on the command line.
    pub name: &'static str,
    /// Other accepted names.
    pub aliases: &'static [&'static str],
    pub summary: &'static str,
    /// Preprocessing the usual weights for this model expect.
    pub preprocess: Preprocess,
    pub classes: usize,
    /// Length of [`Classifier::embed`] rows, and which layer they come from.
    pub embedding_dim: usize,
    pub embedding_layer: &'static str,
    /// Tensors the model needs, canonical names and shapes, in checking order.
    pub specs: fn() -> Vec<TensorSpec>,
    /// Naming conventions accepted for weights files, canonical first.
    pub namings: &'static [Naming],
    /// Builds the network from resolved weights.
    pub load: fn(&'static ModelInfo, &Weights, &Engine) -> Result<Box<dyn Classifier>>,
}

impl std::fmt::Debug for ModelInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelInfo")
            .field("name", &self.name)
            .finish()
    }
}

/// All models, in the order `dlscope classify --help` lists them.
pub static REGISTRY: &[&ModelInfo] = &[
    &vgg::VGG11,
    &vgg::VGG13,
    &vgg::VGG16,
    &vgg::VGG19,
    &efficientnet_lite::EFFICIENTNET_LITE0,
];

/// The model called `name` (or one of its aliases; `_` and `-` are interchangeable).
pub fn find(name: &str) -> Result<&'static ModelInfo> {
    let norm = |s: &str| s.to_ascii_lowercase().replace('_', "-");
    let want = norm(name);
    REGISTRY
        .iter()
        .copied()
        .find(|m| norm(m.name) == want || m.aliases.iter().any(|a| norm(a) == want))
        .ok_or_else(|| VisionError::UnknownModel {
            name: name.to_string(),
            known: names(),
        })
}

/// Registry names, comma-separated.
pub fn names() -> String {
    REGISTRY
        .iter()
        .map(|m| m.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Opens `path`, checks it against what `info` needs (the first missing or misshapen tensor is
/// the error) and builds the model on `engine`.
pub fn load(info: &'static ModelInfo, path: &Path, engine: &Engine) -> Result<Box<dyn Classifier>> {
    let file = WeightFile::open(path)?;
    let weights = Weights::resolve(&file, &(info.specs)(), info.namings)?;
    (info.load)(info, &weights, engine)
}

/// A burn tensor from f32 values.
pub(crate) fn burn_tensor<const D: usize>(
    data: Vec<f32>,
    shape: [usize; D],
    device: &Device,
) -> Tensor<D> {
    Tensor::from_data(TensorData::new(data, shape), device)
}

/// Reads a burn tensor back as f32 values.
pub(crate) fn burn_values<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    t.try_into_data()
        .map_err(|e| VisionError::Burn(format!("{e:?}")))?
        .try_into_vec::<f32>()
        .map_err(|e| VisionError::Burn(format!("{e:?}")))
}

/// The NCHW input batch as a burn tensor.
pub(crate) fn burn_input(x: &Batch, device: &Device) -> Tensor<4> {
    burn_tensor(x.data.clone(), [x.n, 3, x.height, x.width], device)
}
