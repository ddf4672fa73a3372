//! AVX-512 multi-column products (prefill) of Q4_0 and Q4_1 in groups of sixteen rows: the
//! frame's row octets ([`crate::arch::x86_64::frame::q32_octets`], whose module docs give
//! the math, the table and the accumulator order) widened to 512 bits, so one `vpdpbusd`
//! serves sixteen rows, one dword lane per row. Bit-exact with [`crate::kernels::dot`] (the same
//! exact integer block sums, the same float operations per block, in the same order per lane).
//!
//! # Layout
//!
//! For rows `r0..r15` and block `b`, the sixteen 16-byte nibble arrays are loaded in fours
//! `A_i = [r_i | r_{i+4} | r_{i+8} | r_{i+12}]` (128-bit lanes) and transposed as 4 × 4 dword
//! matrices per 128-bit lane (`unpacklo/hi_epi32`, then `unpacklo/hi_epi64`): `V_k` holds
//! bytes `4k..4k+4` of row `i + 4L` in dword lane `4L + i`, which is the row's own index. One
//! mask (and one 16-bit shift for the high nibbles) gives the eight vectors `W_j` holding
//! elements `4j..4j+4` of the sixteen rows. The activation slice `x[4j..4j+4]` is broadcast to
//! the sixteen lanes, and `vpdpbusd` adds the four products to each row's `i32` lane: eight
//! steps per block, even and odd `j` in two chains per column, added at the end. The per-column
//! table (offset corrections `c·Σx`, `d_x`, `s_x`) is the octets' own.
//!
//! # Accumulators
//!
//! Per column, eight `f32x16` accumulators, one per reference lane `l = b % 8`, register lane
//! `r` holding row `r`'s lane `l`; a row's first group of 8 blocks starts them as `+0.0 + term`
//! (the reference's `+0.0` start); the fold of the reference order
//! (`((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7))`) runs on whole vectors and leaves row
//! `r`'s result in lane `r`. Every operation on a lane is the octets' (and the scalar
//! reference's) operation on that `(row, column)` pair, in the same order.
//!
//! # Tiling, windows, tails
//!
//! As the octets: row panels of `PANEL_BYTES` (192 KiB), column tiles of [`COLS`] columns whose
//! products are interleaved [`INTERLEAVE`] at a time, table windows of [`WIN_BLOCKS`] blocks
//! with the accumulators of at most [`MAX_OCTETS`] groups kept between windows. Rows that do
//! not make a whole group of sixteen are the caller's (the octets, then the per-column-table
//! panels).

use crate::arch::x86_64::frame::common::{panel_groups, prefetch_ahead, ByteDot};
use crate::arch::x86_64::frame::driver::{RowGroups, Stages};
use crate::arch::x86_64::frame::q32_octets::{
    BlockTable, OctetPair, COLS, INTERLEAVE, MAX_OCTETS, WIN_BLOCKS,
};
use crate::arch::x86_64::frame::stages::{Q32Octets, Q32Tables};
use core::arch::x86_64::*;
use core::marker::PhantomData;

/// Rows per group.
const ROWS: usize = 16;

/// The eight vectors `W_j` (elements `4j..4j+4` of rows `r0..r15`, row `r` in dword lane `r`)
/// of block `b` of the sixteen rows (module docs).
///
/// # Safety
/// Block `b` of every `w[r]` must be readable; the CPU must support AVX-512 F and BW.
#[inline(always)]
unsafe fn unpack16<P: OctetPair>(w: &[*const P::W; ROWS], b: usize) -> [__m512i; 8] {
    // SAFETY: block `b` of each row is readable (caller contract); AVX-512 F/BW available.
    unsafe {
        let ld = |r: usize| _mm_loadu_si128(P::w_qs(&*w[r].add(b)).as_ptr().cast());
        // (A loop, not closures over intrinsics: closures do not inherit the target features.)
        let mut a = [_mm512_setzero_si512(); 4];
        for (i, ai) in a.iter_mut().enumerate() {
            let v = _mm512_castsi128_si512(ld(i));
            let v = _mm512_inserti32x4::<1>(v, ld(i + 4));
            let v = _mm512_inserti32x4::<2>(v, ld(i + 8));
            *ai = _mm512_inserti32x4::<3>(v, ld(i + 12));
        }
        let [a0, a1, a2, a3] = a;
        let (t0, t1) = (_mm512_unpacklo_epi32(a0, a1), _mm512_unpackhi_epi32(a0, a1));
        let (t2, t3) = (_mm512_unpacklo_epi32(a2, a3), _mm512_unpackhi_epi32(a2, a3));
        let v = [
            _mm512_unpacklo_epi64(t0, t2),
            _mm512_unpackhi_epi64(t0, t2),
            _mm512_unpacklo_epi64(t1, t3),
            _mm512_unpackhi_epi64(t1, t3),
        ];
        let m = _mm512_set1_epi8(0x0F);
        let mut out = [_mm512_setzero_si512(); 8];
        for k in 0..4 {
            out[k] = _mm512_and_si512(v[k], m);
            out[k + 4] = _mm512_and_si512(_mm512_srli_epi16::<4>(v[k]), m);
        }
        out
    }
}

