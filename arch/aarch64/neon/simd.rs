//! Shared NEON primitives of the three NEON tiers: integer block sums, `sdot` / `smmla` and
//! `f16 → f32` conversions.
//!
//! # Why `asm!`
//!
//! On stable Rust (1.89 … 1.95) the `vdotq_s32`, `vmmlaq_s32` and `float16x4_t` intrinsics are
//! still unstable (`stdarch_neon_dotprod`, `stdarch_neon_i8mm`, `stdarch_neon_f16`), so `sdot`,
//! `smmla` and `fcvtl` are emitted with `asm!` (`pure, nomem, nostack, preserves_flags`). LLVM
//! assembles inline asm with the features of the function it ends up in, so an `sdot` inlined
//! into a baseline-NEON body is a compile error ("instruction requires: dotprod"): the baseline
//! tier cannot execute dotprod / i8mm instructions by accident.
//!
//! # Integer block sums
//!
//! [`IntDot`] abstracts "dot product of signed bytes into an `int32x4_t` of partial sums" over
//! the two strategies: [`Mull`] (baseline: `smull` / `smull2` to `i16`, pairwise-widening adds
//! `sadalp` to `i32`) and [`Sdot`] (`sdot`, 4 products per `i32` lane). The lanes hold partial
//! sums whose distribution differs between strategies; only their total (an exact integer) is
//! ever used. `_small` variants may add products in `i16` first: callers guarantee
//! `|w| ≤ 32`, so a lane sums at most 4 products of magnitude ≤ 32 · 128 (≤ 16384, no overflow).
//!
//! All helpers are `#[inline(always)]` without `#[target_feature]`: they are inlined into the
//! `#[target_feature]` kernel bodies and take those bodies' features.

use core::arch::aarch64::*;
use core::arch::asm;

/// Signed-byte dot products into `i32` partial sums.
pub(super) trait IntDot {
    /// Partial sums of `Σ w_i · x_i` over 32 bytes (`w = (w0, w1)`, `x = (x0, x1)`), any values.
    ///
    /// # Safety
    /// The CPU must have the instructions of the implementation (NEON, + dotprod for [`Sdot`]).
    unsafe fn dot32(w0: int8x16_t, w1: int8x16_t, x0: int8x16_t, x1: int8x16_t) -> int32x4_t;
    /// As [`IntDot::dot32`], for `|w_i| ≤ 32`.
    ///
    /// # Safety
    /// As [`IntDot::dot32`].
    unsafe fn dot32_small(w0: int8x16_t, w1: int8x16_t, x0: int8x16_t, x1: int8x16_t) -> int32x4_t;
    /// Partial sums of `Σ w_i · x_i` over 16 bytes, for `|w_i| ≤ 32`.
    ///
    /// # Safety
    /// As [`IntDot::dot32`].
    unsafe fn dot16_small(w: int8x16_t, x: int8x16_t) -> int32x4_t;
    /// `acc` plus the partial sums of [`IntDot::dot32_small`] (the lanes' split of the sum is
    /// the implementation's; only the total of all lanes is defined).
    ///
    /// # Safety
    /// As [`IntDot::dot32`].
    unsafe fn dot32_small_acc(
        acc: int32x4_t,
        w0: int8x16_t,
        w1: int8x16_t,
        x0: int8x16_t,
        x1: int8x16_t,
    ) -> int32x4_t;
}

/// Baseline NEON: widening multiplies (`smull`, `smull2`) and pairwise widening adds.
pub(super) struct Mull;

impl IntDot for Mull {
    #[inline(always)]
    unsafe fn dot32(w0: int8x16_t, w1: int8x16_t, x0: int8x16_t, x1: int8x16_t) -> int32x4_t {
        // SAFETY: baseline NEON intrinsics on registers; the caller's body enables NEON.
        unsafe {
            // Each `i16` product is exact (|p| ≤ 16384); sums are widened to `i32` first.
            let p0 = vmull_s8(vget_low_s8(w0), vget_low_s8(x0));
            let p1 = vmull_high_s8(w0, x0);
            let p2 = vmull_s8(vget_low_s8(w1), vget_low_s8(x1));
            let p3 = vmull_high_s8(w1, x1);
            let s = vpaddlq_s16(p0);
            let s = vpadalq_s16(s, p1);
            let s = vpadalq_s16(s, p2);
            vpadalq_s16(s, p3)
        }
    }

    #[inline(always)]
    unsafe fn dot32_small(w0: int8x16_t, w1: int8x16_t, x0: int8x16_t, x1: int8x16_t) -> int32x4_t {
        // SAFETY: forwarded contract.
        unsafe { vpaddlq_s16(mull_small_i16(w0, w1, x0, x1)) }
    }

    #[inline(always)]
    unsafe fn dot16_small(w: int8x16_t, x: int8x16_t) -> int32x4_t {
        // SAFETY: baseline NEON intrinsics on registers; the caller's body enables NEON.
        unsafe {
            let s = vmull_s8(vget_low_s8(w), vget_low_s8(x));
            vpaddlq_s16(vmlal_high_s8(s, w, x))
        }
    }

