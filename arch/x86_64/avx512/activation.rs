//! AVX-512 element-wise activations: SwiGLU and softmax, on the float order's 16-lane vector
//! `exp`.
//!
//! # Math and order of operations
//!
//! Every output is bit-identical to the scalar reference ([`crate::kernels::activation`]):
//!
//! - [`exp16_ps`]: the steps of [`crate::kernels::float::exp`], lane for lane: clamp to
//!   `[EXP_LO, EXP_HI]` (`vmaxps` / `vminps` with `x` as the second operand, which they return
//!   when it is NaN, so NaN propagates); `n = (x · log2e + EXP_ROUND) − EXP_ROUND` (`vmulps`,
//!   `vaddps`, `vsubps`: round to nearest even, not `vrndscaleps`); `r = fnmadd(n, C1, x)`,
//!   then `fnmadd(n, C2, r)` (`−n·C + r` rounded once, the reference's `fma(−n, C, r)`); Horner
//!   with `vfmadd`; `y = fma(p, r·r, r) + 1`; then `(y · 2^k1) · 2^k2` with `k = n`
//!   (`vcvtps2dq`, exact), `k1 = k >> 1` (`vpsrad`), `k2 = k − k1`, each power built in the
//!   exponent field.
//! - SwiGLU: `out_i = (g / (1 + exp(−g))) · u`: a sign flip, [`exp16_ps`], `vaddps`, a real
//!   `vdivps` (no reciprocal approximation) and `vmulps`, as the reference.
//! - Softmax: `m = max` of the non-NaN entries (`vmaxps` with the new value as the first
//!   operand, so a NaN lane keeps the running maximum, as `f32::max`; the 16 lanes then folded
//!   with `f32::max`; a maximum is exact, so its order does not matter), `e_i = exp(x_i − m)`,
//!   `sum` in the float order (one `f32x16` accumulator of plain `vaddps`, the tail chunk's
//!   masked-off lanes adding `+0.0` as the reference's padding, then the fold in halves,
//!   [`hsum16_ps`]), then `x_i · (1.0 / sum)` (one real division). All-`−∞` (or empty, or
//!   all-NaN) rows become zeros; `−∞` entries become exactly `0`; a NaN or `+∞` entry makes
//!   every output NaN, as in the reference.
//!
//! # Layout and tails
//!
//! Plain slices, 16 values per step with unaligned loads / stores; the last `n % 16` values use
//! masked loads and stores (`__mmask16`) through the same vector formula, so every element gets
//! the same arithmetic and nothing past the slices is touched. In softmax the masked-off lanes
//! load as `−∞` (neutral for the maximum). Lengths: the common prefix, like the reference.

use super::dot_float::{hsum16_ps, low_lanes};
use crate::kernels::float::{EXP_C1, EXP_C2, EXP_HI, EXP_LO, EXP_LOG2E, EXP_P, EXP_ROUND};
use core::arch::x86_64::*;

/// Vector `e^x` of 16 lanes: [`crate::kernels::float::exp`] bit for bit (module docs).
///
/// # Safety
/// The CPU must support AVX-512 F.
#[inline(always)]
pub(super) unsafe fn exp16_ps(x: __m512) -> __m512 {
    // SAFETY: AVX-512 F (caller contract); register-only.
    unsafe {
        // `max(lo, x)` / `min(hi, x)` return the second operand (x) when it is NaN.
        let x = _mm512_min_ps(
            _mm512_set1_ps(EXP_HI),
            _mm512_max_ps(_mm512_set1_ps(EXP_LO), x),
        );
        let round = _mm512_set1_ps(EXP_ROUND);
        let n = _mm512_sub_ps(
            _mm512_add_ps(_mm512_mul_ps(x, _mm512_set1_ps(EXP_LOG2E)), round),
            round,
        );
        let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(EXP_C1), x);
        let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(EXP_C2), r);
        let mut p = _mm512_set1_ps(EXP_P[0]);
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EXP_P[1]));
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EXP_P[2]));
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EXP_P[3]));
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EXP_P[4]));
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EXP_P[5]));
        let r2 = _mm512_mul_ps(r, r);
        let y = _mm512_add_ps(_mm512_fmadd_ps(p, r2, r), _mm512_set1_ps(1.0));
        // `n` is an integer in −159..=129 (or NaN, and then `y` is NaN too).
        let k = _mm512_cvtps_epi32(n);
        let k1 = _mm512_srai_epi32::<1>(k);
        let k2 = _mm512_sub_epi32(k, k1);
        let bias = _mm512_set1_epi32(127);
        let s1 = _mm512_castsi512_ps(_mm512_slli_epi32::<23>(_mm512_add_epi32(k1, bias)));
        let s2 = _mm512_castsi512_ps(_mm512_slli_epi32::<23>(_mm512_add_epi32(k2, bias)));
        _mm512_mul_ps(_mm512_mul_ps(y, s1), s2)
    }
}

