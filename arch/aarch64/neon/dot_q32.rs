//! NEON row dot products of the 32-element formats (Q4_0·Q8_0, Q4_1·Q8_1, Q5_0·Q8_0,
//! Q8_0·Q8_0), **bit-exact** with the scalar reference ([`crate::kernels::dot`]).
//!
//! # Math
//!
//! Per block `b`: an exact integer sum `isum_b = Σ_{j<32} w_j · x_j` of the signed weight
//! values (`q − 8`, `q − 16`, `q` or the raw nibble for Q4_1) and the activation bytes, then the
//! term `(d_w · d_x) · f32(isum_b)` (Q4_1: `+ m_w · s_x`), every operation a separately rounded
//! f32 multiply or add — `fmul` / `fadd`, never `fmla`.
//!
//! # Layout and scheme
//!
//! A block unpacks to two `int8x16_t` (elements 0–15 and 16–31; for the nibble formats the low
//! nibbles of `qs` are elements 0–15 and the high nibbles 16–31). Eight blocks per iteration:
//! - integer: one `int32x4_t` of partial sums per block ([`IntDot`]: two `sdot`s for the dotprod
//!   tiers, `smull`/`smlal` + `saddlp` for baseline NEON), folded into one vector of block sums
//!   per four blocks with two `addp` ([`hsum4`]);
//! - float: the 8 scale products (f16 scales converted with `fcvtl`; a product of two f16 values
//!   is exact in f32) times the converted sums, added to two `float32x4_t` accumulators: block
//!   `b` lands in lane `b % 8` (lanes 0–3 in `lo`, 4–7 in `hi`), which is the reference's
//!   8-accumulator order; the final fold is the reference's `reduce_lanes` ([`reduce_lanes`]).
//!
//! # Tails
//!
//! The last `n % 8` blocks are copied into zeroed 8-block arrays: a zero block pair has integer
//! sum 0 and scale 0, so its term is `+0.0`, which never changes an accumulator (they start at
//! `+0.0` and can never become `−0.0`). Lengths: the common prefix of `w` and `x`.

use super::simd::*;
use crate::quant::*;
use core::arch::aarch64::*;

/// A 32-element weight format paired with its activation format.
pub(super) trait Q32 {
    /// Weight block.
    type W: bytemuck::Pod;
    /// Activation block.
    type X: bytemuck::Pod;
    /// `|w| ≤ 32` for every unpacked weight value (permits [`IntDot::dot32_small`]).
    const SMALL: bool;
    /// Whether the term has the `m_w · s_x` part (Q4_1).
    const HAS_MIN: bool;
    /// The 32 signed weight values (elements 0–15, 16–31).
    ///
    /// # Safety
    /// The CPU must have NEON.
    unsafe fn weights(w: &Self::W) -> (int8x16_t, int8x16_t);
    /// The weight values are `raw − OFFSET` ([`Q32::weights_raw`]); 0 when `weights_raw` is
    /// `weights`. A tile that shares one activation block between several rows subtracts
    /// `OFFSET · Σx` once instead of `OFFSET` from every row's bytes.
    const OFFSET: i8 = 0;
    /// The 32 weight values plus `OFFSET`, each `≤ 32` in magnitude when [`Q32::SMALL`].
    ///
    /// # Safety
    /// The CPU must have NEON.
    #[inline(always)]
    unsafe fn weights_raw(w: &Self::W) -> (int8x16_t, int8x16_t) {
        // SAFETY: forwarded contract.
        unsafe { Self::weights(w) }
    }
    /// Scale bits of a weight block (f16).
    fn d_w(w: &Self::W) -> &u16;
    /// Min bits of a weight block (f16; Q4_1 only).
    fn m_w(_w: &Self::W) -> &u16 {
        &0
    }
    /// The 32 activation bytes.
    ///
    /// # Safety
    /// The CPU must have NEON.
    unsafe fn acts(x: &Self::X) -> (int8x16_t, int8x16_t);
    /// Scale bits of an activation block (f16).
    fn d_x(x: &Self::X) -> &u16;
    /// `s = d · Σq` bits of an activation block (f16; Q8_1 only).
    fn s_x(_x: &Self::X) -> &u16 {
        &0
    }
}

