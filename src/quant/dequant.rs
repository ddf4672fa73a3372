//! Scalar dequantization: every supported block format back to `f32`, bit for bit as ggml's
//! `dequantize_row_*` (the `to_float` of each type trait).
//!
//! # Math
//!
//! Every format stores small integers `q` plus one or two f16/f32 scales per block; the value is
//! an affine function of `q`, evaluated in f32 in exactly ggml's operation order (no fused
//! multiply-add, so results do not depend on the target):
//!
//! | type | value of element `i` |
//! |---|---|
//! | Q4_0 | `(q − 8) · d` |
//! | Q4_1 | `q · d + m` |
//! | Q5_0 | `(q − 16) · d` |
//! | Q8_0, Q8_1 | `q · d` |
//! | Q4_K, Q5_K | `(d · sc_j) · q − (dmin · m_j)` for sub-block `j` (32 elements) |
//! | Q6_K | `(d · sc_j) · (q − 32)` for sub-block `j` (16 elements) |
//! | Q8_K | `d · q` (`d` is f32) |
//! | F16, BF16 | exact widening to f32 |
//!
//! The integer `q − offset` is converted to f32 exactly (it is small), so the only roundings are
//! the one or two f32 multiplications / additions written above.
//!
//! # Memory layout
//!
//! Block layouts are in [`super::blocks`]. The 32-element formats put element `j` in the low
//! nibble of byte `j` and element `j + 16` in the high nibble. Q4_K / Q5_K group their 128 nibble
//! bytes in four runs of 32: run `r` holds sub-block `2r` in the low nibbles and `2r + 1` in the
//! high nibbles; their 6-bit scales and mins are unpacked as in ggml's `get_scale_min_k4`
//! ([`scale_min_k4`]). Q6_K works on two halves of 128 elements, each made of 64 `ql` bytes and
//! 32 `qh` bytes feeding four runs of 32 elements.
//!
//! # Lengths and tails
//!
//! The typed functions decode `min(blocks.len(), out.len() / ELEMS)` blocks into the front of
//! `out` (a `debug_assert!` checks that the lengths match exactly); they never panic and never
//! allocate. Any trailing part of `out` shorter than a block is left untouched. [`dequantize`]
//! is the checked entry point over raw (possibly unaligned) tensor bytes.
// Indices here are loop counters below the fixed block sizes (`QK`, `QK_K`) into fixed-size
// block arrays and `chunks_exact` chunks of exactly one block: in bounds by construction.
#![allow(clippy::indexing_slicing)]

use super::blocks::*;
use crate::error::ShapeError;
use half::{bf16, f16};

/// Splits `out` into fixed-size arrays of `N` elements (a trailing partial chunk is skipped).
#[inline(always)]
fn out_blocks<const N: usize>(out: &mut [f32]) -> impl Iterator<Item = &mut [f32; N]> {
    out.chunks_exact_mut(N).filter_map(|c| c.try_into().ok())
}

/// Q4_0 → f32: `y[j] = ((qs[j] & 0xF) − 8) · d`, `y[j + 16] = ((qs[j] >> 4) − 8) · d`.
pub fn dequantize_q4_0(blocks: &[BlockQ4_0], out: &mut [f32]) {
    debug_assert_eq!(out.len(), blocks.len() * QK);
    for (b, y) in blocks.iter().zip(out_blocks::<QK>(out)) {
        let d = b.d.to_f32();
        for j in 0..QK / 2 {
            let lo = i32::from(b.qs[j] & 0x0F) - 8;
            let hi = i32::from(b.qs[j] >> 4) - 8;
            y[j] = lo as f32 * d;
            y[j + QK / 2] = hi as f32 * d;
        }
    }
}

/// Q4_1 → f32: `y[j] = (qs[j] & 0xF) · d + m`, `y[j + 16] = (qs[j] >> 4) · d + m`
/// (a multiply then an add, not fused).
pub fn dequantize_q4_1(blocks: &[BlockQ4_1], out: &mut [f32]) {
    debug_assert_eq!(out.len(), blocks.len() * QK);
    for (b, y) in blocks.iter().zip(out_blocks::<QK>(out)) {
        let d = b.d.to_f32();
        let m = b.m.to_f32();
        for j in 0..QK / 2 {
            y[j] = f32::from(b.qs[j] & 0x0F) * d + m;
            y[j + QK / 2] = f32::from(b.qs[j] >> 4) * d + m;
        }
    }
}

