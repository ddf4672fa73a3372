//! AVX2 multi-column products (prefill) of the 4-bit formats Q4_0 and Q4_1 in row quads: four
//! weight rows share every 256-bit `maddubs`, each activation 8-byte slice is broadcast to
//! the four rows, and a block pair's eight row sums come out of one `madd` with ones: the
//! rows' 8-byte chunks hold four elements of each block of the pair, so no horizontal
//! reduction is needed. Bit-exact with [`crate::kernels::dot`] (the same exact integer block
//! sums, the same float operations per block, in the same order per lane).
//!
//! # Math
//!
//! As [`super::decode_q32`]: per block `b`, `isum_b = Σ_j u_j·x_j − c·Σ_j x_j` (`u_j` the
//! stored unsigned nibble, `c = 8` for Q4_0, `0` for Q4_1), and the float term
//! `(d_w · d_x) · (isum_b as f32)` (`+ m_w · s_x` for Q4_1) is added to lane `b % 8` of the
//! `(row, column)` accumulator, the 8 lanes folded at the end in the order of
//! [`crate::kernels::dot::reduce_lanes`].
//!
//! # Layout
//!
//! Blocks go in pairs `(b, b + 1)`, `b` even. For rows `r0..r3`, the 16-byte nibble arrays of
//! both blocks are loaded as `[r0 | r1]` and `[r2 | r3]` (128-bit halves) and interleaved in
//! dwords (`unpacklo/hi_epi32` of block `b`'s vector with block `b + 1`'s), then the rows are
//! brought together with `unpacklo/hi_epi64`. One mask (and one 16-bit shift for the high
//! nibbles) gives eight vectors `W_j`, `j = 0..8`: per row (order `[r0, r2 | r1, r3]`) an
//! 8-byte chunk with elements `4j..4j+4` of block `b`, then of block `b + 1` (the Q4 layout:
//! byte `i` holds element `i` in its low nibble and `i + 16` in its high one). The activation
//! quants of the pair are stored interleaved the same way per column (a table filled once per
//! column tile), and chunk `j` is broadcast to the four rows (`vpbroadcastq` from memory), so
//! `maddubs(W_j, X_j)` gives, per row, two `i16` pair sums of each block. The eight `j` add up
//! in `i16` (sums of 16 products, `≤ 16 · 15 · 128 = 30720 < 2^15`), and one `madd` with ones
//! leaves the exact block sums in `i32` lanes
//! `[b·r0, (b+1)·r0, b·r2, (b+1)·r2 | b·r1, (b+1)·r1, b·r3, (b+1)·r3]`. The weight scales
//! are gathered in the same lane order; the activation data (offset corrections `c·Σx`, `d_x`,
//! `s_x`) come from the table's 16-byte entries `[v_b, v_{b+1}, v_b, v_{b+1}]`, broadcast to
//! both halves.
//!
//! # Accumulators
//!
//! Per column, four `f32x8` accumulators, one per pair slot `p % 4` (`p = b / 2`): lane
//! `(row, parity)` of slot `s` accumulates the terms of blocks `b ≡ 2s + parity (mod 8)` of
//! that row, in increasing `b` — exactly the scalar reference's lane `b % 8`. At the end the
//! eight lanes of each `(row, column)` are picked out and folded in the reference order. Float
//! addition is per lane, so which register lane holds a reference lane does not matter.
//!
//! # Windows
//!
//! The table covers a window of [`WIN_PAIRS`] block pairs (16 KiB of interleaved quants and
//! 8 KiB of entries for 4 columns); longer rows run window by window, the accumulators of the
//! panel's quads kept between windows in a stack array (at most [`MAX_QUADS`] quads per
//! panel). Windows start at multiples of 4 pairs, so a pair's slot is the same in every window.
//!
//! # Tails
//!
//! An odd last block pairs with a zero block: zero weight nibbles, and zero quants, scales
//! and corrections (the table is zero past the row), so its lanes add `(+0 · +0) · +0 = +0`
//! (`+ +0 · +0`), which never changes an accumulator (accumulators start at `+0` and a sum of
//! floats is never `−0` unless both addends are). Rows that do not make a whole quad are the
//! caller's ([`super::decode_q32::gemm`] runs them one by one).
//!
//! Measured on Zen 3 (`kernel_bw --stream-mib 0 --shape 256x3072 --batch 64 --types q4_0`,
//! alternating runs pinned to one core, the machine shared and noisy): against the one-row
//! panel kernel of [`super::decode_q32`] 24.2 → 32.2 GB/s·column (rows in quads of 8-byte
//! chunks of one block, a `hadd` per block pair); the pair-interleaved chunks, which drop the
//! `hadd`, a further ×1.06 (median of 6 rounds).

