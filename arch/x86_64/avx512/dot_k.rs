//! AVX-512 (BW + VNNI) integer dot products of the K formats against Q8_K: Q4_K, Q5_K and
//! Q6_K, bit-exact with [`crate::kernels::dot`]. Each format implements the frame's
//! `KFormat` (unpack a super-block once, integer parts per activation column, then the float
//! term), so the `R × C` tiles, the prefetch and the float terms are the frame's code; what
//! changes is the integer part, which here runs on 512-bit vectors.
//!
//! # Math
//!
//! Per super-block (256 elements), exact `i32` integer parts, then the scalar reference's float
//! expression evaluated as the frame does (`k4_term`, `q6_term`):
//! - Q4_K / Q5_K: `isum = Σ_j sc_j · Σ_l q·x`, `summs = Σ_j m_j · (bsums_2j + bsums_2j+1)`;
//! - Q6_K: `isum = Σ_j sc_j · Σ_l (q − 32)·x`, the `− 32` applied as
//!   `− 32 · Σ_j sc_j · bsums_j`.
//!
//! # Layout and unpacking: a super-block is 4 vectors of 64 elements, in element order
//!
//! - Q4_K / Q5_K: vector `g` holds elements `64g .. 64g + 64` = sub-blocks `2g` and `2g + 1`:
//!   the 32 `qs` bytes of group `g` broadcast to both 256-bit halves, the high half shifted
//!   right by 4 (one masked `vpsrlw`), masked to nibbles. Q5_K ORs in the fifth bit:
//!   `qh` broadcast to both halves, shifted right by `2g` / `2g + 1` (`vpsrlvw`), moved to
//!   bit 4 and masked (16-bit shifts never carry into bit 4 of a byte for shifts < 8).
//! - Q6_K: per 128-element half `h`, `ql[64h .. 64h + 64]`'s low nibbles are elements
//!   `0 .. 64` of the half and its high nibbles elements `64 .. 128`; the two high bits come from
//!   `qh[32h .. 32h + 32]` broadcast to both halves: `(qh << 4 | qh << 2) & 0x30` for the low
//!   vector (elements `l` and `l + 32` use bits 0–1 and 2–3), `(qh >> 0 | qh >> 2) & 0x30` for
//!   the high one (bits 4–5 and 6–7), per 256-bit half (`vpsllvw` / `vpsrlvw`).
//! - The activation vectors are plain 64-byte loads of `x.qs`.
//!
//! # Accumulator scheme
//!
//! Per vector: `vpmaddubsw(q, x)` (unsigned quants ≤ 63 × signed bytes: pair sums ≤ 16128,
//! never saturating), then `vpdpwssd` with the scale of each 16-bit lane's sub-block (`vpermw`
//! of the 8 scales once per super-block, shared by the tile's columns) into one `i32x16`
//! accumulator. Its two 256-bit halves are added and reduced with the mins' `madd` exactly as
//! in the frame (`isum_pair`). Bounds: `|isum| < 2^27`, far from `i32` limits.
//!
//! # Tails
//!
//! None: whole super-blocks only; the safe wrappers use the common prefix of the two slices.

use crate::arch::x86_64::frame::kformat::{
    isum_pair, k4_scale_regs, k4_term, q6_term, tile, KFormat,
};
use crate::quant::{BlockQ4K, BlockQ5K, BlockQ6K, BlockQ8K};
use core::arch::x86_64::*;

/// Q4_K · Q8_K.
pub(super) struct Q4K;
/// Q5_K · Q8_K.
pub(super) struct Q5K;
/// Q6_K · Q8_K.
pub(super) struct Q6K;

/// A Q4_K / Q5_K super-block in registers.
#[derive(Clone, Copy)]
pub(super) struct K4Unpacked {
    /// Unsigned quants of elements `64g .. 64g + 64`.
    q: [__m512i; 4],
    /// For vector `g`: `sc_2g` in 16-bit lanes 0..16, `sc_2g+1` in lanes 16..32.
    sc: [__m512i; 4],
    /// The 8 mins as i16 pairs `[m0, m0, m1, m1, …]`.
    mins: __m256i,
}

