//! Attention inner loops over an f16 KV cache: single-query and causal-block references.
//!
//! # Math
//!
//! For one query head `q` (`d = q.len()` values) against `n` cached positions:
//! `scores_p = scale · Σ_{i<d} q_i · K[p, i]`, `w = softmax(scores)`,
//! `out_i = Σ_p w_p · V[p, i]`.
//!
//! # Layout
//!
//! Key / value row `p` starts at `p · stride` in its slice (`stride ≥ d` for a cache whose rows
//! interleave several KV heads: the caller offsets the slice to its head and passes the row
//! pitch, which is how GQA maps a query head to its KV head). Only the first `d` values of a row
//! are read.
//!
//! # Order of operations and tails
//!
//! [`attn_scores_f16`]: per position, the float-order dot product `acc` of `q` and `f32(k)`
//! ([`super::float::dot_lanes`]: 16 fused multiply-add lanes, zero-padded, folded in halves),
//! then `scale · acc`. [`attn_values_f16`]: `out` starts at zero and each position `p` in
//! increasing order makes `out_i = fma(w_p, f32(v_i), out_i)` (so each `out_i` is an
//! index-order fused sum over `p`). Every tier evaluates exactly this and gives the same bits. Bounds are checked once at entry: a
//! position whose row does not fit in the slice is not processed (see each function); nothing
//! panics.

use crate::error::ShapeError;
use half::f16;

/// Number of rows `p` (of `row_len` values at `p · stride`) that fit in a slice of `len`
/// values: the `p` with `p · stride + row_len ≤ len`, capped at `want`.
fn rows_that_fit(len: usize, stride: usize, row_len: usize, want: usize) -> usize {
    if row_len > len {
        return 0;
    }
    match (len - row_len).checked_div(stride) {
        // `stride == 0`: every row is the first one, which fits.
        None => want,
        Some(last) => want.min(last.saturating_add(1)),
    }
}

/// Attention scores: `scores[p] = scale · Σ_{i < q.len()} q_i · f32(keys[p · stride + i])` for
/// `p < scores.len()`, the sum in the float order ([`super::float::dot_lanes`]).
///
/// Contract (every tier, every build): any lengths and stride are accepted. Only the positions
/// whose key row fits entirely in `keys` (`p · stride + q.len() ≤ keys.len()`, computed in
/// O(1) without overflow) are written; the rest of `scores` is left untouched. Nothing panics.
pub fn attn_scores_f16(q: &[f32], keys: &[f16], stride: usize, scale: f32, scores: &mut [f32]) {
    let n = rows_that_fit(keys.len(), stride, q.len(), scores.len());
    let mut rows = keys;
    for (p, score) in scores.iter_mut().take(n).enumerate() {
        if p > 0 {
            rows = rows.get(stride..).unwrap_or(&[]);
        }
        let acc = super::float::dot_lanes(q, rows.get(..q.len()).unwrap_or(rows));
        *score = scale * acc;
    }
}

/// Weighted sum of value rows:
/// `out_i = Σ_{p < weights.len()} weights[p] · f32(values[p · stride + i])` for `i < out.len()`;
/// `out` is overwritten (zeroed, then each position `p` in increasing order adds its row:
/// `out_i = fma(w_p, f32(v_i), out_i)`).
///
/// Contract (every tier, every build): any lengths and stride are accepted. Only the positions
/// whose value row fits entirely in `values` (`p · stride + out.len() ≤ values.len()`)
/// contribute; `out` is always overwritten. Nothing panics.
pub fn attn_values_f16(weights: &[f32], values: &[f16], stride: usize, out: &mut [f32]) {
    let n = rows_that_fit(values.len(), stride, out.len(), weights.len());
    out.fill(0.0);
    let mut rows = values;
    for (p, &w) in weights.iter().take(n).enumerate() {
        if p > 0 {
            rows = rows.get(stride..).unwrap_or(&[]);
        }
        for (o, &v) in out.iter_mut().zip(rows) {
            *o = super::float::fma(w, v.to_f32(), *o);
        }
    }
}

