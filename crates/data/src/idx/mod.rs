//! IDX files: MNIST, Fashion-MNIST, KMNIST, EMNIST and anything else stored the same way.
//!
//! ```no_run
//! use std::path::Path;
//! use dlscope_data::idx;
//! let ds = idx::open_dir(Path::new("/usr/share/datasets/fashion-mnist"))?;
//! let train = ds.split("train")?;
//! let dense = train.to_dense()?; // one memcpy: pixels are sliced from the file buffer
//! assert_eq!(dense.pixels.len(), train.len() * 28 * 28);
//! idx::write(&ds, Path::new("/tmp/fmnist-raw"), false)?; // gzip = false: plain files
//! # Ok::<(), dlscope_data::DataError>(())
//! ```
//!
//! A folder is read by file name: `<stem>-images-idx3-ubyte` (or `-idx4-`, or the
//! `<stem>-images.idx3-ubyte` spelling), each optionally `.gz` (detected by magic number, not by
//! name), paired with `<stem>-labels-idx1-ubyte`. Stem `train` is split `train`, `t10k` is
//! `test`, any other stem (`val`, `emnist-letters-train`) is a split of that name. Raw files are
//! memory-mapped, gzip files decompressed once; samples are slices of that buffer.
//!
//! Images files are rank 3 `(N, H, W)` (grayscale) or rank 4 `(N, H, W, C)` with C in
//! {1, 3, 4}; labels files are rank 1 `(N)`; the element type must be `u8`. Every size is
//! checked against the bytes present before use (see [`header::parse`]).

pub mod header;
mod source;
mod write;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::dataset::{Dataset, Format, Skipped, Split};
use crate::error::{DataError, Result};

use source::{IdxSource, ImagesFile, LabelsFile};
pub use write::write;

/// Opens every images/labels pair in `dir` (see the module docs for the names recognised).
/// Classes are `"0"..="{max label}"` over all splits; callers that know the names may replace
/// them, or use [`open_dir_with_classes`] to also check every label against the list.
pub fn open_dir(dir: &Path) -> Result<Dataset> {
    open_dir_impl(dir, None)
}

/// As [`open_dir`], with known class names: every label must index into `classes`, else
/// [`DataError::LabelOutOfRange`] names the labels file and record.
pub fn open_dir_with_classes(dir: &Path, classes: Vec<String>) -> Result<Dataset> {
    open_dir_impl(dir, Some(classes))
}

/// Opens one images file and, optionally, its labels file as a split named `split`.
pub fn open_pair(images: &Path, labels: Option<&Path>, split: &str) -> Result<Split> {
    Ok(Split::new(split, Box::new(open_source(images, labels)?)))
}

/// True if `dir` holds at least one IDX images file under a recognised name.
pub fn looks_like_dir(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries.flatten().any(|e| {
                e.file_name()
                    .to_str()
                    .and_then(parse_name)
                    .is_some_and(|n| n.kind == Kind::Images)
                    && e.path().is_file()
            })
        })
        .unwrap_or(false)
}

fn open_source(images: &Path, labels: Option<&Path>) -> Result<IdxSource> {
    let (images, labels) = rayon::join(
        || ImagesFile::read(images),
        || labels.map(LabelsFile::read).transpose(),
    );
    IdxSource::new(images?, labels?)
}

