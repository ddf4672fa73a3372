//! 256-bit multi-column products (prefill) of Q4_K and Q5_K in row quads (Q6_K:
//! [`super::q6k_quads`], on the same driver [`gemm_quads`]): four weight rows share every
//! 256-bit `maddubs`, each activation 8-byte slice is broadcast to the four rows, the
//! sub-block scales are applied per row with one `madd`, and the super-block's float term is
//! formed for the four rows in one vector. Bit-exact with [`crate::kernels::dot`] (the same
//! exact `isum` and `summs` per super-block, the same float operations per `(row, column)`,
//! in the same order).
//!
//! # Math
//!
//! Per super-block and `(row, column)`, as the scalar reference:
//! `isum = Σ_j sc_j · Σ_l q·x`, `summs = Σ_j m_j · (bsums_2j + bsums_2j+1)` (exact `i32`), then
//! `sumf = sumf + (d_w·d_x · isum − dmin_w·d_x · summs)`, each operation a separately rounded
//! `f32` lane operation.
//!
//! # Layout
//!
//! `qs` byte group `g` (32 bytes) of a row holds sub-block `2g` in its low nibbles and `2g + 1`
//! in its high nibbles. Per group, the four rows' 16-byte halves are loaded as
//! `A = [r0 | r1]`, `B = [r2 | r3]` (128-bit halves) and `unpacklo/hi_epi64(A, B)` give the
//! 8-byte chunks `t = 0..4` of the group in row order `[r0, r2 | r1, r3]`; a mask (and a 16-bit
//! shift for the high nibbles) gives the quants of elements `8t..8t+8` of both sub-blocks for
//! the four rows. The activation slice `x[32j + 8t ..][..8]` of sub-block `j` is broadcast to
//! the four chunks (`vpbroadcastq` from memory), so `maddubs` gives four `i16` pair sums per
//! row; the four `t` add up in `i16` (sums of 8 products, `≤ 8 · 15 · 128 = 15360`), and one
//! `madd` with the sub-block's scale in each row's four lanes widens and scales them. The
//! eight sub-blocks add up in `i32` (`|isum| < 2^26`), two lanes per row:
//! `[r0, r0, r2, r2 | r1, r1, r3, r3]`.
//!
//! Mins: two rows per `madd`, one half each: `[m0, m0, …, m3, m3 | the same for the other
//! row]` against `bsums[0..8]` broadcast to both halves, plus the same for `m4..m7` and
//! `bsums[8..16]` (exact `i32` for any stored `bsums`); one `hadd` of the `(r0, r1)` and
//! `(r2, r3)` sums gives the same two-lanes-per-row layout, with no per-column permutes (one
//! `madd` per row would need two `hadd`s, two cross-lane permutes and an add). One `hadd` of
//! the two gives `[isum r0, isum r2, summs r0, summs r2 | isum r1, isum r3, summs r1, summs r3]`;
//! the weight scales are gathered in the same order (`[d r0, d r2, dmin r0, dmin r2 | …]`), so
//! `(scales · d_x) · f32(sums)` and one lane swap and subtraction give the four rows' terms in
//! lanes `0, 1, 4, 5`, added to the `(row, column)` accumulators in super-block order.
//!
//! # Tiling
//!
//! Row panels of [`super::common::PANEL_BYTES`] (their weights stay in L2); per panel, column tiles of
//! [`QuadK::COLS`] pass over the panel's quads. A weight super-block is unpacked (shuffles, masks,
//! scales) once per column tile. Rows that do not make a whole quad are the caller's.
//!
//! Q5_K is Q4_K with a fifth bit per quant: its `qh` bytes (byte `l` for element `l` of every
//! sub-block) are interleaved like the nibbles, and bit `j` of each byte is moved to bit 4 and
//! or-ed into sub-block `j`'s quants (values ≤ 31: sums of 8 products ≤ 31744, still `i16`).
//! Row quads share each `maddubs` and each broadcast activation load between four rows,
//! which the one-row tiles of [`super::kformat`] cannot.
//!
//! # Interleaving
//!
//! Q4_K / Q5_K keep one column at a time: interleaved (as Q6_K's quads and the octets do),
//! their column sums no longer fit the registers.
//!
//! # Tails
//!
//! None: whole super-blocks only (the callers pass whole rows and columns).