/// `vpermw` indices: lane `i` of vector `g` → word `2g + i / 16`.
const K4_SCALE_IDX: [[i16; 32]; 4] = {
    let mut idx = [[0i16; 32]; 4];
    let mut g = 0;
    while g < 4 {
        let mut i = 0;
        while i < 32 {
            idx[g][i] = (2 * g + i / 16) as i16;
            i += 1;
        }
        g += 1;
    }
    idx
};

/// `vpermw` indices: lane `i` of vector `v` → word `4v + i / 8` (Q6_K's 16 scales).
const Q6_SCALE_IDX: [[i16; 32]; 4] = {
    let mut idx = [[0i16; 32]; 4];
    let mut v = 0;
    while v < 4 {
        let mut i = 0;
        while i < 32 {
            idx[v][i] = (4 * v + i / 8) as i16;
            i += 1;
        }
        v += 1;
    }
    idx
};

/// Loads a `[i16; 32]` index table.
///
/// # Safety
/// The CPU must support AVX-512 F.
#[inline(always)]
unsafe fn load_idx(idx: &[i16; 32]) -> __m512i {
    // SAFETY: 64 readable bytes; unaligned load.
    unsafe { _mm512_loadu_si512(idx.as_ptr().cast()) }
}

/// A 16-bit lane vector with `a` in lanes 0..16 and `b` in lanes 16..32.
///
/// # Safety
/// The CPU must support AVX-512 F/BW.
#[inline(always)]
unsafe fn halves16(a: i16, b: i16) -> __m512i {
    // SAFETY: AVX-512 BW (caller contract); register-only.
    unsafe { _mm512_mask_blend_epi16(0xFFFF_0000, _mm512_set1_epi16(a), _mm512_set1_epi16(b)) }
}

/// The 32 bytes at `p` in both 256-bit halves.
///
/// # Safety
/// 32 bytes must be readable at `p`; the CPU must support AVX-512 F.
#[inline(always)]
unsafe fn broadcast32(p: *const u8) -> __m512i {
    // SAFETY: 32 readable bytes (caller contract); unaligned load.
    unsafe { _mm512_broadcast_i64x4(_mm256_loadu_si256(p.cast())) }
}

/// Nibble vectors of a Q4_K / Q5_K `qs`: vector `g` = elements `64g .. 64g + 64`.
///
/// # Safety
/// The CPU must support AVX-512 F/BW.
#[inline(always)]
unsafe fn k4_nibbles(qs: &[u8; 128]) -> [__m512i; 4] {
    // SAFETY: 4 × 32 bytes inside `qs`; AVX-512 BW (caller contract).
    unsafe {
        let m4 = _mm512_set1_epi8(0x0F);
        let mut q = [_mm512_setzero_si512(); 4];
        for (g, qg) in q.iter_mut().enumerate() {
            let v = broadcast32(qs.as_ptr().add(32 * g));
            let v = _mm512_mask_srli_epi16::<4>(v, 0xFFFF_0000, v);
            *qg = _mm512_and_si512(v, m4);
        }
        q
    }
}

/// Scale and min registers of a Q4_K / Q5_K super-block.
///
/// # Safety
/// The CPU must support AVX2 and AVX-512 F/BW.
#[inline(always)]
unsafe fn k4_scales(s: &[u8; 12]) -> ([__m512i; 4], __m256i) {
    // SAFETY: AVX2 / AVX-512 BW (caller contract); the index tables are in bounds.
    unsafe {
        let (sc, mins) = k4_scale_regs(s);
        let sc = _mm512_castsi256_si512(sc); // words 0..8 = the 8 scales
        let mut out = [sc; 4];
        for (g, o) in out.iter_mut().enumerate() {
            *o = _mm512_permutexvar_epi16(load_idx(&K4_SCALE_IDX[g]), sc);
        }
        (out, mins)
    }
}

