//! Attention inner loops over an f16 KV cache, and a composed single-head reference.
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
//! [`attn_scores_f16`]: per position, an `f32` index-order sum `acc = acc + q_i · f32(k_i)`, then
//! `scale · acc`. [`attn_values_f16`]: `out` starts at zero and each position `p` in increasing
//! order adds `w_p · f32(v_i)` to `out_i` (so each `out_i` is an index-order sum over `p`).
//! SIMD tiers are compared against these with a tolerance. Bounds are checked once at entry: a
//! position whose row does not fit in the slice is not processed (see each function); nothing
//! panics.

use super::dispatch::Kernels;
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
/// `p < scores.len()`, the sum in `f32` in index order.
///
/// Contract: `(scores.len() − 1) · stride + q.len() ≤ keys.len()` (`debug_assert!`). Only the
/// positions whose key row fits entirely in `keys` are written; the rest of `scores` is left
/// untouched.
pub fn attn_scores_f16(q: &[f32], keys: &[f16], stride: usize, scale: f32, scores: &mut [f32]) {
    let n = rows_that_fit(keys.len(), stride, q.len(), scores.len());
    debug_assert_eq!(n, scores.len(), "attn_scores_f16: key rows out of bounds");
    let mut rows = keys;
    for (p, score) in scores.iter_mut().take(n).enumerate() {
        if p > 0 {
            rows = rows.get(stride..).unwrap_or(&[]);
        }
        let mut acc = 0.0f32;
        for (&qi, &ki) in q.iter().zip(rows) {
            acc += qi * ki.to_f32();
        }
        *score = scale * acc;
    }
}

/// Weighted sum of value rows:
/// `out_i = Σ_{p < weights.len()} weights[p] · f32(values[p · stride + i])` for `i < out.len()`;
/// `out` is overwritten (zeroed, then each position `p` in increasing order adds its row:
/// `out_i = out_i + w_p · f32(v_i)`).
///
/// Contract: `(weights.len() − 1) · stride + out.len() ≤ values.len()` (`debug_assert!`). Only
/// the positions whose value row fits entirely in `values` contribute.
pub fn attn_values_f16(weights: &[f32], values: &[f16], stride: usize, out: &mut [f32]) {
    let n = rows_that_fit(values.len(), stride, out.len(), weights.len());
    debug_assert_eq!(
        n,
        weights.len(),
        "attn_values_f16: value rows out of bounds"
    );
    out.fill(0.0);
    let mut rows = values;
    for (p, &w) in weights.iter().take(n).enumerate() {
        if p > 0 {
            rows = rows.get(stride..).unwrap_or(&[]);
        }
        for (o, &v) in out.iter_mut().zip(rows) {
            *o += w * v.to_f32();
        }
    }
}

/// One attention head over `n_pos` cached positions, with the kernels of `k`:
/// `scores[..n_pos] = scale · q·Kᵀ` ([`Kernels::attn_scores_f16`]), softmax in place
/// ([`Kernels::softmax`]), then `out = Σ_p scores[p] · V[p]` ([`Kernels::attn_values_f16`]).
/// Key and value row `p` start at `p · stride` in `keys` / `values`; `d = q.len()` values of
/// each are used. On return `scores[..n_pos]` holds the attention weights. With `n_pos == 0`,
/// `out` is all zeros.
///
/// Errors (checked before anything is written): [`ShapeError::Length`] when `out.len() != d`
/// (`"out"`), `scores.len() < n_pos` (`"scores"`, a longer scratch is fine), or a key / value
/// row does not fit (`"keys"` / `"values"`, `expected = (n_pos − 1) · stride + d`);
/// [`ShapeError::Overflow`] when that size overflows.
#[allow(clippy::too_many_arguments)]
pub fn attention_head(
    k: &Kernels,
    q: &[f32],
    keys: &[f16],
    values: &[f16],
    stride: usize,
    n_pos: usize,
    scale: f32,
    scores: &mut [f32],
    out: &mut [f32],
) -> Result<(), ShapeError> {
    let d = q.len();
    if out.len() != d {
        return Err(ShapeError::Length {
            what: "out",
            expected: d,
            actual: out.len(),
        });
    }
    let Some(scores) = scores.get_mut(..n_pos) else {
        return Err(ShapeError::Length {
            what: "scores",
            expected: n_pos,
            actual: scores.len(),
        });
    };
    let needed = match n_pos.checked_sub(1) {
        None => 0,
        Some(last) => last
            .checked_mul(stride)
            .and_then(|o| o.checked_add(d))
            .ok_or(ShapeError::Overflow)?,
    };
    for (what, len) in [("keys", keys.len()), ("values", values.len())] {
        if len < needed {
            return Err(ShapeError::Length {
                what,
                expected: needed,
                actual: len,
            });
        }
    }
    (k.attn_scores_f16)(q, keys, stride, scale, scores);
    (k.softmax)(scores);
    (k.attn_values_f16)(scores, values, stride, out);
    Ok(())
}
