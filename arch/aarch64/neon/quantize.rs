//! NEON activation quantizers f32 → Q8_0 / Q8_1 / Q8_K, **bit-exact** with the scalar
//! reference ([`crate::quant::quantize`]) for every input, NaN and infinities included.
//!
//! # Math (as the reference)
//!
//! - Q8_0 / Q8_1, per block of 32: `amax = max |x|`, `d = amax / 127`, `id = d ≠ 0 ? 1/d : 0`
//!   (scalar f32 division, the reference's sequence), `q = roundf(x · id)` saturated to `i8`:
//!   `fcvtas` (round half away from zero, saturating, NaN → 0) then two saturating narrows
//!   (`sqxtn`) — exactly Rust's `roundf(v) as i8`. Q8_1 adds `s = f16(Σq · d)`.
//! - Q8_K, per super-block of 256: `max` = first element of largest magnitude, `iscale = −127 /
//!   max`, `q = min(127, nearest_int(iscale · x)) as i8`, `d = 1 / iscale`, `bsums` = sums of 16.
//!   `nearest_int` is evaluated exactly as the reference does (add 1.5·2²³, read the mantissa
//!   bits), lane-wise, and the `as i8` is a truncating narrow (`xtn`), so even out-of-range or
//!   NaN products give the reference's bits (for in-range values this is `fcvtns`).
//!
//! # Layout, scheme and tails
//!
//! A Q8_0 block is 8 `float32x4_t` loads: `|x|` max tree (`fmax`, then `fmaxv`), scale in scalar
//! f32, 8 multiplies + conversions, narrowed to 2 × 16 bytes. `fmax` propagates NaN: a block whose
//! `amax` is NaN is handed to the scalar reference (whose C-`MAX` fold treats NaN specially), so
//! the result stays bit-exact. Q8_K finds `amax` with `fmaxnm` (ignoring NaN, like the
//! reference's `ax > amax` scan) and the sign of the first extreme element from the signed
//! max/min, scanning only when both `+amax` and `−amax` occur. `f16` rounding of the scales uses
//! [`half::f16::from_f32`] (round to nearest even, as the reference).
//!
//! Lengths as the reference: `min(x.len() / elems, out.len())` blocks; the rest untouched.

use crate::quant::*;
use core::arch::aarch64::*;
use half::f16;

/// f32 → Q8_0 ([`crate::quant::quantize::quantize_q8_0`]), bit-exact.
pub(super) fn quantize_q8_0(x: &[f32], out: &mut [BlockQ8_0]) {
    for (xb, yb) in x.chunks_exact(QK).zip(out.iter_mut()) {
        let Ok(xb) = <&[f32; QK]>::try_from(xb) else {
            return;
        };
        // SAFETY: this table entry is only reachable through `kernels`, whose caller checked
        // NEON.
        let d = unsafe { q8_block(xb, &mut yb.qs) };
        match d {
            Some(d) => yb.d = f16::from_f32(d),
            None => crate::quant::quantize::quantize_q8_0(xb, core::slice::from_mut(yb)),
        }
    }
}

/// f32 → Q8_1 ([`crate::quant::quantize::quantize_q8_1`]), bit-exact.
pub(super) fn quantize_q8_1(x: &[f32], out: &mut [BlockQ8_1]) {
    for (xb, yb) in x.chunks_exact(QK).zip(out.iter_mut()) {
        let Ok(xb) = <&[f32; QK]>::try_from(xb) else {
            return;
        };
        // SAFETY: reachable only through `kernels` (NEON checked by its caller).
        let d = unsafe { q8_block(xb, &mut yb.qs) };
        let Some(d) = d else {
            crate::quant::quantize::quantize_q8_1(xb, core::slice::from_mut(yb));
            continue;
        };
        yb.d = f16::from_f32(d);
        // SAFETY: as above.
        let sum = unsafe { sum_i8x32(&yb.qs) };
        yb.s = f16::from_f32(sum as f32 * d);
    }
}

/// Quantizes one 32-element block into `qs` and returns the f32 scale `d`, or `None` (nothing
/// written) when `max |x|` is NaN.
///
/// # Safety
/// The CPU must have NEON.
#[target_feature(enable = "neon")]
unsafe fn q8_block(x: &[f32; QK], qs: &mut [i8; QK]) -> Option<f32> {
    let p = x.as_ptr();
    // SAFETY: `x` has 32 readable f32 and `qs` 32 writable bytes; every offset below is < 32.
    unsafe {
        let v: [float32x4_t; 8] = core::array::from_fn(|i| vld1q_f32(p.add(4 * i)));
        let a01 = vmaxq_f32(vabsq_f32(v[0]), vabsq_f32(v[1]));
        let a23 = vmaxq_f32(vabsq_f32(v[2]), vabsq_f32(v[3]));
        let a45 = vmaxq_f32(vabsq_f32(v[4]), vabsq_f32(v[5]));
        let a67 = vmaxq_f32(vabsq_f32(v[6]), vabsq_f32(v[7]));
        let amax = vmaxvq_f32(vmaxq_f32(vmaxq_f32(a01, a23), vmaxq_f32(a45, a67)));
        if amax.is_nan() {
            return None;
        }
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        let q: [int16x4_t; 8] =
            core::array::from_fn(|i| vqmovn_s32(vcvtaq_s32_f32(vmulq_n_f32(v[i], id))));
        let lo = vcombine_s8(
            vqmovn_s16(vcombine_s16(q[0], q[1])),
            vqmovn_s16(vcombine_s16(q[2], q[3])),
        );
        let hi = vcombine_s8(
            vqmovn_s16(vcombine_s16(q[4], q[5])),
            vqmovn_s16(vcombine_s16(q[6], q[7])),
        );
        vst1q_s8(qs.as_mut_ptr(), lo);
        vst1q_s8(qs.as_mut_ptr().add(16), hi);
        Some(d)
    }
}

