//! AVX-512 activation quantizers f32 → Q8_0 / Q8_1 / Q8_K, bit-exact with the scalar reference
//! ([`crate::quant::quantize`]).
//!
//! # Math (as the scalar reference, same f32 operation sequence)
//!
//! - Q8_0 / Q8_1, per block of 32: `amax = max |x|`, `d = amax / 127`, `id = d ≠ 0 ? 1 / d : 0`
//!   (both scalar f32 divisions, as the reference), `q = roundf(x · id)` (one f32 multiply, no
//!   fused operation). `roundf` (ties away from zero) is emulated exactly: `t = trunc(v)`
//!   (`vrndscaleps`), `v − t` is exact, and `t` moves one away from zero when `|v − t| ≥ 0.5`
//!   (a compare mask and a masked add of `±1` carrying the sign of `v`; `−0` stays `−0` and
//!   converts to 0). Q8_1 adds `s = f16(Σq as f32 · d)` with `Σq` an exact integer sum and `d`
//!   the unrounded f32 scale; both scales go through [`half::f16::from_f32`] like the reference.
//! - Q8_K, per super-block of 256: `max` = the first element of largest magnitude (the
//!   reference's strict `>` scan), `iscale = −127 / max`, `q = min(127, nearest_int(iscale · x))`
//!   with ggml's magic-constant `nearest_int` (separate f32 multiply and add of 1.5·2²³, then
//!   the mantissa read in integer lanes: ties to even, exactly as the scalar code),
//!   `d = 1 / iscale` (scalar f32), `bsums[g] = Σ q[16g .. 16g + 16]` (exact integer sums).
//!
//! `max |x|` is an integer maximum of the sign-cleared bit patterns: for non-NaN floats it orders
//! exactly like the float maximum (and is exact in any order), and it flags NaN / ∞
//! (bits ≥ `0x7F80_0000`). Blocks with a NaN or ∞, or whose reciprocal scale is not finite
//! (subnormal `amax` / `max`), go through the scalar reference for that one block, so the result
//! is bit-exact for every input.
//!
//! # Layout
//!
//! Input: 2 (Q8_0 / Q8_1) or 16 (Q8_K) unaligned `__m512` loads per block; one `i32x16` lane
//! vector per 16 quants. Q8_0 / Q8_1 narrow with the saturating `vpmovsdb` (the reference's
//! saturating `f32 as i8`; for a finite `id`, `|x · id| ≤ 127·(1 + 2⁻²²)` so it never acts)
//! into one 32-byte store. Q8_K narrows with the truncating `vpmovdb` (the reference's wrapping
//! `i32 as i8`; values are in −127..=127) into 16 × 16-byte stores. Q8_K `bsums`: the 16 quant
//! vectors are exactly the 16 groups, reduced together by a 4-level tree (128-bit lane
//! shuffles, then in-lane unpacks) into one `i32x16` whose element `4m + i` holds group
//! `m + 4i`, put in order by one `vpermd`, and narrowed to 16 × i16 (`vpmovdw`; sums are within
//! ±2032) into one 32-byte store.
//!
//! # Tails
//!
//! `min(x.len() / block, out.len())` blocks are written, like the scalar reference and the AVX2
//! tier; a trailing partial block of `x` and surplus output blocks are untouched. Nothing panics
//! (any lengths are accepted, as by the reference) and nothing allocates.

use crate::arch::x86_64::frame::q8k::{self, Q8KVectors};
use crate::quant::quantize as scalar;
use crate::quant::{BlockQ8K, BlockQ8_0, BlockQ8_1, QK, QK_K};
use core::arch::x86_64::*;
use half::f16;

/// Sign-cleared bit patterns of `x` (`|x|` as ordered integers for non-NaN floats).
///
/// # Safety
/// The CPU must support AVX-512 F.
#[inline(always)]
unsafe fn abs_bits(x: __m512) -> __m512i {
    // SAFETY: AVX-512 F is available (caller contract); register-only.
    unsafe { _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(0x7FFF_FFFF)) }
}

