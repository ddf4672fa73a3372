//! The SVE tier: vector-length agnostic kernels in `core::arch::asm!` (SVE intrinsics are
//! nightly-only), each loop whole inside one `asm!` block with a `whilelo`-predicated tail.
//!
//! Entry points are safe `fn`s (so they fit the `Kernels` table) that call
//! `#[target_feature(enable = "sve")]` bodies; their soundness rests on `kernels` being
//! reachable only through `Kernels::for_tier`, which checks the CPU features first (the
//! entry points are private to this module tree for that reason).
//!
//! One file per operation, each opening with its math, layout, accumulator scheme, tails and
//! registers. Every kernel gives the scalar reference's bits: the integer ones exactly, the
//! float ones by following the float order of `crate::kernels::float`:
//! - `dot_float`: `dot_f32_f32`, `dot_f16_f32` (16 float-order lanes in four, two or one
//!   register by vector length, `dot_float::Lanes`);
//! - `rms_norm`, `activation` (`swiglu`, `softmax`, over the float order's `exp` of
//!   `exp`);
//! - `attention`: the causal-block entries as a loop of single-query `attn_scores_f16` and
//!   `attn_values_f16`;
//! - `quantize`: `quantize_q8_0`, `quantize_q8_1`, `quantize_q8_k` (bit-exact);
//! - `dot_q32`: `dot_q8_0_q8_0`, `dot_q4_0_q8_0`, `dot_q4_1_q8_1`, `dot_q5_0_q8_0`
//!   (bit-exact, 8-lane order);
//! - `dot_k`: `dot_q4_k_q8_k`, `dot_q5_k_q8_k`, `dot_q6_k_q8_k` (bit-exact);
//! - `rope`: `rope_neox`, `rope_norm` (bit-exact);
//! - `gemm`: the gemms of those formats (loops over this tier's dots).
//!
//! The tier's table (`kernels`) takes, entry by entry, the cheaper of the SVE kernel and the
//! best NEON tier's by the Arm cost harness's instruction counts; `all_sve` is the table of
//! SVE kernels alone, which the unit tests check.
// Kernel bodies index register-tile arrays with loop counters bounded by their const sizes, and
// slices whose lengths the safe wrappers checked once at the boundary (STYLE: check at the
// boundary, keep the inner loop free of checks).
#![allow(clippy::indexing_slicing)]

mod activation;
mod attention;
mod dot_float;
mod dot_k;
mod dot_q32;
mod exp;
mod gemm;
mod quantize;
mod rms_norm;
mod rope;
#[cfg(test)]
mod tests;

use crate::cpu::{CpuFeatures, Tier};
use crate::kernels::Kernels;

/// The SVE tier's kernel table: for each entry the cheaper of this tier's SVE kernel and the
/// best NEON tier's, as counted by the Arm cost harness (`scripts/arm-cost`, figures in
/// `docs/performance.md`). Every candidate gives the scalar reference's bits (the integer
/// entries exactly, the float ones in the float order), so the choice never changes what a
/// kernel computes.
///
/// - Integer products (`dot_*`, `gemm_*` of the quantized formats): the NEON `sdot` / `smmla`
///   kernels when the CPU has dotprod (they tile several rows and columns per pass; the SVE
///   ones are one row × one column at 128 bits whatever the vector length), else SVE.
/// - `quantize_q8_0` / `quantize_q8_1`: NEON (fewer instructions at every vector length);
///   `quantize_q8_k`, the attention scores and RMSNorm: SVE from 256 bits.
/// - The other float kernels (activations, softmax, RoPE, f16 / f32 dots and gemms,
///   attention values): SVE, except that at a vector length that is not 128, 256 or at least
///   512 bits (384) the float sums (dots, gemms, RMSNorm, softmax, attention scores) are the
///   NEON kernels ([`all_sve`]).
///
/// # Safety
/// The CPU must implement NEON and SVE, and every feature `features` claims (checked by
/// [`Kernels::for_tier`]).
pub(crate) unsafe fn kernels(features: &CpuFeatures) -> Kernels {
    let neon = if features.supports(Tier::NeonI8mm) {
        Tier::NeonI8mm
    } else if features.supports(Tier::NeonDotprod) {
        Tier::NeonDotprod
    } else {
        Tier::Neon
    };
    // SAFETY: the caller guarantees the features `features` claims, which include `neon`'s.
    let n = unsafe { crate::arch::aarch64::neon::kernels(neon) };
    // SAFETY: the caller guarantees NEON and SVE.
    let (mut k, bits) = unsafe { (all_sve(), vector_bits()) };
    k.quantize_q8_0 = n.quantize_q8_0;
    k.quantize_q8_1 = n.quantize_q8_1;
    if bits < 256 {
        k.quantize_q8_k = n.quantize_q8_k;
        k.attn_scores_causal_f16 = n.attn_scores_causal_f16;
        k.rms_norm = n.rms_norm;
    }
    if neon != Tier::Neon {
        k.dot_q4_0_q8_0 = n.dot_q4_0_q8_0;
        k.dot_q8_0_q8_0 = n.dot_q8_0_q8_0;
        k.dot_q4_1_q8_1 = n.dot_q4_1_q8_1;
        k.dot_q5_0_q8_0 = n.dot_q5_0_q8_0;
        k.dot_q4_k_q8_k = n.dot_q4_k_q8_k;
        k.dot_q5_k_q8_k = n.dot_q5_k_q8_k;
        k.dot_q6_k_q8_k = n.dot_q6_k_q8_k;
        k.gemm_q4_0_q8_0 = n.gemm_q4_0_q8_0;
        k.gemm_q8_0_q8_0 = n.gemm_q8_0_q8_0;
        k.gemm_q4_1_q8_1 = n.gemm_q4_1_q8_1;
        k.gemm_q5_0_q8_0 = n.gemm_q5_0_q8_0;
        k.gemm_q4_k_q8_k = n.gemm_q4_k_q8_k;
        k.gemm_q5_k_q8_k = n.gemm_q5_k_q8_k;
        k.gemm_q6_k_q8_k = n.gemm_q6_k_q8_k;
    }
    k
}

