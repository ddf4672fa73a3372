//! AVX2 attention inner loops over an f16 KV cache: scores `q·K` and the weighted value sum.
//!
//! # Math
//!
//! - [`attn_scores_f16`]: `scores[p] = scale · Σ_{i<d} q_i · f32(K[p·stride + i])`.
//! - [`attn_values_f16`]: `out_i = Σ_p w_p · f32(V[p·stride + i])` (`out` overwritten).
//!
//! # Layout, accumulators and the float order
//!
//! Key / value row `p` starts at `p · stride` (the caller's per-KV-head offset and row pitch);
//! only the first `d` values are read. Every value is bit-identical to the scalar reference
//! ([`crate::kernels::attention`]):
//!
//! - Scores: per position, the float-order dot product of `q` and `f32(k)`
//!   ([`crate::kernels::float::dot_lanes`]): 16 lanes as two `f32x8` FMA accumulators (lanes
//!   0–7 and 8–15), each an independent chain over the 16-element chunks in increasing order,
//!   the last chunk zero-padded through the same FMA; the two are run one after the other
//!   ([`half_lanes`]) and folded in halves ([`fold16`]), then `scale · acc`. Four positions at
//!   a time share every `q` load.
//! - Values: `out` starts at `+0.0` and each position `p` in increasing order makes
//!   `out_i = fma(w_p, f32(v_i), out_i)`: column chunks of 96, 64, 32 or 8 (`f32x8`
//!   accumulators held in registers across all positions), then the `d % 8` tail columns in
//!   scalar with the same fused chain.
//!
//! Causal blocks ([`attn_scores_causal_f16`], [`attn_values_causal_f16`], batched prefill):
//! groups of 4 consecutive queries share every converted key / value vector. Scores: 4 × 3
//! accumulators (4 queries × 3 key rows) per half of the lanes, each `(query, row)` sum formed
//! exactly as the single-query loop forms it. Values: 4 × 3 accumulators (4 queries × 24
//! columns), each column a chain over `p` in increasing order from zero, as in the
//! single-query loop; the causal tail row `n + t` feeds only the queries that attend it. So per
//! query the block kernels are bit for bit the single-query kernels, which keeps a batched
//! prefill bit-identical to token-by-token decode, and each key and value row is converted
//! once per block instead of once per query.
//!
//! # Tails and bounds
//!
//! Bounds are checked once, as in the reference: only positions whose row
//! (`p·stride + d ≤ len`) fits are processed; other scores are left untouched and other value
//! rows do not contribute. Unaligned loads; f16 converted with `vcvtph2ps`.

use super::dot_float::fold16;
use crate::kernels::attention::{
    query_groups, scores_causal_by_query, values_causal_by_query, CausalBlock, QUERY_GROUP,
};
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