/// The shape of a causal block of queries against one KV head: in a batched prefill, the same
/// query head of `queries` consecutive tokens.
///
/// Query `j < queries` is the `dim` values at `j · q_pitch` of the query slice and attends to
/// key / value rows `0 .. first + j` (row `p` at `p · kv_stride` of the cache slice, as in
/// [`attn_scores_f16`]). Its scores (then softmax weights) are row `j` of a scratch whose rows
/// are [`CausalBlock::positions`] `= first + queries − 1` values apart, and its output is the
/// `dim` values at `j · out_pitch` of the output slice.
///
/// Every per-query result of a tier's block kernels is, bit for bit, what the same kernels give
/// for that query alone (a one-query block with `first + j` positions, which is how decode runs
/// it): a block kernel only shares the loads and f16 conversions of each cache row between its
/// queries. The scalar block kernels are loops of the single-query references
/// [`attn_scores_f16`] / [`attn_values_f16`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CausalBlock {
    /// Number of queries (`m`).
    pub queries: usize,
    /// Positions attended by query 0; query `j` attends `first + j`.
    pub first: usize,
    /// Values per query, key / value row and output row (`head_dim`).
    pub dim: usize,
    /// Distance between consecutive queries in the query slice.
    pub q_pitch: usize,
    /// Distance between consecutive key / value rows in the cache slices.
    pub kv_stride: usize,
    /// Distance between consecutive outputs in the output slice.
    pub out_pitch: usize,
}

impl CausalBlock {
    /// Positions attended by the last query, which is the scores row pitch:
    /// `first + queries − 1` (`first` when `queries == 0`; `None` on overflow).
    pub fn positions(&self) -> Option<usize> {
        self.first.checked_add(self.queries.saturating_sub(1))
    }

    /// `(j · pitch) .. (j · pitch + len)`, or `None` on overflow.
    fn span(j: usize, pitch: usize, len: usize) -> Option<core::ops::Range<usize>> {
        let start = j.checked_mul(pitch)?;
        Some(start..start.checked_add(len)?)
    }

    /// The scores row pitch ([`CausalBlock::positions`]) when slices of these lengths hold
    /// the block's queries, keys and scores; `None` otherwise (what a scores kernel needs).
    #[allow(dead_code)] // (the SIMD tiers' block kernels only)
    pub(crate) fn scores_fit(&self, q: usize, keys: usize, scores: usize) -> Option<usize> {
        // (`usize::MAX`: the value and output lengths are not the scores kernel's to check.)
        self.check(q, keys, usize::MAX, scores, usize::MAX)
            .ok()
            .and(self.positions())
    }

    /// The weights row pitch when slices of these lengths hold the block's weights, values
    /// and (non-overlapping) outputs; `None` otherwise (what a values kernel needs).
    #[allow(dead_code)] // (the SIMD tiers' block kernels only)
    pub(crate) fn values_fit(&self, weights: usize, values: usize, out: usize) -> Option<usize> {
        // (`usize::MAX`: the query length is not the values kernel's to check.)
        self.check(usize::MAX, values, values, weights, out)
            .ok()
            .and(self.positions())
    }

