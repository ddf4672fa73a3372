//! AVX-512 (VNNI) integer dot products of the 32-element formats: Q4_0·Q8_0, Q4_1·Q8_1,
//! Q5_0·Q8_0 and Q8_0·Q8_0, bit-exact with [`crate::kernels::dot`], as `R × C` register tiles
//! (rows × columns) shared by the row dot products (`1 × 1`) and the gemms ([`super::gemm`]).
//!
//! # Math
//!
//! Per block `b`: an exact `i32` integer sum `isum_b`, then the scalar reference's float term
//! `(d_w · d_x) · (isum_b as f32)` (+ `m_w · s_x` for Q4_1) as separately rounded `vmulps` /
//! `vaddps` (no FMA), added to accumulator lane `b % 8` of an 8-lane accumulator; the row
//! result is the frame's `reduce_lanes_ps` of it. Same operations, same order as the scalar
//! reference, hence the same bits.
//!
//! Integer parts, with `vpdpbusd` (unsigned bytes × signed bytes, 4 products summed into each
//! `i32` lane; never saturates or wraps here: `|Σ| ≤ 32 · 255 · 128 < 2^21`): every weight
//! format is brought to unsigned bytes `u = q + OFFSET` and
//! `isum = Σ u·x − OFFSET · Σ x`:
//! - Q4_0: `u` = the nibble (0..16), `OFFSET` = 8;
//! - Q4_1: `u` = the nibble, no offset (its formula has none);
//! - Q5_0: `u` = nibble `+ 16 ·` bit (the bits become a 64-bit mask register; one masked byte
//!   add), `OFFSET` = 16;
//! - Q8_0: `u = w + 128` (`w ^ 0x80`), `OFFSET` = 128 (`|128 · Σx| ≤ 2^19`).
//!
//! `− OFFSET · Σx` is per activation block (`vpdpbusd` of the broadcast offset byte with `x`),
//! computed once per column and used as the *initial* accumulator of that block's two
//! `vpdpbusd`, so it costs nothing per row.
//!
//! # Layout: 16 blocks as four 4-block matrices
//!
//! A step handles 16 blocks. Matrix `m` (0..4) puts block `4j + m` in 128-bit lane `j`: the
//! weight vector `lo` holds its elements 0..16 (the low nibbles / first 16 bytes), `hi` its
//! elements 16..32; the activation vectors hold the same elements of the same blocks (two
//! 32-byte loads and two `vshufi64x2` per matrix). Two `vpdpbusd` per matrix leave block
//! `4j + m`'s sum spread over the 4 `i32` of lane `j`. A transposition-add
//! (`vpunpck{l,h}dq` + add, `vpunpck{l,h}qdq` + add) of the four matrices puts the full sum of
//! block `k` in `i32` lane `k`, in block order. The 16 float terms are then formed in one
//! 512-bit vector and added to the 8-lane accumulator low half first, then high half: blocks
//! `b..b+8` then `b+8..b+16`, which is lane `b % 8` in block order, as the contract says.
//!
//! # Accumulators, reuse
//!
//! Per `(row, column)` one `f32x8` accumulator. Each activation matrix (with its offset term) is
//! prepared once per tile and serves the tile's `R` rows; each weight matrix is unpacked once
//! and serves the `C` columns. Scales (f16) of 16 blocks are gathered in general-purpose
//! registers and converted with one `vcvtph2ps`.
//!
//! # Tails
//!
//! The last `nb % 16` blocks are copied into zero-padded 16-block buffers on the stack (at most
//! `16 · 36` bytes per row / column) and run through the same step: a zero block has zero
//! scales, so its term is `(0 · 0) · 0 = +0`, and adding `+0` never changes an accumulator
//! (which starts at `+0` and never becomes `−0`). Length checks are in the safe wrappers: the
//! common block prefix, like the scalar `zip`.

use crate::arch::x86_64::frame::common::{prefetch_ahead, reduce_lanes_ps};
use crate::quant::{BlockQ4_0, BlockQ4_1, BlockQ5_0, BlockQ8_0, BlockQ8_1};
use core::arch::x86_64::*;
use half::f16;