/// `[Σ_i q_i · k_r[i]; R]` for `R` key rows, each `d = q.len()` values long, in the float
/// order ([`dot_rows_multi`] of one query).
///
/// # Safety
/// Every `k[r]` must point to `q.len()` readable values; the CPU must support AVX2, FMA, F16C.
#[inline(always)]
unsafe fn dot_rows<const R: usize>(q: &[f32], k: [*const f16; R]) -> [f32; R] {
    // SAFETY: forwarded caller contract (`q` holds `d` values).
    let [out] = unsafe { dot_rows_multi::<1, R>([q.as_ptr()], q.len(), k) };
    out
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn attn_scores_f16_avx2(
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
            prefetch_row(
                vp.wrapping_add((p + PREFETCH_ROWS).wrapping_mul(stride).wrapping_add(col)),
                16 * V,
            );
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

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn attn_values_f16_avx2(weights: &[f32], values: &[f16], stride: usize, out: &mut [f32]) {
    let d = out.len();
    let n = rows_that_fit(values.len(), stride, d, weights.len());
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
    tail_columns(w, values, stride, main, out);
}

/// `out[i] = Σ_p w_p · f32(values[p·stride + i])` for the columns `i ≥ from` (the `d % 8` tail
/// of the value kernels), `s = fma(w_p, v, s)` from `+0.0` in increasing `p` (the reference's
/// chain); rows past `values` add 0.
fn tail_columns(w: &[f32], values: &[f16], stride: usize, from: usize, out: &mut [f32]) {
    for (i, o) in out.iter_mut().enumerate().skip(from) {
        let mut s = 0.0f32;
        for (p, &wp) in w.iter().enumerate() {
            let v = values.get(p * stride + i).map_or(0.0, |v| v.to_f32());
            s = crate::kernels::float::fma(wp, v, s);
        }
        *o = s;
    }
}

/// AVX2 [`crate::kernels::attention::attn_scores_f16`] (bit-exact: module docs).
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

/// AVX2 [`crate::kernels::attention::attn_values_f16`] (bit-exact: module docs).
pub(crate) fn attn_values_f16(weights: &[f32], values: &[f16], stride: usize, out: &mut [f32]) {
    // SAFETY: reachable only through `avx2::kernels()` (CPU features checked).
    unsafe { attn_values_f16_avx2(weights, values, stride, out) }
}

/// Key rows per step of [`scores_group`] (`QUERY_GROUP × SCORE_ROWS` accumulators; 3 beats 2
/// and 1 in `attention_bw --prefill`).
const SCORE_ROWS: usize = 3;

/// One half of the float order's 16 lanes of `M × R` dot products (`q_j · k_r`, `d` values
/// each): `h = 0` gives the `f32x8` accumulators of lanes 0–7 (elements `16c .. 16c + 8` of
/// every chunk `c`), `h = 1` those of lanes 8–15 (`16c + 8 .. 16c + 16`). Each accumulator is
/// `acc = fma(q, k, acc)` over the chunks in increasing order, the last chunk zero-padded to 16
/// (its padding goes through the same FMA). The two halves are independent chains, so a caller
/// runs them one after the other, with `M × R` accumulators live instead of `2 × M × R`.
///
/// # Safety
/// Every `q[j]` and `k[r]` must point to `d` readable values; the CPU must support AVX2, FMA
/// and F16C.
#[inline(always)]
unsafe fn half_lanes<const M: usize, const R: usize>(
    q: [*const f32; M],
    d: usize,
    k: [*const f16; R],
    h: usize,
) -> [[__m256; R]; M] {
    let main = d - d % 16;
    // SAFETY: the vector loads cover `i .. i + 8` with `i + 8 <= main <= d` (`main` is a
    // multiple of 16 and `i ≡ 8h mod 16`); the tail copies read `start .. start + cnt <= d`
    // and only when `cnt > 0` (caller contract for the rows); the tail loads read stack arrays.
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); R]; M];
        let mut i = 8 * h;
        while i < main {
            let kv: [__m256; R] = core::array::from_fn(|r| load_f16x8(k[r].add(i)));
            for (a, &qj) in acc.iter_mut().zip(&q) {
                let qv = _mm256_loadu_ps(qj.add(i));
                for (a, &kr) in a.iter_mut().zip(&kv) {
                    *a = _mm256_fmadd_ps(qv, kr, *a);
                }
            }
            i += 16;
        }
        if main < d {
            // This half of the last chunk: `cnt` real values, zero-padded to 8.
            let start = main + 8 * h;
            let cnt = d.saturating_sub(start).min(8);
            let kv: [__m256; R] = core::array::from_fn(|r| {
                let mut buf = [f16::ZERO; 8];
                if cnt > 0 {
                    core::ptr::copy_nonoverlapping(k[r].add(start), buf.as_mut_ptr(), cnt);
                }
                load_f16x8(buf.as_ptr())
            });
            for (a, &qj) in acc.iter_mut().zip(&q) {
                let mut buf = [0.0f32; 8];
                if cnt > 0 {
                    core::ptr::copy_nonoverlapping(qj.add(start), buf.as_mut_ptr(), cnt);
                }
                let qv = _mm256_loadu_ps(buf.as_ptr());
                for (a, &kr) in a.iter_mut().zip(&kv) {
                    *a = _mm256_fmadd_ps(qv, kr, *a);
                }
            }
        }
        acc
    }
}

