//! The NEON tiers: baseline Advanced SIMD, + dotprod (`sdot`), + i8mm (`smmla`).
//!
//! Every kernel here has the signature of its scalar reference in [`crate::kernels`] /
//! [`crate::quant`]. Entry points are safe `fn`s (so they fit the [`Kernels`] table) that call
//! `#[target_feature]` bodies; their soundness rests on `kernels()` being reachable only through
//! [`Kernels::for_tier`], which checks the CPU features first.
//!
//! One file per operation, named as in the other tiers: `quantize`, `dot_q32` (32-element
//! block formats), `dot_k` (K formats), `gemm` / `gemm_k` (multi-column), `dot_float`
//! (f16 / f32 dots and gemms), `rms_norm`, `rope`, `activation` (SwiGLU, softmax),
//! `attention`; `simd` holds the shared primitives (`sdot`, `smmla`, `fcvtl` in `asm!`,
//! integer block sums, the float order's fold).
//!
//! Every entry is a safe `fn` that calls an `unsafe fn *_body` marked `#[target_feature]`
//! (its `# Safety` section names the features), with a `// SAFETY:` comment at the call.
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
mod gemm_k;
mod quantize;
mod rms_norm;
mod rope;
mod simd;
#[cfg(test)]
mod tests;

/// The kernel table of `tier` (one of `Neon`, `NeonDotprod`, `NeonI8mm`; any other tier gets
/// the baseline NEON table). Baseline NEON entries never execute dotprod / i8mm instructions;
/// `NeonDotprod` adds `sdot`, `NeonI8mm` adds `smmla` in the multi-column products.
///
/// The baseline table lists every field (no `..` fallback), so a field added to [`Kernels`]
/// fails to compile here until it has a NEON kernel.
///
/// # Safety
/// The CPU must implement the features of `tier` (checked by [`Kernels::for_tier`]).
pub(crate) unsafe fn kernels(tier: Tier) -> Kernels {
    let dotprod = matches!(tier, Tier::NeonDotprod | Tier::NeonI8mm);
    let mut k = Kernels {
        tier,
        quantize_q8_0: quantize::quantize_q8_0,
        quantize_q8_1: quantize::quantize_q8_1,
        quantize_q8_k: quantize::quantize_q8_k,
        dot_q4_0_q8_0: dot_q32::q4_0_q8_0::neon,
        dot_q4_1_q8_1: dot_q32::q4_1_q8_1::neon,
        dot_q5_0_q8_0: dot_q32::q5_0_q8_0::neon,
        dot_q8_0_q8_0: dot_q32::q8_0_q8_0::neon,
        dot_q4_k_q8_k: dot_k::q4_k_q8_k::neon,
        dot_q5_k_q8_k: dot_k::q5_k_q8_k::neon,
        dot_q6_k_q8_k: dot_k::q6_k_q8_k::neon,
        gemm_q4_0_q8_0: gemm::q4_0_q8_0::neon,
        gemm_q4_1_q8_1: gemm::q4_1_q8_1::neon,
        gemm_q5_0_q8_0: gemm::q5_0_q8_0::neon,
        gemm_q8_0_q8_0: gemm::q8_0_q8_0::neon,
        gemm_q4_k_q8_k: gemm_k::q4_k_q8_k::neon,
        gemm_q5_k_q8_k: gemm_k::q5_k_q8_k::neon,
        gemm_q6_k_q8_k: gemm_k::q6_k_q8_k::neon,
        dot_f16_f32: dot_float::dot_f16_f32,
        dot_f32_f32: dot_float::dot_f32_f32,
        gemm_f16_f32: dot_float::gemm_f16_f32,
        gemm_f32_f32: dot_float::gemm_f32_f32,
        rms_norm: rms_norm::rms_norm,
        rope_neox: rope::rope_neox,
        rope_norm: rope::rope_norm,
        swiglu: activation::swiglu,
        softmax: activation::softmax,
        attn_scores_causal_f16: attention::attn_scores_causal_f16,
        attn_values_causal_f16: attention::attn_values_causal_f16,
    };
    if dotprod {
        k.dot_q4_0_q8_0 = dot_q32::q4_0_q8_0::dotprod;
        k.dot_q4_1_q8_1 = dot_q32::q4_1_q8_1::dotprod;
        k.dot_q5_0_q8_0 = dot_q32::q5_0_q8_0::dotprod;
        k.dot_q8_0_q8_0 = dot_q32::q8_0_q8_0::dotprod;
        k.dot_q4_k_q8_k = dot_k::q4_k_q8_k::dotprod;
        k.dot_q5_k_q8_k = dot_k::q5_k_q8_k::dotprod;
        k.dot_q6_k_q8_k = dot_k::q6_k_q8_k::dotprod;
        k.gemm_q4_0_q8_0 = gemm::q4_0_q8_0::dotprod;
        k.gemm_q4_1_q8_1 = gemm::q4_1_q8_1::dotprod;
        k.gemm_q5_0_q8_0 = gemm::q5_0_q8_0::dotprod;
        k.gemm_q8_0_q8_0 = gemm::q8_0_q8_0::dotprod;
        k.gemm_q4_k_q8_k = gemm_k::q4_k_q8_k::dotprod;
        k.gemm_q5_k_q8_k = gemm_k::q5_k_q8_k::dotprod;
        k.gemm_q6_k_q8_k = gemm_k::q6_k_q8_k::dotprod;
    }
    if tier == Tier::NeonI8mm {
        k.gemm_q4_0_q8_0 = gemm::q4_0_q8_0::i8mm;
        k.gemm_q4_1_q8_1 = gemm::q4_1_q8_1::i8mm;
        k.gemm_q5_0_q8_0 = gemm::q5_0_q8_0::i8mm;
        k.gemm_q8_0_q8_0 = gemm::q8_0_q8_0::i8mm;
        k.gemm_q4_k_q8_k = gemm_k::q4_k_q8_k::i8mm;
        k.gemm_q5_k_q8_k = gemm_k::q5_k_q8_k::i8mm;
        k.gemm_q6_k_q8_k = gemm_k::q6_k_q8_k::i8mm;
    }
    k
}
