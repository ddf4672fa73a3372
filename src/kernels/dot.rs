//! Scalar row dot products: one weight row against one activation vector.
//!
//! # Math
//!
//! A row of `n` weights stored as blocks `w` and an activation vector stored as blocks `x` of the
//! paired format (see [`crate::ops::ActivationFormat`]) give
//! `Σ_i dequant(w)_i · dequant(x)_i`. The quantized products never dequantize: each block's
//! integer part is an exact `i32` dot product of the quants, and the block scales are applied
//! once per block in `f32`.
//!
//! # Layout
//!
//! The block layouts are ggml's (see [`crate::quant::blocks`]). Both slices are in element order:
//! block `b` of `w` pairs with block `b` of `x`.
//!
//! # Accumulation order (the contract every SIMD tier reproduces)
//!
//! Integer formats: for each block `b` an exact `i32` integer sum is formed (its order is
//! irrelevant: every partial sum fits an `i32`, bounds are given per function), converted with
//! `as f32` (round to nearest even), and the block's float term is formed with the exact
//! expression stated on each function, evaluated left to right as written, every operation a
//! separately rounded `f32` operation (no FMA contraction, no reassociation, no `f64`). `f16`
//! scales are converted exactly to `f32` first (so for the 32-element formats `d_w · d_x`, a
//! product of two f16 values, is itself exact).
//!
//! How the block terms are summed:
//! - **32-element formats** (Q4_0, Q4_1, Q5_0, Q8_0) use [`DOT_LANES`] = 8 interleaved `f32`
//!   accumulators: block `b`'s term is added to `acc[b % 8]` (blocks in increasing order), and
//!   the result is `((acc0 + acc4) + (acc2 + acc6)) + ((acc1 + acc5) + (acc3 + acc7))`
//!   ([`reduce_lanes`]). This is what one 256-bit (or two 128-bit) float vectors do when a SIMD
//!   tier reduces 8 blocks' integer sums into one vector, so SIMD tiers are bit-exact with this
//!   reference without a horizontal reduction per block.
//! - **K formats** (256-element super-blocks) use one accumulator, `sumf = sumf + term`, in
//!   super-block order: one reduction per 256 elements is cheap.
//!
//! Float formats (`f16 · f32`, `f32 · f32`): the float order of [`super::float`]: 16 interleaved
//! fused multiply-add lanes, zero-padded, folded in halves. Every tier gives the same bits.
//!
//! # Tails and lengths
//!
//! Blocks never have tails: a row is a whole number of blocks. Intended use: `w.len() ==
//! x.len()`. Contract (every tier, every build): any lengths are accepted; a mismatch uses the
//! common prefix `min(w.len(), x.len())` (the pairs `zip` yields), it never panics.

use crate::quant::*;
use half::f16;

/// Number of interleaved `f32` accumulators of the 32-element formats' dot products.
pub const DOT_LANES: usize = 8;

/// The final reduction of the [`DOT_LANES`] accumulators:
/// `((acc0 + acc4) + (acc2 + acc6)) + ((acc1 + acc5) + (acc3 + acc7))` — the order of a 256-bit
/// vector folded in halves (high 128 onto low 128, then high 64 onto low 64, then lane 1 onto 0).
#[inline]
pub fn reduce_lanes(acc: [f32; DOT_LANES]) -> f32 {
    let [a0, a1, a2, a3, a4, a5, a6, a7] = acc;
    ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7))
}

/// Sums per-block float terms of a 32-element format in the 8-lane order of the module docs.
#[inline]
fn sum_lanes(terms: impl Iterator<Item = f32>) -> f32 {
    let mut acc = [0.0f32; DOT_LANES];
    for (lane, term) in (0..DOT_LANES).cycle().zip(terms) {
        if let Some(a) = acc.get_mut(lane) {
            *a += term;
        }
    }
    reduce_lanes(acc)
}

/// Exact `i32` dot product of two equal-length runs of small integers (the zip prefix).
#[inline]
fn isum_i8<A: Copy + Into<i32>, B: Copy + Into<i32>>(a: &[A], b: &[B]) -> i32 {
    a.iter().zip(b).map(|(&p, &q)| p.into() * q.into()).sum()
}