/// `[isum, summs, …]` of an unpacked Q4_K / Q5_K super-block against `x`.
///
/// # Safety
/// The CPU must support AVX2 and AVX-512 F/BW/VNNI.
#[inline(always)]
unsafe fn k4_isums(u: &K4Unpacked, x: &BlockQ8K) -> __m128i {
    // SAFETY: loads stay inside `x.qs` (4 × 64 bytes) and `x.bsums` (32 bytes); CPU features
    // per the caller.
    unsafe {
        let xp = x.qs.as_ptr();
        let mut acc = _mm512_setzero_si512();
        for g in 0..4 {
            let xv = _mm512_loadu_si512(xp.add(64 * g).cast());
            acc = _mm512_dpwssd_epi32(acc, _mm512_maddubs_epi16(u.q[g], xv), u.sc[g]);
        }
        let bs = _mm256_loadu_si256(x.bsums.as_ptr().cast());
        let ms = _mm256_madd_epi16(bs, u.mins);
        isum_pair(fold256(acc), ms)
    }
}

/// The two 256-bit halves of `v` added.
///
/// # Safety
/// The CPU must support AVX-512 F.
#[inline(always)]
unsafe fn fold256(v: __m512i) -> __m256i {
    // SAFETY: AVX-512 F (caller contract); register-only.
    unsafe { _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64::<1>(v)) }
}

impl KFormat for Q4K {
    type W = BlockQ4K;
    type Wu = K4Unpacked;
    #[inline(always)]
    unsafe fn unpack(w: &BlockQ4K) -> K4Unpacked {
        // SAFETY: CPU features per the caller (this tier's kernels).
        unsafe {
            let (sc, mins) = k4_scales(&w.scales);
            K4Unpacked {
                q: k4_nibbles(&w.qs),
                sc,
                mins,
            }
        }
    }
    #[inline(always)]
    unsafe fn isums(u: &K4Unpacked, x: &BlockQ8K) -> __m128i {
        // SAFETY: CPU features per the caller.
        unsafe { k4_isums(u, x) }
    }
    #[inline(always)]
    unsafe fn term(w: &BlockQ4K, x: &BlockQ8K, sums: __m128i) -> f32 {
        // SAFETY: AVX/F16C (caller contract).
        unsafe { k4_term(w.d, w.dmin, x.d, sums) }
    }
}

impl KFormat for Q5K {
    type W = BlockQ5K;
    type Wu = K4Unpacked;
    #[inline(always)]
    unsafe fn unpack(w: &BlockQ5K) -> K4Unpacked {
        // SAFETY: `qh` is 32 readable bytes; CPU features per the caller.
        unsafe {
            let mut q = k4_nibbles(&w.qs);
            let h = broadcast32(w.qh.as_ptr());
            let bit4 = _mm512_set1_epi8(0x10);
            for (g, qg) in q.iter_mut().enumerate() {
                let shifted = _mm512_srlv_epi16(h, halves16(2 * g as i16, 2 * g as i16 + 1));
                let high = _mm512_and_si512(_mm512_slli_epi16::<4>(shifted), bit4);
                *qg = _mm512_or_si512(*qg, high);
            }
            let (sc, mins) = k4_scales(&w.scales);
            K4Unpacked { q, sc, mins }
        }
    }
    #[inline(always)]
    unsafe fn isums(u: &K4Unpacked, x: &BlockQ8K) -> __m128i {
        // SAFETY: CPU features per the caller.
        unsafe { k4_isums(u, x) }
    }
    #[inline(always)]
    unsafe fn term(w: &BlockQ5K, x: &BlockQ8K, sums: __m128i) -> f32 {
        // SAFETY: AVX/F16C (caller contract).
        unsafe { k4_term(w.d, w.dmin, x.d, sums) }
    }
}

/// A Q6_K super-block in registers.
#[derive(Clone, Copy)]
pub(super) struct Q6Unpacked {
    /// Unsigned 6-bit quants (0..64) of elements `64v .. 64v + 64`.
    q: [__m512i; 4],
    /// For vector `v`: scale `4v + i / 8` in 16-bit lane `i`.
    sc: [__m512i; 4],
    /// The 16 signed scales as i16, in order (for the `bsums` offset term).
    scales16: __m256i,
}

