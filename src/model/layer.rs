//! One transformer layer of one batch (the session's module docs, steps 1–5): attention with
//! its KV-cache writes, then the feed-forward block, each adding into the residual stream.

use half::f16;

use super::arena::ATTENTION_BLOCK;
use super::buffers::{add_into, check_rows, range, range_mut, Buffers};
use super::config::Config;
use super::kv::{attention_head_quantized, query_scratch_f32, store_row, KvType};
use super::split::{project, project_matrix, run_claimed, SharedOut, Split, INTERNAL};
use crate::error::{Error, ForwardStage};
use crate::kernels::attention::CausalBlock;
use crate::kernels::Kernels;
use crate::ops::attention_causal_block;
use crate::parallel::Parallel;
use core::sync::atomic::{AtomicBool, Ordering};

/// The cache of one layer as attention reads it.
pub(super) enum Heads<'c> {
    /// f16 rows.
    F16 { keys: &'c [f16], values: &'c [f16] },
    /// Q8_0 / Q4_0 rows ([`LayerIo::kv`]), read from the byte slices.
    Quantized,
}

/// What one layer of one batch needs besides the buffers.
pub(super) struct LayerIo<'k> {
    pub k: &'k Kernels,
    pub c: &'k Config,
    /// Positions per KV head in the cache (`Limits::max_context`).
    pub ctx: usize,
    /// The cache's element type and bytes per row.
    pub kv: KvType,
    pub row_bytes: usize,
    pub workers: usize,
    pub par: &'k dyn Parallel,
    pub p0: usize,
    pub n: usize,
    /// The layer's index (for [`ModelError::NonFinite`](crate::ModelError::NonFinite)).
    pub layer: u32,
}

