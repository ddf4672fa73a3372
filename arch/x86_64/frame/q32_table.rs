//! 256-bit products of the maddubs formats Q4_0, Q4_1 and Q5_0 against per-column tables, for
//! every x86 tier: the decode path (one activation column: the matvec that bounds token
//! generation, streaming each weight row once) and the row-panel multi-column path of prefill
//! ([`gemm`]: Q5_0, and the rows the row groups of Q4_0 / Q4_1 leave).
//! Bit-exact with [`crate::kernels::dot`] (same integer sums, same float operations in the same
//! order).
//!
//! The per-column tables are why this path exists: everything that depends only on the
//! activations leaves the row loop, so decode is bound by the weight stream rather than by
//! instructions.
//!
//! # Math
//!
//! Per block `b`: `isum_b = Σ_j u_j·x_j − c·Σ_j x_j` with `u_j` the unsigned stored quant
//! (0..16, or 0..32 for Q5_0) and `c` the format's offset (8 for Q4_0, 16 for Q5_0, 0 for
//! Q4_1, whose offset is the separate `m_w · s_x` term). The float term and the 8-lane
//! accumulation are those of [`super::q32`]: `(d_w · d_x) · (isum_b as f32)`
//! (`+ m_w · s_x`), added to lane `b % 8`, folded with [`super::common::reduce_lanes_ps`].
//!
//! # What differs from the general tile, and why
//!
//! Everything that depends only on the activations is the same for every row, so it is
//! computed once per column (per call for decode, per row panel for [`gemm`]) into a stack
//! table of at most
//! [`MAX_GROUPS`] groups of 8 blocks (80 groups: 20480 columns; larger rows fall back to the
//! general tile):
//! - the offset correction `c·Σ_j x_j` of each block, as `i32` lanes (block `k` of the group
//!   in lane `k`), so the row loop subtracts it once per 8 blocks after the block-sum tree
//!   instead of one `maddubs(c, x)` and one subtraction per block (the integer sum is the same
//!   exact value: the subtraction just moves from the 16-bit level to the 32-bit level);
//! - the activation scales `d_x` (and `s_x` for Q4_1) converted to `f32x8`.
//!
//! The tables live on the stack: 7.5 KiB for one column, 37.5 KiB for the multi-column path
//! ([`gemm`], a 4-column table and a 1-column one for leftover columns).
//!
//! Per row and group of 8 blocks what remains is: the nibble unpack of [`super::q32`] (`vbroadcasti128`
//! of the 16 bytes, a per-lane variable shift of the upper half by 4, one `and`), one `maddubs` with the
//! activation bytes straight from memory, the block-sum tree of [`super::q32`] (two
//! `hadd_epi16` levels — sums of 8 products: `|Σ| ≤ 8·31·128 = 31744 < 2^15`, no overflow for
//! any stored byte — one `madd` with ones, a permute and an add), and the 8 weight scales,
//! gathered in general-purpose registers (two `u64`s of four f16 each, which keeps the
//! integer ports busy instead of the vector ports) and converted with `vcvtph2ps`.
//!
//! For the 4-bit formats (Q4_0, Q4_1) decode goes one step further ([`row_paired`]): blocks
//! `p` and `p + 4` of a group share one register (a 16-byte load and a 16-byte insert), one
//! 16-bit shift and two masks split their nibbles, and their products meet activations that
//! the column's [`PairTable`] holds rearranged the same way; the block sums then take 6
//! unpacks, 7 adds and one `madd` instead of 8 variable shifts, 14 unpacks, an extract and two
//! widenings. The integer sums and their lanes are the same, so the results are bit for bit
//! those of [`row`], with fewer shuffles on the vector ports that bound decode.
//!
//! # Tails
//!
//! A last group of `n < 8` blocks runs the same code with zero product vectors, zero
//! corrections and zero scales in lanes `n..8`: their term is `+0 · +0 · +0 = +0` (and `+0`
//! for the min term), which never changes an accumulator (module docs of
//! [`super::q32`]).

use super::common::{finish_sums8, prefetch_stream, reduce_lanes_ps};
use super::q32::{add_terms, f16_lanes, Q32Pair};
use core::arch::x86_64::*;
use core::mem::MaybeUninit;

/// Most groups of 8 blocks the stack table holds (80 · 8 · 32 = 20480 columns).
pub(in crate::arch::x86_64) const MAX_GROUPS: usize = 80;