/// Q5_0 → f32: `y[i] = (q_i − 16) · d` with `q_i = nibble_i | (bit i of qh) << 4`, where `qh`
/// is read as a little-endian u32 and nibbles are laid out as in Q4_0.
pub fn dequantize_q5_0(blocks: &[BlockQ5_0], out: &mut [f32]) {
    debug_assert_eq!(out.len(), blocks.len() * QK);
    for (b, y) in blocks.iter().zip(out_blocks::<QK>(out)) {
        let d = b.d.to_f32();
        let qh = u32::from_le_bytes(b.qh);
        for j in 0..QK / 2 {
            let h0 = ((qh >> j) << 4) & 0x10;
            let h1 = (qh >> (j + 12)) & 0x10;
            let lo = (u32::from(b.qs[j] & 0x0F) | h0) as i32 - 16;
            let hi = (u32::from(b.qs[j] >> 4) | h1) as i32 - 16;
            y[j] = lo as f32 * d;
            y[j + QK / 2] = hi as f32 * d;
        }
    }
}

/// Q8_0 → f32: `y[i] = qs[i] · d`.
pub fn dequantize_q8_0(blocks: &[BlockQ8_0], out: &mut [f32]) {
    debug_assert_eq!(out.len(), blocks.len() * QK);
    for (b, y) in blocks.iter().zip(out_blocks::<QK>(out)) {
        let d = b.d.to_f32();
        for (v, &q) in y.iter_mut().zip(b.qs.iter()) {
            *v = f32::from(q) * d;
        }
    }
}

/// Q8_1 → f32: `y[i] = qs[i] · d` (the stored sum `s` is not needed).
pub fn dequantize_q8_1(blocks: &[BlockQ8_1], out: &mut [f32]) {
    debug_assert_eq!(out.len(), blocks.len() * QK);
    for (b, y) in blocks.iter().zip(out_blocks::<QK>(out)) {
        let d = b.d.to_f32();
        for (v, &q) in y.iter_mut().zip(b.qs.iter()) {
            *v = f32::from(q) * d;
        }
    }
}

/// Unpacks the 6-bit scale and 6-bit min of sub-block `j` (0..8) of a Q4_K / Q5_K super-block
/// (ggml's `get_scale_min_k4`): for `j < 4`, `sc = s[j] & 63`, `m = s[j + 4] & 63`; otherwise the
/// low 4 bits come from `s[j + 4]` (scale: low nibble, min: high nibble) and the top 2 bits from
/// the top bits of `s[j − 4]` (scale) and `s[j]` (min).
#[inline(always)]
pub fn scale_min_k4(j: usize, s: &[u8; K_SCALE_SIZE]) -> (u8, u8) {
    let j = j & 7;
    if j < 4 {
        (s[j] & 63, s[j + 4] & 63)
    } else {
        let sc = (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4);
        let m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
        (sc, m)
    }
}

/// Q4_K → f32: for sub-block `j` (32 elements) with `(sc_j, m_j) = scale_min_k4(j)`,
/// `y = (d · sc_j) · q − (dmin · m_j)`; `q` is the low nibble of byte `32·(j/2) + l` for even
/// `j`, the high nibble for odd `j`.
pub fn dequantize_q4_k(blocks: &[BlockQ4K], out: &mut [f32]) {
    debug_assert_eq!(out.len(), blocks.len() * QK_K);
    for (b, y) in blocks.iter().zip(out_blocks::<QK_K>(out)) {
        let d = b.d.to_f32();
        let dmin = b.dmin.to_f32();
        for (pair, (ys, qs)) in y
            .chunks_exact_mut(64)
            .zip(b.qs.chunks_exact(32))
            .enumerate()
        {
            let (sc1, m1) = scale_min_k4(2 * pair, &b.scales);
            let (sc2, m2) = scale_min_k4(2 * pair + 1, &b.scales);
            let (d1, min1) = (d * f32::from(sc1), dmin * f32::from(m1));
            let (d2, min2) = (d * f32::from(sc2), dmin * f32::from(m2));
            let (lo, hi) = ys.split_at_mut(32);
            for ((&q, a), h) in qs.iter().zip(lo.iter_mut()).zip(hi.iter_mut()) {
                *a = d1 * f32::from(q & 0x0F) - min1;
                *h = d2 * f32::from(q >> 4) - min2;
            }
        }
    }
}

