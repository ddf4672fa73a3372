//! Shared 256-bit building blocks of the x86 tiers: block-sum transposition, the 8-lane float
//! reduction of the dot contract, horizontal sums, prefetch, the decode row streams
//! ([`StreamRows`]) and the byte-product abstraction ([`ByteDot`]).
//!
//! # Math
//!
//! - [`pair_sums`] / [`quad_sums`] / [`finish_sums8`]: with `v_0 … v_7` eight `i32x8` vectors of
//!   partial sums (one per block), the result lane `k` is `Σ_l v_k[l]`. Built as a tree:
//!   `hadd(v0, v1)`, `hadd(·, ·)` of two such pairs, then the two 128-bit halves of two quads
//!   added after a cross-lane permute. Integer additions, so exact in any order.
//! - [`reduce_lanes_ps`]: `((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7))`, exactly
//!   [`crate::kernels::dot::reduce_lanes`] (high 128 onto low 128, high 64 onto low 64, lane 1
//!   onto lane 0), so the 32-element integer dots are bit-exact with the scalar reference.
//!
//! # Layout, accumulators, tails
//!
//! Register-only helpers; no memory access except the documented loads. Callers own tails.
//!
//! All functions are `#[inline(always)] unsafe fn` without `#[target_feature]` (memchr's
//! pattern): they inline into each tier's `#[target_feature]` kernels (AVX2 + FMA + F16C at
//! least), whose contract is their safety requirement.

use core::arch::x86_64::*;

/// `hadd(a, b)`: lanes `[a01, a23, b01, b23 | a45, a67, b45, b67]` (first level of the tree).
///
/// # Safety
/// The CPU must support AVX2.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn pair_sums(a: __m256i, b: __m256i) -> __m256i {
    // SAFETY: AVX2 is available (caller contract); register-only.
    unsafe { _mm256_hadd_epi32(a, b) }
}

/// Second level: from the pair sums of blocks (0,1) and (2,3), lanes
/// `[s0_lo, s1_lo, s2_lo, s3_lo | s0_hi, s1_hi, s2_hi, s3_hi]` (`lo`/`hi`: the block's
/// 128-bit halves).
///
/// # Safety
/// The CPU must support AVX2.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn quad_sums(p01: __m256i, p23: __m256i) -> __m256i {
    // SAFETY: AVX2 is available (caller contract); register-only.
    unsafe { _mm256_hadd_epi32(p01, p23) }
}

/// Last level: lane `k` = the full sum of block `k`, from the quads of blocks 0..4 and 4..8.
///
/// # Safety
/// The CPU must support AVX2.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn finish_sums8(q0123: __m256i, q4567: __m256i) -> __m256i {
    // SAFETY: AVX2 is available (caller contract); register-only.
    unsafe {
        let lo = _mm256_permute2x128_si256::<0x20>(q0123, q4567);
        let hi = _mm256_permute2x128_si256::<0x31>(q0123, q4567);
        _mm256_add_epi32(lo, hi)
    }
}

/// Lane `k` = the sum of the 8 lanes of `v[k]` (the whole tree).
///
/// # Safety
/// The CPU must support AVX2.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn sums8(v: &[__m256i; 8]) -> __m256i {
    // SAFETY: AVX2 is available (caller contract); register-only.
    unsafe {
        let q0 = quad_sums(pair_sums(v[0], v[1]), pair_sums(v[2], v[3]));
        let q1 = quad_sums(pair_sums(v[4], v[5]), pair_sums(v[6], v[7]));
        finish_sums8(q0, q1)
    }
}

/// The scalar reference's [`crate::kernels::dot::reduce_lanes`] on a vector, bit for bit.
///
/// # Safety
/// The CPU must support AVX.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn reduce_lanes_ps(acc: __m256) -> f32 {
    // SAFETY: AVX is available (caller contract); register-only.
    unsafe {
        let lo = _mm256_castps256_ps128(acc);
        let hi = _mm256_extractf128_ps::<1>(acc);
        let s4 = _mm_add_ps(lo, hi); // [a0+a4, a1+a5, a2+a6, a3+a7]
        let s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4)); // [(a0+a4)+(a2+a6), (a1+a5)+(a3+a7), ..]
        let s1 = _mm_add_ss(s2, _mm_movehdup_ps(s2));
        _mm_cvtss_f32(s1)
    }
}

