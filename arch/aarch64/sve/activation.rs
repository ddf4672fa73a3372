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
//! 3. In the same loop, `sum = Σ_i e_i` in the float order: 16 lanes of `fadd`, laid out as the
//!    dot products' ([`super::dot_float::Lanes`]: four registers at 128 bits, two at 256, one
//!    limited to 16 lanes from 512), then the same fold in halves. Each step covers one
//!    16-element chunk, one register at a time under its `whilelo` predicate; the lanes past
//!    `n` keep their value, which is what the reference's padding `lane + 0.0` gives here (a
//!    lane starts at `+0.0` and only adds values `≥ +0.0` or NaN, so it is never `−0.0`). A NaN
//!    or `+∞` entry makes the sum NaN, so every output is NaN, as in the reference.
//! 4. `x_i ← e_i · (1 / sum)`: one scalar reciprocal (`fdiv`), then `fmul`s.
//!
//! ## Tails
//!
//! Passes 1 and 4 are one vector per step under `whilelo` (inactive lanes not loaded or
//! stored); passes 2–3 as above.
//!
//! ## Registers
//!
//! Pass 1: `z0` running max, `z1` data. Passes 2–3: `z0..z3` the exponential (then the fold),
//! `z5` data, `z6` broadcast `m`, `z7`, `z16..z18` the lanes of the sum, `z20..z31` constants,
//! `p6` the 16-lane predicate (512 bits or more). Pass 4: `z0` data, `z1` `1 / sum`. `p0` loop
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
    let sum = unsafe { exp_shifted_sum::<R>(x.as_mut_ptr(), n, m) };
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

/// `x_i ← exp(x_i − m)` for `i < n`, returning `Σ_i x_i` in the float order (module docs,
/// passes 2 and 3), `R` registers of lanes.
///
/// # Safety
/// The CPU must implement SVE with the vector length of `R`
/// ([`super::dot_float::Lanes::registers`]); `x` valid for `n` reads and writes.
#[inline(always)]
unsafe fn exp_shifted_sum<const R: usize>(x: *mut f32, n: usize, m: f32) -> f32 {
    // SAFETY: forwarded contract.
    unsafe {
        match R {
            4 => exp_shifted_sum_r4(x, n, m),
            2 => exp_shifted_sum_r2(x, n, m),
            _ => exp_shifted_sum_r1(x, n, m),
        }
    }
}

