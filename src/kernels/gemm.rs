//! Multi-column products ("gemm"): several weight rows against several activation columns.
//!
//! # Math
//!
//! With `bpr` blocks per row, `w` holds `rows = w.len() / bpr` weight rows and `x` holds
//! `cols = x.len() / bpr` activation columns (tokens), each a run of `bpr` blocks. For every
//! `r < rows`, `c < cols`:
//!
//! `out[c · out_stride + r] = dot(w[r·bpr .. (r+1)·bpr], x[c·bpr .. (c+1)·bpr])`
//!
//! where `dot` is the row dot product of the pair ([`super::dot`]). The output is column-major in
//! tokens: column `c` is token `c`'s output vector, `out_stride` apart, which is how the graph
//! stores a batch of activations. Writing a row range of a larger matrix is done by passing the
//! rows' weights and `out` starting at the first row.
//!
//! # Contract (every tier)
//!
//! Each output element is **bit-identical** to the tier's own `dot` of that row and column (the
//! integer block sums are exact and the float order is the dot product's, see [`super::dot`]),
//! so a batched prefill gives exactly the logits of token-by-token decode, and any tiling of
//! rows and columns gives the same bits. For the integer pairs the scalar `dot` and every SIMD
//! tier's `dot` agree bit for bit, so all tiers' gemms agree too; the float pairs (`f16·f32`,
//! `f32·f32`) agree with the scalar reference to the float-kernel tolerance.
//!
//! # Tails and lengths
//!
//! Every tier, every build (the `Kernels` table's contract): any arguments are accepted and
//! nothing panics. `bpr == 0`, no rows or no columns: nothing is written. The intended use has
//! `out_stride >= rows` and `out.len() >= (cols − 1) · out_stride + rows`; otherwise:
//! - the columns whose outputs do not fit in `out` (`c · out_stride + rows > out.len()`, or
//!   overflow) are skipped — only the leading columns that fit are written;
//! - `out_stride < rows` with several columns (overlapping outputs): the columns are written
//!   in column order, each whole, so a later column overwrites the overlap (the scalar loop's
//!   result, on every tier).
//!
//! Trailing blocks of `w` / `x` that do not make a whole row / column are ignored.
//!
//! This file is the scalar reference: a loop over the dot product. SIMD tiers tile rows × columns
//! in registers so one loaded weight block serves several tokens.

use crate::quant::*;
use half::f16;

/// A multi-column product: `(w, x, blocks_per_row, out, out_stride)`; see the module docs.
pub type GemmFn<W, X> = fn(&[W], &[X], usize, &mut [f32], usize);

/// The scalar gemm over any row dot product (see the module docs for the contract).
#[inline]
pub fn gemm_with<W, X>(
    dot: fn(&[W], &[X]) -> f32,
    w: &[W],
    x: &[X],
    blocks_per_row: usize,
    out: &mut [f32],
    out_stride: usize,
) {
    if blocks_per_row == 0 {
        return;
    }
    let rows = w.len() / blocks_per_row;
    for (c, xc) in x.chunks_exact(blocks_per_row).enumerate() {
        let Some(start) = c.checked_mul(out_stride) else {
            return;
        };
        let Some(o) = out.get_mut(start..start.saturating_add(rows)) else {
            return;
        };
        for (o, wr) in o.iter_mut().zip(w.chunks_exact(blocks_per_row)) {
            *o = dot(wr, xc);
        }
    }
}

macro_rules! scalar_gemm {
    ($($name:ident: $w:ty, $x:ty => $dot:ident;)+) => {$(
        #[doc = concat!("Scalar multi-column product with [`super::dot::", stringify!($dot), "`]: ")]
        #[doc = "`out[c·out_stride + r] = dot(w_r, x_c)` (module docs)."]
        pub fn $name(w: &[$w], x: &[$x], blocks_per_row: usize, out: &mut [f32], out_stride: usize) {
            gemm_with(super::dot::$dot, w, x, blocks_per_row, out, out_stride)
        }
    )+};
}

scalar_gemm! {
    gemm_q4_0_q8_0: BlockQ4_0, BlockQ8_0 => dot_q4_0_q8_0;
    gemm_q4_1_q8_1: BlockQ4_1, BlockQ8_1 => dot_q4_1_q8_1;
    gemm_q5_0_q8_0: BlockQ5_0, BlockQ8_0 => dot_q5_0_q8_0;
    gemm_q8_0_q8_0: BlockQ8_0, BlockQ8_0 => dot_q8_0_q8_0;
    gemm_q4_k_q8_k: BlockQ4K, BlockQ8K => dot_q4_k_q8_k;
    gemm_q5_k_q8_k: BlockQ5K, BlockQ8K => dot_q5_k_q8_k;
    gemm_q6_k_q8_k: BlockQ6K, BlockQ8K => dot_q6_k_q8_k;
    gemm_f16_f32: f16, f32 => dot_f16_f32;
    gemm_f32_f32: f32, f32 => dot_f32_f32;
}
