//! The K formats against Q8_K (Q4_K, Q5_K, Q6_K) for every x86 tier: the [`KFormat`] trait
//! (a super-block's unpack, exact integer parts and float term), the K unpack helpers, the
//! 256-bit formats ([`Q4K`], [`Q5K`], [`Q6K`]) and the `R × C` tile ([`tile`]) shared by the
//! row dot products (`1 × 1`) and the gemm driver. The AVX-512 tier plugs its own 512-bit
//! [`KFormat`]s into the same [`tile`]. Bit-exact with [`crate::kernels::dot`].
//!
//! # Math
//!
//! Per super-block (256 elements), exact `i32` integer parts computed with SIMD, then the scalar
//! reference's float expression, evaluated in scalar `f32` exactly as written there:
//! - Q4_K / Q5_K: `isum = Σ_j sc_j · Σ_l q·x` and `summs = Σ_j m_j · (bsums_2j + bsums_2j+1)`;
//!   `sumf = sumf + (d_w·d_x · isum − dmin_w·d_x · summs)`.
//! - Q6_K: `isum = Σ_j sc_j · Σ_l (q − 32)·x`; `sumf = sumf + (d_w·d_x) · isum`.
//!
//! # Memory layout and unpacking
//!
//! - Q4_K: `qs` byte group `g` (32 bytes) holds sub-block `2g` (low nibbles) and `2g + 1` (high
//!   nibbles), paired with activation bytes `64g .. 64g + 32` and `64g + 32 .. 64g + 64`. The
//!   6-bit scales / mins are unpacked with ggml's `kmask` u32 arithmetic.
//! - Q5_K: as Q4_K plus the fifth bit: bit `2g` / `2g + 1` of `qh[l]` (shifted down one bit per
//!   sub-block; 16-bit shifts never leak into bit 0 of a byte for shifts < 8).
//! - Q6_K: per 128-element half `h`, `ql[64h..]`, `ql[64h + 32..]` and `qh[32h..]` give the four
//!   32-element chunks `q = low4 | high2 << 4` (0..64); chunk `i` covers sub-blocks `2i` (low
//!   128-bit lane) and `2i + 1` (high lane), whose signed scales are broadcast per lane with one
//!   `pshufb` and sign-extended.
//!
//! # Accumulator / unroll scheme
//!
//! Per (super-block, sub-block): `maddubs(q, x)` (unsigned quants ≤ 63 × signed bytes, never
//! saturating).
//! - Q4_K / Q5_K: the 8 sub-blocks' `i16` products go through two levels of pairwise sums per
//!   four sub-blocks (each lane then sums 8 products, ≤ 8 · 31 · 128 = 31744: still an `i16`),
//!   and one `madd` with the scales `[sc_4h, …, sc_4h+3]` (twice per 128-bit lane) per four
//!   sub-blocks widens and scales them (fewer operations than a broadcast, `madd` and add per
//!   sub-block). The levels are `unpacklo/hi` + add transpositions ([`quad16`]: single-uop
//!   shuffles, where `vphaddw` is microcoded). Mins: `madd(bsums, m_dup)`.
//! - Q6_K (quants up to 63: only one pairwise level would fit, and that was slower):
//!   `madd` with the sub-block scale broadcast as i16 per 32 elements; the `−32` offset through
//!   the `bsums`.
//!
//! One `i32x8` accumulator per super-block and the mins vector are reduced together (`hadd`)
//! into `(isum, summs)`. (Q4_K's decode has a faster path of its own, [`super::k4_table`], for
//! rows that fit its per-column table; [`super::k_pairs::tile_pairs`] serves Q5_K, Q6_K and
//! longer Q4_K rows.) The one-column (decode) tile, [`super::k_pairs::tile_pairs`], takes super-blocks in pairs: one `hadd` tree
//! reduces both super-blocks' four vectors and both float terms are formed in one vector (the
//! same per-super-block values, added in order), halving the reductions. The loop is
//! software-pipelined: each pair's reduction and float terms are issued after the next pair's
//! integer work, so the two overlap. A weight super-block is unpacked once (nibbles
//! split, high bits merged, scales decoded) and serves the tile's `C` columns; each
//! `(row, column)` keeps its own scalar `sumf`, in super-block order.
//!
//! In that decode tile, the two super-blocks' 6-bit scales and mins of Q4_K / Q5_K are decoded
//! together in SIMD ([`k4_scales_mins_pair`]: two `pshufb` gathers, masks and 16-bit shifts, then
//! one cross-lane copy and three `pshufb` widenings per super-block) instead of ggml's `kmask`
//! `u32` arithmetic per super-block and its moves into vector registers: the same values, with
//! fewer instructions where the kernel runs from cache (streamed, it is near the bandwidth
//! either way).
//!
//! # Tails
//!
//! None: whole super-blocks only; the safe wrappers use the common prefix of the two slices.

