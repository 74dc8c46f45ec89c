//! Compact storage of many file paths, and the file-per-sample [`SampleSource`] built on it
//! (used by the folder and manifest readers).
//!
//! ImageNet has 1.3 million files: instead of one `PathBuf` per sample, all paths of a split sit
//! in one byte buffer with end offsets, relative to a shared base folder that is joined on demand.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::dataset::{SampleId, SampleSource};
use crate::error::Result;
use crate::image::Image;

/// Label value stored for an unlabelled sample.
pub(crate) const NO_LABEL: u32 = u32::MAX;

/// Many paths in one buffer: path `i` is `buf[ends[i-1]..ends[i]]` (raw `OsStr` bytes on unix).
#[derive(Debug, Default, Clone)]
pub(crate) struct PathList {
    buf: Vec<u8>,
    ends: Vec<usize>,
}

impl PathList {
    pub(crate) fn push(&mut self, p: &Path) {
        self.buf.extend_from_slice(&path_bytes(p));
        self.ends.push(self.buf.len());
    }
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }
    pub(crate) fn bytes(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.buf[start..self.ends[i]]
    }
    pub(crate) fn path(&self, i: usize) -> PathBuf {
        bytes_path(self.bytes(i))
    }
    /// Appends all paths of `other`.
    pub(crate) fn extend(&mut self, other: &PathList) {
        let base = self.buf.len();
        self.buf.extend_from_slice(&other.buf);
        self.ends.extend(other.ends.iter().map(|e| e + base));
    }
    /// The permutation that sorts the paths by their bytes.
    pub(crate) fn sorted_order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.par_sort_unstable_by(|&a, &b| self.bytes(a).cmp(self.bytes(b)));
        order
    }
    /// The paths taken in `order`.
    pub(crate) fn permuted(&self, order: &[usize]) -> PathList {
        let mut out = PathList {
            buf: Vec::with_capacity(self.buf.len()),
            ends: Vec::with_capacity(order.len()),
        };
        for &i in order {
            out.buf.extend_from_slice(self.bytes(i));
            out.ends.push(out.buf.len());
        }
        out
    }
}

#[cfg(unix)]
pub(crate) fn path_bytes(p: &Path) -> std::borrow::Cow<'_, [u8]> {
    use std::os::unix::ffi::OsStrExt;
    std::borrow::Cow::Borrowed(p.as_os_str().as_bytes())
}

#[cfg(unix)]
pub(crate) fn bytes_path(b: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(OsStr::from_bytes(b))
}

// Elsewhere names are kept as UTF-8; a name that is not valid Unicode lists but fails to load.
#[cfg(not(unix))]
pub(crate) fn path_bytes(p: &Path) -> std::borrow::Cow<'_, [u8]> {
    match p.to_string_lossy() {
        std::borrow::Cow::Borrowed(s) => std::borrow::Cow::Borrowed(s.as_bytes()),
        std::borrow::Cow::Owned(s) => std::borrow::Cow::Owned(s.into_bytes()),
    }
}

#[cfg(not(unix))]
pub(crate) fn bytes_path(b: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(b).into_owned())
}

/// One split of file-per-sample images: paths relative to `base` (or absolute), and labels.
#[derive(Debug)]
pub(crate) struct FileSource {
    base: Arc<PathBuf>,
    paths: PathList,
    labels: Vec<u32>,
}

impl FileSource {
    /// `labels[i]` is the class of `paths[i]`, [`NO_LABEL`] when unlabelled.
    pub(crate) fn new(base: Arc<PathBuf>, paths: PathList, labels: Vec<u32>) -> Self {
        debug_assert_eq!(paths.len(), labels.len());
        FileSource {
            base,
            paths,
            labels,
        }
    }
}

impl SampleSource for FileSource {
    fn len(&self) -> usize {
        self.labels.len()
    }
    fn label(&self, i: usize) -> Option<u32> {
        let l = self.labels[i];
        (l != NO_LABEL).then_some(l)
    }
    fn id(&self, i: usize) -> SampleId {
        SampleId::Path(String::from_utf8_lossy(self.paths.bytes(i)).into_owned())
    }
    fn load(&self, i: usize) -> Result<Image> {
        crate::decode::decode_file(&self.base.join(self.paths.path(i)))
    }
    fn path(&self, i: usize) -> Option<PathBuf> {
        Some(self.base.join(self.paths.path(i)))
    }
}

/// Orders split names: train, val, valid, validation, test first, then the rest by name.
pub(crate) fn split_order(a: &str, b: &str) -> std::cmp::Ordering {
    fn rank(s: &str) -> usize {
        ["train", "val", "valid", "validation", "test"]
            .iter()
            .position(|k| k.eq_ignore_ascii_case(s))
            .unwrap_or(usize::MAX)
    }
    rank(a).cmp(&rank(b)).then_with(|| a.cmp(b))
}
