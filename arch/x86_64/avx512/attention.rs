//! AVX-512 attention inner loops over an f16 KV cache: scores `q·K` and the weighted value sum.
//!
//! # Math
//!
//! - [`attn_scores_f16`]: `scores[p] = scale · Σ_{i<d} q_i · f32(K[p·stride + i])`.
//! - [`attn_values_f16`]: `out_i = Σ_p w_p · f32(V[p·stride + i])` (`out` overwritten).
//!
//! # Layout, accumulators and the float order
//!
//! Key / value row `p` starts at `p · stride` (the caller's per-KV-head offset and row pitch);
//! only the first `d` values are read; f16 values are converted 16 at a time with
//! `vcvtph2ps`. Every value is bit-identical to the scalar reference
//! ([`crate::kernels::attention`]):
//!
//! - Scores: per position, the float-order dot product of `q` and `f32(k)`
//!   ([`crate::kernels::float::dot_lanes`]): one `f32x16` FMA accumulator whose lane `l` is the
//!   reference's lane `l`, over the 16-element chunks in increasing order; the last `d % 16`
//!   values are one masked step into the same accumulator (the other lanes load as zero, the
//!   reference's padding, through the same FMA); then the fold in halves ([`hsum16_ps`]) and
//!   `scale · acc`. Four positions at a time (4 independent chains) share every `q` load.
//! - Values: `out` starts at `+0.0` and each position `p` in increasing order makes
//!   `out_i = fma(w_p, f32(v_i), out_i)`: column chunks of `16·V` (`V` = 8, 6, 4 or 1
//!   accumulators of 16 columns, widest first, so a 96-wide head is one pass of 6) held in
//!   registers across all positions, then one masked chunk for the last `d % 16` columns.
//!
//! The causal-block entries run these single-query kernels per query
//! ([`crate::kernels::attention::causal_by_query`]), so each query's result is the one-query
//! result.
//!
//! # Tails and bounds
//!
//! Bounds are checked once, as in the reference: only positions whose row
//! (`p·stride + d ≤ len`) fits are processed; other scores are left untouched and other value
//! rows do not contribute. Unaligned loads; tails use masked loads / stores (`__mmask16`), which
//! touch nothing past the first `d` values of a row or of `out`. Rows are prefetched a few
//! positions ahead (hints only).

use super::dot_float::{hsum16_ps, low_lanes};
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

/// Loads 16 f16 values at `p` as `f32x16`.
///
/// # Safety
/// `p` must be valid for reading 16 `f16`; the CPU must support AVX-512 F.
#[inline(always)]
unsafe fn load_f16x16(p: *const f16) -> __m512 {
    // SAFETY: the caller guarantees 32 readable bytes and AVX-512 F.
    unsafe { _mm512_cvtph_ps(_mm256_loadu_si256(p.cast())) }
}

/// Loads the f16 values `k < 16` selected by `mask` at `p` as `f32x16`, the other lanes zero
/// (their memory is not accessed).
///
/// # Safety
/// `p.add(k)` must be readable for every set bit `k` of `mask`; the CPU must support AVX-512
/// F, BW and VL.
#[inline(always)]
unsafe fn load_f16x16_masked(p: *const f16, mask: __mmask16) -> __m512 {
    // SAFETY: the caller guarantees the selected halves are readable (masked-off words are not
    // accessed and cannot fault) and AVX-512 F/BW/VL.
    unsafe { _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, p.cast())) }
}

/// `[Σ_i q_i · k_r[i]; R]` for `R` key rows, each `d = q.len()` values long.
///
/// # Safety
/// Every `k[r]` must point to `q.len()` readable values; the CPU must support AVX-512 F, BW and
/// VL.
#[inline(always)]
unsafe fn dot_rows<const R: usize>(q: &[f32], k: [*const f16; R]) -> [f32; R] {
    let d = q.len();
    let qp = q.as_ptr();
    // SAFETY: full loads cover `i .. i + 16 <= d`; the masked loads only `i .. d` (caller
    // contract for the key rows, `q` holds `d` values).
    unsafe {
        let mut acc = [_mm512_setzero_ps(); R];
        let mut i = 0;
        while i + 16 <= d {
            let qv = _mm512_loadu_ps(qp.add(i));
            for (a, &kr) in acc.iter_mut().zip(&k) {
                *a = _mm512_fmadd_ps(qv, load_f16x16(kr.add(i)), *a);
            }
            i += 16;
        }
        if i < d {
            let m = low_lanes(d - i);
            let qv = _mm512_maskz_loadu_ps(m, qp.add(i));
            for (a, &kr) in acc.iter_mut().zip(&k) {
                *a = _mm512_fmadd_ps(qv, load_f16x16_masked(kr.add(i), m), *a);
            }
        }
        let mut out = [0.0f32; R];
        for (o, a) in out.iter_mut().zip(&acc) {
            *o = hsum16_ps(*a);
        }
        out
    }
}

