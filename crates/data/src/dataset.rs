//! The dataset abstraction: a dataset has classes and named splits; a split is a random-access
//! sequence of samples that decode on demand, so large folders are never held in memory.

use std::path::PathBuf;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::image::{Image, Shape};

/// On-disk layout a dataset was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// IDX files (MNIST family), raw or gzip.
    Idx,
    /// CIFAR-10/100 binary batches, loose or inside the official `.tar.gz`.
    Cifar,
    /// An image folder: one subfolder per class, optional split folders above them.
    Folder,
    /// A CSV manifest `path,label[,split]`.
    Manifest,
    /// Safetensors files, one per split (`x` u8 images, `y` labels).
    Tensors,
    /// WebDataset `.tar` shards (`{key}.png` + `{key}.cls`).
    WebDataset,
    /// Parquet tables in the Hugging Face datasets layout (`image{bytes,path}`, `label`).
    Parquet,
}

impl Format {
    pub fn as_str(&self) -> &'static str {
        match self {
            Format::Idx => "idx",
            Format::Cifar => "cifar",
            Format::Folder => "folder",
            Format::Manifest => "manifest",
            Format::Tensors => "tensors",
            Format::WebDataset => "webdataset",
            Format::Parquet => "parquet",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a sample is named in reports: its index within the split (IDX, CIFAR) or its path
/// relative to the dataset root (folders, manifests).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SampleId {
    Index(u64),
    Path(String),
}

impl std::fmt::Display for SampleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SampleId::Index(i) => write!(f, "{i}"),
            SampleId::Path(p) => f.write_str(p),
        }
    }
}

/// One decoded sample.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Position within its split.
    pub index: usize,
    pub label: Option<u32>,
    pub image: Image,
}

/// The storage behind one split. Implemented by each reader; users go through [`Split`].
///
/// `load` must never panic on bad data: a sample that cannot be decoded is an `Err` naming the
/// file and the record, and the other samples stay readable.
pub trait SampleSource: Send + Sync {
    /// Number of samples.
    fn len(&self) -> usize;
    /// True when the split has no samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Label of sample `i` without decoding it (`None` for unlabelled samples).
    fn label(&self, i: usize) -> Option<u32>;
    /// Report identity of sample `i`.
    fn id(&self, i: usize) -> SampleId;
    /// Decodes sample `i`.
    fn load(&self, i: usize) -> Result<Image>;
    /// The one shape all samples share, when the format fixes it (IDX, CIFAR).
    fn fixed_shape(&self) -> Option<Shape> {
        None
    }
    /// The file holding sample `i`, for file-per-sample formats (built on demand, so readers
    /// can store paths compactly).
    fn path(&self, _i: usize) -> Option<PathBuf> {
        None
    }
    /// All samples' pixels as one contiguous H x W x C buffer, when stored that way in memory.
    fn contiguous_pixels(&self) -> Option<&[u8]> {
        None
    }
}

/// A named part of a dataset (`train`, `test`, `val`, ...).
pub struct Split {
    name: String,
    source: Box<dyn SampleSource>,
}

impl std::fmt::Debug for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Split")
            .field("name", &self.name)
            .field("len", &self.len())
            .finish()
    }
}