use super::common::{hadd_epi32, panel_groups, prefetch_ahead};
use super::kformat::k4_scales_mins;
use crate::quant::{BlockQ4K, BlockQ5K, BlockQ8K};
use core::arch::x86_64::*;
use half::f16;

/// Four `u64`s as the chunks `[v0, v2 | v1, v3]` of a vector (the row order of the module
/// docs).
///
/// # Safety
/// The CPU must support AVX.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn chunks4(v: [u64; 4]) -> __m256i {
    // SAFETY: AVX (caller contract); register-only.
    unsafe { _mm256_set_epi64x(v[3] as i64, v[1] as i64, v[2] as i64, v[0] as i64) }
}

/// Q4_K and Q5_K super-blocks (Q5_K: Q4_K's nibbles and scales plus a fifth bit per quant).
pub(in crate::arch::x86_64) trait K4Block {
    /// Whether [`K4Block::qh`] is `Some` (Q5_K).
    const FIFTH: bool;
    /// Super-block scale of the sub-block scales.
    fn d(&self) -> f16;
    /// Super-block scale of the sub-block mins.
    fn dmin(&self) -> f16;
    /// Packed 6-bit scales and mins.
    fn scales(&self) -> &[u8; 12];
    /// Nibbles.
    fn qs(&self) -> &[u8; 128];
    /// Fifth bits (Q5_K): bit `2g` / `2g + 1` of byte `l` for element `l` of sub-blocks `2g` /
    /// `2g + 1`.
    fn qh(&self) -> Option<&[u8; 32]>;
}

impl K4Block for BlockQ4K {
    const FIFTH: bool = false;
    #[inline(always)]
    fn d(&self) -> f16 {
        self.d
    }
    #[inline(always)]
    fn dmin(&self) -> f16 {
        self.dmin
    }
    #[inline(always)]
    fn scales(&self) -> &[u8; 12] {
        &self.scales
    }
    #[inline(always)]
    fn qs(&self) -> &[u8; 128] {
        &self.qs
    }
    #[inline(always)]
    fn qh(&self) -> Option<&[u8; 32]> {
        None
    }
}

impl K4Block for BlockQ5K {
    const FIFTH: bool = true;
    #[inline(always)]
    fn d(&self) -> f16 {
        self.d
    }
    #[inline(always)]
    fn dmin(&self) -> f16 {
        self.dmin
    }
    #[inline(always)]
    fn scales(&self) -> &[u8; 12] {
        &self.scales
    }
    #[inline(always)]
    fn qs(&self) -> &[u8; 128] {
        &self.qs
    }
    #[inline(always)]
    fn qh(&self) -> Option<&[u8; 32]> {
        Some(&self.qh)
    }
}

/// Bit `s` of every byte of `h`, moved to bit 4 (16-bit shifts of the masked bit never cross
/// into the other byte of a word).
///
/// # Safety
/// The CPU must support AVX2.
#[inline(always)]
unsafe fn bit_to_4(h: __m256i, s: usize) -> __m256i {
    // SAFETY: AVX2 (caller contract); register-only.
    unsafe {
        let m = _mm256_and_si256(h, _mm256_set1_epi8((1u8 << (s & 7)) as i8));
        match s {
            0 => _mm256_slli_epi16::<4>(m),
            1 => _mm256_slli_epi16::<3>(m),
            2 => _mm256_slli_epi16::<2>(m),
            3 => _mm256_slli_epi16::<1>(m),
            4 => m,
            5 => _mm256_srli_epi16::<1>(m),
            6 => _mm256_srli_epi16::<2>(m),
            _ => _mm256_srli_epi16::<3>(m),
        }
    }
}

