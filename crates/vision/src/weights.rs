//! Weight files: `.safetensors` (memory-mapped) and PyTorch `.pth`/`.pt` checkpoints (feature
//! `pth`), read by tensor name, converted to f32, and checked against what a model needs before
//! any heavy work, so a wrong file fails fast and names the first tensor that does not fit.
//!
//! ```no_run
//! use dlscope_vision::weights::{Naming, TensorSpec, WeightFile, Weights};
//! let file = WeightFile::open("vgg16.safetensors".as_ref()).unwrap();
//! let specs = vec![TensorSpec::new("features.0.weight", &[64, 3, 3, 3])];
//! let w = Weights::resolve(&file, &specs, &[Naming::identity("torchvision")]).unwrap();
//! let conv0: Vec<f32> = w.get("features.0.weight").unwrap();
//! ```
//!
//! Where weights come from when `--weights` is not given: [`find_weights`] looks for
//! `<models dir>/<model>.safetensors` (then `.pth`, then an earlier download), the models dir
//! being `$DLSCOPE_MODELS` or the user cache's `dlscope/models`. Nothing is downloaded unless
//! the caller passes a [`Fetch`] (with the `download` feature, [`crate::download`]'s
//! `Downloader` fetches the pinned URL and checks its SHA-256).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{Result, VisionError};

/// Environment variable naming the folder that holds `<model>.safetensors` files.
pub const MODELS_ENV: &str = "DLSCOPE_MODELS";

/// An open weights file.
pub struct WeightFile {
    path: PathBuf,
    store: Store,
}

enum Store {
    Safetensors {
        map: memmap2::Mmap,
        data_start: usize,
        meta: safetensors::tensor::Metadata,
    },
    #[cfg(feature = "pth")]
    Pth(pytorch_reader::PytorchReader),
}

impl std::fmt::Debug for WeightFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeightFile")
            .field("path", &self.path)
            .field("tensors", &self.len())
            .finish()
    }
}

/// Element types a tensor can be stored in and still be read as f32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Elem {
    F32,
    F16,
    BF16,
    F64,
    Other(&'static str),
}

impl WeightFile {
    /// Opens `path`. The format is taken from the content: a PyTorch zip archive (`PK`), a
    /// legacy or plain pickle (`0x80`), a tar checkpoint, else safetensors.
    pub fn open(path: &Path) -> Result<WeightFile> {
        let file = std::fs::File::open(path).map_err(|e| VisionError::io(path, "open", e))?;
        // SAFETY: read-only map of an input file dlscope never writes; a file truncated by
        // another process meanwhile can raise SIGBUS, as with any mmap-based reader.
        let map =
            unsafe { memmap2::Mmap::map(&file) }.map_err(|e| VisionError::io(path, "mmap", e))?;
        let looks_pth = map.starts_with(b"PK\x03\x04")
            || map.first() == Some(&0x80)
            || (map.len() > 262 && &map[257..262] == b"ustar");
        if looks_pth {
            return Self::open_pth(path);
        }
        let (n, meta) = safetensors::SafeTensors::read_metadata(&map).map_err(|e| {
            VisionError::WeightsFormat {
                path: path.to_path_buf(),
                why: format!("not a PyTorch checkpoint, and as safetensors: {e}"),
            }
        })?;
        Ok(WeightFile {
            path: path.to_path_buf(),
            store: Store::Safetensors {
                map,
                data_start: 8 + n,
                meta,
            },
        })
    }

    #[cfg(feature = "pth")]
    fn open_pth(path: &Path) -> Result<WeightFile> {
        let reader =
            pytorch_reader::PytorchReader::new(path).map_err(|e| VisionError::WeightsFormat {
                path: path.to_path_buf(),
                why: format!("PyTorch checkpoint: {e}"),
            })?;
        Ok(WeightFile {
            path: path.to_path_buf(),
            store: Store::Pth(reader),
        })
    }

