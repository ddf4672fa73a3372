//! AVX2 activation quantizers f32 → Q8_0 / Q8_1 / Q8_K, bit-exact with the scalar reference
//! ([`crate::quant::quantize`]).
//!
//! # Math (as the scalar reference, same f32 operation sequence)
//!
//! - Q8_0 / Q8_1, per block of 32: `amax = max |x|`, `d = amax / 127`, `id = d ≠ 0 ? 1 / d : 0`
//!   (scalar f32 division, as the reference), `q = roundf(x · id)`. `roundf` (ties away from
//!   zero) is emulated: `t = trunc(v)`, `v − t` is exact, and `t ± 1` when `|v − t| ≥ 0.5`.
//!   Q8_1 adds `s = f16(Σq as f32 · d)` with `Σq` an exact integer sum.
//! - Q8_K, per super-block of 256: `max` = the first element of largest magnitude,
//!   `iscale = −127 / max`, `q = min(127, nearest_int(iscale · x))` with ggml's magic-constant
//!   `nearest_int` done in integer lanes exactly as the scalar code, `d = 1 / iscale`,
//!   `bsums[g] = Σ q[16g .. 16g + 16]`.
//!
//! `max |x|` is an integer maximum of the sign-cleared bit patterns: for non-NaN floats it orders
//! exactly like the float maximum, and it flags NaN / ∞ (bits ≥ `0x7F80_0000`). Blocks with a
//! NaN or ∞, or whose reciprocal scale is not finite (subnormal `amax`), go through the scalar
//! reference for that one block, so the result is bit-exact for every input.
//!
//! # Layout
//!
//! Input: 4 (Q8_0/Q8_1) or 32 (Q8_K) unaligned `__m256` loads per block. Quants are packed
//! i32 → i16 → i8 with `packs` (values are in −127..=127 there, so saturation never acts) and a
//! lane permute, then one 32-byte unaligned store per 32 quants. Q8_K `bsums`: pairs of
//! `i32x8` quant vectors added, 16 vectors reduced with the block-sum tree
//! ([`crate::arch::x86_64::frame::common::sums8`]), packed to 16 × i16.
//!
//! # Tails
//!
//! `min(x.len() / block, out.len())` blocks are written, like the scalar reference; a trailing
//! partial block of `x` and surplus output blocks are untouched.

use crate::arch::x86_64::frame::common::{hsum_epi32, pack_i32x32_to_i8, sums8};
use crate::arch::x86_64::frame::q8k::{self, Q8KVectors};
use crate::quant::quantize as scalar;
use crate::quant::{BlockQ8K, BlockQ8_0, BlockQ8_1, QK, QK_K};
use core::arch::x86_64::*;
use half::f16;

/// Bits of the sign-cleared largest magnitude of `v` (integer max of `bits & 0x7FFF_FFFF`).
///
/// # Safety
/// The CPU must support AVX2.
#[inline(always)]
unsafe fn abs_max_bits(v: &[__m256]) -> u32 {
    // SAFETY: AVX2 is available (caller contract); register-only.
    unsafe {
        let mask = _mm256_set1_epi32(0x7FFF_FFFF);
        let mut m = _mm256_setzero_si256();
        for &x in v {
            m = _mm256_max_epi32(m, _mm256_and_si256(_mm256_castps_si256(x), mask));
        }
        let m4 = _mm_max_epi32(_mm256_castsi256_si128(m), _mm256_extracti128_si256::<1>(m));
        let m2 = _mm_max_epi32(m4, _mm_unpackhi_epi64(m4, m4));
        let m1 = _mm_max_epi32(m2, _mm_shuffle_epi32::<0b01>(m2));
        _mm_cvtsi128_si32(m1) as u32
    }
}

/// `roundf(x · id)` as i32 lanes for 8 values (finite products with |·| < 2^31).
///
/// # Safety
/// The CPU must support AVX.
#[inline(always)]
unsafe fn round_away_scaled(x: __m256, id: __m256) -> __m256i {
    // SAFETY: AVX is available (caller contract); register-only.
    unsafe {
        let sign = _mm256_set1_ps(-0.0);
        let v = _mm256_mul_ps(x, id);
        let t = _mm256_round_ps::<{ _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC }>(v);
        let frac = _mm256_andnot_ps(sign, _mm256_sub_ps(v, t));
        let up = _mm256_cmp_ps::<_CMP_GE_OQ>(frac, _mm256_set1_ps(0.5));
        let one = _mm256_or_ps(_mm256_and_ps(v, sign), _mm256_set1_ps(1.0));
        _mm256_cvttps_epi32(_mm256_add_ps(t, _mm256_and_ps(up, one)))
    }
}

