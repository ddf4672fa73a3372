//! AVX2 element-wise activations: SwiGLU and softmax, on the float order's vector `exp`.
//!
//! # Math and order of operations
//!
//! Every output is bit-identical to the scalar reference ([`crate::kernels::activation`]):
//!
//! - [`exp_ps`]: the steps of [`crate::kernels::float::exp`], lane for lane: clamp to
//!   `[EXP_LO, EXP_HI]` (`vmaxps` / `vminps` with `x` as the second operand, which they return
//!   when it is NaN, so NaN propagates); `n = (x · log2e + EXP_ROUND) − EXP_ROUND` (`vmulps`,
//!   `vaddps`, `vsubps`: round to nearest even, not `vroundps`); `r = fnmadd(n, C1, x)`, then
//!   `fnmadd(n, C2, r)` (`−n·C + r` rounded once, the reference's `fma(−n, C, r)`); Horner with
//!   `vfmadd`; `y = fma(p, r·r, r) + 1`; then `(y · 2^k1) · 2^k2` with `k = n` (`vcvtps2dq`,
//!   exact), `k1 = k >> 1` (`vpsrad`), `k2 = k − k1`, each power built in the exponent field.
//! - SwiGLU: `out_i = (g / (1 + exp(−g))) · u`: a sign flip, [`exp_ps`], `vaddps`, a real
//!   `vdivps` (no reciprocal approximation) and `vmulps`, as the reference.
//! - Softmax: `m = max` of the non-NaN entries (`vmaxps` with the new value as the first
//!   operand, so a NaN lane keeps the running maximum, as `f32::max`; a maximum is exact, so
//!   its order does not matter), `e_i = exp(x_i − m)`, `sum` in the float order (two `f32x8`
//!   accumulators of plain `vaddps` for lanes 0–7 and 8–15, the tail chunk zero-padded, then
//!   the fold in halves), then `x_i · (1.0 / sum)` (one real division). All-`−∞` (or empty, or
//!   all-NaN) rows become zeros; `−∞` entries become exactly `0`; a NaN or `+∞` entry makes
//!   every output NaN, as in the reference.
//!
//! # Layout and tails
//!
//! Plain slices with unaligned loads / stores (8 values per `exp` step, 16 per step of the
//! softmax sum); the last values of SwiGLU (`n % 8`) and softmax (`n % 16`) go through the
//! same vector formula on a stack copy, so every element gets the same arithmetic and nothing
//! past the slices is touched. Lengths: the common prefix, like the reference.

use super::dot_float::fold16;
use crate::kernels::float::{EXP_C1, EXP_C2, EXP_HI, EXP_LO, EXP_LOG2E, EXP_P, EXP_ROUND};
use core::arch::x86_64::*;

