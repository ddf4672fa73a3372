//! AVX2 RMSNorm: `out_i = (x_i · (1 / sqrt(Σ_j x_j² / n + eps))) · weight_i`.
//!
//! # Math and order of operations
//!
//! 1. `sum = Σ x_i²` in `f64`: 8 floats per step are widened to two `f64x4` and squared with
//!    `vfmadd231pd` into 4 `f64x4` accumulators (each square is exact in `f64`, only the
//!    additions round); the tail `n % 8` is added in scalar `f64`, index order.
//! 2. `mean = (sum / n) as f32`, `scale = 1 / sqrtf(mean + eps)`: scalar, as the reference.
//! 3. `out_i = (x_i · scale) · weight_i`: two separately rounded `vmulps`, as the reference.
//!
//! Tolerance: only step 1's summation order differs from the reference (both in `f64`, whose
//! error, ≤ n·2⁻⁵³ relative, vanishes when rounded to `f32`), so the output is equal to the
//! scalar one or within 1 ulp of it for any realistic `n`.
//!
//! # Layout and tails
//!
//! One vector of `n = min(x.len(), weight.len(), out.len())` values (the reference's common
//! prefix); unaligned loads and stores; the last `n % 8` values are scalar. `n == 0` does
//! nothing.

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
    let main = n - n % 8;
    // SAFETY: every vector access covers indices `i .. i + 8` with `i + 8 <= main <= n`, and
    // all three slices hold at least `n` elements; the features are enabled here.
    let sum = unsafe {
        let mut acc = [_mm256_setzero_pd(); 4];
        let mut i = 0;
        while i + 16 <= main {
            for (h, pair) in acc.chunks_exact_mut(2).enumerate() {
                let v = _mm256_loadu_ps(xp.add(i + 8 * h));
                let lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
                let hi = _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(v));
                if let [a, b] = pair {
                    *a = _mm256_fmadd_pd(lo, lo, *a);
                    *b = _mm256_fmadd_pd(hi, hi, *b);
                }
            }
            i += 16;
        }
        if i < main {
            let v = _mm256_loadu_ps(xp.add(i));
            let lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
            let hi = _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(v));
            acc[0] = _mm256_fmadd_pd(lo, lo, acc[0]);
            acc[1] = _mm256_fmadd_pd(hi, hi, acc[1]);
        }
        let s = _mm256_add_pd(_mm256_add_pd(acc[0], acc[1]), _mm256_add_pd(acc[2], acc[3]));
        let s2 = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd::<1>(s));
        _mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)))
    };
    let tail_sum = x
        .get(main..n)
        .unwrap_or(&[])
        .iter()
        .fold(sum, |s, &v| s + f64::from(v) * f64::from(v));
    let mean = (tail_sum / n as f64) as f32;
    let scale = 1.0f32 / libm::sqrtf(mean + eps);
    // SAFETY: as above: indices `< main <= n` for the vector part; the features are enabled.
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

/// AVX2 [`crate::kernels::norm::rms_norm`] (tolerance: module docs).
pub(crate) fn rms_norm(x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
    // SAFETY: reachable only through `avx2::kernels()` (CPU features checked).
    unsafe { rms_norm_avx2(x, weight, eps, out) }
}