use super::common::prefetch_stream;
use crate::quant::{BlockQ4K, BlockQ5K, BlockQ6K, BlockQ8K};
use core::arch::x86_64::*;

/// A K weight format paired with Q8_K activations.
pub(in crate::arch::x86_64) trait KFormat {
    /// Weight super-block.
    type W;
    /// The super-block unpacked into registers.
    type Wu: Copy;
    /// Unpacks a weight super-block.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    unsafe fn unpack(w: &Self::W) -> Self::Wu;
    /// `isum` in lane 0 and `summs` in lane 1 (Q4_K / Q5_K) of the super-block against `x`
    /// (module docs).
    ///
    /// # Safety
    /// The CPU must support AVX2.
    unsafe fn isums(u: &Self::Wu, x: &BlockQ8K) -> __m128i;
    /// The super-block's float term from [`KFormat::isums`]: exactly the scalar reference's
    /// expression, each operation a separately rounded SSE scalar / lane operation, with the
    /// f16 super-block scales converted by `vcvtph2ps` (exact, like `f16::to_f32`).
    ///
    /// # Safety
    /// The CPU must support AVX and F16C.
    unsafe fn term(w: &Self::W, x: &BlockQ8K, sums: __m128i) -> f32;
}

/// A Q4_K / Q5_K super-block in registers.
#[derive(Clone, Copy)]
pub(in crate::arch::x86_64) struct K4Unpacked {
    /// Unsigned quants of sub-blocks 0..8 (32 bytes each).
    q: [__m256i; 8],
    /// Scales as i16 `[sc_4h, sc_4h+1, sc_4h+2, sc_4h+3]` twice in both 128-bit lanes,
    /// `h = 0, 1`: the layout of the unpack-and-add transposition of four sub-blocks' products
    /// (computed once per super-block and shared by the tile's columns).
    sc: [__m256i; 2],
    /// The 8 mins as i16 pairs `[m0, m0, m1, m1, …]`.
    mins: __m256i,
}

/// Q4_K · Q8_K.
pub(in crate::arch::x86_64) struct Q4K;
/// Q5_K · Q8_K.
pub(in crate::arch::x86_64) struct Q5K;
/// Q6_K · Q8_K.
pub(in crate::arch::x86_64) struct Q6K;

/// Decodes the packed 6-bit scales and mins: `(scales, mins)` as 8 bytes each (ggml's kmask
/// arithmetic, equal to the scalar `k4_scales_mins`).
#[inline(always)]
pub(in crate::arch::x86_64) fn k4_scales_mins(s: &[u8; 12]) -> (u64, u64) {
    const KMASK1: u32 = 0x3f3f_3f3f;
    const KMASK2: u32 = 0x0f0f_0f0f;
    const KMASK3: u32 = 0x0303_0303;
    let [a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3] = *s;
    let a = u32::from_le_bytes([a0, a1, a2, a3]);
    let b = u32::from_le_bytes([b0, b1, b2, b3]);
    let c = u32::from_le_bytes([c0, c1, c2, c3]);
    let sc_lo = a & KMASK1;
    let sc_hi = (c & KMASK2) | (((a >> 6) & KMASK3) << 4);
    let mn_lo = b & KMASK1;
    let mn_hi = ((c >> 4) & KMASK2) | (((b >> 6) & KMASK3) << 4);
    (
        u64::from(sc_lo) | (u64::from(sc_hi) << 32),
        u64::from(mn_lo) | (u64::from(mn_hi) << 32),
    )
}