use super::common::prefetch_ahead;
use super::decode_q32::{block_sums, DecodePair};
use super::dot_q32::{add_terms, f16_lanes, Q4_0Q8_0, Q4_1Q8_1};
use crate::quant::{BlockQ4_0, BlockQ4_1};
use core::arch::x86_64::*;

/// Block pairs a table window holds (a multiple of 4).
pub(super) const WIN_PAIRS: usize = 64;

/// Most quads in a panel of rows longer than one window (the accumulators kept between
/// windows): a panel of [`PANEL_BYTES`] holds at most this many quads of rows of more than
/// `2 · WIN_PAIRS` blocks of at least 18 bytes.
const MAX_QUADS: usize = PANEL_BYTES / (4 * 2 * WIN_PAIRS * 18);

/// A maddubs format whose weight blocks hold 16 bytes of nibbles (Q4_0, Q4_1).
pub(in crate::arch::x86_64) trait QuadPair: DecodePair {
    /// The 16 nibble bytes of a weight block.
    fn w_qs(w: &Self::W) -> &[u8; 16];
}

impl QuadPair for Q4_0Q8_0 {
    #[inline(always)]
    fn w_qs(w: &BlockQ4_0) -> &[u8; 16] {
        &w.qs
    }
}

impl QuadPair for Q4_1Q8_1 {
    #[inline(always)]
    fn w_qs(w: &BlockQ4_1) -> &[u8; 16] {
        &w.qs
    }
}

/// Per-column data of up to `CAP` columns for a window of [`WIN_PAIRS`] block pairs (module
/// docs): the interleaved activation quants and 16-byte entries `[v_b, v_{b+1}, v_b,
/// v_{b+1}]`, zero past the row.
///
/// One entry array serves both per-format extras: no format has both an offset and a min term
/// (checked at compile time in [`gemm`]), so it holds the offset corrections (`i32` bits) or
/// `s_x` (`f32` bits). For 4 columns the table is 4 · 64 · (64 + 2 · 16) bytes = 24 KiB.
pub(super) struct PairTable<const CAP: usize> {
    /// The quants of each pair, interleaved in 4-byte groups: chunk `j` (bytes `8j..8j+8`)
    /// holds elements `4j..4j+4` of block `2p`, then of block `2p + 1`.
    xq: [[[i8; 64]; WIN_PAIRS]; CAP],
    /// `d_x` of each pair.
    dx: [[[f32; 4]; WIN_PAIRS]; CAP],
    /// `c · Σ x` of each pair (`i32`, formats with an offset) or `s_x` (`f32`, formats with a
    /// min term).
    aux: [[[u32; 4]; WIN_PAIRS]; CAP],
}

impl<const CAP: usize> PairTable<CAP> {
    /// An all-zero table.
    pub(super) fn new() -> Self {
        PairTable {
            xq: [[[0; 64]; WIN_PAIRS]; CAP],
            dx: [[[0.0; 4]; WIN_PAIRS]; CAP],
            aux: [[[0; 4]; WIN_PAIRS]; CAP],
        }
    }

