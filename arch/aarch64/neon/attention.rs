//! NEON attention inner loops over an f16 KV cache: `attn_scores_f16` and `attn_values_f16`.
//!
//! # Math and tolerance
//!
//! - Scores: `scores[p] = scale · Σ_{i<d} q_i · f32(K[p·stride + i])` — the dot product of
//!   [`super::float_dot`] (4 × 4-lane `fmla` accumulators, f16 converted exactly with `fcvtl`),
//!   then one multiply: within `2·d·ε·Σ|q·k|` of the reference, times `scale`.
//! - Values: `out_i = Σ_p w_p · f32(V[p·stride + i])`: `out` is zeroed, then each position adds
//!   its row with `fmla` (4 values per instruction) in increasing `p`, so each `out_i` is the
//!   reference's index-order sum with fused instead of separate rounding: within the sum bound
//!   `2·n·ε·Σ|w·v|`.
//!
//! # Layout and tails
//!
//! Row `p` starts at `p·stride` (`stride ≥ d` for interleaved KV heads). Only the rows that fit
//! entirely in the slice are processed (the reference's rule; the rest of `scores` is left
//! untouched). Value rows: 4 columns per step, then a scalar tail.

use super::float_dot::dot_cols;
use core::arch::aarch64::*;
use half::f16;

/// Number of rows `p` (of `row_len` values at `p · stride`) that fit in `len`, capped at `want`.
fn rows_that_fit(len: usize, stride: usize, row_len: usize, want: usize) -> usize {
    if row_len > len {
        return 0;
    }
    match (len - row_len).checked_div(stride) {
        None => want,
        Some(last) => want.min(last.saturating_add(1)),
    }
}

/// Attention scores (table entry).
pub(super) fn attn_scores_f16(
    q: &[f32],
    keys: &[f16],
    stride: usize,
    scale: f32,
    scores: &mut [f32],
) {
    let n = rows_that_fit(keys.len(), stride, q.len(), scores.len());
    for (p, s) in scores.iter_mut().take(n).enumerate() {
        let Some(row) = p.checked_mul(stride).and_then(|o| keys.get(o..o + q.len())) else {
            return;
        };
        // SAFETY: reachable only through `kernels(tier)`, whose caller checked NEON.
        let [acc] = unsafe { scores_row(row, q) };
        *s = scale * acc;
    }
}

/// # Safety
/// The CPU must have NEON.
#[target_feature(enable = "neon")]
unsafe fn scores_row(row: &[f16], q: &[f32]) -> [f32; 1] {
    // SAFETY: NEON enabled and guaranteed by the caller.
    unsafe { dot_cols::<f16, 1>(row, [q]) }
}

/// Weighted sum of value rows (table entry).
pub(super) fn attn_values_f16(weights: &[f32], values: &[f16], stride: usize, out: &mut [f32]) {
    let n = rows_that_fit(values.len(), stride, out.len(), weights.len());
    out.fill(0.0);
    for (p, &w) in weights.iter().take(n).enumerate() {
        let Some(row) = p
            .checked_mul(stride)
            .and_then(|o| values.get(o..o + out.len()))
        else {
            return;
        };
        // SAFETY: reachable only through `kernels(tier)`, whose caller checked NEON.
        unsafe { add_row(out, w, row) };
    }
}

/// `out_i += w · f32(row_i)` for `i < min(out.len(), row.len())`.
///
/// # Safety
/// The CPU must have NEON.
#[target_feature(enable = "neon")]
unsafe fn add_row(out: &mut [f32], w: f32, row: &[f16]) {
    let n = out.len().min(row.len());
    let (op, rp) = (out.as_mut_ptr(), row.as_ptr().cast::<u16>());
    let mut i = 0;
    // SAFETY: indices `i + 4 ≤ n`, within both slices; `f16` is a plain `u16`.
    unsafe {
        let wv = vdupq_n_f32(w);
        while i + 4 <= n {
            let v = super::simd::f16x4_to_f32(vld1_u16(rp.add(i)));
            vst1q_f32(op.add(i), vfmaq_f32(vld1q_f32(op.add(i)), wv, v));
            i += 4;
        }
    }
    for (o, v) in out.iter_mut().zip(row).skip(i) {
        *o += w * v.to_f32();
    }
}

crate::kernels::attention::causal_by_query!();
