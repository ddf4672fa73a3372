//! SVE RMSNorm: `out_i = (x_i · (1 / sqrt(Σ_j x_j² / n + eps))) · weight_i`.
//!
//! # Math and order of operations
//!
//! `n` is the common length of `x`, `weight` and `out` (as the reference,
//! [`crate::kernels::norm::rms_norm`]).
//! 1. `sum = Σ x_j²` in **`f64` lanes**: `ld1w {z.d}` puts one `f32` in each 64-bit lane,
//!    `fcvt z.d, p/m, z.s` widens it exactly, `fmla` adds the square (exact in `f64`, so the
//!    fused add rounds exactly like the reference's separate add). Four accumulators of
//!    `VL / 64` lanes, whole vectors while `4·VL/64` elements remain, then a `whilelo` tail;
//!    `(z0 + z1) + (z2 + z3)` and `faddv`.
//! 2. `mean = (sum / n) as f32`, `scale = 1 / sqrtf(mean + eps)` — scalar Rust, the reference's
//!    expressions.
//! 3. `out_i = (x_i · scale) · weight_i`: two separately rounded `fmul`s, `whilelo`-predicated,
//!    one vector of `f32` per step — bit-identical to the reference for a given `scale`.
//!
//! # Tolerance vs the scalar reference
//!
//! Only the order of the `f64` additions differs, so `mean` almost always rounds to the same
//! `f32` and the output is then bit-identical; in general the error is far inside
//! `tests/tier_equivalence.rs::rms_norm_rel(n)` (which allows for an `f32` sum).
//!
//! # Registers
//!
//! Pass 1: `z0..z3` accumulators, `z4..z7` data, `p0` tail, `p7` all-true (`.d`).
//! Pass 3: `z0` scale, `z1` x, `z2` weight, `p0` loop predicate.

/// RMSNorm (signature of [`crate::kernels::norm::rms_norm`]).
pub(super) fn rms_norm(x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
    let n = x.len().min(weight.len()).min(out.len());
    if n == 0 {
        return;
    }
    // SAFETY: reachable only through `sve::kernels` (SVE checked); `x` is valid for `n` reads.
    let sum = unsafe { sum_squares_f64(x.as_ptr(), n) };
    let mean = (sum / n as f64) as f32;
    let scale = 1.0f32 / libm::sqrtf(mean + eps);
    // SAFETY: SVE as above; `x`, `weight` valid for `n` reads and `out` for `n` writes (`n` is
    // the minimum of the three lengths), and `out` cannot alias the shared slices.
    unsafe { scale_mul(x.as_ptr(), weight.as_ptr(), scale, out.as_mut_ptr(), n) }
}

/// `Σ_{i<n} (x_i as f64)²` in `f64` lanes (module docs, step 1).
///
/// # Safety
/// The CPU must implement SVE; `x` must be valid for `n` reads.
#[target_feature(enable = "sve")]
unsafe fn sum_squares_f64(x: *const f32, n: usize) -> f64 {
    let sum: f64;
    // SAFETY: loads touch only `x[..n]` (whole vectors while `4·cntd ≤ remaining`, then a
    // `whilelo` tail whose inactive lanes are not accessed); `ld1w {z.d}` reads `VL / 2` bytes
    // per vector, so 4 vectors advance `x` by `2·VL`. All written registers are declared.
    unsafe {
        core::arch::asm!(
            "ptrue p7.d",
            "dup z0.d, #0",
            "dup z1.d, #0",
            "dup z2.d, #0",
            "dup z3.d, #0",
            "cntd {vl4}, all, mul #4",
            "cmp {n}, {vl4}",
            "b.lo 3f",
            "2:",
            "ld1w z4.d, p7/z, [{x}]",
            "ld1w z5.d, p7/z, [{x}, #1, mul vl]",
            "ld1w z6.d, p7/z, [{x}, #2, mul vl]",
            "ld1w z7.d, p7/z, [{x}, #3, mul vl]",
            "fcvt z4.d, p7/m, z4.s",
            "fcvt z5.d, p7/m, z5.s",
            "fcvt z6.d, p7/m, z6.s",
            "fcvt z7.d, p7/m, z7.s",
            "fmla z0.d, p7/m, z4.d, z4.d",
            "fmla z1.d, p7/m, z5.d, z5.d",
            "fmla z2.d, p7/m, z6.d, z6.d",
            "fmla z3.d, p7/m, z7.d, z7.d",
            "addvl {x}, {x}, #2",
            "sub {n}, {n}, {vl4}",
            "cmp {n}, {vl4}",
            "b.hs 2b",
            "3:",
            "mov {i}, #0",
            "whilelo p0.d, {i}, {n}",
            "b.none 5f",
            "4:",
            "ld1w z4.d, p0/z, [{x}, {i}, lsl #2]",
            "fcvt z4.d, p0/m, z4.s",
            "fmla z0.d, p0/m, z4.d, z4.d",
            "incd {i}",
            "whilelo p0.d, {i}, {n}",
            "b.first 4b",
            "5:",
            "fadd z0.d, z0.d, z1.d",
            "fadd z2.d, z2.d, z3.d",
            "fadd z0.d, z0.d, z2.d",
            "faddv {sum:d}, p7, z0.d",
            x = inout(reg) x => _,
            n = inout(reg) n => _,
            i = out(reg) _,
            vl4 = out(reg) _,
            sum = out(vreg) sum,
            out("v0") _, out("v1") _, out("v2") _, out("v3") _,
            out("v4") _, out("v5") _, out("v6") _, out("v7") _,
            out("p0") _, out("p7") _,
            options(nostack, readonly, pure)
        );
    }
    sum
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