    /// Fills the entries of columns `0..x.len()` for pairs `p0..p0 + np` (`p0` a multiple of
    /// 4, `np <= WIN_PAIRS`) of rows of `bpr` blocks, 8 blocks at a time
    /// ([`super::decode_q32`]'s correction sums and scale gathers); blocks past `bpr` are zero.
    ///
    /// # Safety
    /// Every `x[c]` must point to `bpr` readable blocks; `x.len() <= CAP`; `2 · p0 < bpr`; the
    /// CPU must support AVX2 and F16C.
    #[inline(always)]
    unsafe fn fill<P: QuadPair>(&mut self, x: &[*const P::X], bpr: usize, p0: usize, np: usize) {
        // SAFETY: blocks `< bpr` only; entries `4g + 3 < 4 · np.div_ceil(4) <= WIN_PAIRS`
        // (`WIN_PAIRS` a multiple of 4); AVX2/F16C available.
        unsafe {
            let zero = _mm256_setzero_si256();
            let offset = _mm256_set1_epi8(P::OFFSET);
            for (c, &xc) in x.iter().enumerate() {
                for g in 0..np.div_ceil(4) {
                    let b = 2 * p0 + 8 * g;
                    let n = bpr.saturating_sub(b).min(8);
                    let xg = xc.add(b);
                    let p = 4 * g;
                    let quants = |k: usize| {
                        if k < n {
                            _mm256_loadu_si256(P::x_quants(&*xg.add(k)).as_ptr().cast())
                        } else {
                            zero
                        }
                    };
                    for k in 0..4 {
                        let d = self.xq[c].as_mut_ptr().add(p + k).cast::<__m128i>();
                        let (a, b) = (quants(2 * k), quants(2 * k + 1));
                        let (lo, hi) = (_mm256_unpacklo_epi32(a, b), _mm256_unpackhi_epi32(a, b));
                        _mm_storeu_si128(d, _mm256_castsi256_si128(lo));
                        _mm_storeu_si128(d.add(1), _mm256_castsi256_si128(hi));
                        _mm_storeu_si128(d.add(2), _mm256_extracti128_si256::<1>(lo));
                        _mm_storeu_si128(d.add(3), _mm256_extracti128_si256::<1>(hi));
                    }
                    if P::OFFSET != 0 {
                        let mut m = [zero; 8];
                        for (k, mk) in m.iter_mut().enumerate().take(n) {
                            *mk = _mm256_maddubs_epi16(offset, quants(k));
                        }
                        let v = _mm256_castsi256_ps(block_sums(m));
                        store_pairs_ps(self.aux[c].as_mut_ptr().add(p).cast(), v);
                    }
                    store_pairs_ps(
                        self.dx[c].as_mut_ptr().add(p),
                        f16_lanes(xg, n, |xb| P::x_scales(xb).0),
                    );
                    if P::HAS_MIN {
                        store_pairs_ps(
                            self.aux[c].as_mut_ptr().add(p).cast(),
                            f16_lanes(xg, n, |xb| P::x_scales(xb).1),
                        );
                    }
                }
            }
        }
    }
}

/// Stores the lanes of `v` (blocks `8g..8g+8`) as the entries `[v_b, v_{b+1}, v_b, v_{b+1}]`
/// of pairs `4g..4g+4` at `dst`.
///
/// # Safety
/// `dst` must point to 4 writable entries; the CPU must support AVX.
#[inline(always)]
unsafe fn store_pairs_ps(dst: *mut [f32; 4], v: __m256) {
    // SAFETY: 4 entries of 16 bytes at `dst` (caller contract); AVX available.
    unsafe {
        let e = dst.cast::<f32>();
        let v = _mm256_castps_pd(v);
        let (lo, hi) = (
            _mm256_castpd_ps(_mm256_unpacklo_pd(v, v)),
            _mm256_castpd_ps(_mm256_unpackhi_pd(v, v)),
        );
        _mm_storeu_ps(e, _mm256_castps256_ps128(lo));
        _mm_storeu_ps(e.add(4), _mm256_castps256_ps128(hi));
        _mm_storeu_ps(e.add(8), _mm256_extractf128_ps::<1>(lo));
        _mm_storeu_ps(e.add(12), _mm256_extractf128_ps::<1>(hi));
    }
}