    #[inline(always)]
    unsafe fn dot32_small_acc(
        acc: int32x4_t,
        w0: int8x16_t,
        w1: int8x16_t,
        x0: int8x16_t,
        x1: int8x16_t,
    ) -> int32x4_t {
        // SAFETY: forwarded contract.
        unsafe { vpadalq_s16(acc, mull_small_i16(w0, w1, x0, x1)) }
    }
}

/// `Σ w_i · x_i` over 32 bytes in 8 `i16` lanes (4 products each), for `|w_i| ≤ 32`: each lane
/// stays below 4 · 32 · 128 = 16384.
///
/// # Safety
/// The CPU must have NEON.
#[inline(always)]
unsafe fn mull_small_i16(w0: int8x16_t, w1: int8x16_t, x0: int8x16_t, x1: int8x16_t) -> int16x8_t {
    // SAFETY: baseline NEON intrinsics on registers; the caller's body enables NEON.
    unsafe {
        let s = vmull_s8(vget_low_s8(w0), vget_low_s8(x0));
        let s = vmlal_high_s8(s, w0, x0);
        let s = vmlal_s8(s, vget_low_s8(w1), vget_low_s8(x1));
        vmlal_high_s8(s, w1, x1)
    }
}

/// NEON + dotprod: `sdot` (4 byte products per `i32` lane).
pub(super) struct Sdot;

impl IntDot for Sdot {
    #[inline(always)]
    unsafe fn dot32(w0: int8x16_t, w1: int8x16_t, x0: int8x16_t, x1: int8x16_t) -> int32x4_t {
        // SAFETY: forwarded contract: the CPU has dotprod.
        unsafe { sdot(sdot(vdupq_n_s32(0), w0, x0), w1, x1) }
    }

    #[inline(always)]
    unsafe fn dot32_small(w0: int8x16_t, w1: int8x16_t, x0: int8x16_t, x1: int8x16_t) -> int32x4_t {
        // SAFETY: forwarded contract: the CPU has dotprod.
        unsafe { Self::dot32(w0, w1, x0, x1) }
    }

    #[inline(always)]
    unsafe fn dot16_small(w: int8x16_t, x: int8x16_t) -> int32x4_t {
        // SAFETY: forwarded contract: the CPU has dotprod.
        unsafe { sdot(vdupq_n_s32(0), w, x) }
    }

    #[inline(always)]
    unsafe fn dot32_small_acc(
        acc: int32x4_t,
        w0: int8x16_t,
        w1: int8x16_t,
        x0: int8x16_t,
        x1: int8x16_t,
    ) -> int32x4_t {
        // SAFETY: forwarded contract: the CPU has dotprod.
        unsafe { sdot(sdot(acc, w0, x0), w1, x1) }
    }
}

/// `sdot acc.4s, a.16b, b.16b`: lane `i` of `acc` gains `Σ_{k<4} a[4i+k] · b[4i+k]`.
///
/// # Safety
/// The CPU must implement FEAT_DotProd (and the caller's body must enable `dotprod`, or the
/// assembler rejects the instruction).
#[inline(always)]
pub(super) unsafe fn sdot(mut acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
    // SAFETY: register-only instruction; the caller guarantees dotprod.
    unsafe {
        asm!(
            "sdot {acc:v}.4s, {a:v}.16b, {b:v}.16b",
            acc = inout(vreg) acc,
            a = in(vreg) a,
            b = in(vreg) b,
            options(pure, nomem, nostack, preserves_flags)
        );
    }
    acc
}

/// `smmla acc.4s, a.16b, b.16b`: with `a` = rows `[a0; a1]` and `b` = columns `[b0; b1]`
/// (8 bytes each), `acc += [a0·b0, a0·b1, a1·b0, a1·b1]`.
///
/// # Safety
/// The CPU must implement FEAT_I8MM (and the caller's body must enable `i8mm`).
#[inline(always)]
pub(super) unsafe fn smmla(mut acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
    // SAFETY: register-only instruction; the caller guarantees i8mm.
    unsafe {
        asm!(
            "smmla {acc:v}.4s, {a:v}.16b, {b:v}.16b",
            acc = inout(vreg) acc,
            a = in(vreg) a,
            b = in(vreg) b,
            options(pure, nomem, nostack, preserves_flags)
        );
    }
    acc
}

/// Four IEEE half-precision values (bit patterns, lane 0 in the low bits) to `f32`, exactly
/// (`fcvtl`, baseline ARMv8 Advanced SIMD).
///
/// # Safety
/// NEON must be available (always on aarch64 Linux; the caller's body enables it).
#[inline(always)]
pub(super) unsafe fn f16x4_to_f32(h: uint16x4_t) -> float32x4_t {
    let out: float32x4_t;
    // SAFETY: register-only conversion instruction of the base architecture.
    unsafe {
        asm!(
            "fcvtl {out:v}.4s, {h:v}.4h",
            out = lateout(vreg) out,
            h = in(vreg) h,
            options(pure, nomem, nostack, preserves_flags)
        );
    }
    out
}

