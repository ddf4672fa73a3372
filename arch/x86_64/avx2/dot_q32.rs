//! AVX2 row dot products of the 32-element formats (Q4_0·Q8_0, Q4_1·Q8_1, Q5_0·Q8_0,
//! Q8_0·Q8_0): the `1 × 1` instance of the frame's 256-bit tiles ([`crate::arch::x86_64::frame::q32`],
//! whose module docs give the math, accumulator scheme and tails), bit-exact with
//! [`crate::kernels::dot`].

use crate::arch::x86_64::frame::q32::{tile, Q32Pair, Q4_0Q8_0, Q4_1Q8_1, Q5_0Q8_0, Q8_0Q8_0};
use crate::quant::{BlockQ4_0, BlockQ4_1, BlockQ5_0, BlockQ8_0, BlockQ8_1};

/// The row dot product of a pair: the `1 × 1` tile over the common block prefix.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[inline(always)]
unsafe fn dot<P: Q32Pair>(w: &[P::W], x: &[P::X]) -> f32 {
    let nb = w.len().min(x.len());
    // SAFETY: both slices hold at least `nb` blocks; CPU features per the caller.
    let [[v]] = unsafe { tile::<P, 1, 1>([w.as_ptr()], [x.as_ptr()], nb) };
    v
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q4_0_q8_0_avx2(w: &[BlockQ4_0], x: &[BlockQ8_0]) -> f32 {
    // SAFETY: the features are enabled in this function.
    unsafe { dot::<Q4_0Q8_0>(w, x) }
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q4_1_q8_1_avx2(w: &[BlockQ4_1], x: &[BlockQ8_1]) -> f32 {
    // SAFETY: the features are enabled in this function.
    unsafe { dot::<Q4_1Q8_1>(w, x) }
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q5_0_q8_0_avx2(w: &[BlockQ5_0], x: &[BlockQ8_0]) -> f32 {
    // SAFETY: the features are enabled in this function.
    unsafe { dot::<Q5_0Q8_0>(w, x) }
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_q8_0_q8_0_avx2(w: &[BlockQ8_0], x: &[BlockQ8_0]) -> f32 {
    // SAFETY: the features are enabled in this function.
    unsafe { dot::<Q8_0Q8_0>(w, x) }
}

/// AVX2 [`crate::kernels::dot::dot_q4_0_q8_0`] (bit-exact).
pub(crate) fn dot_q4_0_q8_0(w: &[BlockQ4_0], x: &[BlockQ8_0]) -> f32 {
    // SAFETY: reachable only through `avx2::kernels()` (CPU features checked).
    unsafe { dot_q4_0_q8_0_avx2(w, x) }
}

/// AVX2 [`crate::kernels::dot::dot_q4_1_q8_1`] (bit-exact).
pub(crate) fn dot_q4_1_q8_1(w: &[BlockQ4_1], x: &[BlockQ8_1]) -> f32 {
    // SAFETY: reachable only through `avx2::kernels()` (CPU features checked).
    unsafe { dot_q4_1_q8_1_avx2(w, x) }
}

/// AVX2 [`crate::kernels::dot::dot_q5_0_q8_0`] (bit-exact).
pub(crate) fn dot_q5_0_q8_0(w: &[BlockQ5_0], x: &[BlockQ8_0]) -> f32 {
    // SAFETY: reachable only through `avx2::kernels()` (CPU features checked).
    unsafe { dot_q5_0_q8_0_avx2(w, x) }
}

/// AVX2 [`crate::kernels::dot::dot_q8_0_q8_0`] (bit-exact).
pub(crate) fn dot_q8_0_q8_0(w: &[BlockQ8_0], x: &[BlockQ8_0]) -> f32 {
    // SAFETY: reachable only through `avx2::kernels()` (CPU features checked).
    unsafe { dot_q8_0_q8_0_avx2(w, x) }
}
