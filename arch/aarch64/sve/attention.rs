//! SVE attention inner loops over an f16 KV cache: scores `q·Kᵀ` and the weighted value sum.
//!
//! # Math and layout (as [`crate::kernels::attention`])
//!
//! Row `p` of keys / values starts at `p · stride` (`f16` elements) and its first `d` values
//! are used. Only the positions whose whole row fits in the slice are processed (the same
//! `rows_that_fit` rule as the reference; nothing is read out of bounds). The order of
//! operations is the reference's, so every tier gives the same bits:
//!
//! - [`attn_scores_f16`]: `scores[p] = scale · acc`, `acc` the float-order dot product of `q`
//!   and `f32(K[p])` ([`super::dot_float::dot_f16_f32_raw`]: 16 `fmla` lanes, zero-padded,
//!   folded in halves, the lane registers chosen by the vector length); one `asm!` loop per
//!   row, the loop over rows in Rust.
//! - [`attn_values_f16`]: one `asm!` block, outer loop over vectors of output lanes
//!   (`whilelo` over `d`, last one partial), inner loop over positions `p` in increasing order:
//!   `ld1rw` broadcasts `w_p`, `ld1h {z.s}` + `fcvt` widen the row's lanes, then
//!   `out_i = fma(w_p, v_pi, out_i)` (`fmla`) into the lane accumulator, which starts at `+0.0`
//!   and is stored once. Element-wise over `d`, so any vector length.
//!
//! The causal-block entries are loops of these single-query kernels, so each query's result is
//! the one-query result.
//!
//! # Registers
//!
//! Values: `z0` accumulator, `z1` broadcast weight, `z2` values, `p0` output-lane predicate.

use super::dot_float::dot_f16_f32_raw;
use half::f16;

/// Number of rows `p` (of `row_len` values at `p · stride`) that fit in a slice of `len`
/// values, capped at `want` (the reference's rule).
fn rows_that_fit(len: usize, stride: usize, row_len: usize, want: usize) -> usize {
    if row_len > len {
        return 0;
    }
    match (len - row_len).checked_div(stride) {
        None => want,
        Some(last) => want.min(last.saturating_add(1)),
    }
}

/// Attention scores (signature of [`crate::kernels::attention::attn_scores_f16`]), the dot
/// products with `R` registers of lanes ([`super::dot_float::Lanes::registers`]).
pub(super) fn attn_scores_f16<const R: usize>(
    q: &[f32],
    keys: &[f16],
    stride: usize,
    scale: f32,
    scores: &mut [f32],
) {
    let d = q.len();
    let n = rows_that_fit(keys.len(), stride, d, scores.len());
    for (p, score) in scores.iter_mut().take(n).enumerate() {
        // `p · stride + d ≤ keys.len()` for every `p < n`, so neither this offset nor the row
        // end overflows.
        let row = keys.as_ptr().wrapping_add(p.wrapping_mul(stride));
        // SAFETY: reachable only through `sve::kernels` (SVE checked, `R` picked for the vector
        // length); the row `keys[p·stride .. p·stride + d]` is in bounds (`rows_that_fit`) and
        // `q` has `d` values.
        let acc = unsafe { dot_f16_f32_raw::<R>(row, q.as_ptr(), d) };
        *score = scale * acc;
    }
}

/// Weighted sum of value rows (signature of [`crate::kernels::attention::attn_values_f16`]).
pub(super) fn attn_values_f16(weights: &[f32], values: &[f16], stride: usize, out: &mut [f32]) {
    let d = out.len();
    let n = rows_that_fit(values.len(), stride, d, weights.len());
    // Only used to step between rows, i.e. when `n ≥ 2`, where `stride · 2 < values.len() · 2`
    // cannot overflow.
    let stride_bytes = stride.wrapping_mul(2);
    // SAFETY: reachable only through `sve::kernels` (SVE checked); rows `p < n` lie in `values`
    // (`rows_that_fit`), `weights` has `≥ n` values and `out` `d` writable ones.
    unsafe {
        attn_values_raw(
            weights.as_ptr(),
            values.as_ptr(),
            stride_bytes,
            n,
            out.as_mut_ptr(),
            d,
        )
    }
}

/// `out_i = fma(w_p, f32(v[p·stride + i]), out_i)` for `i < d`, in increasing `p` from
/// `out_i = +0.0` (module docs).
///
/// # Safety
/// The CPU must implement SVE; `weights` valid for `n` reads, `values + p·stride_bytes` valid
/// for `d` `f16` reads for every `p < n`, `out` valid for `d` writes and not overlapping.
#[target_feature(enable = "sve")]
unsafe fn attn_values_raw(
    weights: *const f32,
    values: *const f16,
    stride_bytes: usize,
    n: usize,
    out: *mut f32,
    d: usize,
) {
    // SAFETY: value loads are predicated by `p0 = whilelo(i, d)` at rows `p < n` (caller's
    // bounds); `ld1rw` reads `weights[p]`, `p < n`; the store is predicated to `[0, d)`.
    unsafe {
        core::arch::asm!(
            "ptrue p7.s",
            "mov {i}, #0",
            "whilelo p0.s, {i}, {d}",
            "b.none 9f",
            "1:",
            "dup z0.s, #0",
            "add {vp}, {values}, {i}, lsl #1",
            "mov {wp}, {weights}",
            "mov {cnt}, {n}",
            "cbz {cnt}, 3f",
            "2:",
            "ld1rw z1.s, p7/z, [{wp}]",
            "ld1h z2.s, p0/z, [{vp}]",
            "fcvt z2.s, p0/m, z2.h",
            "fmla z0.s, p0/m, z2.s, z1.s",
            "add {wp}, {wp}, #4",
            "add {vp}, {vp}, {stride}",
            "subs {cnt}, {cnt}, #1",
            "b.ne 2b",
            "3:",
            "st1w z0.s, p0, [{out}, {i}, lsl #2]",
            "incw {i}",
            "whilelo p0.s, {i}, {d}",
            "b.first 1b",
            "9:",
            weights = in(reg) weights,
            values = in(reg) values,
            stride = in(reg) stride_bytes,
            n = in(reg) n,
            out = in(reg) out,
            d = in(reg) d,
            i = out(reg) _,
            vp = out(reg) _,
            wp = out(reg) _,
            cnt = out(reg) _,
            out("v0") _, out("v1") _, out("v2") _,
            out("p0") _, out("p7") _,
            options(nostack)
        );
    }
}

/// Causal block scores: the single-query kernel at `R` registers of lanes per query.
pub(super) fn attn_scores_causal_f16<const R: usize>(
    b: &crate::kernels::attention::CausalBlock,
    q: &[f32],
    keys: &[f16],
    scale: f32,
    scores: &mut [f32],
) {
    crate::kernels::attention::scores_causal_by_query(
        attn_scores_f16::<R>,
        b,
        q,
        keys,
        scale,
        scores,
    );
}

/// Causal block value sums: the single-query kernel per query.
pub(super) fn attn_values_causal_f16(
    b: &crate::kernels::attention::CausalBlock,
    weights: &[f32],
    values: &[f16],
    out: &mut [f32],
) {
    crate::kernels::attention::values_causal_by_query(attn_values_f16, b, weights, values, out);
}
