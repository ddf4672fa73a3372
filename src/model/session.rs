//! [`Session`]: one sequence over a caller-provided arena — decode, batched prefill, rewind.
//!
//! # The forward pass
//!
//! [`Session::forward`] appends `B ≥ 1` tokens at positions `p0 .. p0 + B` (`p0` = current
//! length). Per layer, for the whole batch at once:
//!
//! 1. `xn_t = rms_norm(x_t) · attn_norm` for each token `t`;
//! 2. `[q | k | v] = W_qkv · quantize(xn)` — one multi-column [`matmul`](crate::ops::matmul) per weight matrix, so
//!    every weight block is loaded once for all `B` tokens;
//! 3. RoPE on q and k (per token, tables for its position), then k and v of every token are
//!    written to the cache at their positions, as f16 or quantized to Q8_0 / Q4_0 rows
//!    ([`Limits::kv`], [`super::kv`]); the cache is head-major (per layer: KV head,
//!    position, dim), so one head's keys and values over all positions are contiguous rows of
//!    `head_dim` and attention streams them (the position-major layout puts a head's rows
//!    `kv_dim` apart; `examples/attention_bw` compares the two);
//! 4. per token `t` and query head `h`: attention over cached positions `0 ..= p0 + t` (causal
//!    inside the batch) against KV head `h / (n_head / n_head_kv)` (GQA), scores scaled by
//!    `1 / sqrt(head_dim)`. A batch attends in blocks: head `h` of up to [`ATTENTION_BLOCK`](super::ATTENTION_BLOCK)
//!    consecutive tokens at once ([`attention_causal_block`](crate::ops::attention_causal_block)), so each cached key and value
//!    row is loaded and converted once for the block's queries. Over a quantized cache each
//!    query of the block runs the single-query [`super::kv`] attention (integer dot products
//!    against the query quantized to Q8_0) with its own causal length, exactly as decode does;
//! 5. `x += W_o · quantize(attn)`; `xn = rms_norm(x) · ffn_norm`;
//!    `[gate | up] = W_gu · quantize(xn)`; `x += W_down · quantize(silu(gate) ⊙ up)`.
//!
//! Then `logits = W_out · quantize(rms_norm(x) · output_norm)` for the last token (or every
//! token of the batch). Because [`matmul`](crate::ops::matmul) is bit-identical to [`crate::ops::matvec()`] per
//! column and a causal block gives each query bit for bit the single-query attention of
//! decode, **a batched prefill gives bit for bit the logits of token-by-token decode** (for a
//! given kernel tier).
//!
//! # Parallelism
//!
//! [`Session::forward_with`] hands the work to a [`Parallel`] (the caller's workers; plain
//! [`Session::forward`] uses [`Sequential`]). Every output element is computed by exactly the
//! same code whatever the split, so **the logits are bitwise identical for any number of
//! workers**:
//!
//! - a matmul of one column (decode) cuts its output rows into contiguous ranges,
//!   [`ROW_TASKS_PER_WORKER`] per planned worker (`Limits::workers`), handed out dynamically;
//!   each task writes its own contiguous range of the output;
//! - a matmul of several columns (prefill) on several workers cuts its rows into chunks of
//!   whole octets, [`ROW_TASKS_PER_WORKER`] per planned worker, handed out dynamically (a slow
//!   little core takes fewer chunks instead of holding the big ones up): each task runs the
//!   tier's register-tiled gemm over its rows for every token into its own range of a scratch
//!   buffer (the `logits` region, unused until the output head), then copies each token's
//!   segment into place. Every weight is read once per matmul, and a slower core takes fewer
//!   chunks. With one worker, and for the output head (which writes `logits` itself), the
//!   *columns* (tokens) are cut into up to `Limits::workers` groups instead: each task runs
//!   the gemm over all rows for its tokens and writes their output vectors, which are disjoint.
//!   Either way a column's values are bit-identical to that column's dot products for any
//!   tiling (see [`crate::kernels::gemm`]);
//! - attention runs `Limits::workers` tasks that take `(token block, head)` units from a shared
//!   counter, longest (last tokens) first; each task uses the slot of the `scores` scratch it
//!   claimed and copies each query's output to its own place (the pairs are disjoint).
//!
//! Task numbers and scratch slots are claimed from atomic counters, never taken from the
//! executor's index, so a wrong [`Parallel`] implementation (an index run twice, concurrently,
//! or not at all) cannot make two tasks share an output range: it can only waste work
//! (`split.rs`, *Tasks are claimed, never assigned*).
//!
//! Quantizing the activations, norms, RoPE, the KV-cache writes and SwiGLU stay on the calling
//! thread (they are small next to the weight streaming).
//!
//! # LongRoPE
//!
//! A model with `rope_factors_short/long` uses the short set while the sequence holds at most
//! `original_context_length` positions and the long set beyond. When a forward needs the
//! other set than the cache was built with (crossing the boundary upwards, or after
//! [`Session::truncate`] back below it), the session either **rotates the cached keys** to the
//! new set in place ([`LongRopeCrossing::RotateKeys`], the default: one pass over the keys, no
//! forward pass, logits close to a from-scratch run's) or **recomputes the cache** from the
//! token history it keeps in the arena ([`LongRopeCrossing::Recompute`]: one prefill of the
//! sequence so far, logits bit-identical to a from-scratch prefill with the set chosen by the
//! current total length); see [`super::longrope`] for why rotation is not exact and how far it
//! lands. [`Session::set_longrope_crossing`] chooses. Models without factor tensors never
//! cross.

