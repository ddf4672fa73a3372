//! KV cache element types ([`KvType`]) and attention over a quantized cache.
//!
//! A session stores every key and value row (`head_dim` values of one KV head at one position)
//! in the element type chosen by [`super::Limits::kv`]:
//!
//! | type | bytes per row | stored as |
//! |---|---|---|
//! | [`KvType::F16`] | `2 · head_dim` | `f16(clamp(x, ±65504))` per value |
//! | [`KvType::Q8_0`] | `34 · head_dim / 32` | [`BlockQ8_0`]s of the row ([`Kernels::quantize_q8_0`]) |
//! | [`KvType::Q4_0`] | `18 · head_dim / 32` | [`BlockQ4_0`]s of the row ([`crate::quant::quantize::quantize_q4_0`]) |
//!
//! The quantized types need `head_dim` to be a multiple of 32 (whole blocks per row);
//! otherwise [`super::ArenaPlan::new`] answers [`ModelError::KvHeadDim`].
//!
//! # Attention over a quantized cache ([`attention_head_quantized`])
//!
//! For one query head `q` (`d = head_dim` values) against positions `0 .. n`:
//!
//! 1. `q8 = quantize_q8_0(q)` (once per head and query; the tier's entry, bit-identical to the
//!    scalar reference);
//! 2. `scores_p = scale · dot(K_p, q8)` with `dot` the tier's integer dot product of the row's
//!    blocks ([`Kernels::dot_q8_0_q8_0`] / [`Kernels::dot_q4_0_q8_0`], bit-exact across
//!    tiers) — one f32 multiplication after the dot product. All positions' dots are one
//!    single-column call of the tier's gemm ([`Kernels::gemm_q8_0_q8_0`] /
//!    [`Kernels::gemm_q4_0_q8_0`]), whose every output is bit for bit that dot;
//! 3. `w = softmax(scores)` (the tier's [`Kernels::softmax`], as for f16);
//! 4. `out` starts at zero; for each position `p` in increasing order and each block `b` of
//!    the value row, `wd = w_p · f32(d_b)`, then `out_i = out_i + wd · f32(v_i)` for the 32
//!    values `v_i` of the block (the integer quant: `q` for Q8_0, `nibble − 8` for Q4_0), each
//!    multiplication and addition rounded separately (never fused).
//!
//! Step 4 is portable Rust with no reassociation, so it gives the same bits on every tier and
//! every target; steps 1–3 use table entries that are bit-exact across tiers. A batched
//! prefill runs this function once per query with that query's causal length, exactly as
//! decode does, so a batch gives bit for bit the logits of token-by-token decode.

use half::f16;

use crate::error::{Error, ModelError};
use crate::kernels::Kernels;
use crate::quant::{BlockQ4_0, BlockQ8_0, QK};

use super::split::INTERNAL;

/// The error of [`attention_head_quantized`] on unusable arguments.
const BAD: Error = Error::Model(ModelError::BadLimits {
    what: "quantized attention arguments",
});

/// The element type of a session's KV cache (see the module docs).
///
/// ```
/// use phi3_kernels::model::{KvType, Limits};
/// let limits = Limits { kv: KvType::Q8_0, ..Limits::new(4096, 32, 1) };
/// assert_eq!(KvType::from_name("q4_0"), Some(KvType::Q4_0));
/// assert_eq!(KvType::Q8_0.row_bytes(96), Some(102)); // 3 blocks of 34 bytes
/// assert_eq!(KvType::Q8_0.row_bytes(80), None); // not whole blocks
/// assert_eq!(limits.kv.name(), "q8_0");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KvType {
    /// IEEE half precision per value (the default).
    #[default]
    F16,
    /// GGUF's Q8_0: blocks of 32 signed bytes and one f16 scale.
    Q8_0,
    /// GGUF's Q4_0: blocks of 32 nibbles and one f16 scale.
    Q4_0,
}

impl KvType {
    /// Every type, in code order.
    pub const ALL: [KvType; 3] = [KvType::F16, KvType::Q8_0, KvType::Q4_0];

