//! The one-column (decode) tile of the K formats against Q8_K: super-blocks in pairs, one
//! shared horizontal reduction and one float-term vector per pair ([`tile_pairs`]), for the
//! 256-bit formats of [`super::kformat`]. Bit-identical to [`super::kformat::tile`]`::<F, R, 1>`
//! (the same per-super-block integer sums and float terms, added in super-block order); it
//! exists because the reduction and term conversions dominate a one-column K dot.
//!
//! Q4_K and Q5_K decode their two super-blocks' 6-bit scales and mins together
//! ([`super::kformat::k4_unpack_pair`]); the pair's terms come from one `vcvtph2ps` of the four
//! f16 scales ([`k4_terms_pair_lanes`], also used by [`super::k4_table`]).

use super::common::prefetch_stream;
use super::kformat::{
    k4_unpack_pair, k4_vecs, q4k_quants, q5k_quants, q6_vecs, K4Unpacked, KFormat, Q6Unpacked, Q4K,
    Q5K, Q6K,
};
use crate::quant::{BlockQ4K, BlockQ5K, BlockQ6K, BlockQ8K};
use core::arch::x86_64::*;

/// A K format on the one-column (decode) tile: super-blocks in pairs, whose four integer
/// vectors are reduced by one shared `hadd` tree and whose two float terms are formed in one
/// vector. Same operations per super-block as [`KFormat::isums`] / [`KFormat::term`], so the
/// same bits; only the horizontal reduction and the term's conversions are shared.
pub(in crate::arch::x86_64) trait KPairs: KFormat {
    /// The super-block's unreduced integer vectors `(a, b)`: [`KFormat::isums`] is
    /// `isum_pair``(a, b)` (then, for Q6_K, `a − 32·b`).
    ///
    /// # Safety
    /// The CPU must support AVX2.
    unsafe fn vecs(u: &Self::Wu, x: &BlockQ8K) -> (__m256i, __m256i);
    /// Two consecutive super-blocks unpacked, each exactly as [`KFormat::unpack`] unpacks it
    /// (formats may share work between the two).
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[inline(always)]
    unsafe fn unpack_pair(w: [&Self::W; 2]) -> [Self::Wu; 2] {
        // SAFETY: AVX2 (caller contract).
        unsafe { [Self::unpack(w[0]), Self::unpack(w[1])] }
    }
    /// The terms of two consecutive super-blocks from `s = [Σa_0, Σb_0, Σa_1, Σb_1]`, each
    /// exactly [`KFormat::term`]'s value.
    ///
    /// # Safety
    /// The CPU must support AVX and F16C.
    unsafe fn terms_pair(w: [&Self::W; 2], x: [&BlockQ8K; 2], s: __m128i) -> (f32, f32);
}

/// `[Σa_0, Σb_0, Σa_1, Σb_1]` of four `i32x8` vectors (exact integer sums).
///
/// # Safety
/// The CPU must support AVX2.
#[inline(always)]
unsafe fn reduce_pair_sums(a0: __m256i, b0: __m256i, a1: __m256i, b1: __m256i) -> __m128i {
    // SAFETY: AVX2 (caller contract); register-only.
    unsafe {
        let h = _mm256_hadd_epi32(_mm256_hadd_epi32(a0, b0), _mm256_hadd_epi32(a1, b1));
        _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256::<1>(h))
    }
}

/// `[f32(d_0), f32(m_0), f32(d_1), f32(m_1)]` from four f16 scales (exact `vcvtph2ps`).
///
/// # Safety
/// The CPU must support F16C.
#[inline(always)]
unsafe fn f16x4(h: [half::f16; 4]) -> __m128 {
    let bits = h
        .iter()
        .rev()
        .fold(0u64, |acc, v| (acc << 16) | u64::from(v.to_bits()));
    // SAFETY: F16C (caller contract); register-only.
    unsafe { _mm_cvtph_ps(_mm_cvtsi64_si128(bits as i64)) }
}

/// Two Q4_K / Q5_K terms `d·isum − dmin·summs` (as `k4_term`, lanes 0–1 and 2–3).
///
/// # Safety
/// The CPU must support AVX and F16C.
#[inline(always)]
unsafe fn k4_terms_pair(
    d: [half::f16; 2],
    dmin: [half::f16; 2],
    xd: [f32; 2],
    s: __m128i,
) -> (f32, f32) {
    // SAFETY: AVX/F16C (caller contract); register-only.
    unsafe { k4_terms_pair_lanes(d, dmin, _mm_setr_ps(xd[0], xd[0], xd[1], xd[1]), s) }
}