/// `Σ_k coef_r[k] · bsums[k]` for the four rows of a quad, exact in `i32` for any stored
/// `bsums`, in the two-lanes-per-row layout `[r0, r0, r2, r2 | r1, r1, r3, r3]` (each row's
/// sum split in two parts). `coef` holds two rows per vector, one per 128-bit half, `i16`:
/// `[rows (0, 1), k < 8]`, `[rows (0, 1), k ≥ 8]`, `[rows (2, 3), k < 8]`,
/// `[rows (2, 3), k ≥ 8]`; `bsums[0..8]` and `bsums[8..16]` are broadcast to both halves, so
/// one `madd` serves two rows and one `hadd` folds the pairs.
///
/// # Safety
/// The CPU must support AVX2.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn bsums_dot(coef: &[__m256i; 4], bsums: &[i16; 16]) -> __m256i {
    // SAFETY: `bsums` is 32 readable bytes (two 16-byte loads); AVX2 (caller contract).
    unsafe {
        let bs = bsums.as_ptr().cast::<__m128i>();
        let lo = _mm256_broadcastsi128_si256(_mm_loadu_si128(bs));
        let hi = _mm256_broadcastsi128_si256(_mm_loadu_si128(bs.add(1)));
        // [4 × r0 | 4 × r1], [4 × r2 | 4 × r3]
        let a01 = _mm256_add_epi32(
            _mm256_madd_epi16(coef[0], lo),
            _mm256_madd_epi16(coef[1], hi),
        );
        let a23 = _mm256_add_epi32(
            _mm256_madd_epi16(coef[2], lo),
            _mm256_madd_epi16(coef[3], hi),
        );
        hadd_epi32(a01, a23)
    }
}

/// The per-super-block data of a row quad shared by the column tile.
struct Prepared {
    /// Per sub-block `j`: `i16` lanes `[4 × sc_j(r0), 4 × sc_j(r2) | 4 × sc_j(r1), 4 × sc_j(r3)]`.
    sc: [__m256i; 8],
    /// Rows `(r0, r1)` then `(r2, r3)`, sub-blocks `0..4` then `4..8`: `i16`
    /// `[m_j, m_j for 4 j of the first row | the same 4 j of the second row]`.
    mins: [__m256i; 4],
    /// `[d r0, d r2, dmin r0, dmin r2 | d r1, d r3, dmin r1, dmin r3]`.
    dw: __m256,
}

/// Decodes the scales, mins and super-block scales of super-block `sb` of the four rows.
///
/// # Safety
/// Super-block `sb` of every row must be readable; the CPU must support AVX2 and F16C.
#[inline(always)]
unsafe fn prepare<B: K4Block>(w: &[*const B; 4], sb: usize) -> Prepared {
    // SAFETY: super-block `sb` of each row is readable (caller contract); AVX2/F16C.
    unsafe {
        let blk = |r: usize| &*w[r].add(sb);
        let sm: [(u64, u64); 4] = core::array::from_fn(|r| k4_scales_mins(blk(r).scales()));
        let scv = chunks4(core::array::from_fn(|r| sm[r].0));
        // (Loops, not closures: closures would not inherit the target features.)
        let mut sc = [_mm256_setzero_si256(); 8];
        for (j, scj) in sc.iter_mut().enumerate() {
            let a = (0x8000 | j) as u16 as i16;
            let b = (0x8000 | (8 + j)) as u16 as i16;
            let mask = _mm256_setr_epi16(a, a, a, a, b, b, b, b, a, a, a, a, b, b, b, b);
            *scj = _mm256_shuffle_epi8(scv, mask);
        }
        // Each row's mins doubled, `[m0, m0, m1, m1, …, m7, m7]` (bytes).
        let mut dup = [_mm_setzero_si128(); 4];
        for (r, d) in dup.iter_mut().enumerate() {
            let m = _mm_cvtsi64_si128(sm[r].1 as i64);
            *d = _mm_unpacklo_epi8(m, m);
        }
        let mins = [
            _mm256_cvtepu8_epi16(_mm_unpacklo_epi64(dup[0], dup[1])),
            _mm256_cvtepu8_epi16(_mm_unpackhi_epi64(dup[0], dup[1])),
            _mm256_cvtepu8_epi16(_mm_unpacklo_epi64(dup[2], dup[3])),
            _mm256_cvtepu8_epi16(_mm_unpackhi_epi64(dup[2], dup[3])),
        ];
        let d = |r: usize| u64::from(blk(r).d().to_bits());
        let dm = |r: usize| u64::from(blk(r).dmin().to_bits());
        let lo = d(0) | (d(2) << 16) | (dm(0) << 32) | (dm(2) << 48);
        let hi = d(1) | (d(3) << 16) | (dm(1) << 32) | (dm(3) << 48);
        let dw = _mm256_cvtph_ps(_mm_set_epi64x(hi as i64, lo as i64));
        Prepared { sc, mins, dw }
    }
}