    /// The lower-case name (`"f16"`, `"q8_0"`, `"q4_0"`), as command-line flags spell it.
    pub const fn name(self) -> &'static str {
        match self {
            KvType::F16 => "f16",
            KvType::Q8_0 => "q8_0",
            KvType::Q4_0 => "q4_0",
        }
    }

    /// The type named `name` ([`KvType::name`]'s spelling, any case), or `None`.
    pub fn from_name(name: &str) -> Option<Self> {
        KvType::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(name))
    }

    /// Whether rows are stored in blocks of 32 (Q8_0, Q4_0).
    pub const fn is_quantized(self) -> bool {
        !matches!(self, KvType::F16)
    }

    /// Bytes of one cached row of `head_dim` values; `None` on overflow or when a quantized
    /// type's `head_dim` is not a multiple of 32.
    pub const fn row_bytes(self, head_dim: usize) -> Option<usize> {
        let (per, elems) = match self {
            KvType::F16 => return head_dim.checked_mul(2),
            KvType::Q8_0 => (core::mem::size_of::<BlockQ8_0>(), QK),
            KvType::Q4_0 => (core::mem::size_of::<BlockQ4_0>(), QK),
        };
        if !head_dim.is_multiple_of(elems) {
            return None;
        }
        (head_dim / elems).checked_mul(per)
    }

    /// The code of the type in a snapshot header.
    pub(super) const fn code(self) -> u8 {
        match self {
            KvType::F16 => 0,
            KvType::Q8_0 => 1,
            KvType::Q4_0 => 2,
        }
    }

    /// The type of a snapshot header code.
    pub(super) const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(KvType::F16),
            1 => Some(KvType::Q8_0),
            2 => Some(KvType::Q4_0),
            _ => None,
        }
    }

    /// Where a row's f16 fields are: one at every multiple of this many bytes (the values
    /// themselves for F16, each block's scale otherwise).
    pub(super) const fn f16_period(self) -> usize {
        match self {
            KvType::F16 => 2,
            KvType::Q8_0 => core::mem::size_of::<BlockQ8_0>(),
            KvType::Q4_0 => core::mem::size_of::<BlockQ4_0>(),
        }
    }
}

impl core::fmt::Display for KvType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Bytes of the Q8_0 query of one head (`head_dim / 32` blocks), in f32 units rounded up: what
/// each attention worker's scratch slot holds besides its scores and outputs (0 for f16).
pub(super) const fn query_scratch_f32(kv: KvType, head_dim: usize) -> usize {
    if !kv.is_quantized() {
        return 0;
    }
    (head_dim / QK * core::mem::size_of::<BlockQ8_0>()).div_ceil(4)
}

/// Writes the row `src` (`head_dim` f32 values) into its cache bytes `dst` (`row_bytes`).
pub(super) fn store_row(k: &Kernels, kv: KvType, src: &[f32], dst: &mut [u8]) -> Result<(), Error> {
    match kv {
        KvType::F16 => {
            let dst: &mut [f16] = bytemuck::try_cast_slice_mut(dst).map_err(|_| INTERNAL)?;
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = f16::from_f32(s.clamp(-65504.0, 65504.0));
            }
        }
        KvType::Q8_0 => {
            let dst: &mut [BlockQ8_0] = bytemuck::try_cast_slice_mut(dst).map_err(|_| INTERNAL)?;
            (k.quantize_q8_0)(src, dst);
        }
        KvType::Q4_0 => {
            let dst: &mut [BlockQ4_0] = bytemuck::try_cast_slice_mut(dst).map_err(|_| INTERNAL)?;
            crate::quant::quantize::quantize_q4_0(src, dst);
        }
    }
    Ok(())
}

