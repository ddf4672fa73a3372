//! AVX-512 element-wise activations: SwiGLU and softmax, on a 16-lane vectorised `expf`.
//!
//! # Math
//!
//! - [`exp16_ps`]: `e^x = 2^n · e^r` with `n = round(x · log2 e)` (`vrndscaleps`, nearest) and
//!   `r = x − n·ln2_hi − n·ln2_lo` (two FMAs; `ln2_hi` has 8 significant bits less than f32, so
//!   `n·ln2_hi` is exact for `|n| ≤ 255`), `e^r ≈ 1 + r + r²·P(r)` on `|r| ≤ ln2/2` with
//!   Cephes' degree-5 `expf` polynomial (Horner, FMA) — the AVX2 tier's reduction and
//!   polynomial, so `e^r` is the same value — and `2^n` applied by `vscalefps`, which computes
//!   `y · 2^n` with a single rounding, so both overflow (`x > 88.72` → `+∞`) and gradual
//!   underflow (subnormal results) round once, like `libm::expf`. Input is clamped to
//!   `[−104, 89]` first (beyond which the result is already `0` / `+∞`); NaN propagates
//!   (`vminps` / `vmaxps` return their second operand, `x`, when it is NaN).
//!   Error: ≤ 2 ulp relative to the correctly rounded `e^x` over the normal range (asserted over
//!   a sweep of `[−103, 88.7]` by this file's test, on CPUs with AVX-512), plus the usual
//!   absolute error of one subnormal ulp below `2^−126`.
//! - SwiGLU: `out_i = (g / (1 + e^(−g))) · u`, `vdivps` and `vmulps` as in the reference
//!   (≤ ~3 ulp from the scalar result: the `exp` error damped by `e/(1+e) < 1`, plus the
//!   reference's own `expf` error; the tests allow 16 ε relative).
//! - Softmax: `m = max` of the non-NaN entries (`vmaxps` with the new value as the first
//!   operand, so a NaN lane keeps the running maximum, as `f32::max`; the 16 lanes then folded
//!   with `f32::max`), `e_i = exp(x_i − m)`, `sum` over 16 lanes (fixed fold: high 256 bits onto
//!   low, then the AVX2 8-lane fold), then `x_i · (1 / sum)`. All-`−∞` (or empty, or all-NaN)
//!   rows become zeros; `−∞` entries become exactly `0`; a NaN or `+∞` entry makes every output
//!   NaN, as in the reference. Tolerance: `exp` ≤ 2 ulp per term, the sum in a different order
//!   (≤ n·ε relative, typically ~log n·ε), one reciprocal and one product (the tests allow
//!   16 ε relative plus `2·n·ε` absolute).
//!
//! # Layout and tails
//!
//! Plain slices, 16 values per step with unaligned loads / stores; the last `n % 16` values use
//! masked loads and stores (`__mmask16`) through the same vector formula, so every element gets
//! the same arithmetic and nothing past the slices is touched. In softmax the masked-off lanes
//! load as `−∞` (neutral for the maximum) and are left out of the sum by a masked add.
//! Lengths: the common prefix, like the reference.

use super::dot_float::{hsum16_ps, low_lanes};
use core::arch::x86_64::*;

/// Vector `e^x` of 16 lanes (module docs for the method and its error).
///
/// # Safety
/// The CPU must support AVX-512 F.
#[inline(always)]
pub(super) unsafe fn exp16_ps(x: __m512) -> __m512 {
    // SAFETY: AVX-512 F (caller contract); register-only.
    unsafe {
        // `max(lo, x)` / `min(hi, x)` return the second operand (x) when it is NaN.
        let x = _mm512_min_ps(
            _mm512_set1_ps(89.0),
            _mm512_max_ps(_mm512_set1_ps(-104.0), x),
        );
        let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
            _mm512_mul_ps(x, _mm512_set1_ps(core::f32::consts::LOG2_E)),
        );
        let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693_359_4), x);
        let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.121_944_4e-4), r);
        let mut p = _mm512_set1_ps(1.987_569_1e-4);
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.398_199_9e-3));
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.333_452e-3));
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.166_579_6e-2));
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.666_666_5e-1));
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5));
        let r2 = _mm512_mul_ps(r, r);
        let y = _mm512_add_ps(_mm512_fmadd_ps(p, r2, r), _mm512_set1_ps(1.0));
        // `n` is an integer in [−150, 129] (or NaN, and then `y` is NaN too): `y · 2^n`,
        // rounded once.
        _mm512_scalef_ps(y, n)
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
        // Only the tail's lanes are added (an empty tail adds nothing).
        acc = _mm512_mask_add_ps(acc, tail, acc, e);
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

/// AVX-512 [`crate::kernels::activation::swiglu`] (tolerance: module docs).
pub(crate) fn swiglu(gate: &[f32], up: &[f32], out: &mut [f32]) {
    // SAFETY: reachable only through avx512::kernels() (CPU features checked).
    unsafe { swiglu_avx512(gate, up, out) }
}

/// AVX-512 [`crate::kernels::activation::softmax`] (tolerance: module docs).
pub(crate) fn softmax(x: &mut [f32]) {
    // SAFETY: reachable only through avx512::kernels() (CPU features checked).
    unsafe { softmax_avx512(x) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in ulp between two finite floats of the same sign.
    fn ulp_diff(a: f32, b: f32) -> u32 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
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
    fn exp_within_two_ulp_of_f64() {
        if !has_avx512() {
            return;
        }
        let mut worst = 0;
        let mut x = -103.0f32;
        while x < 88.7 {
            let xs: [f32; 16] = core::array::from_fn(|k| x + k as f32 * 1.37e-3);
            // SAFETY: the features were detected above.
            let got = unsafe { exp16(xs) };
            for (&xi, &g) in xs.iter().zip(&got) {
                let want = libm::exp(f64::from(xi)) as f32;
                if want >= f32::MIN_POSITIVE {
                    worst = worst.max(ulp_diff(g, want));
                } else {
                    // Subnormal range: one subnormal ulp absolute.
                    assert!((g - want).abs() <= f32::from_bits(1), "exp16({xi}) = {g}");
                }
            }
            x += 16.0 * 1.37e-3;
        }
        assert!(worst <= 2, "exp16_ps: {worst} ulp");
        // SAFETY: the features were detected above.
        let special = unsafe {
            exp16([
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
                1.0,
                -1.0,
                0.346,
                -0.346,
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
        assert!(special[8].is_finite());
        for (k, &xi) in [-87.3f32, -100.0, -103.9, 1.0, -1.0, 0.346, -0.346]
            .iter()
            .enumerate()
        {
            let want = libm::exp(f64::from(xi)) as f32;
            let got = special[9 + k];
            if want >= f32::MIN_POSITIVE {
                assert!(ulp_diff(got, want) <= 2, "exp16({xi}) = {got} vs {want}");
            } else {
                assert!(
                    (got - want).abs() <= f32::from_bits(1),
                    "exp16({xi}) = {got}"
                );
            }
        }
    }
}
