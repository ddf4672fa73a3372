//! NEON RMSNorm: `out_i = (x_i · (1 / sqrt(Σ_j x_j² / n + eps))) · weight_i`.
//!
//! # Math and order of operations
//!
//! The reference's steps ([`crate::kernels::norm`]) exactly, so every tier gives the same bits:
//! 1. `sum = Σ x_j²` in the float order: the dot product of `x` with itself of
//!    [`super::dot_float`] (16 `fmla` lanes in four `float32x4_t`, zero-padded last chunk,
//!    folded in halves);
//! 2. `mean = sum / (n as f32)`, `scale = 1.0 / sqrtf(mean + eps)` (scalar `fdiv` / `fsqrt`);
//! 3. `out_i = (x_i · scale) · w_i` with two separately rounded `fmul`s.
//!
//! # Layout and tails
//!
//! Step 3: 4 elements per iteration, then a scalar tail. Lengths: the common prefix of `x`,
//! `weight`, `out`; `n == 0` does nothing.

use super::dot_float::dot_cols;
use core::arch::aarch64::*;

/// RMSNorm (table entry).
pub(super) fn rms_norm(x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
    // SAFETY: reachable only through `kernels(tier)`, whose caller checked NEON.
    unsafe { rms_norm_body(x, weight, eps, out) }
}

/// The `#[target_feature]` body of the entry above.
///
/// # Safety
/// The CPU must implement NEON.
#[target_feature(enable = "neon")]
unsafe fn rms_norm_body(x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
    let n = x.len().min(weight.len()).min(out.len());
    if n == 0 {
        return;
    }
    let x = x.get(..n).unwrap_or(&[]);
    // SAFETY: NEON (caller contract).
    let [sum] = unsafe { dot_cols::<f32, 1>(x, [x]) };
    let mean = sum / n as f32;
    let scale = 1.0f32 / libm::sqrtf(mean + eps);
    let (xp, wp, op) = (x.as_ptr(), weight.as_ptr(), out.as_mut_ptr());
    // SAFETY: every access is at an index `< n`, within all three slices.
    unsafe {
        let mut i = 0;
        while i + 4 <= n {
            let v = vmulq_n_f32(vld1q_f32(xp.add(i)), scale);
            vst1q_f32(op.add(i), vmulq_f32(v, vld1q_f32(wp.add(i))));
            i += 4;
        }
        while i < n {
            *op.add(i) = (*xp.add(i) * scale) * *wp.add(i);
            i += 1;
        }
    }
}
