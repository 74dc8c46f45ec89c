//! Where images come from (files, folders, a dataset split) and how a batch of them becomes a
//! network input. An image that cannot be read is reported with its error and the rest of the
//! batch goes on.

use std::path::{Path, PathBuf};

use dlscope_data::{Image, Split};
use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Result, VisionError};
use crate::preprocess::{Batch, Preprocess};

/// File extensions taken when walking a folder (explicitly named files are always tried).
pub const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff"];

/// The images to run a model on.
pub enum Source<'a> {
    /// Image files, in this order.
    Files(Vec<PathBuf>),
    /// Every sample of a dataset split, in index order.
    Split(&'a Split),
}

impl Source<'_> {
    pub fn len(&self) -> usize {
        match self {
            Source::Files(f) => f.len(),
            Source::Split(s) => s.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How item `i` is named in outputs: the path as given, or the sample id.
    pub fn id(&self, i: usize) -> String {
        match self {
            Source::Files(f) => f[i].display().to_string(),
            Source::Split(s) => s.id(i).to_string(),
        }
    }

    /// The split the items belong to (dataset sources only).
    pub fn split_name(&self) -> Option<&str> {
        match self {
            Source::Files(_) => None,
            Source::Split(s) => Some(s.name()),
        }
    }

    /// Label of item `i` when the source has labels.
    pub fn label(&self, i: usize) -> Option<u32> {
        match self {
            Source::Files(_) => None,
            Source::Split(s) => s.label(i),
        }
    }

    /// Decodes item `i`.
    pub fn load(&self, i: usize) -> Result<Image> {
        Ok(match self {
            Source::Files(f) => dlscope_data::decode::decode_file(&f[i])?,
            Source::Split(s) => s.get(i)?.image,
        })
    }
}

/// An item that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub file: String,
    pub error: String,
}

/// Expands `paths`: files are kept as given, folders are walked recursively (sorted, image
/// extensions only). A path that does not exist is a [`Failure`].
pub fn collect_images(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Failure>) {
    let mut files = Vec::new();
    let mut failures = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut files, &mut failures);
        } else if p.exists() {
            files.push(p.clone());
        } else {
            failures.push(Failure {
                file: p.display().to_string(),
                error: "no such file or folder".into(),
            });
        }
    }
    (files, failures)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, failures: &mut Vec<Failure>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            failures.push(Failure {
                file: dir.display().to_string(),
                error: format!("cannot list folder: {e}"),
            });
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            walk(&p, files, failures);
        } else if p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        {
            files.push(p);
        }
    }
}

/// Items `range` of `source` decoded and preprocessed in parallel: the input batch of those
/// that worked (with their indices) and the failures.
pub fn prepare(
    source: &Source,
    range: std::ops::Range<usize>,
    pre: &Preprocess,
) -> (Batch, Vec<usize>, Vec<Failure>) {
    let crops: Vec<(usize, Result<_>)> = range
        .into_par_iter()
        .map(|i| (i, source.load(i).map(|img| pre.crop(&img))))
        .collect();
    let mut ok = Vec::new();
    let mut idx = Vec::new();
    let mut failures = Vec::new();
    for (i, c) in crops {
        match c {
            Ok(c) => {
                ok.push(c);
                idx.push(i);
            }
            Err(e) => failures.push(Failure {
                file: source.id(i),
                error: e.to_string(),
            }),
        }
    }
    (pre.batch(&ok), idx, failures)
}

/// Checks a batch size option.
pub fn check_batch_size(n: usize) -> Result<usize> {
    if n == 0 {
        return Err(VisionError::Invalid("batch size must be at least 1".into()));
    }
    Ok(n)
}
