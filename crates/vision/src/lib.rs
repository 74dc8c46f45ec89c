//! dlscope-vision (being written).
pub mod error;
pub mod labels;
pub mod preprocess;
pub mod resample;
pub mod weights;

pub use error::{Result, VisionError};
