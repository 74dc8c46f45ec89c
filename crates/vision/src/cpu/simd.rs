//! Run-time choice between a plain build of a loop and one compiled with AVX2 + FMA.
//!
//! Kernels are written once as `#[inline(always)]` functions generic over `const FMA: bool`
//! and use [`madd`]; a `#[target_feature(enable = "avx2,fma")]` wrapper instantiates them with
//! `FMA = true`, and [`has_avx2_fma`] decides which one runs. No build flag is needed, so
//! binaries stay portable.

/// `a * b + c`, fused when `FMA` (the wrapper then has the `fma` feature, so this is one
/// instruction), else a plain multiply and add that the baseline target vectorises.
#[inline(always)]
pub fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// True when the CPU has AVX2 and FMA (std caches the answer).
#[inline]
pub fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}