/// [`dot_rows`] for `M` queries at once: `[[Σ_i q_j[i] · k_r[i]; R]; M]` with `d` values per
/// row, each in the float order ([`half_lanes`] for lanes 0–7 and 8–15, then [`fold16`]).
/// Each converted key vector feeds `M` accumulators; every `(j, r)` sum is formed exactly as
/// for one query and one row.
///
/// # Safety
/// Every `q[j]` and `k[r]` must point to `d` readable values; the CPU must support AVX2, FMA
/// and F16C.
#[inline(always)]
unsafe fn dot_rows_multi<const M: usize, const R: usize>(
    q: [*const f32; M],
    d: usize,
    k: [*const f16; R],
) -> [[f32; R]; M] {
    // SAFETY: forwarded caller contract.
    unsafe {
        let lo = half_lanes::<M, R>(q, d, k, 0);
        let hi = half_lanes::<M, R>(q, d, k, 1);
        let mut out = [[0.0f32; R]; M];
        for ((o, lo), hi) in out.iter_mut().zip(&lo).zip(&hi) {
            for ((o, &lo), &hi) in o.iter_mut().zip(lo).zip(hi) {
                *o = fold16(lo, hi);
            }
        }
        out
    }
}

/// Scores of `M` consecutive queries of a block (query `j` at `q[j]`, scores row at `s[j]`)
/// whose first attends `n` rows: rows `0 .. n` two at a time for all `M` queries, then the
/// causal tail rows `n .. n + M − 1` one query at a time.
///
/// # Safety
/// `q[j]` must hold `d` readable values, `s[j]` `n + j` writable ones, and key rows
/// `p < n + M − 1` `d` readable values at `kp + p·stride`; the CPU must support AVX2, FMA and
/// F16C.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn scores_group<const M: usize>(
    q: [*const f32; M],
    d: usize,
    kp: *const f16,
    stride: usize,
    n: usize,
    scale: f32,
    s: [*mut f32; M],
) {
    // SAFETY: rows `p < n` (and the tail rows `< n + j` of query `j`) are in bounds and every
    // write `s[j] + p` has `p < n + j` (caller contract); prefetches never fault.
    unsafe {
        let mut p = 0;
        while p + SCORE_ROWS <= n {
            for r in 0..SCORE_ROWS {
                prefetch_row(
                    kp.wrapping_add((p + PREFETCH_ROWS + r).wrapping_mul(stride)),
                    2 * d,
                );
            }
            let rows = core::array::from_fn(|r| kp.add((p + r) * stride));
            let v = dot_rows_multi::<M, SCORE_ROWS>(q, d, rows);
            for (&sj, v) in s.iter().zip(v) {
                for (r, v) in v.into_iter().enumerate() {
                    *sj.add(p + r) = scale * v;
                }
            }
            p += SCORE_ROWS;
        }
        while p < n {
            let v = dot_rows_multi::<M, 1>(q, d, [kp.add(p * stride)]);
            for (&sj, [v]) in s.iter().zip(v) {
                *sj.add(p) = scale * v;
            }
            p += 1;
        }
        for j in 1..M {
            for p in n..n + j {
                let [[v]] = dot_rows_multi::<1, 1>([q[j]], d, [kp.add(p * stride)]);
                *s[j].add(p) = scale * v;
            }
        }
    }
}