/// `x_i ← exp(x_i − m)` for `i < n`, returning `Σ_i x_i` in the float order at a vector
/// length of 128 bits (module docs, passes 2 and 3).
///
/// # Safety
/// The CPU must implement SVE with that vector length; `x` valid for `n` reads and writes.
#[target_feature(enable = "sve")]
unsafe fn exp_shifted_sum_r4(x: *mut f32, n: usize, m: f32) -> f32 {
    let sum: f32;
    // SAFETY: loads and stores are `whilelo`-predicated to `[0, n)`; `consts` points to the 12
    // `f32`s of `EXP_CONSTS`. All written registers are declared.
    unsafe {
        core::arch::asm!(
            "ptrue p7.s",
            exp_load_consts!(),
            "mov z6.s, {m:s}",
            "dup z7.s, #0",
            "dup z16.s, #0",
            "dup z17.s, #0",
            "dup z18.s, #0",
            "mov {i}, #0",
            "cbz {n}, 2f",
            "1:",
            "whilelo p0.s, {i}, {n}",
            "ld1w z5.s, p0/z, [{x}, {i}, lsl #2]",
            "fsub z0.s, z5.s, z6.s",
            exp_z0!(),
            "st1w z0.s, p0, [{x}, {i}, lsl #2]",
            "fadd z7.s, p0/m, z7.s, z0.s",
            "incw {i}",
            "whilelo p0.s, {i}, {n}",
            "ld1w z5.s, p0/z, [{x}, {i}, lsl #2]",
            "fsub z0.s, z5.s, z6.s",
            exp_z0!(),
            "st1w z0.s, p0, [{x}, {i}, lsl #2]",
            "fadd z16.s, p0/m, z16.s, z0.s",
            "incw {i}",
            "whilelo p0.s, {i}, {n}",
            "ld1w z5.s, p0/z, [{x}, {i}, lsl #2]",
            "fsub z0.s, z5.s, z6.s",
            exp_z0!(),
            "st1w z0.s, p0, [{x}, {i}, lsl #2]",
            "fadd z17.s, p0/m, z17.s, z0.s",
            "incw {i}",
            "whilelo p0.s, {i}, {n}",
            "ld1w z5.s, p0/z, [{x}, {i}, lsl #2]",
            "fsub z0.s, z5.s, z6.s",
            exp_z0!(),
            "st1w z0.s, p0, [{x}, {i}, lsl #2]",
            "fadd z18.s, p0/m, z18.s, z0.s",
            "incw {i}",
            "cmp {i}, {n}",
            "b.lo 1b",
            "2:",
            "mov z0.d, z7.d",
            "mov z1.d, z16.d",
            "mov z2.d, z17.d",
            "mov z3.d, z18.d",
            "fadd v0.4s, v0.4s, v2.4s",
            "fadd v1.4s, v1.4s, v3.4s",
            "fadd v0.4s, v0.4s, v1.4s",
            "ext v1.16b, v0.16b, v0.16b, #8",
            "fadd v0.2s, v0.2s, v1.2s",
            "faddp s0, v0.2s",
            x = in(reg) x,
            n = in(reg) n,
            m = in(vreg) m,
            consts = in(reg) EXP_CONSTS.as_ptr(),
            i = out(reg) _,
            out("v0") sum,
            out("v1") _, out("v2") _, out("v3") _, out("v5") _, out("v6") _, out("v7") _,
            out("v16") _, out("v17") _, out("v18") _,
            out("v20") _, out("v21") _, out("v22") _, out("v23") _, out("v24") _, out("v25") _,
            out("v26") _, out("v27") _, out("v28") _, out("v29") _, out("v30") _, out("v31") _,
            out("p0") _, out("p6") _, out("p7") _,
            options(nostack)
        );
    }
    sum
}

/// `x_i ← exp(x_i − m)` for `i < n`, returning `Σ_i x_i` in the float order at a vector
/// length of 256 bits (module docs, passes 2 and 3).
///
/// # Safety
/// The CPU must implement SVE with that vector length; `x` valid for `n` reads and writes.
#[target_feature(enable = "sve")]
unsafe fn exp_shifted_sum_r2(x: *mut f32, n: usize, m: f32) -> f32 {
    let sum: f32;
    // SAFETY: loads and stores are `whilelo`-predicated to `[0, n)`; `consts` points to the 12
    // `f32`s of `EXP_CONSTS`. All written registers are declared.
    unsafe {
        core::arch::asm!(
            "ptrue p7.s",
            exp_load_consts!(),
            "mov z6.s, {m:s}",
            "dup z7.s, #0",
            "dup z16.s, #0",
            "mov {i}, #0",
            "cbz {n}, 2f",
            "1:",
            "whilelo p0.s, {i}, {n}",
            "ld1w z5.s, p0/z, [{x}, {i}, lsl #2]",
            "fsub z0.s, z5.s, z6.s",
            exp_z0!(),
            "st1w z0.s, p0, [{x}, {i}, lsl #2]",
            "fadd z7.s, p0/m, z7.s, z0.s",
            "incw {i}",
            "whilelo p0.s, {i}, {n}",
            "ld1w z5.s, p0/z, [{x}, {i}, lsl #2]",
            "fsub z0.s, z5.s, z6.s",
            exp_z0!(),
            "st1w z0.s, p0, [{x}, {i}, lsl #2]",
            "fadd z16.s, p0/m, z16.s, z0.s",
            "incw {i}",
            "cmp {i}, {n}",
            "b.lo 1b",
            "2:",
            "mov z0.d, z7.d",
            "mov z1.d, z16.d",
            "dup z2.q, z0.q[1]",
            "dup z3.q, z1.q[1]",
            "fadd v0.4s, v0.4s, v1.4s",
            "fadd v2.4s, v2.4s, v3.4s",
            "fadd v0.4s, v0.4s, v2.4s",
            "ext v1.16b, v0.16b, v0.16b, #8",
            "fadd v0.2s, v0.2s, v1.2s",
            "faddp s0, v0.2s",
            x = in(reg) x,
            n = in(reg) n,
            m = in(vreg) m,
            consts = in(reg) EXP_CONSTS.as_ptr(),
            i = out(reg) _,
            out("v0") sum,
            out("v1") _, out("v2") _, out("v3") _, out("v5") _, out("v6") _, out("v7") _,
            out("v16") _, out("v17") _, out("v18") _,
            out("v20") _, out("v21") _, out("v22") _, out("v23") _, out("v24") _, out("v25") _,
            out("v26") _, out("v27") _, out("v28") _, out("v29") _, out("v30") _, out("v31") _,
            out("p0") _, out("p6") _, out("p7") _,
            options(nostack)
        );
    }
    sum
}

