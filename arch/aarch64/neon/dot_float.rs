//! NEON float dot products and multi-column products: `dot_f32_f32`, `dot_f16_f32`,
//! `gemm_f32_f32`, `gemm_f16_f32` (all NEON tiers share these; no integer instructions).
//!
//! # Math and order of operations
//!
//! `Σ_i w_i · x_i` over the common prefix (f16 weights converted exactly with `fcvtl`), in the
//! float order of [`crate::kernels::float`] (the reference [`crate::kernels::dot`]): the same
//! bits as the scalar reference and every other tier.
//!
//! # Layout and accumulator scheme
//!
//! The 16 lanes of the float order are four `float32x4_t` accumulators per output (lanes 0–3,
//! 4–7, 8–11, 12–15), each updated with `fmla` once per 16-element chunk. A last partial chunk
//! (`n % 16` elements) is zero-padded: its whole 4-element vectors are loaded as they are, the
//! partial one through a zeroed 4-element buffer, the missing ones are zero vectors, and all
//! four go through the same `fmla` (so `fma(0, 0, lane)` like the reference's padding). Then
//! [`fold16`]: `(a0 + a2) + (a1 + a3)`, low half + high half, `faddp`.
//!
//! The gemms (`out[c · out_stride + r] = dot(w_r, x_c)`, layout of [`crate::kernels::gemm`])
//! use a 1 row × 4 column register tile: each weight vector load (and f16 conversion) serves four
//! columns, 16 accumulators. Every output is computed with exactly the per-output operation
//! sequence of the dot product, so the gemms equal the dots (and the reference) bit for bit.
//!
//! # Tails
//!
//! Element tails as above; a last column group of fewer than 4 columns computes only its
//! columns; columns whose outputs do not fit in `out` are skipped as in the reference.

use super::gemm::columns_that_fit;
use super::simd::*;
use core::arch::aarch64::*;
use half::f16;

/// A weight element type: loads 4 weights as `f32`.
pub(super) trait Weight: Copy {
    /// Loads `w[i .. i + 4]` as `f32`.
    ///
    /// # Safety
    /// `i + 4 ≤ w.len()`; the CPU must have NEON.
    unsafe fn load4(w: &[Self], i: usize) -> float32x4_t;
    /// Loads `w[i ..]` (at most 4 values, fewer at the end of `w`) as `f32`, zero-padded to 4.
    ///
    /// # Safety
    /// The CPU must have NEON.
    unsafe fn load_partial(w: &[Self], i: usize) -> float32x4_t;
}

impl Weight for f32 {
    #[inline(always)]
    unsafe fn load4(w: &[f32], i: usize) -> float32x4_t {
        // SAFETY: the caller guarantees `i + 4 ≤ w.len()`.
        unsafe { vld1q_f32(w.as_ptr().add(i)) }
    }
    #[inline(always)]
    unsafe fn load_partial(w: &[f32], i: usize) -> float32x4_t {
        let mut a = [0.0f32; 4];
        for (d, v) in a.iter_mut().zip(w.get(i..).unwrap_or(&[])) {
            *d = *v;
        }
        // SAFETY: `a` has 4 readable `f32`.
        unsafe { vld1q_f32(a.as_ptr()) }
    }
}

impl Weight for f16 {
    #[inline(always)]
    unsafe fn load4(w: &[f16], i: usize) -> float32x4_t {
        // SAFETY: the caller guarantees `i + 4 ≤ w.len()`; `f16` is a plain `u16`.
        unsafe { f16x4_to_f32(vld1_u16(w.as_ptr().add(i).cast::<u16>())) }
    }
    #[inline(always)]
    unsafe fn load_partial(w: &[f16], i: usize) -> float32x4_t {
        let mut a = [0u16; 4];
        for (d, v) in a.iter_mut().zip(w.get(i..).unwrap_or(&[])) {
            *d = v.to_bits();
        }
        // SAFETY: `a` has 4 readable `u16` (zero bits are `+0.0`).
        unsafe { f16x4_to_f32(vld1_u16(a.as_ptr())) }
    }
}

/// `C` dot products of one weight row against `C` activation columns, each over
/// `n = min(w.len(), x_c.len())` elements in the float order (module docs).
///
/// # Safety
/// The CPU must have NEON.
#[inline(always)]
pub(super) unsafe fn dot_cols<T: Weight, const C: usize>(w: &[T], x: [&[f32]; C]) -> [f32; C] {
    let mut n = w.len();
    for xc in &x {
        n = n.min(xc.len());
    }
    // SAFETY: every load reads elements `< n`, which is within `w` and every `x_c`; the partial
    // loads go through bounds-checked sub-slices.
    unsafe {
        let mut acc = [[vdupq_n_f32(0.0); 4]; C];
        let mut i = 0;
        while i + 16 <= n {
            let wv = [
                T::load4(w, i),
                T::load4(w, i + 4),
                T::load4(w, i + 8),
                T::load4(w, i + 12),
            ];
            for (a, xc) in acc.iter_mut().zip(&x) {
                let p = xc.as_ptr().add(i);
                for (k, (a, wv)) in a.iter_mut().zip(wv).enumerate() {
                    *a = vfmaq_f32(*a, wv, vld1q_f32(p.add(4 * k)));
                }
            }
            i += 16;
        }
        if i < n {
            // The zero-padded last chunk: vector `k` holds elements `i + 4k ..`.
            let w = w.get(..n).unwrap_or(&[]);
            let zero = vdupq_n_f32(0.0);
            let mut wv = [zero; 4];
            for (k, v) in wv.iter_mut().enumerate() {
                let at = i + 4 * k;
                if at + 4 <= n {
                    *v = T::load4(w, at);
                } else if at < n {
                    *v = T::load_partial(w, at);
                }
            }
            for (a, xc) in acc.iter_mut().zip(&x) {
                let xc = xc.get(..n).unwrap_or(&[]);
                for (k, (a, wv)) in a.iter_mut().zip(wv).enumerate() {
                    let at = i + 4 * k;
                    let xv = if at + 4 <= n {
                        vld1q_f32(xc.as_ptr().add(at))
                    } else if at < n {
                        f32::load_partial(xc, at)
                    } else {
                        zero
                    };
                    *a = vfmaq_f32(*a, wv, xv);
                }
            }
        }
        let mut res = [0.0f32; C];
        for (r, a) in res.iter_mut().zip(acc) {
            *r = fold16(a);
        }
        res
    }
}