/// Scale / min registers of a Q4_K / Q5_K super-block.
///
/// # Safety
/// The CPU must support AVX2.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn k4_scale_regs(s: &[u8; 12]) -> (__m256i, __m256i) {
    let (sc, mn) = k4_scales_mins(s);
    // SAFETY: AVX2 (caller contract); register-only.
    unsafe {
        let sc = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(sc as i64));
        let mn = _mm_cvtsi64_si128(mn as i64);
        let mn = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mn, mn));
        (_mm256_broadcastsi128_si256(sc), mn)
    }
}

/// Scales and min pairs of a Q4_K / Q5_K super-block: `([S0, S1], mins)` with `S_h` =
/// i16 `[sc_4h, …, sc_4h+3, sc_4h, …, sc_4h+3]` in both 128-bit lanes and `mins` = i16
/// `[m0, m0, m1, m1, …, m7, m7]`.
///
/// # Safety
/// The CPU must support AVX2.
#[inline(always)]
unsafe fn k4_pair_scales(s: &[u8; 12]) -> ([__m256i; 2], __m256i) {
    let (sc, mn) = k4_scales_mins(s);
    // SAFETY: AVX2 (caller contract); register-only.
    unsafe {
        let sc = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(sc as i64)); // [s0 … s7]
        let mn = _mm_cvtsi64_si128(mn as i64);
        let mn = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mn, mn));
        (
            [
                _mm256_broadcastsi128_si256(_mm_unpacklo_epi64(sc, sc)),
                _mm256_broadcastsi128_si256(_mm_unpackhi_epi64(sc, sc)),
            ],
            mn,
        )
    }
}

/// [`k4_pair_scales`] of two super-blocks at once, in SIMD: `s[k]` points to super-block `k`'s
/// 12 scale bytes, of which 16 bytes are loaded (the 4 after them belong to the same block).
///
/// Per 128-bit lane (one super-block), two `pshufb` gather the sources of the 16 decoded bytes
/// `[sc_0 … sc_7, m_0 … m_7]` (module docs, Q4_K): `A` the bytes holding each value's low bits
/// (`s[j]`, `s[j+8]`, `s[j+4]`, `s[j+8]` for the four quarters), `B` those holding the high two
/// bits of the last four scales and mins (`s[j−4]`, `s[j]`). Then
/// `(A & [63, 15, 63, 0]) | ((A >> 4) & [0, 0, 0, 15]) | ((B >> 2) & [0, 0x30, 0, 0x30])` per
/// quarter: the 16-bit shifts leak bits from the neighbouring byte only into bits the masks
/// clear. Per super-block, one cross-lane copy and three `pshufb` widen the bytes to the `i16`
/// layouts of [`k4_pair_scales`]: the same values, so the same integer sums.
///
/// # Safety
/// `s[0]` and `s[1]` must point to 16 readable bytes; the CPU must support AVX2.
#[inline(always)]
unsafe fn k4_scales_mins_pair(s: [*const u8; 2]) -> [([__m256i; 2], __m256i); 2] {
    // SAFETY: 16 readable bytes at each pointer (caller contract); AVX2 available.
    unsafe {
        const Z: i8 = -128; // `pshufb`: a zero byte
        let r = k4_scale_bytes_pair(s);
        let s0 = lanes([0, Z, 1, Z, 2, Z, 3, Z, 0, Z, 1, Z, 2, Z, 3, Z]);
        let s1 = lanes([4, Z, 5, Z, 6, Z, 7, Z, 4, Z, 5, Z, 6, Z, 7, Z]);
        let mins = _mm256_setr_epi8(
            8, Z, 8, Z, 9, Z, 9, Z, 10, Z, 10, Z, 11, Z, 11, Z, 12, Z, 12, Z, 13, Z, 13, Z, 14, Z,
            14, Z, 15, Z, 15, Z,
        );
        // (No closures over intrinsics: they would not inherit the target features.)
        let mut out = [([r; 2], r); 2];
        for (k, o) in out.iter_mut().enumerate() {
            let rb = if k == 0 {
                _mm256_permute4x64_epi64::<0x44>(r)
            } else {
                _mm256_permute4x64_epi64::<0xEE>(r)
            };
            *o = (
                [_mm256_shuffle_epi8(rb, s0), _mm256_shuffle_epi8(rb, s1)],
                _mm256_shuffle_epi8(rb, mins),
            );
        }
        out
    }
}