/// Bits of the sign-cleared largest magnitude of `v` (integer max of `bits & 0x7FFF_FFFF`).
///
/// # Safety
/// The CPU must support AVX-512 F.
#[inline(always)]
unsafe fn abs_max_bits(v: &[__m512]) -> u32 {
    // SAFETY: AVX-512 F is available (caller contract); register-only.
    unsafe {
        let mut m = _mm512_setzero_si512();
        for &x in v {
            m = _mm512_max_epi32(m, abs_bits(x));
        }
        // Lanes are non-negative, so the signed maximum is the unsigned one.
        _mm512_reduce_max_epi32(m) as u32
    }
}

/// `roundf(x · id)` (ties away from zero) as i32 lanes, for 16 values whose products are finite
/// with `|·| < 2³¹`.
///
/// # Safety
/// The CPU must support AVX-512 F.
#[inline(always)]
unsafe fn round_away_scaled(x: __m512, id: __m512) -> __m512i {
    // SAFETY: AVX-512 F is available (caller contract); register-only.
    unsafe {
        let v = _mm512_mul_ps(x, id);
        let t = _mm512_roundscale_ps::<{ _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC }>(v);
        // |v − t| < 1 is exact (t is v with its fraction bits cleared).
        let frac = _mm512_abs_ps(_mm512_sub_ps(v, t));
        let up = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(frac, _mm512_set1_ps(0.5));
        // ±1 with the sign of v (integer ops: the float logic ops need AVX-512 DQ).
        let sign = _mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(i32::MIN));
        let one = _mm512_castsi512_ps(_mm512_or_si512(
            sign,
            _mm512_castps_si512(_mm512_set1_ps(1.0)),
        ));
        // t ± 1 is exact (|t| < 2²⁴ whenever there is a fraction to round).
        _mm512_cvttps_epi32(_mm512_mask_add_ps(t, up, t, one))
    }
}

/// Loads 32 floats from `p`.
///
/// # Safety
/// `p` must be valid for reading 32 `f32`; the CPU must support AVX-512 F.
#[inline(always)]
unsafe fn load32(p: *const f32) -> [__m512; 2] {
    // SAFETY: the caller guarantees 32 readable floats; unaligned loads.
    unsafe { [_mm512_loadu_ps(p), _mm512_loadu_ps(p.add(16))] }
}

/// The Q8_0 / Q8_1 scale `(d, id)` of a block, computed exactly as the reference does, or `None`
/// when the block needs the scalar path (NaN / ∞ input, or a non-finite reciprocal).
#[inline(always)]
fn q8_scale(amax_bits: u32) -> Option<(f32, f32)> {
    if amax_bits >= 0x7F80_0000 {
        return None;
    }
    let d = f32::from_bits(amax_bits) / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    id.is_finite().then_some((d, id))
}

/// Quantizes the 32 floats of `v` with reciprocal scale `id` and stores the quants to `dst`;
/// returns the i32 lane sums of the quants (16 lanes, to be reduced).
///
/// # Safety
/// `dst` must be valid for writing 32 bytes; the CPU must support AVX-512 F and AVX-512 VL's
/// 256-bit forms (AVX2 for the store).
#[inline(always)]
unsafe fn quantize32(v: &[__m512; 2], id: f32, dst: *mut i8) -> __m512i {
    // SAFETY: AVX-512 F + AVX2 are available (caller contract); the one store writes the 32
    // bytes the caller guarantees.
    unsafe {
        let idv = _mm512_set1_ps(id);
        let q0 = round_away_scaled(v[0], idv);
        let q1 = round_away_scaled(v[1], idv);
        let lo = _mm512_cvtsepi32_epi8(q0);
        let hi = _mm512_cvtsepi32_epi8(q1);
        let packed = _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(lo), hi);
        _mm256_storeu_si256(dst.cast(), packed);
        _mm512_add_epi32(q0, q1)
    }
}

/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn quantize_q8_0_avx512(x: &[f32], out: &mut [BlockQ8_0]) {
    for (xb, yb) in x.chunks_exact(QK).zip(out.iter_mut()) {
        // SAFETY: `xb` holds exactly 32 floats; AVX-512 F is enabled in this function.
        let v = unsafe { load32(xb.as_ptr()) };
        // SAFETY: AVX-512 F is enabled in this function.
        let Some((d, id)) = q8_scale(unsafe { abs_max_bits(&v) }) else {
            scalar::quantize_q8_0(xb, core::slice::from_mut(yb));
            continue;
        };
        yb.d = f16::from_f32(d);
        // SAFETY: AVX-512 F + AVX2 are enabled; the store writes the 32 bytes of `yb.qs`.
        unsafe { quantize32(&v, id, yb.qs.as_mut_ptr()) };
    }
}