/// One pairing of a 32-element weight format with its activation format, seen 16 blocks at a
/// time (module docs).
pub(super) trait Q32x16 {
    /// Weight block.
    type W: Copy;
    /// Activation block.
    type X: Copy;
    /// Whether the term has the `m_w · s_x` part (Q4_1).
    const HAS_MIN: bool;
    /// An all-zero weight block (tail padding).
    const ZERO_W: Self::W;
    /// An all-zero activation block (tail padding).
    const ZERO_X: Self::X;
    /// Weight matrix `m` of the 16 blocks at `w`: `(lo, hi)` unsigned bytes, lane `j` holding
    /// elements 0..16 / 16..32 of block `4j + m`.
    ///
    /// # Safety
    /// `w` must point to 16 readable blocks; the CPU must support AVX-512 F/BW.
    unsafe fn unpack_w(w: *const Self::W, m: usize) -> (__m512i, __m512i);
    /// Activation matrix `m` of the 16 blocks at `x`: `(lo, hi, init)`, the quants laid out as
    /// [`Q32x16::unpack_w`]'s and the accumulator start `−OFFSET · Σx` (as lane partial sums).
    ///
    /// # Safety
    /// `x` must point to 16 readable blocks; the CPU must support AVX-512 F/BW/VNNI.
    unsafe fn prep_x(x: *const Self::X, m: usize) -> (__m512i, __m512i, __m512i);
    /// `(d, m)` f16 bits of the weight block (`m = 0` without a min).
    fn w_scales(w: &Self::W) -> (u16, u16);
    /// `(d, s)` f16 bits of the activation block (`s = 0` without a sum).
    fn x_scales(x: &Self::X) -> (u16, u16);
}

/// Q4_0 · Q8_0.
pub(super) struct Q4_0Q8_0;
/// Q4_1 · Q8_1.
pub(super) struct Q4_1Q8_1;
/// Q5_0 · Q8_0.
pub(super) struct Q5_0Q8_0;
/// Q8_0 · Q8_0.
pub(super) struct Q8_0Q8_0;

/// The 16-byte runs at `p + k · stride` for `k = m, 4 + m, 8 + m, 12 + m` in lanes 0..4.
///
/// # Safety
/// The four runs must be readable; the CPU must support AVX-512 F.
#[inline(always)]
unsafe fn gather_lanes16(p: *const u8, stride: usize, m: usize) -> __m512i {
    // SAFETY: the four 16-byte runs are readable (caller contract); unaligned loads.
    unsafe {
        let ld = |k: usize| p.add((4 * k + m) * stride).cast::<__m128i>();
        let v = _mm512_castsi128_si512(_mm_loadu_si128(ld(0)));
        let v = _mm512_inserti32x4::<1>(v, _mm_loadu_si128(ld(1)));
        let v = _mm512_inserti32x4::<2>(v, _mm_loadu_si128(ld(2)));
        _mm512_inserti32x4::<3>(v, _mm_loadu_si128(ld(3)))
    }
}

/// The 32-byte runs at `p + k · stride` for `k = m, 4 + m, 8 + m, 12 + m`, split into
/// `(lo, hi)`: lane `j` of `lo` = the first 16 bytes of run `4j + m`, of `hi` the last 16.
///
/// # Safety
/// The four runs must be readable; the CPU must support AVX-512 F.
#[inline(always)]
unsafe fn gather_halves32(p: *const u8, stride: usize, m: usize) -> (__m512i, __m512i) {
    // SAFETY: the four 32-byte runs are readable (caller contract); unaligned loads.
    unsafe {
        let ld = |k: usize| p.add((4 * k + m) * stride).cast::<__m256i>();
        let a = _mm512_inserti64x4::<1>(
            _mm512_castsi256_si512(_mm256_loadu_si256(ld(0))),
            _mm256_loadu_si256(ld(1)),
        );
        let b = _mm512_inserti64x4::<1>(
            _mm512_castsi256_si512(_mm256_loadu_si256(ld(2))),
            _mm256_loadu_si256(ld(3)),
        );
        // Lanes [a0, a2, b0, b2] and [a1, a3, b1, b3].
        (
            _mm512_shuffle_i64x2::<0b10_00_10_00>(a, b),
            _mm512_shuffle_i64x2::<0b11_01_11_01>(a, b),
        )
    }
}

/// Low and high nibbles of 64 packed bytes.
///
/// # Safety
/// The CPU must support AVX-512 F/BW.
#[inline(always)]
unsafe fn split_nibbles(v: __m512i) -> (__m512i, __m512i) {
    // SAFETY: AVX-512 (caller contract); register-only.
    unsafe {
        let m4 = _mm512_set1_epi8(0x0F);
        (
            _mm512_and_si512(v, m4),
            _mm512_and_si512(_mm512_srli_epi16::<4>(v), m4),
        )
    }
}