/// Whether rows of `bpr` blocks fit the per-column tables ([`MAX_GROUPS`]): the condition for
/// [`decode`] and [`gemm`] to run.
#[inline(always)]
pub(in crate::arch::x86_64) fn fits(bpr: usize) -> bool {
    bpr.div_ceil(8) <= MAX_GROUPS
}

/// A maddubs weight format on the decode path.
/// Its unpacked weight block ([`Q32Pair::unpack_w`]) is the 32 unsigned quants, element `j`
/// in byte `j`.
pub(in crate::arch::x86_64) trait TablePair: Q32Pair<Wu = __m256i> {
    /// The offset `c` subtracted from each stored quant (0 when the format has a min term).
    const OFFSET: i8;
    /// Whether the unsigned quants are at most 15, so that a sum of 16 products
    /// (`≤ 16 · 15 · 128 = 30720`) fits an `i16` and the block sums can use the cheaper
    /// all-`i16` transposition ([`block_sums_narrow`]).
    const NARROW: bool;

    /// The 16 bytes of packed nibbles of a weight block (element `j` in the low nibble of
    /// byte `j`, element `j + 16` in its high nibble; Q5_0's fifth bits are elsewhere, so
    /// only [`TablePair::NARROW`] formats use this).
    fn w_nibbles(w: &Self::W) -> &[u8; 16];
}

impl TablePair for super::q32::Q4_0Q8_0 {
    #[inline(always)]
    fn w_nibbles(w: &crate::quant::BlockQ4_0) -> &[u8; 16] {
        &w.qs
    }
    const OFFSET: i8 = 8;
    const NARROW: bool = true;
}

impl TablePair for super::q32::Q4_1Q8_1 {
    #[inline(always)]
    fn w_nibbles(w: &crate::quant::BlockQ4_1) -> &[u8; 16] {
        &w.qs
    }
    const OFFSET: i8 = 0;
    const NARROW: bool = true;
}

impl TablePair for super::q32::Q5_0Q8_0 {
    #[inline(always)]
    fn w_nibbles(w: &crate::quant::BlockQ5_0) -> &[u8; 16] {
        &w.qs
    }
    const OFFSET: i8 = 16;
    const NARROW: bool = false;
}

/// Lane `k` = the exact `i32` sum of `m[k]`'s sixteen `i16` lanes, for `maddubs` vectors whose
/// sums of 8 lanes fit an `i16` (module docs).
///
/// # Safety
/// The CPU must support AVX2.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn block_sums(m: [__m256i; 8]) -> __m256i {
    // SAFETY: AVX2 (caller contract); register-only.
    unsafe {
        let ones = _mm256_set1_epi16(1);
        let p01 = _mm256_hadd_epi16(m[0], m[1]);
        let p23 = _mm256_hadd_epi16(m[2], m[3]);
        let p45 = _mm256_hadd_epi16(m[4], m[5]);
        let p67 = _mm256_hadd_epi16(m[6], m[7]);
        let q0 = _mm256_madd_epi16(_mm256_hadd_epi16(p01, p23), ones);
        let q1 = _mm256_madd_epi16(_mm256_hadd_epi16(p45, p67), ones);
        finish_sums8(q0, q1)
    }
}

/// Per-column data of `C` activation columns, per group of 8 blocks (module docs).
pub(super) struct ColTable<const C: usize> {
    /// `c · Σ x` of each block (lane `k` = block `k` of the group).
    corr: [[__m256i; MAX_GROUPS]; C],
    /// `d_x` of each block.
    dx: [[__m256; MAX_GROUPS]; C],
    /// `s_x` of each block (formats with a min term only).
    sx: [[__m256; MAX_GROUPS]; C],
}

impl<const C: usize> ColTable<C> {
    /// An empty table.
    ///
    /// # Safety
    /// The CPU must support AVX.
    #[inline(always)]
    unsafe fn new() -> Self {
        // SAFETY: AVX (caller contract); register-only.
        unsafe {
            ColTable {
                corr: [[_mm256_setzero_si256(); MAX_GROUPS]; C],
                dx: [[_mm256_setzero_ps(); MAX_GROUPS]; C],
                sx: [[_mm256_setzero_ps(); MAX_GROUPS]; C],
            }
        }
    }