/// Vector `e^x`: [`crate::kernels::float::exp`] on 8 lanes, bit for bit (module docs).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[inline(always)]
pub(super) unsafe fn exp_ps(x: __m256) -> __m256 {
    // SAFETY: AVX2 + FMA (caller contract); register-only.
    unsafe {
        // `max(lo, x)` / `min(hi, x)` return the second operand (x) when it is NaN.
        let x = _mm256_min_ps(
            _mm256_set1_ps(EXP_HI),
            _mm256_max_ps(_mm256_set1_ps(EXP_LO), x),
        );
        let round = _mm256_set1_ps(EXP_ROUND);
        let n = _mm256_sub_ps(
            _mm256_add_ps(_mm256_mul_ps(x, _mm256_set1_ps(EXP_LOG2E)), round),
            round,
        );
        let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(EXP_C1), x);
        let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(EXP_C2), r);
        let mut p = _mm256_set1_ps(EXP_P[0]);
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EXP_P[1]));
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EXP_P[2]));
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EXP_P[3]));
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EXP_P[4]));
        p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(EXP_P[5]));
        let r2 = _mm256_mul_ps(r, r);
        let y = _mm256_add_ps(_mm256_fmadd_ps(p, r2, r), _mm256_set1_ps(1.0));
        // `n` is an integer in −159..=129 (or NaN, and then `y` is NaN too).
        let k = _mm256_cvtps_epi32(n);
        let k1 = _mm256_srai_epi32::<1>(k);
        let k2 = _mm256_sub_epi32(k, k1);
        let bias = _mm256_set1_epi32(127);
        let s1 = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(k1, bias)));
        let s2 = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(k2, bias)));
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
    let main = n - n % 16;
    let p = x.as_mut_ptr();
    // SAFETY: vector loads cover `i .. i + 16 <= main <= n`; the features are enabled.
    let mut m = unsafe {
        let mut mv = _mm256_set1_ps(f32::NEG_INFINITY);
        let mut i = 0;
        while i < main {
            // First operand the new value: a NaN lane returns the running maximum.
            mv = _mm256_max_ps(_mm256_loadu_ps(p.add(i)), mv);
            mv = _mm256_max_ps(_mm256_loadu_ps(p.add(i + 8)), mv);
            i += 16;
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
    let rem = n - main;
    let mut tail = [f32::NEG_INFINITY; 16];
    for (t, &v) in tail.iter_mut().zip(x.iter().skip(main)) {
        *t = v;
    }
    // SAFETY: as above, plus loads / stores of the 16-element stack array `tail`.
    let sum = unsafe {
        let mv = _mm256_set1_ps(m);
        let (mut lo, mut hi) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        let mut i = 0;
        while i < main {
            let el = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(p.add(i)), mv));
            let eh = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(p.add(i + 8)), mv));
            _mm256_storeu_ps(p.add(i), el);
            _mm256_storeu_ps(p.add(i + 8), eh);
            lo = _mm256_add_ps(lo, el);
            hi = _mm256_add_ps(hi, eh);
            i += 16;
        }
        if rem > 0 {
            let tp = tail.as_mut_ptr();
            _mm256_storeu_ps(tp, exp_ps(_mm256_sub_ps(_mm256_loadu_ps(tp), mv)));
            _mm256_storeu_ps(
                tp.add(8),
                exp_ps(_mm256_sub_ps(_mm256_loadu_ps(tp.add(8)), mv)),
            );
            // The reference pads the last chunk with `+0.0` and adds it to every lane.
            for t in tail.iter_mut().skip(rem) {
                *t = 0.0;
            }
            lo = _mm256_add_ps(lo, _mm256_loadu_ps(tp));
            hi = _mm256_add_ps(hi, _mm256_loadu_ps(tp.add(8)));
        }
        fold16(lo, hi)
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
            _mm256_storeu_ps(
                p.add(i + 8),
                _mm256_mul_ps(_mm256_loadu_ps(p.add(i + 8)), iv),
            );
            i += 16;
        }
    }
    for v in x.iter_mut().skip(main) {
        *v *= inv;
    }
}

/// AVX2 [`crate::kernels::activation::swiglu`] (bit-exact: module docs).
pub(crate) fn swiglu(gate: &[f32], up: &[f32], out: &mut [f32]) {
    // SAFETY: reachable only through `avx2::kernels()` (CPU features checked).
    unsafe { swiglu_avx2(gate, up, out) }
}

/// AVX2 [`crate::kernels::activation::softmax`] (bit-exact: module docs).
pub(crate) fn softmax(x: &mut [f32]) {
    // SAFETY: reachable only through `avx2::kernels()` (CPU features checked).
    unsafe { softmax_avx2(x) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::float::exp;

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

    /// Bit equality, any two NaNs equal (the NaN payload is not part of the float order).
    fn same(a: f32, b: f32) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    #[test]
    fn exp_is_the_float_order_exp() {
        if !std::is_x86_feature_detected!("avx2") || !std::is_x86_feature_detected!("fma") {
            return;
        }
        let check = |xs: [f32; 8]| {
            // SAFETY: the features were detected above.
            let got = unsafe { exp8(xs) };
            for (&xi, &g) in xs.iter().zip(&got) {
                assert!(
                    same(g, exp(xi)),
                    "exp_ps({xi:e}) = {g:e}, want {:e}",
                    exp(xi)
                );
            }
        };
        let mut x = -115.0f32;
        while x < 92.0 {
            check(core::array::from_fn(|k| x + k as f32 * 1.37e-3));
            x += 8.0 * 1.37e-3;
        }
        check([
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            89.0,
            -200.0,
            0.0,
            -0.0,
            88.7,
        ]);
        check([
            -110.0,
            -109.99,
            -103.9,
            -87.3,
            f32::MIN_POSITIVE,
            -f32::from_bits(1),
            f32::MAX,
            f32::MIN,
        ]);
    }
}
