//! 256-bit multi-column products (prefill) of the 4-bit formats Q4_0 and Q4_1 in row octets:
//! eight weight rows share every 256-bit `maddubs`, one dword lane per row, each activation
//! 4-byte slice is broadcast to the eight lanes straight from the activation block, and a
//! block's eight row sums come out of one `madd` with ones — no horizontal reduction and no
//! reordered copy of the activations (row quads needed one). Column tiles of 16 spread each
//! weight block's unpack over more columns than 8 do.
//!
//! # Math
//!
//! As [`super::q32_table`]: per block `b`, `isum_b = Σ_j u_j·x_j − c·Σ_j x_j` (`u_j` the
//! stored unsigned nibble, `c = 8` for Q4_0, `0` for Q4_1), and the float term
//! `(d_w · d_x) · (isum_b as f32)` (`+ m_w · s_x` for Q4_1) is added to lane `b % 8` of the
//! `(row, column)` accumulator, the 8 lanes folded at the end in the order of
//! [`crate::kernels::dot::reduce_lanes`]. Bit-exact with [`crate::kernels::dot`]: the same
//! exact integer block sums, the same float operations per block, in the same order per lane.
//!
//! # Layout
//!
//! For rows `r0..r7` and block `b`, the eight 16-byte nibble arrays are loaded in pairs
//! `A_i = [r_i | r_{i+4}]` (128-bit halves) and transposed as 4 × 4 dword matrices per half
//! (`unpacklo/hi_epi32`, then `unpacklo/hi_epi64`): `V_k` holds bytes `4k..4k+4` of row `i` in
//! dword lane `i`. One mask (and one 16-bit shift for the high nibbles) gives the eight
//! vectors `W_j` holding elements `4j..4j+4` of the eight rows (byte `i` holds element `i` in
//! its low nibble and `i + 16` in its high one). With `x[4j..4j+4]` broadcast (`vpbroadcastd`),
//! `maddubs(W_j, X_j)` gives two `i16` pair sums per row; the eight `j` add up in `i16` (16
//! products, `≤ 16 · 15 · 128 = 30720 < 2^15`), and a `madd` with ones leaves the eight rows'
//! exact `Σ u·x` in their `i32` lanes. The offset corrections `c·Σx`, `d_x` and `s_x` come
//! from a per-column table, one 4-byte entry per block, broadcast.
//!
//! # Accumulators
//!
//! Per column, eight `f32x8` accumulators, one per reference lane `l = b % 8`: register lane
//! `r` of accumulator `l` holds row `r`'s lane `l`, adding the terms of blocks `b ≡ l (mod 8)`
//! in increasing `b`. The fold of the reference order runs on whole vectors and leaves row
//! `r`'s result in lane `r`. The first group of 8 blocks starts each accumulator as
//! `+0.0 + term` from a zero register (the reference's `+0.0` start), which saves zeroing
//! 4 KiB per octet and tile; rows of fewer than 8 blocks get a zeroed array.
//!
//! # Tiling, windows and interleaving
//!
//! Row panels of `PANEL_BYTES` (their weights stay in L2); per panel, column tiles of
//! [`COLS`] pass over the panel's octets, each weight block unpacked once per tile. The table
//! covers a window of [`WIN_BLOCKS`] blocks (34 KiB for 16 columns); longer rows run window
//! by window, the accumulators kept between windows on the stack (at most [`MAX_OCTETS`]
//! octets per panel for such rows, 8 KiB: a panel of rows that long holds about two octets).
//!
//! Each `(block, column)` is a chain of about 30 partly dependent operations, and the
//! columns' chains are independent; written one column after the other, the out-of-order
//! window holds only about three, so [`block_products`] interleaves the `maddubs` steps of
//! [`INTERLEAVE`] columns (not in the K-format quads of [`super::k_quads`], whose 8 column
//! accumulators would then spill).
//!
//! # `vpdpbusd` (the AVX-VNNI and AVX-512 tiers)
//!
//! The kernels are generic over a [`ByteDot`]: this tier's `maddubs` + `madd`, or one
//! `vpdpbusd` (VEX in the AVX-VNNI tier, EVEX in the AVX-512 tier), which sums each block's
//! eight `W_j · X_j` steps straight into `i32`, even and odd `j` in two chains per column added
//! at the end ([`block_products`]). Integer sums, so the same bits (`docs/avx512.md`).
//!
//! # Tails
//!
//! Blocks past the row are never visited: a lane with fewer blocks gets fewer terms, as in the
//! reference. Rows that do not make a whole octet are the caller's
//! ([`super::q32_table::gemm`] runs them one by one).