/// The eight vectors `W_j` of block pair `(b, b + 1)` of the four rows: chunk `j` of row `r`
/// holds elements `4j..4j+4` of block `b` then of block `b + 1` (zero if not `SECOND`), rows
/// in the order `[r0, r2 | r1, r3]`.
///
/// # Safety
/// Block `b` (and `b + 1` if `SECOND`) of every `w[r]` must be readable; the CPU must
/// support AVX2.
#[inline(always)]
unsafe fn unpack_pair<P: QuadPair, const SECOND: bool>(
    w: &[*const P::W; 4],
    b: usize,
) -> [__m256i; 8] {
    // SAFETY: blocks `b` and (if `SECOND`) `b + 1` are readable (caller contract); AVX2.
    unsafe {
        let q = |r: usize, k: usize| {
            if k == 0 || SECOND {
                _mm_loadu_si128(P::w_qs(&*w[r].add(b + k)).as_ptr().cast())
            } else {
                _mm_setzero_si128()
            }
        };
        let two = |r0: usize, r1: usize, k: usize| {
            _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(q(r0, k)), q(r1, k))
        };
        let (a01, c01) = (two(0, 1, 0), two(0, 1, 1));
        let (a23, c23) = (two(2, 3, 0), two(2, 3, 1));
        let (l01, h01) = (
            _mm256_unpacklo_epi32(a01, c01),
            _mm256_unpackhi_epi32(a01, c01),
        );
        let (l23, h23) = (
            _mm256_unpacklo_epi32(a23, c23),
            _mm256_unpackhi_epi32(a23, c23),
        );
        let v = [
            _mm256_unpacklo_epi64(l01, l23),
            _mm256_unpackhi_epi64(l01, l23),
            _mm256_unpacklo_epi64(h01, h23),
            _mm256_unpackhi_epi64(h01, h23),
        ];
        let m = _mm256_set1_epi8(0x0F);
        let lo = |j: usize| _mm256_and_si256(v[j], m);
        let hi = |j: usize| _mm256_and_si256(_mm256_srli_epi16::<4>(v[j]), m);
        [lo(0), lo(1), lo(2), lo(3), hi(0), hi(1), hi(2), hi(3)]
    }
}

/// `Σ_j maddubs(W_j, broadcast(x[8j..8j+8]))` over the eight chunks of a pair, then `madd`
/// with ones: per row, the two blocks' exact sums `Σ u·x` in `i32` lanes.
///
/// # Safety
/// `xq` must point to 64 readable bytes; the CPU must support AVX2.
#[inline(always)]
unsafe fn pair_products(wv: &[__m256i; 8], xq: *const i8) -> __m256i {
    // SAFETY: bytes `0..64` of `xq` are readable (caller contract); AVX2 available.
    unsafe {
        let x = |j: usize| xq.add(8 * j).cast::<i64>().read_unaligned();
        let m = |j: usize| _mm256_maddubs_epi16(wv[j], _mm256_set1_epi64x(x(j)));
        let (m0, m1, m2, m3) = (m(0), m(1), m(2), m(3));
        let (m4, m5, m6, m7) = (m(4), m(5), m(6), m(7));
        let s = _mm256_add_epi16(
            _mm256_add_epi16(_mm256_add_epi16(m0, m1), _mm256_add_epi16(m2, m3)),
            _mm256_add_epi16(_mm256_add_epi16(m4, m5), _mm256_add_epi16(m6, m7)),
        );
        _mm256_madd_epi16(s, _mm256_set1_epi16(1))
    }
}

/// The f16 scale of block `b` of row `r` through `f`, as `u64`; 0 for `b >= nb` unless
/// `FULL` (the caller knows `b < nb`).
///
/// # Safety
/// Block `b` of `w[r]` must be readable if `b < nb` or `FULL`.
#[inline(always)]
unsafe fn scale_bits<P: QuadPair, const FULL: bool>(
    w: &[*const P::W; 4],
    r: usize,
    b: usize,
    nb: usize,
    f: impl Fn(&P::W) -> u16,
) -> u64 {
    if FULL || b < nb {
        // SAFETY: `b < nb` (caller contract).
        u64::from(f(unsafe { &*w[r].add(b) }))
    } else {
        0
    }
}

