//! CPU kernels of the fast training path: row-major `f32` buffers, channels-last images,
//! GEMM through the `gemm` crate, no allocation per call.

pub mod conv;
pub mod dense;
pub mod dropout;
pub mod gemm;
pub mod loss;
pub mod pool;
pub mod simd;
