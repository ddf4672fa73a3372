//! The dispatch table type: one function pointer per kernel, and the scalar tier's table.
//!
//! Every tier implements the exact signatures of the scalar reference, so a [`Kernels`] value is
//! just a struct of `fn` pointers. [`Kernels::scalar`] is built here; the SIMD tiers' tables are
//! built in `arch/` and chosen by [`crate::dispatch`] ([`Kernels::for_tier`], [`Kernels::best`],
//! [`Kernels::detect`]), which is kept apart so that this file, like the rest of `kernels/`,
//! names nothing above it.

use super::attention::CausalBlock;
use crate::cpu::Tier;
use crate::quant::*;
use half::f16;

/// Row dot product of weight blocks `W` against activation blocks `X` (same block count).
pub type DotFn<W, X> = fn(&[W], &[X]) -> f32;
pub use super::gemm::GemmFn;

/// Activation quantizer: `x.len() == out.len() · block elements`.
pub type QuantizeFn<B> = fn(&[f32], &mut [B]);

/// A table of kernel implementations of one [`Tier`]. All fields have the signatures of the
/// scalar reference functions in [`crate::kernels`] and [`crate::quant`], whose docs state each
/// formula and length contract.
///
/// # Hostile arguments (every entry, every tier, every build)
///
/// Every entry accepts *any* arguments from safe code: it validates them first, in O(1) or
/// O(length of the slices it was given), then does the clamped work its reference documents —
/// it never panics (no assertion, also with debug assertions on; no index panic, division by
/// zero or overflow), never reads or writes outside its slices, and never loops for a time
/// proportional to a bogus count (a huge stride, pitch or query count). Per entry:
///
/// - `quantize_*`: `min(x.len() / block, out.len())` blocks; the rest of `out` untouched.
/// - `dot_*`: the common prefix `min(w.len(), x.len())`.
/// - `gemm_*`: `bpr == 0`, no rows or no columns: nothing; only the leading columns whose
///   outputs fit `out` are written; overlapping columns (`out_stride < rows`) are written in
///   column order ([`crate::kernels::gemm`]).
/// - `rms_norm`, `swiglu`: the common prefix of the three slices; the rest of `out` untouched.
/// - `rope_neox`, `rope_norm`: `head_dim == 0` or `2 · min(cos.len(), sin.len()) > head_dim`
///   leaves `x` unchanged; a trailing partial head is untouched.
/// - `softmax`: any length (empty included).
/// - `attn_scores_causal_f16`, `attn_values_causal_f16`: only the queries whose slices fit, the
///   loop bounded by the scores / weights slice, not by `queries`; `dim == 0` writes no output.
///
/// The checked operations over the table ([`crate::ops::attention_head`],
/// [`crate::ops::attention_causal_block`], [`crate::ops::matvec()`], [`crate::ops::matmul()`],
/// [`crate::ops::quantize_into()`]) return a [`crate::ShapeError`] instead of clamping.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Kernels {
    /// The tier these pointers belong to.
    pub tier: Tier,
    /// f32 → Q8_0 ([`crate::quant::quantize::quantize_q8_0`]).
    pub quantize_q8_0: QuantizeFn<BlockQ8_0>,
    /// f32 → Q8_1 ([`crate::quant::quantize::quantize_q8_1`]).
    pub quantize_q8_1: QuantizeFn<BlockQ8_1>,
    /// f32 → Q8_K ([`crate::quant::quantize::quantize_q8_k`]).
    pub quantize_q8_k: QuantizeFn<BlockQ8K>,
    /// Q4_0 · Q8_0 ([`super::dot::dot_q4_0_q8_0`]).
    pub dot_q4_0_q8_0: DotFn<BlockQ4_0, BlockQ8_0>,
    /// Q4_1 · Q8_1 ([`super::dot::dot_q4_1_q8_1`]).
    pub dot_q4_1_q8_1: DotFn<BlockQ4_1, BlockQ8_1>,
    /// Q5_0 · Q8_0 ([`super::dot::dot_q5_0_q8_0`]).
    pub dot_q5_0_q8_0: DotFn<BlockQ5_0, BlockQ8_0>,
    /// Q8_0 · Q8_0 ([`super::dot::dot_q8_0_q8_0`]).
    pub dot_q8_0_q8_0: DotFn<BlockQ8_0, BlockQ8_0>,
    /// Q4_K · Q8_K ([`super::dot::dot_q4_k_q8_k`]).
    pub dot_q4_k_q8_k: DotFn<BlockQ4K, BlockQ8K>,
    /// Q5_K · Q8_K ([`super::dot::dot_q5_k_q8_k`]).
    pub dot_q5_k_q8_k: DotFn<BlockQ5K, BlockQ8K>,
    /// Q6_K · Q8_K ([`super::dot::dot_q6_k_q8_k`]).
    pub dot_q6_k_q8_k: DotFn<BlockQ6K, BlockQ8K>,
    /// f16 · f32 ([`super::dot::dot_f16_f32`]).
    pub dot_f16_f32: DotFn<f16, f32>,
    /// f32 · f32 ([`super::dot::dot_f32_f32`]).
    pub dot_f32_f32: DotFn<f32, f32>,
    /// Multi-column Q4_0 · Q8_0 ([`super::gemm::gemm_q4_0_q8_0`]).
    pub gemm_q4_0_q8_0: GemmFn<BlockQ4_0, BlockQ8_0>,
    /// Multi-column Q4_1 · Q8_1 ([`super::gemm::gemm_q4_1_q8_1`]).
    pub gemm_q4_1_q8_1: GemmFn<BlockQ4_1, BlockQ8_1>,
    /// Multi-column Q5_0 · Q8_0 ([`super::gemm::gemm_q5_0_q8_0`]).
    pub gemm_q5_0_q8_0: GemmFn<BlockQ5_0, BlockQ8_0>,
    /// Multi-column Q8_0 · Q8_0 ([`super::gemm::gemm_q8_0_q8_0`]).
    pub gemm_q8_0_q8_0: GemmFn<BlockQ8_0, BlockQ8_0>,
    /// Multi-column Q4_K · Q8_K ([`super::gemm::gemm_q4_k_q8_k`]).
    pub gemm_q4_k_q8_k: GemmFn<BlockQ4K, BlockQ8K>,
    /// Multi-column Q5_K · Q8_K ([`super::gemm::gemm_q5_k_q8_k`]).
    pub gemm_q5_k_q8_k: GemmFn<BlockQ5K, BlockQ8K>,
    /// Multi-column Q6_K · Q8_K ([`super::gemm::gemm_q6_k_q8_k`]).
    pub gemm_q6_k_q8_k: GemmFn<BlockQ6K, BlockQ8K>,
    /// Multi-column f16 · f32 ([`super::gemm::gemm_f16_f32`]).
    pub gemm_f16_f32: GemmFn<f16, f32>,
    /// Multi-column f32 · f32 ([`super::gemm::gemm_f32_f32`]).
    pub gemm_f32_f32: GemmFn<f32, f32>,
    /// RMSNorm ([`super::norm::rms_norm`]).
    pub rms_norm: fn(&[f32], &[f32], f32, &mut [f32]),
    /// NEOX RoPE ([`super::rope::rope_neox`]).
    pub rope_neox: fn(&mut [f32], usize, &[f32], &[f32]),
    /// NORM (interleaved) RoPE ([`super::rope::rope_norm`]).
    pub rope_norm: fn(&mut [f32], usize, &[f32], &[f32]),
    /// SwiGLU ([`super::activation::swiglu`]).
    pub swiglu: fn(&[f32], &[f32], &mut [f32]),
    /// Softmax in place ([`super::activation::softmax`]).
    pub softmax: fn(&mut [f32]),
    /// Scores of a causal query block ([`super::attention::attn_scores_causal_f16`]); with one
    /// query, the single-query scores that decode runs.
    pub attn_scores_causal_f16: fn(&CausalBlock, &[f32], &[f16], f32, &mut [f32]),
    /// Value sums of a causal query block ([`super::attention::attn_values_causal_f16`]); with
    /// one query, the single-query weighted sum.
    pub attn_values_causal_f16: fn(&CausalBlock, &[f32], &[f16], &mut [f32]),
}

