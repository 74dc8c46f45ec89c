//! # dlscope-data
//!
//! Samples, labels and splits of image-classification datasets, read from the formats people
//! already have them in, and written back out.
//!
//! ```no_run
//! let ds = dlscope_data::open("fashion-mnist").unwrap();
//! let train = ds.split("train").unwrap();
//! println!("{} classes, {} training images", ds.classes.len(), train.len());
//! let first = train.get(0).unwrap();
//! assert_eq!((first.image.height, first.image.width), (28, 28));
//! ```
//!
//! Readers: [`idx`] (MNIST family, raw or gzip), [`cifar`] (CIFAR-10/100 batches and the
//! official `.tar.gz`), [`folder`] (ImageNet-style class folders), [`manifest`] (CSV),
//! [`tensors`] (safetensors per split), [`webdataset`] (`.tar` shards), `parquet` (Hugging Face
//! layout, behind the `parquet` feature). Writers for all but CIFAR; [`convert`] goes between
//! them with optional [`transform`]s (resize, channels, pad) and re-encoding.
//! [`open`] accepts a catalog name or a path and detects the format.

pub mod catalog;
pub mod cifar;
pub mod convert;
pub mod dataset;
pub mod decode;
#[cfg(feature = "download")]
pub mod download;
pub mod embeddings;
pub mod error;
pub mod folder;
pub mod idx;
pub mod image;
pub mod io;
pub mod manifest;
pub mod open;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod summary;
pub mod tensors;
pub mod transform;
pub mod verify;
pub mod webdataset;

pub use dataset::{
    Dataset, Dense, Format, Sample, SampleId, SampleSource, Skipped, Split, Written,
};
pub use error::{DataError, Result};
pub use image::{Image, Shape};
pub use open::open;