use super::arena::{ArenaPlan, Limits};
use super::buffers::{check_rows, range, range_mut, range_mut_u32, Buffers, Carved};
use super::layer::LayerIo;
use super::longrope::{rotate_keys, LongRopeCrossing};
use super::split::{project_matrix, Split, INTERNAL};
use super::weights::Model;
use crate::error::{Error, ForwardStage, ModelError};
use crate::kernels::rope::{rope_cos_sin, RopeParams};
use crate::kernels::Kernels;
use crate::parallel::{Parallel, Sequential};

pub use super::split::ROW_TASKS_PER_WORKER;

/// Which LongRoPE factor set the KV cache was computed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FactorSet {
    Short,
    Long,
}

/// Which logits a batch produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Output {
    /// None (recomputing the cache).
    Skip,
    /// The last token's.
    Last,
    /// Every token's, one row of `n_vocab` after another.
    All,
}

/// One sequence of a [`Model`] over a caller-provided arena (see the module docs).
///
/// Nothing allocates: every buffer is a piece of the arena given to [`Session::new`].
pub struct Session<'m, 'w, 'a> {
    pub(super) model: &'m Model<'w>,
    kernels: Kernels,
    pub(super) plan: ArenaPlan,
    pub(super) len: usize,
    pub(super) cache_set: FactorSet,
    crossing: LongRopeCrossing,
    pub(super) k_cache: &'a mut [u8],
    pub(super) v_cache: &'a mut [u8],
    pub(super) tokens: &'a mut [u32],
    bufs: Buffers<'a>,
}

impl<'m, 'w, 'a> Session<'m, 'w, 'a> {
    /// A new, empty session of `model` whose working memory is `arena`.
    ///
    /// The arena must start at a multiple of [`ARENA_ALIGN`](super::ARENA_ALIGN) and hold at least
    /// [`ArenaPlan::bytes_needed`] bytes for `(model.config(), limits)`; its contents need not
    /// be initialised (any bytes are fine) and it is not cleared.
    ///
    /// Errors: [`ModelError::BadLimits`], [`ModelError::ContextBeyondTraining`] (a
    /// `max_context` beyond the model's trained context without
    /// [`Limits::allow_beyond_trained_context`]), [`ModelError::ArenaMisaligned`],
    /// [`ModelError::ArenaTooSmall`].
    pub fn new(
        model: &'m Model<'w>,
        arena: &'a mut [u8],
        limits: Limits,
        kernels: Kernels,
    ) -> Result<Self, Error> {
        let plan = ArenaPlan::new(model.config(), &limits)?;
        let Carved {
            k_cache,
            v_cache,
            tokens,
            bufs,
        } = Carved::from_arena(arena, &plan)?;
        Ok(Session {
            model,
            kernels,
            plan,
            len: 0,
            cache_set: FactorSet::Short,
            crossing: LongRopeCrossing::default(),
            k_cache,
            v_cache,
            tokens,
            bufs,
        })
    }

