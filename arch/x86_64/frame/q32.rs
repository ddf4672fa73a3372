//! 256-bit integer products of the 32-element formats: Q4_0·Q8_0, Q4_1·Q8_1, Q5_0·Q8_0 and
//! Q8_0·Q8_0, bit-exact with [`crate::kernels::dot`], as `R × C` register tiles (rows × columns)
//! that the AVX2 tier's row dot products (`1 × 1`) and gemms use, and whose [`Q32Pair`] block
//! unpacking the per-column-table and row-octet kernels of every x86 tier share.
//!
//! # Math
//!
//! Per block `b`: an exact `i32` integer sum `isum_b` (see each [`Q32Pair`] impl), then the
//! scalar reference's float term `(d_w · d_x) · (isum_b as f32)` (+ `m_w · s_x` for Q4_1) as
//! separately rounded `vmulps` / `vaddps` (no FMA), added to accumulator lane `b % 8`; the row
//! result is [`super::common::reduce_lanes_ps`] of the accumulator. Same operations, same order
//! as the scalar reference, hence the same bits.
//!
//! Integer parts (one 32-byte activation vector per block):
//! - Q4_0: nibbles `u` (0..16) → `maddubs(u, x) − maddubs(8, x)` (i16, no saturation:
//!   `|2 · 15 · 128| < 2^15`), `madd` with ones → `i32x8`.
//! - Q4_1: `madd(maddubs(u, x), 1)`.
//! - Q5_0: `u = nibble | 0x10·bit` (bits expanded with `bytes_from_bits_32`), then as Q4_0 with
//!   16 for 8.
//! - Q8_0·Q8_0: both sign-extended to i16 and `madd` (exact for every byte, `−128` included; the
//!   `abs`/`sign` trick would wrap for `−128 · −128`).
//!
//! # Accumulator / unroll scheme
//!
//! 8 blocks per iteration. For each `(row, column)` of the tile, the 8 block vectors are
//! reduced as they are produced: `hadd` per pair of blocks, `hadd` per two pairs, and a
//! permute + add per eight ([`super::common`]), giving lane `k` = `isum` of block `k`. For the
//! maddubs formats (`TREE16`) the first two levels run on the `i16` pair sums
//! (`hadd_epi16`: sums of 8 elements are ≤ 16384 in magnitude, so they fit) and one `madd`
//! with ones per 4 blocks widens to `i32`, which saves 6 of the 8 multiplies per 8 blocks;
//! Q8_0·Q8_0 (`madd` of i16 products) uses `hadd_epi32` throughout. The 8
//! weight scales and 8 activation scales (f16) are gathered once per row / column and
//! converted with `vcvtph2ps`. Each weight block is unpacked once and serves the tile's `C`
//! columns; each activation block is prepared once and serves its `R` rows.
//!
//! # Tails
//!
//! The last `nb % 8` blocks run the same code with zero vectors and zero scales in the missing
//! lanes: their term is `0 · 0 = +0`, and adding `+0` never changes an accumulator (which
//! starts at `+0` and can never become `−0`). Length checks are in the safe wrappers: the
//! common block prefix, like the scalar `zip`.

use super::common::{finish_sums8, pair_sums, quad_sums, reduce_lanes_ps, sums8};
use crate::quant::{BlockQ4_0, BlockQ4_1, BlockQ5_0, BlockQ8_0, BlockQ8_1};
use core::arch::x86_64::*;

