//! One entry point for every dataset argument: a catalog name (`fashion-mnist`), a path whose
//! format is detected, or a path with an explicit format prefix (`idx:`, `cifar:`, `folder:`,
//! `manifest:`, `tensors:`, `webdataset:`, `parquet:`).
//!
//! ```no_run
//! let fm = dlscope_data::open("fashion-mnist")?;             // catalog: local copy, class names
//! let mine = dlscope_data::open("photos/")?;                 // detected: an image folder
//! let csv = dlscope_data::open("manifest:labels.txt")?;      // forced: a CSV manifest
//! # Ok::<(), dlscope_data::DataError>(())
//! ```
//!
//! Resolution: a spec with a known prefix is read with that reader. Otherwise a catalog name
//! (compared ignoring case, `-` and `_`, and only when the spec has no `/`) resolves to the first
//! complete local copy (see [`catalog`](crate::catalog)); `./mnist` opens a folder of that name.
//! Any other spec must be an existing path, detected in this order: a `.csv` file is a manifest;
//! a `.tar.gz`/`.tgz` file or a folder with CIFAR batch files is CIFAR; a folder with IDX files
//! under the standard names is IDX; a `.safetensors` file or a folder holding one is tensors; a
//! folder of `<split>-NNNNNN.tar` shards is WebDataset; a `.parquet` file or a folder holding one
//! is Parquet; a folder with images is an image folder.

use std::path::Path;

use crate::catalog::{self, Entry, Roots};
use crate::dataset::{Dataset, Format};
use crate::error::{DataError, Result};
use crate::{cifar, folder, idx, manifest, tensors, webdataset};

/// Opens a dataset by catalog name or path, looking for catalog copies in the roots of this
/// machine ([`Roots::from_env`]).
pub fn open(spec: &str) -> Result<Dataset> {
    open_with(spec, &Roots::from_env())
}

/// As [`open`], with catalog copies looked for in `roots`.
pub fn open_with(spec: &str, roots: &Roots) -> Result<Dataset> {
    if let Some((format, path)) = split_prefix(spec) {
        let path = Path::new(path);
        if !path.exists() {
            return Err(DataError::NotFound {
                name: spec.to_string(),
                hint: format!("no such file or folder: {}", path.display()),
            });
        }
        return open_as(format, path);
    }
    if !spec.contains('/') && !spec.contains(std::path::MAIN_SEPARATOR) {
        if let Some(entry) = catalog::find(spec) {
            return open_entry(entry, roots);
        }
    }
    let path = Path::new(spec);
    if path.exists() {
        return open_as(detect(path)?, path);
    }
    Err(DataError::NotFound {
        name: spec.to_string(),
        hint: format!(
            "it is neither an existing file or folder nor a catalog name (known: {}); `dlscope datasets` lists them",
            catalog::names()
        ),
    })
}

/// `idx:path` -> (Idx, "path"). Only the four format names are prefixes, so Windows drive
/// letters and ordinary names with a colon are paths.
fn split_prefix(spec: &str) -> Option<(Format, &str)> {
    let (head, rest) = spec.split_once(':')?;
    let format = match head {
        "idx" => Format::Idx,
        "cifar" => Format::Cifar,
        "folder" => Format::Folder,
        "manifest" => Format::Manifest,
        "tensors" => Format::Tensors,
        "webdataset" | "wds" => Format::WebDataset,
        "parquet" => Format::Parquet,
        _ => return None,
    };
    Some((format, rest))
}

fn open_as(format: Format, path: &Path) -> Result<Dataset> {
    match format {
        Format::Idx if path.is_file() => Err(DataError::UnknownFormat {
            path: path.to_path_buf(),
            why: "idx: needs the folder that holds the images and labels files, not one file"
                .into(),
        }),
        Format::Idx => idx::open_dir(path),
        Format::Cifar => cifar::open(path),
        Format::Folder => folder::open(path),
        Format::Manifest => manifest::open(path),
        Format::Tensors => tensors::open(path),
        Format::WebDataset => webdataset::open(path),
        Format::Parquet => open_parquet(path),
    }
}

#[cfg(feature = "parquet")]
fn open_parquet(path: &Path) -> Result<Dataset> {
    crate::parquet::open(path)
}

#[cfg(not(feature = "parquet"))]
fn open_parquet(path: &Path) -> Result<Dataset> {
    Err(DataError::FeatureDisabled {
        what: format!("reading the Parquet dataset {}", path.display()),
        feature: "parquet",
    })
}