fn open_dir_impl(dir: &Path, classes: Option<Vec<String>>) -> Result<Dataset> {
    let listing = list_dir(dir)?;
    let sources = listing
        .splits
        .par_iter()
        .map(|s| open_source(&s.images, s.labels.as_deref()))
        .collect::<Result<Vec<_>>>()?;
    let classes = match classes {
        Some(names) => {
            for labels in sources.iter().filter_map(IdxSource::labels_file) {
                labels.check_range(names.len())?;
            }
            names
        }
        None => {
            let n = sources
                .iter()
                .filter_map(|s| s.labels_file().and_then(LabelsFile::max))
                .max()
                .map_or(0, |m| m as usize + 1);
            (0..n).map(|c| c.to_string()).collect()
        }
    };
    let splits = listing
        .splits
        .into_iter()
        .zip(sources)
        .map(|(s, src)| Split::new(s.name, Box::new(src)))
        .collect();
    Ok(Dataset {
        name: dir.display().to_string(),
        format: Format::Idx,
        root: dir.to_path_buf(),
        classes,
        splits,
        skipped: listing.skipped,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Images,
    Labels,
}

struct Name {
    stem: String,
    kind: Kind,
    /// Lower is preferred when several files hold the same part: raw before gzip (mmap beats
    /// decompression), `-idx3-` before `.idx3-`.
    preference: u8,
}

fn parse_name(name: &str) -> Option<Name> {
    let (base, gz) = match name.strip_suffix(".gz") {
        Some(b) => (b, 2),
        None => (name, 0),
    };
    let base = base.strip_suffix("-ubyte")?;
    const TAILS: [(&str, Kind, u8); 6] = [
        ("-images-idx3", Kind::Images, 0),
        ("-images.idx3", Kind::Images, 1),
        ("-images-idx4", Kind::Images, 0),
        ("-images.idx4", Kind::Images, 1),
        ("-labels-idx1", Kind::Labels, 0),
        ("-labels.idx1", Kind::Labels, 1),
    ];
    TAILS.iter().find_map(|&(tail, kind, dot)| {
        let stem = base.strip_suffix(tail)?;
        (!stem.is_empty()).then(|| Name {
            stem: stem.to_string(),
            kind,
            preference: dot + gz,
        })
    })
}

/// File stem of a split when writing: `train` -> `train`, `test` -> `t10k`, others unchanged.
pub(crate) fn stem_for_split(split: &str) -> &str {
    match split {
        "test" => "t10k",
        other => other,
    }
}

fn split_for_stem(stem: &str) -> &str {
    match stem {
        "t10k" => "test",
        other => other,
    }
}

struct FoundSplit {
    name: String,
    images: PathBuf,
    labels: Option<PathBuf>,
}

struct Listing {
    splits: Vec<FoundSplit>,
    skipped: Vec<Skipped>,
}

fn list_dir(dir: &Path) -> Result<Listing> {
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, "list folder", e))?;
    // stem -> [images candidates, labels candidates] as (preference, file name)
    let mut parts: BTreeMap<String, [Vec<(u8, String)>; 2]> = BTreeMap::new();
    for entry in entries {
        let entry = entry.map_err(|e| DataError::io(dir, "list folder", e))?;
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str() else {
            continue;
        };
        let Some(parsed) = parse_name(name) else {
            continue;
        };
        if !entry.path().is_file() {
            continue;
        }
        let slot = &mut parts.entry(parsed.stem).or_default()[parsed.kind as usize];
        slot.push((parsed.preference, name.to_string()));
    }
    let mut skipped = Vec::new();
    let pick = |candidates: &mut Vec<(u8, String)>, skipped: &mut Vec<Skipped>| {
        candidates.sort();
        let mut it = candidates.iter();
        let (_, chosen) = it.next()?;
        for (_, other) in it {
            skipped.push(Skipped {
                path: other.clone(),
                reason: format!("another file of the same part, {chosen}, was read instead"),
            });
        }
        Some(dir.join(chosen))
    };
    let mut found: Vec<(String, PathBuf, Option<PathBuf>)> = Vec::new();
    for (stem, [mut images, mut labels]) in parts {
        let labels = pick(&mut labels, &mut skipped);
        match pick(&mut images, &mut skipped) {
            Some(images) => found.push((stem, images, labels)),
            None => {
                if let Some(l) = labels {
                    skipped.push(Skipped {
                        path: l
                            .file_name()
                            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                        reason: format!(
                            "labels file without an images file {stem}-images-idx3-ubyte[.gz]"
                        ),
                    });
                }
            }
        }
    }
    if found.is_empty() {
        return Err(DataError::UnknownFormat {
            path: dir.to_path_buf(),
            why: "no IDX images file (train-images-idx3-ubyte[.gz], t10k-images-idx3-ubyte[.gz], ...) in this folder".into(),
        });
    }
    let order = |stem: &str| match stem {
        "train" => 0,
        "t10k" => 1,
        "test" => 2,
        _ => 3,
    };
    found.sort_by(|a, b| (order(&a.0), &a.0).cmp(&(order(&b.0), &b.0)));
    let mut splits: Vec<FoundSplit> = Vec::with_capacity(found.len());
    for (stem, images, labels) in found {
        let wanted = split_for_stem(&stem);
        let name = if splits.iter().any(|s| s.name == wanted) {
            stem.clone()
        } else {
            wanted.to_string()
        };
        splits.push(FoundSplit {
            name,
            images,
            labels,
        });
    }
    Ok(Listing { splits, skipped })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_standard_names() {
        for (name, stem, kind, pref) in [
            ("train-images-idx3-ubyte", "train", Kind::Images, 0),
            ("train-images.idx3-ubyte", "train", Kind::Images, 1),
            ("t10k-labels-idx1-ubyte.gz", "t10k", Kind::Labels, 2),
            (
                "emnist-letters-test-images-idx3-ubyte.gz",
                "emnist-letters-test",
                Kind::Images,
                2,
            ),
            ("val-images-idx4-ubyte", "val", Kind::Images, 0),
        ] {
            let n = parse_name(name).unwrap();
            assert_eq!(
                (n.stem.as_str(), n.kind, n.preference),
                (stem, kind, pref),
                "{name}"
            );
        }
        for name in [
            "images-idx3-ubyte",
            "train-images-idx3",
            "train-images-idx2-ubyte",
            "readme.txt",
        ] {
            assert!(parse_name(name).is_none(), "{name}");
        }
    }

    #[test]
    fn split_and_stem_names_round_trip() {
        for split in ["train", "test", "val"] {
            assert_eq!(split_for_stem(stem_for_split(split)), split);
        }
    }
}