/// Q4_0 · Q8_0 integer block sum: `Σ_{j<16} (lo(qs_j) − 8)·x_j + (hi(qs_j) − 8)·x_{j+16}`.
/// Bounded by 32 · 8 · 128 = 32768 in magnitude.
#[inline]
fn isum_q4_0(w: &BlockQ4_0, x: &BlockQ8_0) -> i32 {
    let (x_lo, x_hi) = x.qs.split_at(QK / 2);
    w.qs.iter()
        .zip(x_lo)
        .zip(x_hi)
        .map(|((&q, &a), &b)| {
            (i32::from(q & 0x0F) - 8) * i32::from(a) + (i32::from(q >> 4) - 8) * i32::from(b)
        })
        .sum()
}

/// Q4_1 · Q8_1 integer block sum: `Σ_{j<16} lo(qs_j)·x_j + hi(qs_j)·x_{j+16}` (unsigned nibbles).
/// Bounded by 32 · 15 · 128 = 61440 in magnitude.
#[inline]
fn isum_q4_1(w: &BlockQ4_1, x: &BlockQ8_1) -> i32 {
    let (x_lo, x_hi) = x.qs.split_at(QK / 2);
    w.qs.iter()
        .zip(x_lo)
        .zip(x_hi)
        .map(|((&q, &a), &b)| i32::from(q & 0x0F) * i32::from(a) + i32::from(q >> 4) * i32::from(b))
        .sum()
}

/// Q5_0 · Q8_0 integer block sum: element `j` is `(lo(qs_j) | bit_j(qh) << 4) − 16`, element
/// `j + 16` is `(hi(qs_j) | bit_{j+16}(qh) << 4) − 16`, `qh` read as a little-endian `u32`.
/// Bounded by 32 · 16 · 128 = 65536 in magnitude.
#[inline]
fn isum_q5_0(w: &BlockQ5_0, x: &BlockQ8_0) -> i32 {
    let qh = u32::from_le_bytes(w.qh);
    let (x_lo, x_hi) = x.qs.split_at(QK / 2);
    w.qs.iter()
        .zip(x_lo)
        .zip(x_hi)
        .zip(0u32..)
        .map(|(((&q, &a), &b), j)| {
            let h_lo = ((qh >> j) & 1) << 4;
            let h_hi = ((qh >> (j + 16)) & 1) << 4;
            let v_lo = (u32::from(q & 0x0F) | h_lo) as i32 - 16;
            let v_hi = (u32::from(q >> 4) | h_hi) as i32 - 16;
            v_lo * i32::from(a) + v_hi * i32::from(b)
        })
        .sum()
}

/// The 8 six-bit scales and 8 six-bit mins of a Q4_K / Q5_K super-block (ggml's
/// `get_scale_min_k4`): with bytes `a = s[0..4]`, `b = s[4..8]`, `c = s[8..12]`,
/// sub-block `j < 4` has `scale = a_j & 63`, `min = b_j & 63`, and sub-block `j + 4` has
/// `scale = (c_j & 15) | (a_j >> 6) << 4`, `min = (c_j >> 4) | (b_j >> 6) << 4`.
#[inline]
pub(crate) fn k4_scales_mins(s: &[u8; K_SCALE_SIZE]) -> ([u8; 8], [u8; 8]) {
    let [a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3] = *s;
    let hi_scale = |c: u8, a: u8| (c & 0x0F) | ((a >> 6) << 4);
    let hi_min = |c: u8, b: u8| (c >> 4) | ((b >> 6) << 4);
    let scales = [
        a0 & 63,
        a1 & 63,
        a2 & 63,
        a3 & 63,
        hi_scale(c0, a0),
        hi_scale(c1, a1),
        hi_scale(c2, a2),
        hi_scale(c3, a3),
    ];
    let mins = [
        b0 & 63,
        b1 & 63,
        b2 & 63,
        b3 & 63,
        hi_min(c0, b0),
        hi_min(c1, b1),
        hi_min(c2, b2),
        hi_min(c3, b3),
    ];
    (scales, mins)
}

