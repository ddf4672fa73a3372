//! SVE SwiGLU: `out_i = (gate_i / (1 + e^(−gate_i))) · up_i`.
//!
//! # Math
//!
//! The reference's expression ([`crate::kernels::activation::swiglu`]) lane-wise: `fneg`, the
//! vector `expf` of [`super::exp`] (Cephes polynomial + `fscale`, ≤ 2 ulp from `libm::expf`),
//! `fadd #1.0`, an IEEE `fdiv` and an `fmul` — so only the exponential differs from the
//! reference. Overflow behaves as the reference: `e^(−g) = +∞` for `g < −88.7` gives
//! `g / ∞ = −0.0`, `g = −∞` gives NaN, NaN propagates.
//!
//! # Layout and tails
//!
//! `n = min(gate.len(), up.len(), out.len())` elements, one vector per step under `whilelo`
//! (the last step partial; inactive lanes are neither loaded nor stored).
//!
//! # Tolerance vs the scalar reference
//!
//! A few ulp of `e^(−g)` become at most that many ulp of the result (the division by
//! `1 + e^(−g)` damps it): within `tests/tier_equivalence.rs::ELEMENTWISE_REL` (16 ε).
//!
//! # Registers
//!
//! `z0..z3` the exponential, `z4` gate, `z5` up, `z21..z31` constants, `p0` loop predicate,
//! `p7` all-true.

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
