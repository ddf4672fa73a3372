//! 256-bit multi-column products (prefill) of Q6_K in row quads, on the row-quad driver of
//! [`super::k_quads`] (whose module docs give the layout of the four rows' 8-byte chunks, the
//! tiling and the float terms). Bit-exact with [`crate::kernels::dot`].
//!
//! # Interleaving
//!
//! The column loop runs [`Q6_INTERLEAVE`] columns' `maddubs` chains interleaved
//! ([`q6_columns`], as the octets of [`super::q32_octets`]).

use super::common::{hadd_epi32, prefetch_ahead};
use super::k_quads::{bsums_dot, chunks4, gemm_quads, interleave4, QuadK};
use crate::quant::{BlockQ6K, BlockQ8K};
use core::arch::x86_64::*;

/// Q6_K ([`quad_q6k`]).
struct Q6KQuad;

impl QuadK for Q6KQuad {
    type W = BlockQ6K;
    /// Q6_K's unpack (nibbles and two high bits per quant) costs more per super-block than
    /// Q4_K's, so wider tiles pay: 16 is the fastest of 4, 8 and 16.
    const COLS: usize = 16;
    #[inline(always)]
    unsafe fn quad_k4<const C: usize>(
        w: &[*const BlockQ6K; 4],
        x: &[*const BlockQ8K; C],
        nb: usize,
    ) -> [[f32; 4]; C] {
        // SAFETY: forwarded caller contract.
        unsafe { quad_q6k::<C>(w, x, nb) }
    }
}

/// The per-super-block data of a Q6_K row quad shared by the column tile.
struct PreparedQ6K {
    /// Per 16-element sub-block `j`: signed `i16` lanes
    /// `[4 × sc_j(r0), 4 × sc_j(r2) | 4 × sc_j(r1), 4 × sc_j(r3)]`.
    sc: [__m256i; 16],
    /// Rows `(r0, r1)` then `(r2, r3)`, sub-blocks `0..8` then `8..16`: the scales as `i16`,
    /// `[sc_j for 8 j of the first row | the same 8 j of the second row]` (for the
    /// `−32 · Σ sc_j · bsums_j` term).
    sc16: [__m256i; 4],
    /// `[d r0, d r2, d r0, d r2 | d r1, d r3, d r1, d r3]`.
    dw: __m256,
}

/// Decodes the scales and super-block scales of Q6_K super-block `sb` of the four rows.
///
/// # Safety
/// Super-block `sb` of every row must be readable; the CPU must support AVX2 and F16C.
#[inline(always)]
unsafe fn prepare_q6k(w: &[*const BlockQ6K; 4], sb: usize) -> PreparedQ6K {
    // SAFETY: super-block `sb` of each row is readable (caller contract); AVX2/F16C.
    unsafe {
        let blk = |r: usize| &*w[r].add(sb);
        let half = |r: usize, i: usize| {
            u64::from_le_bytes(core::array::from_fn(|k| blk(r).scales[8 * i + k] as u8))
        };
        let scv = [
            chunks4(core::array::from_fn(|r| half(r, 0))),
            chunks4(core::array::from_fn(|r| half(r, 1))),
        ];
        let mut sc = [_mm256_setzero_si256(); 16];
        for (j, scj) in sc.iter_mut().enumerate() {
            // Byte `j % 8` of the row's chunk into the high byte of each `i16` lane (the low
            // byte zeroed), then an arithmetic shift: the sign-extended scale.
            let a = (((j % 8) << 8) | 0x80) as u16 as i16;
            let b = (((8 + j % 8) << 8) | 0x80) as u16 as i16;
            let mask = _mm256_setr_epi16(a, a, a, a, b, b, b, b, a, a, a, a, b, b, b, b);
            *scj = _mm256_srai_epi16::<8>(_mm256_shuffle_epi8(scv[j / 8], mask));
        }
        let raw: [__m128i; 4] =
            core::array::from_fn(|r| _mm_loadu_si128(blk(r).scales.as_ptr().cast()));
        let sc16 = [
            _mm256_cvtepi8_epi16(_mm_unpacklo_epi64(raw[0], raw[1])),
            _mm256_cvtepi8_epi16(_mm_unpackhi_epi64(raw[0], raw[1])),
            _mm256_cvtepi8_epi16(_mm_unpacklo_epi64(raw[2], raw[3])),
            _mm256_cvtepi8_epi16(_mm_unpackhi_epi64(raw[2], raw[3])),
        ];
        let d = |r: usize| u64::from(blk(r).d.to_bits());
        let lo = d(0) | (d(2) << 16) | (d(0) << 32) | (d(2) << 48);
        let hi = d(1) | (d(3) << 16) | (d(1) << 32) | (d(3) << 48);
        let dw = _mm256_cvtph_ps(_mm_set_epi64x(hi as i64, lo as i64));
        PreparedQ6K { sc, sc16, dw }
    }
}

