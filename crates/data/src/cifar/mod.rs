//! CIFAR-10 and CIFAR-100 in their binary form: a folder of batch files, or the official
//! `cifar-10-binary.tar.gz` / `cifar-100-binary.tar.gz` read directly.
//!
//! ```no_run
//! use std::path::Path;
//! use dlscope_data::cifar::{self, LabelSet};
//! let ds = cifar::open(Path::new("cifar-10-binary.tar.gz"))?;
//! assert_eq!(ds.classes[0], "airplane");
//! let img = ds.split("train")?.get(0)?.image; // 32x32x3, interleaved RGB
//! // CIFAR-100's 20 superclasses instead of its 100 fine classes:
//! let coarse = cifar::open_with(Path::new("cifar-100-binary"), LabelSet::Coarse)?;
//! assert_eq!(coarse.classes.len(), 20);
//! # Ok::<(), dlscope_data::DataError>(())
//! ```
//!
//! CIFAR-10: `data_batch_1.bin`..`data_batch_5.bin` (split `train`) and `test_batch.bin`
//! (split `test`), records of 1 label byte + 3072 pixel bytes, class names from
//! `batches.meta.txt`. CIFAR-100: `train.bin` and `test.bin`, records of a coarse and a fine
//! label byte + 3072 pixel bytes, names from `fine_label_names.txt` / `coarse_label_names.txt`.
//! Pixels are stored as three 32x32 planes (R, G, B) and converted to interleaved HWC on load.
//! A folder may hold the files or the archive's `cifar-10-batches-bin/` / `cifar-100-binary/`
//! folder. Without a names file the classes are called `"0"`, `"1"`, ...
//!
//! Batches missing from the expected set are listed in [`Dataset::skipped`] and the rest is
//! read; a batch that is not a whole number of records, or holds a label out of range, is an
//! error naming the file and record.

mod source;
mod tarball;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::dataset::{Dataset, Format, Skipped, Split};
use crate::error::{DataError, Result};
use crate::io;

use source::{check_batch, CifarSource, Member};

/// Which of the two CIFAR datasets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Cifar10,
    Cifar100,
}

/// Which CIFAR-100 labels become the dataset's labels (CIFAR-10 has only one kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LabelSet {
    /// The 100 classes (the usual benchmark).
    #[default]
    Fine,
    /// The 20 superclasses.
    Coarse,
}

impl Variant {
    pub fn label_bytes(self) -> usize {
        match self {
            Variant::Cifar10 => 1,
            Variant::Cifar100 => 2,
        }
    }
    /// Bytes per record: label bytes + 3072 pixels.
    pub fn record_len(self) -> usize {
        self.label_bytes() + source::PIXELS
    }
    /// Folder name inside the official archive.
    pub fn archive_dir(self) -> &'static str {
        match self {
            Variant::Cifar10 => "cifar-10-batches-bin",
            Variant::Cifar100 => "cifar-100-binary",
        }
    }
    /// Batch files in reading order, with their split.
    pub fn batches(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Variant::Cifar10 => &[
                ("data_batch_1.bin", "train"),
                ("data_batch_2.bin", "train"),
                ("data_batch_3.bin", "train"),
                ("data_batch_4.bin", "train"),
                ("data_batch_5.bin", "train"),
                ("test_batch.bin", "test"),
            ],
            Variant::Cifar100 => &[("train.bin", "train"), ("test.bin", "test")],
        }
    }
    /// Class-name files this variant ships.
    fn name_files(self) -> &'static [&'static str] {
        match self {
            Variant::Cifar10 => &["batches.meta.txt"],
            Variant::Cifar100 => &["fine_label_names.txt", "coarse_label_names.txt"],
        }
    }
    /// Every file this variant knows by name: (name, is a batch).
    fn files(self) -> impl Iterator<Item = (&'static str, bool)> {
        let batches = self.batches().iter().map(|&(b, _)| (b, true));
        batches.chain(self.name_files().iter().map(|&n| (n, false)))
    }
    fn name(self) -> &'static str {
        match self {
            Variant::Cifar10 => "CIFAR-10",
            Variant::Cifar100 => "CIFAR-100",
        }
    }
    const ALL: [Variant; 2] = [Variant::Cifar10, Variant::Cifar100];
}

/// Opens a CIFAR-10/100 folder or official archive with the fine labels.
pub fn open(path: &Path) -> Result<Dataset> {
    open_with(path, LabelSet::Fine)
}

/// Opens a CIFAR-10/100 folder or official archive; `labels` picks CIFAR-100's fine (100) or
/// coarse (20) labels. Asking CIFAR-10 for coarse labels is an error.
pub fn open_with(path: &Path, labels: LabelSet) -> Result<Dataset> {
    let found = if path.is_dir() {
        read_dir(path)?
    } else {
        tarball::read(path)?
    };
    build(found, path, labels)
}

/// True if `path` is a folder holding CIFAR batch files (or the archive's folder), or an
/// archive whose first member is in `cifar-10-batches-bin/` or `cifar-100-binary/`.
pub fn looks_like(path: &Path) -> bool {
    if path.is_dir() {
        [
            path.to_path_buf(),
            path.join(Variant::Cifar10.archive_dir()),
            path.join(Variant::Cifar100.archive_dir()),
        ]
        .iter()
        .any(|d| dir_variant(d).is_some())
    } else {
        tarball::first_member_variant(path).is_some()
    }
}

