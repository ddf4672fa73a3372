//! NEON row dot products of the K formats (Q4_K·Q8_K, Q5_K·Q8_K, Q6_K·Q8_K), **bit-exact** with
//! the scalar reference ([`crate::kernels::dot`]).
//!
//! # Math
//!
//! Per super-block of 256 (the reference's order, one f32 accumulator in super-block order):
//! - Q4_K / Q5_K: `isum = Σ_{j<8} sc_j · Σ_{l<32} q·x` and `summs = Σ_{j<8} m_j · (bsums_{2j} +
//!   bsums_{2j+1})`, both exact `i32`; `d = f32(d_w) · d_x`, `dmin = f32(dmin_w) · d_x`;
//!   `sumf = sumf + (d · f32(isum) − dmin · f32(summs))`.
//! - Q6_K: `isum = Σ_{j<16} sc_j · Σ_{l<16} (q − 32)·x`; `sumf = sumf + (f32(d_w) · d_x) · f32(isum)`.
//!
//! The float expression is evaluated in scalar f32 exactly as written (Rust never fuses), so only
//! the integer parts are vectorised, and integer sums are exact in any order.
//!
//! # Layout and scheme
//!
//! A weight super-block is first unpacked ([`KFormat::unpack`]) into 16 `int8x16_t` in element
//! order (Q4_K/Q5_K: vector `2j`, `2j + 1` = sub-block `j`; Q6_K: vector `j` = sub-block `j`,
//! values `q − 32`). Then each sub-block's partial sums come from [`IntDot`] (`sdot` or
//! `smull`/`smlal`), four sub-blocks fold into one vector of sums ([`hsum4`]), which is
//! multiplied by the widened sub-block scales (`mul` on `i32` lanes) and summed (`addv`). The
//! mins use the activation's `bsums`: pairwise widening add (`saddlp`) to 8 `i32` pair sums,
//! times the widened mins. The unpacked form is what [`super::gemm_k`] reuses across columns.
//!
//! # Tails
//!
//! None inside a row (whole super-blocks). Lengths: the common prefix of `w` and `x`.

use super::simd::*;
use crate::quant::*;
use core::arch::aarch64::*;

/// A K weight format: unpacking and the per-super-block term against a Q8_K block.
pub(super) trait KFormat {
    /// Weight super-block.
    type W: bytemuck::Pod;
    /// The 256 weight values in element order (see the module docs) plus the sub-block
    /// scales / mins decoded as the term needs them.
    ///
    /// # Safety
    /// The CPU must have NEON.
    unsafe fn unpack(w: &Self::W) -> Unpacked;
    /// The reference's float term of one super-block pair, from the unpacked weights.
    ///
    /// # Safety
    /// The CPU must have the instructions of `D` (and NEON).
    unsafe fn term<D: IntDot>(u: &Unpacked, w: &Self::W, x: &BlockQ8K) -> f32;
    /// Elements per sub-block (one scale each): 32 for Q4_K / Q5_K, 16 for Q6_K.
    const SUB: usize;
    /// The reference's float term from the super-block's exact `isum` (`Σ_j sc_j · Σ q·x`,
    /// with the values of [`Unpacked::q`]); the mins term, where the format has one, is taken
    /// here from the activation `bsums`, as in [`KFormat::term`].
    ///
    /// # Safety
    /// The CPU must have NEON.
    unsafe fn term_from_isum(isum: i32, u: &Unpacked, w: &Self::W, x: &BlockQ8K) -> f32;
}

/// An unpacked weight super-block: 256 signed values and 16 sub-scales (Q4_K/Q5_K: 8 scales in
/// `scales[..8]`, 8 mins in `scales[8..]`; Q6_K: 16 signed scales).
pub(super) struct Unpacked {
    /// Values in element order, 16 per vector.
    pub q: [int8x16_t; 16],
    /// Sub-block scales (and mins), widened to `i32` lanes, 4 per vector.
    pub scales: [int32x4_t; 4],
}