/// Q5_K → f32: as Q4_K with a fifth bit: for sub-block `j`,
/// `y = (d · sc_j) · (nibble + 16 · bit_j(qh[l])) − (dmin · m_j)`, where bit `j` of `qh[l]`
/// belongs to element `l` of sub-block `j`.
pub fn dequantize_q5_k(blocks: &[BlockQ5K], out: &mut [f32]) {
    debug_assert_eq!(out.len(), blocks.len() * QK_K);
    for (b, y) in blocks.iter().zip(out_blocks::<QK_K>(out)) {
        let d = b.d.to_f32();
        let dmin = b.dmin.to_f32();
        for (pair, (ys, qs)) in y
            .chunks_exact_mut(64)
            .zip(b.qs.chunks_exact(32))
            .enumerate()
        {
            let (sc1, m1) = scale_min_k4(2 * pair, &b.scales);
            let (sc2, m2) = scale_min_k4(2 * pair + 1, &b.scales);
            let (d1, min1) = (d * f32::from(sc1), dmin * f32::from(m1));
            let (d2, min2) = (d * f32::from(sc2), dmin * f32::from(m2));
            let u1 = 1u8 << (2 * pair);
            let u2 = 2u8 << (2 * pair);
            let (lo, hi) = ys.split_at_mut(32);
            for (((&q, &h), a), c) in qs
                .iter()
                .zip(b.qh.iter())
                .zip(lo.iter_mut())
                .zip(hi.iter_mut())
            {
                let q1 = (q & 0x0F) + if h & u1 != 0 { 16 } else { 0 };
                let q2 = (q >> 4) + if h & u2 != 0 { 16 } else { 0 };
                *a = d1 * f32::from(q1) - min1;
                *c = d2 * f32::from(q2) - min2;
            }
        }
    }
}

/// Q6_K → f32: `y = (d · scales_j) · (q − 32)` for sub-block `j` (16 elements), `q` 6 bits.
///
/// Per half `h` (128 elements: `ql[64h..64h + 64]`, `qh[32h..32h + 32]`, `scales[8h..8h + 8]`),
/// element `l` (0..32) of run `r` (0..4) is at `128h + 32r + l` with
/// `q = (ql[l + 32·(r & 1)] >> 4·(r >> 1)) & 0xF | ((qh[l] >> 2r) & 3) << 4` and sub-block scale
/// `scales[8h + l/16 + 2r]`.
pub fn dequantize_q6_k(blocks: &[BlockQ6K], out: &mut [f32]) {
    debug_assert_eq!(out.len(), blocks.len() * QK_K);
    for (b, y) in blocks.iter().zip(out_blocks::<QK_K>(out)) {
        let d = b.d.to_f32();
        for h in 0..2 {
            for l in 0..32 {
                let (ql0, ql1, qh) = (b.ql[64 * h + l], b.ql[64 * h + l + 32], b.qh[32 * h + l]);
                let q = [
                    (ql0 & 0x0F) | ((qh & 3) << 4),
                    (ql1 & 0x0F) | (((qh >> 2) & 3) << 4),
                    (ql0 >> 4) | (((qh >> 4) & 3) << 4),
                    (ql1 >> 4) | (((qh >> 6) & 3) << 4),
                ];
                for (r, &qr) in q.iter().enumerate() {
                    let scale = f32::from(b.scales[8 * h + l / 16 + 2 * r]);
                    y[128 * h + 32 * r + l] = d * scale * (i32::from(qr) - 32) as f32;
                }
            }
        }
    }
}

/// Q8_K → f32: `y[i] = d · qs[i]` (`d` is f32).
pub fn dequantize_q8_k(blocks: &[BlockQ8K], out: &mut [f32]) {
    debug_assert_eq!(out.len(), blocks.len() * QK_K);
    for (b, y) in blocks.iter().zip(out_blocks::<QK_K>(out)) {
        for (v, &q) in y.iter_mut().zip(b.qs.iter()) {
            *v = b.d * f32::from(q);
        }
    }
}

/// F16 → f32: exact widening, `y[i] = x[i] as f32`.
pub fn dequantize_f16(x: &[f16], out: &mut [f32]) {
    debug_assert_eq!(out.len(), x.len());
    for (v, h) in out.iter_mut().zip(x) {
        *v = h.to_f32();
    }
}

/// BF16 → f32: exact widening, `bits(y[i]) = bits(x[i]) << 16` (NaN payloads kept, as ggml).
pub fn dequantize_bf16(x: &[bf16], out: &mut [f32]) {
    debug_assert_eq!(out.len(), x.len());
    for (v, h) in out.iter_mut().zip(x) {
        *v = f32::from_bits(u32::from(h.to_bits()) << 16);
    }
}

