//! 256-bit decode of Q4_K against Q8_K (one activation column: the matvec that bounds token
//! generation) with the column's activations rearranged once into a stack table, so that each
//! register holds the same elements of two consecutive super-blocks, one per 128-bit lane.
//! Bit-exact with [`crate::kernels::dot`]: the same exact integer sums per super-block and the
//! same float term, added to the row's `sumf` in super-block order. It does less work per
//! super-block pair than [`super::k_pairs::tile_pairs`] (below), which is why a tier's
//! `gemm_path` may send Q4_K decode here.
//!
//! # Math
//!
//! As [`super::kformat`] (Q4_K): per super-block, `isum = Σ_j sc_j · Σ_l q·x` and
//! `summs = Σ_j m_j · (bsums_2j + bsums_2j+1)` as exact `i32`s, then
//! `sumf = sumf + (d_w·d_x · isum − dmin_w·d_x · summs)`, each operation rounded as in the
//! scalar reference.
//!
//! # Why a table, and what it holds
//!
//! The general decode tile ([`super::k_pairs::tile_pairs`]) gives each register 32 elements of
//! one super-block; its two 128-bit lanes hold the two halves of the same sub-blocks, so every
//! scale vector must be copied across lanes (`vpermq`), the per-sub-block partial sums need
//! one unpack-and-add transposition per four sub-blocks *per super-block*, and the pair's four
//! sum vectors need three `hadd`s. Here lane `k` of every register belongs to super-block
//! `2p + k` of pair `p`:
//! - the weights: the 16 nibble bytes `qs[32g + 16h ..]` (`g < 4`, `h < 2`) of both
//!   super-blocks, one 16-byte load and one 16-byte insert per register;
//! - the activations, from the table: entry `4g + 2h` holds elements `64g + 16h .. + 16`
//!   (paired with the low nibbles: sub-block `2g`) and entry `4g + 2h + 1` elements
//!   `64g + 32 + 16h .. + 16` (the high nibbles: sub-block `2g + 1`) of both super-blocks;
//!   `bs[p]` holds `bsums[0..8]` and `bsums[8..16]` of both; `xd[p]` is
//!   `[d_x0, d_x0, d_x1, d_x1]`.
//!
//! The table depends only on the activation column, so it is filled once per matvec (at most
//! [`MAX_PAIRS`] pairs: 23.7 KiB of stack, of which only the column's pairs are written) and
//! read by every row. Per pair this trades the general tile's two `vpermq`, two scale
//! `pshufb`s, two `madd`s, a `hadd` and two of its four transpositions for eight 16-byte
//! inserts and eight `i16` adds.
//!
//! # Accumulators
//!
//! Per pair: 16 `maddubs(q, x)` (quants ≤ 15, `i16` lanes of 2 products); the two halves
//! `h` of each sub-block added (4 products); two unpack-and-add transpositions ([`quad16`])
//! of sub-blocks 0..4 and 4..8 (16 products per `i16` lane: `≤ 16 · 15 · 128 = 30720`, no
//! overflow; this bound is why the path is Q4_K only: Q5_K's quants reach 31); one `madd`
//! with each lane's own scales `[sc_4s …, sc_4s+3]` (decoded for both super-blocks at once,
//! [`k4_scale_bytes_pair`], and widened by one in-lane `pshufb`: no lane crossing) and one `madd`
//! of the arranged `bsums` with the mins per half. The two `i32x8` vectors `(a, b)` reduce to
//! `[isum_0, summs_0, isum_1, summs_1]` with two `hadd`s, an extract and an unpack. As in
//! [`super::k_pairs::tile_pairs`] the loop is software-pipelined: a pair's reduction and float
//! terms are issued after the next pair's integer work.
//!
//! # Tails
//!
//! An odd last super-block goes through [`KFormat::isums`] / [`KFormat::term`] with the
//! original activation block (the same values). Rows longer than [`MAX_PAIRS`] pairs are left
//! to the general tile (the function returns `false`).