/// The weight scales of blocks `b` and `b + 1` (zero when `b + 1 == nb`) in the lane order
/// `[b·r0, b·r2, (b+1)·r0, (b+1)·r2 | b·r1, b·r3, (b+1)·r1, (b+1)·r3]`.
///
/// # Safety
/// Blocks `b` and (if `< nb`) `b + 1` of every row must be readable; the CPU must support AVX
/// and F16C.
#[inline(always)]
unsafe fn pair_scales<P: QuadPair, const FULL: bool>(
    w: &[*const P::W; 4],
    b: usize,
    nb: usize,
    f: impl Fn(&P::W) -> u16 + Copy,
) -> __m256 {
    // SAFETY: forwarded caller contract; F16C available.
    unsafe {
        let g = |r: usize, k: usize| scale_bits::<P, FULL>(w, r, b + k, nb, f);
        let lo = g(0, 0) | (g(0, 1) << 16) | (g(2, 0) << 32) | (g(2, 1) << 48);
        let hi = g(1, 0) | (g(1, 1) << 16) | (g(3, 0) << 32) | (g(3, 1) << 48);
        _mm256_cvtph_ps(_mm_set_epi64x(hi as i64, lo as i64))
    }
}

/// Loads a 16-byte table entry (four 4-byte lanes) into both halves, as `f32`.
///
/// # Safety
/// The CPU must support AVX2.
#[inline(always)]
unsafe fn entry_ps<T>(e: &[T; 4]) -> __m256 {
    const { assert!(core::mem::size_of::<T>() == 4) };
    // SAFETY: `e` is 16 readable bytes (4-byte elements); an unaligned load; AVX2 available.
    unsafe {
        _mm256_castsi256_ps(_mm256_broadcastsi128_si256(_mm_loadu_si128(
            e.as_ptr().cast(),
        )))
    }
}

/// As [`entry_ps`], as `i32`.
///
/// # Safety
/// The CPU must support AVX2.
#[inline(always)]
unsafe fn entry_epi32<T>(e: &[T; 4]) -> __m256i {
    const { assert!(core::mem::size_of::<T>() == 4) };
    // SAFETY: `e` is 16 readable bytes (4-byte elements); an unaligned load; AVX2 available.
    unsafe { _mm256_broadcastsi128_si256(_mm_loadu_si128(e.as_ptr().cast())) }
}

/// Adds the terms of block pair `p` (blocks `2p` and `2p + 1`, the latter only if `< nb`) of
/// the four rows `w` against the `C` columns of the table (window entry `e`) to the
/// accumulators `acc[c]` (this pair's slot).
///
/// # Safety
/// The blocks named must be readable in every row; `t` filled for the columns; the CPU must
/// support AVX2, FMA and F16C.
#[inline(always)]
#[allow(clippy::needless_range_loop)]
unsafe fn pair<P: QuadPair, const C: usize, const CAP: usize, const FULL: bool>(
    acc: &mut [__m256; C],
    w: &[*const P::W; 4],
    p: usize,
    e: usize,
    nb: usize,
    t: &PairTable<CAP>,
) {
    // SAFETY: block `2p < nb` and, when `2p + 1 < nb`, block `2p + 1` (caller contract);
    // `e < WIN_PAIRS`; AVX2/FMA/F16C available.
    unsafe {
        let b = 2 * p;
        let wv = if FULL || b + 1 < nb {
            unpack_pair::<P, true>(w, b)
        } else {
            unpack_pair::<P, false>(w, b)
        };
        let dw = pair_scales::<P, FULL>(w, b, nb, |wb| P::w_scales(wb).0);
        let mw = if P::HAS_MIN {
            pair_scales::<P, FULL>(w, b, nb, |wb| P::w_scales(wb).1)
        } else {
            _mm256_setzero_ps()
        };
        for c in 0..C {
            let mut sums = pair_products(&wv, t.xq[c].get_unchecked(e).as_ptr());
            let aux = t.aux[c].get_unchecked(e);
            if P::OFFSET != 0 {
                sums = _mm256_sub_epi32(sums, entry_epi32(aux));
            }
            let sx = if P::HAS_MIN {
                entry_ps(aux)
            } else {
                _mm256_setzero_ps()
            };
            let dx = entry_ps(t.dx[c].get_unchecked(e));
            acc[c] = add_terms(P::HAS_MIN, acc[c], sums, (dw, mw), (dx, sx));
        }
    }
}