/// One pairing of a 32-element weight format with its activation format.
pub(in crate::arch::x86_64) trait Q32Pair {
    /// Weight block.
    type W;
    /// Activation block.
    type X;
    /// Weight block unpacked into registers (once per tile row).
    type Wu: Copy;
    /// Activation block prepared in registers (once per tile column).
    type Xp: Copy;
    /// Whether the term has the `m_w · s_x` part (Q4_1).
    const HAS_MIN: bool;
    /// Whether [`Q32Pair::isum`] returns `i16x16` pair sums whose sums of 8 elements fit an
    /// `i16` (the maddubs formats): the block tree then starts with two `hadd_epi16` levels
    /// and one `madd` per 4 blocks instead of one `madd` per block.
    const TREE16: bool;
    /// Unpacks a weight block.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    unsafe fn unpack_w(w: &Self::W) -> Self::Wu;
    /// Prepares an activation block.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    unsafe fn prep_x(x: &Self::X) -> Self::Xp;
    /// Partial sums whose total is the block's exact integer sum: `i32x8`, or `i16x16` when
    /// [`Q32Pair::TREE16`].
    ///
    /// # Safety
    /// The CPU must support AVX2.
    unsafe fn isum(w: Self::Wu, x: Self::Xp) -> __m256i;
    /// `(d, m)` f16 bits of the weight block (`m = 0` without a min).
    fn w_scales(w: &Self::W) -> (u16, u16);
    /// `(d, s)` f16 bits of the activation block (`s = 0` without a sum).
    fn x_scales(x: &Self::X) -> (u16, u16);
    /// The activation block's 32 quants.
    fn x_quants(x: &Self::X) -> &[i8; 32];
}

/// Loads the 16 packed nibbles of a 4-bit block as 32 bytes: low nibbles (elements 0..16) in
/// the low half, high nibbles (elements 16..32) in the high half. One broadcast load, a shift
/// of the high half's dwords by 4, one mask.
///
/// # Safety
/// The CPU must support AVX2.
#[inline(always)]
unsafe fn nibbles(qs: &[u8; 16]) -> __m256i {
    // SAFETY: `qs` is 16 readable bytes; AVX2 is available (caller contract).
    unsafe {
        let both = _mm256_broadcastsi128_si256(_mm_loadu_si128(qs.as_ptr().cast()));
        let shifted = _mm256_srlv_epi32(both, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4));
        _mm256_and_si256(shifted, _mm256_set1_epi8(0x0F))
    }
}

/// Loads the 32 activation quants of a block.
///
/// # Safety
/// The CPU must support AVX.
#[inline(always)]
unsafe fn load_qs(qs: &[i8; 32]) -> __m256i {
    // SAFETY: `qs` is 32 readable bytes; unaligned load.
    unsafe { _mm256_loadu_si256(qs.as_ptr().cast()) }
}

/// Q4_0 · Q8_0.
pub(in crate::arch::x86_64) struct Q4_0Q8_0;
/// Q4_1 · Q8_1.
pub(in crate::arch::x86_64) struct Q4_1Q8_1;
/// Q5_0 · Q8_0.
pub(in crate::arch::x86_64) struct Q5_0Q8_0;
/// Q8_0 · Q8_0.
pub(in crate::arch::x86_64) struct Q8_0Q8_0;

impl Q32Pair for Q4_0Q8_0 {
    type W = BlockQ4_0;
    type X = BlockQ8_0;
    type Wu = __m256i;
    /// `(x, maddubs(8, x))`.
    type Xp = (__m256i, __m256i);
    const HAS_MIN: bool = false;
    const TREE16: bool = true;
    #[inline(always)]
    unsafe fn unpack_w(w: &BlockQ4_0) -> __m256i {
        // SAFETY: AVX2 (caller contract).
        unsafe { nibbles(&w.qs) }
    }
    #[inline(always)]
    unsafe fn prep_x(x: &BlockQ8_0) -> (__m256i, __m256i) {
        // SAFETY: AVX2 (caller contract).
        unsafe {
            let v = load_qs(&x.qs);
            (v, _mm256_maddubs_epi16(_mm256_set1_epi8(8), v))
        }
    }
    #[inline(always)]
    unsafe fn isum(w: __m256i, (x, x8): (__m256i, __m256i)) -> __m256i {
        // SAFETY: AVX2 (caller contract); register-only.
        unsafe {
            // |Σ of 8 elements| ≤ 8 · 8 · 128 = 8192: TREE16 holds.
            _mm256_sub_epi16(_mm256_maddubs_epi16(w, x), x8)
        }
    }
    #[inline(always)]
    fn w_scales(w: &BlockQ4_0) -> (u16, u16) {
        (w.d.to_bits(), 0)
    }
    #[inline(always)]
    fn x_quants(x: &BlockQ8_0) -> &[i8; 32] {
        &x.qs
    }
    #[inline(always)]
    fn x_scales(x: &BlockQ8_0) -> (u16, u16) {
        (x.d.to_bits(), 0)
    }
}