/// `Σ_t maddubs(q_t, broadcast(x[8t..8t+8]))`: per row, four `i16` sums of 8 products.
///
/// # Safety
/// `xq` must point to 32 readable bytes; the CPU must support AVX2.
#[inline(always)]
unsafe fn products(q: &[__m256i; 4], xq: *const i8) -> __m256i {
    // SAFETY: bytes `0..32` of `xq` are readable (caller contract); AVX2 available.
    unsafe {
        let x = |t: usize| xq.add(8 * t).cast::<i64>().read_unaligned();
        let m0 = _mm256_maddubs_epi16(q[0], _mm256_set1_epi64x(x(0)));
        let m1 = _mm256_maddubs_epi16(q[1], _mm256_set1_epi64x(x(1)));
        let m2 = _mm256_maddubs_epi16(q[2], _mm256_set1_epi64x(x(2)));
        let m3 = _mm256_maddubs_epi16(q[3], _mm256_set1_epi64x(x(3)));
        _mm256_add_epi16(_mm256_add_epi16(m0, m1), _mm256_add_epi16(m2, m3))
    }
}

/// The four rows `w` against the `C` columns `x`: `out[c][r] = dot(w_r, x_c)`.
///
/// # Safety
/// Every row and column must point to `nb` readable super-blocks; the CPU must support AVX2,
/// FMA and F16C.
#[inline(always)]
#[allow(clippy::needless_range_loop)]
unsafe fn quad_k4<B: K4Block, const C: usize>(
    w: &[*const B; 4],
    x: &[*const BlockQ8K; C],
    nb: usize,
) -> [[f32; 4]; C] {
    // SAFETY: super-blocks `sb < nb` only (caller contract); AVX2/FMA/F16C available.
    unsafe {
        let mut acc = [_mm256_setzero_ps(); C];
        let m4 = _mm256_set1_epi8(0x0F);
        for sb in 0..nb {
            for r in 0..4 {
                prefetch_ahead(w[r].add(sb).cast(), core::mem::size_of::<B>());
            }
            let p = prepare(w, sb);
            // The fifth bits, interleaved like the nibbles (`qh` byte `l` belongs to element `l`
            // of every sub-block).
            let qh = if B::FIFTH {
                interleave4(core::array::from_fn(|r| {
                    (*w[r].add(sb))
                        .qh()
                        .map_or(core::ptr::null(), |h| h.as_ptr())
                }))
            } else {
                [_mm256_setzero_si256(); 4]
            };
            let mut isum = [_mm256_setzero_si256(); C];
            for g in 0..4 {
                // The loads of `interleave4`, written out: calling it here was slower.
                let half = |r: usize, h: usize| (*w[r].add(sb)).qs().as_ptr().add(32 * g + 16 * h);
                let mut v = [_mm256_setzero_si256(); 4];
                for h in 0..2 {
                    let a = _mm256_loadu2_m128i(half(1, h).cast(), half(0, h).cast());
                    let b = _mm256_loadu2_m128i(half(3, h).cast(), half(2, h).cast());
                    v[2 * h] = _mm256_unpacklo_epi64(a, b);
                    v[2 * h + 1] = _mm256_unpackhi_epi64(a, b);
                }
                let mut lo = [_mm256_setzero_si256(); 4];
                for t in 0..4 {
                    lo[t] = _mm256_and_si256(v[t], m4);
                    if B::FIFTH {
                        lo[t] = _mm256_or_si256(lo[t], bit_to_4(qh[t], 2 * g));
                    }
                }
                for c in 0..C {
                    let xq = (*x[c].add(sb)).qs.as_ptr().add(64 * g);
                    let s = products(&lo, xq);
                    isum[c] = _mm256_add_epi32(isum[c], _mm256_madd_epi16(s, p.sc[2 * g]));
                }
                let mut hi = [_mm256_setzero_si256(); 4];
                for t in 0..4 {
                    hi[t] = _mm256_and_si256(_mm256_srli_epi16::<4>(v[t]), m4);
                    if B::FIFTH {
                        hi[t] = _mm256_or_si256(hi[t], bit_to_4(qh[t], 2 * g + 1));
                    }
                }
                for c in 0..C {
                    let xq = (*x[c].add(sb)).qs.as_ptr().add(64 * g + 32);
                    let s = products(&hi, xq);
                    isum[c] = _mm256_add_epi32(isum[c], _mm256_madd_epi16(s, p.sc[2 * g + 1]));
                }
            }
            for c in 0..C {
                let xb = &*x[c].add(sb);
                let ms = bsums_dot(&p.mins, &xb.bsums);
                // [isum r0, isum r2, summs r0, summs r2 | isum r1, isum r3, summs r1, summs r3]
                let sums = hadd_epi32(isum[c], ms);
                let dd = _mm256_mul_ps(p.dw, _mm256_set1_ps(xb.d));
                let prod = _mm256_mul_ps(dd, _mm256_cvtepi32_ps(sums));
                let swapped = _mm256_permute_ps::<0b01_00_11_10>(prod);
                acc[c] = _mm256_add_ps(acc[c], _mm256_sub_ps(prod, swapped));
            }
        }
        let mut out = [[0.0f32; 4]; C];
        for c in 0..C {
            let mut lanes = [0.0f32; 8];
            _mm256_storeu_ps(lanes.as_mut_ptr(), acc[c]);
            out[c] = [lanes[0], lanes[4], lanes[1], lanes[5]];
        }
        out
    }
}

