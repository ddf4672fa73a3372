//! AVX-512 multi-column products ("gemm"): `out[c · out_stride + r] = dot(w_r, x_c)` for every
//! weight row `r` and activation column `c` (see [`crate::kernels::gemm`] for the contract).
//!
//! # Math and bit-exactness
//!
//! The AVX2 tier's panel driver (`avx2::gemm::gemm`: row panels, column tiles, leftover rows
//! and columns, overlapping-column order, nothing panics) runs this tier's register tiles:
//! [`super::dot_q32`]'s 16-block `vpdpbusd` tiles, [`super::dot_k`]'s 512-bit K-format
//! integer parts and [`super::dot_float`]'s 16-lane float tiles. Every output is computed by
//! the same per-`(row, column)` code as this tier's row dot product (the `1 × 1` tile *is* the
//! dot) or by the AVX2 tier's per-column-table paths, all bit-exact with the scalar reference
//! for the integer formats, so any tiling gives the same bits.
//!
//! # Which kernel runs where
//!
//! Each choice below is the fastest kernel on the AVX-512 machine (`docs/avx512.md`).
//!
//! - Q4_0 / Q4_1, several columns (prefill): groups of sixteen rows ([`super::rows16_q32`]:
//!   the AVX2 tier's row octets widened to 512-bit `vpdpbusd`), then one group of eight
//!   (`avx2::octet_q32` with the EVEX 256-bit `vpdpbusd`, `EvexVnni`) for the rows left. Both
//!   beat this tier's VNNI tiles in 32-row panels, which they replaced.
//! - Q4_0 / Q4_1 / Q5_0, rows of at most 20480 elements: one column (decode) and the rows the
//!   octets leave (and Q5_0's 32-row panels) run the AVX2 tier's per-column-table kernels
//!   (`avx2::decode_q32`), compiled here with this tier's features: they stream and prefill
//!   faster than this tier's VNNI tiles, and a VNNI decode with a longer prefetch distance
//!   lost on several threads.
//! - Longer rows, Q8_0, and the leftovers: the VNNI tiles (well ahead of AVX2's tiles there).
//! - K formats: this tier's integer parts in the AVX2 tile loop, which stream closer to the
//!   bandwidth than AVX2's. For several columns, Q4_K and Q5_K take the AVX2 tier's row quads
//!   (`avx2::quad_k`), faster than this tier's tiles; Q6_K keeps this tier's tiles, which beat
//!   the quads there.
//!
//! # Tiling
//!
//! With 32 vector registers: the 32-element formats' VNNI tiles are `2 × 2` (an activation
//! matrix with its offset term is 3 registers, a weight matrix 2, and each `(row, column)` pair
//! holds up to 4 partial-sum vectors) and `2 × 1` for one column (each activation block serves
//! two rows); the K formats use the AVX2 tier's `1 × 4` (a super-block unpacks to 8 vectors plus
//! the mins and serves 4 columns) and `1 × 1` for decode; the float formats `1 × 2` (as AVX2).
//!
//! # Tails and lengths
//!
//! The driver's: as the scalar reference.

use super::dot_float::FloatW;
use super::dot_k::{Q4K, Q5K, Q6K};
use super::dot_q32::{Q32x16, Q4_0Q8_0, Q4_1Q8_1, Q5_0Q8_0, Q8_0Q8_0};
use crate::arch::x86_64::avx2::common::EvexVnni;
use crate::arch::x86_64::avx2::decode_q32::{self, DecodePair};
use crate::arch::x86_64::avx2::dot_k::{self as avx2_k, KFormat, KPairs};
use crate::arch::x86_64::avx2::dot_q32 as avx2_q32;
use crate::arch::x86_64::avx2::gemm::{gemm, Tile};
use crate::quant::*;
use core::marker::PhantomData;
use half::f16;

/// Tiles of a 32-element format pair.
struct Q32<P>(PhantomData<P>);
/// Tiles of a maddubs 32-element format pair `P` (this tier's 16-block VNNI tiles) with the
/// AVX2 tier's per-column-table paths `D` for one column (decode) and for the 32-row panels
/// (module docs: faster on the AVX-512 machine than the VNNI tiles).
struct Q32D<P, D>(PhantomData<(P, D)>);
/// Tiles of a K format.
struct K<F>(PhantomData<F>);

