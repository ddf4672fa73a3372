//! AVX2 multi-column products (prefill) of the 4-bit formats Q4_0 and Q4_1 in row quads: four
//! weight rows share every 256-bit `maddubs`, each activation 8-byte slice is broadcast to
//! the four rows, and the per-block sums come out of one `hadd` and one `madd` per block pair
//! instead of a 16-lane reduction per block. Bit-exact with [`crate::kernels::dot`] (the same
//! exact integer block sums, the same float operations per block, in the same order per lane).
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
//! For rows `r0..r3` and block `b`, the four 16-byte nibble arrays are loaded as
//! `A = [r0 | r1]` and `B = [r2 | r3]` (128-bit halves); `unpacklo/hi_epi64(A, B)` give the
//! 8-byte chunks in row order `[r0, r2 | r1, r3]`, and one mask (and one 16-bit shift for the
//! high nibbles) gives four vectors `W_j` holding elements `8j..8j+8` of the four rows (the
//! Q4 layout: byte `i` holds element `i` in its low nibble and `i + 16` in its high one).
//! The activation slice `x[8j..8j+8]` is broadcast to all four chunks (`vpbroadcastq` from
//! memory), so `maddubs(W_j, X_j)` gives, per row, four `i16` pair sums; the four `j` are
//! added in `i16` (sums of 8 products, `≤ 8 · 15 · 128 = 15360`).
//!
//! For a block pair `(b, b + 1)`, `hadd_epi16` of the two blocks' vectors (sums of 16
//! products, `≤ 30720 < 2^15`) and a `madd` with ones leave the exact block sums in `i32`
//! lanes `[b·r0, b·r2, (b+1)·r0, (b+1)·r2 | b·r1, b·r3, (b+1)·r1, (b+1)·r3]`. The weight
//! scales are gathered in the same lane order, the activation data (offset corrections
//! `c·Σx`, `d_x`, `s_x`) come from a per-column table whose 16-byte entries
//! `[v_b, v_b, v_{b+1}, v_{b+1}]` are broadcast to both halves.
//!
//! # Accumulators
//!
//! Per column, four `f32x8` accumulators, one per pair slot `p % 4` (`p = b / 2`): lane
//! `(parity, row)` of slot `s` accumulates the terms of blocks `b ≡ 2s + parity (mod 8)` of that
//! row, in increasing `b` — exactly the scalar reference's lane `b % 8`. At the end the eight
//! lanes of each `(row, column)` are picked out and folded in the reference order. Float
//! addition is per lane, so which register lane holds a reference lane does not matter.
//!
//! # Tails
//!
//! An odd last block pairs with a zero block: zero weight vectors, and zero scales and
//! corrections (the table is zero past the row), so its lanes add `(+0 · +0) · +0 = +0`
//! (`+ +0 · +0`), which never changes an accumulator (accumulators start at `+0` and a sum of
//! floats is never `−0` unless both addends are). Rows that do not make a whole quad are the
//! caller's ([`super::decode_q32::gemm`] runs them one by one).
//!
//! Measured on Zen 3 against the one-row panel kernel of [`super::decode_q32`] (best of 6
//! alternating runs, the machine shared and noisy): 64 columns in cache
//! (`kernel_bw --stream-mib 0 --shape 256x3072 --batch 64 --types q4_0`) 24.2 → 32.2
//! GB/s·column; `bench` Phi-3-mini Q4_0, one thread, 128-token prompt: 9.4–9.6 → 11.2–13.2
//! tok/s. Column tiles of 2 measured 27.2 and of 8 no faster than 4.

use super::common::prefetch_ahead;
use super::decode_q32::{block_sums, DecodePair};
use super::dot_q32::{add_terms, f16_lanes, Q4_0Q8_0, Q4_1Q8_1};
use crate::quant::{BlockQ4_0, BlockQ4_1};
use core::arch::x86_64::*;

/// Most block pairs a table holds (640 blocks, 20480 columns).
pub(super) const MAX_PAIRS: usize = 320;

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

