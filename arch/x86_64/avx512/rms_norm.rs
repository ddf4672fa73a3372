//! AVX-512 RMSNorm: `out_i = (x_i · (1 / sqrt(Σ_j x_j² / n + eps))) · weight_i`.
//!
//! # Math and order of operations
//!
//! 1. `sum = Σ x_i²` in `f64`: 16 floats per load are widened to two `f64x8` (`vcvtps2pd`) and
//!    squared with `vfmadd231pd` into 4 `f64x8` accumulators (32 floats per step; each square
//!    is exact in `f64`, only the additions round); a leftover 16 goes to accumulators 0 / 1,
//!    and the last `n % 16` values are a masked load (other lanes zero, adding exact zeros)
//!    into accumulators 2 / 3. The accumulators are summed `(a0 + a1) + (a2 + a3)`, then the
//!    8 lanes folded in halves (256, 128, 64 bits).
//! 2. `mean = (sum / n) as f32`, `scale = 1 / sqrtf(mean + eps)`: scalar, as the reference.
//! 3. `out_i = (x_i · scale) · weight_i`: two separately rounded `vmulps`, as the reference,
//!    so every output is bit-exact given `scale`.
//!
//! Tolerance: only step 1's summation order differs from the reference (both in `f64`, whose
//! error, ≤ n·2⁻⁵³ relative, vanishes when rounded to `f32`), so the output is equal to the
//! scalar one or within 1 ulp of it for any realistic `n` (the tests allow `(n + 4)·ε`).
//!
//! # Layout and tails
//!
//! One vector of `n = min(x.len(), weight.len(), out.len())` values (the reference's common
//! prefix); unaligned loads and stores, 16 values per step; the last `n % 16` values use masked
//! loads and a masked store (nothing outside the first `n` values is read or written).
//! `n == 0` does nothing.

use super::dot_float::low_lanes;
use core::arch::x86_64::*;

/// Squares the 16 floats of `v` into `f64x8` accumulators `a` (lanes 0..8) and `b` (8..16).
///
/// # Safety
/// The CPU must support AVX-512 F.
#[inline(always)]
unsafe fn square_into(v: __m512, a: &mut __m512d, b: &mut __m512d) {
    // SAFETY: AVX-512 F (caller contract); register-only.
    unsafe {
        let lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
        let hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(
            _mm512_castps_pd(v),
        )));
        *a = _mm512_fmadd_pd(lo, lo, *a);
        *b = _mm512_fmadd_pd(hi, hi, *b);
    }
}

/// `Σ x_i²` over the first `n` values at `xp`, in `f64` (module docs, step 1).
///
/// # Safety
/// `xp` must point to `n` readable floats; the CPU must support AVX-512 F.
#[inline(always)]
unsafe fn sum_squares(xp: *const f32, n: usize) -> f64 {
    // SAFETY: full loads cover `i .. i + 16 <= n`; the masked load reads only `i .. n`;
    // AVX-512 F (caller contract).
    unsafe {
        let (mut a0, mut a1, mut a2, mut a3) = (
            _mm512_setzero_pd(),
            _mm512_setzero_pd(),
            _mm512_setzero_pd(),
            _mm512_setzero_pd(),
        );
        let mut i = 0;
        while i + 32 <= n {
            square_into(_mm512_loadu_ps(xp.add(i)), &mut a0, &mut a1);
            square_into(_mm512_loadu_ps(xp.add(i + 16)), &mut a2, &mut a3);
            i += 32;
        }
        if i + 16 <= n {
            square_into(_mm512_loadu_ps(xp.add(i)), &mut a0, &mut a1);
            i += 16;
        }
        if i < n {
            let v = _mm512_maskz_loadu_ps(low_lanes(n - i), xp.add(i));
            square_into(v, &mut a2, &mut a3);
        }
        let s = _mm512_add_pd(_mm512_add_pd(a0, a1), _mm512_add_pd(a2, a3));
        let s4 = _mm256_add_pd(_mm512_castpd512_pd256(s), _mm512_extractf64x4_pd::<1>(s));
        let s2 = _mm_add_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd::<1>(s4));
        _mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)))
    }
}

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
    let sum = unsafe { sum_squares(xp, n) };
    let mean = (sum / n as f64) as f32;
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

/// AVX-512 [`crate::kernels::norm::rms_norm`] (tolerance: module docs).
pub(crate) fn rms_norm(x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
    // SAFETY: reachable only through avx512::kernels() (CPU features checked).
    unsafe { rms_norm_avx512(x, weight, eps, out) }
}
