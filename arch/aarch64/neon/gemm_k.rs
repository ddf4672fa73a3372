//! NEON multi-column products of the K formats (`gemm_q4_k_q8_k`, `gemm_q5_k_q8_k`,
//! `gemm_q6_k_q8_k`): every output **bit-identical** to the row dot product of
//! [`super::dot_k`] (and hence to the scalar reference).
//!
//! # Math and layout
//!
//! `out[c · out_stride + r] = dot(w_r, x_c)` (see [`crate::kernels::gemm`]); per super-block
//! the reference's float term (see [`super::dot_k`]) is added to one f32 accumulator per output
//! in super-block order.
//!
//! # Tiling
//!
//! 1 row × 4 columns: each weight super-block is unpacked once ([`KFormat::unpack`]: 16 byte
//! vectors + widened scales, the expensive part for 4/5/6-bit formats) and its integer sums are
//! taken against the four columns' Q8_K blocks with the tier's [`IntDot`] (`sdot` for the
//! dotprod and i8mm tiers, `smull` for baseline). The four running sums are scalars, each
//! updated with the exact scalar expression, so the result equals the dot product bit for bit.
//! (The i8mm tier uses this `sdot` kernel too: the K formats' per-row sub-block scales make a
//! 2 × 2 `smmla` tile need per-sub-block scale vectors; not done yet.)
//!
//! # Tails
//!
//! A last column group of fewer than 4 columns computes only its columns. Columns whose outputs
//! do not fit in `out` are skipped as in the reference; nothing is read or written out of
//! bounds.

use super::dot_k::*;
use super::gemm::columns_that_fit;
use super::simd::*;
use crate::quant::BlockQ8K;

/// The gemm of a K format with integer strategy `D` (module docs).
///
/// # Safety
/// The CPU must have the instructions of `D` (and NEON).
#[inline(always)]
pub(super) unsafe fn gemm_k<F: KFormat, D: IntDot>(
    w: &[F::W],
    x: &[BlockQ8K],
    bpr: usize,
    out: &mut [f32],
    out_stride: usize,
) {
    if bpr == 0 {
        return;
    }
    let (rows, cols) = (w.len() / bpr, x.len() / bpr);
    debug_assert!(cols == 0 || out_stride >= rows, "gemm: out_stride < rows");
    debug_assert!(
        cols == 0 || out.len() >= (cols - 1) * out_stride + rows,
        "gemm: out too short"
    );
    let cols = columns_that_fit(cols, rows, out.len(), out_stride);
    for c0 in (0..cols).step_by(4) {
        let nc = (cols - c0).min(4);
        let xs: [&[BlockQ8K]; 4] = core::array::from_fn(|k| {
            let c = c0 + k.min(nc - 1);
            x.get(c * bpr..(c + 1) * bpr).unwrap_or(&[])
        });
        for (r, wr) in w.chunks_exact(bpr).enumerate() {
            let mut sumf = [0.0f32; 4];
            for (b, bw) in wr.iter().enumerate() {
                // SAFETY: forwarded contract.
                let u = unsafe { F::unpack(bw) };
                for (s, xc) in sumf.iter_mut().zip(xs).take(nc) {
                    if let Some(bx) = xc.get(b) {
                        // SAFETY: forwarded contract.
                        *s += unsafe { F::term::<D>(&u, bw, bx) };
                    }
                }
            }
            for (k, s) in sumf.into_iter().enumerate().take(nc) {
                if let Some(o) = out.get_mut((c0 + k) * out_stride + r) {
                    *o = s;
                }
            }
        }
    }
}

/// Defines, per format, a module with the table entries `neon` and `dotprod`.
macro_rules! gemm_k_entries {
    ($($name:ident: $fmt:ty, $w:ty;)+) => {$(
        pub(super) mod $name {
            use super::*;
            use crate::quant::*;

            /// Baseline NEON entry.
            pub(in super::super) fn neon(w: &[$w], x: &[BlockQ8K], bpr: usize, out: &mut [f32], s: usize) {
                // SAFETY: reachable only through `kernels(tier)`, whose caller checked NEON.
                unsafe { neon_body(w, x, bpr, out, s) }
            }

            /// NEON + dotprod entry (also used by the i8mm tier).
            pub(in super::super) fn dotprod(w: &[$w], x: &[BlockQ8K], bpr: usize, out: &mut [f32], s: usize) {
                // SAFETY: reachable only through `kernels(NeonDotprod | NeonI8mm)`, whose
                // caller checked NEON and dotprod.
                unsafe { dotprod_body(w, x, bpr, out, s) }
            }

            #[target_feature(enable = "neon")]
            unsafe fn neon_body(w: &[$w], x: &[BlockQ8K], bpr: usize, out: &mut [f32], s: usize) {
                // SAFETY: NEON enabled and guaranteed by the caller.
                unsafe { gemm_k::<$fmt, Mull>(w, x, bpr, out, s) }
            }

            #[target_feature(enable = "neon,dotprod")]
            unsafe fn dotprod_body(w: &[$w], x: &[BlockQ8K], bpr: usize, out: &mut [f32], s: usize) {
                // SAFETY: NEON + dotprod enabled and guaranteed by the caller.
                unsafe { gemm_k::<$fmt, Sdot>(w, x, bpr, out, s) }
            }
        }
    )+};
}

gemm_k_entries! {
    q4_k_q8_k: Q4K, BlockQ4K;
    q5_k_q8_k: Q5K, BlockQ5K;
    q6_k_q8_k: Q6K, BlockQ6K;
}