/// The accumulators of one quad against `C` columns: `[slot][column]`.
type QuadAcc<const C: usize> = [[__m256; C]; 4];

/// Adds the terms of pairs `p0..p1` (`p0` a multiple of 4, `p1 − p0 <= WIN_PAIRS`; the table
/// filled for the window starting at `p0`) of the four rows `w` to `acc`.
///
/// # Safety
/// Every row must point to `nb` readable blocks, `p1 <= nb.div_ceil(2)`; the CPU must support
/// AVX2, FMA and F16C.
#[inline(always)]
#[allow(clippy::needless_range_loop)]
unsafe fn quad<P: QuadPair, const C: usize, const CAP: usize>(
    acc: &mut QuadAcc<C>,
    w: &[*const P::W; 4],
    (p0, p1): (usize, usize),
    nb: usize,
    t: &PairTable<CAP>,
) {
    // SAFETY: pairs `p0 <= p < p1 <= nb.div_ceil(2)`, entries `p − p0 < WIN_PAIRS` (caller
    // contract); AVX2/FMA/F16C available.
    unsafe {
        let full = (nb / 2).min(p1);
        let mut p = p0;
        while p + 4 <= full {
            for r in 0..4 {
                prefetch_ahead(w[r].add(2 * p).cast(), 8 * core::mem::size_of::<P::W>());
            }
            for s in 0..4 {
                pair::<P, C, CAP, true>(&mut acc[s], w, p + s, p + s - p0, nb, t);
            }
            p += 4;
        }
        for s in 0..p1 - p {
            pair::<P, C, CAP, false>(&mut acc[s], w, p + s, p + s - p0, nb, t);
        }
    }
}

/// Reference lane `l` (`b % 8`) of row `r` lives in slot `l / 2`, register lane
/// `QUAD_POS[r] + l % 2` (module docs).
const QUAD_POS: [usize; 4] = [0, 4, 2, 6];

/// Folds a quad's accumulators into `out[c][r] = dot(w_r, x_c)` in the reference order.
///
/// # Safety
/// The CPU must support AVX.
#[inline(always)]
unsafe fn fold<const C: usize>(acc: &QuadAcc<C>) -> [[f32; 4]; C] {
    let mut out = [[0.0f32; 4]; C];
    for (c, oc) in out.iter_mut().enumerate() {
        let mut lanes = [[0.0f32; 8]; 4];
        for (s, l) in lanes.iter_mut().enumerate() {
            // SAFETY: 8 writable floats; AVX available (caller contract).
            unsafe { _mm256_storeu_ps(l.as_mut_ptr(), acc[s][c]) };
        }
        for (r, o) in oc.iter_mut().enumerate() {
            let a = |l: usize| lanes[l / 2][QUAD_POS[r] + l % 2];
            *o = ((a(0) + a(4)) + (a(2) + a(6))) + ((a(1) + a(5)) + (a(3) + a(7)));
        }
    }
    out
}

/// Weight bytes per row panel: the panel stays in L2 (512 KiB on Zen 3) while every column
/// tile passes over it.
pub(super) const PANEL_BYTES: usize = 192 * 1024;

/// Row quads per panel for rows of `row_bytes` bytes: as many as fit [`PANEL_BYTES`], at
/// least one.
pub(super) fn panel_quads(row_bytes: usize) -> usize {
    (PANEL_BYTES / (4 * row_bytes).max(1)).max(1)
}

/// The columns per tile.
pub(super) const COLS: usize = 4;