/// What a folder or archive holds, before validation.
pub(crate) struct Found {
    variant: Variant,
    /// Where missing files are reported as expected (the folder, or `archive/<archive_dir>`).
    base: PathBuf,
    batches: BTreeMap<&'static str, Member>,
    names: BTreeMap<&'static str, Member>,
}

impl Found {
    fn new(variant: Variant, base: PathBuf) -> Self {
        Found {
            variant,
            base,
            batches: BTreeMap::new(),
            names: BTreeMap::new(),
        }
    }
    /// Files this variant knows by name: (static name, is a batch).
    fn known(variant: Variant, file: &str) -> Option<(&'static str, bool)> {
        variant.files().find(|&(n, _)| n == file)
    }
}

/// The variant whose batch files `dir` holds; `None` when it holds neither or both.
fn dir_variant(dir: &Path) -> Option<Variant> {
    let has = |v: Variant| v.batches().iter().any(|(b, _)| dir.join(b).is_file());
    match (has(Variant::Cifar10), has(Variant::Cifar100)) {
        (true, false) => Some(Variant::Cifar10),
        (false, true) => Some(Variant::Cifar100),
        _ => None,
    }
}

fn read_dir(path: &Path) -> Result<Found> {
    let mut candidates = vec![path.to_path_buf()];
    if dir_variant(path).is_none() {
        candidates = Variant::ALL
            .iter()
            .map(|v| path.join(v.archive_dir()))
            .filter(|d| dir_variant(d).is_some())
            .collect();
    }
    let dir = match candidates.as_slice() {
        [one] => one,
        [] => {
            return Err(DataError::UnknownFormat {
                path: path.to_path_buf(),
                why: "no CIFAR batch files (data_batch_1.bin.., test_batch.bin or train.bin, test.bin) here or in cifar-10-batches-bin/, cifar-100-binary/".into(),
            })
        }
        _ => {
            return Err(DataError::UnknownFormat {
                path: path.to_path_buf(),
                why: "it holds both CIFAR-10 and CIFAR-100 batch files; point at one of the two folders".into(),
            })
        }
    };
    let variant = dir_variant(dir).ok_or_else(|| DataError::UnknownFormat {
        path: dir.clone(),
        why: "it holds both CIFAR-10 and CIFAR-100 batch files".into(),
    })?;
    let mut found = Found::new(variant, dir.clone());
    for (file, is_batch) in variant.files() {
        let p = dir.join(file);
        if !p.is_file() {
            continue;
        }
        let member = Member {
            bytes: io::open_maybe_gz(&p)?,
            path: p,
        };
        let map = if is_batch {
            &mut found.batches
        } else {
            &mut found.names
        };
        map.insert(file, member);
    }
    Ok(found)
}

fn class_names(found: &Found, file: &str, expected: usize) -> Result<Vec<String>> {
    let Some(m) = found.names.get(file) else {
        return Ok((0..expected).map(|c| c.to_string()).collect());
    };
    let text = std::str::from_utf8(&m.bytes).map_err(|e| DataError::BadHeader {
        path: m.path.clone(),
        what: format!("class names are not UTF-8 text ({e})"),
    })?;
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if names.len() != expected {
        return Err(DataError::BadHeader {
            path: m.path.clone(),
            what: format!(
                "{} class names, but {} has {expected}",
                names.len(),
                found.variant.name()
            ),
        });
    }
    Ok(names)
}

fn build(mut found: Found, root: &Path, set: LabelSet) -> Result<Dataset> {
    let variant = found.variant;
    let classes = match (variant, set) {
        (Variant::Cifar10, LabelSet::Fine) => class_names(&found, "batches.meta.txt", 10)?,
        (Variant::Cifar10, LabelSet::Coarse) => {
            return Err(DataError::UnknownFormat {
                path: root.to_path_buf(),
                why: "coarse labels were asked for, but this is CIFAR-10, which has only its 10 classes (coarse labels are CIFAR-100's)".into(),
            })
        }
        (Variant::Cifar100, LabelSet::Fine) => class_names(&found, "fine_label_names.txt", 100)?,
        (Variant::Cifar100, LabelSet::Coarse) => {
            class_names(&found, "coarse_label_names.txt", 20)?
        }
    };
    if found.batches.is_empty() {
        return Err(DataError::UnknownFormat {
            path: root.to_path_buf(),
            why: format!("no {} batch files in it", variant.name()),
        });
    }
    let mut skipped = Vec::new();
    let mut per_split: Vec<(&'static str, Vec<Member>)> = Vec::new();
    for &(file, split) in variant.batches() {
        let Some(member) = found.batches.remove(file) else {
            skipped.push(Skipped {
                path: found.base.join(file).display().to_string(),
                reason: format!(
                    "missing: {} ships it as part of split '{split}', whose samples from it are not in the dataset",
                    variant.name()
                ),
            });
            continue;
        };
        check_batch(&member, variant)?;
        match per_split.iter_mut().find(|(s, _)| *s == split) {
            Some((_, v)) => v.push(member),
            None => per_split.push((split, vec![member])),
        }
    }
    let splits = per_split
        .into_iter()
        .map(|(name, batches)| Split::new(name, Box::new(CifarSource::new(batches, variant, set))))
        .collect();
    Ok(Dataset {
        name: root.display().to_string(),
        format: Format::Cifar,
        root: root.to_path_buf(),
        classes,
        splits,
        skipped,
    })
}