    /// The model.
    pub fn model(&self) -> &'m Model<'w> {
        self.model
    }

    /// The limits the arena was planned for.
    pub fn limits(&self) -> Limits {
        self.plan.limits
    }

    /// The arena layout.
    pub fn plan(&self) -> &ArenaPlan {
        &self.plan
    }

    /// The kernels in use.
    pub fn kernels(&self) -> &Kernels {
        &self.kernels
    }

    /// Positions in the sequence (tokens appended so far).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the sequence is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The token ids of the sequence so far.
    pub fn tokens(&self) -> &[u32] {
        self.tokens.get(..self.len).unwrap_or(&[])
    }

    /// What a forward does when it crosses LongRoPE's `original_context_length` (module
    /// docs); [`LongRopeCrossing::RotateKeys`] unless set.
    pub fn longrope_crossing(&self) -> LongRopeCrossing {
        self.crossing
    }

    /// Chooses what a forward does when it crosses LongRoPE's `original_context_length`
    /// (module docs). Models without LongRoPE factors never cross.
    pub fn set_longrope_crossing(&mut self, crossing: LongRopeCrossing) {
        self.crossing = crossing;
    }

    /// Empties the sequence (the arena is kept; nothing is cleared).
    pub fn reset(&mut self) {
        self.len = 0;
    }

    /// Rewinds the sequence to its first `n` positions (the next forward continues at `n`).
    ///
    /// Errors: [`ModelError::TruncateBeyondEnd`] when `n > len()` (nothing changes).
    pub fn truncate(&mut self, n: usize) -> Result<(), Error> {
        if n > self.len {
            return Err(ModelError::TruncateBeyondEnd { n, len: self.len }.into());
        }
        self.len = n;
        Ok(())
    }

    /// The factor set a sequence of `total` positions uses (always `Short` for models
    /// without LongRoPE factors, so they never recompute).
    fn factor_set(&self, total: usize) -> FactorSet {
        let w = self.model.weights();
        let has_factors = w.rope_factors_short().is_some() || w.rope_factors_long().is_some();
        if has_factors && total > self.model.config().original_context_length {
            FactorSet::Long
        } else {
            FactorSet::Short
        }
    }

    /// Appends `tokens` (a prefill batch, or one token for decode) and returns the logits of
    /// the last one (`n_vocab` values), or with `all_logits` of every one (`tokens.len()` rows
    /// of `n_vocab`, in order).
    ///
    /// Errors, all detected before anything changes (the session stays as it was):
    /// [`ModelError::EmptyBatch`], [`ModelError::BatchTooLarge`] (`tokens.len() > max_batch`),
    /// [`ModelError::ContextOverflow`] (`len() + tokens.len() > max_context`),
    /// [`ModelError::TokenOutOfRange`].
    ///
    /// [`ModelError::NonFinite`] when a value of the pass is NaN or ±∞ (a corrupt weight, or
    /// values past `f32`'s range), naming the first stage where it showed (see
    /// [`ForwardStage`]) and the position: the hidden states of the batch are checked after the
    /// embedding lookup, at every matmul input (the norms, the attention output, the
    /// feed-forward activation; the Q8 activation quantizer would turn a NaN into a finite 0),
    /// on q/k/v after RoPE (the attention softmax would turn NaN scores into zeros), after each
    /// residual addition, and the returned logits, so `Ok` logits are always finite. The batch is
    /// then **not committed**: `len()` and `tokens()` are as before the call and the cached
    /// positions below `len()` are untouched (the cache rows past `len()` that the batch wrote
    /// are overwritten by the next forward before anything reads them), so the session stays
    /// usable — e.g. for other tokens, or after [`Session::truncate`]. One exception: when the
    /// error comes while the LongRoPE cache is being recomputed (module docs), `len()` drops
    /// to the prefix recomputed so far. Only the logits buffer is left undefined. The check is
    /// one pass over each checked row (a few thousand values per token and layer, next to
    /// millions of weights).
    pub fn forward(&mut self, tokens: &[u32], all_logits: bool) -> Result<&[f32], Error> {
        self.forward_with(tokens, all_logits, &Sequential)
    }

