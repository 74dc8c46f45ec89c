//! The CPU inference engine: activations kept channels-last (NHWC) from the first layer to the
//! last, so every convolution is one matrix product (1x1 convolutions read the activation
//! in place; larger kernels go through a tiled im2col; 3x3 stride-1 layers with 16 or more
//! input channels run as Winograd F(2x2, 3x3), 16 smaller products with 2.25x fewer
//! operations) and every depthwise convolution is a
//! direct loop that vectorises over channels. Batch norms are folded into the convolution
//! weights at load time, and bias, activation and residual additions are applied to each
//! output tile while it is still in cache.
//!
//! Matrix products use the `gemm` crate (runtime-dispatched AVX2/FMA/AVX-512 kernels); the
//! crate's own loops are compiled twice, plain and with AVX2+FMA, and the second is chosen at
//! run time when the CPU has them. Work is spread with rayon over the current thread pool
//! (`RAYON_NUM_THREADS`, or a pool the caller installs).

pub mod conv;
pub mod depthwise;
pub mod linear;
pub mod pool;
mod simd;
mod winograd;

pub use conv::{Algorithm, BatchNorm, Conv2d, WINOGRAD_MIN_CIN};
pub use depthwise::Depthwise;
pub use linear::Linear;

use std::sync::Mutex;

use crate::preprocess::Batch;

/// A batch of activations, NHWC, f32. Its buffer goes back to a small pool when dropped, so
/// the next layer's output reuses it instead of allocating and zeroing fresh memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Act {
    pub n: usize,
    pub h: usize,
    pub w: usize,
    pub c: usize,
    data: Buffer,
}

impl Act {
    /// Wraps NHWC values; `data` must hold `n * h * w * c` of them.
    pub fn new(n: usize, h: usize, w: usize, c: usize, data: Vec<f32>) -> crate::Result<Act> {
        if data.len() != n * h * w * c {
            return Err(crate::VisionError::Invalid(format!(
                "activation of {n}x{h}x{w}x{c} given {} values",
                data.len()
            )));
        }
        Ok(Act::from_buffer(n, h, w, c, Buffer::from(data)))
    }

    pub(crate) fn from_buffer(n: usize, h: usize, w: usize, c: usize, data: Buffer) -> Act {
        debug_assert_eq!(data.len(), n * h * w * c);
        Act { n, h, w, c, data }
    }

    /// Transposes an NCHW batch (3 channels) to NHWC.
    pub fn from_batch(b: &Batch) -> Act {
        let (h, w, c) = (b.height, b.width, 3);
        let plane = h * w;
        let mut data = buffer(b.n * plane * c);
        for (dst, src) in data
            .chunks_exact_mut(plane * c)
            .zip(b.data.chunks_exact(plane * c))
        {
            for (p, px) in dst.chunks_exact_mut(c).enumerate() {
                for (ch, v) in px.iter_mut().enumerate() {
                    *v = src[ch * plane + p];
                }
            }
        }
        Act::from_buffer(b.n, h, w, c, data)
    }

    /// The values, NHWC.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// Number of pixels over the batch (rows of the NHWC matrix).
    pub fn pixels(&self) -> usize {
        self.n * self.h * self.w
    }
}

/// A vector of f32 taken from (and given back on drop to) a small pool of recycled
/// activation buffers. `filled` is how many values of the allocation were ever initialised
/// (at least `len`), so a recycled buffer can serve any later request up to that size without
/// being zeroed again.
#[derive(Debug)]
pub(crate) struct Buffer {
    v: Vec<f32>,
    filled: usize,
}

impl From<Vec<f32>> for Buffer {
    fn from(v: Vec<f32>) -> Buffer {
        let filled = v.len();
        Buffer { v, filled }
    }
}

impl Clone for Buffer {
    fn clone(&self) -> Buffer {
        Buffer::from(self.v.clone())
    }
}

impl PartialEq for Buffer {
    fn eq(&self, other: &Buffer) -> bool {
        self.v == other.v
    }
}

impl std::ops::Deref for Buffer {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.v
    }
}