/// Decodes blocks of `B` from `bytes` (any alignment) with the typed decoder `f`.
///
/// Aligned input is viewed in place; misaligned input is copied one block at a time onto the
/// stack. The caller has checked that `bytes` holds exactly `out.len() / B::ELEMS` blocks.
fn decode_blocks<B: GgmlBlock>(bytes: &[u8], out: &mut [f32], f: fn(&[B], &mut [f32])) {
    match bytemuck::try_cast_slice::<u8, B>(bytes) {
        Ok(blocks) => f(blocks, out),
        Err(_) => {
            let chunks = bytes.chunks_exact(core::mem::size_of::<B>());
            for (chunk, y) in chunks.zip(out.chunks_exact_mut(B::ELEMS)) {
                if let Ok(block) = bytemuck::try_pod_read_unaligned::<B>(chunk) {
                    f(core::slice::from_ref(&block), y);
                }
            }
        }
    }
}

/// Dequantizes the raw little-endian bytes of a tensor (or row) of type `ty` into `out`.
///
/// `bytes` may have any alignment. Each block decodes as the matching typed function of this
/// module (`dequantize_q4_0`, …); F32 is read as little-endian `f32`, F16 / BF16 as little-endian
/// halves.
///
/// # Errors
///
/// - [`ShapeError::FormatMismatch`] if `ty` is not one of F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q8_0,
///   Q8_1, Q4_K, Q5_K, Q6_K, Q8_K;
/// - [`ShapeError::NotBlockMultiple`] if `bytes.len()` is not a multiple of the block size in
///   bytes;
/// - [`ShapeError::Length`] if `out.len()` is not the number of elements in `bytes`;
/// - [`ShapeError::Overflow`] if that number does not fit in `usize`.
///
/// Nothing is written to `out` on error.
pub fn dequantize(ty: GgmlType, bytes: &[u8], out: &mut [f32]) -> Result<(), ShapeError> {
    use GgmlType as T;
    if !matches!(
        ty,
        T::F32
            | T::F16
            | T::BF16
            | T::Q4_0
            | T::Q4_1
            | T::Q5_0
            | T::Q8_0
            | T::Q8_1
            | T::Q4_K
            | T::Q5_K
            | T::Q6_K
            | T::Q8_K
    ) {
        return Err(ShapeError::FormatMismatch { weights: ty });
    }
    let block_bytes = ty.block_bytes();
    if !bytes.len().is_multiple_of(block_bytes) {
        return Err(ShapeError::NotBlockMultiple {
            what: "bytes",
            value: bytes.len(),
            block: block_bytes,
        });
    }
    let expected = (bytes.len() / block_bytes)
        .checked_mul(ty.block_elems())
        .ok_or(ShapeError::Overflow)?;
    if out.len() != expected {
        return Err(ShapeError::Length {
            what: "out",
            expected,
            actual: out.len(),
        });
    }
    match ty {
        T::F32 => {
            for (v, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                if let Ok(le) = c.try_into() {
                    *v = f32::from_le_bytes(le);
                }
            }
        }
        T::F16 => {
            for (v, c) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                if let Ok(le) = c.try_into() {
                    *v = f16::from_bits(u16::from_le_bytes(le)).to_f32();
                }
            }
        }
        T::BF16 => {
            for (v, c) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                if let Ok(le) = c.try_into() {
                    *v = f32::from_bits(u32::from(u16::from_le_bytes(le)) << 16);
                }
            }
        }
        T::Q4_0 => decode_blocks(bytes, out, dequantize_q4_0),
        T::Q4_1 => decode_blocks(bytes, out, dequantize_q4_1),
        T::Q5_0 => decode_blocks(bytes, out, dequantize_q5_0),
        T::Q8_0 => decode_blocks(bytes, out, dequantize_q8_0),
        T::Q8_1 => decode_blocks(bytes, out, dequantize_q8_1),
        T::Q4_K => decode_blocks(bytes, out, dequantize_q4_k),
        T::Q5_K => decode_blocks(bytes, out, dequantize_q5_k),
        T::Q6_K => decode_blocks(bytes, out, dequantize_q6_k),
        T::Q8_K => decode_blocks(bytes, out, dequantize_q8_k),
        _ => return Err(ShapeError::FormatMismatch { weights: ty }),
    }
    Ok(())
}
