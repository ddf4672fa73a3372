//! The float order: the one sequence of `f32` operations that every tier evaluates for every
//! float kernel, so that all tiers (and every SVE vector length) give the same bits.
//!
//! The integer kernels are exact by construction (see [`super::dot`]). The float kernels (the
//! `f32` / `f16` dot products and their gemms, RMSNorm, SwiGLU, softmax, RoPE and the attention
//! loops) are defined here and in their modules as an exact order of IEEE-754 operations with
//! round-to-nearest-even, each correctly rounded: `+ − · /`, `sqrt`, and the fused multiply-add
//! [`fma`] where a formula says "fma". Every SIMD tier reproduces that order lane for lane; the
//! `tier_equivalence` tests and the model-level `tier_identity` test compare bits.
//!
//! # Sums: [`FLOAT_LANES`] interleaved lanes and one fold
//!
//! A sum over `n` elements (a dot product, a sum of squares, the softmax denominator) keeps
//! [`FLOAT_LANES`] `= 16` partial sums. Element `i` goes to lane `i % 16`, elements in
//! increasing order. The input is zero-padded to a whole number of 16-element chunks and the
//! padding goes through the same operation as real elements (`acc = fma(0, 0, acc)` or
//! `acc = acc + 0`), so a SIMD tier may process its tail with zero-filled (masked) loads. The
//! lanes start at `+0.0` and are folded in halves by [`fold_lanes`]: lane `i` plus lane `i + 8`,
//! then `i + 4`, `i + 2`, `i + 1`. This is one 512-bit vector folded in halves, two 256-bit
//! vectors added and then folded, four 128-bit vectors added pairwise (0+2, 1+3, then the two
//! results) and folded, or an SVE vector at any length (more registers at 128 and 256 bits, a
//! 16-lane predicate beyond 512).
//!
//! # The exponential: [`exp`]
//!
//! SwiGLU and softmax use [`exp`], a fixed polynomial evaluated with [`fma`] (Cephes' `expf`
//! coefficients), never a platform `expf`. Within 2 ulp of the true `e^x` on the normal range.
//!
//! # NaN
//!
//! Where an input is NaN, the output that the reference makes NaN is NaN on every tier; the NaN
//! payload (and sign) is not part of the contract. Comparisons of tiers treat any two NaNs as
//! equal.

use half::f16;

/// Number of interleaved partial sums of every float sum (module docs).
pub const FLOAT_LANES: usize = 16;

/// Fused multiply-add `a · b + c` with one rounding (hardware `fma` where the CPU has one,
/// libm's exact software fallback elsewhere: the result is the same bits either way).
#[inline]
pub fn fma(a: f32, b: f32, c: f32) -> f32 {
    libm::fmaf(a, b, c)
}

/// The fold of the [`FLOAT_LANES`] partial sums: for `w` = 8, 4, 2, 1, lane `i < w` becomes
/// `lane[i] + lane[i + w]`; the result is lane 0.
#[inline]
pub fn fold_lanes(acc: [f32; FLOAT_LANES]) -> f32 {
    let [a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15] = acc;
    let [b0, b1, b2, b3, b4, b5, b6, b7] = [
        a0 + a8,
        a1 + a9,
        a2 + a10,
        a3 + a11,
        a4 + a12,
        a5 + a13,
        a6 + a14,
        a7 + a15,
    ];
    let [c0, c1, c2, c3] = [b0 + b4, b1 + b5, b2 + b6, b3 + b7];
    (c0 + c2) + (c1 + c3)
}

/// A value a float kernel reads as `f32` (exactly: `f16 → f32` is exact).
pub trait FloatInput: Copy {
    /// The exact `f32` value.
    fn to_f32(self) -> f32;
}
impl FloatInput for f32 {
    #[inline]
    fn to_f32(self) -> f32 {
        self
    }
}
impl FloatInput for f16 {
    #[inline]
    fn to_f32(self) -> f32 {
        f16::to_f32(self)
    }
}

/// `Σ_i a_i · b_i` over the common prefix, in the float order: `lane[i % 16] =
/// fma(a_i, b_i, lane[i % 16])`, zero-padded to a multiple of 16, then [`fold_lanes`].
pub fn dot_lanes<A: FloatInput, B: FloatInput>(a: &[A], b: &[B]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (a.get(..n).unwrap_or(&[]), b.get(..n).unwrap_or(&[]));
    let mut acc = [0.0f32; FLOAT_LANES];
    let (mut ca, mut cb) = (a.chunks_exact(FLOAT_LANES), b.chunks_exact(FLOAT_LANES));
    for (xa, xb) in (&mut ca).zip(&mut cb) {
        for ((l, &va), &vb) in acc.iter_mut().zip(xa).zip(xb) {
            *l = fma(va.to_f32(), vb.to_f32(), *l);
        }
    }
    let (ta, tb) = (ca.remainder(), cb.remainder());
    if !ta.is_empty() {
        for (i, l) in acc.iter_mut().enumerate() {
            let va = ta.get(i).map_or(0.0, |v| v.to_f32());
            let vb = tb.get(i).map_or(0.0, |v| v.to_f32());
            *l = fma(va, vb, *l);
        }
    }
    fold_lanes(acc)
}

/// `Σ_i x_i` in the float order: `lane[i % 16] = lane[i % 16] + x_i`, zero-padded to a multiple
/// of 16, then [`fold_lanes`].
pub fn sum_lanes(x: &[f32]) -> f32 {
    let mut acc = [0.0f32; FLOAT_LANES];
    let mut chunks = x.chunks_exact(FLOAT_LANES);
    for c in &mut chunks {
        for (l, &v) in acc.iter_mut().zip(c) {
            *l += v;
        }
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, l) in acc.iter_mut().enumerate() {
            *l += tail.get(i).copied().unwrap_or(0.0);
        }
    }
    fold_lanes(acc)
}