/// A row-quad kernel: the four rows `w` against `C ≤ COLS` columns `x`.
pub(in crate::arch::x86_64) trait QuadK {
    /// Weight super-block.
    type W;
    /// The columns per tile (at most 16): each weight super-block is unpacked once per tile.
    const COLS: usize;
    /// Checked at compile time: the driver's arms go up to 16 columns.
    const FITS: () = assert!(Self::COLS >= 1 && Self::COLS <= 16);
    /// `out[c][r] = dot(w_r, x_c)`.
    ///
    /// # Safety
    /// Every row and column must point to `nb` readable super-blocks; the CPU must support
    /// AVX2, FMA and F16C.
    unsafe fn quad_k4<const C: usize>(
        w: &[*const Self::W; 4],
        x: &[*const BlockQ8K; C],
        nb: usize,
    ) -> [[f32; 4]; C];
}

/// Q4_K / Q5_K ([`quad_k4`]).
struct K4Quad<B>(core::marker::PhantomData<B>);

impl<B: K4Block> QuadK for K4Quad<B> {
    type W = B;
    /// 8 is the fastest of 4, 8 and 16 (16 is slower: the column sums no longer fit).
    const COLS: usize = 8;
    #[inline(always)]
    unsafe fn quad_k4<const C: usize>(
        w: &[*const B; 4],
        x: &[*const BlockQ8K; C],
        nb: usize,
    ) -> [[f32; 4]; C] {
        // SAFETY: forwarded caller contract.
        unsafe { quad_k4::<B, C>(w, x, nb) }
    }
}