/// `_mm256_hadd_epi32(a, b)` (per 128-bit lane `[a0+a1, a2+a3, b0+b1, b2+b3]`) from two
/// single-uop `shufps` and an add: `vphaddd` is microcoded on common AVX2 cores (about two
/// cycles of throughput).
///
/// # Safety
/// The CPU must support AVX2.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn hadd_epi32(a: __m256i, b: __m256i) -> __m256i {
    // SAFETY: AVX2 is available (caller contract); register-only.
    unsafe {
        let (fa, fb) = (_mm256_castsi256_ps(a), _mm256_castsi256_ps(b));
        let even = _mm256_castps_si256(_mm256_shuffle_ps::<0b10_00_10_00>(fa, fb));
        let odd = _mm256_castps_si256(_mm256_shuffle_ps::<0b11_01_11_01>(fa, fb));
        _mm256_add_epi32(even, odd)
    }
}

/// Horizontal sum of eight `f32` lanes for the float kernels, folded in halves exactly as
/// [`reduce_lanes_ps`]: lane `i` plus lane `i + 4`, then `i + 2`, then lane 1 onto 0 — the last
/// three steps of the float order's fold ([`crate::kernels::float::fold_lanes`]), which the
/// float kernels rely on.
///
/// # Safety
/// The CPU must support AVX.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn hsum_ps(v: __m256) -> f32 {
    // SAFETY: same as `reduce_lanes_ps`.
    unsafe { reduce_lanes_ps(v) }
}

/// Horizontal sum of eight `i32` lanes (wrapping; callers' sums fit).
///
/// # Safety
/// The CPU must support AVX2.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn hsum_epi32(v: __m256i) -> i32 {
    // SAFETY: AVX2 is available (caller contract); register-only.
    unsafe {
        let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
        let s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01>(s));
        _mm_cvtsi128_si32(s)
    }
}

/// Packs four `i32x8` vectors (elements 0..8, 8..16, 16..24, 24..32) with values in
/// `-128..=127` into 32 bytes in element order.
///
/// # Safety
/// The CPU must support AVX2.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn pack_i32x32_to_i8(q: [__m256i; 4]) -> __m256i {
    // SAFETY: AVX2 is available (caller contract); register-only.
    unsafe {
        let ab = _mm256_packs_epi32(q[0], q[1]); // [a0-3 b0-3 | a4-7 b4-7]
        let cd = _mm256_packs_epi32(q[2], q[3]);
        let bytes = _mm256_packs_epi16(ab, cd); // dwords [a0 b0 c0 d0 | a1 b1 c1 d1]
        _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7))
    }
}

/// `0xFF` in byte `j` where bit `j` of `bits` is set, else `0` (llama.cpp's
/// `bytes_from_bits_32`).
///
/// # Safety
/// The CPU must support AVX2.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn bytes_from_bits_32(bits: u32) -> __m256i {
    // SAFETY: AVX2 is available (caller contract); register-only.
    unsafe {
        let v = _mm256_set1_epi32(bits as i32);
        let shuf = _mm256_set_epi64x(
            0x0303_0303_0303_0303,
            0x0202_0202_0202_0202,
            0x0101_0101_0101_0101,
            0,
        );
        let bytes = _mm256_shuffle_epi8(v, shuf);
        let mask = _mm256_set1_epi64x(0x7fbf_dfef_f7fb_fdfe);
        _mm256_cmpeq_epi8(_mm256_or_si256(bytes, mask), _mm256_set1_epi64x(-1))
    }
}

/// How far ahead of the block being read the weight streams of the panel kernels (prefill,
/// whose weights come from L2 after a panel's first column tile) are prefetched, in bytes.
/// The hardware prefetchers alone do not run far enough ahead of a kernel that also computes;
/// 2048 is the best of 0, 1024, 2048 and 4096 in `examples/kernel_bw`.
pub(in crate::arch::x86_64) const PREFETCH_BYTES: usize = 2048;