/// Q4_K / Q5_K scales and mins as [`Unpacked::scales`] (ggml's `get_scale_min_k4`): with the
/// 12 bytes `a0..a3 b0..b3 c0..c3`, scales `a_i & 63`, then `(c_i & 15) | (a_i >> 6) << 4`;
/// mins `b_i & 63`, then `(c_i >> 4) | (b_i >> 6) << 4`; computed four bytes at a time in `u32`
/// words.
///
/// # Safety
/// The CPU must have NEON.
#[inline(always)]
unsafe fn k4_scales(s: &[u8; K_SCALE_SIZE]) -> [int32x4_t; 4] {
    let word = |i: usize| u32::from_le_bytes([s[4 * i], s[4 * i + 1], s[4 * i + 2], s[4 * i + 3]]);
    let (a, b, c) = (word(0), word(1), word(2));
    const LOW6: u32 = 0x3F3F_3F3F;
    const LOW4: u32 = 0x0F0F_0F0F;
    const LOW2: u32 = 0x0303_0303;
    let sc_lo = a & LOW6;
    let sc_hi = (c & LOW4) | (((a >> 6) & LOW2) << 4);
    let m_lo = b & LOW6;
    let m_hi = ((c >> 4) & LOW4) | (((b >> 6) & LOW2) << 4);
    let lo = u64::from(sc_lo) | u64::from(sc_hi) << 32;
    let hi = u64::from(m_lo) | u64::from(m_hi) << 32;
    // SAFETY: register operations (NEON per the contract).
    unsafe {
        let v = vcombine_u8(vcreate_u8(lo), vcreate_u8(hi));
        let l = vmovl_u8(vget_low_u8(v));
        let h = vmovl_high_u8(v);
        [
            vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(l))),
            vreinterpretq_s32_u32(vmovl_high_u16(l)),
            vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(h))),
            vreinterpretq_s32_u32(vmovl_high_u16(h)),
        ]
    }
}

/// Unpacks Q4_K nibbles (and, with `qh`, Q5_K fifth bits) into element order: `qs` group `g`
/// (32 bytes) holds sub-block `2g` in its low and `2g + 1` in its high nibbles; the fifth bit
/// of element `l` of sub-block `2g` / `2g + 1` is bit `2g` / `2g + 1` of `qh[l]`.
///
/// # Safety
/// The CPU must have NEON.
#[inline(always)]
unsafe fn unpack_k4(qs: &[u8; QK_K / 2], qh: Option<&[u8; QK_K / 8]>) -> [int8x16_t; 16] {
    // SAFETY: every load reads inside `qs` (offsets 32g, 32g + 16 < 128) or `qh` (0, 16).
    unsafe {
        let m4 = vdupq_n_u8(0x0F);
        let mut q = [vdupq_n_s8(0); 16];
        let (mut h0, mut h1) = match qh {
            Some(h) => (vld1q_u8(h.as_ptr()), vld1q_u8(h.as_ptr().add(16))),
            None => (vdupq_n_u8(0), vdupq_n_u8(0)),
        };
        let one = vdupq_n_u8(1);
        let two = vdupq_n_u8(2);
        for (g, out) in q.chunks_exact_mut(4).enumerate() {
            let b0 = vld1q_u8(qs.as_ptr().add(32 * g));
            let b1 = vld1q_u8(qs.as_ptr().add(32 * g + 16));
            let mut v = [
                vandq_u8(b0, m4),
                vandq_u8(b1, m4),
                vshrq_n_u8::<4>(b0),
                vshrq_n_u8::<4>(b1),
            ];
            if qh.is_some() {
                v[0] = vorrq_u8(v[0], vshlq_n_u8::<4>(vandq_u8(h0, one)));
                v[1] = vorrq_u8(v[1], vshlq_n_u8::<4>(vandq_u8(h1, one)));
                v[2] = vorrq_u8(v[2], vshlq_n_u8::<3>(vandq_u8(h0, two)));
                v[3] = vorrq_u8(v[3], vshlq_n_u8::<3>(vandq_u8(h1, two)));
                h0 = vshrq_n_u8::<2>(h0);
                h1 = vshrq_n_u8::<2>(h1);
            }
            for (o, v) in out.iter_mut().zip(v) {
                *o = vreinterpretq_s8_u8(v);
            }
        }
        q
    }
}

