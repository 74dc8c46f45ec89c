//! Image folders, ImageNet style: one subfolder per class, optional split folders above them.
//!
//! ```no_run
//! use dlscope_data::folder;
//! let ds = folder::open("data/pets".as_ref()).unwrap();
//! println!("classes {:?}, splits {:?}", ds.classes, ds.split_names());
//! let out = folder::write(&ds, "pets-png".as_ref(), folder::ImageFormat::Png).unwrap();
//! println!("{} images written, {} skipped", out.samples, out.skipped.len());
//! ```
//!
//! Layout rules:
//! - If every (non-hidden) subfolder of the root is named `train`, `val`, `valid`,
//!   `validation` or `test` (any case), each is a split, named as the folder is. Otherwise the
//!   root is one split named `train`. (A folder like `train/ bus/ car/` is three classes.)
//! - Below a split root, each subfolder is a class; images at any depth inside it belong to it.
//!   Images lying directly in the split root, or in a folder named `_unlabelled`, are unlabelled.
//! - Images are recognised by extension, any case: `.jpg .jpeg .png .webp .bmp .gif .tif .tiff`.
//!   Other files are listed in [`Dataset::skipped`](crate::Dataset) with the reason, as are
//!   unreadable folders, broken symlinks and symlink loops; listing goes on. Hidden entries
//!   (name starting with `.`) are ignored.
//! - Samples of a split are sorted by the bytes of their path; the class list is the sorted union
//!   of class folder names over all splits (empty class folders count). Two non-UTF-8 class
//!   names that differ only in invalid bytes merge into one class.
//!
//! Listing decodes nothing and keeps only a compact relative path and a label per sample; images
//! decode on [`Split::get`](crate::Split::get), with the limits of [`crate::decode`].

mod scan;
pub(crate) mod source;
pub(crate) mod write;

use std::ffi::OsStr;
use std::path::Path;

use crate::dataset::Dataset;
use crate::error::Result;

pub use write::{write, ImageFormat};

/// Folder names that mark splits when they are the only subfolders of the root.
pub const SPLIT_NAMES: [&str; 5] = ["train", "val", "valid", "validation", "test"];

/// Class folder name that holds unlabelled samples (written by [`write`], read back as such).
pub const UNLABELLED_DIR: &str = "_unlabelled";

/// File extensions read as images (compared case-insensitively).
pub const IMAGE_EXTENSIONS: [&str; 8] = ["jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff"];

/// Lists the image folder at `root` (decodes nothing; see the module docs for the rules).
pub fn open(root: &Path) -> Result<Dataset> {
    scan::list(root)
}

/// Whether `root` is a folder with an image file within three levels (root, split, class),
/// looking at no more than a few thousand entries.
pub fn looks_like(root: &Path) -> bool {
    if !root.is_dir() {
        return false;
    }
    walkdir::WalkDir::new(root)
        .max_depth(3)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'))
        .take(5000)
        .filter_map(|e| e.ok())
        .any(|e| e.file_type().is_file() && is_image_name(e.file_name()))
}

/// Whether a file name has one of the [`IMAGE_EXTENSIONS`].
pub fn is_image_name(name: &OsStr) -> bool {
    Path::new(name)
        .extension()
        .and_then(OsStr::to_str)
        .is_some_and(|ext| IMAGE_EXTENSIONS.iter().any(|e| e.eq_ignore_ascii_case(ext)))
}