/// The prefetch distance of the one-row (decode) paths, whose every weight byte comes from
/// DRAM: 4096 beats 1024 and 2048 for Q4_0, Q4_K and Q6_K streamed and for whole-model
/// decode. The panel kernels keep [`PREFETCH_BYTES`], where 4096 gains nothing.
pub(in crate::arch::x86_64) const STREAM_PREFETCH_BYTES: usize = 4096;

/// How many contiguous row ranges the register-tile decode path reads in step ([`StreamRows`]).
///
/// One thread reading one sequential stream leaves DRAM bandwidth unused: the same bytes read
/// as two halves in step arrive faster (`examples/kernel_bw` prints one-, two- and
/// three-stream reads). A matvec may visit its rows in any order, so decode takes one row tile
/// from each of two ranges in turn; two ranges beat one and three (`docs/performance.md`).
pub(in crate::arch::x86_64) const DECODE_STREAMS: usize = 2;

/// The starting rows of decode's `step`-row tiles in stream order: the rows are split into
/// [`DECODE_STREAMS`] contiguous ranges of whole tiles, and the ranges are visited in step
/// (tile `i` of range 0, tile `i` of range 1, …), so each range is still read in order, as
/// one of several concurrent sequential streams. Every tile start `< rows` comes exactly once.
pub(in crate::arch::x86_64) struct StreamRows {
    rows: usize,
    /// Rows per range: a multiple of `step`.
    per: usize,
    step: usize,
    /// The next tile's offset within its range, and its range.
    i: usize,
    k: usize,
}

impl StreamRows {
    /// The tile starts of `rows` rows in tiles of `step` rows (0 counts as 1).
    #[inline(always)]
    pub(in crate::arch::x86_64) fn new(rows: usize, step: usize) -> Self {
        let step = step.max(1);
        let per = rows.div_ceil(DECODE_STREAMS).div_ceil(step) * step;
        StreamRows {
            rows,
            per,
            step,
            i: 0,
            k: 0,
        }
    }
}

impl Iterator for StreamRows {
    type Item = usize;
    #[inline(always)]
    fn next(&mut self) -> Option<usize> {
        while self.i < self.per {
            let r = self.k * self.per + self.i;
            self.k += 1;
            if self.k == DECODE_STREAMS {
                self.k = 0;
                self.i += self.step;
            }
            if r < self.rows {
                return Some(r);
            }
        }
        None
    }
}

/// Weight bytes per row panel of the row-group kernels (octets, sixteens, quads): the panel
/// stays in a 512 KiB L2 while every column tile passes over it.
pub(in crate::arch::x86_64) const PANEL_BYTES: usize = 192 * 1024;

/// Row groups of `group` rows per panel for rows of `row_bytes` bytes: as many as fit
/// [`PANEL_BYTES`], at least one.
pub(in crate::arch::x86_64) fn panel_groups(group: usize, row_bytes: usize) -> usize {
    (PANEL_BYTES / (group * row_bytes).max(1)).max(1)
}

/// Prefetches (into L1) the cache lines of the `len` bytes that start [`PREFETCH_BYTES`] past
/// `p`. A hint only: the address is never dereferenced and may lie past the weights.
#[inline(always)]
pub(in crate::arch::x86_64) fn prefetch_ahead(p: *const i8, len: usize) {
    prefetch_at::<PREFETCH_BYTES>(p, len);
}

/// [`prefetch_ahead`] at [`STREAM_PREFETCH_BYTES`], for the one-row (decode) paths.
#[inline(always)]
pub(in crate::arch::x86_64) fn prefetch_stream(p: *const i8, len: usize) {
    prefetch_at::<STREAM_PREFETCH_BYTES>(p, len);
}