/// `(lo, hi, −offset · Σx)` of activation matrix `m` (32-byte quants at offset `qs` in blocks
/// of `stride` bytes); `offset == 0` gives a zero start.
///
/// # Safety
/// 16 blocks must be readable at `p`; the CPU must support AVX-512 F/BW/VNNI.
#[inline(always)]
unsafe fn prep_x8(
    p: *const u8,
    stride: usize,
    m: usize,
    offset: i8,
) -> (__m512i, __m512i, __m512i) {
    // SAFETY: forwarded caller contract; register arithmetic otherwise.
    unsafe {
        let (lo, hi) = gather_halves32(p, stride, m);
        let zero = _mm512_setzero_si512();
        if offset == 0 {
            return (lo, hi, zero);
        }
        let o = _mm512_set1_epi8(offset);
        let sx = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(zero, o, lo), o, hi);
        (lo, hi, _mm512_sub_epi32(zero, sx))
    }
}

/// Byte offset of field `qs` in the activation blocks.
const Q8_0_QS: usize = core::mem::offset_of!(BlockQ8_0, qs);
const Q8_1_QS: usize = core::mem::offset_of!(BlockQ8_1, qs);

impl Q32x16 for Q4_0Q8_0 {
    type W = BlockQ4_0;
    type X = BlockQ8_0;
    const HAS_MIN: bool = false;
    const ZERO_W: BlockQ4_0 = BlockQ4_0 {
        d: f16::ZERO,
        qs: [0; 16],
    };
    const ZERO_X: BlockQ8_0 = BlockQ8_0 {
        d: f16::ZERO,
        qs: [0; 32],
    };
    #[inline(always)]
    unsafe fn unpack_w(w: *const BlockQ4_0, m: usize) -> (__m512i, __m512i) {
        // SAFETY: 16 readable blocks (caller contract); `qs` is 16 bytes inside each.
        unsafe {
            let p = w.cast::<u8>().add(core::mem::offset_of!(BlockQ4_0, qs));
            split_nibbles(gather_lanes16(p, size_of::<BlockQ4_0>(), m))
        }
    }
    #[inline(always)]
    unsafe fn prep_x(x: *const BlockQ8_0, m: usize) -> (__m512i, __m512i, __m512i) {
        // SAFETY: 16 readable blocks (caller contract); `qs` is 32 bytes inside each.
        unsafe { prep_x8(x.cast::<u8>().add(Q8_0_QS), size_of::<BlockQ8_0>(), m, 8) }
    }
    #[inline(always)]
    fn w_scales(w: &BlockQ4_0) -> (u16, u16) {
        (w.d.to_bits(), 0)
    }
    #[inline(always)]
    fn x_scales(x: &BlockQ8_0) -> (u16, u16) {
        (x.d.to_bits(), 0)
    }
}

impl Q32x16 for Q4_1Q8_1 {
    type W = BlockQ4_1;
    type X = BlockQ8_1;
    const HAS_MIN: bool = true;
    const ZERO_W: BlockQ4_1 = BlockQ4_1 {
        d: f16::ZERO,
        m: f16::ZERO,
        qs: [0; 16],
    };
    const ZERO_X: BlockQ8_1 = BlockQ8_1 {
        d: f16::ZERO,
        s: f16::ZERO,
        qs: [0; 32],
    };
    #[inline(always)]
    unsafe fn unpack_w(w: *const BlockQ4_1, m: usize) -> (__m512i, __m512i) {
        // SAFETY: 16 readable blocks (caller contract); `qs` is 16 bytes inside each.
        unsafe {
            let p = w.cast::<u8>().add(core::mem::offset_of!(BlockQ4_1, qs));
            split_nibbles(gather_lanes16(p, size_of::<BlockQ4_1>(), m))
        }
    }
    #[inline(always)]
    unsafe fn prep_x(x: *const BlockQ8_1, m: usize) -> (__m512i, __m512i, __m512i) {
        // SAFETY: 16 readable blocks (caller contract); `qs` is 32 bytes inside each.
        unsafe { prep_x8(x.cast::<u8>().add(Q8_1_QS), size_of::<BlockQ8_1>(), m, 0) }
    }
    #[inline(always)]
    fn w_scales(w: &BlockQ4_1) -> (u16, u16) {
        (w.d.to_bits(), w.m.to_bits())
    }
    #[inline(always)]
    fn x_scales(x: &BlockQ8_1) -> (u16, u16) {
        (x.d.to_bits(), x.s.to_bits())
    }
}

