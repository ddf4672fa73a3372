//! Attention over the dispatch table: a causal block of queries against one KV head
//! ([`attention_causal_block`], what the graph runs) and one query ([`attention_head`], the
//! same operation with a single query).
//!
//! Both check every length first and return a [`ShapeError`] before writing anything; the
//! kernels they call ([`Kernels::attn_scores_causal_f16`], [`Kernels::softmax`],
//! [`Kernels::attn_values_causal_f16`]) then run without checks of their own beyond their
//! clamping contract. The math and the block layout are in [`crate::kernels::attention`].

use crate::error::ShapeError;
use crate::kernels::attention::CausalBlock;
use crate::kernels::Kernels;
use half::f16;

/// One attention head over `n_pos` cached positions, with the kernels of `k`:
/// `scores[..n_pos] = scale · q·Kᵀ`, softmax in place, then `out = Σ_p scores[p] · V[p]`.
/// This is [`attention_causal_block`] with one query that attends `n_pos` positions, so it is
/// bit for bit what the graph computes for the last query of a block.
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
    let block = CausalBlock {
        queries: 1,
        first: n_pos,
        dim: d,
        q_pitch: d,
        kv_stride: stride,
        out_pitch: d,
    };
    attention_causal_block(k, &block, q, keys, values, scale, scores, out)
}

/// Causal attention of a block of queries against one KV head with the kernels of `k`
/// ([`Kernels::attn_scores_causal_f16`], [`Kernels::softmax`] per query over its `first + j`
/// scores, [`Kernels::attn_values_causal_f16`]). Query `j`'s output is bit for bit what
/// [`attention_head`] gives for it with `n_pos = first + j`; on return scores row `j` holds
/// its attention weights.
///
/// Errors (checked before anything is written): [`ShapeError::Length`] when `q` is shorter
/// than `(queries − 1) · q_pitch + dim` (`"q"`), `keys` / `values` than `(positions − 1) ·
/// kv_stride + dim`, `scores` than `queries · positions`, `out` than `(queries − 1) ·
/// out_pitch + dim`, or when outputs would overlap (`out_pitch < dim` with several queries,
/// `"out_pitch"`); [`ShapeError::Overflow`] when a size overflows. `queries == 0` does nothing.
///
/// ```
/// use half::f16;
/// use phi3_kernels::kernels::attention::CausalBlock;
/// use phi3_kernels::ops::{attention_causal_block, attention_head};
/// use phi3_kernels::kernels::Kernels;
///
/// let k = Kernels::detect();
/// let (dim, n) = (8, 5);
/// let keys: Vec<f16> = (0..n * dim).map(|i| f16::from_f32((i % 7) as f32 * 0.1)).collect();
/// let values: Vec<f16> = (0..n * dim).map(|i| f16::from_f32((i % 5) as f32)).collect();
/// let q: Vec<f32> = (0..3 * dim).map(|i| i as f32 * 0.05).collect();
/// // Three queries: the first sees 3 positions, the last 5.
/// let b = CausalBlock { queries: 3, first: 3, dim, q_pitch: dim, kv_stride: dim, out_pitch: dim };
/// let (mut scores, mut out) = (vec![0.0; 3 * 5], vec![0.0; 3 * dim]);
/// attention_causal_block(&k, &b, &q, &keys, &values, 0.35, &mut scores, &mut out)?;
/// let (mut s1, mut o1) = (vec![0.0; 5], vec![0.0; dim]);
/// attention_head(&k, &q[2 * dim..], &keys, &values, dim, 5, 0.35, &mut s1, &mut o1)?;
/// assert_eq!(&out[2 * dim..], &o1[..]);
/// # Ok::<(), phi3_kernels::ShapeError>(())
/// ```
#[allow(clippy::too_many_arguments)]
pub fn attention_causal_block(
    k: &Kernels,
    b: &CausalBlock,
    q: &[f32],
    keys: &[f16],
    values: &[f16],
    scale: f32,
    scores: &mut [f32],
    out: &mut [f32],
) -> Result<(), ShapeError> {
    b.check(q.len(), keys.len(), values.len(), scores.len(), out.len())?;
    if b.queries == 0 {
        return Ok(());
    }
    let pos = b.positions().ok_or(ShapeError::Overflow)?;
    (k.attn_scores_causal_f16)(b, q, keys, scale, scores);
    for (j, row) in scores
        .chunks_exact_mut(pos.max(1))
        .take(b.queries)
        .enumerate()
    {
        if let Some(s) = row.get_mut(..b.first + j) {
            (k.softmax)(s);
        }
    }
    (k.attn_values_causal_f16)(b, scores, values, out);
    Ok(())
}