/// Per-column data of up to `CAP` columns, per block pair (module docs): 16-byte entries
/// `[v_b, v_b, v_{b+1}, v_{b+1}]`, zero past the row.
///
/// One array serves both per-format extras: no format has both an offset and a min term
/// (checked at compile time in [`gemm`]), so it holds the offset corrections (`i32` bits) or
/// `s_x` (`f32` bits). For 4 columns the table is 2 · 4 · 320 · 16 bytes = 40 KiB of stack.
pub(super) struct PairTable<const CAP: usize> {
    /// `d_x` of each block.
    dx: [[[f32; 4]; MAX_PAIRS]; CAP],
    /// `c · Σ x` of each block (`i32`, formats with an offset) or `s_x` (`f32`, formats with a
    /// min term).
    aux: [[[u32; 4]; MAX_PAIRS]; CAP],
}

impl<const CAP: usize> PairTable<CAP> {
    /// An all-zero table.
    pub(super) fn new() -> Self {
        PairTable {
            dx: [[[0.0; 4]; MAX_PAIRS]; CAP],
            aux: [[[0; 4]; MAX_PAIRS]; CAP],
        }
    }

    /// Fills the entries of columns `0..x.len()` for rows of `bpr ≤ 2 · MAX_PAIRS` blocks, 8
    /// blocks at a time ([`super::decode_q32`]'s correction sums and scale gathers, then the
    /// lanes doubled: `unpacklo/hi` of a vector with itself give the entries of pairs
    /// `0, 2` and `1, 3` of the group in their 128-bit halves). Lanes past `bpr` are zero.
    ///
    /// # Safety
    /// Every `x[c]` must point to `bpr` readable blocks; `x.len() <= CAP`; the CPU must
    /// support AVX2 and F16C.
    #[inline(always)]
    unsafe fn fill<P: QuadPair>(&mut self, x: &[*const P::X], bpr: usize) {
        // SAFETY: blocks `8g + k < bpr` only; pairs `4g + 3 < 4 · bpr.div_ceil(8) <=
        // MAX_PAIRS` (caller contract); AVX2/F16C available.
        unsafe {
            let zero = _mm256_setzero_si256();
            let offset = _mm256_set1_epi8(P::OFFSET);
            for (c, &xc) in x.iter().enumerate() {
                for g in 0..bpr.div_ceil(8) {
                    let b = 8 * g;
                    let n = (bpr - b).min(8);
                    let xg = xc.add(b);
                    let p = 4 * g;
                    if P::OFFSET != 0 {
                        let mut m = [zero; 8];
                        for (k, mk) in m.iter_mut().enumerate().take(n) {
                            let v = _mm256_loadu_si256(P::x_quants(&*xg.add(k)).as_ptr().cast());
                            *mk = _mm256_maddubs_epi16(offset, v);
                        }
                        let v = block_sums(m);
                        let e = self.aux[c].as_mut_ptr().add(p).cast::<__m128i>();
                        let (lo, hi) = (_mm256_unpacklo_epi32(v, v), _mm256_unpackhi_epi32(v, v));
                        _mm_storeu_si128(e, _mm256_castsi256_si128(lo));
                        _mm_storeu_si128(e.add(1), _mm256_castsi256_si128(hi));
                        _mm_storeu_si128(e.add(2), _mm256_extracti128_si256::<1>(lo));
                        _mm_storeu_si128(e.add(3), _mm256_extracti128_si256::<1>(hi));
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

/// Stores the lanes of `v` (blocks `8g..8g+8`) doubled as the entries of pairs `4g..4g+4`
/// at `dst`.
///
/// # Safety
/// `dst` must point to 4 writable entries; the CPU must support AVX.
#[inline(always)]
unsafe fn store_pairs_ps(dst: *mut [f32; 4], v: __m256) {
    // SAFETY: 4 entries of 16 bytes at `dst` (caller contract); AVX available.
    unsafe {
        let e = dst.cast::<f32>();
        let (lo, hi) = (_mm256_unpacklo_ps(v, v), _mm256_unpackhi_ps(v, v));
        _mm_storeu_ps(e, _mm256_castps256_ps128(lo));
        _mm_storeu_ps(e.add(4), _mm256_castps256_ps128(hi));
        _mm_storeu_ps(e.add(8), _mm256_extractf128_ps::<1>(lo));
        _mm_storeu_ps(e.add(12), _mm256_extractf128_ps::<1>(hi));
    }
}

/// The four vectors `W_j` (elements `8j..8j+8` of rows `[r0, r2 | r1, r3]`) of block `b` of
/// the four rows (module docs).
///
/// # Safety
/// Block `b` of every `w[r]` must be readable; the CPU must support AVX2.
#[inline(always)]
unsafe fn unpack4<P: QuadPair>(w: &[*const P::W; 4], b: usize) -> [__m256i; 4] {
    // SAFETY: block `b` of each row is readable (caller contract); AVX2 available.
    unsafe {
        let q = |r: usize| _mm_loadu_si128(P::w_qs(&*w[r].add(b)).as_ptr().cast());
        let a = _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(q(0)), q(1));
        let c = _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(q(2)), q(3));
        let lo = _mm256_unpacklo_epi64(a, c);
        let hi = _mm256_unpackhi_epi64(a, c);
        let m = _mm256_set1_epi8(0x0F);
        [
            _mm256_and_si256(lo, m),
            _mm256_and_si256(hi, m),
            _mm256_and_si256(_mm256_srli_epi16::<4>(lo), m),
            _mm256_and_si256(_mm256_srli_epi16::<4>(hi), m),
        ]
    }
}

/// `Σ_j maddubs(W_j, broadcast(x[8j..8j+8]))`: per row, four `i16` sums of 8 products.
///
/// # Safety
/// `xq` must point to 32 readable bytes; the CPU must support AVX2.
#[inline(always)]
unsafe fn block_products(wv: &[__m256i; 4], xq: *const i8) -> __m256i {
    // SAFETY: bytes `0..32` of `xq` are readable (caller contract); AVX2 available.
    unsafe {
        // (The closure only reads memory: closures do not inherit the target features.)
        let x = |j: usize| xq.add(8 * j).cast::<i64>().read_unaligned();
        let m0 = _mm256_maddubs_epi16(wv[0], _mm256_set1_epi64x(x(0)));
        let m1 = _mm256_maddubs_epi16(wv[1], _mm256_set1_epi64x(x(1)));
        let m2 = _mm256_maddubs_epi16(wv[2], _mm256_set1_epi64x(x(2)));
        let m3 = _mm256_maddubs_epi16(wv[3], _mm256_set1_epi64x(x(3)));
        _mm256_add_epi16(_mm256_add_epi16(m0, m1), _mm256_add_epi16(m2, m3))
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
        let lo = g(0, 0) | (g(2, 0) << 16) | (g(0, 1) << 32) | (g(2, 1) << 48);
        let hi = g(1, 0) | (g(3, 0) << 16) | (g(1, 1) << 32) | (g(3, 1) << 48);
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
/// the four rows `w` against the `C` columns `x` to the accumulators `acc[c]` (this pair's
/// slot).
///
/// # Safety
/// The blocks named must be readable in every row and column; `t` filled for the columns;
/// the CPU must support AVX2, FMA and F16C.
#[inline(always)]
#[allow(clippy::needless_range_loop)]
unsafe fn pair<P: QuadPair, const C: usize, const CAP: usize, const FULL: bool>(
    acc: &mut [__m256; C],
    w: &[*const P::W; 4],
    x: &[*const P::X; C],
    p: usize,
    nb: usize,
    t: &PairTable<CAP>,
) {
    // SAFETY: block `2p < nb` and, when `2p + 1 < nb`, block `2p + 1` (caller contract);
    // AVX2/FMA/F16C available.
    unsafe {
        let b = 2 * p;
        let w0 = unpack4::<P>(w, b);
        let mut s0 = [_mm256_setzero_si256(); C];
        for c in 0..C {
            s0[c] = block_products(&w0, P::x_quants(&*x[c].add(b)).as_ptr());
        }
        let second = FULL || b + 1 < nb;
        let w1 = if second {
            unpack4::<P>(w, b + 1)
        } else {
            [_mm256_setzero_si256(); 4]
        };
        let dw = pair_scales::<P, FULL>(w, b, nb, |wb| P::w_scales(wb).0);
        let mw = if P::HAS_MIN {
            pair_scales::<P, FULL>(w, b, nb, |wb| P::w_scales(wb).1)
        } else {
            _mm256_setzero_ps()
        };
        let ones = _mm256_set1_epi16(1);
        for c in 0..C {
            let s1 = if second {
                block_products(&w1, P::x_quants(&*x[c].add(b + 1)).as_ptr())
            } else {
                _mm256_setzero_si256()
            };
            let mut sums = _mm256_madd_epi16(_mm256_hadd_epi16(s0[c], s1), ones);
            if P::OFFSET != 0 {
                sums = _mm256_sub_epi32(sums, entry_epi32(&t.aux[c][p]));
            }
            let sx = if P::HAS_MIN {
                entry_ps(&t.aux[c][p])
            } else {
                _mm256_setzero_ps()
            };
            acc[c] = add_terms(
                P::HAS_MIN,
                acc[c],
                sums,
                (dw, mw),
                (entry_ps(&t.dx[c][p]), sx),
            );
        }
    }
}

/// Reference lane `l` (`b % 8`) of row `r` lives in slot `l / 2`, register lane
/// `QUAD_POS[r] + 2 · (l % 2)` (module docs).
const QUAD_POS: [usize; 4] = [0, 4, 1, 5];

/// The four rows `w` against the `C` columns `x` (table `t` filled for them): `out[c][r] =
/// dot(w_r, x_c)`.
///
/// # Safety
/// Every row and column must point to `nb ≤ 2 · MAX_PAIRS` readable blocks; the CPU must
/// support AVX2, FMA and F16C.
#[inline(always)]
#[allow(clippy::needless_range_loop)]
unsafe fn quad<P: QuadPair, const C: usize, const CAP: usize>(
    w: &[*const P::W; 4],
    x: &[*const P::X; C],
    nb: usize,
    t: &PairTable<CAP>,
) -> [[f32; 4]; C] {
    // SAFETY: pairs `p < nb.div_ceil(2)` only (caller contract); AVX2/FMA/F16C available.
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); C]; 4];
        let pairs = nb.div_ceil(2);
        let full = nb / 2;
        let mut p = 0;
        while p + 4 <= full {
            for r in 0..4 {
                prefetch_ahead(w[r].add(2 * p).cast(), 8 * core::mem::size_of::<P::W>());
            }
            for s in 0..4 {
                pair::<P, C, CAP, true>(&mut acc[s], w, x, p + s, nb, t);
            }
            p += 4;
        }
        for s in 0..pairs - p {
            pair::<P, C, CAP, false>(&mut acc[s], w, x, p + s, nb, t);
        }
        let mut out = [[0.0f32; 4]; C];
        for c in 0..C {
            let mut lanes = [[0.0f32; 8]; 4];
            for s in 0..4 {
                _mm256_storeu_ps(lanes[s].as_mut_ptr(), acc[s][c]);
            }
            for r in 0..4 {
                let a = |l: usize| lanes[l / 2][QUAD_POS[r] + 2 * (l % 2)];
                out[c][r] = ((a(0) + a(4)) + (a(2) + a(6))) + ((a(1) + a(5)) + (a(3) + a(7)));
            }
        }
        out
    }
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
/// rows `r < 4 · (rows / 4)` and `cols` columns. Returns the number of rows done (0 when the
/// rows are longer than the table holds; the caller does the rest).
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
        )
    };
    if bpr == 0 || bpr.div_ceil(2) > MAX_PAIRS {
        return 0;
    }
    let quads = rows / 4;
    let mut t = PairTable::<COLS>::new();
    // SAFETY: rows `< 4 · quads <= rows`, columns `< cols` (caller contract); every output
    // index `c · stride + r < (cols − 1) · stride + rows <= out.len()`.
    unsafe {
        let mut q0 = 0;
        while q0 < quads {
            let q1 = (q0 + panel_quads(bpr * core::mem::size_of::<P::W>())).min(quads);
            let mut c0 = 0;
            while c0 < cols {
                let n = (cols - c0).min(COLS);
                let xs: [*const P::X; COLS] =
                    core::array::from_fn(|c| x.add((c0 + c.min(n - 1)) * bpr));
                t.fill::<P>(&xs[..n], bpr);
                for q in q0..q1 {
                    let ws: [*const P::W; 4] = core::array::from_fn(|r| w.add((4 * q + r) * bpr));
                    macro_rules! run {
                        ($n:literal) => {{
                            let xn: [*const P::X; $n] = core::array::from_fn(|c| xs[c]);
                            let v = quad::<P, $n, COLS>(&ws, &xn, bpr, &t);
                            for (c, vc) in v.iter().enumerate() {
                                for (r, &vr) in vc.iter().enumerate() {
                                    *out.get_unchecked_mut((c0 + c) * stride + 4 * q + r) = vr;
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
                c0 += n;
            }
            q0 = q1;
        }
    }
    4 * quads
}
