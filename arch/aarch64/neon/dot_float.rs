//! NEON float dot products and multi-column products: `dot_f32_f32`, `dot_f16_f32`,
//! `gemm_f32_f32`, `gemm_f16_f32` (all NEON tiers share these; no integer instructions).
//!
//! # Math and tolerance
//!
//! `Σ_i w_i · x_i` over the common prefix (f16 weights converted exactly with `fcvtl`). Lane-wise
//! partial sums with fused multiply-add (`fmla`) instead of the reference's index-order
//! `sum = sum + w·x`: the results differ from the reference by at most the classic
//! recursive-summation bound, `2·n·ε·Σ|w_i·x_i|` (the tolerance of `tests/tier_equivalence.rs`).
//!
//! # Layout and accumulator scheme
//!
//! 16 elements per iteration into 4 `float32x4_t` accumulators per output (hiding the `fmla`
//! latency), then 4 at a time into the first accumulator, then a scalar tail (`w·x` rounded
//! then added); the accumulators are folded `(a0 + a1) + (a2 + a3)` and summed across lanes
//! (`faddp`), then the scalar tail is added.
//!
//! The gemms (`out[c · out_stride + r] = dot(w_r, x_c)`, layout of [`crate::kernels::gemm`])
//! use a 1 row × 4 column register tile: each weight vector load (and f16 conversion) serves four
//! columns, 16 accumulators. Every output is computed with exactly the per-output operation
//! sequence of the dot product, so the gemms equal this tier's dots bit for bit.
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
    /// One weight as `f32`.
    fn get(self) -> f32;
}

impl Weight for f32 {
    #[inline(always)]
    unsafe fn load4(w: &[f32], i: usize) -> float32x4_t {
        // SAFETY: the caller guarantees `i + 4 ≤ w.len()`.
        unsafe { vld1q_f32(w.as_ptr().add(i)) }
    }
    #[inline(always)]
    fn get(self) -> f32 {
        self
    }
}

impl Weight for f16 {
    #[inline(always)]
    unsafe fn load4(w: &[f16], i: usize) -> float32x4_t {
        // SAFETY: the caller guarantees `i + 4 ≤ w.len()`; `f16` is a plain `u16`.
        unsafe { f16x4_to_f32(vld1_u16(w.as_ptr().add(i).cast::<u16>())) }
    }
    #[inline(always)]
    fn get(self) -> f32 {
        self.to_f32()
    }
}

/// `C` dot products of one weight row against `C` activation columns, each over
/// `n = min(w.len(), x_c.len())` elements with the module's accumulator scheme.
///
/// # Safety
/// The CPU must have NEON.
#[inline(always)]
pub(super) unsafe fn dot_cols<T: Weight, const C: usize>(w: &[T], x: [&[f32]; C]) -> [f32; C] {
    let mut n = w.len();
    for xc in &x {
        n = n.min(xc.len());
    }
    // SAFETY: every load reads elements `< n`, which is within `w` and every `x_c`.
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
        while i + 4 <= n {
            let wv = T::load4(w, i);
            for (a, xc) in acc.iter_mut().zip(&x) {
                a[0] = vfmaq_f32(a[0], wv, vld1q_f32(xc.as_ptr().add(i)));
            }
            i += 4;
        }
        let mut res = [0.0f32; C];
        for ((r, a), xc) in res.iter_mut().zip(&acc).zip(&x) {
            let s = vaddq_f32(vaddq_f32(a[0], a[1]), vaddq_f32(a[2], a[3]));
            let mut sum = hadd_f32(s);
            for (wi, xi) in w
                .get(i..n)
                .unwrap_or(&[])
                .iter()
                .zip(xc.get(i..n).unwrap_or(&[]))
            {
                sum += wi.get() * xi;
            }
            *r = sum;
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