/// Loads 32 floats from `p`.
///
/// # Safety
/// `p` must be valid for reading 32 `f32`; the CPU must support AVX.
#[inline(always)]
unsafe fn load32(p: *const f32) -> [__m256; 4] {
    // SAFETY: the caller guarantees 32 readable floats; unaligned loads.
    unsafe {
        [
            _mm256_loadu_ps(p),
            _mm256_loadu_ps(p.add(8)),
            _mm256_loadu_ps(p.add(16)),
            _mm256_loadu_ps(p.add(24)),
        ]
    }
}

/// The Q8_0 / Q8_1 scale of a block, or `None` when the block needs the scalar path
/// (NaN / ∞ input, or a non-finite reciprocal).
#[inline(always)]
fn q8_scale(amax_bits: u32) -> Option<(f32, f32)> {
    if amax_bits >= 0x7F80_0000 {
        return None;
    }
    let d = f32::from_bits(amax_bits) / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    id.is_finite().then_some((d, id))
}

/// Quantizes 32 floats with reciprocal scale `id`: returns the packed quants and their i32 sums.
///
/// # Safety
/// The CPU must support AVX2.
#[inline(always)]
unsafe fn quantize32(v: &[__m256; 4], id: f32) -> (__m256i, __m256i) {
    // SAFETY: AVX2 is available (caller contract); register-only.
    unsafe {
        let idv = _mm256_set1_ps(id);
        let q = [
            round_away_scaled(v[0], idv),
            round_away_scaled(v[1], idv),
            round_away_scaled(v[2], idv),
            round_away_scaled(v[3], idv),
        ];
        let sum = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
        (pack_i32x32_to_i8(q), sum)
    }
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn quantize_q8_0_avx2(x: &[f32], out: &mut [BlockQ8_0]) {
    for (xb, yb) in x.chunks_exact(QK).zip(out.iter_mut()) {
        // SAFETY: `xb` holds exactly 32 floats.
        let v = unsafe { load32(xb.as_ptr()) };
        // SAFETY: AVX2 is enabled in this function.
        let Some((d, id)) = q8_scale(unsafe { abs_max_bits(&v) }) else {
            scalar::quantize_q8_0(xb, core::slice::from_mut(yb));
            continue;
        };
        yb.d = f16::from_f32(d);
        // SAFETY: AVX2 is enabled; the store writes the 32 bytes of `yb.qs`.
        unsafe {
            let (q, _) = quantize32(&v, id);
            _mm256_storeu_si256(yb.qs.as_mut_ptr().cast(), q);
        }
    }
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn quantize_q8_1_avx2(x: &[f32], out: &mut [BlockQ8_1]) {
    for (xb, yb) in x.chunks_exact(QK).zip(out.iter_mut()) {
        // SAFETY: `xb` holds exactly 32 floats.
        let v = unsafe { load32(xb.as_ptr()) };
        // SAFETY: AVX2 is enabled in this function.
        let Some((d, id)) = q8_scale(unsafe { abs_max_bits(&v) }) else {
            scalar::quantize_q8_1(xb, core::slice::from_mut(yb));
            continue;
        };
        yb.d = f16::from_f32(d);
        // SAFETY: AVX2 is enabled; the store writes the 32 bytes of `yb.qs`.
        let sum = unsafe {
            let (q, sum) = quantize32(&v, id);
            _mm256_storeu_si256(yb.qs.as_mut_ptr().cast(), q);
            hsum_epi32(sum)
        };
        yb.s = f16::from_f32(sum as f32 * d);
    }
}

/// The Q8_K super-block in 32 `f32x8` vectors, for the frame's quantizer ([`q8k`]).
struct Avx2Q8K;

impl Q8KVectors for Avx2Q8K {
    type Block = [__m256; 32];
    #[inline(always)]
    unsafe fn load(xb: &[f32; QK_K]) -> [__m256; 32] {
        let p = xb.as_ptr();
        // SAFETY: AVX2 (caller contract); 32 × 8 floats inside `xb`.
        core::array::from_fn(|i| unsafe { _mm256_loadu_ps(p.add(8 * i)) })
    }
    #[inline(always)]
    unsafe fn abs_max_bits(v: &[__m256; 32]) -> u32 {
        // SAFETY: AVX2 (caller contract).
        unsafe { abs_max_bits(v) }
    }
    #[inline(always)]
    unsafe fn first_with_abs_bits(v: &[__m256; 32], bits: u32) -> usize {
        // SAFETY: AVX2 (caller contract); register-only.
        unsafe {
            let target = _mm256_set1_epi32(bits as i32);
            let abs_mask = _mm256_set1_epi32(0x7FFF_FFFF);
            for (i, &vi) in v.iter().enumerate() {
                let bits = _mm256_and_si256(_mm256_castps_si256(vi), abs_mask);
                let m = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(bits, target)));
                if m != 0 {
                    return 8 * i + m.trailing_zeros() as usize;
                }
            }
            0
        }
    }
    #[inline(always)]
    unsafe fn store_quants(v: &[__m256; 32], iscale: f32, yb: &mut BlockQ8K) {
        // SAFETY: AVX2 (caller contract); stores write inside `yb.qs` (8 × 32 bytes) and
        // `yb.bsums` (32 bytes).
        unsafe {
            let isv = _mm256_set1_ps(iscale);
            let magic = _mm256_set1_ps(12_582_912.0);
            let mant = _mm256_set1_epi32(0x007F_FFFF);
            let bias = _mm256_set1_epi32(0x0040_0000);
            let cap = _mm256_set1_epi32(127);
            let q: [__m256i; 32] = core::array::from_fn(|i| {
                let t = _mm256_add_ps(_mm256_mul_ps(isv, v[i]), magic);
                let n = _mm256_sub_epi32(_mm256_and_si256(_mm256_castps_si256(t), mant), bias);
                _mm256_min_epi32(n, cap)
            });
            let dst = yb.qs.as_mut_ptr();
            for g in 0..8 {
                let packed =
                    pack_i32x32_to_i8([q[4 * g], q[4 * g + 1], q[4 * g + 2], q[4 * g + 3]]);
                _mm256_storeu_si256(dst.add(32 * g).cast(), packed);
            }
            let s16: [__m256i; 16] =
                core::array::from_fn(|g| _mm256_add_epi32(q[2 * g], q[2 * g + 1]));
            let lo = sums8(&[
                s16[0], s16[1], s16[2], s16[3], s16[4], s16[5], s16[6], s16[7],
            ]);
            let hi = sums8(&[
                s16[8], s16[9], s16[10], s16[11], s16[12], s16[13], s16[14], s16[15],
            ]);
            let packed = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_packs_epi32(lo, hi));
            _mm256_storeu_si256(yb.bsums.as_mut_ptr().cast(), packed);
        }
    }
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn quantize_q8_k_avx2(x: &[f32], out: &mut [BlockQ8K]) {
    // SAFETY: the features are enabled in this function.
    unsafe { q8k::quantize_q8_k::<Avx2Q8K>(x, out) }
}

/// AVX2 [`crate::quant::quantize::quantize_q8_0`] (bit-exact).
pub(crate) fn quantize_q8_0(x: &[f32], out: &mut [BlockQ8_0]) {
    // SAFETY: this function is only reachable through `avx2::kernels()`, whose caller checked
    // AVX2 + FMA + F16C.
    unsafe { quantize_q8_0_avx2(x, out) }
}

/// AVX2 [`crate::quant::quantize::quantize_q8_1`] (bit-exact).
pub(crate) fn quantize_q8_1(x: &[f32], out: &mut [BlockQ8_1]) {
    // SAFETY: reachable only through `avx2::kernels()` (CPU features checked).
    unsafe { quantize_q8_1_avx2(x, out) }
}

/// AVX2 [`crate::quant::quantize::quantize_q8_k`] (bit-exact).
pub(crate) fn quantize_q8_k(x: &[f32], out: &mut [BlockQ8K]) {
    // SAFETY: reachable only through `avx2::kernels()` (CPU features checked).
    unsafe { quantize_q8_k_avx2(x, out) }
}
