//! AVX2 RMSNorm: `out_i = (x_i · (1 / sqrt(Σ_j x_j² / n + eps))) · weight_i`.
//!
//! # Math and order of operations
//!
//! Exactly the reference's steps ([`crate::kernels::norm`]), so every output is bit-identical:
//! 1. `sum = Σ x_i²` in the float order: this tier's float dot product of `x` with itself
//!    ([`super::dot_float::dot_f32`]: 16 FMA lanes as two `f32x8` accumulators, zero-padded
//!    tail, folded in halves);
//! 2. `mean = sum / (n as f32)`, `scale = 1.0 / sqrtf(mean + eps)`: scalar `f32`, a real
//!    division and a correctly rounded square root, as the reference;
//! 3. `out_i = (x_i · scale) · weight_i`: two separately rounded `vmulps`, as the reference.
//!
//! # Layout and tails
//!
//! One vector of `n = min(x.len(), weight.len(), out.len())` values (the reference's common
//! prefix); unaligned loads and stores; the last `n % 8` outputs are scalar (the same two
//! products). `n == 0` does nothing.

use core::arch::x86_64::*;

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn rms_norm_avx2(x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
    let n = x.len().min(weight.len()).min(out.len());
    if n == 0 {
        return;
    }
    let (xp, wp, op) = (x.as_ptr(), weight.as_ptr(), out.as_mut_ptr());
    // SAFETY: `x` holds at least `n` floats; the features are enabled here.
    let sum = unsafe { super::dot_float::dot_f32(xp, xp, n) };
    let mean = sum / n as f32;
    let scale = 1.0f32 / libm::sqrtf(mean + eps);
    let main = n - n % 8;
    // SAFETY: every vector access covers indices `i .. i + 8` with `i + 8 <= main <= n`, and
    // all three slices hold at least `n` elements; the features are enabled.
    unsafe {
        let sv = _mm256_set1_ps(scale);
        let mut i = 0;
        while i < main {
            let v = _mm256_mul_ps(_mm256_loadu_ps(xp.add(i)), sv);
            _mm256_storeu_ps(op.add(i), _mm256_mul_ps(v, _mm256_loadu_ps(wp.add(i))));
            i += 8;
        }
    }
    let tail = out.iter_mut().zip(x.iter().zip(weight)).take(n).skip(main);
    for (o, (&v, &w)) in tail {
        *o = (v * scale) * w;
    }
}

/// AVX2 [`crate::kernels::norm::rms_norm`] (bit-exact: module docs).
pub(crate) fn rms_norm(x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
    // SAFETY: reachable only through `avx2::kernels()` (CPU features checked).
    unsafe { rms_norm_avx2(x, weight, eps, out) }
}
