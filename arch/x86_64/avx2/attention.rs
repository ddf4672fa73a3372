//! AVX2 attention inner loops over an f16 KV cache: scores `q·K` and the weighted value sum.
//!
//! # Math
//!
//! - [`attn_scores_f16`]: `scores[p] = scale · Σ_{i<d} q_i · f32(K[p·stride + i])`.
//! - [`attn_values_f16`]: `out_i = Σ_p w_p · f32(V[p·stride + i])` (`out` overwritten).
//!
//! # Layout, accumulators and unroll
//!
//! Key / value row `p` starts at `p · stride` (the caller's per-KV-head offset and row pitch);
//! only the first `d` values are read. Scores: 4 positions at a time, each with its own `f32x8`
//! FMA accumulator (4 independent chains share every `q` load); per row the sum is the lanes
//! summed, then the `d % 8` tail in index order, then `scale · acc`. Values: `out` is processed
//! in column chunks of 32 (4 accumulators, one per 8 columns) held in registers across all
//! positions in increasing order (`acc = fma(w_p, v, acc)`), then 8-column chunks, then the
//! `d % 8` tail columns in scalar.
//!
//! Tolerance (vs the reference's index-order sums with separate roundings): scores are dot
//! products of `d` terms, `|Δ| ≤ 2·d·ε·Σ|q_i·k_i|` (times `scale`); values keep the reference's
//! order over `p` and differ only by FMA's single rounding, `|Δ| ≤ n·ε·Σ_p |w_p·v_p|`.
//!
//! # Tails and bounds
//!
//! Bounds are checked once, as in the reference: only positions whose row
//! (`p·stride + d ≤ len`) fits are processed; other scores are left untouched and other value
//! rows do not contribute. Unaligned loads; f16 converted with `vcvtph2ps`.

use super::common::hsum_ps;
use core::arch::x86_64::*;
use half::f16;

/// Rows `p` (of `row_len` values at `p · stride`) that fit in `len` values, capped at `want`
/// (the reference's `rows_that_fit`).
fn rows_that_fit(len: usize, stride: usize, row_len: usize, want: usize) -> usize {
    if row_len > len {
        return 0;
    }
    match (len - row_len).checked_div(stride) {
        None => want,
        Some(last) => want.min(last.saturating_add(1)),
    }
}

/// Loads 8 f16 values at `p` as `f32x8`.
///
/// # Safety
/// `p` must be valid for reading 8 `f16`; the CPU must support F16C.
#[inline(always)]
unsafe fn load_f16x8(p: *const f16) -> __m256 {
    // SAFETY: the caller guarantees 16 readable bytes; F16C available.
    unsafe { _mm256_cvtph_ps(_mm_loadu_si128(p.cast())) }
}