    /// Fills the table for the columns `x` of `bpr ≤ 8 · MAX_GROUPS` blocks.
    ///
    /// # Safety
    /// Every `x[c]` must point to `bpr` readable blocks; the CPU must support AVX2 and F16C.
    #[inline(always)]
    // The table arrays and `x` are indexed by the same column counter.
    #[allow(clippy::needless_range_loop)]
    unsafe fn fill<P: TablePair>(&mut self, x: [*const P::X; C], bpr: usize) {
        // SAFETY: blocks `b + k < bpr` only; AVX2/F16C (caller contract).
        unsafe {
            let zero = _mm256_setzero_si256();
            let offset = _mm256_set1_epi8(P::OFFSET);
            for c in 0..C {
                for g in 0..bpr.div_ceil(8) {
                    let b = 8 * g;
                    let n = (bpr - b).min(8);
                    let xg = x[c].add(b);
                    if P::OFFSET != 0 {
                        let mut m = [zero; 8];
                        for (k, mk) in m.iter_mut().enumerate().take(n) {
                            let v = _mm256_loadu_si256(P::x_quants(&*xg.add(k)).as_ptr().cast());
                            *mk = _mm256_maddubs_epi16(offset, v);
                        }
                        self.corr[c][g] = block_sums(m);
                    }
                    self.dx[c][g] = f16_lanes(xg, n, |xb| P::x_scales(xb).0);
                    if P::HAS_MIN {
                        self.sx[c][g] = f16_lanes(xg, n, |xb| P::x_scales(xb).1);
                    }
                }
            }
        }
    }
}

/// Adds the terms of the `n ≤ 8` blocks of group `g` (weights at `wg`, block `8g` of each
/// column of `x`) to the `C` accumulators: each weight block is unpacked once for the `C`
/// columns.
///
/// # Safety
/// `wg` and every `x[c] + 8g` must point to `n` readable blocks; the CPU must support AVX2
/// and F16C.
#[inline(always)]
// Several arrays are indexed by the same column counter.
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
unsafe fn row_group<P: TablePair, const C: usize>(
    acc: &mut [__m256; C],
    wg: *const P::W,
    x: [*const P::X; C],
    g: usize,
    n: usize,
    t: &ColTable<C>,
) {
    // SAFETY: blocks `k < n` are readable (caller contract); AVX2/F16C available.
    unsafe {
        // No closures here: they would not inherit the caller's target features.
        let zero = _mm256_setzero_si256();
        let mut u = [zero; 8];
        for (k, uk) in u.iter_mut().enumerate().take(n) {
            *uk = P::unpack_w(&*wg.add(k));
        }
        let dw = f16_lanes(wg, n, |wb| P::w_scales(wb).0);
        let mw = if P::HAS_MIN {
            f16_lanes(wg, n, |wb| P::w_scales(wb).1)
        } else {
            _mm256_setzero_ps()
        };
        for c in 0..C {
            let xg = x[c].add(8 * g);
            let mut m = [zero; 8];
            for (k, mk) in m.iter_mut().enumerate().take(n) {
                let v = _mm256_loadu_si256(P::x_quants(&*xg.add(k)).as_ptr().cast());
                *mk = _mm256_maddubs_epi16(u[k], v);
            }
            let mut sums = if P::NARROW {
                block_sums_narrow(m)
            } else {
                block_sums(m)
            };
            if P::OFFSET != 0 {
                sums = _mm256_sub_epi32(sums, t.corr[c][g]);
            }
            acc[c] = add_terms(P::HAS_MIN, acc[c], sums, (dw, mw), (t.dx[c][g], t.sx[c][g]));
        }
    }
}

/// One row against the `C` columns of a filled table: `dot(w_r, x_c)` for each `c`.
///
/// # Safety
/// `wr` and every `x[c]` must point to `bpr ≤ 8 · MAX_GROUPS` readable blocks; the CPU must
/// support AVX2 and F16C.
#[inline(always)]
unsafe fn row<P: TablePair, const C: usize>(
    wr: *const P::W,
    x: [*const P::X; C],
    bpr: usize,
    t: &ColTable<C>,
) -> [f32; C] {
    // SAFETY: groups `g < bpr / 8` are whole, the last one has `bpr − 8g` blocks (caller
    // contract); AVX2/F16C available.
    unsafe {
        let mut acc = [_mm256_setzero_ps(); C];
        let full = bpr / 8;
        for g in 0..full {
            prefetch_stream(wr.add(8 * g).cast(), 8 * core::mem::size_of::<P::W>());
            row_group::<P, C>(&mut acc, wr.add(8 * g), x, g, 8, t);
        }
        if full * 8 < bpr {
            row_group::<P, C>(&mut acc, wr.add(8 * full), x, full, bpr - 8 * full, t);
        }
        let mut out = [0.0f32; C];
        for c in 0..C {
            out[c] = reduce_lanes_ps(acc[c]);
        }
        out
    }
}