/// The 512-bit multi-column path of [`super::rows16_q32`] for the formats that have one.
trait Rows16: DecodePair {
    /// The whole groups of sixteen rows of a multi-column product; returns the rows done (a
    /// multiple of 16; 0 for formats without the path).
    ///
    /// # Safety
    /// As [`super::rows16_q32::gemm`].
    #[inline(always)]
    unsafe fn rows16(
        _w: *const Self::W,
        _x: *const Self::X,
        _bpr: usize,
        _rows: usize,
        _cols: usize,
        _out: &mut [f32],
        _stride: usize,
    ) -> usize {
        0
    }
}

macro_rules! rows16_formats {
    ($($pair:ty),+) => {$(
        impl Rows16 for $pair {
            #[inline(always)]
            unsafe fn rows16(
                w: *const Self::W,
                x: *const Self::X,
                bpr: usize,
                rows: usize,
                cols: usize,
                out: &mut [f32],
                stride: usize,
            ) -> usize {
                // SAFETY: forwarded caller contract.
                unsafe { super::rows16_q32::gemm::<Self>(w, x, bpr, rows, cols, out, stride) }
            }
        }
    )+};
}

rows16_formats!(avx2_q32::Q4_0Q8_0, avx2_q32::Q4_1Q8_1);
impl Rows16 for avx2_q32::Q5_0Q8_0 {}
/// Tiles of a K format `F` (this tier's integer parts) with the AVX2 tier's row quads `Q`
/// ([`crate::arch::x86_64::avx2::quad_k`]) for the whole quads of rows of a multi-column
/// product (module docs).
struct KQ<F, Q>(PhantomData<(F, Q)>);
/// Tiles of a float format.
struct Float<W>(PhantomData<W>);

impl<W: FloatW> Tile for Float<W> {
    type W = W;
    type X = f32;
    #[inline(always)]
    unsafe fn tile<const R: usize, const C: usize>(
        w: [*const W; R],
        x: [*const f32; C],
        nb: usize,
    ) -> [[f32; C]; R] {
        // SAFETY: forwarded caller contract (this tier's callers run with its features).
        unsafe { super::dot_float::tile::<W, R, C>(w, x, nb) }
    }
}

impl<P: Q32x16> Tile for Q32<P> {
    type W = P::W;
    type X = P::X;
    #[inline(always)]
    unsafe fn tile<const R: usize, const C: usize>(
        w: [*const P::W; R],
        x: [*const P::X; C],
        nb: usize,
    ) -> [[f32; C]; R] {
        // SAFETY: forwarded caller contract (this tier's callers run with its features).
        unsafe { super::dot_q32::tile::<P, R, C>(w, x, nb) }
    }
}

impl<P: Q32x16, D: Rows16 + DecodePair<W = P::W, X = P::X>> Tile for Q32D<P, D> {
    type W = P::W;
    type X = P::X;
    #[inline(always)]
    unsafe fn tile<const R: usize, const C: usize>(
        w: [*const P::W; R],
        x: [*const P::X; C],
        nb: usize,
    ) -> [[f32; C]; R] {
        // SAFETY: forwarded caller contract (this tier's callers run with its features).
        unsafe { super::dot_q32::tile::<P, R, C>(w, x, nb) }
    }
    #[inline(always)]
    unsafe fn decode(
        w: *const P::W,
        x: *const P::X,
        bpr: usize,
        rows: usize,
        out: &mut [f32],
    ) -> bool {
        // SAFETY: forwarded caller contract (AVX2 + FMA + F16C are part of this tier).
        unsafe { decode_q32::decode::<D>(w, x, bpr, rows, out) }
    }
    #[inline(always)]
    unsafe fn gemm_fast(
        w: *const P::W,
        x: *const P::X,
        bpr: usize,
        rows: usize,
        cols: usize,
        out: &mut [f32],
        stride: usize,
    ) -> usize {
        // SAFETY: forwarded caller contract (AVX2 + FMA + F16C + AVX-512 VNNI/VL are part of
        // this tier; `stride >= rows`, `out` long enough: the driver checked both); the
        // remaining rows start `done` rows further in `w` and `out`.
        unsafe {
            let mut done = D::rows16(w, x, bpr, rows, cols, out, stride);
            if done < rows {
                done += D::row_groups::<EvexVnni>(
                    w.add(done * bpr),
                    x,
                    bpr,
                    rows - done,
                    cols,
                    out.get_unchecked_mut(done..),
                    stride,
                );
            }
            if done < rows
                && decode_q32::gemm::<D, 4>(
                    w.add(done * bpr),
                    x,
                    bpr,
                    rows - done,
                    cols,
                    out.get_unchecked_mut(done..),
                    stride,
                )
            {
                return rows;
            }
            done
        }
    }
}