impl std::ops::DerefMut for Buffer {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.v
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        let mut v = std::mem::take(&mut self.v);
        if v.capacity() < POOL_MIN {
            return;
        }
        // SAFETY: `v` is only ever truncated while inside a Buffer (never replaced, nor grown
        // past `filled`), and truncating f32 values leaves them in place, so the first
        // `filled <= capacity` values are initialised.
        unsafe { v.set_len(self.filled) };
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        pool.push(v);
        if pool.len() > POOL_MAX {
            // Drop the smallest: large buffers are the expensive ones to remake.
            if let Some(i) = (0..pool.len()).min_by_key(|&i| pool[i].len()) {
                pool.swap_remove(i);
            }
        }
    }
}

/// Recycled activation buffers, each at its full initialised length.
static POOL: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());
const POOL_MAX: usize = 4;
/// Buffers smaller than this are not worth pooling.
const POOL_MIN: usize = 1 << 14;

/// A buffer of `len` values with unspecified contents (stale values of an earlier activation,
/// or zeros): the caller overwrites every element. Reuses the smallest pooled buffer that is
/// large enough.
pub(crate) fn buffer(len: usize) -> Buffer {
    let taken = {
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        let best = pool
            .iter()
            .enumerate()
            .filter(|(_, b)| b.len() >= len)
            .min_by_key(|(_, b)| b.len())
            .map(|(i, _)| i);
        best.map(|i| pool.swap_remove(i))
    };
    match taken {
        Some(mut v) => {
            let filled = v.len();
            v.truncate(len);
            Buffer { v, filled }
        }
        None => Buffer::from(vec![0f32; len]),
    }
}

/// Activation applied after a layer's bias.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    None,
    Relu,
    Relu6,
}

impl Activation {
    #[inline(always)]
    pub fn apply(self, v: f32) -> f32 {
        match self {
            Activation::None => v,
            Activation::Relu => v.max(0.0),
            Activation::Relu6 => v.clamp(0.0, 6.0),
        }
    }
}

/// How a convolution pads its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// The same number of zeros on every side (PyTorch `padding=p`).
    Symmetric(usize),
    /// TensorFlow "SAME": output `ceil(n / s)`, total padding
    /// `max((ceil(n / s) - 1) * s + k - n, 0)`, the smaller half before, the rest after.
    TfSame,
}

impl Padding {
    /// (output size, padding before) along one axis of size `n`.
    pub fn resolve(self, n: usize, k: usize, s: usize) -> (usize, usize) {
        match self {
            Padding::Symmetric(p) if n + 2 * p < k => (0, p),
            Padding::Symmetric(p) => ((n + 2 * p - k) / s + 1, p),
            Padding::TfSame => {
                let out = n.div_ceil(s);
                let total = ((out.max(1) - 1) * s + k).saturating_sub(n);
                (out, total / 2)
            }
        }
    }
}

/// Runs `f` on a rayon pool of `threads` threads (the engine's kernels and gemm use the
/// current pool), or on the global pool when `None`.
pub fn with_threads<R: Send>(
    threads: Option<usize>,
    f: impl FnOnce() -> R + Send,
) -> crate::Result<R> {
    match threads {
        None => Ok(f()),
        Some(n) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n.max(1))
                .build()
                .map_err(|e| {
                    crate::VisionError::Invalid(format!("cannot start {n} threads: {e}"))
                })?;
            Ok(pool.install(f))
        }
    }
}

/// Threads of the current rayon pool.
pub(crate) fn threads() -> usize {
    rayon::current_num_threads().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tf_same_padding_matches_the_notes() {
        // From the EfficientNet-Lite0 notes, for a 224 input chain.
        assert_eq!(Padding::TfSame.resolve(224, 3, 2), (112, 0)); // stem (0, 1)
        assert_eq!(Padding::TfSame.resolve(112, 3, 2), (56, 0)); // (0, 1)
        assert_eq!(Padding::TfSame.resolve(56, 5, 2), (28, 1)); // (1, 2)
        assert_eq!(Padding::TfSame.resolve(28, 3, 1), (28, 1));
        assert_eq!(Padding::TfSame.resolve(14, 5, 1), (14, 2));
        assert_eq!(Padding::Symmetric(1).resolve(224, 3, 1), (224, 1));
    }
}