/// The float gemm (module docs).
///
/// # Safety
/// The CPU must have NEON.
#[inline(always)]
unsafe fn gemm_float<T: Weight>(w: &[T], x: &[f32], n: usize, out: &mut [f32], stride: usize) {
    if n == 0 {
        return;
    }
    let (rows, cols) = (w.len() / n, x.len() / n);
    // Only the columns whose outputs fit `out` (module docs of `crate::kernels::gemm`).
    let cols = columns_that_fit(cols, rows, out.len(), stride);
    // Overlapping columns (`stride < rows`): one column per tile, so the columns are
    // written in order, each overwriting the overlap as in the scalar loop.
    let group = if stride < rows { 1 } else { 4 };
    for c0 in (0..cols).step_by(group) {
        let nc = (cols - c0).min(group);
        let xs: [&[f32]; 4] = core::array::from_fn(|k| {
            let c = c0 + k.min(nc - 1);
            x.get(c * n..(c + 1) * n).unwrap_or(&[])
        });
        for (r, wr) in w.chunks_exact(n).enumerate() {
            // SAFETY: forwarded contract (NEON).
            let res = unsafe { dot_cols::<T, 4>(wr, xs) };
            for (k, v) in res.into_iter().enumerate().take(nc) {
                if let Some(o) = out.get_mut((c0 + k) * stride + r) {
                    *o = v;
                }
            }
        }
    }
}

/// f32 · f32 dot product (table entry).
pub(super) fn dot_f32_f32(w: &[f32], x: &[f32]) -> f32 {
    // SAFETY: reachable only through `kernels(tier)`, whose caller checked NEON.
    unsafe { dot_f32_body(w, x) }
}

/// The `#[target_feature]` body of the entry above.
///
/// # Safety
/// The CPU must implement NEON.
#[target_feature(enable = "neon")]
unsafe fn dot_f32_body(w: &[f32], x: &[f32]) -> f32 {
    // SAFETY: NEON enabled and guaranteed by the caller.
    let [r] = unsafe { dot_cols::<f32, 1>(w, [x]) };
    r
}

/// f16 · f32 dot product (table entry).
pub(super) fn dot_f16_f32(w: &[f16], x: &[f32]) -> f32 {
    // SAFETY: reachable only through `kernels(tier)`, whose caller checked NEON.
    unsafe { dot_f16_body(w, x) }
}

/// The `#[target_feature]` body of the entry above.
///
/// # Safety
/// The CPU must implement NEON.
#[target_feature(enable = "neon")]
unsafe fn dot_f16_body(w: &[f16], x: &[f32]) -> f32 {
    // SAFETY: NEON enabled and guaranteed by the caller.
    let [r] = unsafe { dot_cols::<f16, 1>(w, [x]) };
    r
}

/// Multi-column f32 · f32 (table entry).
pub(super) fn gemm_f32_f32(w: &[f32], x: &[f32], n: usize, out: &mut [f32], stride: usize) {
    // SAFETY: reachable only through `kernels(tier)`, whose caller checked NEON.
    unsafe { gemm_f32_body(w, x, n, out, stride) }
}

/// The `#[target_feature]` body of the entry above.
///
/// # Safety
/// The CPU must implement NEON.
#[target_feature(enable = "neon")]
unsafe fn gemm_f32_body(w: &[f32], x: &[f32], n: usize, out: &mut [f32], stride: usize) {
    // SAFETY: NEON enabled and guaranteed by the caller.
    unsafe { gemm_float::<f32>(w, x, n, out, stride) }
}

/// Multi-column f16 · f32 (table entry).
pub(super) fn gemm_f16_f32(w: &[f16], x: &[f32], n: usize, out: &mut [f32], stride: usize) {
    // SAFETY: reachable only through `kernels(tier)`, whose caller checked NEON.
    unsafe { gemm_f16_body(w, x, n, out, stride) }
}

/// The `#[target_feature]` body of the entry above.
///
/// # Safety
/// The CPU must implement NEON.
#[target_feature(enable = "neon")]
unsafe fn gemm_f16_body(w: &[f16], x: &[f32], n: usize, out: &mut [f32], stride: usize) {
    // SAFETY: NEON enabled and guaranteed by the caller.
    unsafe { gemm_float::<f16>(w, x, n, out, stride) }
}