/// Unpacks the 256 unsigned quants of a Q4_K super-block (0..16) or, with `qh`, a Q5_K
/// super-block (0..32) into element order. `qs` byte group `g` (32 bytes) holds sub-block `2g`
/// in its low nibbles and `2g + 1` in its high nibbles; the fifth bit of element `l` of
/// sub-block `2g` / `2g + 1` is bit `2g` / `2g + 1` of `qh[l]`.
#[inline]
fn unpack_k4(qs: &[u8; QK_K / 2], qh: Option<&[u8; QK_K / 8]>) -> [u8; QK_K] {
    let zeros = [0u8; QK_K / 8];
    let qh = qh.unwrap_or(&zeros);
    let mut q = [0u8; QK_K];
    for ((dst, src), shift) in q
        .chunks_exact_mut(64)
        .zip(qs.chunks_exact(32))
        .zip((0u32..).step_by(2))
    {
        let (lo, hi) = dst.split_at_mut(32);
        for (((l, h), &b), &hb) in lo.iter_mut().zip(hi).zip(src).zip(qh) {
            *l = (b & 0x0F) | (((hb >> shift) & 1) << 4);
            *h = (b >> 4) | (((hb >> (shift + 1)) & 1) << 4);
        }
    }
    q
}

/// Q4_K / Q5_K · Q8_K integer parts of one super-block: `(isum, summs)` with
/// `isum = Σ_{j<8} scale_j · Σ_{l<32} q_{32j+l} · x_{32j+l}` and
/// `summs = Σ_{j<8} min_j · (bsums_{2j} + bsums_{2j+1})`.
/// Bounds: `|isum| ≤ 8 · 63 · 32 · 31 · 128 < 2^26`, `|summs| ≤ 8 · 63 · 2 · 32768 < 2^25`.
#[inline]
fn isums_k4(q: &[u8; QK_K], scales: &[u8; 8], mins: &[u8; 8], x: &BlockQ8K) -> (i32, i32) {
    let isum = q
        .chunks_exact(32)
        .zip(x.qs.chunks_exact(32))
        .zip(scales)
        .map(|((qw, qx), &sc)| i32::from(sc) * isum_i8(qw, qx))
        .sum();
    let summs = x
        .bsums
        .chunks_exact(2)
        .zip(mins)
        .map(|(pair, &m)| i32::from(m) * pair.iter().map(|&s| i32::from(s)).sum::<i32>())
        .sum();
    (isum, summs)
}

/// Q4_0 · Q8_0 row dot product: `Σ_i d_w·(q_i − 8) · d_x·x_i` over `w.len() == x.len()` blocks
/// (common prefix otherwise).
///
/// Per block: `isum = Σ_{j<32} (q_j − 8)·x_j` exactly in `i32`, term
/// `(d_w · d_x) · (isum as f32)`, summed over 8 lanes ([`DOT_LANES`], module docs).
pub fn dot_q4_0_q8_0(w: &[BlockQ4_0], x: &[BlockQ8_0]) -> f32 {
    sum_lanes(w.iter().zip(x).map(|(bw, bx)| {
        let isum = isum_q4_0(bw, bx);
        (bw.d.to_f32() * bx.d.to_f32()) * isum as f32
    }))
}

/// Q4_1 · Q8_1 row dot product: `Σ_i (d_w·q_i + m_w) · d_x·x_i` over `w.len() == x.len()` blocks
/// (common prefix otherwise). The `m_w` term uses the activation block's stored
/// `s_x = d_x · Σ x_j` (f16), as ggml does.
///
/// Per block: `isum = Σ_{j<32} q_j·x_j` exactly in `i32`, term
/// `(d_w · d_x) · (isum as f32) + m_w · s_x`, summed over 8 lanes ([`DOT_LANES`], module docs).
pub fn dot_q4_1_q8_1(w: &[BlockQ4_1], x: &[BlockQ8_1]) -> f32 {
    sum_lanes(w.iter().zip(x).map(|(bw, bx)| {
        let isum = isum_q4_1(bw, bx);
        (bw.d.to_f32() * bx.d.to_f32()) * isum as f32 + bw.m.to_f32() * bx.s.to_f32()
    }))
}