impl<F: KFormat> Tile for K<F> {
    type W = F::W;
    type X = BlockQ8K;
    #[inline(always)]
    unsafe fn tile<const R: usize, const C: usize>(
        w: [*const F::W; R],
        x: [*const BlockQ8K; C],
        nb: usize,
    ) -> [[f32; C]; R] {
        // SAFETY: forwarded caller contract (this tier's callers run with its features).
        unsafe { crate::arch::x86_64::avx2::dot_k::tile::<F, R, C>(w, x, nb) }
    }
}

impl<F: KFormat, Q: KPairs<W = F::W>> Tile for KQ<F, Q> {
    type W = F::W;
    type X = BlockQ8K;
    #[inline(always)]
    unsafe fn tile<const R: usize, const C: usize>(
        w: [*const F::W; R],
        x: [*const BlockQ8K; C],
        nb: usize,
    ) -> [[f32; C]; R] {
        // SAFETY: forwarded caller contract (this tier's callers run with its features).
        unsafe { crate::arch::x86_64::avx2::dot_k::tile::<F, R, C>(w, x, nb) }
    }
    #[inline(always)]
    unsafe fn gemm_fast(
        w: *const F::W,
        x: *const BlockQ8K,
        bpr: usize,
        rows: usize,
        cols: usize,
        out: &mut [f32],
        stride: usize,
    ) -> usize {
        // SAFETY: forwarded caller contract (AVX2 + FMA + F16C are part of this tier).
        unsafe { Q::quads(w, x, bpr, rows, cols, out, stride) }
    }
}

macro_rules! avx512_gemm {
    ($($name:ident, $inner:ident: $tile:ty, $w:ty, $x:ty, RD = $rd:literal, R = $r:literal, C = $c:literal;)+) => {$(
        #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
        fn $inner(w: &[$w], x: &[$x], bpr: usize, out: &mut [f32], stride: usize) {
            // SAFETY: the features are enabled in this function (a superset of the driver's
            // AVX2 + FMA + F16C; the tiles need the AVX-512 ones).
            unsafe { gemm::<$tile, $rd, $r, $c>(w, x, bpr, out, stride) }
        }

        #[doc = concat!("AVX-512 [`crate::kernels::gemm::", stringify!($name), "`] (module docs).")]
        pub(crate) fn $name(w: &[$w], x: &[$x], bpr: usize, out: &mut [f32], stride: usize) {
            // SAFETY: reachable only through `avx512::kernels()` (CPU features checked).
            unsafe { $inner(w, x, bpr, out, stride) }
        }
    )+};
}

avx512_gemm! {
    gemm_q4_0_q8_0, gemm_q4_0_q8_0_avx512: Q32D<Q4_0Q8_0, avx2_q32::Q4_0Q8_0>, BlockQ4_0, BlockQ8_0, RD = 2, R = 2, C = 2;
    gemm_q4_1_q8_1, gemm_q4_1_q8_1_avx512: Q32D<Q4_1Q8_1, avx2_q32::Q4_1Q8_1>, BlockQ4_1, BlockQ8_1, RD = 2, R = 2, C = 2;
    gemm_q5_0_q8_0, gemm_q5_0_q8_0_avx512: Q32D<Q5_0Q8_0, avx2_q32::Q5_0Q8_0>, BlockQ5_0, BlockQ8_0, RD = 2, R = 2, C = 2;
    gemm_q8_0_q8_0, gemm_q8_0_q8_0_avx512: Q32<Q8_0Q8_0>, BlockQ8_0, BlockQ8_0, RD = 2, R = 2, C = 2;
    gemm_q4_k_q8_k, gemm_q4_k_q8_k_avx512: KQ<Q4K, avx2_k::Q4K>, BlockQ4K, BlockQ8K, RD = 1, R = 1, C = 4;
    gemm_q5_k_q8_k, gemm_q5_k_q8_k_avx512: KQ<Q5K, avx2_k::Q5K>, BlockQ5K, BlockQ8K, RD = 1, R = 1, C = 4;
    gemm_q6_k_q8_k, gemm_q6_k_q8_k_avx512: K<Q6K>, BlockQ6K, BlockQ8K, RD = 1, R = 1, C = 4;
    gemm_f16_f32, gemm_f16_f32_avx512: Float<f16>, f16, f32, RD = 1, R = 1, C = 2;
    gemm_f32_f32, gemm_f32_f32_avx512: Float<f32>, f32, f32, RD = 1, R = 1, C = 2;
}