/// Value sums of `M` consecutive queries of a block (weights row `j` at `w[j]`, output at
/// `o[j]`) whose first attends `n` rows, for columns `col .. col + 8·V`: `M·V` accumulators
/// held across the rows in increasing `p` (`acc = fma(w_p, v, acc)`, each converted value
/// vector feeding `M` queries), the causal tail row `n + t` going to the queries `j > t` —
/// per query the chain [`values_chunk`] forms.
///
/// # Safety
/// `w[j]` must hold `n + j` readable values and `o[j]` `col + 8·V` writable ones; value rows
/// `p < n + M − 1` must hold `col + 8·V` readable values at `vp + p·stride`; the CPU must
/// support AVX2, FMA and F16C.
#[inline(always)]
unsafe fn values_group<const M: usize, const V: usize>(
    w: [*const f32; M],
    n: usize,
    vp: *const f16,
    stride: usize,
    col: usize,
    o: [*mut f32; M],
) {
    // SAFETY: caller contract; every weight read `w[j] + p` has `p < n + j`.
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); V]; M];
        for p in 0..n {
            prefetch_row(
                vp.wrapping_add((p + PREFETCH_ROWS).wrapping_mul(stride).wrapping_add(col)),
                16 * V,
            );
            let row = vp.add(p * stride + col);
            let v: [__m256; V] = core::array::from_fn(|c| load_f16x8(row.add(8 * c)));
            for (a, &wj) in acc.iter_mut().zip(&w) {
                let wv = _mm256_set1_ps(*wj.add(p));
                for (a, &vc) in a.iter_mut().zip(&v) {
                    *a = _mm256_fmadd_ps(wv, vc, *a);
                }
            }
        }
        for t in 0..M.saturating_sub(1) {
            let p = n + t;
            let row = vp.add(p * stride + col);
            let v: [__m256; V] = core::array::from_fn(|c| load_f16x8(row.add(8 * c)));
            for (a, &wj) in acc.iter_mut().zip(&w).skip(t + 1) {
                let wv = _mm256_set1_ps(*wj.add(p));
                for (a, &vc) in a.iter_mut().zip(&v) {
                    *a = _mm256_fmadd_ps(wv, vc, *a);
                }
            }
        }
        for (a, &oj) in acc.iter().zip(&o) {
            for (c, a) in a.iter().enumerate() {
                _mm256_storeu_ps(oj.add(col + 8 * c), *a);
            }
        }
    }
}

/// The queries `j0 .. j0 + M` of block `b`: pointers to their query rows, scores / weights
/// rows and outputs (wrapping arithmetic: only dereferenced inside the checked bounds).
struct GroupPtrs<const M: usize> {
    q: [*const f32; M],
    rows: [*mut f32; M],
    out: [*mut f32; M],
}

