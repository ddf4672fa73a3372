//! SVE activations: SwiGLU and softmax, both over the vector `exp` of [`super::exp`] (as the
//! NEON tier's `activation.rs` holds its `swiglu` and `softmax`).
//!
//! # SwiGLU
//!
//! `out_i = (gate_i / (1 + e^(−gate_i))) · up_i`.
//!
//! ## Math and order of operations
//!
//! The reference's expression ([`crate::kernels::activation::swiglu`]) lane-wise: `fneg`, the
//! float order's `exp` ([`super::exp`]), `fadd #1.0`, an IEEE `fdiv` and an `fmul`: the same
//! bits as the reference. Overflow behaves as the reference: `e^(−g) = +∞` for very negative
//! `g` gives `g / ∞ = −0.0`, `g = −∞` gives NaN, NaN propagates.
//!
//! ## Layout and tails
//!
//! `n = min(gate.len(), up.len(), out.len())` elements, one vector per step under `whilelo`
//! (the last step partial; inactive lanes are neither loaded nor stored). Element-wise, so any
//! vector length.
//!
//! ## Registers
//!
//! `z0..z3` the exponential, `z4` gate, `z5` up, `z20..z31` constants, `p0` loop predicate,
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
//! 2. `e_i = exp(x_i − m)` with the float order's `exp` ([`super::exp`]), stored back;
//!    `x_i = −∞` gives exactly `+0.0`.
//! 3. `sum = Σ_i e_i` in the float order ([`super::dot_float::sum_raw`]: 16 lanes of `fadd`,
//!    zero-padded, folded in halves; the lane registers depend on the vector length, the order
//!    does not). A NaN or `+∞` entry makes the sum NaN, so every output is NaN, as in the
//!    reference.
//! 4. `x_i ← e_i · (1 / sum)`: one scalar reciprocal (`fdiv`), then `fmul`s.
//!
//! ## Tails
//!
//! Passes 1, 2 and 4 are one vector per step under `whilelo` (inactive lanes not loaded or
//! stored); pass 3 as [`super::dot_float`].
//!
//! ## Registers
//!
//! Pass 1: `z0` running max, `z1` data. Pass 2: `z0..z3` the exponential, `z5` data, `z6`
//! broadcast `m`, `z20..z31` constants. Pass 4: `z0` data, `z1` `1 / sum`. `p0` loop
//! predicate, `p7` all-true.

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
            out("v20") _, out("v21") _, out("v22") _, out("v23") _, out("v24") _, out("v25") _,
            out("v26") _, out("v27") _, out("v28") _, out("v29") _, out("v30") _, out("v31") _,
            out("p0") _, out("p7") _,
            options(nostack)
        );
    }
}

/// Softmax in place (signature of [`crate::kernels::activation::softmax`]), the sum with `R`
/// registers of lanes ([`super::dot_float::Lanes::registers`]).
pub(super) fn softmax<const R: usize>(x: &mut [f32]) {
    let n = x.len();
    // SAFETY: reachable only through `sve::kernels` (SVE checked); `x` is valid for `n` reads
    // and writes (this and the two calls below).
    let m = unsafe { max_nan_ignoring(x.as_ptr(), n) };
    if m == f32::NEG_INFINITY {
        x.fill(0.0);
        return;
    }
    // SAFETY: as above; `R` matches the vector length (the table's choice).
    let sum = unsafe {
        exp_shifted(x.as_mut_ptr(), n, m);
        super::dot_float::sum_raw::<R>(x.as_ptr(), n)
    };
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

/// `x_i ← exp(x_i − m)` for `i < n`.
///
/// # Safety
/// The CPU must implement SVE; `x` valid for `n` reads and writes.
#[target_feature(enable = "sve")]
unsafe fn exp_shifted(x: *mut f32, n: usize, m: f32) {
    // SAFETY: loads and stores are `whilelo`-predicated to `[0, n)`; `consts` points to the 11
    // `f32`s of `EXP_CONSTS`. All written registers are declared.
    unsafe {
        core::arch::asm!(
            "ptrue p7.s",
            exp_load_consts!(),
            "mov z6.s, {m:s}",
            "mov {i}, #0",
            "whilelo p0.s, {i}, {n}",
            "b.none 2f",
            "1:",
            "ld1w z5.s, p0/z, [{x}, {i}, lsl #2]",
            "fsub z0.s, z5.s, z6.s",
            exp_z0!(),
            "st1w z0.s, p0, [{x}, {i}, lsl #2]",
            "incw {i}",
            "whilelo p0.s, {i}, {n}",
            "b.first 1b",
            "2:",
            x = in(reg) x,
            n = in(reg) n,
            m = in(vreg) m,
            consts = in(reg) EXP_CONSTS.as_ptr(),
            i = out(reg) _,
            out("v0") _, out("v1") _, out("v2") _, out("v3") _, out("v5") _, out("v6") _,
            out("v20") _, out("v21") _, out("v22") _, out("v23") _, out("v24") _, out("v25") _,
            out("v26") _, out("v27") _, out("v28") _, out("v29") _, out("v30") _, out("v31") _,
            out("p0") _, out("p7") _,
            options(nostack)
        );
    }
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
