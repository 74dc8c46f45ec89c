//! dlscope-ml (in progress).
pub mod assign;
mod chain;
pub mod density;
pub mod eigen;
pub mod error;
pub mod features;
pub mod hierarchical;
pub mod kernels;
pub mod kmeans;
pub mod linalg;
pub mod matrix;
pub mod metrics;
pub mod minibatch;
pub mod neighbors;
pub mod pca;
pub mod pipeline;
mod randomized;
pub mod sampling;
pub mod subset;
pub mod synthetic;

pub use error::{MlError, Result};
pub use matrix::{MatRef, Matrix};