/// Low and high nibbles of 16 bytes as two byte vectors (elements 0–15, 16–31).
///
/// # Safety
/// The CPU must have NEON.
#[inline(always)]
unsafe fn nibbles(qs: &[u8; 16]) -> (uint8x16_t, uint8x16_t) {
    // SAFETY: 16 readable bytes at `qs`; NEON per the contract.
    unsafe {
        let b = vld1q_u8(qs.as_ptr());
        (vandq_u8(b, vdupq_n_u8(0x0F)), vshrq_n_u8::<4>(b))
    }
}

/// The two 16-byte halves of 32 activation bytes.
///
/// # Safety
/// The CPU must have NEON.
#[inline(always)]
unsafe fn load_i8x32(qs: &[i8; 32]) -> (int8x16_t, int8x16_t) {
    // SAFETY: 32 readable bytes at `qs`.
    unsafe { (vld1q_s8(qs.as_ptr()), vld1q_s8(qs.as_ptr().add(16))) }
}

/// Q4_0 · Q8_0.
pub(super) struct Q4_0;
impl Q32 for Q4_0 {
    type W = BlockQ4_0;
    type X = BlockQ8_0;
    const SMALL: bool = true;
    const HAS_MIN: bool = false;
    #[inline(always)]
    unsafe fn weights(w: &BlockQ4_0) -> (int8x16_t, int8x16_t) {
        // SAFETY: NEON per the contract.
        unsafe {
            let (lo, hi) = nibbles(&w.qs);
            let eight = vdupq_n_s8(8);
            (
                vsubq_s8(vreinterpretq_s8_u8(lo), eight),
                vsubq_s8(vreinterpretq_s8_u8(hi), eight),
            )
        }
    }
    const OFFSET: i8 = 8;
    #[inline(always)]
    unsafe fn weights_raw(w: &BlockQ4_0) -> (int8x16_t, int8x16_t) {
        // SAFETY: NEON per the contract.
        unsafe {
            let (lo, hi) = nibbles(&w.qs);
            (vreinterpretq_s8_u8(lo), vreinterpretq_s8_u8(hi))
        }
    }
    fn d_w(w: &BlockQ4_0) -> &u16 {
        bytemuck::cast_ref(&w.d)
    }
    #[inline(always)]
    unsafe fn acts(x: &BlockQ8_0) -> (int8x16_t, int8x16_t) {
        // SAFETY: NEON per the contract.
        unsafe { load_i8x32(&x.qs) }
    }
    fn d_x(x: &BlockQ8_0) -> &u16 {
        bytemuck::cast_ref(&x.d)
    }
}

/// Q4_1 · Q8_1.
pub(super) struct Q4_1;
impl Q32 for Q4_1 {
    type W = BlockQ4_1;
    type X = BlockQ8_1;
    const SMALL: bool = true;
    const HAS_MIN: bool = true;
    #[inline(always)]
    unsafe fn weights(w: &BlockQ4_1) -> (int8x16_t, int8x16_t) {
        // SAFETY: NEON per the contract.
        unsafe {
            let (lo, hi) = nibbles(&w.qs);
            (vreinterpretq_s8_u8(lo), vreinterpretq_s8_u8(hi))
        }
    }
    fn d_w(w: &BlockQ4_1) -> &u16 {
        bytemuck::cast_ref(&w.d)
    }
    fn m_w(w: &BlockQ4_1) -> &u16 {
        bytemuck::cast_ref(&w.m)
    }
    #[inline(always)]
    unsafe fn acts(x: &BlockQ8_1) -> (int8x16_t, int8x16_t) {
        // SAFETY: NEON per the contract.
        unsafe { load_i8x32(&x.qs) }
    }
    fn d_x(x: &BlockQ8_1) -> &u16 {
        bytemuck::cast_ref(&x.d)
    }
    fn s_x(x: &BlockQ8_1) -> &u16 {
        bytemuck::cast_ref(&x.s)
    }
}

