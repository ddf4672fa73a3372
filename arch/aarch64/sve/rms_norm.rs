//! SVE RMSNorm: `out_i = (x_i · (1 / sqrt(Σ_j x_j² / n + eps))) · weight_i`.
//!
//! # Math and order of operations
//!
//! `n` is the common length of `x`, `weight` and `out`; the reference's steps
//! ([`crate::kernels::norm::rms_norm`]) exactly, so every tier gives the same bits:
//! 1. `sum = Σ x_j²` in the float order: the dot product of `x` with itself of
//!    [`super::dot_float`] (16 `fmla` lanes, zero-padded, folded in halves; the lane registers
//!    depend on the vector length, the order does not);
//! 2. `mean = sum / (n as f32)`, `scale = 1.0 / sqrtf(mean + eps)` — scalar Rust, the
//!    reference's expressions (`fdiv`, `fsqrt`);
//! 3. `out_i = (x_i · scale) · weight_i`: two separately rounded `fmul`s, `whilelo`-predicated,
//!    one vector of `f32` per step (element-wise, so any vector length).
//!
//! # Registers
//!
//! Step 1: those of [`super::dot_float`]. Step 3: `z0` scale, `z1` x, `z2` weight, `p0` loop
//! predicate.

/// RMSNorm (signature of [`crate::kernels::norm::rms_norm`]), the sum of squares with `R`
/// registers of lanes ([`super::dot_float::Lanes::registers`]).
pub(super) fn rms_norm<const R: usize>(x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
    let n = x.len().min(weight.len()).min(out.len());
    if n == 0 {
        return;
    }
    // SAFETY: reachable only through `sve::kernels` (SVE checked, `R` picked for the vector
    // length); `x` is valid for `n` reads.
    let sum = unsafe { super::dot_float::dot_f32_f32_raw::<R>(x.as_ptr(), x.as_ptr(), n) };
    let mean = sum / n as f32;
    let scale = 1.0f32 / libm::sqrtf(mean + eps);
    // SAFETY: SVE as above; `x`, `weight` valid for `n` reads and `out` for `n` writes (`n` is
    // the minimum of the three lengths), and `out` cannot alias the shared slices.
    unsafe { scale_mul(x.as_ptr(), weight.as_ptr(), scale, out.as_mut_ptr(), n) }
}

/// `out_i = (x_i · scale) · weight_i` for `i < n` (module docs, step 3).
///
/// # Safety
/// The CPU must implement SVE; `x`, `weight` must be valid for `n` reads and `out` for `n`
/// writes, `out` not overlapping the others.
#[target_feature(enable = "sve")]
unsafe fn scale_mul(x: *const f32, weight: *const f32, scale: f32, out: *mut f32, n: usize) {
    // SAFETY: every access is `whilelo`-predicated to `[0, n)`, within the caller's bounds.
    unsafe {
        core::arch::asm!(
            "mov z0.s, {scale:s}",
            "mov {i}, #0",
            "whilelo p0.s, {i}, {n}",
            "b.none 2f",
            "1:",
            "ld1w z1.s, p0/z, [{x}, {i}, lsl #2]",
            "ld1w z2.s, p0/z, [{w}, {i}, lsl #2]",
            "fmul z1.s, z1.s, z0.s",
            "fmul z1.s, z1.s, z2.s",
            "st1w z1.s, p0, [{out}, {i}, lsl #2]",
            "incw {i}",
            "whilelo p0.s, {i}, {n}",
            "b.first 1b",
            "2:",
            x = in(reg) x,
            w = in(reg) weight,
            out = in(reg) out,
            n = in(reg) n,
            scale = in(vreg) scale,
            i = out(reg) _,
            out("v0") _, out("v1") _, out("v2") _,
            out("p0") _,
            options(nostack)
        );
    }
}