impl Split {
    pub fn new(name: impl Into<String>, source: Box<dyn SampleSource>) -> Self {
        Split {
            name: name.into(),
            source,
        }
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn len(&self) -> usize {
        self.source.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn label(&self, i: usize) -> Option<u32> {
        self.source.label(i)
    }
    pub fn id(&self, i: usize) -> SampleId {
        self.source.id(i)
    }
    pub fn path(&self, i: usize) -> Option<PathBuf> {
        self.source.path(i)
    }
    pub fn fixed_shape(&self) -> Option<Shape> {
        self.source.fixed_shape()
    }
    pub fn source(&self) -> &dyn SampleSource {
        self.source.as_ref()
    }
    /// Decodes sample `i`.
    pub fn get(&self, i: usize) -> Result<Sample> {
        Ok(Sample {
            index: i,
            label: self.source.label(i),
            image: self.source.load(i)?,
        })
    }
    /// All labels, in order.
    pub fn labels(&self) -> Vec<Option<u32>> {
        (0..self.len()).map(|i| self.label(i)).collect()
    }
    /// Decodes every sample in parallel, in any order; each item carries its index, so one bad
    /// sample is one `Err` and the rest still arrive.
    pub fn par_samples(&self) -> impl ParallelIterator<Item = (usize, Result<Sample>)> + '_ {
        (0..self.len())
            .into_par_iter()
            .map(move |i| (i, self.get(i)))
    }

    /// Loads the whole split into one contiguous H x W x C `u8` buffer plus labels (unlabelled
    /// samples get label `u32::MAX`). Fails on the first unreadable sample or on mixed shapes.
    pub fn to_dense(&self) -> Result<Dense> {
        if let (Some(shape), Some(px)) = (self.fixed_shape(), self.source.contiguous_pixels()) {
            return Ok(Dense {
                shape,
                pixels: px.to_vec(),
                labels: self.dense_labels(),
            });
        }
        let n = self.len();
        let shape = match self.fixed_shape() {
            Some(s) => s,
            None if n == 0 => Shape::new(0, 0, 1),
            None => self.source.load(0)?.shape(),
        };
        let per = shape.len();
        let mut pixels = vec![0u8; per * n];
        pixels
            .par_chunks_mut(per.max(1))
            .enumerate()
            .try_for_each(|(i, dst)| -> Result<()> {
                let img = self.source.load(i)?;
                if img.shape() != shape {
                    return Err(DataError::ShapeMismatch {
                        split: self.name.clone(),
                        record: i as u64,
                        expected: (shape.height, shape.width, shape.channels),
                        got: (img.height, img.width, img.channels),
                    });
                }
                dst.copy_from_slice(&img.data);
                Ok(())
            })?;
        Ok(Dense {
            shape,
            pixels,
            labels: self.dense_labels(),
        })
    }

    fn dense_labels(&self) -> Vec<u32> {
        (0..self.len())
            .map(|i| self.label(i).unwrap_or(u32::MAX))
            .collect()
    }

    /// Number of samples per class index (`counts[c]`), plus the number of unlabelled samples.
    pub fn class_counts(&self, n_classes: usize) -> (Vec<u64>, u64) {
        let mut counts = vec![0u64; n_classes];
        let mut unlabelled = 0;
        for i in 0..self.len() {
            match self.label(i) {
                Some(l) if (l as usize) < n_classes => counts[l as usize] += 1,
                _ => unlabelled += 1,
            }
        }
        (counts, unlabelled)
    }
}

/// A whole split in memory as one tensor-shaped buffer, ready for training.
#[derive(Debug, Clone)]
pub struct Dense {
    pub shape: Shape,
    /// `len * shape.len()` bytes, sample after sample, each H x W x C.
    pub pixels: Vec<u8>,
    pub labels: Vec<u32>,
}

impl Dense {
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// Pixels of sample `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let per = self.shape.len();
        &self.pixels[i * per..(i + 1) * per]
    }
}

/// A dataset: classes and splits, read from one place in one format.
#[derive(Debug)]
pub struct Dataset {
    /// Catalog name or the path the user gave.
    pub name: String,
    pub format: Format,
    /// Where it was read from (a folder or a file).
    pub root: PathBuf,
    /// Class names; a label is an index into this list.
    pub classes: Vec<String>,
    pub splits: Vec<Split>,
    /// Samples the reader had to skip while listing (e.g. unreadable directory entries),
    /// with the reason. Samples that fail to decode are not listed here: they fail on `get`.
    pub skipped: Vec<Skipped>,
}

/// A file the reader could not list as a sample, and why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}

impl Dataset {
    /// The split with this name.
    pub fn split(&self, name: &str) -> Result<&Split> {
        self.splits
            .iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| DataError::NoSuchSplit {
                split: name.to_string(),
                available: self
                    .splits
                    .iter()
                    .map(|s| s.name().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
    /// Total samples over all splits.
    pub fn len(&self) -> usize {
        self.splits.iter().map(Split::len).sum()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn split_names(&self) -> Vec<&str> {
        self.splits.iter().map(|s| s.name()).collect()
    }
}

/// What a writer produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Written {
    /// The final output path (file or folder).
    pub path: PathBuf,
    /// Samples written, over all splits.
    pub samples: usize,
    /// Samples not written (unreadable, unsupported shape...), with the reason. Nothing is
    /// dropped silently.
    pub skipped: Vec<Skipped>,
}
