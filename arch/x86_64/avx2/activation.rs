//! AVX2 element-wise activations: SwiGLU and softmax, on a vectorised `expf`.
//!
//! # Math
//!
//! - [`exp_ps`]: `e^x = 2^n · e^r` with `n = round(x · log2 e)` and
//!   `r = x − n·ln2_hi − n·ln2_lo` (two FMAs; `ln2_hi` has 8 significant bits less than f32, so
//!   `n·ln2_hi` is exact for `|n| ≤ 255`), `e^r ≈ 1 + r + r²·P(r)` on `|r| ≤ ln2/2` with
//!   Cephes' degree-5 `expf` polynomial (Horner, FMA), and `2^n` applied as two exponent-field
//!   multiplications `2^(n/2) · 2^(n − n/2)` so both overflow (`x > 88.72` → `+∞`) and gradual
//!   underflow (subnormal results) round once, like `libm::expf`. Input is clamped to
//!   `[−104, 89]` first (beyond which the result is already `0` / `+∞`); NaN propagates.
//!   Error: ≤ 2 ulp relative to the correctly rounded `e^x` over the normal range (asserted
//!   over a sweep of ~140k points of `[−103, 88.7]` by this file's test), plus
//!   the usual absolute error of one subnormal ulp below `2^−126`.
//! - SwiGLU: `out_i = (g / (1 + e^(−g))) · u`, `vdivps` and `vmulps` as in the reference
//!   (≤ ~3 ulp from the scalar result: the `exp` error damped by `e/(1+e) < 1`, plus the
//!   reference's own `expf` error).
//! - Softmax: `m = max` of the non-NaN entries (`vmaxps` with the new value as the first
//!   operand, so a NaN lane keeps the running maximum, as `f32::max`), `e_i = exp(x_i − m)`,
//!   `sum` over 8 lanes + scalar tail, then `x_i · (1 / sum)`. All-`−∞` (or empty, or all-NaN)
//!   rows become zeros; `−∞` entries become exactly `0`; a NaN or `+∞` entry makes every output
//!   NaN, as in the reference. Tolerance: `exp` ≤ 2 ulp per term, the sum in a different order
//!   (≤ n·ε relative, typically ~log n·ε), one reciprocal and one product.
//!
//! # Layout and tails
//!
//! Plain slices, 8 values per step with unaligned loads / stores; the last `n % 8` values use
//! the same vector `exp` on a zero-padded stack copy, so every element gets the same formula.
//! Lengths: the common prefix, like the reference.

use core::arch::x86_64::*;

/// Vector `e^x` (module docs for the method and its error).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[inline(always)]
pub(super) unsafe fn exp_ps(x: __m256) -> __m256 {
    // SAFETY: AVX2 + FMA (caller contract); register-only.
    unsafe {
        // `max(lo, x)` / `min(hi, x)` return the second operand (x) when it is NaN.
        let x = _mm256_min_ps(
            _mm256_set1_ps(89.0),
            _mm256_max_ps(_mm256_set1_ps(-104.0), x),
        );
        let n = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
            _mm256_mul_ps(x, _mm256_set1_ps(core::f32::consts::LOG2_E)),
        );
        let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693_359_4), x);
        let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.121_944_4e-4), r);
        let mut p = _mm256_set1_ps(1.987_569_1e-4);
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.398_199_9e-3));
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.333_452e-3));
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.166_579_6e-2));
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.666_666_5e-1));
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5));
        let r2 = _mm256_mul_ps(r, r);
        let y = _mm256_add_ps(_mm256_fmadd_ps(p, r2, r), _mm256_set1_ps(1.0));
        let ni = _mm256_cvtps_epi32(n);
        let n1 = _mm256_srai_epi32::<1>(ni);
        let n2 = _mm256_sub_epi32(ni, n1);
        let bias = _mm256_set1_epi32(127);
        let s1 = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(n1, bias)));
        let s2 = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(n2, bias)));
        _mm256_mul_ps(_mm256_mul_ps(y, s1), s2)
    }
}

