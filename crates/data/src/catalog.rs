//! The catalog of well-known datasets: what each one is, its class names, its official files
//! (size and SHA-256 as published) and the mirrors that serve them, plus where local copies are
//! looked for.
//!
//! ```no_run
//! use dlscope_data::catalog::{self, Roots};
//! let entry = catalog::find("fashion-mnist").unwrap();
//! match catalog::locate(entry, &Roots::from_env()) {
//!     Some(dir) => println!("{} is at {}", entry.name, dir.display()),
//!     None => println!("not here: {}", entry.fetch_hint()),
//! }
//! ```
//!
//! Local copies are looked for, in this order, in `$DLSCOPE_DATA/<name>/`, in the user cache
//! (`~/.cache/dlscope/<name>/` on Linux) and in system folders such as Debian's
//! `/usr/share/datasets/<name>/`. A folder counts only when every file of the entry is there,
//! either as published (`train-images-idx3-ubyte.gz`), decompressed (`train-images-idx3-ubyte`)
//! or, for archives, unpacked (`cifar-10-batches-bin/`).

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::dataset::Format;
use crate::error::{DataError, Result};

mod table;

/// One file of a dataset as its publisher distributes it.
#[derive(Debug, Clone, Copy)]
pub struct FileSpec {
    /// File name on the mirrors and on disk.
    pub name: &'static str,
    /// Size in bytes of the published file.
    pub size: u64,
    /// SHA-256 of the published file, lowercase hex.
    pub sha256: &'static str,
    /// Folder an archive unpacks to; a copy unpacked by hand counts as present.
    pub unpacked: Option<&'static str>,
    /// Other byte-exact copies known to hold the same data (repackaged by a distribution).
    pub known_copies: &'static [KnownCopy],
}

/// A repackaged copy of a published file whose checksum is known and whose content is faithful.
#[derive(Debug, Clone, Copy)]
pub struct KnownCopy {
    /// Who made the copy, e.g. `Debian package dataset-fashion-mnist`.
    pub origin: &'static str,
    pub size: u64,
    pub sha256: &'static str,
}

/// A dataset the catalog knows by name.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// Catalog name, as typed on the command line (`fashion-mnist`).
    pub name: &'static str,
    pub description: &'static str,
    pub format: Format,
    /// Class names; label `i` is `classes[i]`.
    pub classes: &'static [&'static str],
    /// Splits and their sample counts.
    pub splits: &'static [(&'static str, usize)],
    pub files: &'static [FileSpec],
    /// Base URLs, tried in order; a file's URL is the base followed by its name.
    pub mirrors: &'static [&'static str],
    pub homepage: &'static str,
    /// A distribution package that installs the dataset into a system folder.
    pub system_package: Option<&'static str>,
}

impl Entry {
    /// Total bytes of the published files.
    pub fn download_size(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// How to get this dataset onto this machine, in one sentence.
    pub fn fetch_hint(&self) -> String {
        let mut hint = format!(
            "it is not on this machine; run `dlscope fetch {}` to download it ({}), or place its files ({}) in $DLSCOPE_DATA/{}/",
            self.name,
            human_bytes(self.download_size()),
            self.files.iter().map(|f| f.name).collect::<Vec<_>>().join(", "),
            self.name
        );
        if let Some(pkg) = self.system_package {
            hint.push_str(&format!(", or install it with `apt-get install {pkg}`"));
        }
        hint
    }
}

/// Every dataset the catalog knows.
pub fn entries() -> &'static [Entry] {
    table::ENTRIES
}