/// The two high bits of each quant of run `k` of nibble half `n`, at bits 4..6:
/// `((qh >> (2k + 4n)) & 3) << 4`, by one 16-bit shift that moves bits within each byte.
///
/// # Safety
/// The CPU must support AVX2.
#[inline(always)]
unsafe fn q6_high_bits(h: __m256i, k: usize, n: usize) -> __m256i {
    // SAFETY: AVX2 (caller contract); register-only.
    unsafe {
        let m = _mm256_set1_epi8(0x30);
        match 2 * k + 4 * n {
            0 => _mm256_and_si256(_mm256_slli_epi16::<4>(h), m),
            2 => _mm256_and_si256(_mm256_slli_epi16::<2>(h), m),
            4 => _mm256_and_si256(h, m),
            _ => _mm256_and_si256(_mm256_srli_epi16::<2>(h), m),
        }
    }
}

/// Columns whose Q6_K products are interleaved ([`q6_columns`]): 4 is the fastest of 1, 2, 4
/// and 8 (at 8 the partial sums spill).
const Q6_INTERLEAVE: usize = 4;

/// Adds the products of the 32-element run at `base` (sub-blocks `base / 16` and
/// `base / 16 + 1`) of super-block `sb` of the quad (quants `q`) against the `N` columns
/// `x[c0..c0 + N]` to their `isum`s. The columns' `maddubs` steps are interleaved, so that
/// independent chains sit close together in program order (as in [`super::q32_octets`]).
///
/// Per lane, `s0` sums chunks 0 and 1 (sub-block `base / 16`) and `s1` chunks 2 and 3: sums of
/// 4 products, `≤ 4 · 63 · 128 = 32256 < 2^15`.
///
/// # Safety
/// Super-block `sb` of every column must be readable, `c0 + N <= C`; the CPU must support
/// AVX2.
#[inline(always)]
unsafe fn q6_columns<const C: usize, const N: usize>(
    isum: &mut [__m256i; C],
    q: &[__m256i; 4],
    x: &[*const BlockQ8K; C],
    c0: usize,
    (sb, base): (usize, usize),
    p: &PreparedQ6K,
) {
    // SAFETY: bytes `base..base + 32` of super-block `sb` of each column are readable (caller
    // contract; `base + 32 <= 256`); AVX2 available.
    unsafe {
        let xq: [*const u8; N] = core::array::from_fn(|i| {
            (*x.get_unchecked(c0 + i).add(sb))
                .qs
                .as_ptr()
                .add(base)
                .cast()
        });
        // (Loops, not closures over intrinsics: closures would not inherit the target
        // features.)
        let mut s0 = [_mm256_setzero_si256(); N];
        let mut s1 = [_mm256_setzero_si256(); N];
        for t in [0, 2, 1, 3] {
            for i in 0..N {
                let xv = _mm256_set1_epi64x(xq[i].add(8 * t).cast::<i64>().read_unaligned());
                let m = _mm256_maddubs_epi16(q[t], xv);
                let (s, first) = if t < 2 {
                    (&mut s0[i], t == 0)
                } else {
                    (&mut s1[i], t == 2)
                };
                *s = if first { m } else { _mm256_add_epi16(*s, m) };
            }
        }
        let j = base / 16;
        for i in 0..N {
            let v = _mm256_add_epi32(
                _mm256_madd_epi16(s0[i], p.sc[j]),
                _mm256_madd_epi16(s1[i], p.sc[j + 1]),
            );
            let acc = isum.get_unchecked_mut(c0 + i);
            *acc = _mm256_add_epi32(*acc, v);
        }
    }
}