use super::common::{panel_groups, prefetch_ahead, ByteDot};
use super::q32::{add_terms, f16_lanes, Q4_0Q8_0, Q4_1Q8_1};
use super::q32_table::{block_sums, TablePair};
use crate::quant::{BlockQ4_0, BlockQ4_1};
#[cfg(test)]
use crate::quant::{BlockQ8_0, BlockQ8_1};
use core::arch::x86_64::*;

/// Blocks a table window holds (a multiple of 8).
pub(in crate::arch::x86_64) const WIN_BLOCKS: usize = 256;

/// The columns per tile: each weight block is unpacked once per tile.
pub(in crate::arch::x86_64) const COLS: usize = 16;

/// Columns whose products are interleaved ([`block_products`]): 4 is the fastest of 1, 2, 4
/// and 8 (8 gains nothing more and holds more registers).
pub(in crate::arch::x86_64) const INTERLEAVE: usize = 4;

/// Most octets per panel for rows longer than one window (whose accumulators are kept between
/// windows).
pub(in crate::arch::x86_64) const MAX_OCTETS: usize = 2;

/// A maddubs format whose weight blocks hold 16 bytes of nibbles (Q4_0, Q4_1).
pub(in crate::arch::x86_64) trait OctetPair: TablePair {
    /// The 16 nibble bytes of a weight block.
    fn w_qs(w: &Self::W) -> &[u8; 16];
}

impl OctetPair for Q4_0Q8_0 {
    #[inline(always)]
    fn w_qs(w: &BlockQ4_0) -> &[u8; 16] {
        &w.qs
    }
}

impl OctetPair for Q4_1Q8_1 {
    #[inline(always)]
    fn w_qs(w: &BlockQ4_1) -> &[u8; 16] {
        &w.qs
    }
}

/// Per-column data of up to `CAP` columns for a window of [`WIN_BLOCKS`] blocks, one 4-byte
/// entry per block, zero past the row.
///
/// One entry array serves both per-format extras: no format has both an offset and a min term
/// (checked at compile time in [`gemm`]), so it holds the offset corrections (`i32` bits) or
/// `s_x` (`f32` bits).
pub(in crate::arch::x86_64) struct BlockTable<const CAP: usize> {
    /// `d_x` of each block.
    pub(in crate::arch::x86_64) dx: [[f32; TABLE_ROW]; CAP],
    /// `c · Σ x` of each block (`i32`, formats with an offset) or `s_x` (`f32`, formats with a
    /// min term).
    pub(in crate::arch::x86_64) aux: [[u32; TABLE_ROW]; CAP],
}

/// A table row: a window's entries plus one cache line of padding, so that the columns'
/// entries of one block (read together) fall in different L1 sets rather than all in a few
/// (rows of exactly 1 KiB were slower with 16 columns: cache-set conflicts).
pub(in crate::arch::x86_64) const TABLE_ROW: usize = WIN_BLOCKS + 16;

impl<const CAP: usize> BlockTable<CAP> {
    /// An all-zero table.
    pub(in crate::arch::x86_64) fn new() -> Self {
        BlockTable {
            dx: [[0.0; TABLE_ROW]; CAP],
            aux: [[0; TABLE_ROW]; CAP],
        }
    }

