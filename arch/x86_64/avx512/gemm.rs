//! AVX-512 multi-column products ("gemm"): `out[c · out_stride + r] = dot(w_r, x_c)` for every
//! weight row `r` and activation column `c` (see [`crate::kernels::gemm`] for the contract).
//!
//! The table at the bottom lists one entry per format: its tiles, its stage kernels, its tile
//! sizes. Each entry asks [`super::select::gemm_path`] for the path of the call (which kernels
//! run where, and why: that module's docs) and runs it with the frame's driver
//! ([`crate::arch::x86_64::frame::driver`]: row panels, column tiles, leftover rows and
//! columns, overlapping-column order, nothing panics).
//!
//! # Math and bit-exactness
//!
//! The driver runs this tier's register tiles: [`super::dot_q32`]'s 16-block `vpdpbusd` tiles,
//! [`super::dot_k`]'s 512-bit K-format integer parts and [`super::dot_float`]'s 16-lane float
//! tiles. Every output is computed by the same per-`(row, column)` code as this tier's row dot
//! product (the `1 × 1` tile *is* the dot) or by the frame's 256-bit per-column-table, octet
//! and quad kernels, all bit-exact with the scalar reference (for the float formats through
//! the float order of [`crate::kernels::float`], 16 FMA lanes per `(row, column)` pair), so
//! any tiling gives the same bits.
//!
//! # Tiling
//!
//! With 32 vector registers: the 32-element formats' VNNI tiles are `2 × 2` (an activation
//! matrix with its offset term is 3 registers, a weight matrix 2, and each `(row, column)` pair
//! holds up to 4 partial-sum vectors) and `2 × 1` for one column (each activation block serves
//! two rows); the K formats use `1 × 4` as the AVX2 tier (a super-block unpacks to 8 vectors plus
//! the mins and serves 4 columns) and `1 × 1` for decode; the float formats `1 × 2` (as AVX2).
//!
//! # Tails and lengths
//!
//! The driver's: as the scalar reference.

use super::dot_float::FloatW;
use super::dot_k::{Q4K, Q5K, Q6K};
use super::dot_q32::{Q32x16, Q4_0Q8_0, Q4_1Q8_1, Q5_0Q8_0, Q8_0Q8_0};
use super::q32_sixteens::Q32Sixteens;
use super::select::gemm_path;
use crate::arch::x86_64::frame::driver::{gemm, Format, Tile, TilesOnly};
use crate::arch::x86_64::frame::q32 as q32_256;
use crate::arch::x86_64::frame::stages::{K4Quads, KTile, Q32Tables};
use crate::quant::*;
use core::marker::PhantomData;
use half::f16;

/// Tiles of a 32-element format pair ([`super::dot_q32::tile`]: 16 blocks per `vpdpbusd` step).
struct Q32<P>(PhantomData<P>);
/// Tiles of a float format ([`super::dot_float::tile`]).
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

macro_rules! avx512_gemm {
    ($($name:ident, $body:ident: $format:ident, $tile:ty, $stages:ty, $w:ty, $x:ty, RD = $rd:literal, R = $r:literal, C = $c:literal;)+) => {$(
        /// # Safety
        /// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI.
        #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
        unsafe fn $body(w: &[$w], x: &[$x], bpr: usize, out: &mut [f32], stride: usize) {
            let path = gemm_path(Format::$format, x.len().checked_div(bpr).unwrap_or(0), bpr);
            // SAFETY: the features are enabled in this function (a superset of the frame's
            // AVX2 + FMA + F16C; the tiles need the AVX-512 ones).
            unsafe { gemm::<$tile, $stages, $rd, $r, $c>(path, w, x, bpr, out, stride) }
        }

        #[doc = concat!("AVX-512 [`crate::kernels::gemm::", stringify!($name), "`] (module docs).")]
        pub(crate) fn $name(w: &[$w], x: &[$x], bpr: usize, out: &mut [f32], stride: usize) {
            // SAFETY: reachable only through `avx512::kernels()` (CPU features checked).
            unsafe { $body(w, x, bpr, out, stride) }
        }
    )+};
}

avx512_gemm! {
    gemm_q4_0_q8_0, gemm_q4_0_q8_0_body: Q4_0, Q32<Q4_0Q8_0>, Q32Sixteens<q32_256::Q4_0Q8_0>, BlockQ4_0, BlockQ8_0, RD = 2, R = 2, C = 2;
    gemm_q4_1_q8_1, gemm_q4_1_q8_1_body: Q4_1, Q32<Q4_1Q8_1>, Q32Sixteens<q32_256::Q4_1Q8_1>, BlockQ4_1, BlockQ8_1, RD = 2, R = 2, C = 2;
    gemm_q5_0_q8_0, gemm_q5_0_q8_0_body: Q5_0, Q32<Q5_0Q8_0>, Q32Tables<q32_256::Q5_0Q8_0>, BlockQ5_0, BlockQ8_0, RD = 2, R = 2, C = 2;
    gemm_q8_0_q8_0, gemm_q8_0_q8_0_body: Q8_0, Q32<Q8_0Q8_0>, TilesOnly<BlockQ8_0, BlockQ8_0>, BlockQ8_0, BlockQ8_0, RD = 2, R = 2, C = 2;
    gemm_q4_k_q8_k, gemm_q4_k_q8_k_body: Q4K, KTile<Q4K>, K4Quads<BlockQ4K>, BlockQ4K, BlockQ8K, RD = 1, R = 1, C = 4;
    gemm_q5_k_q8_k, gemm_q5_k_q8_k_body: Q5K, KTile<Q5K>, K4Quads<BlockQ5K>, BlockQ5K, BlockQ8K, RD = 1, R = 1, C = 4;
    gemm_q6_k_q8_k, gemm_q6_k_q8_k_body: Q6K, KTile<Q6K>, TilesOnly<BlockQ6K, BlockQ8K>, BlockQ6K, BlockQ8K, RD = 1, R = 1, C = 4;
    gemm_f16_f32, gemm_f16_f32_body: F16, Float<f16>, TilesOnly<f16, f32>, f16, f32, RD = 1, R = 1, C = 2;
    gemm_f32_f32, gemm_f32_f32_body: F32, Float<f32>, TilesOnly<f32, f32>, f32, f32, RD = 1, R = 1, C = 2;
}
