//! NEON attention inner loops over an f16 KV cache: `attn_scores_f16` and `attn_values_f16`.
//!
//! # Math and order of operations
//!
//! The reference's ([`crate::kernels::attention`]) exactly, so every tier gives the same bits:
//! - Scores: `scores[p] = scale · acc`, `acc` the float-order dot product of `q` and
//!   `f32(K[p·stride ..])` of [`super::dot_float`] (16 `fmla` lanes in four `float32x4_t`, f16
//!   converted exactly with `fcvtl`, zero-padded last chunk, folded in halves).
//! - Values: `out` starts at `+0.0`, then each position `p` in increasing order makes
//!   `out_i = fma(w_p, f32(V[p·stride + i]), out_i)`: `fmla` 4 values at a time, a scalar
//!   fused `fmadd` for the `d % 4` tail values.
//!
//! # Layout and tails
//!
//! Row `p` starts at `p·stride` (`stride ≥ d` for interleaved KV heads). Only the rows that fit
//! entirely in the slice are processed (the reference's rule; the rest of `scores` is left
//! untouched).
//!
//! # Causal blocks (batched prefill)
//!
//! [`attn_scores_causal_f16`] and [`attn_values_causal_f16`] take up to 4 queries per group:
//! each key row goes through one 4-column [`dot_cols`] (one converted row, one accumulator set
//! of 16 lanes per query), each value row chunk is converted once and added to every query
//! attending it. Per query the operations and their order are those of the single-query loops
//! above, so the results are bit for bit theirs (and the reference's).

use super::dot_float::dot_cols;
use crate::kernels::attention::{
    query_groups, scores_causal_by_query, values_causal_by_query, CausalBlock, QUERY_GROUP,
};
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
        // SAFETY: NEON (caller contract).
        *o = unsafe { fma1(w, v.to_f32(), *o) };
    }
}

/// `fma(a, b, c)` with one rounding (a scalar `fmadd`).
///
/// # Safety
/// The CPU must have NEON.
#[inline(always)]
unsafe fn fma1(a: f32, b: f32, c: f32) -> f32 {
    // SAFETY: register-only NEON operations.
    unsafe { vget_lane_f32::<0>(vfma_n_f32(vdup_n_f32(c), vdup_n_f32(b), a)) }
}

/// Causal block scores (table entry): each key row is converted once for up to 4 queries
/// ([`dot_cols`] with one column per query, whose per-column sums are the one-column ones), so
/// every score is bit for bit [`attn_scores_f16`]'s.
pub(super) fn attn_scores_causal_f16(
    b: &CausalBlock,
    q: &[f32],
    keys: &[f16],
    scale: f32,
    scores: &mut [f32],
) {
    let Some(pos) = b.scores_fit(q.len(), keys.len(), scores.len()) else {
        return scores_causal_by_query(attn_scores_f16, b, q, keys, scale, scores);
    };
    for (j0, m) in query_groups(b.queries) {
        // SAFETY: reachable only through `kernels(tier)`, whose caller checked NEON.
        unsafe {
            match m {
                1 => scores_group::<1>(b, j0, pos, q, keys, scale, scores),
                2 => scores_group::<2>(b, j0, pos, q, keys, scale, scores),
                3 => scores_group::<3>(b, j0, pos, q, keys, scale, scores),
                _ => scores_group::<QUERY_GROUP>(b, j0, pos, q, keys, scale, scores),
            }
        }
    }
}

/// Scores of queries `j0 .. j0 + M` of a checked block: the rows all of them attend with one
/// `M`-column [`dot_cols`] each, then the causal tail rows one query at a time.
///
/// # Safety
/// The CPU must have NEON.
#[target_feature(enable = "neon")]
unsafe fn scores_group<const M: usize>(
    b: &CausalBlock,
    j0: usize,
    pos: usize,
    q: &[f32],
    keys: &[f16],
    scale: f32,
    scores: &mut [f32],
) {
    let d = b.dim;
    let qs: [&[f32]; M] = core::array::from_fn(|j| {
        let at = (j0 + j) * b.q_pitch;
        q.get(at..at + d).unwrap_or(&[])
    });
    let row = |p: usize| {
        keys.get(p * b.kv_stride..p * b.kv_stride + d)
            .unwrap_or(&[])
    };
    let n = b.first + j0;
    for p in 0..n {
        // SAFETY: NEON (caller contract).
        let r = unsafe { dot_cols::<f16, M>(row(p), qs) };
        for (j, r) in r.into_iter().enumerate() {
            if let Some(s) = scores.get_mut((j0 + j) * pos + p) {
                *s = scale * r;
            }
        }
    }
    for (j, &qj) in qs.iter().enumerate().skip(1) {
        for p in n..n + j {
            // SAFETY: NEON (caller contract).
            let [r] = unsafe { dot_cols::<f16, 1>(row(p), [qj]) };
            if let Some(s) = scores.get_mut((j0 + j) * pos + p) {
                *s = scale * r;
            }
        }
    }
}