    /// Checks the lengths [`crate::ops::attention_causal_block`] documents.
    pub(crate) fn check(
        &self,
        q: usize,
        keys: usize,
        values: usize,
        scores: usize,
        out: usize,
    ) -> Result<(), ShapeError> {
        let Some(last) = self.queries.checked_sub(1) else {
            return Ok(());
        };
        let pos = self.positions().ok_or(ShapeError::Overflow)?;
        let end = |pitch, len| {
            Self::span(last, pitch, len)
                .map(|r| r.end)
                .ok_or(ShapeError::Overflow)
        };
        let kv = match pos.checked_sub(1) {
            None => 0,
            Some(p) => {
                Self::span(p, self.kv_stride, self.dim)
                    .ok_or(ShapeError::Overflow)?
                    .end
            }
        };
        let need = [
            ("q", end(self.q_pitch, self.dim)?, q),
            ("keys", kv, keys),
            ("values", kv, values),
            ("scores", end(pos, pos)?, scores),
            ("out", end(self.out_pitch, self.dim)?, out),
        ];
        for (what, expected, actual) in need {
            if actual < expected {
                return Err(ShapeError::Length {
                    what,
                    expected,
                    actual,
                });
            }
        }
        if last > 0 && self.out_pitch < self.dim {
            return Err(ShapeError::Length {
                what: "out_pitch",
                expected: self.dim,
                actual: self.out_pitch,
            });
        }
        Ok(())
    }
}

/// Queries per group in the SIMD block kernels: they share each converted key / value vector.
#[allow(dead_code)] // (the SIMD tiers' block kernels only)
pub(crate) const QUERY_GROUP: usize = 4;

/// The query groups of a block of `queries` queries: `(j0, m)` with
/// `m = min(QUERY_GROUP, queries − j0)`, in order.
#[allow(dead_code)] // (the SIMD tiers' block kernels only)
pub(crate) fn query_groups(queries: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..queries)
        .step_by(QUERY_GROUP)
        .map(move |j0| (j0, QUERY_GROUP.min(queries - j0)))
}

/// Single-query scores kernel ([`attn_scores_f16`]'s signature).
pub type ScoresFn = fn(&[f32], &[f16], usize, f32, &mut [f32]);
/// Single-query values kernel ([`attn_values_f16`]'s signature).
pub type ValuesFn = fn(&[f32], &[f16], usize, &mut [f32]);

/// Query `j`'s slices of a block: `(q_j, scores_j)` for scores, `None` when they do not fit.
fn query_rows<'s>(
    b: &CausalBlock,
    j: usize,
    q: &'s [f32],
    rows: &'s mut [f32],
) -> Option<(&'s [f32], &'s mut [f32])> {
    let pos = b.positions()?;
    let q_j = q.get(CausalBlock::span(j, b.q_pitch, b.dim)?)?;
    let row = CausalBlock::span(j, pos, b.first.checked_add(j)?)?;
    Some((q_j, rows.get_mut(row)?))
}

/// The number of leading queries of `b` whose rows of a scores / weights slice of `rows_len`
/// values can fit (`j · positions ≤ rows_len`), in O(1): the per-query loops never run over a
/// bogus query count (`queries = 2^32` with a short slice used to loop for seconds). Queries
/// past it cannot fit; those below it are still checked one by one.
fn queries_bound(b: &CausalBlock, rows_len: usize) -> usize {
    match b.positions() {
        None => 0,
        // `positions == 0` only for `first == 0` and at most one query.
        Some(0) => b.queries.min(1),
        Some(pos) => b.queries.min(rows_len / pos + 1),
    }
}

/// Block scores by running a single-query kernel per query: scores row `j` (pitch
/// [`CausalBlock::positions`]) gets `single(q_j, keys, kv_stride, scale, ·)` over its
/// `first + j` positions. A query whose row or scores do not fit is skipped; the loop is
/// bounded by the scores slice ([`queries_bound`]), not by `b.queries`.
pub(crate) fn scores_causal_by_query(
    single: ScoresFn,
    b: &CausalBlock,
    q: &[f32],
    keys: &[f16],
    scale: f32,
    scores: &mut [f32],
) {
    for j in 0..queries_bound(b, scores.len()) {
        if let Some((q_j, s_j)) = query_rows(b, j, q, scores) {
            single(q_j, keys, b.kv_stride, scale, s_j);
        }
    }
}