impl Q32Pair for Q4_1Q8_1 {
    type W = BlockQ4_1;
    type X = BlockQ8_1;
    type Wu = __m256i;
    type Xp = __m256i;
    const HAS_MIN: bool = true;
    const TREE16: bool = true;
    #[inline(always)]
    unsafe fn unpack_w(w: &BlockQ4_1) -> __m256i {
        // SAFETY: AVX2 (caller contract).
        unsafe { nibbles(&w.qs) }
    }
    #[inline(always)]
    unsafe fn prep_x(x: &BlockQ8_1) -> __m256i {
        // SAFETY: AVX (caller contract).
        unsafe { load_qs(&x.qs) }
    }
    #[inline(always)]
    unsafe fn isum(w: __m256i, x: __m256i) -> __m256i {
        // SAFETY: AVX2 (caller contract); register-only.
        // |Σ of 8 elements| ≤ 8 · 15 · 128 = 15360: TREE16 holds.
        unsafe { _mm256_maddubs_epi16(w, x) }
    }
    #[inline(always)]
    fn w_scales(w: &BlockQ4_1) -> (u16, u16) {
        (w.d.to_bits(), w.m.to_bits())
    }
    #[inline(always)]
    fn x_quants(x: &BlockQ8_1) -> &[i8; 32] {
        &x.qs
    }
    #[inline(always)]
    fn x_scales(x: &BlockQ8_1) -> (u16, u16) {
        (x.d.to_bits(), x.s.to_bits())
    }
}

impl Q32Pair for Q5_0Q8_0 {
    type W = BlockQ5_0;
    type X = BlockQ8_0;
    type Wu = __m256i;
    /// `(x, maddubs(16, x))`.
    type Xp = (__m256i, __m256i);
    const HAS_MIN: bool = false;
    const TREE16: bool = true;
    #[inline(always)]
    unsafe fn unpack_w(w: &BlockQ5_0) -> __m256i {
        // SAFETY: AVX2 (caller contract).
        unsafe {
            let high = super::common::bytes_from_bits_32(u32::from_le_bytes(w.qh));
            _mm256_or_si256(
                nibbles(&w.qs),
                _mm256_and_si256(high, _mm256_set1_epi8(0x10)),
            )
        }
    }
    #[inline(always)]
    unsafe fn prep_x(x: &BlockQ8_0) -> (__m256i, __m256i) {
        // SAFETY: AVX2 (caller contract).
        unsafe {
            let v = load_qs(&x.qs);
            (v, _mm256_maddubs_epi16(_mm256_set1_epi8(16), v))
        }
    }
    #[inline(always)]
    unsafe fn isum(w: __m256i, (x, x16): (__m256i, __m256i)) -> __m256i {
        // SAFETY: AVX2 (caller contract); register-only.
        unsafe {
            // |Σ of 8 elements| ≤ 8 · 16 · 128 = 16384: TREE16 holds.
            _mm256_sub_epi16(_mm256_maddubs_epi16(w, x), x16)
        }
    }
    #[inline(always)]
    fn w_scales(w: &BlockQ5_0) -> (u16, u16) {
        (w.d.to_bits(), 0)
    }
    #[inline(always)]
    fn x_quants(x: &BlockQ8_0) -> &[i8; 32] {
        &x.qs
    }
    #[inline(always)]
    fn x_scales(x: &BlockQ8_0) -> (u16, u16) {
        (x.d.to_bits(), 0)
    }
}

/// Sign-extends the 32 quants of a Q8_0 block to two `i16x16` vectors.
///
/// # Safety
/// The CPU must support AVX2.
#[inline(always)]
unsafe fn widen_q8(qs: &[i8; 32]) -> (__m256i, __m256i) {
    // SAFETY: `qs` is 32 readable bytes (two 16-byte loads); AVX2 (caller contract).
    unsafe {
        let p = qs.as_ptr();
        (
            _mm256_cvtepi8_epi16(_mm_loadu_si128(p.cast())),
            _mm256_cvtepi8_epi16(_mm_loadu_si128(p.add(16).cast())),
        )
    }
}