    /// Fills the entries of columns `0..x.len()` for blocks `b0..b1` (`b0` a multiple of 8,
    /// `b1 − b0 <= WIN_BLOCKS`), 8 blocks at a time ([`super::q32_table`]'s correction sums
    /// and scale gathers).
    ///
    /// # Safety
    /// Every `x[c]` must point to `b1` readable blocks; `x.len() <= CAP`; the CPU must support
    /// AVX2 and F16C.
    #[inline(always)]
    pub(in crate::arch::x86_64) unsafe fn fill<P: OctetPair>(
        &mut self,
        x: &[*const P::X],
        (b0, b1): (usize, usize),
    ) {
        // SAFETY: blocks `< b1` only; entries `e + 8 <= 8 · (b1 − b0).div_ceil(8) <=
        // WIN_BLOCKS` (`WIN_BLOCKS` a multiple of 8); AVX2/F16C available.
        unsafe {
            let zero = _mm256_setzero_si256();
            let offset = _mm256_set1_epi8(P::OFFSET);
            for (c, &xc) in x.iter().enumerate() {
                for e in (0..b1 - b0).step_by(8) {
                    let n = (b1 - b0 - e).min(8);
                    let xg = xc.add(b0 + e);
                    if P::OFFSET != 0 {
                        let mut m = [zero; 8];
                        for (k, mk) in m.iter_mut().enumerate().take(n) {
                            let v = _mm256_loadu_si256(P::x_quants(&*xg.add(k)).as_ptr().cast());
                            *mk = _mm256_maddubs_epi16(offset, v);
                        }
                        let dst = self.aux[c].as_mut_ptr().add(e).cast::<__m256i>();
                        _mm256_storeu_si256(dst, block_sums(m));
                    }
                    let d = f16_lanes(xg, n, |xb| P::x_scales(xb).0);
                    _mm256_storeu_ps(self.dx[c].as_mut_ptr().add(e), d);
                    if P::HAS_MIN {
                        let s = f16_lanes(xg, n, |xb| P::x_scales(xb).1);
                        _mm256_storeu_ps(self.aux[c].as_mut_ptr().add(e).cast(), s);
                    }
                }
            }
        }
    }
}

/// The eight vectors `W_j` (elements `4j..4j+4` of rows `r0..r7`, row `i` in dword lane `i`)
/// of block `b` of the eight rows (module docs).
///
/// # Safety
/// Block `b` of every `w[r]` must be readable; the CPU must support AVX2.
#[inline(always)]
unsafe fn unpack8<P: OctetPair>(w: &[*const P::W; 8], b: usize) -> [__m256i; 8] {
    // SAFETY: block `b` of each row is readable (caller contract); AVX2 available.
    unsafe {
        // (A loop, not closures: closures do not inherit the target features.)
        let mut a = [_mm256_setzero_si256(); 4];
        for (i, ai) in a.iter_mut().enumerate() {
            let lo = _mm_loadu_si128(P::w_qs(&*w[i].add(b)).as_ptr().cast());
            let hi = _mm_loadu_si128(P::w_qs(&*w[i + 4].add(b)).as_ptr().cast());
            *ai = _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(lo), hi);
        }
        let [a0, a1, a2, a3] = a;
        let (t0, t1) = (_mm256_unpacklo_epi32(a0, a1), _mm256_unpackhi_epi32(a0, a1));
        let (t2, t3) = (_mm256_unpacklo_epi32(a2, a3), _mm256_unpackhi_epi32(a2, a3));
        let v = [
            _mm256_unpacklo_epi64(t0, t2),
            _mm256_unpackhi_epi64(t0, t2),
            _mm256_unpacklo_epi64(t1, t3),
            _mm256_unpackhi_epi64(t1, t3),
        ];
        let m = _mm256_set1_epi8(0x0F);
        let lo = |k: usize| _mm256_and_si256(v[k], m);
        let hi = |k: usize| _mm256_and_si256(_mm256_srli_epi16::<4>(v[k]), m);
        [lo(0), lo(1), lo(2), lo(3), hi(0), hi(1), hi(2), hi(3)]
    }
}