impl LayerIo<'_> {
    fn split(&self) -> Split<'_> {
        Split {
            workers: self.workers,
            par: self.par,
        }
    }

    /// Steps 1–4 of the module docs, and `x += W_o · attn`.
    pub(super) fn attention_block(
        &self,
        b: &mut Buffers,
        layer: &super::weights::LayerWeights,
        k_layer: &mut [u8],
        v_layer: &mut [u8],
    ) -> Result<(), Error> {
        let (k, c, n, p0) = (self.k, self.c, self.n, self.p0);
        let rb = self.row_bytes;
        let (d, hd) = (c.n_embd, c.head_dim);
        let (q_dim, kv_dim, qkv_dim) = (c.q_dim(), c.kv_dim(), c.qkv_dim());
        let (n_rot, half) = (c.n_rot, c.n_rot / 2);
        for t in 0..n {
            let x = range(b.x, t * d, d)?;
            (k.rms_norm)(x, layer.attn_norm, c.rms_eps, range_mut(b.xn, t * d, d)?);
        }
        let at = ForwardStage::AttentionNorm { layer: self.layer };
        check_rows(b.xn, n, d, p0, at)?;
        let xn = range(b.xn, 0, n * d)?;
        // (`b.logits` is free until the output head: the row-split scratch.)
        project(
            k,
            &layer.qkv,
            xn,
            b.quant,
            b.qkv,
            qkv_dim,
            self.split(),
            b.logits,
        )?;

        for t in 0..n {
            let row = range_mut(b.qkv, t * qkv_dim, qkv_dim)?;
            let (q, rest) = row.split_at_mut(q_dim);
            let (key, value) = rest.split_at_mut(kv_dim);
            let (cos, sin) = range(b.rope, t * n_rot, n_rot)?.split_at(half);
            c.rope_layout.apply(k, q, hd, cos, sin);
            c.rope_layout.apply(k, key, hd, cos, sin);
            for (g, (kg, vg)) in key
                .chunks_exact(hd.max(1))
                .zip(value.chunks_exact(hd.max(1)))
                .enumerate()
            {
                let at = (g * self.ctx + p0 + t) * rb;
                store_row(
                    k,
                    self.kv,
                    kg,
                    k_layer.get_mut(at..at + rb).ok_or(INTERNAL)?,
                )?;
                store_row(
                    k,
                    self.kv,
                    vg,
                    v_layer.get_mut(at..at + rb).ok_or(INTERNAL)?,
                )?;
            }
        }

        if self.kv.is_quantized() {
            self.attention_heads(b, k_layer, v_layer, &Heads::Quantized)?;
        } else {
            let keys: &[f16] = bytemuck::try_cast_slice(&*k_layer).map_err(|_| INTERNAL)?;
            let values: &[f16] = bytemuck::try_cast_slice(&*v_layer).map_err(|_| INTERNAL)?;
            self.attention_heads(b, k_layer, v_layer, &Heads::F16 { keys, values })?;
        }

        let attn = range(b.attn, 0, n * q_dim)?;
        project_matrix(
            k,
            &layer.attn_output,
            attn,
            b.quant,
            b.xn,
            d,
            self.split(),
            b.logits,
        )?;
        add_into(range_mut(b.x, 0, n * d)?, range(b.xn, 0, n * d)?);
        Ok(())
    }

    /// Step 4: attention of every `(token, head)` pair of the batch, by causal blocks: unit
    /// `(tb, h)` is head `h` of the up to [`ATTENTION_BLOCK`] consecutive tokens of token block
    /// `tb` ([`attention_causal_block`]: each cached key / value row is converted once for the
    /// block's queries, and each query's output is bit for bit the single-query head's). The
    /// units are handed out dynamically, longest (last tokens) first, to `workers` tasks; each
    /// task uses the slot of the scores scratch it claimed for the block's scores and outputs,
    /// then copies each output to `attn[(t · n_head + h) · head_dim ..]` (pairs are disjoint).
    /// Over a quantized cache a unit runs [`attention_head_quantized`] for each of its queries, with
    /// the query's Q8_0 blocks in the slot's tail.
    fn attention_heads(
        &self,
        b: &mut Buffers,
        k_bytes: &[u8],
        v_bytes: &[u8],
        heads: &Heads,
    ) -> Result<(), Error> {
        let (k, c, n, p0) = (self.k, self.c, self.n, self.p0);
        let (hd, n_head) = (c.head_dim, c.n_head);
        let qkv_dim = c.qkv_dim();
        let scale = 1.0 / libm::sqrtf(hd as f32);
        let group = c.gqa_group().max(1);
        let positions = self.ctx;
        let block = ATTENTION_BLOCK.min(n).max(1);
        let blocks = n.div_ceil(block);
        let units = blocks.checked_mul(n_head).ok_or(INTERNAL)?;
        let workers = self.workers.max(1);
        let slot = b.scores.len() / workers;
        let scores_len = block.checked_mul(positions).ok_or(INTERNAL)?;
        let out_len = block.checked_mul(hd).ok_or(INTERNAL)?;
        let (kv, row_bytes) = (self.kv, self.row_bytes);
        let q8_len = query_scratch_f32(kv, hd);
        if scores_len
            .checked_add(out_len)
            .and_then(|need| need.checked_add(q8_len))
            .is_none_or(|need| need > slot)
        {
            return Err(INTERNAL);
        }
        let tasks = workers.min(units);
        let attn = SharedOut::new(range_mut(
            b.attn,
            0,
            n.checked_mul(c.q_dim()).ok_or(INTERNAL)?,
        )?);
        let scratch = SharedOut::new(b.scores);
        let qkv: &[f32] = b.qkv;
        let failed = AtomicBool::new(false);
        run_claimed(self.par, units, tasks, &|i, u| {
            // SAFETY: slot `i` has one claimant at a time (`run_claimed`), and `b.scores` is
            // borrowed mutably until `run_claimed` returns.
            let slot = unsafe { scratch.range(i * slot, (i + 1) * slot) };
            let (scores, rest) = slot.split_at_mut(scores_len.min(slot.len()));
            let (outs, q8) = rest.split_at_mut(out_len.min(rest.len()));
            let (tb, h) = (blocks - 1 - u / n_head, u % n_head);
            let t0 = tb * block;
            let m = block.min(n - t0);
            let kv_head = (h / group) * positions;
            let res = (|| -> Result<(), Error> {
                if let Heads::F16 { .. } = heads {
                } else {
                    let q8: &mut [u8] = bytemuck::cast_slice_mut(q8);
                    let nb = hd / crate::quant::QK;
                    let q8_bytes = nb * core::mem::size_of::<crate::quant::BlockQ8_0>();
                    let q8 = bytemuck::try_cast_slice_mut(q8.get_mut(..q8_bytes).ok_or(INTERNAL)?)
                        .map_err(|_| INTERNAL)?;
                    let kv_off = kv_head.checked_mul(row_bytes).ok_or(INTERNAL)?;
                    let keys = k_bytes.get(kv_off..).ok_or(INTERNAL)?;
                    let values = v_bytes.get(kv_off..).ok_or(INTERNAL)?;
                    for (j, out) in outs.chunks_exact_mut(hd.max(1)).take(m).enumerate() {
                        let q = qkv.get((t0 + j) * qkv_dim + h * hd..).ok_or(INTERNAL)?;
                        let n_pos = p0 + t0 + j + 1;
                        attention_head_quantized(
                            k, kv, q, keys, values, n_pos, scale, q8, scores, out,
                        )?;
                    }
                    for (j, o) in outs.chunks_exact(hd.max(1)).take(m).enumerate() {
                        // SAFETY: pair `(t0 + j, h)` belongs to unit `u` alone, claimed once
                        // (`run_claimed`), and `b.attn` is borrowed mutably until it returns.
                        unsafe { attn.copy_in(((t0 + j) * n_head + h) * hd, o) };
                    }
                    return Ok(());
                }
                let Heads::F16 {
                    keys: k_layer,
                    values: v_layer,
                } = heads
                else {
                    return Err(INTERNAL);
                };
                let kv_off = kv_head * hd;
                let outs = outs.get_mut(..out_len).unwrap_or(&mut []);
                let cb = CausalBlock {
                    queries: m,
                    first: p0 + t0 + 1,
                    dim: hd,
                    q_pitch: qkv_dim,
                    kv_stride: hd,
                    out_pitch: hd,
                };
                let q = qkv.get(t0 * qkv_dim + h * hd..).ok_or(INTERNAL)?;
                let keys = k_layer.get(kv_off..).ok_or(INTERNAL)?;
                let values = v_layer.get(kv_off..).ok_or(INTERNAL)?;
                attention_causal_block(k, &cb, q, keys, values, scale, scores, outs)?;
                for (j, o) in outs.chunks_exact(hd.max(1)).take(m).enumerate() {
                    // SAFETY: pair `(t0 + j, h)` belongs to unit `u` alone, claimed once
                    // (`run_claimed`), and `b.attn` is borrowed mutably until it returns.
                    unsafe { attn.copy_in(((t0 + j) * n_head + h) * hd, o) };
                }
                Ok(())
            })();
            if res.is_err() {
                failed.store(true, Ordering::Relaxed);
            }
        });
        if failed.load(Ordering::Relaxed) {
            return Err(INTERNAL);
        }
        Ok(())
    }

    /// Step 5's feed-forward half: `x += W_down · swiglu(W_gu · rms_norm(x))`.
    pub(super) fn ffn_block(
        &self,
        b: &mut Buffers,
        layer: &super::weights::LayerWeights,
    ) -> Result<(), Error> {
        let (k, c, n) = (self.k, self.c, self.n);
        let (d, ff) = (c.n_embd, c.n_ff);
        for t in 0..n {
            let x = range(b.x, t * d, d)?;
            (k.rms_norm)(x, layer.ffn_norm, c.rms_eps, range_mut(b.xn, t * d, d)?);
        }
        let at = ForwardStage::FfnNorm { layer: self.layer };
        check_rows(b.xn, n, d, self.p0, at)?;
        let xn = range(b.xn, 0, n * d)?;
        project(
            k,
            &layer.gate_up,
            xn,
            b.quant,
            b.gate_up,
            2 * ff,
            self.split(),
            b.logits,
        )?;
        for t in 0..n {
            let (gate, up) = range(b.gate_up, t * 2 * ff, 2 * ff)?.split_at(ff);
            (k.swiglu)(gate, up, range_mut(b.ffn_act, t * ff, ff)?);
        }
        let act = range(b.ffn_act, 0, n * ff)?;
        project_matrix(
            k,
            &layer.ffn_down,
            act,
            b.quant,
            b.xn,
            d,
            self.split(),
            b.logits,
        )?;
        add_into(range_mut(b.x, 0, n * d)?, range(b.xn, 0, n * d)?);
        Ok(())
    }
}