/// Q5_0 · Q8_0.
pub(super) struct Q5_0;
impl Q32 for Q5_0 {
    type W = BlockQ5_0;
    type X = BlockQ8_0;
    const SMALL: bool = true;
    const HAS_MIN: bool = false;
    #[inline(always)]
    unsafe fn weights(w: &BlockQ5_0) -> (int8x16_t, int8x16_t) {
        let [b0, b1, b2, b3] = w.qh;
        // SAFETY: NEON per the contract.
        unsafe {
            let (lo, hi) = nibbles(&w.qs);
            // Lane j of `h_lo` / `h_hi` holds the qh byte of element j / j + 16; `tst` with the
            // per-lane bit selects element j's fifth bit. value = nibble − (bit ? 0 : 16).
            let bit = vcombine_u8(
                vcreate_u8(0x8040_2010_0804_0201),
                vcreate_u8(0x8040_2010_0804_0201),
            );
            let h_lo = vcombine_u8(vdup_n_u8(b0), vdup_n_u8(b1));
            let h_hi = vcombine_u8(vdup_n_u8(b2), vdup_n_u8(b3));
            let sixteen = vdupq_n_u8(16);
            let off_lo = vbicq_u8(sixteen, vtstq_u8(h_lo, bit));
            let off_hi = vbicq_u8(sixteen, vtstq_u8(h_hi, bit));
            (
                vsubq_s8(vreinterpretq_s8_u8(lo), vreinterpretq_s8_u8(off_lo)),
                vsubq_s8(vreinterpretq_s8_u8(hi), vreinterpretq_s8_u8(off_hi)),
            )
        }
    }
    fn d_w(w: &BlockQ5_0) -> &u16 {
        bytemuck::cast_ref(&w.d)
    }
    #[inline(always)]
    unsafe fn acts(x: &BlockQ8_0) -> (int8x16_t, int8x16_t) {
        // SAFETY: NEON per the contract.
        unsafe { load_i8x32(&x.qs) }
    }
    fn d_x(x: &BlockQ8_0) -> &u16 {
        bytemuck::cast_ref(&x.d)
    }
}

/// Q8_0 · Q8_0.
pub(super) struct Q8_0;
impl Q32 for Q8_0 {
    type W = BlockQ8_0;
    type X = BlockQ8_0;
    const SMALL: bool = false;
    const HAS_MIN: bool = false;
    #[inline(always)]
    unsafe fn weights(w: &BlockQ8_0) -> (int8x16_t, int8x16_t) {
        // SAFETY: NEON per the contract.
        unsafe { load_i8x32(&w.qs) }
    }
    fn d_w(w: &BlockQ8_0) -> &u16 {
        bytemuck::cast_ref(&w.d)
    }
    #[inline(always)]
    unsafe fn acts(x: &BlockQ8_0) -> (int8x16_t, int8x16_t) {
        // SAFETY: NEON per the contract.
        unsafe { load_i8x32(&x.qs) }
    }
    fn d_x(x: &BlockQ8_0) -> &u16 {
        bytemuck::cast_ref(&x.d)
    }
}

/// Partial integer sums of one block pair.
///
/// # Safety
/// The CPU must have the instructions of `D` (and NEON).
#[inline(always)]
pub(super) unsafe fn block_isum<F: Q32, D: IntDot>(w: &F::W, x: &F::X) -> int32x4_t {
    // SAFETY: forwarded contract.
    unsafe {
        let (w0, w1) = F::weights(w);
        let (x0, x1) = F::acts(x);
        if F::SMALL {
            D::dot32_small(w0, w1, x0, x1)
        } else {
            D::dot32(w0, w1, x0, x1)
        }
    }
}

/// Adds the terms of 8 consecutive blocks (starting at a multiple of 8) to `lo` / `hi`.
///
/// # Safety
/// The CPU must have the instructions of `D` (and NEON).
#[inline(always)]
unsafe fn eight_blocks<F: Q32, D: IntDot>(
    w: &[F::W; 8],
    x: &[F::X; 8],
    lo: float32x4_t,
    hi: float32x4_t,
) -> (float32x4_t, float32x4_t) {
    // SAFETY: forwarded contract; all operations are register-only or read `w` / `x`.
    unsafe {
        // (A loop, not a closure: `sdot` must be inlined into a `dotprod` body.)
        let mut s = [vdupq_n_s32(0); 8];
        for ((s, w), x) in s.iter_mut().zip(w).zip(x) {
            *s = block_isum::<F, D>(w, x);
        }
        let i_lo = vcvtq_f32_s32(hsum4(s[0], s[1], s[2], s[3]));
        let i_hi = vcvtq_f32_s32(hsum4(s[4], s[5], s[6], s[7]));
        let (dw_lo, dw_hi) = f16x8_bits_to_f32(&core::array::from_fn(|j| *F::d_w(&w[j])));
        let (dx_lo, dx_hi) = f16x8_bits_to_f32(&core::array::from_fn(|j| *F::d_x(&x[j])));
        let mut t_lo = vmulq_f32(vmulq_f32(dw_lo, dx_lo), i_lo);
        let mut t_hi = vmulq_f32(vmulq_f32(dw_hi, dx_hi), i_hi);
        if F::HAS_MIN {
            let (mw_lo, mw_hi) = f16x8_bits_to_f32(&core::array::from_fn(|j| *F::m_w(&w[j])));
            let (sx_lo, sx_hi) = f16x8_bits_to_f32(&core::array::from_fn(|j| *F::s_x(&x[j])));
            t_lo = vaddq_f32(t_lo, vmulq_f32(mw_lo, sx_lo));
            t_hi = vaddq_f32(t_hi, vmulq_f32(mw_hi, sx_hi));
        }
        (vaddq_f32(lo, t_lo), vaddq_f32(hi, t_hi))
    }
}