/// Q5_0 · Q8_0 row dot product: `Σ_i d_w·(q_i − 16) · d_x·x_i` (`q_i` 5 bits) over
/// `w.len() == x.len()` blocks (common prefix otherwise).
///
/// Per block: `isum = Σ_{j<32} (q_j − 16)·x_j` exactly in `i32`, term
/// `(d_w · d_x) · (isum as f32)`, summed over 8 lanes ([`DOT_LANES`], module docs).
pub fn dot_q5_0_q8_0(w: &[BlockQ5_0], x: &[BlockQ8_0]) -> f32 {
    sum_lanes(w.iter().zip(x).map(|(bw, bx)| {
        let isum = isum_q5_0(bw, bx);
        (bw.d.to_f32() * bx.d.to_f32()) * isum as f32
    }))
}

/// Q8_0 · Q8_0 row dot product: `Σ_i d_w·w_i · d_x·x_i` over `w.len() == x.len()` blocks
/// (common prefix otherwise).
///
/// Per block: `isum = Σ_{j<32} w_j·x_j` exactly in `i32` (`|isum| ≤ 2^19`), term
/// `(d_w · d_x) · (isum as f32)`, summed over 8 lanes ([`DOT_LANES`], module docs).
pub fn dot_q8_0_q8_0(w: &[BlockQ8_0], x: &[BlockQ8_0]) -> f32 {
    sum_lanes(w.iter().zip(x).map(|(bw, bx)| {
        let isum = isum_i8(&bw.qs, &bx.qs);
        (bw.d.to_f32() * bx.d.to_f32()) * isum as f32
    }))
}

/// Q4_K · Q8_K row dot product: `Σ_i (d·sc_j·q_i − dmin·m_j) · d_x·x_i` (`j` the 32-element
/// sub-block of `i`) over `w.len() == x.len()` super-blocks (common prefix otherwise).
///
/// Per super-block, in order (structure of ggml's `ggml_vec_dot_q4_K_q8_K_generic`):
/// - `isum = Σ_{j<8} sc_j · Σ_{l<32} q_{32j+l} · x_{32j+l}` exactly in `i32`;
/// - `summs = Σ_{j<8} m_j · (bsums_{2j} + bsums_{2j+1})` exactly in `i32` (the mins go through
///   the activation block's `bsums`, which are trusted to equal the sums of its quants);
/// - `d = f32(d_w) · d_x`, `dmin = f32(dmin_w) · d_x`;
/// - `sumf = sumf + (d · (isum as f32) − dmin · (summs as f32))`.
pub fn dot_q4_k_q8_k(w: &[BlockQ4K], x: &[BlockQ8K]) -> f32 {
    let mut sumf = 0.0f32;
    for (bw, bx) in w.iter().zip(x) {
        let (scales, mins) = k4_scales_mins(&bw.scales);
        let q = unpack_k4(&bw.qs, None);
        let (isum, summs) = isums_k4(&q, &scales, &mins, bx);
        let d = bw.d.to_f32() * bx.d;
        let dmin = bw.dmin.to_f32() * bx.d;
        sumf += d * isum as f32 - dmin * summs as f32;
    }
    sumf
}

/// Q5_K · Q8_K row dot product: as [`dot_q4_k_q8_k`] with 5-bit quants
/// `q = nibble | fifth_bit << 4` (0..32), over `w.len() == x.len()` super-blocks (common prefix
/// otherwise).
///
/// Per super-block, in order: `isum`, `summs`, `d`, `dmin` exactly as in [`dot_q4_k_q8_k`], then
/// `sumf = sumf + (d · (isum as f32) − dmin · (summs as f32))`.
pub fn dot_q5_k_q8_k(w: &[BlockQ5K], x: &[BlockQ8K]) -> f32 {
    let mut sumf = 0.0f32;
    for (bw, bx) in w.iter().zip(x) {
        let (scales, mins) = k4_scales_mins(&bw.scales);
        let q = unpack_k4(&bw.qs, Some(&bw.qh));
        let (isum, summs) = isums_k4(&q, &scales, &mins, bx);
        let d = bw.d.to_f32() * bx.d;
        let dmin = bw.dmin.to_f32() * bx.d;
        sumf += d * isum as f32 - dmin * summs as f32;
    }
    sumf
}