/// One query head's attention over a quantized cache (module docs, steps 1–4): what a
/// session runs per query head and token over a [`KvType::Q8_0`] / [`KvType::Q4_0`] cache.
///
/// `q` is the query (at least `head_dim = out.len()` values); `keys` / `values` are the head's
/// cached rows (row `p` at `p · kv.row_bytes(head_dim)` bytes, as blocks of `kv`), at least `n`
/// of them; `q8` is scratch for the query's `head_dim / 32` blocks; `scores` holds at least `n`
/// values (left holding the softmax weights) and `out` receives the `head_dim` outputs.
///
/// Errors ([`ModelError::BadLimits`], before anything is written): `kv` is [`KvType::F16`],
/// `head_dim` is not a multiple of 32, or a slice is too short.
#[allow(clippy::too_many_arguments)]
pub fn attention_head_quantized(
    k: &Kernels,
    kv: KvType,
    q: &[f32],
    keys: &[u8],
    values: &[u8],
    n: usize,
    scale: f32,
    q8: &mut [BlockQ8_0],
    scores: &mut [f32],
    out: &mut [f32],
) -> Result<(), Error> {
    let hd = out.len();
    let nb = hd / QK;
    let row = kv.row_bytes(hd).ok_or(BAD)?;
    let rows = n.checked_mul(row).ok_or(BAD)?;
    let (keys, values) = (keys.get(..rows).ok_or(BAD)?, values.get(..rows).ok_or(BAD)?);
    let q8 = q8.get_mut(..nb).ok_or(BAD)?;
    let scores = scores.get_mut(..n).ok_or(BAD)?;
    let q = q.get(..hd).ok_or(BAD)?;
    if nb * QK != hd {
        return Err(BAD);
    }
    (k.quantize_q8_0)(q, q8);
    // Scores: one column of the tier's gemm, so each is bit for bit the tier's
    // `dot_q8_0_q8_0(K_p, q8)` / `dot_q4_0_q8_0(K_p, q8)`; then `scale · dot` and the softmax.
    match kv {
        KvType::F16 => return Err(BAD),
        KvType::Q8_0 => {
            let keys = bytemuck::try_cast_slice::<u8, BlockQ8_0>(keys).map_err(|_| BAD)?;
            (k.gemm_q8_0_q8_0)(keys, q8, nb, scores, n);
        }
        KvType::Q4_0 => {
            let keys = bytemuck::try_cast_slice::<u8, BlockQ4_0>(keys).map_err(|_| BAD)?;
            (k.gemm_q4_0_q8_0)(keys, q8, nb, scores, n);
        }
    }
    for s in scores.iter_mut() {
        *s *= scale;
    }
    (k.softmax)(scores);
    out.fill(0.0);
    match kv {
        KvType::F16 => return Err(BAD),
        KvType::Q8_0 => {
            let values = bytemuck::try_cast_slice::<u8, BlockQ8_0>(values).map_err(|_| BAD)?;
            for (&w, vr) in scores.iter().zip(values.chunks_exact(nb.max(1))) {
                for (o, b) in out.chunks_exact_mut(QK).zip(vr) {
                    let wd = w * b.d.to_f32();
                    for (o, &v) in o.iter_mut().zip(&b.qs) {
                        *o += wd * f32::from(v);
                    }
                }
            }
        }
        KvType::Q4_0 => {
            let values = bytemuck::try_cast_slice::<u8, BlockQ4_0>(values).map_err(|_| BAD)?;
            for (&w, vr) in scores.iter().zip(values.chunks_exact(nb.max(1))) {
                for (o, b) in out.chunks_exact_mut(QK).zip(vr) {
                    let wd = w * b.d.to_f32();
                    let (lo, hi) = o.split_at_mut(QK / 2);
                    for ((l, h), &byte) in lo.iter_mut().zip(hi.iter_mut()).zip(&b.qs) {
                        *l += wd * f32::from((byte & 0x0F) as i8 - 8);
                        *h += wd * f32::from((byte >> 4) as i8 - 8);
                    }
                }
            }
        }
    }
    Ok(())
}

/// A [`ModelError::KvHeadDim`] for `head_dim`.
pub(super) const fn head_dim_error(head_dim: usize) -> ModelError {
    ModelError::KvHeadDim {
        head_dim,
        block: QK,
    }
}