impl Q32x16 for Q5_0Q8_0 {
    type W = BlockQ5_0;
    type X = BlockQ8_0;
    const HAS_MIN: bool = false;
    const ZERO_W: BlockQ5_0 = BlockQ5_0 {
        d: f16::ZERO,
        qh: [0; 4],
        qs: [0; 16],
    };
    const ZERO_X: BlockQ8_0 = BlockQ8_0 {
        d: f16::ZERO,
        qs: [0; 32],
    };
    #[inline(always)]
    unsafe fn unpack_w(w: *const BlockQ5_0, m: usize) -> (__m512i, __m512i) {
        // SAFETY: 16 readable blocks (caller contract); `qs` is 16 bytes inside each.
        unsafe {
            let p = w.cast::<u8>().add(core::mem::offset_of!(BlockQ5_0, qs));
            let (lo, hi) = split_nibbles(gather_lanes16(p, size_of::<BlockQ5_0>(), m));
            // Bit `l` of block `4j + m`'s `qh` is the fifth bit of element `l`: bits 0..16 go
            // to byte `16j + l` of `lo`, bits 16..32 to byte `16j + l − 16` of `hi`.
            let mut k_lo = 0u64;
            let mut k_hi = 0u64;
            for j in 0..4 {
                let qh = u64::from(u32::from_le_bytes((*w.add(4 * j + m)).qh));
                k_lo |= (qh & 0xFFFF) << (16 * j);
                k_hi |= (qh >> 16) << (16 * j);
            }
            let sixteen = _mm512_set1_epi8(16);
            (
                _mm512_mask_add_epi8(lo, k_lo, lo, sixteen),
                _mm512_mask_add_epi8(hi, k_hi, hi, sixteen),
            )
        }
    }
    #[inline(always)]
    unsafe fn prep_x(x: *const BlockQ8_0, m: usize) -> (__m512i, __m512i, __m512i) {
        // SAFETY: 16 readable blocks (caller contract); `qs` is 32 bytes inside each.
        unsafe { prep_x8(x.cast::<u8>().add(Q8_0_QS), size_of::<BlockQ8_0>(), m, 16) }
    }
    #[inline(always)]
    fn w_scales(w: &BlockQ5_0) -> (u16, u16) {
        (w.d.to_bits(), 0)
    }
    #[inline(always)]
    fn x_scales(x: &BlockQ8_0) -> (u16, u16) {
        (x.d.to_bits(), 0)
    }
}

impl Q32x16 for Q8_0Q8_0 {
    type W = BlockQ8_0;
    type X = BlockQ8_0;
    const HAS_MIN: bool = false;
    const ZERO_W: BlockQ8_0 = BlockQ8_0 {
        d: f16::ZERO,
        qs: [0; 32],
    };
    const ZERO_X: BlockQ8_0 = BlockQ8_0 {
        d: f16::ZERO,
        qs: [0; 32],
    };
    #[inline(always)]
    unsafe fn unpack_w(w: *const BlockQ8_0, m: usize) -> (__m512i, __m512i) {
        // SAFETY: 16 readable blocks (caller contract); `qs` is 32 bytes inside each.
        unsafe {
            let (lo, hi) = gather_halves32(w.cast::<u8>().add(Q8_0_QS), size_of::<BlockQ8_0>(), m);
            // Signed → unsigned: w + 128.
            let flip = _mm512_set1_epi8(-128);
            (_mm512_xor_si512(lo, flip), _mm512_xor_si512(hi, flip))
        }
    }
    #[inline(always)]
    unsafe fn prep_x(x: *const BlockQ8_0, m: usize) -> (__m512i, __m512i, __m512i) {
        // SAFETY: 16 readable blocks (caller contract); `qs` is 32 bytes inside each. The
        // offset byte −128 read as unsigned by `vpdpbusd` is 128.
        unsafe { prep_x8(x.cast::<u8>().add(Q8_0_QS), size_of::<BlockQ8_0>(), m, -128) }
    }
    #[inline(always)]
    fn w_scales(w: &BlockQ8_0) -> (u16, u16) {
        (w.d.to_bits(), 0)
    }
    #[inline(always)]
    fn x_scales(x: &BlockQ8_0) -> (u16, u16) {
        (x.d.to_bits(), 0)
    }
}