/// `Σ_j scale_j · Σ q·x` over the 8 sub-blocks of 32 of an unpacked Q4_K / Q5_K super-block.
///
/// # Safety
/// The CPU must have the instructions of `D` (and NEON).
#[inline(always)]
unsafe fn isum_k4<D: IntDot>(u: &Unpacked, x: &BlockQ8K) -> i32 {
    let p = x.qs.as_ptr();
    // SAFETY: reads of `x.qs` at offsets 32j, 32j + 16 < 256; register operations.
    unsafe {
        let mut s = [vdupq_n_s32(0); 8];
        for (j, s) in s.iter_mut().enumerate() {
            let x0 = vld1q_s8(p.add(32 * j));
            let x1 = vld1q_s8(p.add(32 * j + 16));
            *s = D::dot32_small(u.q[2 * j], u.q[2 * j + 1], x0, x1);
        }
        let lo = vmulq_s32(hsum4(s[0], s[1], s[2], s[3]), u.scales[0]);
        let hi = vmlaq_s32(lo, hsum4(s[4], s[5], s[6], s[7]), u.scales[1]);
        vaddvq_s32(hi)
    }
}

/// `Σ_j m_j · (bsums_{2j} + bsums_{2j+1})` (exact: pair sums widened to `i32` first).
///
/// # Safety
/// The CPU must have NEON.
#[inline(always)]
unsafe fn summs_k4(u: &Unpacked, x: &BlockQ8K) -> i32 {
    // SAFETY: 16 readable i16 at `x.bsums`; register operations.
    unsafe {
        let b0 = vpaddlq_s16(vld1q_s16(x.bsums.as_ptr()));
        let b1 = vpaddlq_s16(vld1q_s16(x.bsums.as_ptr().add(8)));
        vaddvq_s32(vmlaq_s32(vmulq_s32(b0, u.scales[2]), b1, u.scales[3]))
    }
}

/// Q4_K · Q8_K.
pub(super) struct Q4K;
impl KFormat for Q4K {
    type W = BlockQ4K;
    #[inline(always)]
    unsafe fn unpack(w: &BlockQ4K) -> Unpacked {
        // SAFETY: forwarded contract (NEON).
        unsafe {
            Unpacked {
                q: unpack_k4(&w.qs, None),
                scales: k4_scales(&w.scales),
            }
        }
    }
    #[inline(always)]
    unsafe fn term<D: IntDot>(u: &Unpacked, w: &BlockQ4K, x: &BlockQ8K) -> f32 {
        // SAFETY: forwarded contract.
        let (isum, summs) = unsafe { (isum_k4::<D>(u, x), summs_k4(u, x)) };
        let d = f16_to_f32(w.d) * x.d;
        let dmin = f16_to_f32(w.dmin) * x.d;
        d * isum as f32 - dmin * summs as f32
    }
    const SUB: usize = 32;
    #[inline(always)]
    unsafe fn term_from_isum(isum: i32, u: &Unpacked, w: &BlockQ4K, x: &BlockQ8K) -> f32 {
        // SAFETY: forwarded contract (NEON).
        let summs = unsafe { summs_k4(u, x) };
        let d = f16_to_f32(w.d) * x.d;
        let dmin = f16_to_f32(w.dmin) * x.d;
        d * isum as f32 - dmin * summs as f32
    }
}