/// For each of `N` columns: the eight rows' exact `Σ_j W_j · broadcast(x[4j..4j+4])` in their
/// `i32` lanes. The columns' chains are interleaved (step `j` of every column, then step
/// `j + 1`), so the independent work sits close together in program order (module docs,
/// "Interleaving").
///
/// With `maddubs` ([`ByteDot::FUSED`] false): `Σ_j maddubs(W_j, X_j)` in `i16`, then one `madd`
/// with ones. The `i16` partial sums stay exact in any order: each is a sum of at most 16
/// products, `≤ 16 · 15 · 128 = 30720 < 2^15`. With `vpdpbusd`: the eight steps accumulate
/// straight in `i32`, even and odd `j` in two chains per column (half the dependent latency),
/// added at the end. Integer sums either way, so the same bits.
///
/// # Safety
/// Every `xq[c]` must point to 32 readable bytes; the CPU must support AVX2 and `D`'s
/// instructions.
#[inline(always)]
unsafe fn block_products<D: ByteDot, const N: usize>(
    wv: &[__m256i; 8],
    xq: [*const i8; N],
) -> [__m256i; N] {
    // SAFETY: bytes `0..32` of each `xq[c]` are readable (caller contract); AVX2 and `D`'s
    // instructions available.
    unsafe {
        // (Loops, not closures over intrinsics: closures would not inherit the target
        // features.)
        let mut s = [_mm256_setzero_si256(); N];
        if D::FUSED {
            let mut odd = [_mm256_setzero_si256(); N];
            for (j, wj) in wv.iter().enumerate() {
                for c in 0..N {
                    let x = _mm256_set1_epi32(xq[c].add(4 * j).cast::<i32>().read_unaligned());
                    let chain = if j % 2 == 0 { &mut s[c] } else { &mut odd[c] };
                    *chain = D::dpbusd(*chain, *wj, x);
                }
            }
            for (sc, oc) in s.iter_mut().zip(odd) {
                *sc = _mm256_add_epi32(*sc, oc);
            }
            return s;
        }
        for (j, wj) in wv.iter().enumerate() {
            for c in 0..N {
                let x = _mm256_set1_epi32(xq[c].add(4 * j).cast::<i32>().read_unaligned());
                let m = _mm256_maddubs_epi16(*wj, x);
                s[c] = if j == 0 { m } else { _mm256_add_epi16(s[c], m) };
            }
        }
        let ones = _mm256_set1_epi16(1);
        for sc in s.iter_mut() {
            *sc = _mm256_madd_epi16(*sc, ones);
        }
        s
    }
}

/// Adds the terms of block `b` (table entry `e`, reference lane `l`) of the octet (unpacked
/// quants `wv`, scales `dw`, mins `mw`) against the `N` columns `x[c0..c0 + N]` to `acc`.
///
/// # Safety
/// As [`block`], with `c0 + N <= C`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn block_columns<
    P: OctetPair,
    D: ByteDot,
    const C: usize,
    const N: usize,
    const FRESH: bool,
