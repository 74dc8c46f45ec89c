//! Converting a dataset to another format, optionally re-encoded and transformed, with the size
//! before and after and the pixel error the image encoding introduced.
//!
//! ```no_run
//! use dlscope_data::convert::{convert, Options, Target};
//! use dlscope_data::folder::ImageFormat;
//! let ds = dlscope_data::open("fashion-mnist").unwrap();
//! let opts = Options::new(Target::Folder(ImageFormat::Jpeg { quality: 90 }));
//! let r = convert(ds, "fm-jpeg".as_ref(), &opts).unwrap();
//! println!("{} -> {} bytes, mean abs error {:?}", r.bytes_before, r.bytes_after, r.mean_abs_error);
//! ```
//!
//! The output is built under a temporary name beside `out` and renamed into place when complete
//! ([`crate::io::AtomicDir`]); temporary folders that a killed earlier run of the same output
//! left behind are removed first, so a rerun starts clean.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::Serialize;

use crate::dataset::{Dataset, SampleId, SampleSource, Split, Written};
use crate::error::{DataError, Result};
use crate::folder::ImageFormat;
use crate::image::{Image, Shape};
use crate::tensors::{ChannelNorm, Labels};
use crate::transform::{self, ChannelMode, Transform};
use crate::{folder, idx, io, manifest, tensors, webdataset};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Idx {
        gzip: bool,
    },
    Folder(ImageFormat),
    /// CSV manifest; file-backed samples are referenced in place unless transformed, the rest
    /// written as PNG.
    Manifest,
    Tensors(Labels),
    WebDataset {
        format: ImageFormat,
        shard_size: usize,
    },
    Parquet {
        format: ImageFormat,
    },
}

impl Target {
    /// The image encoding the target stores samples with (`None`: raw pixels, lossless).
    pub fn image_format(&self) -> Option<ImageFormat> {
        match *self {
            Target::Folder(f)
            | Target::WebDataset { format: f, .. }
            | Target::Parquet { format: f } => Some(f),
            Target::Manifest => Some(ImageFormat::Png),
            Target::Idx { .. } | Target::Tensors(_) => None,
        }
    }
}

/// Normalised float output (tensors only): where the per-channel mean and std come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Normalize {
    /// Computed on the train split of the (transformed) dataset: [`ChannelNorm::of_dataset`].
    TrainSplit,
    /// Given, e.g. read from `dlscope clean --stats` with [`ChannelNorm::from_stats_file`].
    Given(ChannelNorm),
}

/// What to convert to and how.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub target: Target,
    pub transform: Transform,
    /// Measure the encoding error (each image is encoded and decoded once more to compare).
    pub measure_error: bool,
    /// Write `x` as normalised f32 (tensors target only; see [`crate::tensors`]).
    pub normalize: Option<Normalize>,
}

impl Options {
    pub fn new(target: Target) -> Self {
        Options {
            target,
            transform: Transform::default(),
            measure_error: true,
            normalize: None,
        }
    }
}

/// What a conversion did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub written: Written,
    /// Bytes of the input on disk (its sample files, or its files when not file-per-sample).
    pub bytes_before: u64,
    /// Bytes of the output folder.
    pub bytes_after: u64,
    /// Mean absolute difference, per 8-bit channel value, between each image as given to the
    /// encoder (after any transform) and as decoded back: 0 for lossless formats. `None` when
    /// not measured.
    pub mean_abs_error: Option<f64>,
    /// Largest absolute difference of any channel value.
    pub max_abs_error: Option<u8>,
    /// Stale temporary folders of an interrupted earlier run that were removed.
    pub removed_stale: Vec<PathBuf>,
    /// The per-channel mean and std of normalised float output (also in the files' metadata).
    pub normalization: Option<ChannelNorm>,
}

/// Writes `ds` as `target` into the new folder `out`, applying `opts.transform` to every image.
pub fn convert(ds: Dataset, out: &Path, opts: &Options) -> Result<Report> {
    io::refuse_input_overlap(out, &[&ds.root])?;
    if out.exists() {
        return Err(DataError::Refused {
            path: out.to_path_buf(),
            why: "it already exists; choose a new output path or remove it".into(),
        });
    }
    let labels = match (opts.target, &opts.normalize) {
        (_, None) => None,
        (Target::Tensors(l), Some(_)) => Some(l),
        (_, Some(_)) => {
            return Err(DataError::Refused {
                path: out.to_path_buf(),
                why: "normalised float output is written as tensors only (--to tensors)".into(),
            })
        }
    };
    let bytes_before = input_bytes(&ds);
    let removed_stale = io::remove_stale_partials(out)?;
    let ds = transform::map(ds, opts.transform);
    let meter = Arc::new(Meter::default());
    let measure = opts.measure_error && opts.target.image_format().is_some();
    let ds = match opts.target.image_format() {
        Some(format) if measure => metered(ds, format, &meter),
        _ => ds,
    };
    let normalization = match &opts.normalize {
        Some(Normalize::TrainSplit) => Some(ChannelNorm::of_dataset(&ds)?),
        Some(Normalize::Given(n)) => Some(n.clone()),
        None => None,
    };
    let written = match (&normalization, labels) {
        (Some(n), Some(l)) => tensors::write_normalized(&ds, out, l, n)?,
        _ => write(&ds, out, opts.target)?,
    };
    let bytes_after = dir_bytes(&written.path);
    let (mean_abs_error, max_abs_error) = if measure {
        (
            Some(meter.mean()),
            Some(meter.max.load(Ordering::Relaxed) as u8),
        )
    } else if opts.target.image_format().is_none() {
        (Some(0.0), Some(0))
    } else {
        (None, None)
    };
    Ok(Report {
        written,
        bytes_before,
        bytes_after,
        mean_abs_error,
        max_abs_error,
        removed_stale,
        normalization,
    })
}