impl<const M: usize> GroupPtrs<M> {
    fn new(
        b: &CausalBlock,
        j0: usize,
        pos: usize,
        q: *const f32,
        rows: *mut f32,
        out: *mut f32,
    ) -> Self {
        GroupPtrs {
            q: core::array::from_fn(|j| q.wrapping_add((j0 + j) * b.q_pitch)),
            rows: core::array::from_fn(|j| rows.wrapping_add((j0 + j) * pos)),
            out: core::array::from_fn(|j| out.wrapping_add((j0 + j) * b.out_pitch)),
        }
    }
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn attn_scores_causal_avx2(
    b: &CausalBlock,
    q: &[f32],
    keys: &[f16],
    scale: f32,
    scores: &mut [f32],
) {
    let Some(pos) = b.scores_fit(q.len(), keys.len(), scores.len()) else {
        return scores_causal_by_query(attn_scores_f16, b, q, keys, scale, scores);
    };
    let (d, stride, kp) = (b.dim, b.kv_stride, keys.as_ptr());
    let (qp, sp) = (q.as_ptr(), scores.as_mut_ptr());
    // SAFETY: `check` passed: every query row, scores row `j` (`first + j <= pos` values at
    // `j·pos`) and key row `p < pos` lies inside its slice; the features are enabled.
    unsafe {
        for (j0, m) in query_groups(b.queries) {
            let n = b.first + j0;
            match m {
                1 => {
                    // One query (decode): the single-query kernel itself.
                    let q = core::slice::from_raw_parts(qp.add(j0 * b.q_pitch), d);
                    let s = core::slice::from_raw_parts_mut(sp.add(j0 * pos), n);
                    attn_scores_f16_avx2(q, keys, stride, scale, s);
                }
                2 => {
                    let g = GroupPtrs::<2>::new(b, j0, pos, qp, sp, sp);
                    scores_group::<2>(g.q, d, kp, stride, n, scale, g.rows);
                }
                3 => {
                    let g = GroupPtrs::<3>::new(b, j0, pos, qp, sp, sp);
                    scores_group::<3>(g.q, d, kp, stride, n, scale, g.rows);
                }
                _ => {
                    let g = GroupPtrs::<QUERY_GROUP>::new(b, j0, pos, qp, sp, sp);
                    scores_group::<QUERY_GROUP>(g.q, d, kp, stride, n, scale, g.rows);
                }
            }
        }
    }
}

/// [`values_group`] over all column chunks of `d` (24 columns — `4 × 3` accumulators are the
/// fastest in `attention_bw --prefill`, ahead of `4 × 2` and far ahead of `4 × 4`,
/// which spills —, then 16, then 8), then the `d % 8` tail
/// columns of each query with [`tail_columns`].
///
/// # Safety
/// As [`values_group`] for `col + 8·V <= d`, with the tail read through the checked slices.
#[inline(always)]
unsafe fn values_group_all<const M: usize>(
    b: &CausalBlock,
    n: usize,
    g: &GroupPtrs<M>,
    values: &[f16],
) {
    let (d, stride, vp) = (b.dim, b.kv_stride, values.as_ptr());
    let main = d - d % 8;
    let mut col = 0;
    // SAFETY: caller contract.
    unsafe {
        let rows = g.rows.map(|r| r.cast_const());
        while col + 24 <= main {
            values_group::<M, 3>(rows, n, vp, stride, col, g.out);
            col += 24;
        }
        if col + 16 <= main {
            values_group::<M, 2>(rows, n, vp, stride, col, g.out);
            col += 16;
        }
        if col < main {
            values_group::<M, 1>(rows, n, vp, stride, col, g.out);
        }
        if main < d {
            for j in 0..M {
                let w = core::slice::from_raw_parts(g.rows[j].cast_const(), n + j);
                let out = core::slice::from_raw_parts_mut(g.out[j], d);
                tail_columns(w, values, stride, main, out);
            }
        }
    }
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn attn_values_causal_avx2(
    b: &CausalBlock,
    weights: &[f32],
    values: &[f16],
    out: &mut [f32],
) {
    let Some(pos) = b.values_fit(weights.len(), values.len(), out.len()) else {
        return values_causal_by_query(attn_values_f16, b, weights, values, out);
    };
    let (wp, op) = (weights.as_ptr().cast_mut(), out.as_mut_ptr());
    // SAFETY: `check` passed: every weights row `j` (`first + j` values at `j·pos`), output
    // (`dim` values at `j·out_pitch`, disjoint for distinct `j`) and value row `p < pos` lies
    // inside its slice; weights are only read through `rows`; the features are enabled.
    unsafe {
        for (j0, m) in query_groups(b.queries) {
            let n = b.first + j0;
            match m {
                1 => {
                    // One query (decode): the single-query kernel itself.
                    let w = core::slice::from_raw_parts(wp.add(j0 * pos).cast_const(), n);
                    let o = core::slice::from_raw_parts_mut(op.add(j0 * b.out_pitch), b.dim);
                    attn_values_f16_avx2(w, values, b.kv_stride, o);
                }
                2 => {
                    values_group_all::<2>(b, n, &GroupPtrs::new(b, j0, pos, wp, wp, op), values);
                }
                3 => {
                    values_group_all::<3>(b, n, &GroupPtrs::new(b, j0, pos, wp, wp, op), values);
                }
                _ => {
                    let g = GroupPtrs::<QUERY_GROUP>::new(b, j0, pos, wp, wp, op);
                    values_group_all::<QUERY_GROUP>(b, n, &g, values);
                }
            }
        }
    }
}

/// AVX2 [`crate::kernels::attention::attn_scores_causal_f16`]: per query bit for bit this
/// tier's [`attn_scores_f16`] (module docs), four queries sharing each key row's conversion.
pub(crate) fn attn_scores_causal_f16(
    b: &CausalBlock,
    q: &[f32],
    keys: &[f16],
    scale: f32,
    scores: &mut [f32],
) {
    // SAFETY: reachable only through `avx2::kernels()` (CPU features checked).
    unsafe { attn_scores_causal_avx2(b, q, keys, scale, scores) }
}

/// AVX2 [`crate::kernels::attention::attn_values_causal_f16`]: per query bit for bit this
/// tier's [`attn_values_f16`] (module docs), four queries sharing each value row's conversion.
pub(crate) fn attn_values_causal_f16(
    b: &CausalBlock,
    weights: &[f32],
    values: &[f16],
    out: &mut [f32],
) {
    // SAFETY: reachable only through `avx2::kernels()` (CPU features checked).
    unsafe { attn_values_causal_avx2(b, weights, values, out) }
}