/// The decoded 6-bit scales and mins of two Q4_K / Q5_K super-blocks, one per 128-bit lane:
/// bytes `[sc_0 … sc_7, m_0 … m_7]` of super-block `k` in lane `k` (the first step of
/// [`k4_scales_mins_pair`], whose docs give the method).
///
/// # Safety
/// As [`k4_scales_mins_pair`].
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn k4_scale_bytes_pair(s: [*const u8; 2]) -> __m256i {
    // SAFETY: 16 readable bytes at each pointer (caller contract); AVX2 available.
    unsafe {
        const Z: i8 = -128; // `pshufb`: a zero byte
        let u = _mm256_inserti128_si256::<1>(
            _mm256_castsi128_si256(_mm_loadu_si128(s[0].cast())),
            _mm_loadu_si128(s[1].cast()),
        );
        let a = _mm256_shuffle_epi8(
            u,
            lanes([0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11]),
        );
        let b = _mm256_shuffle_epi8(u, lanes([Z, Z, Z, Z, 0, 1, 2, 3, Z, Z, Z, Z, 4, 5, 6, 7]));
        let (l6, l4, hi) = (63, 15, 0x30);
        let low = _mm256_and_si256(
            a,
            lanes([l6, l6, l6, l6, l4, l4, l4, l4, l6, l6, l6, l6, 0, 0, 0, 0]),
        );
        let mins_hi_nibble = _mm256_and_si256(
            _mm256_srli_epi16::<4>(a),
            lanes([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, l4, l4, l4, l4]),
        );
        let top = _mm256_and_si256(
            _mm256_srli_epi16::<2>(b),
            lanes([0, 0, 0, 0, hi, hi, hi, hi, 0, 0, 0, 0, hi, hi, hi, hi]),
        );
        _mm256_or_si256(_mm256_or_si256(low, mins_hi_nibble), top)
    }
}

/// `v` in both 128-bit lanes.
///
/// # Safety
/// The CPU must support AVX.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn lanes(v: [i8; 16]) -> __m256i {
    // SAFETY: AVX (caller contract); register-only.
    unsafe {
        _mm256_setr_epi8(
            v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13],
            v[14], v[15], v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11],
            v[12], v[13], v[14], v[15],
        )
    }
}

/// Two Q4_K / Q5_K super-blocks unpacked from their quants `q` and their scale bytes `s`
/// (decoded together by [`k4_scales_mins_pair`]).
///
/// # Safety
/// As [`k4_scales_mins_pair`].
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn k4_unpack_pair(
    s: [*const u8; 2],
    q: [[__m256i; 8]; 2],
) -> [K4Unpacked; 2] {
    // SAFETY: forwarded caller contract.
    let [(sc0, m0), (sc1, m1)] = unsafe { k4_scales_mins_pair(s) };
    let [q0, q1] = q;
    [
        K4Unpacked {
            q: q0,
            sc: sc0,
            mins: m0,
        },
        K4Unpacked {
            q: q1,
            sc: sc1,
            mins: m1,
        },
    ]
}

/// For each `j < 8`: `v` with every 16-bit lane replaced by word `j` of its own 128-bit lane.
/// From Q6_K's even-sub-block scales (low lane) and odd ones (high lane) this is chunk `j`'s
/// scale vector.
///
/// # Safety
/// The CPU must support AVX2.
#[inline(always)]
unsafe fn word_broadcasts(v: __m256i) -> [__m256i; 8] {
    // SAFETY: AVX2 (caller contract); register-only. (No closure: it would not inherit the
    // caller's target features.)
    unsafe {
        let mut out = [v; 8];
        for (j, o) in out.iter_mut().enumerate() {
            let ctrl = _mm256_set1_epi16((((2 * j + 1) << 8) | (2 * j)) as i16);
            *o = _mm256_shuffle_epi8(v, ctrl);
        }
        out
    }
}

