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
//! dotprod tier, `smull` for baseline). The four running sums are scalars, each
//! updated with the exact scalar expression, so the result equals the dot product bit for bit.
//!
//! The i8mm tier ([`gemm_k_mmla`]) runs 4 rows × 4 columns: each row pair's unpacked values are
//! interleaved 8 bytes at a time (`zip1/zip2` of 64-bit lanes), so are each column pair's
//! activations (once, for both row pairs), and one `smmla` per 8 elements gives the 2 × 2 block of sums
//! `[r0·c0, r0·c1, r1·c0, r1·c1]` (exact `i32`). Per sub-block (32 elements for Q4_K / Q5_K,
//! 16 for Q6_K) the block of sums is multiplied by `[sc_j(r0), sc_j(r0), sc_j(r1), sc_j(r1)]`
//! and accumulated, which is the exact `isum` of each `(row, column)`; the float term is then
//! the scalar expression of [`KFormat::term_from_isum`], added to a scalar per output in
//! super-block order: bit-identical to the row dot product. Against the `sdot` tile this
//! halves the multiply instructions per output (32 multiply-adds per `smmla`, 16 per `sdot`)
//! and drops the per-column horizontal sums. One column (decode) takes the `sdot` tile, whose
//! work `smmla` would half waste.
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
use core::arch::aarch64::*;

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
    // Only the columns whose outputs fit `out` (module docs of `crate::kernels::gemm`).
    let cols = columns_that_fit(cols, rows, out.len(), out_stride);
    // Overlapping columns (`out_stride < rows`): one column per tile, so the columns are
    // written in order, each overwriting the overlap as in the scalar loop.
    let group = if out_stride < rows { 1 } else { 4 };
    for c0 in (0..cols).step_by(group) {
        let nc = (cols - c0).min(group);
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

/// The 2 × 4 columns tile's sub-block scale vectors of rows `u0`, `u1`:
/// `[sc_j(r0), sc_j(r0), sc_j(r1), sc_j(r1)]` for the 16 scale lanes of [`Unpacked::scales`]
/// (Q4_K / Q5_K use the first 8).
///
/// # Safety
/// The CPU must have NEON.
#[inline(always)]
unsafe fn pair_scales(u0: &Unpacked, u1: &Unpacked) -> [int32x4_t; 16] {
    // SAFETY: register-only NEON operations.
    unsafe {
        let mut out = [vdupq_n_s32(0); 16];
        for (v, o) in out.chunks_exact_mut(4).enumerate() {
            let (a, b) = (u0.scales[v], u1.scales[v]);
            let t0 = vzip1q_s32(a, b); // [a0 b0 a1 b1]
            let t1 = vzip2q_s32(a, b); // [a2 b2 a3 b3]
            o[0] = vzip1q_s32(t0, t0); // [a0 a0 b0 b0]
            o[1] = vzip2q_s32(t0, t0);
            o[2] = vzip1q_s32(t1, t1);
            o[3] = vzip2q_s32(t1, t1);
        }
        out
    }
}

/// `[p lo 8 bytes, q lo 8 bytes]` and `[p hi 8 bytes, q hi 8 bytes]`.
///
/// # Safety
/// The CPU must have NEON.
#[inline(always)]
unsafe fn zip64(p: int8x16_t, q: int8x16_t) -> (int8x16_t, int8x16_t) {
    // SAFETY: register-only NEON operations.
    unsafe {
        let (a, b) = (vreinterpretq_s64_s8(p), vreinterpretq_s64_s8(q));
        (
            vreinterpretq_s8_s64(vzip1q_s64(a, b)),
            vreinterpretq_s8_s64(vzip2q_s64(a, b)),
        )
    }
}

/// The i8mm gemm of a K format: 2 rows × 4 columns tiles of `smmla` (module docs).
///
/// # Safety
/// The CPU must have NEON and i8mm.
#[inline(always)]
pub(super) unsafe fn gemm_k_mmla<F: KFormat>(
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
    // Only the columns whose outputs fit `out` (module docs of `crate::kernels::gemm`).
    let cols = columns_that_fit(cols, rows, out.len(), out_stride);
    let per_sub = F::SUB / 16;
    // Overlapping columns (`out_stride < rows`): one column per tile, so the columns are
    // written in order, each overwriting the overlap as in the scalar loop.
    let group = if out_stride < rows { 1 } else { 4 };
    for c0 in (0..cols).step_by(group) {
        let nc = (cols - c0).min(group);
        // Missing columns of a last partial tile repeat the last one (their sums are dropped).
        let xs: [&[BlockQ8K]; 4] = core::array::from_fn(|k| {
            let c = c0 + k.min(nc - 1);
            x.get(c * bpr..(c + 1) * bpr).unwrap_or(&[])
        });
        for r0 in (0..rows).step_by(4) {
            let nr = (rows - r0).min(4);
            // Missing rows of a last partial tile repeat the last one (their sums are dropped).
            let wr: [&[F::W]; 4] = core::array::from_fn(|k| {
                let r = r0 + k.min(nr - 1);
                w.get(r * bpr..(r + 1) * bpr).unwrap_or(&[])
            });
            let mut sumf = [[0.0f32; 4]; 4];
            for b in 0..bpr {
                let (Some(w0), Some(w1), Some(w2), Some(w3)) =
                    (wr[0].get(b), wr[1].get(b), wr[2].get(b), wr[3].get(b))
                else {
                    break;
                };
                let wb = [w0, w1, w2, w3];
                // SAFETY: NEON + i8mm (caller contract); register operations and loads of
                // the 16-byte quant vectors inside each column's block `b`.
                unsafe {
                    let u = [F::unpack(w0), F::unpack(w1), F::unpack(w2), F::unpack(w3)];
                    // Each row pair's values interleaved 8 bytes at a time, and its scales.
                    let mut rows8 = [[(vdupq_n_s8(0), vdupq_n_s8(0)); 16]; 2];
                    for (rp, r8) in rows8.iter_mut().enumerate() {
                        for (k, r8) in r8.iter_mut().enumerate() {
                            *r8 = zip64(u[2 * rp].q[k], u[2 * rp + 1].q[k]);
                        }
                    }
                    let sc = [pair_scales(&u[0], &u[1]), pair_scales(&u[2], &u[3])];
                    for pair in 0..2 {
                        let (Some(xa), Some(xb)) = (xs[2 * pair].get(b), xs[2 * pair + 1].get(b))
                        else {
                            continue;
                        };
                        // The column pair's activations are interleaved once for both row
                        // pairs.
                        let mut isum = [vdupq_n_s32(0); 2];
                        // `j` (sub-block) and `k` (16-byte chunk) index the scales, both row
                        // pairs' values and the activations alike.
                        #[allow(clippy::needless_range_loop)]
                        for j in 0..16 / per_sub {
                            let mut s = [vdupq_n_s32(0); 2];
                            for k in per_sub * j..per_sub * (j + 1) {
                                let (xl, xh) = zip64(
                                    vld1q_s8(xa.qs.as_ptr().add(16 * k)),
                                    vld1q_s8(xb.qs.as_ptr().add(16 * k)),
                                );
                                for (rp, s) in s.iter_mut().enumerate() {
                                    *s = smmla(*s, rows8[rp][k].0, xl);
                                    *s = smmla(*s, rows8[rp][k].1, xh);
                                }
                            }
                            for rp in 0..2 {
                                isum[rp] = vmlaq_s32(isum[rp], s[rp], sc[rp][j]);
                            }
                        }
                        for (rp, isum) in isum.iter().enumerate() {
                            let mut lanes = [0i32; 4];
                            vst1q_s32(lanes.as_mut_ptr(), *isum);
                            for ri in 0..2 {
                                let r = 2 * rp + ri;
                                for (cc, xc) in [xa, xb].into_iter().enumerate() {
                                    let t = F::term_from_isum(lanes[2 * ri + cc], &u[r], wb[r], xc);
                                    sumf[r][2 * pair + cc] += t;
                                }
                            }
                        }
                    }
                }
            }
            for (r, row) in sumf.iter().enumerate().take(nr) {
                for (k, &s) in row.iter().enumerate().take(nc) {
                    if let Some(o) = out.get_mut((c0 + k) * out_stride + r0 + r) {
                        *o = s;
                    }
                }
            }
        }
    }
}

/// Defines, per format, a module with the table entries `neon`, `dotprod` and `i8mm`.
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

            /// NEON + dotprod entry.
            pub(in super::super) fn dotprod(w: &[$w], x: &[BlockQ8K], bpr: usize, out: &mut [f32], s: usize) {
                // SAFETY: reachable only through `kernels(NeonDotprod | NeonI8mm)`, whose
                // caller checked NEON and dotprod.
                unsafe { dotprod_body(w, x, bpr, out, s) }
            }

            /// NEON + dotprod + i8mm entry. One column (decode) takes the `sdot` entry:
            /// `smmla`'s 2 × 2 tile would compute a copy of the column (both are bit-identical
            /// to the row dot product, see the module docs).
            pub(in super::super) fn i8mm(w: &[$w], x: &[BlockQ8K], bpr: usize, out: &mut [f32], s: usize) {
                if x.len() / bpr.max(1) <= 1 {
                    return dotprod(w, x, bpr, out, s);
                }
                // SAFETY: reachable only through `kernels(NeonI8mm)`, whose caller checked
                // NEON, dotprod and i8mm.
                unsafe { i8mm_body(w, x, bpr, out, s) }
            }

            /// The `#[target_feature]` body of the entry above.
            ///
            /// # Safety
            /// The CPU must implement NEON, dotprod and i8mm.
            #[target_feature(enable = "neon,dotprod,i8mm")]
            unsafe fn i8mm_body(w: &[$w], x: &[BlockQ8K], bpr: usize, out: &mut [f32], s: usize) {
                // SAFETY: NEON + dotprod + i8mm enabled and guaranteed by the caller.
                unsafe { gemm_k_mmla::<$fmt>(w, x, bpr, out, s) }
            }

            /// The `#[target_feature]` body of the entry above.
            ///
            /// # Safety
            /// The CPU must implement NEON.
            #[target_feature(enable = "neon")]
            unsafe fn neon_body(w: &[$w], x: &[BlockQ8K], bpr: usize, out: &mut [f32], s: usize) {
                // SAFETY: NEON enabled and guaranteed by the caller.
                unsafe { gemm_k::<$fmt, Mull>(w, x, bpr, out, s) }
            }

            /// The `#[target_feature]` body of the entry above.
            ///
            /// # Safety
            /// The CPU must implement NEON and dotprod.
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