>(
    acc: &mut OctetAcc<C>,
    l: usize,
    (wv, dw, mw): (&[__m256i; 8], __m256, __m256),
    x: &[*const P::X; C],
    c0: usize,
    (b, e): (usize, usize),
    t: &BlockTable<COLS>,
) {
    // SAFETY: forwarded caller contract; `l < 8`, `e < WIN_BLOCKS`, `c0 + N <= C <= COLS`.
    unsafe {
        let xq: [*const i8; N] =
            core::array::from_fn(|i| P::x_quants(&*x.get_unchecked(c0 + i).add(b)).as_ptr());
        let sums = block_products::<D, N>(wv, xq);
        for (i, mut sums) in sums.into_iter().enumerate() {
            let c = c0 + i;
            let aux = *t.aux.get_unchecked(c).get_unchecked(e);
            if P::OFFSET != 0 {
                sums = _mm256_sub_epi32(sums, _mm256_set1_epi32(aux as i32));
            }
            let sx = if P::HAS_MIN {
                _mm256_set1_ps(f32::from_bits(aux))
            } else {
                _mm256_setzero_ps()
            };
            let dx = _mm256_set1_ps(*t.dx.get_unchecked(c).get_unchecked(e));
            let a = acc.get_unchecked_mut(c).get_unchecked_mut(l);
            // A fresh accumulator is the reference's `+0.0` start (`0.0 + term`, as before).
            let prev = if FRESH { _mm256_setzero_ps() } else { *a };
            *a = add_terms(P::HAS_MIN, prev, sums, (dw, mw), (dx, sx));
        }
    }
}

/// The f16 scales of block `b` of the eight rows through `f`, as `f32` in row order.
///
/// # Safety
/// Block `b` of every row must be readable; the CPU must support AVX and F16C.
#[inline(always)]
unsafe fn block_scales<P: OctetPair>(
    w: &[*const P::W; 8],
    b: usize,
    f: impl Fn(&P::W) -> u16 + Copy,
) -> __m256 {
    // SAFETY: forwarded caller contract; F16C available.
    unsafe {
        let g = |r: usize| u64::from(f(&*w[r].add(b)));
        let lo = g(0) | (g(1) << 16) | (g(2) << 32) | (g(3) << 48);
        let hi = g(4) | (g(5) << 16) | (g(6) << 32) | (g(7) << 48);
        _mm256_cvtph_ps(_mm_set_epi64x(hi as i64, lo as i64))
    }
}

/// The accumulators of one octet against `C` columns: `[column][reference lane]`.
type OctetAcc<const C: usize> = [[__m256; 8]; C];

/// Adds the terms of block `b` (table entry `e`, reference lane `l = b % 8`) of the eight
/// rows `w` against the `C` columns `x` to `acc`.
///
/// # Safety
/// Block `b` must be readable in every row and column; `e < WIN_BLOCKS`; the table filled
/// for the columns; the CPU must support AVX2, FMA and F16C.
#[inline(always)]
#[allow(clippy::needless_range_loop)]
unsafe fn block<P: OctetPair, D: ByteDot, const C: usize, const FRESH: bool>(
    acc: &mut OctetAcc<C>,
    l: usize,
    w: &[*const P::W; 8],
    x: &[*const P::X; C],
    (b, e): (usize, usize),
    t: &BlockTable<COLS>,
) {
    // SAFETY: forwarded caller contract; `l < 8`, `e < WIN_BLOCKS`, `c < C <= COLS`.
    unsafe {
        let wv = unpack8::<P>(w, b);
        let dw = block_scales::<P>(w, b, |wb| P::w_scales(wb).0);
        let mw = if P::HAS_MIN {
            block_scales::<P>(w, b, |wb| P::w_scales(wb).1)
        } else {
            _mm256_setzero_ps()
        };
        let mut c = 0;
        while c + INTERLEAVE <= C {
            block_columns::<P, D, C, INTERLEAVE, FRESH>(acc, l, (&wv, dw, mw), x, c, (b, e), t);
            c += INTERLEAVE;
        }
        while c < C {
            block_columns::<P, D, C, 1, FRESH>(acc, l, (&wv, dw, mw), x, c, (b, e), t);
            c += 1;
        }
    }
}

