//! AVX2 row dot products of the K formats against Q8_K (Q4_K, Q5_K, Q6_K): the `1 × 1`
//! instance of the frame's K tile over its 256-bit formats
//! ([`crate::arch::x86_64::frame::kformat`], whose module docs give the math, unpacking and
//! accumulator scheme), bit-exact with [`crate::kernels::dot`].

use crate::arch::x86_64::frame::kformat::{tile, KFormat, Q4K, Q5K, Q6K};
use crate::quant::{BlockQ4K, BlockQ5K, BlockQ6K, BlockQ8K};

/// The row dot product: the `1 × 1` tile over the common prefix.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[inline(always)]
unsafe fn dot<F: KFormat>(w: &[F::W], x: &[BlockQ8K]) -> f32 {
    let nb = w.len().min(x.len());
    // SAFETY: both slices hold at least `nb` super-blocks; CPU features per the caller.
    let [[v]] = unsafe { tile::<F, 1, 1>([w.as_ptr()], [x.as_ptr()], nb) };
    v
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q4_k_q8_k_avx2(w: &[BlockQ4K], x: &[BlockQ8K]) -> f32 {
    // SAFETY: the features are enabled in this function.
    unsafe { dot::<Q4K>(w, x) }
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q5_k_q8_k_avx2(w: &[BlockQ5K], x: &[BlockQ8K]) -> f32 {
    // SAFETY: the features are enabled in this function.
    unsafe { dot::<Q5K>(w, x) }
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q6_k_q8_k_avx2(w: &[BlockQ6K], x: &[BlockQ8K]) -> f32 {
    // SAFETY: the features are enabled in this function.
    unsafe { dot::<Q6K>(w, x) }
}

/// AVX2 [`crate::kernels::dot::dot_q4_k_q8_k`] (bit-exact).
pub(crate) fn dot_q4_k_q8_k(w: &[BlockQ4K], x: &[BlockQ8K]) -> f32 {
    // SAFETY: reachable only through `avx2::kernels()` (CPU features checked).
    unsafe { dot_q4_k_q8_k_avx2(w, x) }
}

/// AVX2 [`crate::kernels::dot::dot_q5_k_q8_k`] (bit-exact).
pub(crate) fn dot_q5_k_q8_k(w: &[BlockQ5K], x: &[BlockQ8K]) -> f32 {
    // SAFETY: reachable only through `avx2::kernels()` (CPU features checked).
    unsafe { dot_q5_k_q8_k_avx2(w, x) }
}

/// AVX2 [`crate::kernels::dot::dot_q6_k_q8_k`] (bit-exact).
pub(crate) fn dot_q6_k_q8_k(w: &[BlockQ6K], x: &[BlockQ8K]) -> f32 {
    // SAFETY: reachable only through `avx2::kernels()` (CPU features checked).
    unsafe { dot_q6_k_q8_k_avx2(w, x) }
}