/// SwiGLU of 8 lanes: `(g / (1 + e^(−g))) · u`.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[inline(always)]
unsafe fn swiglu8(g: __m256, u: __m256) -> __m256 {
    // SAFETY: AVX2 + FMA (caller contract); register-only.
    unsafe {
        let e = exp_ps(_mm256_xor_ps(g, _mm256_set1_ps(-0.0)));
        let silu = _mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0), e));
        _mm256_mul_ps(silu, u)
    }
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn swiglu_avx2(gate: &[f32], up: &[f32], out: &mut [f32]) {
    let n = gate.len().min(up.len()).min(out.len());
    let main = n - n % 8;
    let (gp, up_p, op) = (gate.as_ptr(), up.as_ptr(), out.as_mut_ptr());
    // SAFETY: vector accesses cover `i .. i + 8 <= main <= n`, inside all three slices;
    // the features are enabled.
    unsafe {
        let mut i = 0;
        while i < main {
            let r = swiglu8(_mm256_loadu_ps(gp.add(i)), _mm256_loadu_ps(up_p.add(i)));
            _mm256_storeu_ps(op.add(i), r);
            i += 8;
        }
    }
    if main < n {
        let (mut g, mut u, mut o) = ([0.0f32; 8], [0.0f32; 8], [0.0f32; 8]);
        let tail = gate.iter().zip(up).skip(main).take(n - main);
        for ((gi, ui), (&a, &b)) in g.iter_mut().zip(u.iter_mut()).zip(tail) {
            (*gi, *ui) = (a, b);
        }
        // SAFETY: 8-element stack arrays; the features are enabled.
        unsafe {
            let r = swiglu8(_mm256_loadu_ps(g.as_ptr()), _mm256_loadu_ps(u.as_ptr()));
            _mm256_storeu_ps(o.as_mut_ptr(), r);
        }
        for (dst, &v) in out.iter_mut().skip(main).take(n - main).zip(&o) {
            *dst = v;
        }
    }
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn softmax_avx2(x: &mut [f32]) {
    let n = x.len();
    let main = n - n % 8;
    let p = x.as_mut_ptr();
    // SAFETY: vector loads cover `i .. i + 8 <= main <= n`; the features are enabled.
    let mut m = unsafe {
        let mut mv = _mm256_set1_ps(f32::NEG_INFINITY);
        let mut i = 0;
        while i < main {
            // First operand the new value: a NaN lane returns the running maximum.
            mv = _mm256_max_ps(_mm256_loadu_ps(p.add(i)), mv);
            i += 8;
        }
        let mut lanes = [0.0f32; 8];
        _mm256_storeu_ps(lanes.as_mut_ptr(), mv);
        lanes.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b))
    };
    m = x.iter().skip(main).fold(m, |a, &b| a.max(b));
    if m == f32::NEG_INFINITY {
        x.fill(0.0);
        return;
    }
    let mut tail = [f32::NEG_INFINITY; 8];
    for (t, &v) in tail.iter_mut().zip(x.iter().skip(main)) {
        *t = v;
    }
    // SAFETY: as above, plus loads / stores of the 8-element stack array `tail`.
    let sum = unsafe {
        let mv = _mm256_set1_ps(m);
        let mut acc = _mm256_setzero_ps();
        let mut i = 0;
        while i < main {
            let e = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(p.add(i)), mv));
            _mm256_storeu_ps(p.add(i), e);
            acc = _mm256_add_ps(acc, e);
            i += 8;
        }
        // Padding lanes are −∞: their exponential is +0 and adds nothing.
        let e = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(tail.as_ptr()), mv));
        _mm256_storeu_ps(tail.as_mut_ptr(), e);
        crate::arch::x86_64::frame::common::hsum_ps(_mm256_add_ps(acc, e))
    };
    for (v, &t) in x.iter_mut().skip(main).zip(&tail) {
        *v = t;
    }
    let inv = 1.0 / sum;
    // SAFETY: as above.
    unsafe {
        let iv = _mm256_set1_ps(inv);
        let mut i = 0;
        while i < main {
            _mm256_storeu_ps(p.add(i), _mm256_mul_ps(_mm256_loadu_ps(p.add(i)), iv));
            i += 8;
        }
    }
    for v in x.iter_mut().skip(main) {
        *v *= inv;
    }
}

/// AVX2 [`crate::kernels::activation::swiglu`] (tolerance: module docs).
pub(crate) fn swiglu(gate: &[f32], up: &[f32], out: &mut [f32]) {
    // SAFETY: reachable only through `avx2::kernels()` (CPU features checked).
    unsafe { swiglu_avx2(gate, up, out) }
}

/// AVX2 [`crate::kernels::activation::softmax`] (tolerance: module docs).
pub(crate) fn softmax(x: &mut [f32]) {
    // SAFETY: reachable only through `avx2::kernels()` (CPU features checked).
    unsafe { softmax_avx2(x) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in ulp between two finite floats of the same sign.
    fn ulp_diff(a: f32, b: f32) -> u32 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }

    #[test]
    fn exp_within_two_ulp_of_f64() {
        if !std::is_x86_feature_detected!("avx2") || !std::is_x86_feature_detected!("fma") {
            return;
        }
        /// # Safety
        /// The CPU must support AVX2 and FMA.
        #[target_feature(enable = "avx2,fma")]
        unsafe fn exp8(x: [f32; 8]) -> [f32; 8] {
            let mut o = [0.0f32; 8];
            // SAFETY: 8-element arrays; features enabled.
            unsafe {
                _mm256_storeu_ps(o.as_mut_ptr(), exp_ps(_mm256_loadu_ps(x.as_ptr())));
            }
            o
        }
        let mut worst = 0;
        let mut x = -103.0f32;
        while x < 88.7 {
            let xs: [f32; 8] = core::array::from_fn(|k| x + k as f32 * 1.37e-3);
            // SAFETY: the features were detected above.
            let got = unsafe { exp8(xs) };
            for (&xi, &g) in xs.iter().zip(&got) {
                let want = libm::exp(f64::from(xi)) as f32;
                if want >= f32::MIN_POSITIVE {
                    worst = worst.max(ulp_diff(g, want));
                }
            }
            x += 8.0 * 1.37e-3;
        }
        assert!(worst <= 2, "exp_ps: {worst} ulp");
        // SAFETY: the features were detected above.
        let special = unsafe {
            exp8([
                f32::NAN,
                f32::INFINITY,
                f32::NEG_INFINITY,
                89.0,
                -200.0,
                0.0,
                -0.0,
                88.7,
            ])
        };
        assert!(special[0].is_nan());
        assert_eq!(special[1], f32::INFINITY);
        assert_eq!(special[2], 0.0);
        assert_eq!(special[3], f32::INFINITY);
        assert_eq!(special[4], 0.0);
        assert_eq!(special[5], 1.0);
        assert_eq!(special[6], 1.0);
        assert!(special[7].is_finite());
    }
}