use super::common::{prefetch_stream, StreamRows};
use super::k_pairs::k4_terms_pair_lanes;
use super::kformat::{k4_scale_bytes_pair, lanes, quad16, KFormat, Q4K};
use crate::quant::{BlockQ4K, BlockQ8K};
use core::arch::x86_64::*;
use core::mem::MaybeUninit;

/// Most super-block pairs one column's table holds: 40 pairs, 80 super-blocks, 20480 columns
/// (Phi-3-medium's longest rows, 17920, need 35).
pub(in crate::arch::x86_64) const MAX_PAIRS: usize = 40;

/// Whether rows of `bpr` super-blocks fit the table ([`MAX_PAIRS`]): the condition for
/// [`decode_q4_k`] to run.
#[inline(always)]
pub(in crate::arch::x86_64) fn fits(bpr: usize) -> bool {
    bpr / 2 <= MAX_PAIRS
}

/// One activation column rearranged for the pair-per-register decode (module docs). Only the
/// column's whole pairs are written, in place (zeroing all [`MAX_PAIRS`] first cost a
/// 96 × 3072 matvec in L2 4 % of its speed); readers take only those.
struct PairTable {
    /// Per pair: the 16 activation registers, entry `4g + 2h + n` (`n = 0` low nibbles,
    /// `n = 1` high nibbles).
    q: [[MaybeUninit<__m256i>; 16]; MAX_PAIRS],
    /// Per pair: `bsums[0..8]` and `bsums[8..16]` of both super-blocks.
    bs: [[MaybeUninit<__m256i>; 2]; MAX_PAIRS],
    /// Per pair: `[d_x0, d_x0, d_x1, d_x1]`.
    xd: [MaybeUninit<__m128>; MAX_PAIRS],
}

impl PairTable {
    /// A table with nothing written.
    #[inline(always)]
    fn uninit() -> Self {
        PairTable {
            q: [[MaybeUninit::uninit(); 16]; MAX_PAIRS],
            bs: [[MaybeUninit::uninit(); 2]; MAX_PAIRS],
            xd: [MaybeUninit::uninit(); MAX_PAIRS],
        }
    }

    /// Writes the `nb / 2` whole pairs of the column `x` (`nb ≤ 2 · MAX_PAIRS + 1`), in place
    /// (a table returned by value was copied whole: 23.7 KiB per matvec).
    ///
    /// # Safety
    /// `x` must point to `nb` readable blocks; the CPU must support AVX2.
    #[inline(always)]
    unsafe fn fill(&mut self, x: *const BlockQ8K, nb: usize) {
        // SAFETY: blocks `2p + 1 < nb` only; every 16-byte load lies inside `qs` (256 bytes)
        // or `bsums` (32 bytes) of its block; AVX2 (caller contract).
        unsafe {
            for p in 0..(nb / 2).min(MAX_PAIRS) {
                let (x0, x1) = (&*x.add(2 * p), &*x.add(2 * p + 1));
                let (q0, q1) = (x0.qs.as_ptr(), x1.qs.as_ptr());
                for g in 0..4 {
                    for h in 0..2 {
                        for n in 0..2 {
                            let off = 64 * g + 32 * n + 16 * h;
                            self.q[p][4 * g + 2 * h + n] = MaybeUninit::new(_mm256_loadu2_m128i(
                                q1.add(off).cast(),
                                q0.add(off).cast(),
                            ));
                        }
                    }
                }
                let (b0, b1) = (x0.bsums.as_ptr(), x1.bsums.as_ptr());
                for (half, v) in self.bs[p].iter_mut().enumerate() {
                    *v = MaybeUninit::new(_mm256_loadu2_m128i(
                        b1.add(8 * half).cast(),
                        b0.add(8 * half).cast(),
                    ));
                }
                self.xd[p] = MaybeUninit::new(_mm_setr_ps(x0.d, x0.d, x1.d, x1.d));
            }
        }
    }
}