/// Q5_K · Q8_K.
pub(super) struct Q5K;
impl KFormat for Q5K {
    type W = BlockQ5K;
    #[inline(always)]
    unsafe fn unpack(w: &BlockQ5K) -> Unpacked {
        // SAFETY: forwarded contract (NEON).
        unsafe {
            Unpacked {
                q: unpack_k4(&w.qs, Some(&w.qh)),
                scales: k4_scales(&w.scales),
            }
        }
    }
    #[inline(always)]
    unsafe fn term<D: IntDot>(u: &Unpacked, w: &BlockQ5K, x: &BlockQ8K) -> f32 {
        // SAFETY: forwarded contract.
        let (isum, summs) = unsafe { (isum_k4::<D>(u, x), summs_k4(u, x)) };
        let d = f16_to_f32(w.d) * x.d;
        let dmin = f16_to_f32(w.dmin) * x.d;
        d * isum as f32 - dmin * summs as f32
    }
    const SUB: usize = 32;
    #[inline(always)]
    unsafe fn term_from_isum(isum: i32, u: &Unpacked, w: &BlockQ5K, x: &BlockQ8K) -> f32 {
        // SAFETY: forwarded contract (NEON).
        let summs = unsafe { summs_k4(u, x) };
        let d = f16_to_f32(w.d) * x.d;
        let dmin = f16_to_f32(w.dmin) * x.d;
        d * isum as f32 - dmin * summs as f32
    }
}

/// Q6_K · Q8_K.
pub(super) struct Q6K;
impl KFormat for Q6K {
    type W = BlockQ6K;
    #[inline(always)]
    unsafe fn unpack(w: &BlockQ6K) -> Unpacked {
        // SAFETY: loads read `ql` at 64h + {0, 16, 32, 48} (< 128), `qh` at 32h + {0, 16}
        // (< 64) and the 16 scales; register operations otherwise.
        unsafe {
            let m6 = vdupq_n_u8(0x3F);
            let m2 = vdupq_n_u8(0x30);
            let off = vdupq_n_s8(32);
            let mut q = [vdupq_n_s8(0); 16];
            for (h, half) in q.chunks_exact_mut(8).enumerate() {
                for c in 0..2 {
                    let ql_a = vld1q_u8(w.ql.as_ptr().add(64 * h + 16 * c));
                    let ql_b = vld1q_u8(w.ql.as_ptr().add(64 * h + 32 + 16 * c));
                    let qh = vld1q_u8(w.qh.as_ptr().add(32 * h + 16 * c));
                    // Shift-and-insert: `sli` keeps the destination's low bits, `sri` its
                    // high bits.
                    let qh2 = vshrq_n_u8::<2>(qh);
                    let e = [
                        // (ql_a & 15) | (qh & 3) << 4
                        vandq_u8(vsliq_n_u8::<4>(ql_a, qh), m6),
                        // (ql_b & 15) | (qh >> 2 & 3) << 4
                        vandq_u8(vsliq_n_u8::<4>(ql_b, qh2), m6),
                        // ql_a >> 4 | (qh >> 4 & 3) << 4
                        vsriq_n_u8::<4>(vandq_u8(qh, m2), ql_a),
                        // ql_b >> 4 | (qh >> 6) << 4
                        vsriq_n_u8::<4>(vandq_u8(qh2, m2), ql_b),
                    ];
                    for (r, e) in e.into_iter().enumerate() {
                        if let Some(o) = half.get_mut(2 * r + c) {
                            *o = vsubq_s8(vreinterpretq_s8_u8(e), off);
                        }
                    }
                }
            }
            let sc = vld1q_s8(w.scales.as_ptr());
            let lo = vmovl_s8(vget_low_s8(sc));
            let hi = vmovl_high_s8(sc);
            Unpacked {
                q,
                scales: [
                    vmovl_s16(vget_low_s16(lo)),
                    vmovl_high_s16(lo),
                    vmovl_s16(vget_low_s16(hi)),
                    vmovl_high_s16(hi),
                ],
            }
        }
    }
    #[inline(always)]
    unsafe fn term<D: IntDot>(u: &Unpacked, w: &BlockQ6K, x: &BlockQ8K) -> f32 {
        let p = x.qs.as_ptr();
        // SAFETY: reads of `x.qs` at offsets 16j < 256; register operations.
        let isum = unsafe {
            let mut s = [vdupq_n_s32(0); 16];
            for (j, s) in s.iter_mut().enumerate() {
                *s = D::dot16_small(u.q[j], vld1q_s8(p.add(16 * j)));
            }
            let mut acc = vmulq_s32(hsum4(s[0], s[1], s[2], s[3]), u.scales[0]);
            acc = vmlaq_s32(acc, hsum4(s[4], s[5], s[6], s[7]), u.scales[1]);
            acc = vmlaq_s32(acc, hsum4(s[8], s[9], s[10], s[11]), u.scales[2]);
            acc = vmlaq_s32(acc, hsum4(s[12], s[13], s[14], s[15]), u.scales[3]);
            vaddvq_s32(acc)
        };
        (f16_to_f32(w.d) * x.d) * isum as f32
    }
    const SUB: usize = 16;
    #[inline(always)]
    unsafe fn term_from_isum(isum: i32, _u: &Unpacked, w: &BlockQ6K, x: &BlockQ8K) -> f32 {
        (f16_to_f32(w.d) * x.d) * isum as f32
    }
}