/// For each of `N` columns: the sixteen rows' exact `Σ_j W_j · broadcast(x[4j..4j+4])` in their
/// `i32` lanes, even and odd `j` in two `vpdpbusd` chains per column; the columns' steps are
/// interleaved.
///
/// # Safety
/// Every `xq[c]` must point to 32 readable bytes; the CPU must support AVX-512 F and VNNI.
#[inline(always)]
unsafe fn block_products<const N: usize>(wv: &[__m512i; 8], xq: [*const i8; N]) -> [__m512i; N] {
    // SAFETY: bytes `0..32` of each `xq[c]` are readable (caller contract); AVX-512 F/VNNI.
    unsafe {
        let mut even = [_mm512_setzero_si512(); N];
        let mut odd = [_mm512_setzero_si512(); N];
        for (j, wj) in wv.iter().enumerate() {
            for c in 0..N {
                let x = _mm512_set1_epi32(xq[c].add(4 * j).cast::<i32>().read_unaligned());
                let chain = if j % 2 == 0 {
                    &mut even[c]
                } else {
                    &mut odd[c]
                };
                *chain = _mm512_dpbusd_epi32(*chain, *wj, x);
            }
        }
        for (e, o) in even.iter_mut().zip(odd) {
            *e = _mm512_add_epi32(*e, o);
        }
        even
    }
}

/// The accumulators of one group against `C` columns: `[column][reference lane]`.
type Acc16<const C: usize> = [[__m512; 8]; C];

/// Adds the terms of block `b` (table entry `e`, reference lane `l`) of the group (unpacked
/// quants `wv`, scales `dw`, mins `mw`) against the `N` columns `x[c0..c0 + N]` to `acc`:
/// `acc + ((d_w · d_x) · f32(isum) [+ m_w · s_x])`, the octets' operations in their order.
///
/// # Safety
/// As [`block`], with `c0 + N <= C`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn block_columns<P: OctetPair, const C: usize, const N: usize, const FRESH: bool>(
    acc: &mut Acc16<C>,
    l: usize,
    (wv, dw, mw): (&[__m512i; 8], __m512, __m512),
    x: &[*const P::X; C],
    c0: usize,
    (b, e): (usize, usize),
    t: &BlockTable<COLS>,
) {
    // SAFETY: forwarded caller contract; `l < 8`, `e < WIN_BLOCKS`, `c0 + N <= C <= COLS`.
    unsafe {
        let xq: [*const i8; N] =
            core::array::from_fn(|i| P::x_quants(&*x.get_unchecked(c0 + i).add(b)).as_ptr());
        let sums = block_products::<N>(wv, xq);
        for (i, mut sums) in sums.into_iter().enumerate() {
            let c = c0 + i;
            let aux = *t.aux.get_unchecked(c).get_unchecked(e);
            if P::OFFSET != 0 {
                sums = _mm512_sub_epi32(sums, _mm512_set1_epi32(aux as i32));
            }
            let dx = _mm512_set1_ps(*t.dx.get_unchecked(c).get_unchecked(e));
            let a = acc.get_unchecked_mut(c).get_unchecked_mut(l);
            let mut term = _mm512_mul_ps(_mm512_mul_ps(dw, dx), _mm512_cvtepi32_ps(sums));
            if P::HAS_MIN {
                let sx = _mm512_set1_ps(f32::from_bits(aux));
                term = _mm512_add_ps(term, _mm512_mul_ps(mw, sx));
            }
            // A fresh accumulator is the reference's `+0.0` start (`0.0 + term`).
            let prev = if FRESH { _mm512_setzero_ps() } else { *a };
            *a = _mm512_add_ps(prev, term);
        }
    }
}

/// The f16 scales of block `b` of the sixteen rows through `f`, as `f32` in row order.
///
/// # Safety
/// Block `b` of every row must be readable; the CPU must support AVX-512 F.
#[inline(always)]
unsafe fn block_scales<P: OctetPair>(
    w: &[*const P::W; ROWS],
    b: usize,
    f: impl Fn(&P::W) -> u16 + Copy,
) -> __m512 {
    // SAFETY: forwarded caller contract; AVX-512 F available.
    unsafe {
        let g = |r: usize| u64::from(f(&*w[r].add(b)));
        let q = |r0: usize| g(r0) | (g(r0 + 1) << 16) | (g(r0 + 2) << 32) | (g(r0 + 3) << 48);
        let h = _mm256_set_epi64x(q(12) as i64, q(8) as i64, q(4) as i64, q(0) as i64);
        _mm512_cvtph_ps(h)
    }
}