/// The unreduced integer vectors `(a, b)` of super-blocks `2p` and `2p + 1` of the row `wr`:
/// lane `k` of `a` sums to `isum` and of `b` to `summs` of super-block `2p + k`.
///
/// # Safety
/// `wr` must point to at least `2p + 2` readable super-blocks and pair `p` of `t` must be
/// written (`p < nb / 2` of the column the table was made for); the CPU must support AVX2.
#[inline(always)]
unsafe fn pair_vecs(wr: *const BlockQ4K, t: &PairTable, p: usize) -> (__m256i, __m256i) {
    // SAFETY: blocks `2p`, `2p + 1` are readable and pair `p` of the table is written (caller
    // contract), so `get_unchecked(p)` is in bounds and `assume_init` reads written values;
    // the 16-byte scale loads start at offset 4 of a 144-byte block, the nibble loads lie
    // inside `qs`; AVX2.
    unsafe {
        const Z: i8 = -128; // `pshufb`: a zero byte
        let (w0, w1) = (&*wr.add(2 * p), &*wr.add(2 * p + 1));
        prefetch_stream(
            (w0 as *const BlockQ4K).cast(),
            2 * core::mem::size_of::<BlockQ4K>(),
        );
        let r = k4_scale_bytes_pair([w0.scales.as_ptr(), w1.scales.as_ptr()]);
        let sc0 = _mm256_shuffle_epi8(r, lanes([0, Z, 1, Z, 2, Z, 3, Z, 0, Z, 1, Z, 2, Z, 3, Z]));
        let sc1 = _mm256_shuffle_epi8(r, lanes([4, Z, 5, Z, 6, Z, 7, Z, 4, Z, 5, Z, 6, Z, 7, Z]));
        let m0 = _mm256_shuffle_epi8(
            r,
            lanes([8, Z, 8, Z, 9, Z, 9, Z, 10, Z, 10, Z, 11, Z, 11, Z]),
        );
        let m1 = _mm256_shuffle_epi8(
            r,
            lanes([12, Z, 12, Z, 13, Z, 13, Z, 14, Z, 14, Z, 15, Z, 15, Z]),
        );
        let (a0, a1) = (w0.qs.as_ptr(), w1.qs.as_ptr());
        let mask = _mm256_set1_epi8(0x0F);
        let xq = t.q.get_unchecked(p);
        let bs = t.bs.get_unchecked(p);
        let mut sub = [_mm256_setzero_si256(); 8];
        for g in 0..4 {
            let mut lo = _mm256_setzero_si256();
            let mut hi = _mm256_setzero_si256();
            for h in 0..2 {
                let off = 32 * g + 16 * h;
                let v = _mm256_loadu2_m128i(a1.add(off).cast(), a0.add(off).cast());
                let l = _mm256_maddubs_epi16(
                    _mm256_and_si256(v, mask),
                    xq[4 * g + 2 * h].assume_init(),
                );
                let u = _mm256_maddubs_epi16(
                    _mm256_and_si256(_mm256_srli_epi16::<4>(v), mask),
                    xq[4 * g + 2 * h + 1].assume_init(),
                );
                if h == 0 {
                    (lo, hi) = (l, u);
                } else {
                    lo = _mm256_add_epi16(lo, l);
                    hi = _mm256_add_epi16(hi, u);
                }
            }
            sub[2 * g] = lo;
            sub[2 * g + 1] = hi;
        }
        let q0 = quad16(sub[0], sub[1], sub[2], sub[3]);
        let q1 = quad16(sub[4], sub[5], sub[6], sub[7]);
        let a = _mm256_add_epi32(_mm256_madd_epi16(q0, sc0), _mm256_madd_epi16(q1, sc1));
        let b = _mm256_add_epi32(
            _mm256_madd_epi16(bs[0].assume_init(), m0),
            _mm256_madd_epi16(bs[1].assume_init(), m1),
        );
        (a, b)
    }
}