/// `Σ qs` as `i32`.
///
/// # Safety
/// The CPU must have NEON.
#[target_feature(enable = "neon")]
unsafe fn sum_i8x32(qs: &[i8; QK]) -> i32 {
    // SAFETY: 32 readable bytes at `qs`.
    unsafe {
        let a = vld1q_s8(qs.as_ptr());
        let b = vld1q_s8(qs.as_ptr().add(16));
        i32::from(vaddlvq_s8(a)) + i32::from(vaddlvq_s8(b))
    }
}

/// f32 → Q8_K ([`crate::quant::quantize::quantize_q8_k`]), bit-exact.
pub(super) fn quantize_q8_k(x: &[f32], out: &mut [BlockQ8K]) {
    for (xb, yb) in x.chunks_exact(QK_K).zip(out.iter_mut()) {
        let Ok(xb) = <&[f32; QK_K]>::try_from(xb) else {
            return;
        };
        // SAFETY: reachable only through `kernels` (NEON checked by its caller).
        unsafe { q8_k_block(xb, yb) };
    }
}

/// The reference's `(max, amax)` of a super-block: `amax` the largest `|x|` ignoring NaN, `max`
/// the first element with that magnitude (`0` when `amax == 0`).
///
/// # Safety
/// The CPU must have NEON.
#[target_feature(enable = "neon")]
unsafe fn signed_abs_max(x: &[f32; QK_K]) -> (f32, f32) {
    let p = x.as_ptr();
    // SAFETY: 256 readable f32 at `p`; offsets below stay < 256.
    let (amax, hi, lo) = unsafe {
        let mut amax = vdupq_n_f32(0.0);
        let mut hi = vdupq_n_f32(f32::NEG_INFINITY);
        let mut lo = vdupq_n_f32(f32::INFINITY);
        for i in 0..QK_K / 4 {
            let v = vld1q_f32(p.add(4 * i));
            amax = vmaxnmq_f32(amax, vabsq_f32(v));
            hi = vmaxnmq_f32(hi, v);
            lo = vminnmq_f32(lo, v);
        }
        (vmaxnmvq_f32(amax), vmaxnmvq_f32(hi), vminnmvq_f32(lo))
    };
    if amax == 0.0 {
        return (0.0, 0.0);
    }
    match (hi == amax, lo == -amax) {
        (true, false) => (hi, amax),
        (false, true) => (lo, amax),
        _ => {
            let first = x.iter().copied().find(|v| libm::fabsf(*v) == amax);
            (first.unwrap_or(amax), amax)
        }
    }
}

/// One Q8_K super-block.
///
/// # Safety
/// The CPU must have NEON.
#[target_feature(enable = "neon")]
unsafe fn q8_k_block(x: &[f32; QK_K], y: &mut BlockQ8K) {
    // SAFETY: forwarded contract (NEON).
    let (max, amax) = unsafe { signed_abs_max(x) };
    if amax == 0.0 {
        y.d = 0.0;
        y.qs = [0; QK_K];
        y.bsums = [0; QK_K / 16];
        return;
    }
    let iscale = -127.0 / max;
    let p = x.as_ptr();
    let q = y.qs.as_mut_ptr();
    // SAFETY: 256 readable f32 at `p`, 256 writable bytes at `q`; group `g < 16` touches
    // elements `16g .. 16g + 16` only.
    unsafe {
        let magic = vdupq_n_f32(12_582_912.0);
        let mantissa = vdupq_n_s32(0x007f_ffff);
        let bias = vdupq_n_s32(0x0040_0000);
        let cap = vdupq_n_s32(127);
        for (g, bsum) in y.bsums.iter_mut().enumerate() {
            let n: [int16x4_t; 4] = core::array::from_fn(|k| {
                let v = vmulq_n_f32(vld1q_f32(p.add(16 * g + 4 * k)), iscale);
                let bits = vreinterpretq_s32_f32(vaddq_f32(v, magic));
                let r = vsubq_s32(vandq_s32(bits, mantissa), bias);
                vmovn_s32(vminq_s32(r, cap))
            });
            let b = vcombine_s8(
                vmovn_s16(vcombine_s16(n[0], n[1])),
                vmovn_s16(vcombine_s16(n[2], n[3])),
            );
            vst1q_s8(q.add(16 * g), b);
            *bsum = vaddlvq_s8(b);
        }
    }
    y.d = 1.0 / iscale;
}