/// Prefetches (into L1) the cache lines of the `len` bytes that start `AHEAD` bytes past `p`.
/// A hint only: the address is never dereferenced and may lie past the weights.
#[inline(always)]
fn prefetch_at<const AHEAD: usize>(p: *const i8, len: usize) {
    let ahead = p.wrapping_add(AHEAD);
    let mut off = 0;
    while off < len {
        // SAFETY: `prefetcht0` never faults and has no architectural effect (SSE, part of the
        // x86_64 baseline).
        unsafe { _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(off)) };
        off += 64;
    }
}

/// How the 4-byte groups of an unsigned × signed byte product are summed into `i32` lanes:
/// `maddubs` + `madd` on AVX2, one `vpdpbusd` where the CPU has VNNI. Kernels generic over it
/// (the row octets of [`super::q32_octets`]) are compiled once per tier, inside that tier's
/// `#[target_feature]` functions.
pub(in crate::arch::x86_64) trait ByteDot {
    /// Whether [`ByteDot::dpbusd`] is one exact instruction (`vpdpbusd`); kernels then
    /// accumulate every 4-byte group straight in `i32` instead of first adding `maddubs` pair
    /// sums in `i16`.
    const FUSED: bool;

    /// `acc + Σ_{k<4} u[4i + k] · s[4i + k]` in each `i32` lane `i` (`u` unsigned, `s` signed
    /// bytes). Exact when [`ByteDot::FUSED`]; otherwise exact while each pair sum fits an `i16`
    /// (`maddubs` saturates), which every caller's value ranges guarantee.
    ///
    /// # Safety
    /// The CPU must support the implementation's instructions (the tier's features).
    unsafe fn dpbusd(acc: __m256i, u: __m256i, s: __m256i) -> __m256i;
}

/// AVX2: `maddubs`, then `madd` with ones.
pub(in crate::arch::x86_64) struct Maddubs;

impl ByteDot for Maddubs {
    const FUSED: bool = false;
    #[inline(always)]
    unsafe fn dpbusd(acc: __m256i, u: __m256i, s: __m256i) -> __m256i {
        // SAFETY: AVX2 (caller contract); register-only.
        unsafe {
            let p = _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
            _mm256_add_epi32(acc, p)
        }
    }
}

/// A fused [`ByteDot`] built from AVX2 instructions, for the unit tests on machines without
/// VNNI: it runs the kernels' VNNI code paths (the `i32` accumulation order) with
/// `maddubs` + `madd` in place of `vpdpbusd`, exact for the nibble formats' value ranges.
#[cfg(test)]
pub(in crate::arch::x86_64) struct EmulatedVnni;

#[cfg(test)]
impl ByteDot for EmulatedVnni {
    const FUSED: bool = true;
    #[inline(always)]
    unsafe fn dpbusd(acc: __m256i, u: __m256i, s: __m256i) -> __m256i {
        // SAFETY: AVX2 (caller contract).
        unsafe { Maddubs::dpbusd(acc, u, s) }
    }
}

#[cfg(test)]
mod tests {
    use super::{StreamRows, DECODE_STREAMS};
    use std::vec::Vec;

    /// Every tile start comes exactly once, each range's starts in increasing order, and the
    /// ranges are visited in step.
    #[test]
    fn stream_rows_visit_every_tile_once_in_range_order() {
        for rows in 0..70usize {
            for step in 1..6usize {
                let starts: Vec<usize> = StreamRows::new(rows, step).collect();
                let mut sorted = starts.clone();
                sorted.sort_unstable();
                let want: Vec<usize> = (0..rows).step_by(step).collect();
                assert_eq!(sorted, want, "rows {rows}, step {step}");
                let per = rows.div_ceil(DECODE_STREAMS).div_ceil(step) * step;
                for k in 0..DECODE_STREAMS {
                    let range: Vec<usize> = starts
                        .iter()
                        .copied()
                        .filter(|&r| r / per.max(1) == k)
                        .collect();
                    assert!(range.windows(2).all(|w| w[0] + step == w[1]), "{range:?}");
                }
                if rows > step * DECODE_STREAMS {
                    // Interleaved: the second start belongs to the second range.
                    assert_eq!(starts[1], per, "rows {rows}, step {step}");
                }
            }
        }
    }
}
