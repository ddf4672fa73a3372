//! The AVX2 + FMA + F16C tier.
//!
//! Every kernel here has the signature of its scalar reference in [`crate::kernels`] /
//! [`crate::quant`]. The public-in-crate entry points are safe `fn`s (so they fit the
//! [`Kernels`] table) that call `#[target_feature]` bodies; their soundness rests on
//! `kernels()` being reachable only through [`Kernels::for_tier`], which checks the CPU
//! features first.
//!
//! One file per operation, named as in every tier: `quantize` (Q8_0 / Q8_1 / Q8_K, bit-exact),
//! `dot_q32` (Q4_0, Q4_1, Q5_0, Q8_0), `dot_k` (Q4_K, Q5_K, Q6_K) and `dot_float` (f16 / f32)
//! row dots, `gemm` (the table of gemm entries), `select` (which gemm path runs for a format,
//! column count and row length), `rms_norm`, `rope`, `activation` (SwiGLU, softmax, the vector
//! `exp`) and `attention`. The integer kernels themselves are 256-bit code that the other x86
//! tiers share, so they live in the frame (`arch/x86_64/frame`): this tier instantiates them with
//! its features.
// Kernel bodies index register-tile arrays with loop counters bounded by their const sizes, and
// slices whose lengths the safe wrappers checked once at the boundary (STYLE: check at the
// boundary, keep the inner loop free of checks).
#![allow(clippy::indexing_slicing)]

use crate::cpu::Tier;
use crate::kernels::Kernels;

mod activation;
mod attention;
mod dot_float;
mod dot_k;
mod dot_q32;
mod gemm;
mod quantize;
mod rms_norm;
mod rope;
mod select;

/// The AVX2 kernel table.
///
/// # Safety
/// The CPU must implement AVX2, FMA and F16C (checked by [`Kernels::for_tier`]).
pub(crate) unsafe fn kernels() -> Kernels {
    Kernels {
        tier: Tier::Avx2,
        quantize_q8_0: quantize::quantize_q8_0,
        quantize_q8_1: quantize::quantize_q8_1,
        quantize_q8_k: quantize::quantize_q8_k,
        dot_q4_0_q8_0: dot_q32::dot_q4_0_q8_0,
        dot_q4_1_q8_1: dot_q32::dot_q4_1_q8_1,
        dot_q5_0_q8_0: dot_q32::dot_q5_0_q8_0,
        dot_q8_0_q8_0: dot_q32::dot_q8_0_q8_0,
        dot_q4_k_q8_k: dot_k::dot_q4_k_q8_k,
        dot_q5_k_q8_k: dot_k::dot_q5_k_q8_k,
        dot_q6_k_q8_k: dot_k::dot_q6_k_q8_k,
        dot_f16_f32: dot_float::dot_f16_f32,
        dot_f32_f32: dot_float::dot_f32_f32,
        gemm_q4_0_q8_0: gemm::gemm_q4_0_q8_0,
        gemm_q4_1_q8_1: gemm::gemm_q4_1_q8_1,
        gemm_q5_0_q8_0: gemm::gemm_q5_0_q8_0,
        gemm_q8_0_q8_0: gemm::gemm_q8_0_q8_0,
        gemm_q4_k_q8_k: gemm::gemm_q4_k_q8_k,
        gemm_q5_k_q8_k: gemm::gemm_q5_k_q8_k,
        gemm_q6_k_q8_k: gemm::gemm_q6_k_q8_k,
        gemm_f16_f32: gemm::gemm_f16_f32,
        gemm_f32_f32: gemm::gemm_f32_f32,
        rms_norm: rms_norm::rms_norm,
        rope_neox: rope::rope_neox,
        rope_norm: rope::rope_norm,
        swiglu: activation::swiglu,
        softmax: activation::softmax,
        attn_scores_causal_f16: attention::attn_scores_causal_f16,
        attn_values_causal_f16: attention::attn_values_causal_f16,
    }
}