/// Causal block value sums (table entry): each value row is converted once for up to 4
/// queries, and every output element gets exactly [`add_row`]'s operations in the same order
/// over positions, so every output is bit for bit [`attn_values_f16`]'s.
pub(super) fn attn_values_causal_f16(
    b: &CausalBlock,
    weights: &[f32],
    values: &[f16],
    out: &mut [f32],
) {
    let Some(pos) = b.values_fit(weights.len(), values.len(), out.len()) else {
        return values_causal_by_query(attn_values_f16, b, weights, values, out);
    };
    if b.queries < 2 || b.dim == 0 {
        // One query (decode), where `out_pitch` may be below `dim`: the single-query kernel.
        // `dim == 0` (where `out_pitch` may be 0): nothing to write, no chunks to cut.
        return values_causal_by_query(attn_values_f16, b, weights, values, out);
    }
    // Several queries: `check` guarantees `out_pitch >= dim >= 1`, so the outputs are the
    // first `dim` values of disjoint `out_pitch` chunks (`max(1)`: never `chunks_mut(0)`, even
    // if that guarantee changes).
    let mut outs = out.chunks_mut(b.out_pitch.max(1));
    for (j0, m) in query_groups(b.queries) {
        let n = b.first + j0;
        let w = |j: usize| {
            let at = (j0 + j) * pos;
            weights.get(at..at + n + j).unwrap_or(&[])
        };
        let mut next = || {
            outs.next()
                .and_then(|o| o.get_mut(..b.dim))
                .unwrap_or(&mut [])
        };
        // SAFETY: reachable only through `kernels(tier)`, whose caller checked NEON.
        unsafe {
            match m {
                1 => values_group::<1>([w(0)], n, values, b, [next()]),
                2 => values_group::<2>([w(0), w(1)], n, values, b, [next(), next()]),
                3 => values_group::<3>([w(0), w(1), w(2)], n, values, b, [next(), next(), next()]),
                _ => values_group::<QUERY_GROUP>(
                    core::array::from_fn(w),
                    n,
                    values,
                    b,
                    [next(), next(), next(), next()],
                ),
            }
        }
    }
}

/// Value sums of `M` consecutive queries (weights `w[j]` of `n + j` positions, outputs `o[j]`):
/// per row, the 4-column chunks are converted once and added to every query attending the row
/// (`out = fma(w_p, v, out)`, as [`add_row`]), then the `d % 4` tail columns as [`add_row`]
/// adds them (scalar `fmadd`).
///
/// # Safety
/// The CPU must have NEON.
#[target_feature(enable = "neon")]
unsafe fn values_group<const M: usize>(
    w: [&[f32]; M],
    n: usize,
    values: &[f16],
    b: &CausalBlock,
    mut o: [&mut [f32]; M],
) {
    for oj in o.iter_mut() {
        oj.fill(0.0);
    }
    let d = o.iter().map(|oj| oj.len()).min().unwrap_or(0).min(b.dim);
    for p in 0..(n + M).saturating_sub(1) {
        let Some(row) = values.get(p * b.kv_stride..p * b.kv_stride + d) else {
            return;
        };
        // Queries attending row `p`: all for `p < n`, then `j > p − n`.
        let first = (p + 1).saturating_sub(n);
        let rp = row.as_ptr().cast::<u16>();
        let wp: [f32; M] = core::array::from_fn(|j| w[j].get(p).copied().unwrap_or(0.0));
        let mut i = 0;
        // SAFETY: `i + 4 <= d`, within `row` and every `o[j]`; `f16` is a plain `u16`; NEON
        // (caller contract).
        unsafe {
            let wv = wp.map(|x| vdupq_n_f32(x));
            while i + 4 <= d {
                let v = super::simd::f16x4_to_f32(vld1_u16(rp.add(i)));
                for (oj, &wv) in o.iter_mut().zip(&wv).skip(first) {
                    let op = oj.as_mut_ptr().add(i);
                    vst1q_f32(op, vfmaq_f32(vld1q_f32(op), wv, v));
                }
                i += 4;
            }
        }
        for (oj, &wp) in o.iter_mut().zip(&wp).skip(first) {
            for (o, v) in oj.iter_mut().zip(row).skip(i) {
                // SAFETY: NEON (caller contract).
                *o = unsafe { fma1(wp, v.to_f32(), *o) };
            }
        }
    }
}