/// `−v` (sign bit flipped, exactly like scalar negation).
///
/// # Safety
/// The CPU must support AVX-512 F.
#[inline(always)]
unsafe fn neg16_ps(v: __m512) -> __m512 {
    // SAFETY: AVX-512 F (caller contract); register-only.
    unsafe {
        _mm512_castsi512_ps(_mm512_xor_si512(
            _mm512_castps_si512(v),
            _mm512_set1_epi32(i32::MIN),
        ))
    }
}

/// SwiGLU of 16 lanes: `(g / (1 + e^(−g))) · u`.
///
/// # Safety
/// The CPU must support AVX-512 F.
#[inline(always)]
unsafe fn swiglu16(g: __m512, u: __m512) -> __m512 {
    // SAFETY: AVX-512 F (caller contract); register-only.
    unsafe {
        let e = exp16_ps(neg16_ps(g));
        let silu = _mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.0), e));
        _mm512_mul_ps(silu, u)
    }
}

/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn swiglu_avx512(gate: &[f32], up: &[f32], out: &mut [f32]) {
    let n = gate.len().min(up.len()).min(out.len());
    let (gp, up_p, op) = (gate.as_ptr(), up.as_ptr(), out.as_mut_ptr());
    // SAFETY: full accesses cover `i .. i + 16 <= n`, the masked ones only `i .. n`, inside all
    // three slices; the features are enabled.
    unsafe {
        let mut i = 0;
        while i + 16 <= n {
            let r = swiglu16(_mm512_loadu_ps(gp.add(i)), _mm512_loadu_ps(up_p.add(i)));
            _mm512_storeu_ps(op.add(i), r);
            i += 16;
        }
        if i < n {
            let m = low_lanes(n - i);
            let g = _mm512_maskz_loadu_ps(m, gp.add(i));
            let u = _mm512_maskz_loadu_ps(m, up_p.add(i));
            _mm512_mask_storeu_ps(op.add(i), m, swiglu16(g, u));
        }
    }
}

