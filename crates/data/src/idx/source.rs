//! One IDX images file (+ optional labels file) as a [`SampleSource`]: the pixels stay in the
//! memory map (raw files) or the decompressed buffer (gzip), and samples are slices of it.

use std::path::{Path, PathBuf};

use crate::dataset::{SampleId, SampleSource};
use crate::error::{DataError, Result};
use crate::image::{Image, Shape};
use crate::io::{self, Bytes};

use super::header;

/// A validated images file: rank 3 `(N, H, W)` or rank 4 `(N, H, W, C)` with C in {1, 3, 4}.
pub(crate) struct ImagesFile {
    pub path: PathBuf,
    bytes: Bytes,
    offset: usize,
    pub n: usize,
    pub shape: Shape,
}

/// A validated labels file: rank 1 `(N)`.
pub(crate) struct LabelsFile {
    pub path: PathBuf,
    bytes: Bytes,
    offset: usize,
}

impl ImagesFile {
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = io::open_maybe_gz(path)?;
        let h = header::parse(&bytes, path)?;
        let dims64 = || h.dims.iter().map(|&d| d as u64).collect::<Vec<_>>();
        let channels = match h.dims.len() {
            3 => 1,
            4 => match h.dims[3] {
                c @ (1 | 3 | 4) => c as u8,
                _ => {
                    return Err(DataError::BadDims {
                        path: path.to_path_buf(),
                        dims: dims64(),
                        why: "the last dimension of a rank-4 images file is channels and must be 1, 3 or 4",
                    })
                }
            },
            r => {
                return Err(DataError::BadHeader {
                    path: path.to_path_buf(),
                    what: format!(
                        "rank {r}: an images file has rank 3 (N, H, W) or 4 (N, H, W, C){}",
                        if r == 1 { "; this looks like a labels file" } else { "" }
                    ),
                })
            }
        };
        Ok(ImagesFile {
            path: path.to_path_buf(),
            offset: h.data_offset(),
            n: h.count(),
            shape: Shape::new(h.dims[1], h.dims[2], channels),
            bytes,
        })
    }

    /// All pixels, sample after sample, H x W x C each.
    pub fn pixels(&self) -> &[u8] {
        &self.bytes[self.offset..]
    }
}

impl LabelsFile {
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = io::open_maybe_gz(path)?;
        let h = header::parse(&bytes, path)?;
        if h.dims.len() != 1 {
            return Err(DataError::BadHeader {
                path: path.to_path_buf(),
                what: format!(
                    "rank {}: a labels file has rank 1 (N){}",
                    h.dims.len(),
                    if h.dims.len() >= 3 {
                        "; this looks like an images file"
                    } else {
                        ""
                    }
                ),
            });
        }
        Ok(LabelsFile {
            path: path.to_path_buf(),
            offset: h.data_offset(),
            bytes,
        })
    }

    pub fn labels(&self) -> &[u8] {
        &self.bytes[self.offset..]
    }

    /// Largest label, `None` when empty.
    pub fn max(&self) -> Option<u8> {
        self.labels().iter().copied().max()
    }

    /// Fails on the first label that is not an index into a list of `n_classes` names.
    pub fn check_range(&self, n_classes: usize) -> Result<()> {
        match self.labels().iter().position(|&l| l as usize >= n_classes) {
            None => Ok(()),
            Some(i) => Err(DataError::LabelOutOfRange {
                path: self.path.clone(),
                record: i as u64,
                label: self.labels()[i] as u64,
                classes: n_classes,
            }),
        }
    }
}

/// The samples of one split: images plus, when present, their labels (same count, checked).
pub(crate) struct IdxSource {
    images: ImagesFile,
    labels: Option<LabelsFile>,
}

impl IdxSource {
    pub fn new(images: ImagesFile, labels: Option<LabelsFile>) -> Result<Self> {
        if let Some(l) = &labels {
            if l.labels().len() != images.n {
                return Err(DataError::CountMismatch {
                    images: images.path.clone(),
                    n_images: images.n,
                    labels: l.path.clone(),
                    n_labels: l.labels().len(),
                });
            }
        }
        Ok(IdxSource { images, labels })
    }

    pub fn labels_file(&self) -> Option<&LabelsFile> {
        self.labels.as_ref()
    }
}

impl SampleSource for IdxSource {
    fn len(&self) -> usize {
        self.images.n
    }
    fn label(&self, i: usize) -> Option<u32> {
        self.labels
            .as_ref()
            .and_then(|l| l.labels().get(i))
            .map(|&l| l as u32)
    }
    fn id(&self, i: usize) -> SampleId {
        SampleId::Index(i as u64)
    }
    fn load(&self, i: usize) -> Result<Image> {
        let per = self.images.shape.len();
        let s = self.images.shape;
        let px = i
            .checked_mul(per)
            .and_then(|start| self.images.pixels().get(start..start + per))
            .ok_or_else(|| {
                DataError::io(
                    &self.images.path,
                    "read sample",
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        format!("record {i} is past the last of {} records", self.images.n),
                    ),
                )
            })?;
        Ok(Image {
            width: s.width,
            height: s.height,
            channels: s.channels,
            data: px.to_vec(),
        })
    }
    fn fixed_shape(&self) -> Option<Shape> {
        Some(self.images.shape)
    }
    fn contiguous_pixels(&self) -> Option<&[u8]> {
        Some(self.images.pixels())
    }
}
