//! AVX2 multi-column products ("gemm"): `out[c · out_stride + r] = dot(w_r, x_c)` for every
//! weight row `r` and activation column `c` (see [`crate::kernels::gemm`] for the contract).
//!
//! The table at the bottom lists one entry per format: its tiles, its stage kernels, its tile
//! sizes. Each entry asks [`super::select::gemm_path`] for the path of the call and runs it
//! with the frame's driver ([`crate::arch::x86_64::frame::driver`], whose module docs give
//! the layout, tiling and tails). Every output is bit-identical to this tier's `dot` of its
//! row and column, and to the scalar reference (the float formats through the float order of
//! [`crate::kernels::float`]: 16 FMA lanes per `(row, column)` pair as two `f32x8`).
//!
//! Tile sizes were picked by timing (3072 × 3072, 1 and 64 columns): with 16 ymm registers,
//! 1 × 4 tiles (one weight block unpacked for 4 columns) beat 2 × 2 and 4 × 1 for the maddubs
//! formats and the K formats (larger tiles spill the per-pair block-sum trees); Q8_0 (no
//! nibble unpacking) uses 2 × 2. Decode tiles are 1 row (2 for Q8_0): sharing the activation
//! block across rows saved less than the extra register pressure cost.

use super::dot_float::FloatW;
use super::select::gemm_path;
use crate::arch::x86_64::frame::common::Maddubs;
use crate::arch::x86_64::frame::driver::{gemm, Format, Tile, TilesOnly};
use crate::arch::x86_64::frame::kformat::{Q4K, Q5K, Q6K};
use crate::arch::x86_64::frame::q32::{Q4_0Q8_0, Q4_1Q8_1, Q5_0Q8_0, Q8_0Q8_0};
use crate::arch::x86_64::frame::stages::{
    K4Quads, KPairTile, Q32Octets, Q32Tables, Q32Tile, Q4KStages, Q6KStages,
};
use crate::quant::*;
use core::marker::PhantomData;
use half::f16;

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
        // SAFETY: forwarded caller contract.
        unsafe { super::dot_float::tile::<W, R, C>(w, x, nb) }
    }
}

macro_rules! avx2_gemm {
    ($($name:ident, $body:ident: $format:ident, $tile:ty, $stages:ty, $w:ty, $x:ty, RD = $rd:literal, R = $r:literal, C = $c:literal;)+) => {$(
        /// # Safety
        /// The CPU must support AVX2, FMA and F16C.
        #[target_feature(enable = "avx2,fma,f16c")]
        unsafe fn $body(w: &[$w], x: &[$x], bpr: usize, out: &mut [f32], stride: usize) {
            let path = gemm_path(Format::$format, x.len().checked_div(bpr).unwrap_or(0), bpr);
            // SAFETY: the features are enabled in this function.
            unsafe { gemm::<$tile, $stages, $rd, $r, $c>(path, w, x, bpr, out, stride) }
        }

        #[doc = concat!("AVX2 [`crate::kernels::gemm::", stringify!($name), "`] (module docs).")]
        pub(crate) fn $name(w: &[$w], x: &[$x], bpr: usize, out: &mut [f32], stride: usize) {
            // SAFETY: reachable only through `avx2::kernels()` (CPU features checked).
            unsafe { $body(w, x, bpr, out, stride) }
        }
    )+};
}

avx2_gemm! {
    gemm_q4_0_q8_0, gemm_q4_0_q8_0_body: Q4_0, Q32Tile<Q4_0Q8_0>, Q32Octets<Q4_0Q8_0, Maddubs>, BlockQ4_0, BlockQ8_0, RD = 1, R = 1, C = 4;
    gemm_q4_1_q8_1, gemm_q4_1_q8_1_body: Q4_1, Q32Tile<Q4_1Q8_1>, Q32Octets<Q4_1Q8_1, Maddubs>, BlockQ4_1, BlockQ8_1, RD = 1, R = 1, C = 4;
    gemm_q5_0_q8_0, gemm_q5_0_q8_0_body: Q5_0, Q32Tile<Q5_0Q8_0>, Q32Tables<Q5_0Q8_0>, BlockQ5_0, BlockQ8_0, RD = 1, R = 1, C = 4;
    gemm_q8_0_q8_0, gemm_q8_0_q8_0_body: Q8_0, Q32Tile<Q8_0Q8_0>, TilesOnly<BlockQ8_0, BlockQ8_0>, BlockQ8_0, BlockQ8_0, RD = 2, R = 2, C = 2;
    gemm_q4_k_q8_k, gemm_q4_k_q8_k_body: Q4K, KPairTile<Q4K>, Q4KStages, BlockQ4K, BlockQ8K, RD = 1, R = 1, C = 4;
    gemm_q5_k_q8_k, gemm_q5_k_q8_k_body: Q5K, KPairTile<Q5K>, K4Quads<BlockQ5K>, BlockQ5K, BlockQ8K, RD = 1, R = 1, C = 4;
    gemm_q6_k_q8_k, gemm_q6_k_q8_k_body: Q6K, KPairTile<Q6K>, Q6KStages, BlockQ6K, BlockQ8K, RD = 1, R = 1, C = 4;
    gemm_f16_f32, gemm_f16_f32_body: F16, Float<f16>, TilesOnly<f16, f32>, f16, f32, RD = 1, R = 1, C = 2;
    gemm_f32_f32, gemm_f32_f32_body: F32, Float<f32>, TilesOnly<f32, f32>, f32, f32, RD = 1, R = 1, C = 2;
}