/// Loads the 128 nibble bytes of a Q4_K / Q5_K super-block as 4 vectors.
///
/// # Safety
/// The CPU must support AVX.
#[inline(always)]
unsafe fn load_qs128(qs: &[u8; 128]) -> [__m256i; 4] {
    let p = qs.as_ptr();
    // SAFETY: 4 × 32 bytes inside `qs`; unaligned loads. (A loop, not `array::from_fn`: a
    // closure does not inherit the caller's target features, and where it is not inlined
    // every intrinsic in it becomes a function call.)
    unsafe {
        let mut out = [_mm256_setzero_si256(); 4];
        for (g, o) in out.iter_mut().enumerate() {
            *o = _mm256_loadu_si256(p.add(32 * g).cast());
        }
        out
    }
}

/// The unsigned quants of a Q4_K super-block's eight sub-blocks.
///
/// # Safety
/// The CPU must support AVX2.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn q4k_quants(w: &BlockQ4K) -> [__m256i; 8] {
    // SAFETY: AVX2 (caller contract).
    unsafe {
        let qs = load_qs128(&w.qs);
        let m4 = _mm256_set1_epi8(0x0F);
        // (A loop, not `array::from_fn`: see [`load_qs128`].)
        let mut out = [m4; 8];
        for (j, o) in out.iter_mut().enumerate() {
            let v = qs[j / 2];
            *o = if j % 2 == 0 {
                _mm256_and_si256(v, m4)
            } else {
                _mm256_and_si256(_mm256_srli_epi16::<4>(v), m4)
            };
        }
        out
    }
}

impl KFormat for Q4K {
    type W = BlockQ4K;
    type Wu = K4Unpacked;
    #[inline(always)]
    unsafe fn unpack(w: &BlockQ4K) -> K4Unpacked {
        // SAFETY: AVX2 (caller contract).
        unsafe {
            let q = q4k_quants(w);
            let (sc, mins) = k4_pair_scales(&w.scales);
            K4Unpacked { q, sc, mins }
        }
    }
    #[inline(always)]
    unsafe fn isums(u: &K4Unpacked, x: &BlockQ8K) -> __m128i {
        // SAFETY: AVX2 (caller contract).
        unsafe { k4_isums(u, x) }
    }
    #[inline(always)]
    unsafe fn term(w: &BlockQ4K, x: &BlockQ8K, sums: __m128i) -> f32 {
        // SAFETY: AVX/F16C (caller contract).
        unsafe { k4_term(w.d, w.dmin, x.d, sums) }
    }
}

/// The 5-bit quants of a Q5_K super-block's eight sub-blocks (nibbles plus the `qh` bit).
///
/// # Safety
/// The CPU must support AVX2.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn q5k_quants(w: &BlockQ5K) -> [__m256i; 8] {
    // SAFETY: AVX2 (caller contract); `qh` is 32 readable bytes.
    unsafe {
        let qs = load_qs128(&w.qs);
        let m4 = _mm256_set1_epi8(0x0F);
        let one = _mm256_set1_epi8(1);
        let mut hm = _mm256_loadu_si256(w.qh.as_ptr().cast());
        let mut q = [_mm256_setzero_si256(); 8];
        for (j, qj) in q.iter_mut().enumerate() {
            let v = qs[j / 2];
            let low = if j % 2 == 0 {
                _mm256_and_si256(v, m4)
            } else {
                _mm256_and_si256(_mm256_srli_epi16::<4>(v), m4)
            };
            let high = _mm256_slli_epi16::<4>(_mm256_and_si256(hm, one));
            *qj = _mm256_or_si256(low, high);
            hm = _mm256_srli_epi16::<1>(hm);
        }
        q
    }
}

impl KFormat for Q5K {
    type W = BlockQ5K;
    type Wu = K4Unpacked;
    #[inline(always)]
    unsafe fn unpack(w: &BlockQ5K) -> K4Unpacked {
        // SAFETY: AVX2 (caller contract).
        unsafe {
            let q = q5k_quants(w);
            let (sc, mins) = k4_pair_scales(&w.scales);
            K4Unpacked { q, sc, mins }
        }
    }
    #[inline(always)]
    unsafe fn isums(u: &K4Unpacked, x: &BlockQ8K) -> __m128i {
        // SAFETY: AVX2 (caller contract).
        unsafe { k4_isums(u, x) }
    }
    #[inline(always)]
    unsafe fn term(w: &BlockQ5K, x: &BlockQ8K, sums: __m128i) -> f32 {
        // SAFETY: AVX/F16C (caller contract).
        unsafe { k4_term(w.d, w.dmin, x.d, sums) }
    }
}

