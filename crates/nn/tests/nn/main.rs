//! Integration tests of dlscope-nn, on real Fashion-MNIST where it matters.

mod checkpoint;
mod crossval;
mod errors;
mod fast_path;
mod folders;
mod training;
mod util;