/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn quantize_q8_1_avx512(x: &[f32], out: &mut [BlockQ8_1]) {
    for (xb, yb) in x.chunks_exact(QK).zip(out.iter_mut()) {
        // SAFETY: `xb` holds exactly 32 floats; AVX-512 F is enabled in this function.
        let v = unsafe { load32(xb.as_ptr()) };
        // SAFETY: AVX-512 F is enabled in this function.
        let Some((d, id)) = q8_scale(unsafe { abs_max_bits(&v) }) else {
            scalar::quantize_q8_1(xb, core::slice::from_mut(yb));
            continue;
        };
        yb.d = f16::from_f32(d);
        // SAFETY: AVX-512 F + AVX2 are enabled; the store writes the 32 bytes of `yb.qs`.
        let sum = unsafe { _mm512_reduce_add_epi32(quantize32(&v, id, yb.qs.as_mut_ptr())) };
        yb.s = f16::from_f32(sum as f32 * d);
    }
}

/// `bsums` of a Q8_K super-block: `q[g]` holds the 16 quants of group `g` as i32 lanes; returns
/// the 16 group sums in order (element `g` = `Σ q[g]`).
///
/// # Safety
/// The CPU must support AVX-512 F.
#[inline(always)]
unsafe fn group_sums(q: &[__m512i; 16]) -> __m512i {
    // SAFETY: AVX-512 F is available (caller contract); register-only.
    unsafe {
        // Level 1: 128-bit lanes [a0, a1, b0, b1] + [a2, a3, b2, b3]: lanes 0–1 hold group 2j,
        // lanes 2–3 group 2j + 1 (8 partial sums each).
        let mut s1 = [_mm512_setzero_si512(); 8];
        for j in 0..8 {
            let (a, b) = (q[2 * j], q[2 * j + 1]);
            s1[j] = _mm512_add_epi32(
                _mm512_shuffle_i64x2::<0b01_00_01_00>(a, b),
                _mm512_shuffle_i64x2::<0b11_10_11_10>(a, b),
            );
        }
        // Level 2: [c0, c2, e0, e2] + [c1, c3, e1, e3]: 128-bit lane m holds group 4k + m
        // (4 partial sums).
        let mut s2 = [_mm512_setzero_si512(); 4];
        for k in 0..4 {
            let (c, e) = (s1[2 * k], s1[2 * k + 1]);
            s2[k] = _mm512_add_epi32(
                _mm512_shuffle_i64x2::<0b10_00_10_00>(c, e),
                _mm512_shuffle_i64x2::<0b11_01_11_01>(c, e),
            );
        }
        // Level 3, within each 128-bit lane m: [p0, r0, p1, r1] + [p2, r2, p3, r3] =
        // [G(8n + m), G(8n + 4 + m), G(8n + m), G(8n + 4 + m)] (2 partial sums each).
        let mut s3 = [_mm512_setzero_si512(); 2];
        for n in 0..2 {
            let (p, r) = (s2[2 * n], s2[2 * n + 1]);
            s3[n] = _mm512_add_epi32(_mm512_unpacklo_epi32(p, r), _mm512_unpackhi_epi32(p, r));
        }
        // Level 4, within each 128-bit lane m: [u0, u1, w0, w1] + [u2, u3, w2, w3] =
        // [G(m), G(4 + m), G(8 + m), G(12 + m)] (complete sums).
        let (u, w) = (s3[0], s3[1]);
        let t = _mm512_add_epi32(_mm512_unpacklo_epi64(u, w), _mm512_unpackhi_epi64(u, w));
        // Element 4m + i holds group m + 4i: output g reads element 4·(g mod 4) + g / 4.
        let idx = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
        _mm512_permutexvar_epi32(idx, t)
    }
}