    #[cfg(not(feature = "pth"))]
    fn open_pth(path: &Path) -> Result<WeightFile> {
        Err(VisionError::FeatureDisabled {
            what: format!("{}: reading a PyTorch checkpoint", path.display()),
            feature: "pth",
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of tensors in the file.
    pub fn len(&self) -> usize {
        match &self.store {
            Store::Safetensors { meta, .. } => meta.tensors().len(),
            #[cfg(feature = "pth")]
            Store::Pth(r) => r.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All tensor names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = match &self.store {
            Store::Safetensors { meta, .. } => meta.tensors().into_keys().collect(),
            #[cfg(feature = "pth")]
            Store::Pth(r) => r.keys(),
        };
        names.sort();
        names
    }

    /// Shape of tensor `name`, if present.
    pub fn shape(&self, name: &str) -> Option<Vec<usize>> {
        match &self.store {
            Store::Safetensors { meta, .. } => meta.info(name).map(|i| i.shape.clone()),
            #[cfg(feature = "pth")]
            Store::Pth(r) => r.get(name).map(|t| t.shape().to_vec()),
        }
    }

    fn elem(&self, name: &str) -> Option<Elem> {
        use safetensors::Dtype as D;
        match &self.store {
            Store::Safetensors { meta, .. } => meta.info(name).map(|i| match i.dtype {
                D::F32 => Elem::F32,
                D::F16 => Elem::F16,
                D::BF16 => Elem::BF16,
                D::F64 => Elem::F64,
                D::U8 => Elem::Other("U8"),
                D::I64 => Elem::Other("I64"),
                D::I32 => Elem::Other("I32"),
                _ => Elem::Other("a non-float type"),
            }),
            #[cfg(feature = "pth")]
            Store::Pth(r) => r.get(name).map(|t| {
                use pytorch_reader::DType as P;
                match t.dtype() {
                    P::F32 => Elem::F32,
                    P::F16 => Elem::F16,
                    P::BF16 => Elem::BF16,
                    P::F64 => Elem::F64,
                    P::I64 => Elem::Other("I64"),
                    _ => Elem::Other("a non-float type"),
                }
            }),
        }
    }

    /// Reads tensor `name` as f32 (row-major), converting from f16, bf16 or f64.
    pub fn read_f32(&self, name: &str) -> Result<Vec<f32>> {
        let err = |why: String| VisionError::TensorData {
            path: self.path.clone(),
            name: name.to_string(),
            why,
        };
        let elem = self
            .elem(name)
            .ok_or_else(|| err("not in the file".into()))?;
        let bytes: std::borrow::Cow<[u8]> = match &self.store {
            Store::Safetensors {
                map,
                data_start,
                meta,
            } => {
                let info = meta
                    .info(name)
                    .ok_or_else(|| err("not in the file".into()))?;
                let (s, e) = info.data_offsets;
                std::borrow::Cow::Borrowed(
                    map.get(data_start + s..data_start + e)
                        .ok_or_else(|| err("data lies outside the file".into()))?,
                )
            }
            #[cfg(feature = "pth")]
            Store::Pth(r) => {
                let t = r.get(name).ok_or_else(|| err("not in the file".into()))?;
                std::borrow::Cow::Owned(
                    t.read()
                        .map_err(|e| err(format!("cannot read its data: {e}")))?,
                )
            }
        };
        Ok(match elem {
            Elem::F32 => bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Elem::F64 => bytes
                .chunks_exact(8)
                .map(|b| {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    f64::from_le_bytes(a) as f32
                })
                .collect(),
            Elem::BF16 => bytes
                .chunks_exact(2)
                .map(|b| f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16))
                .collect(),
            Elem::F16 => bytes
                .chunks_exact(2)
                .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
                .collect(),
            Elem::Other(t) => {
                return Err(err(format!(
                    "stored as {t}, which is not a float type a model weight can have"
                )))
            }
        })
    }
}

/// IEEE half to single precision (exact).
fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1f);
    let man = u32::from(h & 0x3ff);
    let bits = match (exp, man) {
        (0, 0) => sign,
        (0, m) => {
            // Subnormal: renormalise.
            let shift = m.leading_zeros() - 21;
            let m = (m << shift) & 0x3ff;
            sign | ((127 - 15 + 1 - shift) << 23) | (m << 13)
        }
        (0x1f, m) => sign | 0x7f80_0000 | (m << 13),
        (e, m) => sign | ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

/// A tensor a model needs, by its canonical name (the naming the model is written against).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSpec {
    pub name: String,
    pub shape: Vec<usize>,
}

impl TensorSpec {
    pub fn new(name: impl Into<String>, shape: &[usize]) -> Self {
        TensorSpec {
            name: name.into(),
            shape: shape.to_vec(),
        }
    }
}

/// A naming convention: maps a canonical name to the name in files of this convention. A file
/// tensor may have a different shape with the same element count when `reshape_ok` allows it
/// for that canonical name (timm's conv-ized VGG classifier stores `[4096, 512, 7, 7]` where
/// torchvision stores `[4096, 25088]`, in the same memory order).
#[derive(Clone, Copy)]
pub struct Naming {
    pub label: &'static str,
    pub map: fn(&str) -> Option<String>,
    pub reshape_ok: fn(&str) -> bool,
}

impl Naming {
    /// The canonical names themselves.
    pub fn identity(label: &'static str) -> Naming {
        Naming {
            label,
            map: |n| Some(n.to_string()),
            reshape_ok: |_| false,
        }
    }
}

/// Tensors of one file resolved against what a model needs: every name is present and every
/// shape fits. Data is read on [`Weights::get`], one tensor at a time.
pub struct Weights<'a> {
    file: &'a WeightFile,
    naming: &'static str,
    /// canonical name -> name in the file.
    names: HashMap<String, String>,
}

impl<'a> Weights<'a> {
    /// Picks the naming (and a common prefix such as `module.` or `state_dict.`) under which
    /// the file holds the most of `specs`, then checks every spec in order. The first tensor
    /// that is missing or has the wrong shape is the error.
    pub fn resolve(file: &'a WeightFile, specs: &[TensorSpec], namings: &[Naming]) -> Result<Self> {
        let names = file.names();
        let label_list = namings
            .iter()
            .map(|n| n.label)
            .collect::<Vec<_>>()
            .join(" or ");
        let mut best: Option<(usize, &Naming, String)> = None;
        for naming in namings {
            for prefix in prefixes(&names, specs, naming) {
                let hits = specs
                    .iter()
                    .filter_map(|s| (naming.map)(&s.name))
                    .filter(|m| file.shape(&format!("{prefix}{m}")).is_some())
                    .count();
                if best.as_ref().is_none_or(|b| hits > b.0) {
                    best = Some((hits, naming, prefix));
                }
            }
        }
        let (hits, naming, prefix) = match best {
            Some((h, n, p)) => (h, *n, p),
            None => {
                return Err(VisionError::Invalid(
                    "a model was described without a naming convention".into(),
                ))
            }
        };
        let sample = names
            .iter()
            .take(4)
            .cloned()
            .collect::<Vec<_>>()
            .join("', '");
        let hint = if hits == 0 {
            format!(
                "none of the {} tensors the model needs is in the file, which holds {} tensors ('{}'{}); expected {} names",
                specs.len(),
                names.len(),
                sample,
                if names.len() > 4 { ", ..." } else { "" },
                label_list
            )
        } else {
            format!(
                "the file matches {hits} of {} tensors under {} names: is it another model or variant?",
                specs.len(),
                naming.label
            )
        };
        let mut map = HashMap::with_capacity(specs.len());
        for spec in specs {
            let Some(mapped) = (naming.map)(&spec.name) else {
                return Err(VisionError::Invalid(format!(
                    "{} naming has no name for '{}'",
                    naming.label, spec.name
                )));
            };
            let full = format!("{prefix}{mapped}");
            let Some(shape) = file.shape(&full) else {
                return Err(VisionError::MissingTensor {
                    path: file.path().to_path_buf(),
                    name: full,
                    naming: naming.label,
                    hint,
                });
            };
            let fits = shape == spec.shape
                || ((naming.reshape_ok)(&spec.name)
                    && shape.iter().product::<usize>() == spec.shape.iter().product::<usize>());
            if !fits {
                return Err(VisionError::TensorShape {
                    path: file.path().to_path_buf(),
                    name: full,
                    expected: spec.shape.clone(),
                    got: shape,
                    hint: format!("is the file for another model or variant? ({hint})"),
                });
            }
            map.insert(spec.name.clone(), full);
        }
        Ok(Weights {
            file,
            naming: naming.label,
            names: map,
        })
    }