/// Super-blocks `2p` and `2p + 1`'s float terms from their vectors `v` ([`pair_vecs`]), added
/// to `sumf` in order: exactly [`KFormat::term`]'s values.
///
/// # Safety
/// As [`pair_vecs`] (`p < MAX_PAIRS`); the CPU must also support F16C.
#[inline(always)]
unsafe fn add_terms(
    sumf: &mut f32,
    wr: *const BlockQ4K,
    t: &PairTable,
    p: usize,
    v: (__m256i, __m256i),
) {
    // SAFETY: blocks `2p`, `2p + 1` are readable and pair `p` of the table is written (caller
    // contract); AVX2 / F16C.
    let (t0, t1) = unsafe {
        let (w0, w1) = (&*wr.add(2 * p), &*wr.add(2 * p + 1));
        // Lane k: [a01, a23, b01, b23], then [a, b, a, b]; then [a_0, b_0, a_1, b_1].
        let h = _mm256_hadd_epi32(v.0, v.1);
        let h = _mm256_hadd_epi32(h, h);
        let s = _mm_unpacklo_epi64(_mm256_castsi256_si128(h), _mm256_extracti128_si256::<1>(h));
        k4_terms_pair_lanes(
            [w0.d, w1.d],
            [w0.dmin, w1.dmin],
            t.xd.get_unchecked(p).assume_init(),
            s,
        )
    };
    *sumf += t0;
    *sumf += t1;
}

/// One row of `nb` super-blocks against the column whose table is `t` (and whose blocks are
/// `x`, for an odd last super-block): `dot(w_r, x)`, bit for bit.
///
/// # Safety
/// `wr` and `x` must point to `nb ≤ 2 · MAX_PAIRS + 1` readable super-blocks and `t` must be
/// the table of `x`; the CPU must support AVX2, FMA and F16C.
#[inline(always)]
unsafe fn row(wr: *const BlockQ4K, x: *const BlockQ8K, nb: usize, t: &PairTable) -> f32 {
    let np = nb / 2;
    let mut sumf = 0.0f32;
    if np > 0 {
        // SAFETY: pairs `p < np` are whole and written in the table (caller contract); AVX2 /
        // F16C.
        unsafe {
            let mut pend = pair_vecs(wr, t, 0);
            for p in 1..np {
                let next = pair_vecs(wr, t, p);
                add_terms(&mut sumf, wr, t, p - 1, pend);
                pend = next;
            }
            add_terms(&mut sumf, wr, t, np - 1, pend);
        }
    }
    if nb % 2 == 1 {
        // SAFETY: block `nb − 1` is readable (caller contract); AVX2 / F16C.
        unsafe {
            let (wb, xb) = (&*wr.add(nb - 1), &*x.add(nb - 1));
            let sums = Q4K::isums(&Q4K::unpack(wb), xb);
            sumf += Q4K::term(wb, xb, sums);
        }
    }
    sumf
}

/// Decode: `out[r] = dot(w[r], x)` for the `rows` rows of `bpr` super-blocks at `w`, with `x`
/// one column of `bpr` blocks; the rows are visited in [`StreamRows`] order (two sequential
/// streams). Returns `false` (writing nothing) when a row has more than [`MAX_PAIRS`] pairs
/// or `out` is shorter than `rows`.
///
/// # Safety
/// `w` must point to `rows · bpr` readable blocks and `x` to `bpr`; the CPU must support AVX2,
/// FMA and F16C.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn decode_q4_k(
    w: *const BlockQ4K,
    x: *const BlockQ8K,
    bpr: usize,
    rows: usize,
    out: &mut [f32],
) -> bool {
    if !fits(bpr) || out.len() < rows {
        return false;
    }
    // SAFETY: `bpr / 2 ≤ MAX_PAIRS`; rows `r < rows` of `bpr` blocks and `r < out.len()`
    // (checked above, caller contract); AVX2 / FMA / F16C.
    unsafe {
        let mut t = PairTable::uninit();
        t.fill(x, bpr);
        for r in StreamRows::new(rows, 1) {
            *out.get_unchecked_mut(r) = row(w.add(r * bpr), x, bpr, &t);
        }
    }
    true
}