/// Inputs above this give `+∞` (`e^89 > f32::MAX`); the clamp keeps the range reduction finite.
pub const EXP_HI: f32 = 89.0;
/// Inputs below this give `+0.0` (`e^−110` is under half the smallest subnormal).
pub const EXP_LO: f32 = -110.0;
/// `1.5 · 2^23`: adding and subtracting it rounds an `f32` of magnitude `< 2^22` to the nearest
/// integer, ties to even.
pub const EXP_ROUND: f32 = 12_582_912.0;
/// `log2 e` rounded to `f32`.
pub const EXP_LOG2E: f32 = core::f32::consts::LOG2_E;
/// High part of `ln 2` (9 significant bits, so `n · C1` is exact for the `n` that occur).
pub const EXP_C1: f32 = 355.0 / 512.0;
/// Low part of `ln 2`: `C1 + C2 ≈ ln 2`.
pub const EXP_C2: f32 = -2.121_944_4e-4;
/// Polynomial coefficients `P0..P5` (Cephes `expf`, `P5 = 0.5`).
pub const EXP_P: [f32; 6] = [
    1.987_569_1e-4,
    1.398_199_9e-3,
    8.333_452e-3,
    4.166_579_6e-2,
    1.666_666_5e-1,
    0.5,
];

/// `2^k` for `−126 ≤ k ≤ 127`, built from its exponent field.
#[inline]
fn pow2(k: i32) -> f32 {
    f32::from_bits(((k + 127) as u32) << 23)
}

/// The exponential of the float order, in exactly these steps (all `f32`):
///
/// 1. NaN gives NaN. Otherwise `x ← min(max(x, EXP_LO), EXP_HI)`.
/// 2. `n = (x · EXP_LOG2E + EXP_ROUND) − EXP_ROUND` (the product rounded, then the two sums:
///    round to nearest, ties to even).
/// 3. `r = fma(−n, EXP_C1, x)`, then `r = fma(−n, EXP_C2, r)`.
/// 4. `p = P0`, then `p = fma(p, r, P_k)` for `k = 1..=5`.
/// 5. `y = fma(p, r · r, r) + 1.0` (the square rounded, then the fma, then the sum).
/// 6. With the integer `k = n` (`−159 ≤ k ≤ 129`), `k1 = k >> 1` (floor) and `k2 = k − k1`:
///    `e^x = (y · 2^k1) · 2^k2`. The first product is exact; the second rounds once, so results
///    overflow to `+∞` and underflow through the subnormals to `+0.0` like the true function.
pub fn exp(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    // Not NaN here; the bounds are constants with EXP_LO < EXP_HI, so `clamp` cannot panic.
    let x = x.clamp(EXP_LO, EXP_HI);
    let n = (x * EXP_LOG2E + EXP_ROUND) - EXP_ROUND;
    let r = fma(-n, EXP_C1, x);
    let r = fma(-n, EXP_C2, r);
    let mut p = EXP_P[0];
    for &c in &EXP_P[1..] {
        p = fma(p, r, c);
    }
    let y = fma(p, r * r, r) + 1.0;
    // `n` is an integer in −159..=129 (step 6), so the conversion is exact.
    let k = n as i32;
    let k1 = k >> 1;
    let k2 = k - k1;
    (y * pow2(k1)) * pow2(k2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulp_distance(a: f32, b: f32) -> u32 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }

    #[test]
    #[cfg_attr(miri, ignore = "a 240k-point sweep, too slow under Miri")]
    fn exp_within_two_ulp_of_f64_on_the_normal_range() {
        let mut worst = 0;
        let mut x = -87.0f32;
        while x < 88.7 {
            let want = libm::exp(f64::from(x)) as f32;
            worst = worst.max(ulp_distance(exp(x), want));
            x += 0.000_731;
        }
        assert!(worst <= 2, "worst {worst} ulp");
    }

    #[test]
    fn exp_edges() {
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-0.0), 1.0);
        assert_eq!(exp(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp(89.0), f32::INFINITY);
        assert_eq!(exp(f32::NEG_INFINITY).to_bits(), 0);
        assert_eq!(exp(-200.0).to_bits(), 0);
        assert!(exp(f32::NAN).is_nan());
        // Gradual underflow: e^−100 ≈ 3.7e−44 is subnormal, within one subnormal step.
        let want = libm::exp(-100.0) as f32;
        assert!(ulp_distance(exp(-100.0), want) <= 1);
        assert!(exp(-100.0) > 0.0);
    }

    #[test]
    fn fold_is_halves() {
        let acc: [f32; 16] = core::array::from_fn(|i| (1u32 << i) as f32);
        assert_eq!(fold_lanes(acc), 65535.0);
        // Order check with cancellation: 1e8 in lane 0 and −1e8 in lane 8 cancel first.
        let mut a = [0.0f32; 16];
        a[0] = 1e8;
        a[8] = -1e8;
        a[1] = 1.0;
        assert_eq!(fold_lanes(a), 1.0);
    }

    #[test]
    fn dot_pads_the_tail() {
        let a: [f32; 19] = core::array::from_fn(|i| i as f32);
        let b = [1.0f32; 19];
        assert_eq!(dot_lanes(&a, &b), 171.0);
        assert_eq!(dot_lanes(&a[..0], &b), 0.0);
        assert_eq!(sum_lanes(&a), 171.0);
    }
}