/// [`block_sums`] for vectors whose sums of 8 `i16` lanes (16 products) fit an `i16`: a
/// transposition by unpacks and 16-bit adds (`unpacklo/hi` of 16-, 32- and 64-bit elements,
/// each level adding the two halves), which leaves lane `k` of each 128-bit half holding block
/// `k`'s half-sum in block order; the two halves are then widened to `i32` and added. All
/// single-uop operations: measurably cheaper than the `hadd` tree, whose microcoded `vphaddw`
/// costs about two cycles of throughput each.
///
/// # Safety
/// The CPU must support AVX2.
#[inline(always)]
unsafe fn block_sums_narrow(m: [__m256i; 8]) -> __m256i {
    // SAFETY: AVX2 (caller contract); register-only.
    unsafe {
        // (No closures: they would not inherit the caller's target features.)
        // Per 128-bit half: [a b a b …], then [a b c d a b c d], then [a b c d e f g h].
        let ab = _mm256_add_epi16(
            _mm256_unpacklo_epi16(m[0], m[1]),
            _mm256_unpackhi_epi16(m[0], m[1]),
        );
        let cd = _mm256_add_epi16(
            _mm256_unpacklo_epi16(m[2], m[3]),
            _mm256_unpackhi_epi16(m[2], m[3]),
        );
        let ef = _mm256_add_epi16(
            _mm256_unpacklo_epi16(m[4], m[5]),
            _mm256_unpackhi_epi16(m[4], m[5]),
        );
        let gh = _mm256_add_epi16(
            _mm256_unpacklo_epi16(m[6], m[7]),
            _mm256_unpackhi_epi16(m[6], m[7]),
        );
        let abcd = _mm256_add_epi16(_mm256_unpacklo_epi32(ab, cd), _mm256_unpackhi_epi32(ab, cd));
        let efgh = _mm256_add_epi16(_mm256_unpacklo_epi32(ef, gh), _mm256_unpackhi_epi32(ef, gh));
        let all = _mm256_add_epi16(
            _mm256_unpacklo_epi64(abcd, efgh),
            _mm256_unpackhi_epi64(abcd, efgh),
        );
        let lo = _mm256_cvtepi16_epi32(_mm256_castsi256_si128(all));
        let hi = _mm256_cvtepi16_epi32(_mm256_extracti128_si256::<1>(all));
        _mm256_add_epi32(lo, hi)
    }
}

/// Decode: `out[r] = dot(w[r], x)` for the `rows` rows of `bpr` blocks at `w`, with `x` one
/// column of `bpr` blocks. Returns `false` (writing nothing) when the row is longer than the
/// stack table ([`MAX_GROUPS`]); the caller then uses the general tile.
///
/// # Safety
/// `w` must point to `rows · bpr` readable blocks and `x` to `bpr`; `out` must hold `rows`
/// values; the CPU must support AVX2, FMA and F16C.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn decode<P: TablePair>(
    w: *const P::W,
    x: *const P::X,
    bpr: usize,
    rows: usize,
    out: &mut [f32],
) -> bool {
    if !fits(bpr) || out.len() < rows {
        return false;
    }
    // SAFETY: rows `r < rows` of `bpr` blocks and one column (caller contract); AVX2/F16C.
    unsafe {
        let mut t = ColTable::<1>::new();
        t.fill::<P>([x], bpr);
        if P::NARROW {
            let mut pairs = PairTable::uninit();
            pairs.fill::<P>(x, bpr);
            for (r, o) in out.iter_mut().enumerate().take(rows) {
                *o = row_paired::<P>(w.add(r * bpr), x, bpr, &t, &pairs);
            }
        } else {
            for (r, o) in out.iter_mut().enumerate().take(rows) {
                let [v] = row::<P, 1>(w.add(r * bpr), [x], bpr, &t);
                *o = v;
            }
        }
    }
    true
}

