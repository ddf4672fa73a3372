//! SVE activations: SwiGLU and softmax, both over the vector `expf` of [`super::exp`] (as the
//! NEON tier's `activation.rs` holds its `swiglu` and `softmax`).
//!
//! # SwiGLU
//!
//! `out_i = (gate_i / (1 + e^(−gate_i))) · up_i`.
//!
//! ## Math
//!
//! The reference's expression ([`crate::kernels::activation::swiglu`]) lane-wise: `fneg`, the
//! vector `expf` of [`super::exp`] (Cephes polynomial + `fscale`, ≤ 2 ulp from `libm::expf`),
//! `fadd #1.0`, an IEEE `fdiv` and an `fmul` — so only the exponential differs from the
//! reference. Overflow behaves as the reference: `e^(−g) = +∞` for `g < −88.7` gives
//! `g / ∞ = −0.0`, `g = −∞` gives NaN, NaN propagates.
//!
//! ## Layout and tails
//!
//! `n = min(gate.len(), up.len(), out.len())` elements, one vector per step under `whilelo`
//! (the last step partial; inactive lanes are neither loaded nor stored).
//!
//! ## Tolerance vs the scalar reference
//!
//! A few ulp of `e^(−g)` become at most that many ulp of the result (the division by
//! `1 + e^(−g)` damps it): within `tests/tier_equivalence.rs::ELEMENTWISE_REL` (16 ε).
//!
//! ## Registers
//!
//! `z0..z3` the exponential, `z4` gate, `z5` up, `z21..z31` constants, `p0` loop predicate,
//! `p7` all-true.
//!
//! # Softmax
//!
//! In place: `x_i ← e^(x_i − m) / Σ_j e^(x_j − m)`, `m = max_j x_j`.
//!
//! ## Passes (the reference's, [`crate::kernels::activation::softmax`])
//!
//! 1. `m`: lane-wise `fmaxnm` from `−∞` (NaN lanes ignored, as the reference's `f32::max`
//!    fold), then `fmaxnmv`. If `m = −∞` (empty, all `−∞` or all NaN) every entry becomes `0.0`
//!    (plain Rust `fill`) and the kernel returns.
//! 2. `e_i = expf(x_i − m)` with the vector exponential of [`super::exp`], stored back, and
//!    summed in one vector accumulator of `f32` lanes (`faddv` at the end). `x_i = −∞` gives
//!    exactly `+0.0`; a NaN or `+∞` entry makes the sum NaN, so every output is NaN, as in the
//!    reference.
//! 3. `x_i ← e_i · (1 / sum)`: one scalar reciprocal, then `fmul`s (bit-identical to the
//!    reference for a given sum).
//!
//! ## Tails
//!
//! Every pass is one vector per step under `whilelo` (inactive lanes not loaded or stored).
//!
//! ## Tolerance vs the scalar reference
//!
//! The exponential's few ulp plus the lane-order sum: `ELEMENTWISE_REL` (16 ε) relative plus
//! `sum_tolerance(n, 1)` absolute in `tests/tier_equivalence.rs`.
//!
//! ## Registers
//!
//! Pass 1: `z0` running max, `z1` data. Pass 2: `z0..z3` the exponential, `z4` the sum,
//! `z5` data, `z6` broadcast `m`, `z21..z31` constants. Pass 3: `z0` data, `z1` `1 / sum`.
//! `p0` loop predicate, `p7` all-true.

use super::exp::{exp_load_consts, exp_z0, EXP_CONSTS};

/// SwiGLU (signature of [`crate::kernels::activation::swiglu`]).
pub(super) fn swiglu(gate: &[f32], up: &[f32], out: &mut [f32]) {
    let n = gate.len().min(up.len()).min(out.len());
    // SAFETY: reachable only through `sve::kernels` (SVE checked); `gate`, `up` are valid for
    // `n` reads and `out` for `n` writes, and `out` cannot alias the shared slices.
    unsafe { swiglu_raw(gate.as_ptr(), up.as_ptr(), out.as_mut_ptr(), n) }
}

/// # Safety
/// The CPU must implement SVE; `gate`, `up` valid for `n` reads, `out` for `n` writes.
#[target_feature(enable = "sve")]
unsafe fn swiglu_raw(gate: *const f32, up: *const f32, out: *mut f32, n: usize) {
    // SAFETY: loads and stores are `whilelo`-predicated to `[0, n)`; `consts` points to the
    // 11 `f32`s of `EXP_CONSTS`. All written registers are declared.
    unsafe {
        core::arch::asm!(
            "ptrue p7.s",
            exp_load_consts!(),
            "mov {i}, #0",
            "whilelo p0.s, {i}, {n}",
            "b.none 2f",
            "1:",
            "ld1w z4.s, p0/z, [{gate}, {i}, lsl #2]",
            "ld1w z5.s, p0/z, [{up}, {i}, lsl #2]",
            "fneg z0.s, p7/m, z4.s",
            exp_z0!(),
            "fadd z0.s, p7/m, z0.s, #1.0",
            "fdivr z0.s, p7/m, z0.s, z4.s",
            "fmul z0.s, z0.s, z5.s",
            "st1w z0.s, p0, [{out}, {i}, lsl #2]",
            "incw {i}",
            "whilelo p0.s, {i}, {n}",
            "b.first 1b",
            "2:",
            gate = in(reg) gate,
            up = in(reg) up,
            out = in(reg) out,
            n = in(reg) n,
            consts = in(reg) EXP_CONSTS.as_ptr(),
            i = out(reg) _,
            out("v0") _, out("v1") _, out("v2") _, out("v3") _, out("v4") _, out("v5") _,
            out("v21") _, out("v22") _, out("v23") _, out("v24") _, out("v25") _,
            out("v26") _, out("v27") _, out("v28") _, out("v29") _, out("v30") _, out("v31") _,
            out("p0") _, out("p7") _,
            options(nostack)
        );
    }
}