/// [`k4_terms_pair`] with the activation scales given as `[d_x0, d_x0, d_x1, d_x1]` (the form
/// [`super::k4_table`]'s table holds).
///
/// # Safety
/// The CPU must support AVX and F16C.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn k4_terms_pair_lanes(
    d: [half::f16; 2],
    dmin: [half::f16; 2],
    xd: __m128,
    s: __m128i,
) -> (f32, f32) {
    // SAFETY: AVX/F16C (caller contract); register-only.
    unsafe {
        let wd = f16x4([d[0], dmin[0], d[1], dmin[1]]);
        let dd = _mm_mul_ps(wd, xd); // [d·dx, dmin·dx, d'·dx', dmin'·dx']
        let t = _mm_mul_ps(dd, _mm_cvtepi32_ps(s));
        let diff = _mm_sub_ps(t, _mm_movehdup_ps(t)); // lanes 0 and 2
        (
            _mm_cvtss_f32(diff),
            _mm_cvtss_f32(_mm_movehl_ps(diff, diff)),
        )
    }
}

impl KPairs for Q4K {
    #[inline(always)]
    unsafe fn vecs(u: &K4Unpacked, x: &BlockQ8K) -> (__m256i, __m256i) {
        // SAFETY: AVX2 (caller contract).
        unsafe { k4_vecs(u, x) }
    }
    #[inline(always)]
    unsafe fn unpack_pair(w: [&BlockQ4K; 2]) -> [K4Unpacked; 2] {
        // SAFETY: AVX2 (caller contract); the pointers come from the whole blocks, and the
        // 16 bytes from each block's `scales` (offset 4) lie inside the 144-byte block.
        unsafe {
            let at = |b: &BlockQ4K| {
                (b as *const BlockQ4K)
                    .cast::<u8>()
                    .add(core::mem::offset_of!(BlockQ4K, scales))
            };
            k4_unpack_pair([at(w[0]), at(w[1])], [q4k_quants(w[0]), q4k_quants(w[1])])
        }
    }
    #[inline(always)]
    unsafe fn terms_pair(w: [&BlockQ4K; 2], x: [&BlockQ8K; 2], s: __m128i) -> (f32, f32) {
        // SAFETY: AVX/F16C (caller contract).
        unsafe {
            k4_terms_pair(
                [w[0].d, w[1].d],
                [w[0].dmin, w[1].dmin],
                [x[0].d, x[1].d],
                s,
            )
        }
    }
}

impl KPairs for Q5K {
    #[inline(always)]
    unsafe fn vecs(u: &K4Unpacked, x: &BlockQ8K) -> (__m256i, __m256i) {
        // SAFETY: AVX2 (caller contract).
        unsafe { k4_vecs(u, x) }
    }
    #[inline(always)]
    unsafe fn unpack_pair(w: [&BlockQ5K; 2]) -> [K4Unpacked; 2] {
        // SAFETY: AVX2 (caller contract); the pointers come from the whole blocks, and the
        // 16 bytes from each block's `scales` (offset 4) lie inside the block (`qh` follows).
        unsafe {
            let at = |b: &BlockQ5K| {
                (b as *const BlockQ5K)
                    .cast::<u8>()
                    .add(core::mem::offset_of!(BlockQ5K, scales))
            };
            k4_unpack_pair([at(w[0]), at(w[1])], [q5k_quants(w[0]), q5k_quants(w[1])])
        }
    }
    #[inline(always)]
    unsafe fn terms_pair(w: [&BlockQ5K; 2], x: [&BlockQ8K; 2], s: __m128i) -> (f32, f32) {
        // SAFETY: AVX/F16C (caller contract).
        unsafe {
            k4_terms_pair(
                [w[0].d, w[1].d],
                [w[0].dmin, w[1].dmin],
                [x[0].d, x[1].d],
                s,
            )
        }
    }
}

impl KPairs for Q6K {
    #[inline(always)]
    unsafe fn vecs(u: &Q6Unpacked, x: &BlockQ8K) -> (__m256i, __m256i) {
        // SAFETY: AVX2 (caller contract).
        unsafe { q6_vecs(u, x) }
    }
    #[inline(always)]
    unsafe fn terms_pair(w: [&BlockQ6K; 2], x: [&BlockQ8K; 2], s: __m128i) -> (f32, f32) {
        // SAFETY: AVX/F16C (caller contract); register-only.
        unsafe {
            // isum = Σa − 32·Σb in lanes 0 and 2 (as in `isums`).
            let isum = _mm_sub_epi32(
                s,
                _mm_slli_epi32::<5>(_mm_shuffle_epi32::<0b11_11_01_01>(s)),
            );
            let zero = half::f16::ZERO;
            let wd = f16x4([w[0].d, zero, w[1].d, zero]);
            let d = _mm_mul_ps(wd, _mm_setr_ps(x[0].d, 0.0, x[1].d, 0.0));
            let t = _mm_mul_ps(d, _mm_cvtepi32_ps(isum));
            (_mm_cvtss_f32(t), _mm_cvtss_f32(_mm_movehl_ps(t, t)))
        }
    }
}