/// `[Σ_i q_i · k_r[i]; R]` for `R` key rows, each `d = q.len()` values long.
///
/// # Safety
/// Every `k[r]` must point to `q.len()` readable values; the CPU must support AVX2, FMA, F16C.
#[inline(always)]
unsafe fn dot_rows<const R: usize>(q: &[f32], k: [*const f16; R]) -> [f32; R] {
    let d = q.len();
    let main = d - d % 8;
    // SAFETY: vector loads cover `i .. i + 8 <= main <= d`; scalar reads `< d` (caller
    // contract for the key rows).
    unsafe {
        let mut acc = [_mm256_setzero_ps(); R];
        let mut i = 0;
        while i < main {
            let qv = _mm256_loadu_ps(q.as_ptr().add(i));
            for (a, &kr) in acc.iter_mut().zip(&k) {
                *a = _mm256_fmadd_ps(qv, load_f16x8(kr.add(i)), *a);
            }
            i += 8;
        }
        let mut out = [0.0f32; R];
        for ((o, a), &kr) in out.iter_mut().zip(&acc).zip(&k) {
            let mut s = hsum_ps(*a);
            for (j, &qj) in q.iter().enumerate().skip(main) {
                s += qj * (*kr.add(j)).to_f32();
            }
            *o = s;
        }
        out
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
fn attn_scores_f16_avx2(q: &[f32], keys: &[f16], stride: usize, scale: f32, scores: &mut [f32]) {
    let n = rows_that_fit(keys.len(), stride, q.len(), scores.len());
    debug_assert_eq!(n, scores.len(), "attn_scores_f16: key rows out of bounds");
    let kp = keys.as_ptr();
    let mut p = 0;
    // SAFETY (both loops): `p < n`, so row `p` (`p·stride + d ≤ keys.len()`) is in bounds.
    while p + 4 <= n {
        for r in 0..4 {
            prefetch_row(
                kp.wrapping_add((p + PREFETCH_ROWS + r) * stride),
                2 * q.len(),
            );
        }
        let rows = core::array::from_fn(|r| kp.wrapping_add((p + r) * stride));
        // SAFETY: see above; the features are enabled.
        let s = unsafe { dot_rows::<4>(q, rows) };
        for (o, v) in scores.iter_mut().skip(p).zip(s) {
            *o = scale * v;
        }
        p += 4;
    }
    while p < n {
        // SAFETY: see above; the features are enabled.
        let [s] = unsafe { dot_rows::<1>(q, [kp.wrapping_add(p * stride)]) };
        if let Some(o) = scores.get_mut(p) {
            *o = scale * s;
        }
        p += 1;
    }
}

/// `out[col .. col + 8·V] = Σ_p w_p · V[p·stride + col ..]` with `V` accumulators held across
/// all rows (increasing `p`, one FMA per row and vector), prefetching rows ahead: each row of a
/// head is a few cache lines one KV row pitch apart, too far apart for the hardware
/// prefetchers, which stop at page boundaries.
///
/// # Safety
/// Rows `p < w.len()` must hold `col + 8·V` readable values at `vp + p·stride`; `op` must be
/// valid for writing `col + 8·V` values; the CPU must support AVX2, FMA and F16C.
#[inline(always)]
unsafe fn values_chunk<const V: usize>(
    w: &[f32],
    vp: *const f16,
    stride: usize,
    col: usize,
    op: *mut f32,
) {
    // SAFETY: caller contract; prefetches are hints and never fault.
    unsafe {
        let mut acc = [_mm256_setzero_ps(); V];
        for (p, &wp) in w.iter().enumerate() {
            prefetch_row(vp.wrapping_add((p + PREFETCH_ROWS) * stride + col), 16 * V);
            let row = vp.add(p * stride + col);
            let wv = _mm256_set1_ps(wp);
            for (j, a) in acc.iter_mut().enumerate() {
                *a = _mm256_fmadd_ps(wv, load_f16x8(row.add(8 * j)), *a);
            }
        }
        for (j, a) in acc.iter().enumerate() {
            _mm256_storeu_ps(op.add(col + 8 * j), *a);
        }
    }
}

/// How many KV rows ahead the attention loops prefetch.
const PREFETCH_ROWS: usize = 8;

/// Prefetches the cache lines of `bytes` bytes at `p` (a hint: never dereferenced, may be past
/// the cache).
#[inline(always)]
fn prefetch_row(p: *const f16, bytes: usize) {
    let p = p.cast::<i8>();
    let mut off = 0;
    while off < bytes {
        // SAFETY: `prefetcht0` never faults and has no architectural effect.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(off)) };
        off += 64;
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
fn attn_values_f16_avx2(weights: &[f32], values: &[f16], stride: usize, out: &mut [f32]) {
    let d = out.len();
    let n = rows_that_fit(values.len(), stride, d, weights.len());
    debug_assert_eq!(
        n,
        weights.len(),
        "attn_values_f16: value rows out of bounds"
    );
    let w = weights.get(..n).unwrap_or(&[]);
    let vp = values.as_ptr();
    let op = out.as_mut_ptr();
    let main = d - d % 8;
    let mut col = 0;
    // SAFETY: rows `p < n` fit (`p·stride + d ≤ values.len()`), and every vector access covers
    // columns `col .. col + 8·V <= main <= d`; `out` holds `d` values; features enabled.
    unsafe {
        // Widest chunks first, so a 96-wide head (Phi-3) passes over its rows once.
        while col + 96 <= main {
            values_chunk::<12>(w, vp, stride, col, op);
            col += 96;
        }
        while col + 64 <= main {
            values_chunk::<8>(w, vp, stride, col, op);
            col += 64;
        }
        while col + 32 <= main {
            values_chunk::<4>(w, vp, stride, col, op);
            col += 32;
        }
        while col < main {
            values_chunk::<1>(w, vp, stride, col, op);
            col += 8;
        }
    }
    for (i, o) in out.iter_mut().enumerate().skip(main) {
        let mut s = 0.0f32;
        for (p, &wp) in w.iter().enumerate() {
            let v = values.get(p * stride + i).map_or(0.0, |v| v.to_f32());
            s += wp * v;
        }
        *o = s;
    }
}

/// AVX2 [`crate::kernels::attention::attn_scores_f16`] (tolerance: module docs).
pub(crate) fn attn_scores_f16(
    q: &[f32],
    keys: &[f16],
    stride: usize,
    scale: f32,
    scores: &mut [f32],
) {
    // SAFETY: reachable only through `avx2::kernels()` (CPU features checked).
    unsafe { attn_scores_f16_avx2(q, keys, stride, scale, scores) }
}

/// AVX2 [`crate::kernels::attention::attn_values_f16`] (tolerance: module docs).
pub(crate) fn attn_values_f16(weights: &[f32], values: &[f16], stride: usize, out: &mut [f32]) {
    // SAFETY: reachable only through `avx2::kernels()` (CPU features checked).
    unsafe { attn_values_f16_avx2(weights, values, stride, out) }
}