    /// The naming convention the file was read with.
    pub fn naming(&self) -> &'static str {
        self.naming
    }

    pub fn file(&self) -> &WeightFile {
        self.file
    }

    /// The data of canonical tensor `name` as f32, row-major in the spec's shape.
    pub fn get(&self, name: &str) -> Result<Vec<f32>> {
        let full = self
            .names
            .get(name)
            .ok_or_else(|| VisionError::MissingTensor {
                path: self.file.path().to_path_buf(),
                name: name.to_string(),
                naming: self.naming,
                hint: "the model asked for a tensor it did not declare".into(),
            })?;
        self.file.read_f32(full)
    }
}

/// Candidate prefixes: none, plus whatever precedes the first spec's name in file names that end
/// with it (`module.`, `model.`, `state_dict.`...).
fn prefixes(names: &[String], specs: &[TensorSpec], naming: &Naming) -> Vec<String> {
    let mut out = vec![String::new()];
    if let Some(first) = specs.first().and_then(|s| (naming.map)(&s.name)) {
        let dotted = format!(".{first}");
        for n in names {
            if let Some(p) = n.strip_suffix(&first) {
                if n.ends_with(&dotted) && !out.iter().any(|o| o == p) {
                    out.push(p.to_string());
                }
            }
        }
    }
    out
}