/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn attn_scores_f16_avx512(
    q: &[f32],
    keys: &[f16],
    stride: usize,
    scale: f32,
    scores: &mut [f32],
) {
    let n = rows_that_fit(keys.len(), stride, q.len(), scores.len());
    let kp = keys.as_ptr();
    let mut p = 0;
    // SAFETY (both loops): `p < n`, so row `p` (`p·stride + d ≤ keys.len()`) is in bounds.
    while p + 4 <= n {
        for r in 0..4 {
            prefetch_row(
                kp.wrapping_add((p + PREFETCH_ROWS + r).wrapping_mul(stride)),
                2 * q.len(),
            );
        }
        let rows = [0, 1, 2, 3].map(|r| kp.wrapping_add((p + r) * stride));
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

/// `out[col .. col + 16·V] = Σ_p w_p · V[p·stride + col ..]` with `V` accumulators held across
/// all rows (increasing `p`, one FMA per row and vector), the last vector restricted to the
/// columns selected by `last` (all 16 for a full chunk; masked-off columns are neither read nor
/// written), prefetching rows ahead: each row of a head is a few cache lines one KV row pitch
/// apart, too far apart for the hardware prefetchers, which stop at page boundaries.
///
/// # Safety
/// Rows `p < w.len()` must hold the selected columns (`col .. col + 16·(V − 1)` and the set
/// bits of `last` after them) readable at `vp + p·stride`; `op` must be valid for writing the
/// same columns; the CPU must support AVX-512 F, BW and VL.
#[inline(always)]
unsafe fn values_chunk<const V: usize>(
    w: &[f32],
    vp: *const f16,
    stride: usize,
    col: usize,
    last: __mmask16,
    op: *mut f32,
) {
    // SAFETY: caller contract; prefetches are hints and never fault.
    unsafe {
        let mut acc = [_mm512_setzero_ps(); V];
        for (p, &wp) in w.iter().enumerate() {
            prefetch_row(
                vp.wrapping_add((p + PREFETCH_ROWS).wrapping_mul(stride).wrapping_add(col)),
                32 * V,
            );
            let row = vp.add(p * stride + col);
            let wv = _mm512_set1_ps(wp);
            for (j, a) in acc.iter_mut().enumerate() {
                let v = if j + 1 == V {
                    load_f16x16_masked(row.add(16 * j), last)
                } else {
                    load_f16x16(row.add(16 * j))
                };
                *a = _mm512_fmadd_ps(wv, v, *a);
            }
        }
        for (j, a) in acc.iter().enumerate() {
            if j + 1 == V {
                _mm512_mask_storeu_ps(op.add(col + 16 * j), last, *a);
            } else {
                _mm512_storeu_ps(op.add(col + 16 * j), *a);
            }
        }
    }
}

/// Every lane of a full chunk's last vector.
const ALL: __mmask16 = 0xFFFF;

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

/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn attn_values_f16_avx512(weights: &[f32], values: &[f16], stride: usize, out: &mut [f32]) {
    let d = out.len();
    let n = rows_that_fit(values.len(), stride, d, weights.len());
    let w = weights.get(..n).unwrap_or(&[]);
    let vp = values.as_ptr();
    let op = out.as_mut_ptr();
    let main = d - d % 16;
    let mut col = 0;
    // SAFETY: rows `p < n` fit (`p·stride + d ≤ values.len()`), and every full vector access
    // covers columns `col .. col + 16·V <= main <= d`, the masked chunk only `main .. d`; `out`
    // holds `d` values; features enabled.
    unsafe {
        // Widest chunks first, so a head passes over its rows as few times as possible.
        while col + 128 <= main {
            values_chunk::<8>(w, vp, stride, col, ALL, op);
            col += 128;
        }
        while col + 96 <= main {
            values_chunk::<6>(w, vp, stride, col, ALL, op);
            col += 96;
        }
        while col + 64 <= main {
            values_chunk::<4>(w, vp, stride, col, ALL, op);
            col += 64;
        }
        while col < main {
            values_chunk::<1>(w, vp, stride, col, ALL, op);
            col += 16;
        }
        if main < d {
            values_chunk::<1>(w, vp, stride, main, low_lanes(d - main), op);
        }
    }
}

/// AVX-512 [`crate::kernels::attention::attn_scores_f16`] (bit-exact: module docs).
pub(crate) fn attn_scores_f16(
    q: &[f32],
    keys: &[f16],
    stride: usize,
    scale: f32,
    scores: &mut [f32],
) {
    // SAFETY: reachable only through avx512::kernels() (CPU features checked).
    unsafe { attn_scores_f16_avx512(q, keys, stride, scale, scores) }
}

/// AVX-512 [`crate::kernels::attention::attn_values_f16`] (bit-exact: module docs).
pub(crate) fn attn_values_f16(weights: &[f32], values: &[f16], stride: usize, out: &mut [f32]) {
    // SAFETY: reachable only through avx512::kernels() (CPU features checked).
    unsafe { attn_values_f16_avx512(weights, values, stride, out) }
}

crate::kernels::attention::causal_by_query!();