/// A folder holding `.parquet` files, directly or in `data/` (the Hugging Face Hub layout).
fn is_parquet_dir(path: &Path) -> bool {
    [path.to_path_buf(), path.join("data")].iter().any(|d| {
        std::fs::read_dir(d).is_ok_and(|rd| {
            rd.filter_map(|e| e.ok()).any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .to_lowercase()
                    .ends_with(".parquet")
            })
        })
    })
}

/// Which reader a path needs, without reading the dataset. Fails with
/// [`DataError::UnknownFormat`] saying what was looked for.
pub fn detect(path: &Path) -> Result<Format> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if path.is_file() {
        if name.ends_with(".csv") {
            return Ok(Format::Manifest);
        }
        if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
            return Ok(Format::Cifar);
        }
        if name.ends_with(".safetensors") {
            return Ok(Format::Tensors);
        }
        if name.ends_with(".parquet") {
            return Ok(Format::Parquet);
        }
        let why = if name.contains("-ubyte") {
            format!(
                "it looks like a single IDX file; open the folder that holds it ({}) to pair images with labels",
                path.parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."))
                    .display()
            )
        } else {
            "a file is read only as a .csv manifest or a CIFAR .tar.gz archive".to_string()
        };
        return Err(DataError::UnknownFormat {
            path: path.to_path_buf(),
            why,
        });
    }
    if path.is_dir() {
        if cifar::looks_like(path) {
            return Ok(Format::Cifar);
        }
        if idx::looks_like_dir(path) {
            return Ok(Format::Idx);
        }
        if tensors::looks_like(path) {
            return Ok(Format::Tensors);
        }
        if webdataset::looks_like(path) {
            return Ok(Format::WebDataset);
        }
        if is_parquet_dir(path) {
            return Ok(Format::Parquet);
        }
        if folder::looks_like(path) {
            return Ok(Format::Folder);
        }
        return Err(DataError::UnknownFormat {
            path: path.to_path_buf(),
            why: "the folder holds no CIFAR batch files, no IDX files (train-images-idx3-ubyte[.gz], ...), no .safetensors, .parquet or <split>-NNNNNN.tar files and no image files within three levels".into(),
        });
    }
    Err(DataError::NotFound {
        name: path.display().to_string(),
        hint: "no such file or folder".into(),
    })
}

/// Opens the local copy of a catalog dataset, with its catalog name and class names.
pub fn open_entry(entry: &Entry, roots: &Roots) -> Result<Dataset> {
    let Some(dir) = catalog::locate(entry, roots) else {
        let mut hint = entry.fetch_hint();
        for (partial, missing) in catalog::incomplete_copies(entry, roots) {
            hint.push_str(&format!(
                "; {} holds an incomplete copy (missing {})",
                partial.display(),
                missing.join(", ")
            ));
        }
        return Err(DataError::NotFound {
            name: entry.name.to_string(),
            hint,
        });
    };
    let classes: Vec<String> = entry.classes.iter().map(|c| c.to_string()).collect();
    let mut ds = match entry.format {
        Format::Idx => idx::open_dir_with_classes(&dir, classes.clone())?,
        Format::Cifar => {
            let file = entry.files.first().ok_or_else(|| DataError::NotFound {
                name: entry.name.to_string(),
                hint: "the catalog entry lists no file".into(),
            })?;
            let unpacked = file.unpacked.map(|u| dir.join(u)).filter(|p| p.is_dir());
            match unpacked {
                Some(_) => cifar::open(&dir)?,
                None => cifar::open(&dir.join(file.name))?,
            }
        }
        Format::Folder => folder::open(&dir)?,
        Format::Manifest => manifest::open(&dir)?,
        other => open_as(other, &dir)?,
    };
    if ds.classes.len() != classes.len() {
        return Err(DataError::BadHeader {
            path: dir,
            what: format!(
                "this copy has {} classes but {} has {}",
                ds.classes.len(),
                entry.name,
                classes.len()
            ),
        });
    }
    ds.name = entry.name.to_string();
    ds.classes = classes;
    Ok(ds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_format_names_are_prefixes() {
        assert_eq!(split_prefix("idx:a/b"), Some((Format::Idx, "a/b")));
        assert_eq!(
            split_prefix("manifest:x.csv"),
            Some((Format::Manifest, "x.csv"))
        );
        assert_eq!(split_prefix("C:\\data"), None);
        assert_eq!(split_prefix("photos:2024"), None);
        assert_eq!(split_prefix("mnist"), None);
    }
}