    /// [`Session::forward`] with the work handed to `par` (see the module docs'
    /// *Parallelism*). At most `Limits::workers` tasks of one step run at a time on the
    /// session's scratch, so `par` may have any number of workers; the logits are bitwise
    /// identical to [`Session::forward`]'s. Nothing allocates (given a `par` that does not).
    ///
    /// Errors: as [`Session::forward`].
    pub fn forward_with(
        &mut self,
        tokens: &[u32],
        all_logits: bool,
        par: &dyn Parallel,
    ) -> Result<&[f32], Error> {
        let n = tokens.len();
        let limits = self.plan.limits;
        if n == 0 {
            return Err(ModelError::EmptyBatch.into());
        }
        if n > limits.max_batch {
            return Err(ModelError::BatchTooLarge {
                batch: n,
                max_batch: limits.max_batch,
            }
            .into());
        }
        let total = self.len.saturating_add(n);
        if total > limits.max_context {
            return Err(ModelError::ContextOverflow {
                needed: total,
                max_context: limits.max_context,
            }
            .into());
        }
        let n_vocab = self.model.config().n_vocab;
        if let Some(&token) = tokens.iter().find(|&&t| t as usize >= n_vocab) {
            return Err(ModelError::TokenOutOfRange { token, n_vocab }.into());
        }

        let set = self.factor_set(total);
        if set != self.cache_set {
            match self.crossing {
                // A quantized cache recomputes (see `longrope`'s module docs).
                LongRopeCrossing::RotateKeys if !self.plan.limits.kv.is_quantized() => {
                    self.rotate_keys(set)?
                }
                LongRopeCrossing::RotateKeys | LongRopeCrossing::Recompute => {
                    self.recompute(set, par)?
                }
            }
        }
        let p0 = self.len;
        range_mut_u32(self.tokens, p0, n)?.copy_from_slice(tokens);
        let output = if all_logits {
            Output::All
        } else {
            Output::Last
        };
        self.run(p0, n, output, par)?;
        let (first, rows) = if all_logits { (0, n) } else { (n - 1, 1) };
        check_rows(
            self.bufs.logits,
            rows,
            n_vocab,
            p0 + first,
            ForwardStage::Logits,
        )?;
        self.len = total;
        let logits_len = rows.checked_mul(n_vocab).ok_or(INTERNAL)?;
        self.bufs.logits.get(..logits_len).ok_or(INTERNAL)
    }

