//! The AVX2 + FMA + F16C tier.
//!
//! Every kernel here has the signature of its scalar reference in [`crate::kernels`] /
//! [`crate::quant`]. The public-in-crate entry points are safe `fn`s (so they fit the
//! [`Kernels`] table) that call `#[target_feature]` bodies; their soundness rests on
//! `kernels()` being reachable only through [`Kernels::for_tier`], which checks the CPU
//! features first.
//!
//! One file per operation (private modules; each opens with its math, layout, accumulator
//! scheme, tails and tolerance): `quantize` (Q8_0 / Q8_1 / Q8_K, bit-exact), `dot_q32` (Q4_0,
//! Q4_1, Q5_0, Q8_0 integer dots, bit-exact), `decode_q32` (the one-column decode path and the
//! row-panel gemm of Q4_0 / Q4_1 / Q5_0, with per-column tables, bit-exact), `octet_q32` and
//! `quad_k` (the prefill products of Q4_0 / Q4_1 in row octets and of Q4_K / Q5_K / Q6_K in row
//! quads: eight or four rows per `maddubs`, bit-exact), `dot_k` (Q4_K, Q5_K, Q6_K, bit-exact),
//! `dot_float` (f16 / f32 dots), `gemm` (register-tiled multi-column products, bit-identical to
//! the dots), `norm`, `rope` (bit-exact), `activation` (SwiGLU, softmax, the vector `exp`) and
//! `attention`; `common` holds the shared reductions.
// Kernel bodies index register-tile arrays with loop counters bounded by their const sizes, and
// slices whose lengths the safe wrappers checked once at the boundary (STYLE: check at the
// boundary, keep the inner loop free of checks).
#![allow(clippy::indexing_slicing)]

use crate::cpu::Tier;
use crate::kernels::Kernels;

pub(in crate::arch::x86_64) mod activation;
pub(in crate::arch::x86_64) mod attention;
pub(in crate::arch::x86_64) mod common;
pub(in crate::arch::x86_64) mod decode_k;
pub(in crate::arch::x86_64) mod decode_q32;
pub(in crate::arch::x86_64) mod dot_float;
pub(in crate::arch::x86_64) mod dot_k;
pub(in crate::arch::x86_64) mod dot_q32;
pub(in crate::arch::x86_64) mod gemm;
pub(in crate::arch::x86_64) mod norm;
pub(in crate::arch::x86_64) mod octet_q32;
pub(in crate::arch::x86_64) mod quad_k;
pub(in crate::arch::x86_64) mod quantize;
pub(in crate::arch::x86_64) mod rope;

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
        rms_norm: norm::rms_norm,
        rope_neox: rope::rope_neox,
        rope_norm: rope::rope_norm,
        swiglu: activation::swiglu,
        softmax: activation::softmax,
        attn_scores_causal_f16: attention::attn_scores_causal_f16,
        attn_values_causal_f16: attention::attn_values_causal_f16,
    }
}