impl Kernels {
    /// The scalar reference tier; runs everywhere.
    pub const fn scalar() -> Self {
        Kernels {
            tier: Tier::Scalar,
            quantize_q8_0: crate::quant::quantize::quantize_q8_0,
            quantize_q8_1: crate::quant::quantize::quantize_q8_1,
            quantize_q8_k: crate::quant::quantize::quantize_q8_k,
            dot_q4_0_q8_0: super::dot::dot_q4_0_q8_0,
            dot_q4_1_q8_1: super::dot::dot_q4_1_q8_1,
            dot_q5_0_q8_0: super::dot::dot_q5_0_q8_0,
            dot_q8_0_q8_0: super::dot::dot_q8_0_q8_0,
            dot_q4_k_q8_k: super::dot::dot_q4_k_q8_k,
            dot_q5_k_q8_k: super::dot::dot_q5_k_q8_k,
            dot_q6_k_q8_k: super::dot::dot_q6_k_q8_k,
            dot_f16_f32: super::dot::dot_f16_f32,
            dot_f32_f32: super::dot::dot_f32_f32,
            gemm_q4_0_q8_0: super::gemm::gemm_q4_0_q8_0,
            gemm_q4_1_q8_1: super::gemm::gemm_q4_1_q8_1,
            gemm_q5_0_q8_0: super::gemm::gemm_q5_0_q8_0,
            gemm_q8_0_q8_0: super::gemm::gemm_q8_0_q8_0,
            gemm_q4_k_q8_k: super::gemm::gemm_q4_k_q8_k,
            gemm_q5_k_q8_k: super::gemm::gemm_q5_k_q8_k,
            gemm_q6_k_q8_k: super::gemm::gemm_q6_k_q8_k,
            gemm_f16_f32: super::gemm::gemm_f16_f32,
            gemm_f32_f32: super::gemm::gemm_f32_f32,
            rms_norm: super::norm::rms_norm,
            rope_neox: super::rope::rope_neox,
            rope_norm: super::rope::rope_norm,
            swiglu: super::activation::swiglu,
            softmax: super::activation::softmax,
            attn_scores_causal_f16: super::attention::attn_scores_causal_f16,
            attn_values_causal_f16: super::attention::attn_values_causal_f16,
        }
    }
}
