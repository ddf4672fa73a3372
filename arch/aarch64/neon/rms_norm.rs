//! NEON RMSNorm: `out_i = (x_i · (1 / sqrt(Σ_j x_j² / n + eps))) · weight_i`.
//!
//! # Math and tolerance
//!
//! As the reference ([`crate::kernels::norm`]): the sum of squares is accumulated in **f64**
//! (each `x_j` widened with `fcvtl`/`fcvtl2`, squared and added with `fmla` on `float64x2_t`; the
//! square of an f32 is exact in f64, so the only difference from the reference is the order of
//! the f64 additions, ~n·2⁻⁵³ relative — far inside the test tolerance `n·ε + 4ε` of f32). Then
//! the scalar steps of the reference verbatim (`mean = (sum / n) as f32`,
//! `scale = 1 / sqrtf(mean + eps)`), and `out_i = (x_i · scale) · w_i` with two separately
//! rounded `fmul`s, bit-exact with the reference given the same `scale`.
//!
//! # Layout, accumulators and tails
//!
//! 8 elements per iteration into 4 `float64x2_t` accumulators; then 4 at a time; then a scalar
//! tail. Lengths: the common prefix of `x`, `weight`, `out`; `n == 0` does nothing.

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
    let (xp, wp, op) = (x.as_ptr(), weight.as_ptr(), out.as_mut_ptr());
    // SAFETY: every access is at an index `< n`, within all three slices.
    unsafe {
        let mut acc = [vdupq_n_f64(0.0); 4];
        let mut i = 0;
        while i + 8 <= n {
            let a = vld1q_f32(xp.add(i));
            let b = vld1q_f32(xp.add(i + 4));
            let v = [
                vcvt_f64_f32(vget_low_f32(a)),
                vcvt_high_f64_f32(a),
                vcvt_f64_f32(vget_low_f32(b)),
                vcvt_high_f64_f32(b),
            ];
            for (acc, v) in acc.iter_mut().zip(v) {
                *acc = vfmaq_f64(*acc, v, v);
            }
            i += 8;
        }
        while i + 4 <= n {
            let a = vld1q_f32(xp.add(i));
            let (lo, hi) = (vcvt_f64_f32(vget_low_f32(a)), vcvt_high_f64_f32(a));
            acc[0] = vfmaq_f64(acc[0], lo, lo);
            acc[1] = vfmaq_f64(acc[1], hi, hi);
            i += 4;
        }
        let s = vaddq_f64(vaddq_f64(acc[0], acc[1]), vaddq_f64(acc[2], acc[3]));
        let mut sum = vaddvq_f64(s);
        while i < n {
            let v = f64::from(*xp.add(i));
            sum += v * v;
            i += 1;
        }
        let mean = (sum / n as f64) as f32;
        let scale = 1.0f32 / libm::sqrtf(mean + eps);
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