/// The activation quants of one column rearranged for [`row_paired`]: per whole group of 8
/// blocks and pair `p < 4` (blocks `p` and `p + 4` of the group), entry `2p` holds elements
/// 0..16 of block `p` in its low half and of block `p + 4` in its high half, entry `2p + 1`
/// elements 16..32 of the same two blocks.
///
/// Only the column's whole groups are written: zeroing all [`MAX_GROUPS`] (20 KiB) first
/// measurably slowed short matvecs. [`row_paired`] reads only the written groups.
struct PairTable {
    q: [[MaybeUninit<__m256i>; 8]; MAX_GROUPS],
}

impl PairTable {
    /// A table with nothing written.
    #[inline(always)]
    fn uninit() -> Self {
        PairTable {
            q: [[MaybeUninit::uninit(); 8]; MAX_GROUPS],
        }
    }

    /// Fills the whole groups of the column `x` of `bpr ≤ 8 · MAX_GROUPS` blocks.
    ///
    /// # Safety
    /// `x` must point to `bpr` readable blocks; the CPU must support AVX2.
    #[inline(always)]
    unsafe fn fill<P: TablePair>(&mut self, x: *const P::X, bpr: usize) {
        // SAFETY: blocks `8g + p + 4 < 8 · (bpr / 8)` only; AVX2 (caller contract).
        unsafe {
            for (g, q) in self.q.iter_mut().enumerate().take(bpr / 8) {
                for p in 0..4 {
                    let a = P::x_quants(&*x.add(8 * g + p)).as_ptr();
                    let b = P::x_quants(&*x.add(8 * g + p + 4)).as_ptr();
                    q[2 * p] = MaybeUninit::new(_mm256_loadu2_m128i(b.cast(), a.cast()));
                    q[2 * p + 1] =
                        MaybeUninit::new(_mm256_loadu2_m128i(b.add(16).cast(), a.add(16).cast()));
                }
            }
        }
    }
}

/// One row of a [`TablePair::NARROW`] format against one column: [`row`]'s result, bit for
/// bit, with two blocks per vector. Blocks `p` and `p + 4` of a group are loaded into the two
/// halves of one register (a 16-byte load and a 16-byte insert), split into low and high
/// nibbles by one 16-bit shift and two masks, multiplied by the matching [`PairTable`] entries
/// and added (`i16` lanes of 4 products). Three unpack-and-add levels and one `madd` with
/// ones then leave block `k`'s exact sum in `i32` lane `k` (every `i16` partial sum covers at
/// most 16 products, `≤ 16 · 15 · 128 = 30720`): the same integers as [`block_sums_narrow`]
/// in the same lanes, so the float terms are unchanged. This halves the shuffles of the
/// one-block-per-vector path (`vpsrlvd`, 14 unpacks, extract and two widenings → 4 inserts and
/// 6 unpacks per group), the port pressure that bounds decode.
///
/// # Safety
/// As [`row`] with `C = 1`, `t` and `pairs` filled for `x`; `P::NARROW` must hold.
#[inline(always)]
unsafe fn row_paired<P: TablePair>(
    wr: *const P::W,
    x: *const P::X,
    bpr: usize,
    t: &ColTable<1>,
    pairs: &PairTable,
) -> f32 {
    // SAFETY: groups `g < bpr / 8` are whole, the last one has `bpr − 8g` blocks (caller
    // contract); `pairs` was filled for `x`, so its groups `g < bpr / 8`, the only ones read,
    // are written (`assume_init`); AVX2/F16C available.
    unsafe {
        let mask = _mm256_set1_epi8(0x0F);
        let ones = _mm256_set1_epi16(1);
        let mut acc = [_mm256_setzero_ps()];
        let full = bpr / 8;
        for (g, xq) in pairs.q.iter().enumerate().take(full) {
            let wg = wr.add(8 * g);
            prefetch_stream(wg.cast(), 8 * core::mem::size_of::<P::W>());
            let mut m = [_mm256_setzero_si256(); 4];
            for (p, mp) in m.iter_mut().enumerate() {
                let a = P::w_nibbles(&*wg.add(p)).as_ptr();
                let b = P::w_nibbles(&*wg.add(p + 4)).as_ptr();
                let v = _mm256_loadu2_m128i(b.cast(), a.cast());
                let lo = _mm256_and_si256(v, mask);
                let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(v), mask);
                *mp = _mm256_add_epi16(
                    _mm256_maddubs_epi16(lo, xq[2 * p].assume_init()),
                    _mm256_maddubs_epi16(hi, xq[2 * p + 1].assume_init()),
                );
            }
            // Per 128-bit half h (blocks p + 4h): [b0 b0 b1 b1 b0 b0 b1 b1], [b2 b2 b3 b3 …],
            // then [b0 b0 b1 b1 b2 b2 b3 b3], then one i32 per block.
            let w0 = _mm256_add_epi16(
                _mm256_unpacklo_epi32(m[0], m[1]),
                _mm256_unpackhi_epi32(m[0], m[1]),
            );
            let w1 = _mm256_add_epi16(
                _mm256_unpacklo_epi32(m[2], m[3]),
                _mm256_unpackhi_epi32(m[2], m[3]),
            );
            let y = _mm256_add_epi16(_mm256_unpacklo_epi64(w0, w1), _mm256_unpackhi_epi64(w0, w1));
            let mut sums = _mm256_madd_epi16(y, ones);
            if P::OFFSET != 0 {
                sums = _mm256_sub_epi32(sums, t.corr[0][g]);
            }
            let dw = f16_lanes(wg, 8, |wb| P::w_scales(wb).0);
            let mw = if P::HAS_MIN {
                f16_lanes(wg, 8, |wb| P::w_scales(wb).1)
            } else {
                _mm256_setzero_ps()
            };
            acc[0] = add_terms(P::HAS_MIN, acc[0], sums, (dw, mw), (t.dx[0][g], t.sx[0][g]));
        }
        if full * 8 < bpr {
            row_group::<P, 1>(&mut acc, wr.add(8 * full), [x], full, bpr - 8 * full, t);
        }
        reduce_lanes_ps(acc[0])
    }
}