/// Adds the terms of blocks `b0..b1` (`b0` a multiple of 8, the window of table `t`) of the
/// eight rows `w` against the `C` columns `x` to `acc`.
///
/// # Safety
/// Every row and column must point to `b1` readable blocks, `b1 − b0 <= WIN_BLOCKS`; the CPU
/// must support AVX2, FMA and F16C.
#[inline(always)]
unsafe fn octet<P: OctetPair, D: ByteDot, const C: usize>(
    acc: &mut OctetAcc<C>,
    w: &[*const P::W; 8],
    x: &[*const P::X; C],
    (b0, b1): (usize, usize),
    t: &BlockTable<COLS>,
    fresh: bool,
) {
    // SAFETY: blocks `b0 <= b < b1`, entries `b − b0 < WIN_BLOCKS` (caller contract).
    unsafe {
        let whole = b0 + (b1 - b0) / 8 * 8;
        let mut b = b0;
        if fresh && b < whole {
            // The first group writes every lane of every column (module docs, "Accumulators").
            for &r in w {
                prefetch_ahead(r.add(b).cast(), 2 * 64);
            }
            for l in 0..8 {
                block::<P, D, C, true>(acc, l, w, x, (b + l, b + l - b0), t);
            }
            b += 8;
        }
        while b < whole {
            for &r in w {
                prefetch_ahead(r.add(b).cast(), 2 * 64);
            }
            for l in 0..8 {
                block::<P, D, C, false>(acc, l, w, x, (b + l, b + l - b0), t);
            }
            b += 8;
        }
        for b in whole..b1 {
            block::<P, D, C, false>(acc, b % 8, w, x, (b, b - b0), t);
        }
    }
}

/// Folds an octet's accumulators in the reference order: row `r`'s result in lane `r`.
///
/// # Safety
/// The CPU must support AVX.
#[inline(always)]
unsafe fn fold(a: &[__m256; 8]) -> __m256 {
    // SAFETY: AVX (caller contract); register-only.
    unsafe {
        let s04 = _mm256_add_ps(a[0], a[4]);
        let s26 = _mm256_add_ps(a[2], a[6]);
        let s15 = _mm256_add_ps(a[1], a[5]);
        let s37 = _mm256_add_ps(a[3], a[7]);
        _mm256_add_ps(_mm256_add_ps(s04, s26), _mm256_add_ps(s15, s37))
    }
}