/// The SVE vector length in bits.
///
/// # Safety
/// The CPU must implement SVE.
#[target_feature(enable = "sve")]
unsafe fn vector_bits() -> usize {
    let bytes: usize;
    // SAFETY: `cntb` reads the vector length into a register; SVE per the caller.
    unsafe {
        core::arch::asm!("cntb {b}", b = out(reg) bytes, options(pure, nomem, nostack));
    }
    bytes * 8
}

/// Every entry this tier implements in SVE, on the baseline NEON table (the unit tests check
/// each SVE kernel through this table, including those [`kernels`] does not pick). The float
/// sums are instantiated for the vector length ([`dot_float::Lanes`]); at a length with no
/// 16-lane mapping (384 bits) they stay the baseline NEON kernels, which follow the same float
/// order.
///
/// # Safety
/// The CPU must implement NEON and SVE.
pub(crate) unsafe fn all_sve() -> Kernels {
    // SAFETY: the caller guarantees NEON, which is all the baseline NEON tier needs.
    let mut k = unsafe { crate::arch::aarch64::neon::kernels(Tier::Neon) };
    // SAFETY: the caller guarantees SVE.
    let bits = unsafe { vector_bits() };
    k.tier = Tier::Sve;
    k.quantize_q8_0 = quantize::quantize_q8_0;
    k.quantize_q8_1 = quantize::quantize_q8_1;
    k.quantize_q8_k = quantize::quantize_q8_k;
    k.dot_q4_0_q8_0 = dot_q32::dot_q4_0_q8_0;
    k.dot_q8_0_q8_0 = dot_q32::dot_q8_0_q8_0;
    k.dot_q4_1_q8_1 = dot_q32::dot_q4_1_q8_1;
    k.dot_q5_0_q8_0 = dot_q32::dot_q5_0_q8_0;
    k.dot_q4_k_q8_k = dot_k::dot_q4_k_q8_k;
    k.dot_q5_k_q8_k = dot_k::dot_q5_k_q8_k;
    k.dot_q6_k_q8_k = dot_k::dot_q6_k_q8_k;
    k.gemm_q4_0_q8_0 = gemm::gemm_q4_0_q8_0;
    k.gemm_q8_0_q8_0 = gemm::gemm_q8_0_q8_0;
    k.gemm_q4_1_q8_1 = gemm::gemm_q4_1_q8_1;
    k.gemm_q5_0_q8_0 = gemm::gemm_q5_0_q8_0;
    k.gemm_q4_k_q8_k = gemm::gemm_q4_k_q8_k;
    k.gemm_q5_k_q8_k = gemm::gemm_q5_k_q8_k;
    k.gemm_q6_k_q8_k = gemm::gemm_q6_k_q8_k;
    k.rope_neox = rope::rope_neox;
    k.rope_norm = rope::rope_norm;
    k.swiglu = activation::swiglu;
    k.attn_values_causal_f16 = attention::attn_values_causal_f16;
    match dot_float::Lanes::at(bits).map(dot_float::Lanes::registers) {
        Some(4) => float_sums::<4>(&mut k),
        Some(2) => float_sums::<2>(&mut k),
        Some(_) => float_sums::<1>(&mut k),
        None => {}
    }
    k
}

/// Sets the float-sum entries (dots, gemms, RMSNorm, softmax, attention scores) to the SVE
/// kernels with `R` registers of lanes ([`dot_float::Lanes::registers`]).
fn float_sums<const R: usize>(k: &mut Kernels) {
    k.dot_f16_f32 = dot_float::dot_f16_f32::<R>;
    k.dot_f32_f32 = dot_float::dot_f32_f32::<R>;
    k.gemm_f16_f32 = gemm::gemm_f16_f32::<R>;
    k.gemm_f32_f32 = gemm::gemm_f32_f32::<R>;
    k.rms_norm = rms_norm::rms_norm::<R>;
    k.softmax = activation::softmax::<R>;
    k.attn_scores_causal_f16 = attention::attn_scores_causal_f16::<R>;
}