/// Multi-column product of the whole quads of rows: `out[c · stride + r] = dot(w_r, x_c)` for
/// rows `r < 4 · (rows / 4)` and `cols` columns. Returns the number of rows done.
///
/// # Safety
/// `w` must point to `rows · bpr` readable blocks and `x` to `cols · bpr`; `out` must hold
/// `(cols − 1) · stride + rows` values with `stride >= rows`; the CPU must support AVX2, FMA
/// and F16C.
#[inline(always)]
pub(super) unsafe fn gemm<P: QuadPair>(
    w: *const P::W,
    x: *const P::X,
    bpr: usize,
    rows: usize,
    cols: usize,
    out: &mut [f32],
    stride: usize,
) -> usize {
    const {
        assert!(
            !(P::HAS_MIN && P::OFFSET != 0),
            "one extra per format (PairTable)"
        );
        assert!(WIN_PAIRS.is_multiple_of(4) && MAX_QUADS >= 1);
        assert!(core::mem::size_of::<P::W>() >= 18);
    };
    if bpr == 0 {
        return 0;
    }
    let quads = rows / 4;
    let pairs = bpr.div_ceil(2);
    let mut t = PairTable::<COLS>::new();
    // Rows of more than one window keep their accumulators between windows.
    // SAFETY: all-zero bits are valid `__m256` values.
    let mut kept: [QuadAcc<COLS>; MAX_QUADS] = unsafe { core::mem::zeroed() };
    let panel = if pairs > WIN_PAIRS {
        // (A panel of rows longer than one window holds at most `MAX_QUADS` quads.)
        panel_quads(bpr * core::mem::size_of::<P::W>()).min(MAX_QUADS)
    } else {
        panel_quads(bpr * core::mem::size_of::<P::W>())
    };
    // SAFETY: rows `< 4 · quads <= rows`, columns `< cols`, pairs `< pairs` (caller
    // contract); every output index `c · stride + r < (cols − 1) · stride + rows <=
    // out.len()`; `q − q0 < panel <= MAX_QUADS` where `kept` is used.
    unsafe {
        let mut q0 = 0;
        while q0 < quads {
            let q1 = (q0 + panel).min(quads);
            let mut c0 = 0;
            while c0 < cols {
                let n = (cols - c0).min(COLS);
                let xs: [*const P::X; COLS] =
                    core::array::from_fn(|c| x.add((c0 + c.min(n - 1)) * bpr));
                let mut p0 = 0;
                while p0 < pairs {
                    let p1 = (p0 + WIN_PAIRS).min(pairs);
                    t.fill::<P>(&xs[..n], bpr, p0, p1 - p0);
                    let (first, last) = (p0 == 0, p1 == pairs);
                    for q in q0..q1 {
                        let ws: [*const P::W; 4] =
                            core::array::from_fn(|r| w.add((4 * q + r) * bpr));
                        macro_rules! run {
                            ($n:literal) => {{
                                let mut acc = [[_mm256_setzero_ps(); $n]; 4];
                                if !first {
                                    let k = kept.get_unchecked(q - q0);
                                    for s in 0..4 {
                                        acc[s] = core::array::from_fn(|c| k[s][c]);
                                    }
                                }
                                quad::<P, $n, COLS>(&mut acc, &ws, (p0, p1), bpr, &t);
                                if last {
                                    for (c, vc) in fold(&acc).iter().enumerate() {
                                        for (r, &vr) in vc.iter().enumerate() {
                                            *out.get_unchecked_mut((c0 + c) * stride + 4 * q + r) =
                                                vr;
                                        }
                                    }
                                } else {
                                    let k = kept.get_unchecked_mut(q - q0);
                                    for s in 0..4 {
                                        k[s][..$n].copy_from_slice(&acc[s]);
                                    }
                                }
                            }};
                        }
                        match n {
                            1 => run!(1),
                            2 => run!(2),
                            3 => run!(3),
                            _ => run!(4),
                        }
                    }
                    p0 = p1;
                }
                c0 += n;
            }
            q0 = q1;
        }
    }
    4 * quads
}