/// Dispatches to the writer of `target`.
pub fn write(ds: &Dataset, out: &Path, target: Target) -> Result<Written> {
    match target {
        Target::Idx { gzip } => idx::write(ds, out, gzip),
        Target::Folder(f) => folder::write(ds, out, f),
        Target::Manifest => manifest::write(ds, out),
        Target::Tensors(l) => tensors::write(ds, out, l),
        Target::WebDataset { format, shard_size } => webdataset::write(ds, out, format, shard_size),
        Target::Parquet { format } => write_parquet(ds, out, format),
    }
}

#[cfg(feature = "parquet")]
fn write_parquet(ds: &Dataset, out: &Path, format: ImageFormat) -> Result<Written> {
    crate::parquet::write(ds, out, format)
}

#[cfg(not(feature = "parquet"))]
fn write_parquet(_ds: &Dataset, out: &Path, _format: ImageFormat) -> Result<Written> {
    Err(DataError::FeatureDisabled {
        what: format!("writing the Parquet dataset {}", out.display()),
        feature: "parquet",
    })
}

/// Sum of absolute errors and count of compared values, over all threads.
#[derive(Debug, Default)]
struct Meter {
    sum: AtomicU64,
    count: AtomicU64,
    max: AtomicU64,
}

impl Meter {
    fn add(&self, a: &Image, format: ImageFormat) {
        let Ok(bytes) = format.encode(a) else { return };
        let Ok(b) = crate::decode::decode_bytes(Path::new("re-encoded"), &bytes) else {
            return;
        };
        // JPEG drops alpha: compare the colour channels both have. WebP stores grey as RGB
        // (R = G = B, so converting back is exact).
        let (a, b) = match (a.channels, b.channels) {
            (4, 3) => (transform::convert_channels(a.clone(), ChannelMode::Rgb), b),
            (1, 3) => (a.clone(), transform::convert_channels(b, ChannelMode::Gray)),
            _ => (a.clone(), b),
        };
        if a.shape() != b.shape() {
            return;
        }
        let (mut sum, mut max) = (0u64, 0u64);
        for (x, y) in a.data.iter().zip(&b.data) {
            let d = x.abs_diff(*y) as u64;
            sum += d;
            max = max.max(d);
        }
        self.sum.fetch_add(sum, Ordering::Relaxed);
        self.count.fetch_add(a.data.len() as u64, Ordering::Relaxed);
        self.max.fetch_max(max, Ordering::Relaxed);
    }
    fn mean(&self) -> f64 {
        let n = self.count.load(Ordering::Relaxed);
        if n == 0 {
            0.0
        } else {
            self.sum.load(Ordering::Relaxed) as f64 / n as f64
        }
    }
}

/// A split whose loads also feed the encoding-error meter.
struct Metered {
    inner: Split,
    format: ImageFormat,
    meter: Arc<Meter>,
}

impl SampleSource for Metered {
    fn len(&self) -> usize {
        self.inner.len()
    }
    fn label(&self, i: usize) -> Option<u32> {
        self.inner.label(i)
    }
    fn id(&self, i: usize) -> SampleId {
        self.inner.id(i)
    }
    fn load(&self, i: usize) -> Result<Image> {
        let img = self.inner.source().load(i)?;
        self.meter.add(&img, self.format);
        Ok(img)
    }
    fn fixed_shape(&self) -> Option<Shape> {
        self.inner.fixed_shape()
    }
    fn path(&self, i: usize) -> Option<PathBuf> {
        self.inner.path(i)
    }
}

fn metered(ds: Dataset, format: ImageFormat, meter: &Arc<Meter>) -> Dataset {
    let splits = ds
        .splits
        .into_iter()
        .map(|s| {
            let name = s.name().to_string();
            Split::new(
                name,
                Box::new(Metered {
                    inner: s,
                    format,
                    meter: meter.clone(),
                }),
            )
        })
        .collect();
    Dataset { splits, ..ds }
}

/// Bytes of the input: the sum of its sample files when every sample is a file, else the size of
/// its root (file, or all files below the folder).
pub fn input_bytes(ds: &Dataset) -> u64 {
    let mut total = 0u64;
    for s in &ds.splits {
        for i in 0..s.len() {
            match s.path(i) {
                Some(p) => total += std::fs::metadata(&p).map_or(0, |m| m.len()),
                None => return dir_bytes(&ds.root),
            }
        }
    }
    total
}

/// Bytes of a file, or of all files below a folder.
pub fn dir_bytes(path: &Path) -> u64 {
    if path.is_file() {
        return std::fs::metadata(path).map_or(0, |m| m.len());
    }
    walkdir::WalkDir::new(path)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| e.metadata().map_or(0, |m| m.len()))
        .sum()
}
