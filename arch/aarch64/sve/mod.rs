//! The SVE tier: vector-length agnostic kernels in `core::arch::asm!` (SVE intrinsics are
//! nightly-only), each loop whole inside one `asm!` block with a `whilelo`-predicated tail.
//!
//! Entry points are safe `fn`s (so they fit the [`Kernels`] table) that call
//! `#[target_feature(enable = "sve")]` bodies; their soundness rests on [`kernels`] being
//! reachable only through [`Kernels::for_tier`], which checks the CPU features first (the
//! entry points are private to this module tree for that reason).
//!
//! One file per operation, each opening with its math, layout, accumulator scheme, tails,
//! registers and tolerance:
//! - [`dot_float`]: `dot_f32_f32`, `dot_f16_f32` (float tolerance);
//! - [`rms_norm`], [`swiglu`], [`softmax`] (the vector `expf` of [`exp`]) (float tolerance);
//! - [`attention`]: `attn_scores_f16` (float tolerance), `attn_values_f16` (bit-exact);
//! - [`quantize`]: `quantize_q8_0`, `quantize_q8_1`, `quantize_q8_k` (bit-exact);
//! - [`dot_block32`]: `dot_q8_0_q8_0`, `dot_q4_0_q8_0`, `dot_q4_1_q8_1`, `dot_q5_0_q8_0`
//!   (bit-exact, 8-lane order);
//! - [`dot_k`]: `dot_q4_k_q8_k`, `dot_q5_k_q8_k`, `dot_q6_k_q8_k` (bit-exact);
//! - [`rope`]: `rope_neox`, `rope_norm` (bit-exact);
//! - [`gemm`]: the gemms of those formats (loops over this tier's dots).
//!
//! Every entry of the table is SVE code; the NEON baseline table is only the starting point of
//! the struct update (so a future table field gets the NEON version until SVE has one).
// Kernel bodies index register-tile arrays with loop counters bounded by their const sizes, and
// slices whose lengths the safe wrappers checked once at the boundary (STYLE: check at the
// boundary, keep the inner loop free of checks).
#![allow(clippy::indexing_slicing)]

mod attention;
mod dot_block32;
mod dot_float;
mod dot_k;
mod exp;
mod gemm;
mod quantize;
mod rms_norm;
mod rope;
mod softmax;
mod swiglu;
#[cfg(test)]
mod tests;

use crate::cpu::Tier;
use crate::kernels::Kernels;

/// The SVE kernel table: the NEON baseline table with the entries this tier implements
/// replaced by SVE ones (see the module docs for which).
///
/// # Safety
/// The CPU must implement NEON and SVE (checked by [`Kernels::for_tier`]).
pub(crate) unsafe fn kernels() -> Kernels {
    // SAFETY: the caller guarantees NEON, which is all the baseline NEON tier needs.
    let mut k = unsafe { crate::arch::aarch64::neon::kernels(Tier::Neon) };
    k.tier = Tier::Sve;
    k.quantize_q8_0 = quantize::quantize_q8_0;
    k.quantize_q8_1 = quantize::quantize_q8_1;
    k.quantize_q8_k = quantize::quantize_q8_k;
    k.dot_q4_0_q8_0 = dot_block32::dot_q4_0_q8_0;
    k.dot_q8_0_q8_0 = dot_block32::dot_q8_0_q8_0;
    k.dot_q4_1_q8_1 = dot_block32::dot_q4_1_q8_1;
    k.dot_q5_0_q8_0 = dot_block32::dot_q5_0_q8_0;
    k.dot_q4_k_q8_k = dot_k::dot_q4_k_q8_k;
    k.dot_q5_k_q8_k = dot_k::dot_q5_k_q8_k;
    k.dot_q6_k_q8_k = dot_k::dot_q6_k_q8_k;
    k.dot_f16_f32 = dot_float::dot_f16_f32;
    k.dot_f32_f32 = dot_float::dot_f32_f32;
    k.gemm_q4_0_q8_0 = gemm::gemm_q4_0_q8_0;
    k.gemm_q8_0_q8_0 = gemm::gemm_q8_0_q8_0;
    k.gemm_q4_1_q8_1 = gemm::gemm_q4_1_q8_1;
    k.gemm_q5_0_q8_0 = gemm::gemm_q5_0_q8_0;
    k.gemm_q4_k_q8_k = gemm::gemm_q4_k_q8_k;
    k.gemm_q5_k_q8_k = gemm::gemm_q5_k_q8_k;
    k.gemm_q6_k_q8_k = gemm::gemm_q6_k_q8_k;
    k.gemm_f16_f32 = gemm::gemm_f16_f32;
    k.gemm_f32_f32 = gemm::gemm_f32_f32;
    k.rms_norm = rms_norm::rms_norm;
    k.rope_neox = rope::rope_neox;
    k.rope_norm = rope::rope_norm;
    k.swiglu = swiglu::swiglu;
    k.softmax = softmax::softmax;
    k.attn_scores_f16 = attention::attn_scores_f16;
    k.attn_values_f16 = attention::attn_values_f16;
    k.attn_scores_causal_f16 = attention::attn_scores_causal_f16;
    k.attn_values_causal_f16 = attention::attn_values_causal_f16;
    k
}
