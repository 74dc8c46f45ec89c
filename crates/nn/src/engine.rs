//! Where the numbers are crunched: the fast CPU path (hand-written kernels on `gemm`, the
//! default), or burn on a device (Flex on the CPU; wgpu or CUDA when built with those features).

use burn::tensor::Device;

use crate::error::{NnError, Result};

/// The compute engine of training and inference.
#[derive(Debug, Clone)]
pub enum Engine {
    /// Fast CPU path: preallocated buffers, fused kernels, `gemm`.
    Cpu,
    /// Burn modules and autodiff on a burn device.
    Burn(Device),
}

impl Engine {
    /// `cpu` (default), `flex`, `wgpu` or `cuda`.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "cpu" => Ok(Engine::Cpu),
            "flex" => Ok(Engine::Burn(Device::flex())),
            #[cfg(feature = "wgpu")]
            "wgpu" => Ok(Engine::Burn(Device::wgpu(Default::default()))),
            #[cfg(not(feature = "wgpu"))]
            "wgpu" => Err(NnError::setting(
                "device",
                name,
                "dlscope was built without the `wgpu` feature",
            )),
            #[cfg(feature = "cuda")]
            "cuda" => Ok(Engine::Burn(Device::cuda(0))),
            #[cfg(not(feature = "cuda"))]
            "cuda" => Err(NnError::setting(
                "device",
                name,
                "dlscope was built without the `cuda` feature",
            )),
            _ => Err(NnError::setting(
                "device",
                name,
                "expected cpu, flex, wgpu or cuda",
            )),
        }
    }

    pub fn name(&self) -> String {
        match self {
            Engine::Cpu => "cpu".into(),
            Engine::Burn(d) => format!("burn {d:?}"),
        }
    }
}

/// Runs `f` on a rayon pool of `threads` threads (0 = rayon's default, one per core).
pub(crate) fn with_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> Result<R> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| NnError::Backend(format!("cannot start {threads} threads: {e}")))?;
    Ok(pool.install(f))
}

/// The thread count a pool of `threads` (0 = default) will have.
pub(crate) fn resolve_threads(threads: usize) -> usize {
    if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    }
}
