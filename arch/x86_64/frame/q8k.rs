//! The Q8_K activation quantizer (f32 → Q8_K, super-blocks of 256) of every x86 tier: the
//! per-super-block control flow of the scalar reference, once, over a tier's vectors
//! ([`Q8KVectors`]: the loads, the largest magnitude, the search for its first element, and
//! the quantize-and-store of quants and `bsums`). Bit-exact with
//! [`crate::quant::quantize::quantize_q8_k`]; the math is in the tiers' `quantize` module docs.
//!
//! Blocks with a NaN or ∞, or whose reciprocal scale is not finite, go through the scalar
//! reference for that one block. `min(x.len() / 256, out.len())` blocks are written; a trailing
//! partial block and surplus output blocks are untouched.

use crate::quant::quantize as scalar;
use crate::quant::{BlockQ8K, QK_K};

/// A tier's vector operations on one Q8_K super-block.
pub(in crate::arch::x86_64) trait Q8KVectors {
    /// The 256 elements in registers.
    type Block;

    /// Loads the super-block.
    ///
    /// # Safety
    /// The CPU must support the tier's features.
    unsafe fn load(xb: &[f32; QK_K]) -> Self::Block;

    /// Bits of the sign-cleared largest magnitude (integer max of `bits & 0x7FFF_FFFF`).
    ///
    /// # Safety
    /// The CPU must support the tier's features.
    unsafe fn abs_max_bits(v: &Self::Block) -> u32;

    /// The index of the first element whose sign-cleared bits are `bits` (0 if none).
    ///
    /// # Safety
    /// The CPU must support the tier's features.
    unsafe fn first_with_abs_bits(v: &Self::Block, bits: u32) -> usize;

    /// Writes `yb.qs` (`min(127, nearest_int(iscale · x))`, ggml's magic-constant rounding)
    /// and `yb.bsums` (the 16 sums of 16 quants).
    ///
    /// # Safety
    /// The CPU must support the tier's features.
    unsafe fn store_quants(v: &Self::Block, iscale: f32, yb: &mut BlockQ8K);
}

/// Quantizes one super-block whose elements are all finite and whose `iscale` is finite;
/// returns `false` (writing nothing) otherwise.
///
/// # Safety
/// The CPU must support `V`'s tier's features.
#[inline(always)]
unsafe fn quantize_block<V: Q8KVectors>(xb: &[f32; QK_K], yb: &mut BlockQ8K) -> bool {
    // SAFETY: `V`'s features (caller contract).
    let v = unsafe { V::load(xb) };
    // SAFETY: as above.
    let amax_bits = unsafe { V::abs_max_bits(&v) };
    if amax_bits >= 0x7F80_0000 {
        return false;
    }
    if amax_bits == 0 {
        yb.d = 0.0;
        yb.qs = [0; QK_K];
        yb.bsums = [0; QK_K / 16];
        return true;
    }
    // The first element whose magnitude is the maximum (the scalar reference's strict `>`).
    // SAFETY: as above.
    let first = unsafe { V::first_with_abs_bits(&v, amax_bits) };
    let max = xb.get(first).copied().unwrap_or(0.0);
    let iscale = -127.0 / max;
    if !iscale.is_finite() {
        return false;
    }
    // SAFETY: as above.
    unsafe { V::store_quants(&v, iscale, yb) };
    yb.d = 1.0 / iscale;
    true
}

/// [`crate::quant::quantize::quantize_q8_k`] over `V` (module docs).
///
/// # Safety
/// The CPU must support `V`'s tier's features.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn quantize_q8_k<V: Q8KVectors>(
    x: &[f32],
    out: &mut [BlockQ8K],
) {
    for (xb, yb) in x.chunks_exact(QK_K).zip(out.iter_mut()) {
        let Ok(xa) = <&[f32; QK_K]>::try_from(xb) else {
            continue;
        };
        // SAFETY: `V`'s features (caller contract).
        if !unsafe { quantize_block::<V>(xa, yb) } {
            scalar::quantize_q8_k(xb, core::slice::from_mut(yb));
        }
    }
}
