//! SVE multi-column products ("gemm") for the formats this tier has row dot products for.
//!
//! # Math and contract
//!
//! `out[c · out_stride + r] = dot(w_r, x_c)` ([`crate::kernels::gemm`]), each output computed by
//! this tier's own row dot product, so it is bit-identical to that dot (the gemm contract) and
//! to the scalar reference (the integer formats are exact, the float ones follow the float
//! order).
//!
//! # Scheme
//!
//! A loop over columns and rows calling the SVE dot ([`crate::kernels::gemm::gemm_with`], which
//! also owns the shape checks: `bpr == 0`, trailing partial rows / columns and columns that do
//! not fit in `out` are skipped, never a panic). Weight blocks are not yet reused across
//! columns in registers.

use super::{dot_float, dot_k, dot_q32};
use crate::kernels::gemm::gemm_with;
use crate::quant::{
    BlockQ4K, BlockQ4_0, BlockQ4_1, BlockQ5K, BlockQ5_0, BlockQ6K, BlockQ8K, BlockQ8_0, BlockQ8_1,
};
use half::f16;

macro_rules! sve_gemm {
    ($($name:ident: $w:ty, $x:ty => $dot:path;)+) => {$(
        #[doc = concat!("Multi-column product with [`", stringify!($dot), "`] (module docs).")]
        pub(super) fn $name(
            w: &[$w],
            x: &[$x],
            blocks_per_row: usize,
            out: &mut [f32],
            out_stride: usize,
        ) {
            gemm_with($dot, w, x, blocks_per_row, out, out_stride)
        }
    )+};
}

sve_gemm! {
    gemm_q4_0_q8_0: BlockQ4_0, BlockQ8_0 => dot_q32::dot_q4_0_q8_0;
    gemm_q8_0_q8_0: BlockQ8_0, BlockQ8_0 => dot_q32::dot_q8_0_q8_0;
    gemm_q4_1_q8_1: BlockQ4_1, BlockQ8_1 => dot_q32::dot_q4_1_q8_1;
    gemm_q5_0_q8_0: BlockQ5_0, BlockQ8_0 => dot_q32::dot_q5_0_q8_0;
    gemm_q4_k_q8_k: BlockQ4K, BlockQ8K => dot_k::dot_q4_k_q8_k;
    gemm_q5_k_q8_k: BlockQ5K, BlockQ8K => dot_k::dot_q5_k_q8_k;
    gemm_q6_k_q8_k: BlockQ6K, BlockQ8K => dot_k::dot_q6_k_q8_k;
}

/// Multi-column f16 · f32 product with [`dot_float::dot_f16_f32`] at `R` registers of lanes
/// (module docs).
pub(super) fn gemm_f16_f32<const R: usize>(
    w: &[f16],
    x: &[f32],
    blocks_per_row: usize,
    out: &mut [f32],
    out_stride: usize,
) {
    gemm_with(
        dot_float::dot_f16_f32::<R>,
        w,
        x,
        blocks_per_row,
        out,
        out_stride,
    )
}

/// Multi-column f32 · f32 product with [`dot_float::dot_f32_f32`] at `R` registers of lanes
/// (module docs).
pub(super) fn gemm_f32_f32<const R: usize>(
    w: &[f32],
    x: &[f32],
    blocks_per_row: usize,
    out: &mut [f32],
    out_stride: usize,
) {
    gemm_with(
        dot_float::dot_f32_f32::<R>,
        w,
        x,
        blocks_per_row,
        out,
        out_stride,
    )
}