/// Rows per panel of [`gemm`]: the panel's weights (32 rows of 3072 Q4_0 elements: 54 KiB)
/// stay in L2 while every column tile passes over them, and the column tables are refilled
/// once per panel (at 32 rows, about 3 % of the work).
const PANEL_ROWS: usize = 32;

/// Multi-column product: `out[c · stride + r] = dot(w_r, x_c)` for `rows` rows and `cols`
/// columns, in row panels of [`PANEL_ROWS`]; per panel, the columns run in tiles of `C`
/// (then single columns), each tile with its table. Returns `false` (writing nothing) when
/// the rows are longer than the table holds or `stride < rows` (the caller's general path
/// handles those).
///
/// # Safety
/// `w` must point to `rows · bpr` readable blocks and `x` to `cols · bpr`; `out` must hold
/// `(cols − 1) · stride + rows` values (columns that do not fit are the caller's to skip: pass
/// only the columns that fit); the CPU must support AVX2, FMA and F16C.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn gemm<P: TablePair, const C: usize>(
    w: *const P::W,
    x: *const P::X,
    bpr: usize,
    rows: usize,
    cols: usize,
    out: &mut [f32],
    stride: usize,
) -> bool {
    if bpr == 0 || !fits(bpr) || stride < rows {
        return false;
    }
    match (cols.checked_sub(1))
        .and_then(|c| c.checked_mul(stride))
        .and_then(|v| v.checked_add(rows))
    {
        Some(end) if end <= out.len() => {}
        _ => return false,
    }
    // SAFETY: rows `< rows`, columns `< cols` (caller contract); every output index
    // `c · stride + r < (cols − 1) · stride + rows <= out.len()` (checked above).
    unsafe {
        let mut t = ColTable::<C>::new();
        let mut t1 = ColTable::<1>::new();
        let mut r0 = 0;
        while r0 < rows {
            let r1 = (r0 + PANEL_ROWS).min(rows);
            let mut c0 = 0;
            while c0 + C <= cols {
                let xs: [*const P::X; C] = core::array::from_fn(|c| x.add((c0 + c) * bpr));
                t.fill::<P>(xs, bpr);
                for r in r0..r1 {
                    let v = row::<P, C>(w.add(r * bpr), xs, bpr, &t);
                    for (c, &vc) in v.iter().enumerate() {
                        *out.get_unchecked_mut((c0 + c) * stride + r) = vc;
                    }
                }
                c0 += C;
            }
            while c0 < cols {
                let xc = x.add(c0 * bpr);
                t1.fill::<P>([xc], bpr);
                for r in r0..r1 {
                    let [v] = row::<P, 1>(w.add(r * bpr), [xc], bpr, &t1);
                    *out.get_unchecked_mut(c0 * stride + r) = v;
                }
                c0 += 1;
            }
            r0 = r1;
        }
    }
    true
}