/// Block value sums by running a single-query kernel per query: output `j` gets
/// `single(weights_j, values, kv_stride, ·)` over its `first + j` positions. A query whose
/// weights or output do not fit is skipped; the loop is bounded by the weights slice
/// ([`queries_bound`]), not by `b.queries`.
pub(crate) fn values_causal_by_query(
    single: ValuesFn,
    b: &CausalBlock,
    weights: &[f32],
    values: &[f16],
    out: &mut [f32],
) {
    let Some(pos) = b.positions() else { return };
    for j in 0..queries_bound(b, weights.len()) {
        let w_j = CausalBlock::span(j, pos, b.first.saturating_add(j)).and_then(|r| weights.get(r));
        let o_j = CausalBlock::span(j, b.out_pitch, b.dim).and_then(|r| out.get_mut(r));
        if let (Some(w_j), Some(o_j)) = (w_j, o_j) {
            single(w_j, values, b.kv_stride, o_j);
        }
    }
}

/// Attention scores of a causal block (see [`CausalBlock`]): for every query `j` and position
/// `p < first + j`, `scores[j · positions + p] = scale · Σ_{i<dim} q_j[i] · f32(keys[p ·
/// kv_stride + i])`, exactly as [`attn_scores_f16`] computes it for that query.
///
/// Contract (every tier, every build): any block and lengths are accepted. When the lengths
/// [`crate::ops::attention_causal_block`] checks hold, every query is computed; otherwise a query whose
/// query row, scores row or key rows do not fit is skipped (the rest of `scores` is left
/// untouched); when [`CausalBlock::positions`] overflows, nothing is written. The work is
/// bounded by the slices' lengths, never by a bogus `queries` count (validated in O(1)
/// first). Nothing panics.
pub fn attn_scores_causal_f16(
    b: &CausalBlock,
    q: &[f32],
    keys: &[f16],
    scale: f32,
    scores: &mut [f32],
) {
    scores_causal_by_query(attn_scores_f16, b, q, keys, scale, scores);
}

/// Weighted value sums of a causal block (see [`CausalBlock`]): output `j` (`dim` values at
/// `j · out_pitch`) is overwritten with `Σ_{p < first + j} weights[j · positions + p] ·
/// f32(values[p · kv_stride ..])`, exactly as [`attn_values_f16`] computes it for that query.
///
/// Contract (every tier, every build): as [`attn_scores_causal_f16`]; a query whose weights row
/// or output does not fit is skipped (its output left untouched), and only the value rows that
/// fit contribute. `dim == 0` writes nothing. Nothing panics, and the work is bounded by the
/// slices' lengths.
pub fn attn_values_causal_f16(b: &CausalBlock, weights: &[f32], values: &[f16], out: &mut [f32]) {
    values_causal_by_query(attn_values_f16, b, weights, values, out);
}

/// Defines a tier's `attn_scores_causal_f16` / `attn_values_causal_f16` table entries as a loop
/// of its own single-query `attn_scores_f16` / `attn_values_f16` (in scope where it is used),
/// for tiers without a dedicated block kernel: per query, bit for bit the single-query result.
/// (Unused on targets without SIMD tiers.)
#[allow(unused_macros)]
macro_rules! causal_by_query {
    () => {
        /// Causal block scores: this tier's single-query kernel per query.
        pub(super) fn attn_scores_causal_f16(
            b: &$crate::kernels::attention::CausalBlock,
            q: &[f32],
            keys: &[half::f16],
            scale: f32,
            scores: &mut [f32],
        ) {
            $crate::kernels::attention::scores_causal_by_query(
                attn_scores_f16,
                b,
                q,
                keys,
                scale,
                scores,
            );
        }

        /// Causal block value sums: this tier's single-query kernel per query.
        pub(super) fn attn_values_causal_f16(
            b: &$crate::kernels::attention::CausalBlock,
            weights: &[f32],
            values: &[half::f16],
            out: &mut [f32],
        ) {
            $crate::kernels::attention::values_causal_by_query(
                attn_values_f16,
                b,
                weights,
                values,
                out,
            );
        }
    };
}
#[allow(unused_imports)]
pub(crate) use causal_by_query;