/// The Q4_K / Q5_K term `d·isum − dmin·summs` with `d = d_w·d_x`, `dmin = dmin_w·d_x`, as the
/// scalar reference evaluates it (`sums` = `[isum, summs, …]`).
///
/// # Safety
/// The CPU must support AVX and F16C.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn k4_term(
    d: half::f16,
    dmin: half::f16,
    xd: f32,
    sums: __m128i,
) -> f32 {
    // SAFETY: AVX/F16C (caller contract); register-only.
    unsafe {
        let bits = u32::from(d.to_bits()) | (u32::from(dmin.to_bits()) << 16);
        let wd = _mm_cvtph_ps(_mm_cvtsi32_si128(bits as i32)); // [d_w, dmin_w, 0, 0]
        let dd = _mm_mul_ps(wd, _mm_set1_ps(xd)); // [d, dmin, ..]
        let t = _mm_mul_ps(dd, _mm_cvtepi32_ps(sums)); // [d·isum, dmin·summs, ..]
        _mm_cvtss_f32(_mm_sub_ss(t, _mm_movehdup_ps(t)))
    }
}

/// `[isum, summs, …]` of an unpacked Q4_K / Q5_K super-block against `x`.
///
/// # Safety
/// The CPU must support AVX2.
#[inline(always)]
unsafe fn k4_isums(u: &K4Unpacked, x: &BlockQ8K) -> __m128i {
    // SAFETY: AVX2 (caller contract).
    unsafe {
        let (acc, ms) = k4_vecs(u, x);
        isum_pair(acc, ms)
    }
}

/// The unreduced integer parts of an unpacked Q4_K / Q5_K super-block against `x`:
/// `(acc, ms)` with `Σ acc = isum` and `Σ ms = summs`.
///
/// # Safety
/// The CPU must support AVX2.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn k4_vecs(u: &K4Unpacked, x: &BlockQ8K) -> (__m256i, __m256i) {
    // SAFETY: AVX2 (caller contract); loads stay inside `x.qs` (8 × 32 bytes) and `x.bsums`
    // (32 bytes).
    unsafe {
        let xp = x.qs.as_ptr();
        let mut p = [_mm256_setzero_si256(); 8];
        for (j, pj) in p.iter_mut().enumerate() {
            let xv = _mm256_loadu_si256(xp.add(32 * j).cast());
            *pj = _mm256_maddubs_epi16(u.q[j], xv);
        }
        // Two pairwise levels: per 128-bit lane `[p0, p1, p2, p3, p0, p1, p2, p3]`, each a sum
        // of 8 products (≤ 8 · 31 · 128 = 31744: fits i16 for Q4_K's and Q5_K's quants), then
        // one `madd` with the matching scales per four sub-blocks.
        let q0 = quad16(p[0], p[1], p[2], p[3]);
        let q1 = quad16(p[4], p[5], p[6], p[7]);
        let acc = _mm256_add_epi32(
            _mm256_madd_epi16(q0, u.sc[0]),
            _mm256_madd_epi16(q1, u.sc[1]),
        );
        let bs = _mm256_loadu_si256(x.bsums.as_ptr().cast());
        (acc, _mm256_madd_epi16(bs, u.mins))
    }
}

/// Per 128-bit lane `[a, b, c, d, a, b, c, d]`: each `i16` the sum of four of the named vector's
/// lanes (so the four vectors' totals are kept), by unpack-and-add levels (single-uop shuffles
/// and adds, cheaper than the microcoded `vphaddw`).
///
/// # Safety
/// The CPU must support AVX2.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn quad16(
    a: __m256i,
    b: __m256i,
    c: __m256i,
    d: __m256i,
) -> __m256i {
    // SAFETY: AVX2 (caller contract); register-only.
    unsafe {
        let ab = _mm256_add_epi16(_mm256_unpacklo_epi16(a, b), _mm256_unpackhi_epi16(a, b));
        let cd = _mm256_add_epi16(_mm256_unpacklo_epi16(c, d), _mm256_unpackhi_epi16(c, d));
        _mm256_add_epi16(_mm256_unpacklo_epi32(ab, cd), _mm256_unpackhi_epi32(ab, cd))
    }
}