/// Multi-column product of the whole quads of rows: `out[c · stride + r] = dot(w_r, x_c)` for
/// rows `r < 4 · (rows / 4)` and `cols` columns, in row panels of
/// [`super::common::PANEL_BYTES`] and column tiles of [`QuadK::COLS`]. Returns the number of rows
/// done.
///
/// # Safety
/// `w` must point to `rows · bpr` readable super-blocks and `x` to `cols · bpr`; `out` must
/// hold `(cols − 1) · stride + rows` values with `stride >= rows`; the CPU must support AVX2,
/// FMA and F16C.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn gemm_quads<Q: QuadK>(
    w: *const Q::W,
    x: *const BlockQ8K,
    bpr: usize,
    rows: usize,
    cols: usize,
    out: &mut [f32],
    stride: usize,
) -> usize {
    let () = Q::FITS;
    let quads = rows / 4;
    // SAFETY: rows `< 4 · quads <= rows`, columns `< cols` (caller contract); every output
    // index `c · stride + r < (cols − 1) · stride + rows <= out.len()`.
    unsafe {
        let mut q0 = 0;
        while q0 < quads {
            let q1 = (q0 + panel_groups(4, bpr * core::mem::size_of::<Q::W>())).min(quads);
            let mut c0 = 0;
            while c0 < cols {
                let n = (cols - c0).min(Q::COLS);
                for q in q0..q1 {
                    let ws: [*const Q::W; 4] = core::array::from_fn(|r| w.add((4 * q + r) * bpr));
                    macro_rules! run {
                        ($n:literal) => {{
                            let xn: [*const BlockQ8K; $n] =
                                core::array::from_fn(|c| x.add((c0 + c) * bpr));
                            let v = Q::quad_k4::<$n>(&ws, &xn, bpr);
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
                        4 => run!(4),
                        5 => run!(5),
                        6 => run!(6),
                        7 => run!(7),
                        // (Arms past 8 exist only for kernels with wider tiles; `n` is at
                        // most `Q::COLS <= 16`.)
                        9 if Q::COLS > 8 => run!(9),
                        10 if Q::COLS > 8 => run!(10),
                        11 if Q::COLS > 8 => run!(11),
                        12 if Q::COLS > 8 => run!(12),
                        13 if Q::COLS > 8 => run!(13),
                        14 if Q::COLS > 8 => run!(14),
                        15 if Q::COLS > 8 => run!(15),
                        16 if Q::COLS > 8 => run!(16),
                        _ => run!(8),
                    }
                }
                c0 += n;
            }
            q0 = q1;
        }
    }
    4 * quads
}

/// Q4_K / Q5_K in row quads ([`gemm_quads`] over [`quad_k4`]).
///
/// # Safety
/// As [`gemm_quads`].
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn gemm_k4<B: K4Block>(
    w: *const B,
    x: *const BlockQ8K,
    bpr: usize,
    rows: usize,
    cols: usize,
    out: &mut [f32],
    stride: usize,
) -> usize {
    // SAFETY: forwarded caller contract.
    unsafe { gemm_quads::<K4Quad<B>>(w, x, bpr, rows, cols, out, stride) }
}

/// The chunks `[r0, r2 | r1, r3]` (8 bytes each) of the 32 bytes at `p(r)` of the four rows:
/// chunk `t` of each row (bytes `8t..8t+8`) in vector `t`.
///
/// # Safety
/// Every `p[r]` must point to 32 readable bytes; the CPU must support AVX2.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn interleave4(p: [*const u8; 4]) -> [__m256i; 4] {
    // SAFETY: 32 readable bytes behind each pointer (caller contract); AVX2 available.
    unsafe {
        let mut v = [_mm256_setzero_si256(); 4];
        for h in 0..2 {
            let a = _mm256_loadu2_m128i(p[1].add(16 * h).cast(), p[0].add(16 * h).cast());
            let b = _mm256_loadu2_m128i(p[3].add(16 * h).cast(), p[2].add(16 * h).cast());
            v[2 * h] = _mm256_unpacklo_epi64(a, b);
            v[2 * h + 1] = _mm256_unpackhi_epi64(a, b);
        }
        v
    }
}