impl KFormat for Q6K {
    type W = BlockQ6K;
    type Wu = Q6Unpacked;
    #[inline(always)]
    unsafe fn unpack(w: &BlockQ6K) -> Q6Unpacked {
        // SAFETY: loads stay inside `ql` (2 × 64 bytes), `qh` (2 × 32 bytes) and `scales`
        // (16 bytes); CPU features per the caller.
        unsafe {
            let m4 = _mm512_set1_epi8(0x0F);
            let m2 = _mm512_set1_epi8(0x30);
            let to_lo = halves16(4, 2);
            let to_hi = halves16(0, 2);
            let mut q = [_mm512_setzero_si512(); 4];
            for h in 0..2 {
                let l = _mm512_loadu_si512(w.ql.as_ptr().add(64 * h).cast());
                let hb = broadcast32(w.qh.as_ptr().add(32 * h));
                let hi2_lo = _mm512_and_si512(_mm512_sllv_epi16(hb, to_lo), m2);
                let hi2_hi = _mm512_and_si512(_mm512_srlv_epi16(hb, to_hi), m2);
                q[2 * h] = _mm512_or_si512(_mm512_and_si512(l, m4), hi2_lo);
                q[2 * h + 1] =
                    _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16::<4>(l), m4), hi2_hi);
            }
            let scales16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(w.scales.as_ptr().cast()));
            let s512 = _mm512_castsi256_si512(scales16);
            let mut sc = [s512; 4];
            for (v, s) in sc.iter_mut().enumerate() {
                *s = _mm512_permutexvar_epi16(load_idx(&Q6_SCALE_IDX[v]), s512);
            }
            Q6Unpacked { q, sc, scales16 }
        }
    }
    #[inline(always)]
    unsafe fn isums(u: &Q6Unpacked, x: &BlockQ8K) -> __m128i {
        // SAFETY: loads stay inside `x.qs` (4 × 64 bytes) and `x.bsums` (32 bytes); CPU
        // features per the caller.
        unsafe {
            let xp = x.qs.as_ptr();
            let mut acc = _mm512_setzero_si512();
            for v in 0..4 {
                let xv = _mm512_loadu_si512(xp.add(64 * v).cast());
                acc = _mm512_dpwssd_epi32(acc, _mm512_maddubs_epi16(u.q[v], xv), u.sc[v]);
            }
            // The −32 offset: 32 · Σ_j sc_j · bsums_j (bsums_j = Σ of x over sub-block j).
            let bs = _mm256_loadu_si256(x.bsums.as_ptr().cast());
            let off = _mm256_madd_epi16(bs, u.scales16);
            let s = isum_pair(fold256(acc), off); // [Σ sc·q·x, Σ sc·bsums, ..]
            _mm_sub_epi32(s, _mm_slli_epi32::<5>(_mm_shuffle_epi32::<0b01>(s)))
        }
    }
    #[inline(always)]
    unsafe fn term(w: &BlockQ6K, x: &BlockQ8K, sums: __m128i) -> f32 {
        // SAFETY: AVX/F16C (caller contract).
        unsafe { q6_term(w.d, x.d, sums) }
    }
}

/// The row dot product: the `1 × 1` tile over the common prefix.
///
/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI.
#[inline(always)]
unsafe fn dot<F: KFormat>(w: &[F::W], x: &[BlockQ8K]) -> f32 {
    let nb = w.len().min(x.len());
    // SAFETY: both slices hold at least `nb` super-blocks; CPU features per the caller.
    let [[v]] = unsafe { tile::<F, 1, 1>([w.as_ptr()], [x.as_ptr()], nb) };
    v
}

macro_rules! avx512_dot_k {
    ($($name:ident, $inner:ident: $fmt:ty, $w:ty;)+) => {$(
        /// # Safety
        /// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI.
        #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
        unsafe fn $inner(w: &[$w], x: &[BlockQ8K]) -> f32 {
            // SAFETY: the features are enabled in this function.
            unsafe { dot::<$fmt>(w, x) }
        }

        #[doc = concat!("AVX-512 [`crate::kernels::dot::", stringify!($name), "`] (bit-exact).")]
        pub(crate) fn $name(w: &[$w], x: &[BlockQ8K]) -> f32 {
            // SAFETY: reachable only through `avx512::kernels()` (CPU features checked).
            unsafe { $inner(w, x) }
        }
    )+};
}

avx512_dot_k! {
    dot_q4_k_q8_k, dot_q4_k_q8_k_avx512: Q4K, BlockQ4K;
    dot_q5_k_q8_k, dot_q5_k_q8_k_avx512: Q5K, BlockQ5K;
    dot_q6_k_q8_k, dot_q6_k_q8_k_avx512: Q6K, BlockQ6K;
}