/// Multi-column product of the whole octets of rows: `out[c · stride + r] = dot(w_r, x_c)`
/// for rows `r < 8 · (rows / 8)` and `cols` columns. Returns the number of rows done.
///
/// # Safety
/// `w` must point to `rows · bpr` readable blocks and `x` to `cols · bpr`; `out` must hold
/// `(cols − 1) · stride + rows` values with `stride >= rows`; the CPU must support AVX2, FMA
/// and F16C.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn gemm<P: OctetPair, D: ByteDot>(
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
            "one extra per format (BlockTable)"
        );
        assert!(WIN_BLOCKS.is_multiple_of(8) && MAX_OCTETS >= 1);
    };
    if bpr == 0 {
        return 0;
    }
    let octets = rows / 8;
    let mut t = BlockTable::<COLS>::new();
    // Rows of more than one window keep their accumulators between windows.
    // SAFETY: all-zero bits are valid `__m256` values.
    let mut kept: [OctetAcc<COLS>; MAX_OCTETS] = unsafe { core::mem::zeroed() };
    // The accumulators of the octet and column tile in flight, zeroed once per call: each
    // octet's first window starts every lane afresh ([`octet`]'s `fresh` group) instead of
    // zeroing 4 KiB per octet and tile (a `memset` that took about 1 % of prefill).
    // SAFETY: all-zero bits are valid `__m256` values.
    let mut accs: OctetAcc<COLS> = unsafe { core::mem::zeroed() };
    let panel = panel_groups(8, bpr * core::mem::size_of::<P::W>());
    let panel = if bpr > WIN_BLOCKS {
        panel.min(MAX_OCTETS)
    } else {
        panel
    };
    // SAFETY: rows `< 8 · octets <= rows`, columns `< cols`, blocks `< bpr` (caller contract);
    // every output index `c · stride + 8o + 8 <= (cols − 1) · stride + rows <= out.len()`;
    // `o − o0 < panel <= MAX_OCTETS` where `kept` is used.
    unsafe {
        let mut o0 = 0;
        while o0 < octets {
            let o1 = (o0 + panel).min(octets);
            let mut c0 = 0;
            while c0 < cols {
                let n = (cols - c0).min(COLS);
                let xs: [*const P::X; COLS] =
                    core::array::from_fn(|c| x.add((c0 + c.min(n - 1)) * bpr));
                let mut b0 = 0;
                while b0 < bpr {
                    let b1 = (b0 + WIN_BLOCKS).min(bpr);
                    t.fill::<P>(&xs[..n], (b0, b1));
                    let (first, last) = (b0 == 0, b1 == bpr);
                    for o in o0..o1 {
                        let ws: [*const P::W; 8] =
                            core::array::from_fn(|r| w.add((8 * o + r) * bpr));
                        macro_rules! run {
                            ($n:literal) => {{
                                let xn: [*const P::X; $n] = core::array::from_fn(|c| xs[c]);
                                // SAFETY: `$n <= COLS`: the first `$n` rows of `accs`.
                                let acc = &mut *accs.as_mut_ptr().cast::<OctetAcc<$n>>();
                                if !first {
                                    let k = kept.get_unchecked(o - o0);
                                    acc.copy_from_slice(&k[..$n]);
                                } else if bpr < 8 {
                                    // No whole first group to start every lane.
                                    *acc = [[_mm256_setzero_ps(); 8]; $n];
                                }
                                octet::<P, D, $n>(acc, &ws, &xn, (b0, b1), &t, first);
                                if last {
                                    for (c, a) in acc.iter().enumerate() {
                                        let dst = out.as_mut_ptr().add((c0 + c) * stride + 8 * o);
                                        _mm256_storeu_ps(dst, fold(a));
                                    }
                                } else {
                                    kept.get_unchecked_mut(o - o0)[..$n].copy_from_slice(&acc[..]);
                                }
                            }};
                        }
                        match n {
                            1 => run!(1),
                            2 => run!(2),
                            3 => run!(3),
                            4 => run!(4),
                            5 => run!(5),
                            6 => run!(6),
                            7 => run!(7),
                            8 => run!(8),
                            9 => run!(9),
                            10 => run!(10),
                            11 => run!(11),
                            12 => run!(12),
                            13 => run!(13),
                            14 => run!(14),
                            15 => run!(15),
                            _ => run!(16),
                        }
                    }
                    b0 = b1;
                }
                c0 += n;
            }
            o0 = o1;
        }
    }
    8 * octets
}

#[cfg(test)]
mod tests {
    //! The `vpdpbusd` code path of the row octets (the AVX-VNNI and AVX-512 tiers), run here
    //! with [`EmulatedVnni`], an AVX2 stand-in for the instruction, against the scalar
    //! reference: the `i32` chains, their split into even and odd steps and the shared
    //! correction must give the reference's bits on any machine with AVX2. (The instruction
    //! itself runs only on the borrowed VNNI machine: `scripts/avx512-check`.)
    use super::*;
    use crate::arch::x86_64::frame::common::{EmulatedVnni, Maddubs};
    use crate::kernels::gemm as reference;
    use half::f16;
    use std::{vec, vec::Vec};