/// Sixteen f16 bit patterns `f(block k)`, `k < 16`, as `f32x16` (exact `vcvtph2ps`), assembled
/// in general-purpose registers.
///
/// # Safety
/// `p` must point to 16 readable blocks; the CPU must support AVX-512 F.
#[inline(always)]
unsafe fn f16x16<B>(p: *const B, f: impl Fn(&B) -> u16) -> __m512 {
    // SAFETY: only blocks `k < 16` are read (caller contract).
    unsafe {
        let g = |k: usize| u64::from(f(&*p.add(k)));
        let q = |k: usize| g(k) | (g(k + 1) << 16) | (g(k + 2) << 32) | (g(k + 3) << 48);
        let v = _mm256_set_epi64x(q(12) as i64, q(8) as i64, q(4) as i64, q(0) as i64);
        _mm512_cvtph_ps(v)
    }
}

/// `(d, m)` scale vectors of 16 blocks (`m` zero for formats without a second scale).
///
/// # Safety
/// `p` must point to 16 readable blocks; the CPU must support AVX-512 F.
#[inline(always)]
unsafe fn scales16<B>(
    has_min: bool,
    p: *const B,
    f: impl Fn(&B) -> (u16, u16),
) -> (__m512, __m512) {
    // SAFETY: forwarded caller contract.
    unsafe {
        let d = f16x16(p, |b| f(b).0);
        let m = if has_min {
            f16x16(p, |b| f(b).1)
        } else {
            _mm512_setzero_ps()
        };
        (d, m)
    }
}

/// From the pair-interleaved partial sums of matrices `(a, b)`: per 128-bit lane
/// `[a0 + a2, b0 + b2, a1 + a3, b1 + b3]`.
///
/// # Safety
/// The CPU must support AVX-512 F.
#[inline(always)]
unsafe fn pair_fold(a: __m512i, b: __m512i) -> __m512i {
    // SAFETY: AVX-512 F (caller contract); register-only.
    unsafe { _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b)) }
}

/// From [`pair_fold`] of matrices (0, 1) and (2, 3): `i32` lane `4j + m` = the sum of lane `j`
/// of matrix `m`, i.e. block `4j + m`'s integer sum.
///
/// # Safety
/// The CPU must support AVX-512 F.
#[inline(always)]
unsafe fn quad_fold(p01: __m512i, p23: __m512i) -> __m512i {
    // SAFETY: AVX-512 F (caller contract); register-only.
    unsafe {
        _mm512_add_epi32(
            _mm512_unpacklo_epi64(p01, p23),
            _mm512_unpackhi_epi64(p01, p23),
        )
    }
}

/// One step of 16 blocks for the whole tile (module docs).
///
/// # Safety
/// Every `w[r]` / `x[c]` must point to 16 readable blocks; the CPU must support AVX-512
/// F/BW/VL/VNNI and F16C.
#[inline(always)]
#[allow(clippy::needless_range_loop)]
unsafe fn step<P: Q32x16, const R: usize, const C: usize>(
    acc: &mut [[__m256; C]; R],
    w: [*const P::W; R],
    x: [*const P::X; C],
) {
    // SAFETY: 16 readable blocks behind every pointer (caller contract); CPU features per the
    // caller.
    unsafe {
        let zero = _mm512_setzero_si512();
        let mut pairs = [[[zero; 2]; C]; R];
        for half in 0..2 {
            let mut s = [[[zero; 2]; C]; R];
            for k in 0..2 {
                let m = 2 * half + k;
                let mut xm = [(zero, zero, zero); C];
                for c in 0..C {
                    xm[c] = P::prep_x(x[c], m);
                }
                for r in 0..R {
                    let (lo, hi) = P::unpack_w(w[r], m);
                    for c in 0..C {
                        let (xl, xh, init) = xm[c];
                        s[r][c][k] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(init, lo, xl), hi, xh);
                    }
                }
            }
            for r in 0..R {
                for c in 0..C {
                    pairs[r][c][half] = pair_fold(s[r][c][0], s[r][c][1]);
                }
            }
        }
        let mut xs = [(_mm512_setzero_ps(), _mm512_setzero_ps()); C];
        for c in 0..C {
            xs[c] = scales16(P::HAS_MIN, x[c], P::x_scales);
        }
        for r in 0..R {
            let (dw, mw) = scales16(P::HAS_MIN, w[r], P::w_scales);
            for c in 0..C {
                let (dx, sx) = xs[c];
                let sums = quad_fold(pairs[r][c][0], pairs[r][c][1]);
                let mut t = _mm512_mul_ps(_mm512_mul_ps(dw, dx), _mm512_cvtepi32_ps(sums));
                if P::HAS_MIN {
                    t = _mm512_add_ps(t, _mm512_mul_ps(mw, sx));
                }
                // Blocks 0..8 of the step, then 8..16: lane `b % 8` in block order.
                let lo = _mm512_castps512_ps256(t);
                let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(t)));
                acc[r][c] = _mm256_add_ps(_mm256_add_ps(acc[r][c], lo), hi);
            }
        }
    }
}