/// Q6_K: the four rows `w` against the `C` columns `x`: `out[c][r] = dot(w_r, x_c)`
/// (module docs of [`gemm_q6_k`]).
///
/// # Safety
/// Every row and column must point to `nb` readable super-blocks; the CPU must support AVX2,
/// FMA and F16C.
#[inline(always)]
#[allow(clippy::needless_range_loop)]
unsafe fn quad_q6k<const C: usize>(
    w: &[*const BlockQ6K; 4],
    x: &[*const BlockQ8K; C],
    nb: usize,
) -> [[f32; 4]; C] {
    // SAFETY: super-blocks `sb < nb` only (caller contract); AVX2/FMA/F16C available.
    unsafe {
        let mut acc = [_mm256_setzero_ps(); C];
        let m4 = _mm256_set1_epi8(0x0F);
        for sb in 0..nb {
            for r in 0..4 {
                prefetch_ahead(w[r].add(sb).cast(), core::mem::size_of::<BlockQ6K>());
            }
            let p = prepare_q6k(w, sb);
            let mut isum = [_mm256_setzero_si256(); C];
            for h in 0..2 {
                let qh = interleave4(core::array::from_fn(|r| {
                    (*w[r].add(sb)).qh.as_ptr().add(32 * h)
                }));
                for k in 0..2 {
                    let ql = interleave4(core::array::from_fn(|r| {
                        (*w[r].add(sb)).ql.as_ptr().add(64 * h + 32 * k)
                    }));
                    for n in 0..2 {
                        let mut q = [_mm256_setzero_si256(); 4];
                        for t in 0..4 {
                            let lo = if n == 0 {
                                ql[t]
                            } else {
                                _mm256_srli_epi16::<4>(ql[t])
                            };
                            q[t] = _mm256_or_si256(
                                _mm256_and_si256(lo, m4),
                                q6_high_bits(qh[t], k, n),
                            );
                        }
                        let base = 128 * h + 32 * k + 64 * n;
                        let mut c = 0;
                        while c + Q6_INTERLEAVE <= C {
                            q6_columns::<C, Q6_INTERLEAVE>(&mut isum, &q, x, c, (sb, base), &p);
                            c += Q6_INTERLEAVE;
                        }
                        while c < C {
                            q6_columns::<C, 1>(&mut isum, &q, x, c, (sb, base), &p);
                            c += 1;
                        }
                    }
                }
            }
            for c in 0..C {
                let xb = &*x[c].add(sb);
                let off = bsums_dot(&p.sc16, &xb.bsums);
                // `Σ sc_j · Σ (q − 32)·x = Σ sc_j · Σ q·x − 32 · Σ sc_j · bsums_j`, two lanes per
                // row.
                let parts = _mm256_sub_epi32(isum[c], _mm256_slli_epi32::<5>(off));
                // [isum r0, isum r2, (same) | isum r1, isum r3, (same)]
                let sums = hadd_epi32(parts, parts);
                let dd = _mm256_mul_ps(p.dw, _mm256_set1_ps(xb.d));
                acc[c] = _mm256_add_ps(acc[c], _mm256_mul_ps(dd, _mm256_cvtepi32_ps(sums)));
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

/// Q6_K in row quads, as [`super::k_quads::gemm_k4`]. Per 32-element run of 8-byte chunks `t`, the quants
/// are `low4 | high2 << 4` built from the interleaved `ql` and `qh` bytes; chunks `0, 1` and
/// `2, 3` belong to two 16-element sub-blocks, so their `maddubs` pairs are scaled by two
/// `madd`s with the signed sub-block scales. The `−32` offset goes through the activation
/// `bsums` (`−32 · Σ_j sc_j · bsums_j`, as the single-row kernel), and the term is
/// `(d_w · d_x) · f32(isum)` per lane, added in super-block order.
///
/// # Safety
/// As [`gemm_quads`].
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn gemm_q6_k(
    w: *const BlockQ6K,
    x: *const BlockQ8K,
    bpr: usize,
    rows: usize,
    cols: usize,
    out: &mut [f32],
    stride: usize,
) -> usize {
    // SAFETY: forwarded caller contract.
    unsafe { gemm_quads::<Q6KQuad>(w, x, bpr, rows, cols, out, stride) }
}
