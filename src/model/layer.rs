//! One transformer layer of one batch (the session's module docs, steps 1–5): attention with
//! its KV-cache writes, then the feed-forward block, each adding into the residual stream.

use half::f16;

use super::arena::ATTENTION_BLOCK;
use super::buffers::{add_into, check_rows, range, range_mut, Buffers};
use super::config::Config;
use super::split::{project, project_matrix, run_claimed, SharedOut, Split, INTERNAL};
use crate::error::{Error, ForwardStage};
use crate::kernels::attention::CausalBlock;
use crate::kernels::Kernels;
use crate::ops::attention_causal_block;
use crate::parallel::Parallel;
use core::sync::atomic::{AtomicBool, Ordering};

/// What one layer of one batch needs besides the buffers.
pub(super) struct LayerIo<'k> {
    pub k: &'k Kernels,
    pub c: &'k Config,
    /// Positions per KV head in the cache (`Limits::max_context`).
    pub ctx: usize,
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
        k_layer: &mut [f16],
        v_layer: &mut [f16],
    ) -> Result<(), Error> {
        let (k, c, n, p0) = (self.k, self.c, self.n, self.p0);
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
                let at = (g * self.ctx + p0 + t) * hd;
                let k_dst = k_layer.get_mut(at..at + hd).ok_or(INTERNAL)?;
                for (dst, &src) in k_dst.iter_mut().zip(kg) {
                    *dst = f16::from_f32(src.clamp(-65504.0, 65504.0));
                }
                let v_dst = v_layer.get_mut(at..at + hd).ok_or(INTERNAL)?;
                for (dst, &src) in v_dst.iter_mut().zip(vg) {
                    *dst = f16::from_f32(src.clamp(-65504.0, 65504.0));
                }
            }
        }

        self.attention_heads(b, k_layer, v_layer)?;

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
    fn attention_heads(
        &self,
        b: &mut Buffers,
        k_layer: &[f16],
        v_layer: &[f16],
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
        if scores_len
            .checked_add(out_len)
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
            let outs = rest.get_mut(..out_len).unwrap_or(&mut []);
            let (tb, h) = (blocks - 1 - u / n_head, u % n_head);
            let t0 = tb * block;
            let m = block.min(n - t0);
            let kv_off = (h / group) * positions * hd;
            let res = (|| -> Result<(), Error> {
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