/// `x_i ← exp(x_i − m)` for `i < n`, returning `Σ_i x_i` in the float order at a vector
/// length of 512 or more bits (module docs, passes 2 and 3).
///
/// # Safety
/// The CPU must implement SVE with that vector length; `x` valid for `n` reads and writes.
#[target_feature(enable = "sve")]
unsafe fn exp_shifted_sum_r1(x: *mut f32, n: usize, m: f32) -> f32 {
    let sum: f32;
    // SAFETY: loads and stores are `whilelo`-predicated to `[0, n)`; `consts` points to the 12
    // `f32`s of `EXP_CONSTS`. All written registers are declared.
    unsafe {
        core::arch::asm!(
            "ptrue p7.s",
            "ptrue p6.s, vl16",
            exp_load_consts!(),
            "mov z6.s, {m:s}",
            "dup z7.s, #0",
            "mov {i}, #0",
            "whilelo p0.s, {i}, {n}",
            "b.none 2f",
            "1:",
            "and p0.b, p6/z, p0.b, p0.b",
            "ld1w z5.s, p0/z, [{x}, {i}, lsl #2]",
            "fsub z0.s, z5.s, z6.s",
            exp_z0!(),
            "st1w z0.s, p0, [{x}, {i}, lsl #2]",
            "fadd z7.s, p0/m, z7.s, z0.s",
            "add {i}, {i}, #16",
            "whilelo p0.s, {i}, {n}",
            "b.first 1b",
            "2:",
            "mov z0.d, z7.d",
            "dup z1.q, z0.q[1]",
            "dup z2.q, z0.q[2]",
            "dup z3.q, z0.q[3]",
            "fadd v0.4s, v0.4s, v2.4s",
            "fadd v1.4s, v1.4s, v3.4s",
            "fadd v0.4s, v0.4s, v1.4s",
            "ext v1.16b, v0.16b, v0.16b, #8",
            "fadd v0.2s, v0.2s, v1.2s",
            "faddp s0, v0.2s",
            x = in(reg) x,
            n = in(reg) n,
            m = in(vreg) m,
            consts = in(reg) EXP_CONSTS.as_ptr(),
            i = out(reg) _,
            out("v0") sum,
            out("v1") _, out("v2") _, out("v3") _, out("v5") _, out("v6") _, out("v7") _,
            out("v16") _, out("v17") _, out("v18") _,
            out("v20") _, out("v21") _, out("v22") _, out("v23") _, out("v24") _, out("v25") _,
            out("v26") _, out("v27") _, out("v28") _, out("v29") _, out("v30") _, out("v31") _,
            out("p0") _, out("p6") _, out("p7") _,
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