impl Q32Pair for Q8_0Q8_0 {
    type W = BlockQ8_0;
    type X = BlockQ8_0;
    type Wu = (__m256i, __m256i);
    type Xp = (__m256i, __m256i);
    const HAS_MIN: bool = false;
    const TREE16: bool = false;
    #[inline(always)]
    unsafe fn unpack_w(w: &BlockQ8_0) -> (__m256i, __m256i) {
        // SAFETY: AVX2 (caller contract).
        unsafe { widen_q8(&w.qs) }
    }
    #[inline(always)]
    unsafe fn prep_x(x: &BlockQ8_0) -> (__m256i, __m256i) {
        // SAFETY: AVX2 (caller contract).
        unsafe { widen_q8(&x.qs) }
    }
    #[inline(always)]
    unsafe fn isum((w0, w1): (__m256i, __m256i), (x0, x1): (__m256i, __m256i)) -> __m256i {
        // SAFETY: AVX2 (caller contract); register-only.
        unsafe { _mm256_add_epi32(_mm256_madd_epi16(w0, x0), _mm256_madd_epi16(w1, x1)) }
    }
    #[inline(always)]
    fn w_scales(w: &BlockQ8_0) -> (u16, u16) {
        (w.d.to_bits(), 0)
    }
    #[inline(always)]
    fn x_quants(x: &BlockQ8_0) -> &[i8; 32] {
        &x.qs
    }
    #[inline(always)]
    fn x_scales(x: &BlockQ8_0) -> (u16, u16) {
        (x.d.to_bits(), 0)
    }
}

/// Eight f16 bit patterns (lane `k` = `f(block k)`, zero past `n`) as `f32x8`, assembled in two
/// general-purpose `u64`s (integer ports, leaving the vector ports to the products) and
/// converted with `vcvtph2ps` (exact).
///
/// # Safety
/// `p` must point to `n` readable blocks; the CPU must support AVX and F16C.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn f16_lanes<B>(
    p: *const B,
    n: usize,
    f: impl Fn(&B) -> u16,
) -> __m256 {
    // SAFETY: only blocks `k < n` are read (caller contract); F16C available.
    unsafe {
        let g = |k: usize| if k < n { f(&*p.add(k)) as u64 } else { 0 };
        let lo = g(0) | (g(1) << 16) | (g(2) << 32) | (g(3) << 48);
        let hi = g(4) | (g(5) << 16) | (g(6) << 32) | (g(7) << 48);
        _mm256_cvtph_ps(_mm_set_epi64x(hi as i64, lo as i64))
    }
}

/// Scale vectors `(d, m)` of 8 consecutive blocks starting at `p` (`n ≤ 8` real ones, zeros
/// after); `m` is all zeros for formats without a second scale.
///
/// # Safety
/// `p` must point to `n` readable blocks; the CPU must support AVX and F16C.
#[inline(always)]
unsafe fn scales8<B>(
    has_min: bool,
    p: *const B,
    n: usize,
    f: impl Fn(&B) -> (u16, u16),
) -> (__m256, __m256) {
    // SAFETY: forwarded caller contract.
    unsafe {
        let d = f16_lanes(p, n, |b| f(b).0);
        let m = if has_min {
            f16_lanes(p, n, |b| f(b).1)
        } else {
            _mm256_setzero_ps()
        };
        (d, m)
    }
}

/// Adds the 8 block terms of one `(row, column)` pair to its accumulator.
///
/// # Safety
/// The CPU must support AVX.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn add_terms(
    has_min: bool,
    acc: __m256,
    sums: __m256i,
    (dw, mw): (__m256, __m256),
    (dx, sx): (__m256, __m256),
) -> __m256 {
    // SAFETY: AVX (caller contract); register-only.
    unsafe {
        let mut t = _mm256_mul_ps(_mm256_mul_ps(dw, dx), _mm256_cvtepi32_ps(sums));
        if has_min {
            t = _mm256_add_ps(t, _mm256_mul_ps(mw, sx));
        }
        _mm256_add_ps(acc, t)
    }
}