/// The row dot product of a K format (module docs).
///
/// # Safety
/// The CPU must have the instructions of `D` (and NEON).
#[inline(always)]
pub(super) unsafe fn dot_k<F: KFormat, D: IntDot>(w: &[F::W], x: &[BlockQ8K]) -> f32 {
    let mut sumf = 0.0f32;
    for (bw, bx) in w.iter().zip(x) {
        // SAFETY: forwarded contract.
        sumf += unsafe { F::term::<D>(&F::unpack(bw), bw, bx) };
    }
    sumf
}

/// Defines, per format, a module with the table entries `neon` and `dotprod` (safe wrappers)
/// over `#[target_feature]` bodies running [`dot_k`].
macro_rules! dot_k_entries {
    ($($name:ident: $fmt:ty, $w:ty;)+) => {$(
        pub(super) mod $name {
            use super::*;

            /// Baseline NEON entry.
            pub(in super::super) fn neon(w: &[$w], x: &[BlockQ8K]) -> f32 {
                // SAFETY: reachable only through `kernels(tier)`, whose caller checked NEON.
                unsafe { neon_body(w, x) }
            }

            /// NEON + dotprod entry.
            pub(in super::super) fn dotprod(w: &[$w], x: &[BlockQ8K]) -> f32 {
                // SAFETY: reachable only through `kernels(NeonDotprod | NeonI8mm)`, whose
                // caller checked NEON and dotprod.
                unsafe { dotprod_body(w, x) }
            }

            /// The `#[target_feature]` body of the entry above.
            ///
            /// # Safety
            /// The CPU must implement NEON.
            #[target_feature(enable = "neon")]
            unsafe fn neon_body(w: &[$w], x: &[BlockQ8K]) -> f32 {
                // SAFETY: NEON enabled and guaranteed by the caller.
                unsafe { dot_k::<$fmt, Mull>(w, x) }
            }

            /// The `#[target_feature]` body of the entry above.
            ///
            /// # Safety
            /// The CPU must implement NEON and dotprod.
            #[target_feature(enable = "neon,dotprod")]
            unsafe fn dotprod_body(w: &[$w], x: &[BlockQ8K]) -> f32 {
                // SAFETY: NEON + dotprod enabled and guaranteed by the caller.
                unsafe { dot_k::<$fmt, Sdot>(w, x) }
            }
        }
    )+};
}

dot_k_entries! {
    q4_k_q8_k: Q4K, BlockQ4K;
    q5_k_q8_k: Q5K, BlockQ5K;
    q6_k_q8_k: Q6K, BlockQ6K;
}