/// Softmax in place (signature of [`crate::kernels::activation::softmax`]).
pub(super) fn softmax(x: &mut [f32]) {
    let n = x.len();
    // SAFETY: reachable only through `sve::kernels` (SVE checked); `x` is valid for `n` reads
    // and writes (this and the two calls below).
    let m = unsafe { max_nan_ignoring(x.as_ptr(), n) };
    if m == f32::NEG_INFINITY {
        x.fill(0.0);
        return;
    }
    // SAFETY: as above.
    let sum = unsafe { exp_shifted_sum(x.as_mut_ptr(), n, m) };
    let inv = 1.0 / sum;
    // SAFETY: as above.
    unsafe { scale_in_place(x.as_mut_ptr(), n, inv) }
}

/// The maximum of the non-NaN entries of `x[..n]` (`−∞` when there are none).
///
/// # Safety
/// The CPU must implement SVE; `x` valid for `n` reads.
#[target_feature(enable = "sve")]
unsafe fn max_nan_ignoring(x: *const f32, n: usize) -> f32 {
    let m: f32;
    // SAFETY: loads are `whilelo`-predicated to `[0, n)`; all written registers are declared.
    unsafe {
        core::arch::asm!(
            "ptrue p7.s",
            "mov {t:w}, #0xff800000",
            "dup z0.s, {t:w}",
            "mov {i}, #0",
            "whilelo p0.s, {i}, {n}",
            "b.none 2f",
            "1:",
            "ld1w z1.s, p0/z, [{x}, {i}, lsl #2]",
            "fmaxnm z0.s, p0/m, z0.s, z1.s",
            "incw {i}",
            "whilelo p0.s, {i}, {n}",
            "b.first 1b",
            "2:",
            "fmaxnmv {m:s}, p7, z0.s",
            x = in(reg) x,
            n = in(reg) n,
            i = out(reg) _,
            t = out(reg) _,
            m = out(vreg) m,
            out("v0") _, out("v1") _,
            out("p0") _, out("p7") _,
            options(nostack, readonly, pure)
        );
    }
    m
}

/// `x_i ← expf(x_i − m)` for `i < n`; returns `Σ_i x_i` (lane-wise, then `faddv`).
///
/// # Safety
/// The CPU must implement SVE; `x` valid for `n` reads and writes.
#[target_feature(enable = "sve")]
unsafe fn exp_shifted_sum(x: *mut f32, n: usize, m: f32) -> f32 {
    let sum: f32;
    // SAFETY: loads and stores are `whilelo`-predicated to `[0, n)`; `consts` points to the 11
    // `f32`s of `EXP_CONSTS`. All written registers are declared.
    unsafe {
        core::arch::asm!(
            "ptrue p7.s",
            exp_load_consts!(),
            "mov z6.s, {m:s}",
            "dup z4.s, #0",
            "mov {i}, #0",
            "whilelo p0.s, {i}, {n}",
            "b.none 2f",
            "1:",
            "ld1w z5.s, p0/z, [{x}, {i}, lsl #2]",
            "fsub z0.s, z5.s, z6.s",
            exp_z0!(),
            "st1w z0.s, p0, [{x}, {i}, lsl #2]",
            "fadd z4.s, p0/m, z4.s, z0.s",
            "incw {i}",
            "whilelo p0.s, {i}, {n}",
            "b.first 1b",
            "2:",
            "faddv {sum:s}, p7, z4.s",
            x = in(reg) x,
            n = in(reg) n,
            m = in(vreg) m,
            consts = in(reg) EXP_CONSTS.as_ptr(),
            i = out(reg) _,
            sum = out(vreg) sum,
            out("v0") _, out("v1") _, out("v2") _, out("v3") _, out("v4") _, out("v5") _,
            out("v6") _,
            out("v21") _, out("v22") _, out("v23") _, out("v24") _, out("v25") _,
            out("v26") _, out("v27") _, out("v28") _, out("v29") _, out("v30") _, out("v31") _,
            out("p0") _, out("p7") _,
            options(nostack)
        );
    }
    sum
}

/// `x_i ← x_i · inv` for `i < n`.
///
/// # Safety
/// The CPU must implement SVE; `x` valid for `n` reads and writes.
#[target_feature(enable = "sve")]
unsafe fn scale_in_place(x: *mut f32, n: usize, inv: f32) {
    // SAFETY: loads and stores are `whilelo`-predicated to `[0, n)`.
    unsafe {
        core::arch::asm!(
            "mov z1.s, {inv:s}",
            "mov {i}, #0",
            "whilelo p0.s, {i}, {n}",
            "b.none 2f",
            "1:",
            "ld1w z0.s, p0/z, [{x}, {i}, lsl #2]",
            "fmul z0.s, z0.s, z1.s",
            "st1w z0.s, p0, [{x}, {i}, lsl #2]",
            "incw {i}",
            "whilelo p0.s, {i}, {n}",
            "b.first 1b",
            "2:",
            x = in(reg) x,
            n = in(reg) n,
            inv = in(vreg) inv,
            i = out(reg) _,
            out("v0") _, out("v1") _,
            out("p0") _,
            options(nostack)
        );
    }
}