    /// The factor tensor of `set` (`None` when the model has none).
    fn factors(&self, set: FactorSet) -> Option<&'w [f32]> {
        let w = self.model.weights();
        match set {
            FactorSet::Short => w.rope_factors_short(),
            FactorSet::Long => w.rope_factors_long(),
        }
    }

    /// Rotates the cached keys of the current sequence to factor set `set` in place
    /// ([`LongRopeCrossing::RotateKeys`]).
    fn rotate_keys(&mut self, set: FactorSet) -> Result<(), Error> {
        let (from, to) = (self.factors(self.cache_set), self.factors(set));
        let ctx = self.plan.limits.max_context;
        let c = self.model.config();
        let keys: &mut [half::f16] =
            bytemuck::try_cast_slice_mut(&mut *self.k_cache).map_err(|_| INTERNAL)?;
        rotate_keys(keys, c, ctx, self.len, from, to, self.bufs.rope)?;
        self.cache_set = set;
        Ok(())
    }

    /// Rebuilds the KV cache of the current sequence with factor set `set` (see the module
    /// docs' LongRoPE rule), replaying the token history in chunks of `max_batch`.
    fn recompute(&mut self, set: FactorSet, par: &dyn Parallel) -> Result<(), Error> {
        let n_past = self.len;
        self.cache_set = set;
        let chunk = self.plan.limits.max_batch;
        let mut p0 = 0;
        while p0 < n_past {
            let n = chunk.min(n_past - p0);
            // On error only the recomputed prefix is valid.
            self.len = p0;
            self.run(p0, n, Output::Skip, par)?;
            p0 += n;
        }
        self.len = n_past;
        Ok(())
    }

    /// The forward pass of the `n` tokens at history positions `p0 .. p0 + n` (module docs).
    fn run(
        &mut self,
        p0: usize,
        n: usize,
        output: Output,
        par: &dyn Parallel,
    ) -> Result<(), Error> {
        let model = self.model;
        let c = model.config();
        let w = model.weights();
        let k = &self.kernels;
        let b = &mut self.bufs;
        let d = c.n_embd;
        let (n_rot, half) = (c.n_rot, c.n_rot / 2);

        let history = self
            .tokens
            .get(p0..p0.checked_add(n).ok_or(INTERNAL)?)
            .ok_or(INTERNAL)?;
        for (t, &token) in history.iter().enumerate() {
            w.embed(token, range_mut(b.x, t * d, d)?)?;
        }
        check_rows(b.x, n, d, p0, ForwardStage::Embeddings)?;

        let params = RopeParams {
            n_rot,
            freq_base: c.rope_freq_base,
            freq_factors: match self.cache_set {
                FactorSet::Short => w.rope_factors_short(),
                FactorSet::Long => w.rope_factors_long(),
            },
            attn_factor: c.rope_attn_factor,
        };
        for t in 0..n {
            let (cos, sin) = range_mut(b.rope, t * n_rot, n_rot)?.split_at_mut(half);
            rope_cos_sin(p0 + t, &params, cos, sin);
        }

        let ctx = self.plan.limits.max_context;
        let kv = self.plan.limits.kv;
        let row_bytes = kv.row_bytes(c.head_dim).ok_or(INTERNAL)?;
        let kv_layer = ctx
            .checked_mul(c.n_head_kv)
            .and_then(|r| r.checked_mul(row_bytes))
            .ok_or(INTERNAL)?;
        for (l, layer) in w.layers().enumerate() {
            let layer = &layer?;
            let k_layer = self
                .k_cache
                .get_mut(l * kv_layer..(l + 1) * kv_layer)
                .ok_or(INTERNAL)?;
            let v_layer = self
                .v_cache
                .get_mut(l * kv_layer..(l + 1) * kv_layer)
                .ok_or(INTERNAL)?;
            let layer_no = u32::try_from(l).unwrap_or(u32::MAX);
            let layer_io = LayerIo {
                k,
                c,
                ctx,
                kv,
                row_bytes,
                workers: self.plan.limits.workers,
                par,
                p0,
                n,
                layer: layer_no,
            };
            // Each block checks its norm's output; what else it computed is still in its
            // buffers (q/k/v, the heads' output, the feed-forward activation) and is checked
            // here, in graph order, with the residual stream after each block.
            layer_io.attention_block(b, layer, k_layer, v_layer)?;
            check_rows(
                b.qkv,
                n,
                c.qkv_dim(),
                p0,
                ForwardStage::Qkv { layer: layer_no },
            )?;
            let at = ForwardStage::Attention { layer: layer_no };
            check_rows(b.attn, n, c.q_dim(), p0, at)?;
            let at = ForwardStage::AfterAttention { layer: layer_no };
            check_rows(b.x, n, d, p0, at)?;
            layer_io.ffn_block(b, layer)?;
            let at = ForwardStage::FfnActivation { layer: layer_no };
            check_rows(b.ffn_act, n, c.n_ff, p0, at)?;
            let at = ForwardStage::AfterLayer { layer: layer_no };
            check_rows(b.x, n, d, p0, at)?;
        }

        let (first, rows) = match output {
            Output::Skip => return Ok(()),
            Output::Last => (n - 1, 1),
            Output::All => (0, n),
        };
        for r in 0..rows {
            let x = range(b.x, (first + r) * d, d)?;
            (k.rms_norm)(x, w.output_norm(), c.rms_eps, range_mut(b.xn, r * d, d)?);
        }
        check_rows(b.xn, rows, d, p0 + first, ForwardStage::FinalNorm)?;
        let input = range(b.xn, 0, rows * d)?;
        let split = Split {
            workers: self.plan.limits.workers,
            par,
        };
        project_matrix(
            k,
            w.output(),
            input,
            b.quant,
            b.logits,
            c.n_vocab,
            split,
            &mut [],
        )
    }
}