/// Copies up to 8 blocks into a zeroed 8-block array (the tail of a row).
#[inline(always)]
pub(super) fn padded8<T: bytemuck::Pod>(src: &[T]) -> [T; 8] {
    let mut a = [T::zeroed(); 8];
    for (d, s) in a.iter_mut().zip(src) {
        *d = *s;
    }
    a
}

/// The row dot product of a 32-element format (module docs).
///
/// # Safety
/// The CPU must have the instructions of `D` (and NEON).
#[inline(always)]
pub(super) unsafe fn dot_q32<F: Q32, D: IntDot>(w: &[F::W], x: &[F::X]) -> f32 {
    let n = w.len().min(x.len());
    let (w, x) = (w.get(..n).unwrap_or(&[]), x.get(..n).unwrap_or(&[]));
    let (wc, xc) = (w.chunks_exact(8), x.chunks_exact(8));
    let (w_tail, x_tail) = (wc.remainder(), xc.remainder());
    // SAFETY: forwarded contract (register operations and reads of the slices).
    unsafe {
        let (mut lo, mut hi) = (vdupq_n_f32(0.0), vdupq_n_f32(0.0));
        for (w8, x8) in wc.zip(xc) {
            if let (Ok(w8), Ok(x8)) = (<&[F::W; 8]>::try_from(w8), <&[F::X; 8]>::try_from(x8)) {
                (lo, hi) = eight_blocks::<F, D>(w8, x8, lo, hi);
            }
        }
        if !w_tail.is_empty() {
            (lo, hi) = eight_blocks::<F, D>(&padded8(w_tail), &padded8(x_tail), lo, hi);
        }
        reduce_lanes(lo, hi)
    }
}

/// Defines, per format, a module with the table entries `neon` and `dotprod` (safe wrappers)
/// over `#[target_feature]` bodies running [`dot_q32`].
macro_rules! dot_q32_entries {
    ($($name:ident: $fmt:ty, $w:ty, $x:ty;)+) => {$(
        pub(super) mod $name {
            use super::*;

            /// Baseline NEON entry.
            pub(in super::super) fn neon(w: &[$w], x: &[$x]) -> f32 {
                // SAFETY: reachable only through `kernels(tier)`, whose caller checked NEON.
                unsafe { neon_body(w, x) }
            }

            /// NEON + dotprod entry.
            pub(in super::super) fn dotprod(w: &[$w], x: &[$x]) -> f32 {
                // SAFETY: reachable only through `kernels(NeonDotprod | NeonI8mm)`, whose
                // caller checked NEON and dotprod.
                unsafe { dotprod_body(w, x) }
            }

            /// The `#[target_feature]` body of the entry above.
            ///
            /// # Safety
            /// The CPU must implement NEON.
            #[target_feature(enable = "neon")]
            unsafe fn neon_body(w: &[$w], x: &[$x]) -> f32 {
                // SAFETY: NEON enabled and guaranteed by the caller.
                unsafe { dot_q32::<$fmt, Mull>(w, x) }
            }

            /// The `#[target_feature]` body of the entry above.
            ///
            /// # Safety
            /// The CPU must implement NEON and dotprod.
            #[target_feature(enable = "neon,dotprod")]
            unsafe fn dotprod_body(w: &[$w], x: &[$x]) -> f32 {
                // SAFETY: NEON + dotprod enabled and guaranteed by the caller.
                unsafe { dot_q32::<$fmt, Sdot>(w, x) }
            }
        }
    )+};
}

dot_q32_entries! {
    q4_0_q8_0: Q4_0, BlockQ4_0, BlockQ8_0;
    q4_1_q8_1: Q4_1, BlockQ4_1, BlockQ8_1;
    q5_0_q8_0: Q5_0, BlockQ5_0, BlockQ8_0;
    q8_0_q8_0: Q8_0, BlockQ8_0, BlockQ8_0;
}
