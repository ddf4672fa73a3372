//! RMSNorm: `out_i = x_i · (1 / sqrt(mean(x²) + eps)) · weight_i`.
//!
//! # Math and order of operations
//!
//! With `n` the common length of `x`, `weight` and `out` (they should be equal):
//! 1. `sum = Σ_i x_i · x_i` in the float order ([`super::float::dot_lanes`] of `x` with itself:
//!    16 fused multiply-add lanes, zero-padded, folded in halves);
//! 2. `mean = sum / (n as f32)`;
//! 3. `scale = 1.0f32 / sqrtf(mean + eps)` (all `f32`; `sqrtf` is correctly rounded);
//! 4. `out_i = (x_i · scale) · weight_i` in `f32` (ggml's `rms_norm` then `mul`).
//!
//! Every tier evaluates exactly these steps and gives the same bits.
//!
//! # Layout and tails
//!
//! One vector; no blocking, so no tail. A length mismatch (accepted in every build and on every
//! tier: never a panic) normalizes the common prefix (`n = min` of the three lengths) and
//! leaves the rest of `out` untouched; `n == 0` does nothing.

/// RMSNorm of one vector: `out_i = (x_i · (1 / sqrt(Σ_j x_j² / n + eps))) · weight_i` for
/// `i < n`, `n = x.len() == weight.len() == out.len()` (the common prefix otherwise). The sum of
/// squares is in the float order; see the module docs for the exact order of operations.
pub fn rms_norm(x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
    let n = x.len().min(weight.len()).min(out.len());
    if n == 0 {
        return;
    }
    let x = x.get(..n).unwrap_or(&[]);
    let sum = super::float::dot_lanes(x, x);
    let mean = sum / n as f32;
    let scale = 1.0f32 / libm::sqrtf(mean + eps);
    for ((o, &v), &w) in out.iter_mut().zip(x).zip(weight) {
        *o = (v * scale) * w;
    }
}