/// The horizontal sums of two `i32x8` vectors: `[Σa, Σb, Σa, Σb]`.
///
/// # Safety
/// The CPU must support AVX2.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn isum_pair(a: __m256i, b: __m256i) -> __m128i {
    // SAFETY: AVX2 (caller contract); register-only.
    unsafe {
        let h = _mm256_hadd_epi32(a, b); // [a01 a23 b01 b23 | a45 a67 b45 b67]
        let s = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256::<1>(h));
        _mm_hadd_epi32(s, s)
    }
}

/// A Q6_K super-block in registers.
#[derive(Clone, Copy)]
pub(in crate::arch::x86_64) struct Q6Unpacked {
    /// Unsigned 6-bit quants (0..64) of the 8 chunks of 32 elements.
    q: [__m256i; 8],
    /// Per 32-element chunk `i`: scale `2i` (as i16) in the low lane, `2i + 1` in the high
    /// lane (computed once per super-block and shared by the tile's columns).
    sc: [__m256i; 8],
    /// The 16 signed scales as i16, in order (for the `bsums` offset term).
    scales16: __m256i,
}

impl KFormat for Q6K {
    type W = BlockQ6K;
    type Wu = Q6Unpacked;
    #[inline(always)]
    unsafe fn unpack(w: &BlockQ6K) -> Q6Unpacked {
        // SAFETY: AVX2 (caller contract); loads stay inside `ql` (4 × 32 bytes), `qh`
        // (2 × 32 bytes) and `scales` (16 bytes).
        unsafe {
            let m4 = _mm256_set1_epi8(0x0F);
            let m2 = _mm256_set1_epi8(0x03);
            let m2_hi = _mm256_set1_epi8(0x30);
            let ql = w.ql.as_ptr();
            let qh = w.qh.as_ptr();
            let mut q = [_mm256_setzero_si256(); 8];
            for (h, qh4) in q.chunks_exact_mut(4).enumerate() {
                let l0 = _mm256_loadu_si256(ql.add(64 * h).cast());
                let l1 = _mm256_loadu_si256(ql.add(64 * h + 32).cast());
                let hb = _mm256_loadu_si256(qh.add(32 * h).cast());
                let h0 = _mm256_slli_epi16::<4>(_mm256_and_si256(hb, m2));
                let h1 = _mm256_slli_epi16::<2>(_mm256_and_si256(hb, _mm256_set1_epi8(0x0C)));
                let h2 = _mm256_and_si256(hb, m2_hi);
                let h3 = _mm256_and_si256(_mm256_srli_epi16::<2>(hb), m2_hi);
                let lo0 = _mm256_and_si256(l0, m4);
                let lo1 = _mm256_and_si256(l1, m4);
                let hi0 = _mm256_and_si256(_mm256_srli_epi16::<4>(l0), m4);
                let hi1 = _mm256_and_si256(_mm256_srli_epi16::<4>(l1), m4);
                if let [a, b, c, d] = qh4 {
                    *a = _mm256_or_si256(lo0, h0);
                    *b = _mm256_or_si256(lo1, h1);
                    *c = _mm256_or_si256(hi0, h2);
                    *d = _mm256_or_si256(hi1, h3);
                }
            }
            let s8 = _mm_loadu_si128(w.scales.as_ptr().cast());
            let eo = _mm_shuffle_epi8(
                s8,
                _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15),
            );
            Q6Unpacked {
                q,
                sc: word_broadcasts(_mm256_cvtepi8_epi16(eo)),
                scales16: _mm256_cvtepi8_epi16(s8),
            }
        }
    }
    #[inline(always)]
    unsafe fn isums(u: &Q6Unpacked, x: &BlockQ8K) -> __m128i {
        // SAFETY: AVX2 (caller contract).
        unsafe {
            let (acc, off) = q6_vecs(u, x);
            let s = isum_pair(acc, off); // [Σ sc·q·x, Σ sc·bsums, ..]
            _mm_sub_epi32(s, _mm_slli_epi32::<5>(_mm_shuffle_epi32::<0b01>(s)))
        }
    }
    #[inline(always)]
    unsafe fn term(w: &BlockQ6K, x: &BlockQ8K, sums: __m128i) -> f32 {
        // SAFETY: AVX/F16C (caller contract).
        unsafe { q6_term(w.d, x.d, sums) }
    }
}