/// Something that can download a model's pinned weights into a folder (see
/// [`crate::download`]; `Downloader` there, with the `download` feature), for [`find_weights`].
pub trait Fetch {
    /// Downloads the weights of `model` into `dir` (as `dir/<model>/<file>`) and returns the
    /// file's path.
    fn fetch(&self, model: &str, dir: &Path) -> Result<PathBuf>;
}

/// The folder weights are looked for in and downloaded to: `$DLSCOPE_MODELS`, else the user
/// cache's `dlscope/models`.
pub fn models_dir() -> Option<PathBuf> {
    std::env::var_os(MODELS_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| dirs::cache_dir().map(|d| d.join("dlscope").join("models")))
}

/// Where the weights of `model` are: `explicit` if given (it must exist), else in
/// [`models_dir`] (see [`find_weights_in`]).
pub fn find_weights(
    model: &str,
    explicit: Option<&Path>,
    fetch: Option<&dyn Fetch>,
) -> Result<PathBuf> {
    find_weights_in(model, explicit, models_dir().as_deref(), fetch)
}

/// Where the weights of `model` are: `explicit` if given (it must exist), else
/// `<dir>/<model>.safetensors`, `<dir>/<model>.pth` or an earlier download of the pinned file
/// (`<dir>/<model>/<file>`), else what `fetch` downloads into `dir` when the model has a pinned
/// file. Fails with a message saying where it looked and what to do.
pub fn find_weights_in(
    model: &str,
    explicit: Option<&Path>,
    dir: Option<&Path>,
    fetch: Option<&dyn Fetch>,
) -> Result<PathBuf> {
    if let Some(p) = explicit {
        if !p.is_file() {
            return Err(VisionError::WeightsNotFound {
                model: model.to_string(),
                hint: format!("{} does not exist or is not a file", p.display()),
            });
        }
        return Ok(p.to_path_buf());
    }
    let pinned = crate::download::pinned(model);
    if let Some(dir) = dir {
        let mut candidates = vec![
            dir.join(format!("{model}.safetensors")),
            dir.join(format!("{model}.pth")),
        ];
        if let Some(p) = pinned {
            candidates.push(dir.join(p.model).join(p.file.name));
        }
        if let Some(found) = candidates.into_iter().find(|p| p.is_file()) {
            return Ok(found);
        }
        if let (Some(f), Some(_)) = (fetch, pinned) {
            return f.fetch(model, dir);
        }
    }
    let looked = match dir {
        Some(d) => format!("{} has no {model}.safetensors or {model}.pth", d.display()),
        None => format!("${MODELS_ENV} is not set and there is no user cache folder"),
    };
    let download = match pinned {
        Some(p) if dir.is_some() => format!(
            ", or add --download to fetch {} ({:.1} MB, sha256 {}) from {}",
            p.file.name,
            p.file.size as f64 / 1e6,
            &p.file.sha256[..12],
            p.mirrors.first().copied().unwrap_or("its mirror")
        ),
        Some(_) => format!(", or set ${MODELS_ENV} to a folder to download it into"),
        None => format!(" (dlscope has no pinned download for {model})"),
    };
    Err(VisionError::WeightsNotFound {
        model: model.to_string(),
        hint: format!(
            "{looked}; pass --weights FILE (a .safetensors or PyTorch .pth state dict with torchvision/timm names), or put {model}.safetensors in the folder ${MODELS_ENV} names{download}"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_precision_conversion() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
    }
}