/// Unpacks the 256 signed quants `q − 32` (−32..32) of a Q6_K super-block into element order.
/// Each 128-element half `h` uses `ql[64h..64h + 64]` and `qh[32h..32h + 32]`; for `l < 32`:
/// element `l` = `lo(ql_l) | (qh_l & 3) << 4`, `l + 32` = `lo(ql_{l+32}) | (qh_l >> 2 & 3) << 4`,
/// `l + 64` = `hi(ql_l) | (qh_l >> 4 & 3) << 4`, `l + 96` = `hi(ql_{l+32}) | (qh_l >> 6) << 4`.
#[inline]
fn unpack_q6_k(w: &BlockQ6K) -> [i8; QK_K] {
    let mut q = [0i8; QK_K];
    let six = |low4: u8, high2: u8| ((low4 & 0x0F) | ((high2 & 3) << 4)) as i8 - 32;
    for ((dst, ql), qh) in q
        .chunks_exact_mut(128)
        .zip(w.ql.chunks_exact(64))
        .zip(w.qh.chunks_exact(32))
    {
        let (d01, d23) = dst.split_at_mut(64);
        let (d0, d1) = d01.split_at_mut(32);
        let (d2, d3) = d23.split_at_mut(32);
        let (ql_a, ql_b) = ql.split_at(32);
        let outs = d0.iter_mut().zip(d1).zip(d2).zip(d3);
        for ((((e0, e1), e2), e3), ((&a, &b), &h)) in outs.zip(ql_a.iter().zip(ql_b).zip(qh)) {
            *e0 = six(a, h);
            *e1 = six(b, h >> 2);
            *e2 = six(a >> 4, h >> 4);
            *e3 = six(b >> 4, h >> 6);
        }
    }
    q
}

/// Q6_K · Q8_K row dot product: `Σ_i d·sc_j·(q_i − 32) · d_x·x_i` (`j` the 16-element sub-block
/// of `i`, `sc_j` a signed byte) over `w.len() == x.len()` super-blocks (common prefix
/// otherwise).
///
/// Per super-block, in order (structure of ggml's `ggml_vec_dot_q6_K_q8_K_generic`):
/// `isum = Σ_{j<16} sc_j · Σ_{l<16} (q_{16j+l} − 32) · x_{16j+l}` exactly in `i32`
/// (`|isum| ≤ 16 · 128 · 16 · 32 · 128 = 2^27`), then
/// `sumf = sumf + (f32(d_w) · d_x) · (isum as f32)`.
pub fn dot_q6_k_q8_k(w: &[BlockQ6K], x: &[BlockQ8K]) -> f32 {
    let mut sumf = 0.0f32;
    for (bw, bx) in w.iter().zip(x) {
        let q = unpack_q6_k(bw);
        let isum: i32 = q
            .chunks_exact(16)
            .zip(bx.qs.chunks_exact(16))
            .zip(&bw.scales)
            .map(|((qw, qx), &sc)| i32::from(sc) * isum_i8(qw, qx))
            .sum();
        sumf += (bw.d.to_f32() * bx.d) * isum as f32;
    }
    sumf
}

/// f16 · f32 dot product: `Σ_i f32(w_i) · x_i` over `w.len() == x.len()` elements (common
/// prefix otherwise), in the float order ([`super::float::dot_lanes`]: `lane[i % 16] =
/// fma(f32(w_i), x_i, lane[i % 16])`, zero-padded, folded in halves).
pub fn dot_f16_f32(w: &[f16], x: &[f32]) -> f32 {
    super::float::dot_lanes(w, x)
}

/// f32 · f32 dot product: `Σ_i w_i · x_i` over `w.len() == x.len()` elements (common prefix
/// otherwise), in the float order ([`super::float::dot_lanes`]).
pub fn dot_f32_f32(w: &[f32], x: &[f32]) -> f32 {
    super::float::dot_lanes(w, x)
}
