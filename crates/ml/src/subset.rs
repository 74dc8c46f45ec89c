//! A dataset view holding only chosen samples of each split, for writing a reduced copy with
//! the ordinary writers. Samples keep their original identity (`id`, `path`, label).
//!
//! (This is generic data-layer plumbing; it lives here until dlscope-data grows the same.)

use std::path::PathBuf;

use dlscope_data::{DataError, Dataset, Image, SampleId, SampleSource, Shape, Split};

use crate::error::{MlError, Result};

/// The samples `indices` (in that order) of another split.
pub struct Subset {
    inner: Split,
    indices: Vec<usize>,
}

impl Subset {
    /// Fails when an index is past the end of `inner`.
    pub fn new(inner: Split, indices: Vec<usize>) -> Result<Self> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= inner.len()) {
            return Err(MlError::param(
                "index",
                bad,
                format!("split '{}' has {} samples", inner.name(), inner.len()),
            ));
        }
        Ok(Subset { inner, indices })
    }
    /// Position in the original split of sample `i` of the subset.
    pub fn original_index(&self, i: usize) -> usize {
        self.indices[i]
    }
}

impl SampleSource for Subset {
    fn len(&self) -> usize {
        self.indices.len()
    }
    fn label(&self, i: usize) -> Option<u32> {
        self.inner.label(self.indices[i])
    }
    fn id(&self, i: usize) -> SampleId {
        self.inner.id(self.indices[i])
    }
    fn load(&self, i: usize) -> std::result::Result<Image, DataError> {
        self.inner.source().load(self.indices[i])
    }
    fn fixed_shape(&self) -> Option<Shape> {
        self.inner.fixed_shape()
    }
    fn path(&self, i: usize) -> Option<PathBuf> {
        self.inner.path(self.indices[i])
    }
}

/// `ds` restricted to `keep`: for each named split, the samples at those indices (splits not
/// named are dropped). Name, format, root and classes are kept.
pub fn subset_dataset(mut ds: Dataset, keep: &[(String, Vec<usize>)]) -> Result<Dataset> {
    let mut splits = Vec::with_capacity(keep.len());
    let mut old: Vec<Option<Split>> = std::mem::take(&mut ds.splits)
        .into_iter()
        .map(Some)
        .collect();
    for (name, idx) in keep {
        let pos = old
            .iter()
            .position(|s| s.as_ref().is_some_and(|s| s.name() == name))
            .ok_or_else(|| MlError::param("split", name, "not in the dataset (or named twice)"))?;
        let Some(split) = old[pos].take() else {
            return Err(MlError::param("split", name, "named twice"));
        };
        let sub = Subset::new(split, idx.clone())?;
        splits.push(Split::new(name.clone(), Box::new(sub)));
    }
    ds.splits = splits;
    Ok(ds)
}
