//! # dlscope-ml
//!
//! Classic methods over feature matrices (row-major `f32`, one row per sample: pixels / 255,
//! PCA components or embeddings), fast enough for all of Fashion-MNIST and ImageNet
//! embeddings: k-means and mini-batch k-means, agglomerative clustering (ward, average,
//! complete, single) with its dendrogram, DBSCAN and HDBSCAN, exact and randomized PCA,
//! clustering metrics, and dataset reduction (sample selection).
//!
//! ```
//! use dlscope_ml::kmeans::{KMeans, KMeansParams};
//! use dlscope_ml::metrics::adjusted_rand_index;
//! use dlscope_ml::pca::{Pca, PcaParams};
//! use dlscope_ml::synthetic::{blobs, random_centers};
//!
//! // 3 well-separated Gaussian blobs in 10 dimensions, 100 points each.
//! let (x, truth) = blobs(&random_centers(3, 10, 20.0, 1), 100, 0.5, 2);
//! let km = KMeans::fit(x.view(), &KMeansParams::new(3).seed(7)).unwrap();
//! assert_eq!(adjusted_rand_index(&truth, &km.labels).unwrap(), 1.0);
//!
//! let pca = Pca::fit(x.view(), &PcaParams::new(2)).unwrap();
//! let z = pca.transform(x.view()).unwrap(); // 300 x 2
//! assert!(pca.explained_variance_ratio.iter().sum::<f64>() > 0.9);
//! # assert_eq!((z.rows, z.cols), (300, 2));
//! ```
//!
//! Whole-dataset tasks (load splits, features, method, scores, outputs) for the `dlscope
//! cluster` and `dlscope reduce` subcommands are in [`pipeline`]. No burn, no BLAS: matrix
//! products use the pure-Rust `gemm` crate and distance kernels are dispatched to AVX2 + FMA at
//! run time, so portable builds stay fast.
pub mod assign;
mod chain;
pub mod density;
pub mod eigen;
mod eigen_top;
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
mod seeding;
pub mod subset;
pub mod synthetic;

pub use error::{MlError, Result};
pub use matrix::{MatRef, Matrix};
