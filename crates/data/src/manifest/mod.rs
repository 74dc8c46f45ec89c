//! CSV manifests: `path,label[,split]`, one image file per line.
//!
//! ```no_run
//! use dlscope_data::manifest;
//! let ds = manifest::open("data/labels.csv".as_ref()).unwrap();
//! println!("{} images in {:?}", ds.len(), ds.split_names());
//! let out = manifest::write(&ds, "labels-copy".as_ref()).unwrap();
//! println!("wrote {}", out.path.join(manifest::MANIFEST_FILE).display());
//! ```
//!
//! Reading rules:
//! - A first row naming a known column is a header: path column `path`, `file`, `filename`
//!   (and a few more in [`PATH_COLUMNS`]), label column `label` or `class` ([`LABEL_COLUMNS`]),
//!   split column `split` ([`SPLIT_COLUMNS`]); other columns are ignored and a missing label
//!   column means unlabelled. Without a header the columns are positional: path, label, split.
//! - Paths are relative to the CSV's folder, or absolute. Labels are class names; the class list
//!   is the sorted unique names, sorted numerically when every name is an integer. An empty label
//!   is an unlabelled sample; a missing or empty split is `train`. Samples keep the file's order.
//! - A row with the wrong number of fields, an empty path or non-UTF-8 label/split text is a
//!   [`DataError::Manifest`](crate::DataError::Manifest) naming the line. Image files are not
//!   touched when opening: a missing or broken file fails when that sample is loaded.

mod read;
mod write;

use std::path::Path;

use crate::dataset::Dataset;
use crate::error::Result;

pub use read::{LABEL_COLUMNS, PATH_COLUMNS, SPLIT_COLUMNS};
pub use write::{write, MANIFEST_FILE};

/// Reads the manifest at `csv` (decodes no image).
pub fn open(csv: &Path) -> Result<Dataset> {
    read::read(csv)
}

/// Whether `path` is a `.csv` file whose first line has at least two fields.
pub fn looks_like(path: &Path) -> bool {
    read::looks_like(path)
}