/// Catalog names, comma-separated, for messages.
pub fn names() -> String {
    table::ENTRIES
        .iter()
        .map(|e| e.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The entry called `name`. Case, `-` and `_` do not matter: `Fashion_MNIST`, `cifar-10` and
/// `CIFAR10` all resolve.
pub fn find(name: &str) -> Option<&'static Entry> {
    let key = normalise(name);
    if key.is_empty() {
        return None;
    }
    table::ENTRIES.iter().find(|e| normalise(e.name) == key)
}

fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '-' | '_'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The folders searched for local copies, in priority order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roots {
    /// `$DLSCOPE_DATA`: copies the user placed, and the default download target when set.
    pub data: Option<PathBuf>,
    /// The user cache (`dirs::cache_dir()/dlscope`): the default download target otherwise.
    pub cache: Option<PathBuf>,
    /// System-wide copies installed by packages (`/usr/share/datasets`).
    pub system: Vec<PathBuf>,
}

impl Roots {
    /// The roots of this machine: `$DLSCOPE_DATA` (when set and not empty), the user cache
    /// folder, then `/usr/share/datasets` and `/usr/local/share/datasets`.
    pub fn from_env() -> Self {
        let data = std::env::var_os("DLSCOPE_DATA")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        Roots {
            data,
            cache: dirs::cache_dir().map(|d| d.join("dlscope")),
            system: vec![
                PathBuf::from("/usr/share/datasets"),
                PathBuf::from("/usr/local/share/datasets"),
            ],
        }
    }

    /// All roots in search order.
    pub fn search_order(&self) -> Vec<&Path> {
        self.data
            .iter()
            .chain(self.cache.iter())
            .chain(self.system.iter())
            .map(PathBuf::as_path)
            .collect()
    }

    /// Where downloads go unless told otherwise: `$DLSCOPE_DATA`, else the user cache.
    pub fn download_root(&self) -> Option<&Path> {
        self.data.as_deref().or(self.cache.as_deref())
    }
}

/// Whether one file of an entry is in a folder, and in which form.
fn file_present(dir: &Path, file: &FileSpec) -> Option<PathBuf> {
    let published = dir.join(file.name);
    if published.is_file() {
        return Some(published);
    }
    if let Some(raw) = file.name.strip_suffix(".gz") {
        let raw = dir.join(raw);
        if raw.is_file() {
            return Some(raw);
        }
    }
    file.unpacked.map(|u| dir.join(u)).filter(|p| p.is_dir())
}

/// Files of `entry` missing from `dir` (empty when the copy is complete).
pub fn missing_files(entry: &Entry, dir: &Path) -> Vec<&'static str> {
    entry
        .files
        .iter()
        .filter(|f| file_present(dir, f).is_none())
        .map(|f| f.name)
        .collect()
}

/// The first folder `<root>/<entry.name>` holding a complete copy, in search order.
pub fn locate(entry: &Entry, roots: &Roots) -> Option<PathBuf> {
    roots
        .search_order()
        .into_iter()
        .map(|root| root.join(entry.name))
        .find(|dir| dir.is_dir() && missing_files(entry, dir).is_empty())
}

/// Folders that hold some but not all files of `entry`, with what is missing.
pub fn incomplete_copies(entry: &Entry, roots: &Roots) -> Vec<(PathBuf, Vec<&'static str>)> {
    roots
        .search_order()
        .into_iter()
        .map(|root| root.join(entry.name))
        .filter(|dir| dir.is_dir())
        .filter_map(|dir| {
            let missing = missing_files(entry, &dir);
            (!missing.is_empty() && missing.len() < entry.files.len()).then_some((dir, missing))
        })
        .collect()
}

/// One line of `dlscope datasets`.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub name: &'static str,
    pub description: &'static str,
    pub format: Format,
    pub classes: usize,
    /// Samples over all splits.
    pub samples: usize,
    /// Bytes to download.
    pub download_bytes: u64,
    /// The complete local copy that `open` would use.
    pub local: Option<PathBuf>,
    /// Folders holding only part of the files.
    pub incomplete: Vec<PathBuf>,
}

/// The catalog with where each dataset is available locally.
pub fn status(roots: &Roots) -> Vec<Status> {
    table::ENTRIES
        .iter()
        .map(|e| Status {
            name: e.name,
            description: e.description,
            format: e.format,
            classes: e.classes.len(),
            samples: e.splits.iter().map(|(_, n)| n).sum(),
            download_bytes: e.download_size(),
            local: locate(e, roots),
            incomplete: incomplete_copies(e, roots)
                .into_iter()
                .map(|(d, _)| d)
                .collect(),
        })
        .collect()
}

