//! AVX-512 RMSNorm: `out_i = (x_i · (1 / sqrt(Σ_j x_j² / n + eps))) · weight_i`.
//!
//! # Math and order of operations
//!
//! Exactly the reference's steps ([`crate::kernels::norm`]), so every output is bit-identical:
//! 1. `sum = Σ x_i²` in the float order: this tier's float dot product of `x` with itself
//!    ([`super::dot_float::dot_f32`]: one `f32x16` FMA accumulator, masked zero-filled tail,
//!    folded in halves);
//! 2. `mean = sum / (n as f32)`, `scale = 1.0 / sqrtf(mean + eps)`: scalar `f32`, a real
//!    division and a correctly rounded square root, as the reference;
//! 3. `out_i = (x_i · scale) · weight_i`: two separately rounded `vmulps`, as the reference.
//!
//! # Layout and tails
//!
//! One vector of `n = min(x.len(), weight.len(), out.len())` values (the reference's common
//! prefix); unaligned loads and stores, 16 values per step; the last `n % 16` values use masked
//! loads and a masked store (nothing outside the first `n` values is read or written).
//! `n == 0` does nothing.

use super::dot_float::low_lanes;
use core::arch::x86_64::*;

/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn rms_norm_avx512(x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
    let n = x.len().min(weight.len()).min(out.len());
    if n == 0 {
        return;
    }
    let (xp, wp, op) = (x.as_ptr(), weight.as_ptr(), out.as_mut_ptr());
    // SAFETY: `x` holds at least `n` floats; the features are enabled here.
    let sum = unsafe { super::dot_float::dot_f32(xp, xp, n) };
    let mean = sum / n as f32;
    let scale = 1.0f32 / libm::sqrtf(mean + eps);
    // SAFETY: full vector accesses cover `i .. i + 16 <= n`, the masked ones only `i .. n`, and
    // all three slices hold at least `n` elements; the features are enabled here.
    unsafe {
        let sv = _mm512_set1_ps(scale);
        let mut i = 0;
        while i + 16 <= n {
            let v = _mm512_mul_ps(_mm512_loadu_ps(xp.add(i)), sv);
            _mm512_storeu_ps(op.add(i), _mm512_mul_ps(v, _mm512_loadu_ps(wp.add(i))));
            i += 16;
        }
        if i < n {
            let m = low_lanes(n - i);
            let v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, xp.add(i)), sv);
            let r = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, wp.add(i)));
            _mm512_mask_storeu_ps(op.add(i), m, r);
        }
    }
}

/// AVX-512 [`crate::kernels::norm::rms_norm`] (bit-exact: module docs).
pub(crate) fn rms_norm(x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
    // SAFETY: reachable only through avx512::kernels() (CPU features checked).
    unsafe { rms_norm_avx512(x, weight, eps, out) }
}