/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn softmax_avx512(x: &mut [f32]) {
    let n = x.len();
    let main = n - n % 16;
    let tail = low_lanes(n - main);
    let p = x.as_mut_ptr();
    // SAFETY: (this block and the two below) full accesses cover `i .. i + 16 <= main <= n`,
    // the masked ones (mask `tail`) only `main .. n`; `lanes` is a 16-float stack array; the
    // features are enabled.
    let m = unsafe {
        let neg_inf = _mm512_set1_ps(f32::NEG_INFINITY);
        let mut mv = neg_inf;
        let mut i = 0;
        while i < main {
            // First operand the new value: a NaN lane returns the running maximum.
            mv = _mm512_max_ps(_mm512_loadu_ps(p.add(i)), mv);
            i += 16;
        }
        // Masked-off lanes load as −∞ (neutral).
        mv = _mm512_max_ps(_mm512_mask_loadu_ps(neg_inf, tail, p.add(main)), mv);
        let mut lanes = [0.0f32; 16];
        _mm512_storeu_ps(lanes.as_mut_ptr(), mv);
        lanes.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b))
    };
    if m == f32::NEG_INFINITY {
        x.fill(0.0);
        return;
    }
    // SAFETY: as above.
    let sum = unsafe {
        let neg_inf = _mm512_set1_ps(f32::NEG_INFINITY);
        let mv = _mm512_set1_ps(m);
        let mut acc = _mm512_setzero_ps();
        let mut i = 0;
        while i < main {
            let e = exp16_ps(_mm512_sub_ps(_mm512_loadu_ps(p.add(i)), mv));
            _mm512_storeu_ps(p.add(i), e);
            acc = _mm512_add_ps(acc, e);
            i += 16;
        }
        let v = _mm512_mask_loadu_ps(neg_inf, tail, p.add(main));
        let e = exp16_ps(_mm512_sub_ps(v, mv));
        _mm512_mask_storeu_ps(p.add(main), tail, e);
        // The tail chunk: its lanes past `n` add `+0.0`, the reference's padding (an empty
        // tail adds nothing).
        if main < n {
            acc = _mm512_add_ps(acc, _mm512_maskz_mov_ps(tail, e));
        }
        hsum16_ps(acc)
    };
    let inv = 1.0 / sum;
    // SAFETY: as above.
    unsafe {
        let iv = _mm512_set1_ps(inv);
        let mut i = 0;
        while i < main {
            _mm512_storeu_ps(p.add(i), _mm512_mul_ps(_mm512_loadu_ps(p.add(i)), iv));
            i += 16;
        }
        let v = _mm512_maskz_loadu_ps(tail, p.add(main));
        _mm512_mask_storeu_ps(p.add(main), tail, _mm512_mul_ps(v, iv));
    }
}

/// AVX-512 [`crate::kernels::activation::swiglu`] (bit-exact: module docs).
pub(crate) fn swiglu(gate: &[f32], up: &[f32], out: &mut [f32]) {
    // SAFETY: reachable only through avx512::kernels() (CPU features checked).
    unsafe { swiglu_avx512(gate, up, out) }
}

/// AVX-512 [`crate::kernels::activation::softmax`] (bit-exact: module docs).
pub(crate) fn softmax(x: &mut [f32]) {
    // SAFETY: reachable only through avx512::kernels() (CPU features checked).
    unsafe { softmax_avx512(x) }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::kernels::float::exp;

    /// Bit equality, any two NaNs equal (the NaN payload is not part of the float order).
    fn same(a: f32, b: f32) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    /// Whether the tier runs here; when it does not, says so, and fails if
    /// `PHI3_REQUIRE_TIERS` names it (a skipped tier is never reported as tested).
    fn has_avx512() -> bool {
        let present = std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
            && std::is_x86_feature_detected!("f16c")
            && std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vl")
            && std::is_x86_feature_detected!("avx512vnni");
        if !present {
            let required = std::env::var("PHI3_REQUIRE_TIERS").unwrap_or_default();
            assert!(
                !required.to_ascii_lowercase().contains("avx512"),
                "PHI3_REQUIRE_TIERS={required:?} but AVX-512 is unavailable"
            );
            std::println!("AVX-512 unavailable: the AVX-512 exp unit tests did not run");
        }
        present
    }

    /// # Safety
    /// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI.
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    unsafe fn exp16(x: [f32; 16]) -> [f32; 16] {
        let mut o = [0.0f32; 16];
        // SAFETY: 16-element arrays; features enabled.
        unsafe {
            _mm512_storeu_ps(o.as_mut_ptr(), exp16_ps(_mm512_loadu_ps(x.as_ptr())));
        }
        o
    }

    #[test]
    fn exp_is_the_float_order_exp() {
        if !has_avx512() {
            return;
        }
        let check = |xs: [f32; 16]| {
            // SAFETY: the features were detected by the caller.
            let got = unsafe { exp16(xs) };
            for (&xi, &g) in xs.iter().zip(&got) {
                assert!(
                    same(g, exp(xi)),
                    "exp16_ps({xi:e}) = {g:e}, want {:e}",
                    exp(xi)
                );
            }
        };
        let mut x = -115.0f32;
        while x < 92.0 {
            check(core::array::from_fn(|k| x + k as f32 * 1.37e-3));
            x += 16.0 * 1.37e-3;
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
            88.72,
            -87.3,
            -100.0,
            -103.9,
            -110.0,
            -109.99,
            f32::MAX,
            -f32::from_bits(1),
        ]);
    }
}