/// What checking one local file against the catalog found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "check", rename_all = "snake_case")]
pub enum FileCheck {
    /// Byte-identical to the published file.
    Official,
    /// Byte-identical to a known repackaged copy.
    KnownCopy {
        origin: &'static str,
    },
    /// Present decompressed or unpacked; checksums apply to the published file only.
    Unverified {
        path: PathBuf,
    },
    /// Present but neither the published file nor a known copy.
    Mismatch {
        size: u64,
        sha256: String,
    },
    Missing,
}

/// Checks each file of `entry` in `dir` against the published checksums (reads every byte).
pub fn verify(entry: &Entry, dir: &Path) -> Result<Vec<(&'static str, FileCheck)>> {
    entry
        .files
        .iter()
        .map(|f| {
            let check = match file_present(dir, f) {
                None => FileCheck::Missing,
                Some(p) if p.file_name() != Some(f.name.as_ref()) => {
                    FileCheck::Unverified { path: p }
                }
                Some(p) => check_file(f, &p)?,
            };
            Ok((f.name, check))
        })
        .collect()
}

/// Compares one file with the published checksum and the known copies.
pub fn check_file(spec: &FileSpec, path: &Path) -> Result<FileCheck> {
    let size = std::fs::metadata(path)
        .map_err(|e| DataError::io(path, "stat", e))?
        .len();
    let sizes_known = size == spec.size || spec.known_copies.iter().any(|c| c.size == size);
    let sha = if sizes_known {
        sha256_file(path)?
    } else {
        String::new()
    };
    if size == spec.size && sha == spec.sha256 {
        return Ok(FileCheck::Official);
    }
    if let Some(c) = spec
        .known_copies
        .iter()
        .find(|c| c.size == size && c.sha256 == sha)
    {
        return Ok(FileCheck::KnownCopy { origin: c.origin });
    }
    let sha256 = if sha.is_empty() {
        sha256_file(path)?
    } else {
        sha
    };
    Ok(FileCheck::Mismatch { size, sha256 })
}

/// SHA-256 of a file, lowercase hex, read in 1 MiB blocks.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(|e| DataError::io(path, "open", e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| DataError::io(path, "read", e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// `1234567` -> `1.2 MB` (decimal units, as download sizes are usually given).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found_loosely() {
        for e in entries() {
            assert_eq!(find(e.name).map(|f| f.name), Some(e.name));
        }
        assert_eq!(find("Fashion_MNIST").map(|e| e.name), Some("fashion-mnist"));
        assert_eq!(find("CIFAR-10").map(|e| e.name), Some("cifar10"));
        assert!(find("imagenet").is_none());
        assert!(find("--").is_none());
    }

    #[test]
    fn entries_are_consistent() {
        for e in entries() {
            assert!(!e.mirrors.is_empty(), "{}", e.name);
            for m in e.mirrors {
                assert!(m.ends_with('/'), "{}: mirror {m} must end with /", e.name);
            }
            for f in e.files {
                assert_eq!(f.sha256.len(), 64, "{} {}", e.name, f.name);
                assert!(f
                    .sha256
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
                assert!(f.size > 0);
            }
            let expected = match e.name {
                "cifar100" => 100,
                _ => 10,
            };
            assert_eq!(e.classes.len(), expected, "{}", e.name);
        }
    }

    #[test]
    fn cifar100_fine_names_are_the_sorted_official_list() {
        let mut sorted = table::CIFAR100_CLASSES.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, table::CIFAR100_CLASSES);
        assert!(table::CIFAR100_CLASSES.contains(&"aquarium_fish"));
        assert!(table::CIFAR100_CLASSES.contains(&"willow_tree"));
    }

    #[test]
    fn human_bytes_rounds_to_one_decimal() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(170_052_171), "170.1 MB");
        assert_eq!(human_bytes(30_000), "30.0 kB");
    }

    #[test]
    fn hint_names_the_fetch_command_and_the_package() {
        let h = find("fashion-mnist")
            .map(Entry::fetch_hint)
            .unwrap_or_default();
        assert!(h.contains("dlscope fetch fashion-mnist"), "{h}");
        assert!(h.contains("apt-get install dataset-fashion-mnist"), "{h}");
        let h = find("mnist").map(Entry::fetch_hint).unwrap_or_default();
        assert!(
            h.contains("dlscope fetch mnist") && !h.contains("apt-get"),
            "{h}"
        );
    }
}