/// The high four halves of `h` to `f32` (`fcvtl2`).
///
/// # Safety
/// As [`f16x4_to_f32`].
#[inline(always)]
pub(super) unsafe fn f16x8_high_to_f32(h: uint16x8_t) -> float32x4_t {
    let out: float32x4_t;
    // SAFETY: register-only conversion instruction of the base architecture.
    unsafe {
        asm!(
            "fcvtl2 {out:v}.4s, {h:v}.8h",
            out = lateout(vreg) out,
            h = in(vreg) h,
            options(pure, nomem, nostack, preserves_flags)
        );
    }
    out
}

/// One IEEE half-precision value to `f32`, exactly: `fcvt` of the base ARMv8 floating point
/// (`half`'s `to_f32` uses a software conversion unless the `fp16` extension is enabled at
/// compile time, though the conversion instruction needs no extension).
#[inline(always)]
pub(super) fn f16_to_f32(h: half::f16) -> f32 {
    let out: f32;
    // SAFETY: a register-only instruction of the base architecture (FP is mandatory on
    // aarch64 Linux and in every aarch64 target Rust supports with NEON).
    unsafe {
        asm!(
            "fcvt {o:s}, {i:h}",
            o = lateout(vreg) out,
            i = in(vreg) h.to_bits() as i16,
            options(pure, nomem, nostack, preserves_flags)
        );
    }
    out
}

/// Four `f16` values read from four places to an `f32` vector `[a, b, c, d]` (lane loads:
/// no trip through general registers).
///
/// # Safety
/// As [`f16x4_to_f32`].
#[inline(always)]
pub(super) unsafe fn f16_refs_to_f32x4(a: &u16, b: &u16, c: &u16, d: &u16) -> float32x4_t {
    // SAFETY: each pointer comes from a reference to a readable `u16`; NEON per the contract.
    unsafe {
        let v = vld1_dup_u16(a);
        let v = vld1_lane_u16::<1>(b, v);
        let v = vld1_lane_u16::<2>(c, v);
        let v = vld1_lane_u16::<3>(d, v);
        f16x4_to_f32(v)
    }
}

/// One `f16` value in all four lanes of an `f32` vector.
///
/// # Safety
/// As [`f16x4_to_f32`].
#[inline(always)]
pub(super) unsafe fn f16_ref_dup_f32x4(a: &u16) -> float32x4_t {
    // SAFETY: `a` is a readable `u16`; NEON per the contract.
    unsafe { f16x4_to_f32(vld1_dup_u16(a)) }
}

/// Eight `f16` bit patterns to two `f32` vectors (lanes 0–3, 4–7).
///
/// # Safety
/// As [`f16x4_to_f32`].
#[inline(always)]
pub(super) unsafe fn f16x8_bits_to_f32(h: &[u16; 8]) -> (float32x4_t, float32x4_t) {
    // SAFETY: `h` is 8 readable `u16`s; NEON per the forwarded contract.
    unsafe {
        let v = vld1q_u16(h.as_ptr());
        (f16x4_to_f32(vget_low_u16(v)), f16x8_high_to_f32(v))
    }
}

/// Block sums of four blocks' partial-sum vectors: `[Σa, Σb, Σc, Σd]` (two `addp`).
///
/// # Safety
/// NEON must be available.
#[inline(always)]
pub(super) unsafe fn hsum4(a: int32x4_t, b: int32x4_t, c: int32x4_t, d: int32x4_t) -> int32x4_t {
    // SAFETY: baseline NEON register intrinsics.
    unsafe { vpaddq_s32(vpaddq_s32(a, b), vpaddq_s32(c, d)) }
}

/// The dot-product contract's final reduction of 8 lanes held as `lo` (0–3) and `hi` (4–7):
/// `((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7))`.
///
/// # Safety
/// NEON must be available.
#[inline(always)]
pub(super) unsafe fn reduce_lanes(lo: float32x4_t, hi: float32x4_t) -> f32 {
    // SAFETY: baseline NEON register intrinsics.
    unsafe {
        // s = [a0+a4, a1+a5, a2+a6, a3+a7]; t = [s0+s2, s1+s3].
        let s = vaddq_f32(lo, hi);
        let t = vadd_f32(vget_low_f32(s), vget_high_f32(s));
        vget_lane_f32::<0>(t) + vget_lane_f32::<1>(t)
    }
}

/// The fold of the float order ([`crate::kernels::float::fold_lanes`]) of 16 lanes held in four
/// vectors (lanes 0–3, 4–7, 8–11, 12–15): `(a0 + a2) + (a1 + a3)` (lane `i` plus lane `i + 8`,
/// then plus lane `i + 4`), then the low half plus the high half (`i + 2`), then lane 1 onto
/// lane 0 (`faddp`).
///
/// # Safety
/// NEON must be available.
#[inline(always)]
pub(super) unsafe fn fold16(a: [float32x4_t; 4]) -> f32 {
    // SAFETY: baseline NEON register intrinsics.
    unsafe {
        let s = vaddq_f32(vaddq_f32(a[0], a[2]), vaddq_f32(a[1], a[3]));
        let t = vadd_f32(vget_low_f32(s), vget_high_f32(s));
        vpadds_f32(t)
    }
}