    /// A small deterministic generator (xorshift64*).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn byte(&mut self) -> u8 {
            (self.next() >> 56) as u8
        }
        /// A scale in ±[2^-8, 2), or an extreme byte pattern now and then.
        fn scale(&mut self) -> f16 {
            let m = (self.next() >> 40) as f32 / (1u64 << 24) as f32;
            let s = if self.next() & 1 == 0 { 1.0 } else { -1.0 };
            f16::from_f32(s * (m * 2.0).max(1.0 / 256.0))
        }
        /// Quants: random, or every byte at one of the extremes.
        fn bytes<const N: usize>(&mut self) -> [u8; N] {
            match self.next() % 8 {
                0 => [0x00; N],
                1 => [0xFF; N],
                2 => [0x80; N],
                3 => [0x7F; N],
                _ => core::array::from_fn(|_| self.byte()),
            }
        }
    }

    /// # Safety
    /// The CPU must support AVX2, FMA and F16C.
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn octets<P: OctetPair, D: ByteDot>(
        w: &[P::W],
        x: &[P::X],
        (bpr, rows, cols): (usize, usize, usize),
        out: &mut [f32],
    ) -> usize {
        // SAFETY: `w` holds `rows · bpr` blocks, `x` `cols · bpr`, `out` `cols · rows`
        // (stride `rows`); the features are enabled here.
        unsafe { gemm::<P, D>(w.as_ptr(), x.as_ptr(), bpr, rows, cols, out, rows) }
    }

    /// A scalar reference gemm.
    type Reference<W, X> = fn(&[W], &[X], usize, &mut [f32], usize);

    /// Runs both byte-dot flavours over shapes that cover one and several table windows,
    /// partial groups of 8 blocks, leftover rows and every column-tile remainder, and checks
    /// each octet row against `reference` bit for bit.
    fn check<P: OctetPair>(
        mut block_w: impl FnMut(&mut Rng) -> P::W,
        mut block_x: impl FnMut(&mut Rng) -> P::X,
        reference: Reference<P::W, P::X>,
    ) {
        if !(std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
            && std::is_x86_feature_detected!("f16c"))
        {
            panic!("this test needs AVX2 + FMA + F16C (every x86_64 machine the crate is tested on has them)");
        }
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for &(rows, bpr, cols) in &[
            (8, 1, 1),
            (8, 3, 5),
            (9, 8, 4),
            (16, 9, 16),
            (23, 17, 17),
            (8, 96, 7),
            (16, WIN_BLOCKS + 44, 3),
            (8, 2 * WIN_BLOCKS + 5, 20),
        ] {
            let w: Vec<P::W> = (0..rows * bpr).map(|_| block_w(&mut rng)).collect();
            let x: Vec<P::X> = (0..cols * bpr).map(|_| block_x(&mut rng)).collect();
            let mut want = vec![0.0f32; rows * cols];
            reference(&w, &x, bpr, &mut want, rows);
            for fused in [false, true] {
                let mut got = vec![f32::NAN; rows * cols];
                // SAFETY: the features were checked above.
                let done = unsafe {
                    if fused {
                        octets::<P, EmulatedVnni>(&w, &x, (bpr, rows, cols), &mut got)
                    } else {
                        octets::<P, Maddubs>(&w, &x, (bpr, rows, cols), &mut got)
                    }
                };
                assert_eq!(done, rows / 8 * 8);
                for c in 0..cols {
                    for r in 0..done {
                        let (g, e) = (got[c * rows + r], want[c * rows + r]);
                        assert_eq!(
                            g.to_bits(),
                            e.to_bits(),
                            "fused {fused}: rows {rows}, bpr {bpr}, cols {cols}: \
                             (row {r}, column {c}) = {g} against {e}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot run SIMD intrinsics")]
    fn q4_0_fused_and_maddubs_paths_equal_the_reference_bitwise() {
        check::<Q4_0Q8_0>(
            |r| BlockQ4_0 {
                d: r.scale(),
                qs: r.bytes(),
            },
            |r| BlockQ8_0 {
                d: r.scale(),
                qs: r.bytes::<32>().map(|b| b as i8),
            },
            reference::gemm_q4_0_q8_0,
        );
    }

    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot run SIMD intrinsics")]
    fn q4_1_fused_and_maddubs_paths_equal_the_reference_bitwise() {
        check::<Q4_1Q8_1>(
            |r| BlockQ4_1 {
                d: r.scale(),
                m: r.scale(),
                qs: r.bytes(),
            },
            |r| BlockQ8_1 {
                d: r.scale(),
                s: r.scale(),
                qs: r.bytes::<32>().map(|b| b as i8),
            },
            reference::gemm_q4_1_q8_1,
        );
    }
}