/// The unreduced integer parts of an unpacked Q6_K super-block against `x`: `(acc, off)` with
/// `Σ acc = Σ_j sc_j · Σ q·x` and `Σ off = Σ_j sc_j · bsums_j` (the `−32` offset is
/// `isum = Σ acc − 32 · Σ off`).
///
/// # Safety
/// The CPU must support AVX2.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn q6_vecs(u: &Q6Unpacked, x: &BlockQ8K) -> (__m256i, __m256i) {
    // SAFETY: AVX2 (caller contract); loads stay inside `x.qs` (8 × 32 bytes) and `x.bsums`
    // (32 bytes).
    unsafe {
        let xp = x.qs.as_ptr();
        let mut acc = _mm256_setzero_si256();
        for (i, &qi) in u.q.iter().enumerate() {
            let xv = _mm256_loadu_si256(xp.add(32 * i).cast());
            acc = _mm256_add_epi32(
                acc,
                _mm256_madd_epi16(_mm256_maddubs_epi16(qi, xv), u.sc[i]),
            );
        }
        // The −32 offset: 32 · Σ_j sc_j · bsums_j (bsums_j = Σ of x over sub-block j).
        let bs = _mm256_loadu_si256(x.bsums.as_ptr().cast());
        let off = _mm256_madd_epi16(bs, u.scales16);
        (acc, off)
    }
}

/// The Q6_K term `(d_w · d_x) · isum` as the scalar reference evaluates it (`sums` =
/// `[isum, …]`).
///
/// # Safety
/// The CPU must support AVX and F16C.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn q6_term(d: half::f16, xd: f32, sums: __m128i) -> f32 {
    // SAFETY: AVX/F16C (caller contract); register-only.
    unsafe {
        let wd = _mm_cvtph_ps(_mm_cvtsi32_si128(i32::from(d.to_bits())));
        let d = _mm_mul_ss(wd, _mm_set_ss(xd));
        _mm_cvtss_f32(_mm_mul_ss(d, _mm_cvtepi32_ps(sums)))
    }
}

/// The `R × C` tile: `out[r][c] = dot(w[r][..nb], x[c][..nb])`, bit-identical to the scalar
/// reference (module docs).
///
/// # Safety
/// Every `w[r]` and `x[c]` must point to `nb` readable super-blocks; the CPU must support AVX2,
/// FMA and F16C.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn tile<F: KFormat, const R: usize, const C: usize>(
    w: [*const F::W; R],
    x: [*const BlockQ8K; C],
    nb: usize,
) -> [[f32; C]; R] {
    let mut sumf = [[0.0f32; C]; R];
    for b in 0..nb {
        for (wr, sr) in w.iter().zip(sumf.iter_mut()) {
            // SAFETY: `b < nb` and the caller guarantees `nb` readable super-blocks.
            let wb = unsafe { &*wr.add(b) };
            // Software prefetch of the weight stream (a hint: the address need not be valid).
            prefetch_stream(wr.wrapping_add(b).cast(), core::mem::size_of::<F::W>());
            // SAFETY: AVX2 (caller contract).
            let u = unsafe { F::unpack(wb) };
            for (xc, s) in x.iter().zip(sr.iter_mut()) {
                // SAFETY: `b < nb` and the caller guarantees `nb` readable super-blocks.
                let xb = unsafe { &*xc.add(b) };
                // SAFETY: AVX2 (caller contract).
                let sums = unsafe { F::isums(&u, xb) };
                // SAFETY: AVX/F16C (caller contract).
                *s += unsafe { F::term(wb, xb, sums) };
            }
        }
    }
    sumf
}