/// The unreduced integer vectors `[a_0, b_0, a_1, b_1]` ([`KPairs::vecs`]) of super-blocks `b`
/// and `b + 1` of row `wr` against `x`.
///
/// # Safety
/// `wr` and `x` must point to at least `b + 2` readable super-blocks; the CPU must support
/// AVX2.
#[inline(always)]
unsafe fn pair_vecs<F: KPairs>(wr: *const F::W, x: *const BlockQ8K, b: usize) -> [__m256i; 4] {
    // SAFETY: `b + 1` is in bounds (caller contract); AVX2 (caller contract).
    unsafe {
        let xs = [&*x.add(b), &*x.add(b + 1)];
        let ws = [&*wr.add(b), &*wr.add(b + 1)];
        prefetch_stream(wr.wrapping_add(b).cast(), 2 * core::mem::size_of::<F::W>());
        let [u0, u1] = F::unpack_pair(ws);
        let (a0, b0) = F::vecs(&u0, xs[0]);
        let (a1, b1) = F::vecs(&u1, xs[1]);
        [a0, b0, a1, b1]
    }
}

/// Super-blocks `b` and `b + 1`'s float terms ([`KPairs::terms_pair`]) from their integer vectors
/// `v` ([`pair_vecs`]), added to `sumf` in order.
///
/// # Safety
/// As [`pair_vecs`]; the CPU must also support F16C.
#[inline(always)]
unsafe fn add_pair_terms<F: KPairs>(
    sumf: &mut f32,
    wr: *const F::W,
    x: *const BlockQ8K,
    b: usize,
    v: [__m256i; 4],
) {
    // SAFETY: `b + 1` is in bounds (caller contract); AVX2 / F16C (caller contract).
    let (t0, t1) = unsafe {
        let [a0, b0, a1, b1] = v;
        F::terms_pair(
            [&*wr.add(b), &*wr.add(b + 1)],
            [&*x.add(b), &*x.add(b + 1)],
            reduce_pair_sums(a0, b0, a1, b1),
        )
    };
    *sumf += t0;
    *sumf += t1;
}

/// The `R × 1` decode tile with super-blocks in pairs ([`KPairs`]); bit-identical to
/// `tile``::<F, R, 1>` (the same per-super-block integer sums and float terms, added to each
/// row's `sumf` in super-block order).
///
/// Software-pipelined: a pair's reduction and float terms (a long dependency chain: `hadd`s,
/// conversions, products, the `sumf` adds) are issued after the next pair's integer work, so
/// they overlap it instead of filling the out-of-order window with waiting instructions
/// (faster than the unpipelined loop for Q4_K, Q5_K and Q6_K in cache).
///
/// # Safety
/// Every `w[r]` and `x` must point to `nb` readable super-blocks; the CPU must support AVX2,
/// FMA and F16C.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn tile_pairs<F: KPairs, const R: usize>(
    w: [*const F::W; R],
    x: *const BlockQ8K,
    nb: usize,
) -> [f32; R] {
    let mut sumf = [0.0f32; R];
    let mut b = 0;
    if nb >= 2 {
        // SAFETY: AVX2 (caller contract); register-only.
        let mut pend = [[unsafe { _mm256_setzero_si256() }; 4]; R];
        for (p, &wr) in pend.iter_mut().zip(w.iter()) {
            // SAFETY: `1 < nb`; AVX2 (caller contract).
            *p = unsafe { pair_vecs::<F>(wr, x, 0) };
        }
        b = 2;
        while b + 2 <= nb {
            for ((p, &wr), s) in pend.iter_mut().zip(w.iter()).zip(sumf.iter_mut()) {
                // SAFETY: `b + 1 < nb`, and pair `b − 2` precedes it; AVX2 / F16C (caller
                // contract).
                unsafe {
                    let next = pair_vecs::<F>(wr, x, b);
                    add_pair_terms::<F>(s, wr, x, b - 2, *p);
                    *p = next;
                }
            }
            b += 2;
        }
        for ((p, &wr), s) in pend.iter().zip(w.iter()).zip(sumf.iter_mut()) {
            // SAFETY: pair `b − 2` lies inside the `nb` blocks; AVX2 / F16C (caller contract).
            unsafe { add_pair_terms::<F>(s, wr, x, b - 2, *p) };
        }
    }
    if b < nb {
        // SAFETY: `b < nb`.
        let xb = unsafe { &*x.add(b) };
        for (wr, s) in w.iter().zip(sumf.iter_mut()) {
            // SAFETY: `b < nb`; AVX2 / F16C (caller contract).
            unsafe {
                let wb = &*wr.add(b);
                let sums = F::isums(&F::unpack(wb), xb);
                *s += F::term(wb, xb, sums);
            }
        }
    }
    sumf
}