/// The Q8_K super-block in 16 `f32x16` vectors, for the frame's quantizer ([`q8k`]).
struct Avx512Q8K;

impl Q8KVectors for Avx512Q8K {
    type Block = [__m512; 16];
    #[inline(always)]
    unsafe fn load(xb: &[f32; QK_K]) -> [__m512; 16] {
        // SAFETY: AVX-512 F (caller contract); 16 × 16 floats inside `xb`.
        unsafe {
            let p = xb.as_ptr();
            let mut v = [_mm512_setzero_ps(); 16];
            for (i, vi) in v.iter_mut().enumerate() {
                *vi = _mm512_loadu_ps(p.add(16 * i));
            }
            v
        }
    }
    #[inline(always)]
    unsafe fn abs_max_bits(v: &[__m512; 16]) -> u32 {
        // SAFETY: AVX-512 F (caller contract).
        unsafe { abs_max_bits(v) }
    }
    #[inline(always)]
    unsafe fn first_with_abs_bits(v: &[__m512; 16], bits: u32) -> usize {
        // SAFETY: AVX-512 F (caller contract); register-only.
        unsafe {
            let target = _mm512_set1_epi32(bits as i32);
            for (i, &vi) in v.iter().enumerate() {
                let m = _mm512_cmpeq_epi32_mask(abs_bits(vi), target);
                if m != 0 {
                    return 16 * i + m.trailing_zeros() as usize;
                }
            }
            0
        }
    }
    #[inline(always)]
    unsafe fn store_quants(v: &[__m512; 16], iscale: f32, yb: &mut BlockQ8K) {
        // SAFETY: AVX-512 F + AVX2 (caller contract); stores write inside `yb.qs`
        // (16 × 16 bytes) and `yb.bsums` (32 bytes).
        unsafe {
            let isv = _mm512_set1_ps(iscale);
            let magic = _mm512_set1_ps(12_582_912.0);
            let mant = _mm512_set1_epi32(0x007F_FFFF);
            let bias = _mm512_set1_epi32(0x0040_0000);
            let cap = _mm512_set1_epi32(127);
            let dst = yb.qs.as_mut_ptr();
            let mut q = [_mm512_setzero_si512(); 16];
            for (g, (qg, &vg)) in q.iter_mut().zip(v).enumerate() {
                // Separate multiply and add (two roundings), as the scalar `iscale * v + magic`.
                let t = _mm512_add_ps(_mm512_mul_ps(isv, vg), magic);
                let n = _mm512_sub_epi32(_mm512_and_si512(_mm512_castps_si512(t), mant), bias);
                *qg = _mm512_min_epi32(n, cap);
                _mm_storeu_si128(dst.add(16 * g).cast(), _mm512_cvtepi32_epi8(*qg));
            }
            let sums = _mm512_cvtepi32_epi16(group_sums(&q));
            _mm256_storeu_si256(yb.bsums.as_mut_ptr().cast(), sums);
        }
    }
}

/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn quantize_q8_k_avx512(x: &[f32], out: &mut [BlockQ8K]) {
    // SAFETY: the features are enabled in this function.
    unsafe { q8k::quantize_q8_k::<Avx512Q8K>(x, out) }
}

/// AVX-512 [`crate::quant::quantize::quantize_q8_0`] (bit-exact).
pub(crate) fn quantize_q8_0(x: &[f32], out: &mut [BlockQ8_0]) {
    // SAFETY: reachable only through avx512::kernels() (CPU features checked).
    unsafe { quantize_q8_0_avx512(x, out) }
}

/// AVX-512 [`crate::quant::quantize::quantize_q8_1`] (bit-exact).
pub(crate) fn quantize_q8_1(x: &[f32], out: &mut [BlockQ8_1]) {
    // SAFETY: reachable only through avx512::kernels() (CPU features checked).
    unsafe { quantize_q8_1_avx512(x, out) }
}

/// AVX-512 [`crate::quant::quantize::quantize_q8_k`] (bit-exact).
pub(crate) fn quantize_q8_k(x: &[f32], out: &mut [BlockQ8K]) {
    // SAFETY: reachable only through avx512::kernels() (CPU features checked).
    unsafe { quantize_q8_k_avx512(x, out) }
}