/// The `R × C` tile: `out[r][c] = dot(w[r][..nb], x[c][..nb])`, every value bit-identical to
/// the scalar reference's dot of that pair (module docs).
///
/// # Safety
/// Every `w[r]` and `x[c]` must point to `nb` readable blocks; the CPU must support AVX2, FMA
/// and F16C.
#[inline(always)]
// Register tiles index several arrays by the same (row, column, block) counters.
#[allow(clippy::needless_range_loop)]
pub(in crate::arch::x86_64) unsafe fn tile<P: Q32Pair, const R: usize, const C: usize>(
    w: [*const P::W; R],
    x: [*const P::X; C],
    nb: usize,
) -> [[f32; C]; R] {
    // SAFETY: AVX2/F16C (caller contract); every block index used below is `< nb`, and the
    // caller guarantees `nb` readable blocks behind each pointer.
    unsafe {
        let zero = _mm256_setzero_si256();
        let mut acc = [[_mm256_setzero_ps(); C]; R];
        let mut b = 0usize;
        while b + 8 <= nb {
            let mut quads = [[[zero; 2]; C]; R];
            for q in 0..2 {
                let mut pairs = [[[zero; 2]; C]; R];
                for p in 0..2 {
                    let mut s = [[[zero; 2]; C]; R];
                    for k in 0..2 {
                        let blk = b + 4 * q + 2 * p + k;
                        let xp: [P::Xp; C] = core::array::from_fn(|c| P::prep_x(&*x[c].add(blk)));
                        for r in 0..R {
                            let wu = P::unpack_w(&*w[r].add(blk));
                            for c in 0..C {
                                s[r][c][k] = P::isum(wu, xp[c]);
                            }
                        }
                    }
                    for r in 0..R {
                        for c in 0..C {
                            pairs[r][c][p] = if P::TREE16 {
                                _mm256_hadd_epi16(s[r][c][0], s[r][c][1])
                            } else {
                                pair_sums(s[r][c][0], s[r][c][1])
                            };
                        }
                    }
                }
                for r in 0..R {
                    for c in 0..C {
                        quads[r][c][q] = if P::TREE16 {
                            let h = _mm256_hadd_epi16(pairs[r][c][0], pairs[r][c][1]);
                            _mm256_madd_epi16(h, _mm256_set1_epi16(1))
                        } else {
                            quad_sums(pairs[r][c][0], pairs[r][c][1])
                        };
                    }
                }
            }
            let xs: [(__m256, __m256); C] =
                core::array::from_fn(|c| scales8(P::HAS_MIN, x[c].add(b), 8, P::x_scales));
            for r in 0..R {
                let ws = scales8(P::HAS_MIN, w[r].add(b), 8, P::w_scales);
                for c in 0..C {
                    let sums = finish_sums8(quads[r][c][0], quads[r][c][1]);
                    acc[r][c] = add_terms(P::HAS_MIN, acc[r][c], sums, ws, xs[c]);
                }
            }
            b += 8;
        }
        let n = nb - b;
        if n > 0 {
            let mut s = [[[zero; 8]; C]; R];
            for k in 0..n {
                let xp: [P::Xp; C] = core::array::from_fn(|c| P::prep_x(&*x[c].add(b + k)));
                for r in 0..R {
                    let wu = P::unpack_w(&*w[r].add(b + k));
                    for c in 0..C {
                        let v = P::isum(wu, xp[c]);
                        s[r][c][k] = if P::TREE16 {
                            _mm256_madd_epi16(v, _mm256_set1_epi16(1))
                        } else {
                            v
                        };
                    }
                }
            }
            let xs: [(__m256, __m256); C] =
                core::array::from_fn(|c| scales8(P::HAS_MIN, x[c].add(b), n, P::x_scales));
            for r in 0..R {
                let ws = scales8(P::HAS_MIN, w[r].add(b), n, P::w_scales);
                for c in 0..C {
                    let sums = sums8(&s[r][c]);
                    acc[r][c] = add_terms(P::HAS_MIN, acc[r][c], sums, ws, xs[c]);
                }
            }
        }
        let mut out = [[0.0f32; C]; R];
        for r in 0..R {
            for c in 0..C {
                out[r][c] = reduce_lanes_ps(acc[r][c]);
            }
        }
        out
    }
}