/// Adds the terms of block `b` (table entry `e`, reference lane `l = b % 8`) of the sixteen
/// rows `w` against the `C` columns `x` to `acc`.
///
/// # Safety
/// Block `b` must be readable in every row and column; `e < WIN_BLOCKS`; the table filled
/// for the columns; the CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VNNI.
#[inline(always)]
unsafe fn block<P: OctetPair, const C: usize, const FRESH: bool>(
    acc: &mut Acc16<C>,
    l: usize,
    w: &[*const P::W; ROWS],
    x: &[*const P::X; C],
    (b, e): (usize, usize),
    t: &BlockTable<COLS>,
) {
    // SAFETY: forwarded caller contract; `l < 8`, `e < WIN_BLOCKS`, `c < C <= COLS`.
    unsafe {
        let wv = unpack16::<P>(w, b);
        let dw = block_scales::<P>(w, b, |wb| P::w_scales(wb).0);
        let mw = if P::HAS_MIN {
            block_scales::<P>(w, b, |wb| P::w_scales(wb).1)
        } else {
            _mm512_setzero_ps()
        };
        let mut c = 0;
        while c + INTERLEAVE <= C {
            block_columns::<P, C, INTERLEAVE, FRESH>(acc, l, (&wv, dw, mw), x, c, (b, e), t);
            c += INTERLEAVE;
        }
        while c < C {
            block_columns::<P, C, 1, FRESH>(acc, l, (&wv, dw, mw), x, c, (b, e), t);
            c += 1;
        }
    }
}

/// Adds the terms of blocks `b0..b1` (`b0` a multiple of 8, the window of table `t`) of the
/// sixteen rows `w` against the `C` columns `x` to `acc`; `fresh`: the row's first window,
/// whose first whole group of 8 blocks starts every lane.
///
/// # Safety
/// Every row and column must point to `b1` readable blocks, `b1 − b0 <= WIN_BLOCKS`; the CPU
/// must support AVX2, FMA, F16C and AVX-512 F/BW/VNNI.
#[inline(always)]
unsafe fn group<P: OctetPair, const C: usize>(
    acc: &mut Acc16<C>,
    w: &[*const P::W; ROWS],
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
            for &r in w {
                prefetch_ahead(r.add(b).cast(), 2 * 64);
            }
            for l in 0..8 {
                block::<P, C, true>(acc, l, w, x, (b + l, b + l - b0), t);
            }
            b += 8;
        }
        while b < whole {
            for &r in w {
                prefetch_ahead(r.add(b).cast(), 2 * 64);
            }
            for l in 0..8 {
                block::<P, C, false>(acc, l, w, x, (b + l, b + l - b0), t);
            }
            b += 8;
        }
        for b in whole..b1 {
            block::<P, C, false>(acc, b % 8, w, x, (b, b - b0), t);
        }
    }
}

/// Folds a group's accumulators in the reference order: row `r`'s result in lane `r`.
///
/// # Safety
/// The CPU must support AVX-512 F.
#[inline(always)]
unsafe fn fold(a: &[__m512; 8]) -> __m512 {
    // SAFETY: AVX-512 F (caller contract); register-only.
    unsafe {
        let s04 = _mm512_add_ps(a[0], a[4]);
        let s26 = _mm512_add_ps(a[2], a[6]);
        let s15 = _mm512_add_ps(a[1], a[5]);
        let s37 = _mm512_add_ps(a[3], a[7]);
        _mm512_add_ps(_mm512_add_ps(s04, s26), _mm512_add_ps(s15, s37))
    }
}

