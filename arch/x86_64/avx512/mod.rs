//! The AVX-512 tier: AVX-512 F + BW + VL + VNNI (on top of AVX2 + FMA + F16C).
//!
//! Every kernel here has the signature of its scalar reference in [`crate::kernels`] /
//! [`crate::quant`], and the same contract as the AVX2 tier's: the integer dot products, the
//! gemms and the quantizers are bit-exact with the scalar reference, and so are the float
//! kernels (they evaluate the float order of [`crate::kernels::float`]). The public-in-crate entry points are safe `fn`s that call
//! `#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]` bodies;
//! their soundness rests on `kernels()` being reachable only through [`Kernels::for_tier`],
//! which checks those features first.
//!
//! One file per operation, named as in every tier: `quantize`, `dot_q32` (Q4_0, Q4_1, Q5_0,
//! Q8_0 with `vpdpbusd`, 16 blocks per step), `dot_k` (Q4_K, Q5_K, Q6_K with `vpmaddubsw` +
//! `vpdpwssd`, a super-block in 4 vectors), `dot_float`, `gemm` (the table of gemm entries,
//! run by the frame's driver), `select` (which gemm path runs for a format, column count and
//! row length), `q32_sixteens` (Q4_0/Q4_1 prefill: the frame's row octets widened to sixteen
//! rows per 512-bit `vpdpbusd`), `rms_norm`, `rope`, `activation` and `attention`. The 256-bit
//! kernels this tier also runs (per-column tables, octets, quads) are the frame's
//! (`arch/x86_64/frame`), compiled here with this tier's features.
//!
//! The tier is tested on a machine with AVX-512 (`scripts/avx512-check`, `docs/avx512.md`).
// Kernel bodies index register-tile arrays with loop counters bounded by their const sizes, and
// slices whose lengths the safe wrappers checked once at the boundary.
#![allow(clippy::indexing_slicing)]

use crate::cpu::Tier;
use crate::kernels::Kernels;

mod activation;
mod attention;
mod dot_float;
mod dot_k;
mod dot_q32;
mod gemm;
mod q32_sixteens;
mod quantize;
mod rms_norm;
mod rope;
mod select;

/// The AVX-512 kernel table.
///
/// # Safety
/// The CPU must implement AVX2, FMA, F16C and AVX-512 F, BW, VL and VNNI (checked by
/// [`Kernels::for_tier`]).
pub(crate) unsafe fn kernels() -> Kernels {
    Kernels {
        tier: Tier::Avx512,
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