/// The `R × C` tile: `out[r][c] = dot(w[r][..nb], x[c][..nb])`, every value bit-identical to
/// the scalar reference's dot of that pair (module docs).
///
/// # Safety
/// Every `w[r]` and `x[c]` must point to `nb` readable blocks; the CPU must support AVX2, FMA,
/// F16C and AVX-512 F/BW/VL/VNNI.
#[inline(always)]
#[allow(clippy::needless_range_loop)]
pub(super) unsafe fn tile<P: Q32x16, const R: usize, const C: usize>(
    w: [*const P::W; R],
    x: [*const P::X; C],
    nb: usize,
) -> [[f32; C]; R] {
    // SAFETY: every block index used below is `< nb` (or inside the local padded buffers),
    // and the caller guarantees `nb` readable blocks behind each pointer; CPU features per the
    // caller.
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); C]; R];
        let mut b = 0usize;
        while b + 16 <= nb {
            let mut wp = w;
            for r in 0..R {
                wp[r] = w[r].add(b);
                prefetch_ahead(wp[r].cast(), 16 * size_of::<P::W>());
            }
            let mut xp = x;
            for c in 0..C {
                xp[c] = x[c].add(b);
            }
            step::<P, R, C>(&mut acc, wp, xp);
            b += 16;
        }
        let n = nb - b;
        if n > 0 {
            let mut wbuf = [[P::ZERO_W; 16]; R];
            let mut xbuf = [[P::ZERO_X; 16]; C];
            for r in 0..R {
                core::ptr::copy_nonoverlapping(w[r].add(b), wbuf[r].as_mut_ptr(), n);
            }
            for c in 0..C {
                core::ptr::copy_nonoverlapping(x[c].add(b), xbuf[c].as_mut_ptr(), n);
            }
            let mut wp = w;
            for r in 0..R {
                wp[r] = wbuf[r].as_ptr();
            }
            let mut xp = x;
            for c in 0..C {
                xp[c] = xbuf[c].as_ptr();
            }
            step::<P, R, C>(&mut acc, wp, xp);
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

/// The row dot product of a pair: the `1 × 1` tile over the common block prefix.
///
/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI.
#[inline(always)]
unsafe fn dot<P: Q32x16>(w: &[P::W], x: &[P::X]) -> f32 {
    let nb = w.len().min(x.len());
    // SAFETY: both slices hold at least `nb` blocks; CPU features per the caller.
    let [[v]] = unsafe { tile::<P, 1, 1>([w.as_ptr()], [x.as_ptr()], nb) };
    v
}

macro_rules! avx512_dot {
    ($($name:ident, $inner:ident: $pair:ty, $w:ty, $x:ty;)+) => {$(
        /// # Safety
        /// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI.
        #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
        unsafe fn $inner(w: &[$w], x: &[$x]) -> f32 {
            // SAFETY: the features are enabled in this function.
            unsafe { dot::<$pair>(w, x) }
        }

        #[doc = concat!("AVX-512 [`crate::kernels::dot::", stringify!($name), "`] (bit-exact).")]
        pub(crate) fn $name(w: &[$w], x: &[$x]) -> f32 {
            // SAFETY: reachable only through `avx512::kernels()` (CPU features checked).
            unsafe { $inner(w, x) }
        }
    )+};
}

avx512_dot! {
    dot_q4_0_q8_0, dot_q4_0_q8_0_avx512: Q4_0Q8_0, BlockQ4_0, BlockQ8_0;
    dot_q4_1_q8_1, dot_q4_1_q8_1_avx512: Q4_1Q8_1, BlockQ4_1, BlockQ8_1;
    dot_q5_0_q8_0, dot_q5_0_q8_0_avx512: Q5_0Q8_0, BlockQ5_0, BlockQ8_0;
    dot_q8_0_q8_0, dot_q8_0_q8_0_avx512: Q8_0Q8_0, BlockQ8_0, BlockQ8_0;
}