/// Multi-column product of the whole groups of sixteen rows: `out[c · stride + r] =
/// dot(w_r, x_c)` for rows `r < 16 · (rows / 16)` and `cols` columns. Returns the rows done.
///
/// # Safety
/// `w` must point to `rows · bpr` readable blocks and `x` to `cols · bpr`; `out` must hold
/// `(cols − 1) · stride + rows` values with `stride >= rows`; the CPU must support AVX2, FMA,
/// F16C and AVX-512 F/BW/VL/VNNI.
#[inline(always)]
unsafe fn gemm<P: OctetPair>(
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
    let groups = rows / ROWS;
    let mut t = BlockTable::<COLS>::new();
    // SAFETY: all-zero bits are valid `__m512` values.
    let mut kept: [Acc16<COLS>; MAX_OCTETS] = unsafe { core::mem::zeroed() };
    // SAFETY: as above.
    let mut accs: Acc16<COLS> = unsafe { core::mem::zeroed() };
    let panel = panel_groups(ROWS, bpr * core::mem::size_of::<P::W>());
    let panel = if bpr > WIN_BLOCKS {
        panel.min(MAX_OCTETS)
    } else {
        panel
    };
    // SAFETY: rows `< 16 · groups <= rows`, columns `< cols`, blocks `< bpr` (caller
    // contract); every output index `c · stride + 16g + 16 <= (cols − 1) · stride + rows <=
    // out.len()`; `g − g0 < panel <= MAX_OCTETS` where `kept` is used.
    unsafe {
        let mut g0 = 0;
        while g0 < groups {
            let g1 = (g0 + panel).min(groups);
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
                    for g in g0..g1 {
                        let ws: [*const P::W; ROWS] =
                            core::array::from_fn(|r| w.add((ROWS * g + r) * bpr));
                        macro_rules! run {
                            ($n:literal) => {{
                                let xn: [*const P::X; $n] = core::array::from_fn(|c| xs[c]);
                                // SAFETY: `$n <= COLS`: the first `$n` rows of `accs`.
                                let acc = &mut *accs.as_mut_ptr().cast::<Acc16<$n>>();
                                if !first {
                                    let k = kept.get_unchecked(g - g0);
                                    acc.copy_from_slice(&k[..$n]);
                                } else if bpr < 8 {
                                    // No whole first group of blocks to start every lane.
                                    *acc = [[_mm512_setzero_ps(); 8]; $n];
                                }
                                group::<P, $n>(acc, &ws, &xn, (b0, b1), &t, first);
                                if last {
                                    for (c, a) in acc.iter().enumerate() {
                                        let dst =
                                            out.as_mut_ptr().add((c0 + c) * stride + ROWS * g);
                                        _mm512_storeu_ps(dst, fold(a));
                                    }
                                } else {
                                    kept.get_unchecked_mut(g - g0)[..$n].copy_from_slice(&acc[..]);
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
            g0 = g1;
        }
    }
    ROWS * groups
}

/// AVX-512 VNNI + VL: the EVEX-encoded 256-bit `vpdpbusd` (CPUs with AVX-512 VNNI may lack
/// AVX-VNNI).
struct EvexVnni;

impl ByteDot for EvexVnni {
    const FUSED: bool = true;
    #[inline(always)]
    unsafe fn dpbusd(acc: __m256i, u: __m256i, s: __m256i) -> __m256i {
        // SAFETY: AVX-512 VNNI + VL (caller contract: the AVX-512 tier's functions enable
        // them); register-only.
        unsafe { _mm256_dpbusd_epi32(acc, u, s) }
    }
}

/// Q4_0 / Q4_1 stages on this tier: the frame's per-column tables, and for several columns
/// the sixteens of this file, then the frame's octets with [`EvexVnni`] for the rows left.
pub(super) struct Q32Sixteens<P>(PhantomData<P>);

impl<P: OctetPair> Stages for Q32Sixteens<P> {
    type W = P::W;
    type X = P::X;
    #[inline(always)]
    unsafe fn column_table(
        w: *const P::W,
        x: *const P::X,
        bpr: usize,
        rows: usize,
        out: &mut [f32],
    ) -> bool {
        // SAFETY: forwarded caller contract.
        unsafe { Q32Tables::<P>::column_table(w, x, bpr, rows, out) }
    }
    #[inline(always)]
    unsafe fn row_groups(
        groups: RowGroups,
        w: *const P::W,
        x: *const P::X,
        bpr: usize,
        rows: usize,
        cols: usize,
        out: &mut [f32],
        stride: usize,
    ) -> usize {
        if groups != RowGroups::SixteensThenOctets {
            return 0;
        }
        // SAFETY: forwarded caller contract; the octets start `done` rows further in `w` and
        // `out`, `done <= rows`.
        unsafe {
            let done = gemm::<P>(w, x, bpr, rows, cols, out, stride);
            if done == rows {
                return done;
            }
            done + Q32Octets::<P, EvexVnni>::row_groups(
                RowGroups::Octets,
                w.add(done * bpr),
                x,
                bpr,
                rows - done,
                cols,
                out.get_unchecked_mut(done..),
                stride,
            )
        }
    }
    #[inline(always)]
    unsafe fn table_panels(
        w: *const P::W,
        x: *const P::X,
        bpr: usize,
        rows: usize,
        cols: usize,
        out: &mut [f32],
        stride: usize,
    ) -> bool {
        // SAFETY: forwarded caller contract.
        unsafe { Q32Tables::<P>::table_panels(w, x, bpr, rows, cols, out, stride) }
    }
}
