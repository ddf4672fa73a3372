//! SVE float dot products: `f32 · f32` and `f16 · f32` (also the row kernel of the attention
//! scores, see [`super::attention`]).
//!
//! # Math
//!
//! `Σ_i w_i · x_i` over the common prefix `n = min(w.len(), x.len())`, `f16` weights widened
//! exactly to `f32` first (`ld1h` into 32-bit lanes, then `fcvt z.s, p/m, z.h`).
//!
//! # Accumulator scheme
//!
//! Four vector accumulators `z0..z3` of `f32` lanes, updated with `fmla` (one rounding per
//! multiply-add): the main loop consumes four whole vectors per step under an all-true
//! predicate while at least `4·VL` elements remain; the rest (`0 ≤ r < 4·VL`) runs one vector
//! per step under `whilelo` (the last step partial, inactive lanes neither loaded nor added). At
//! the end `(z0 + z1) + (z2 + z3)` lane-wise, then `faddv` (the architected pairwise tree).
//!
//! # Tolerance vs the scalar reference
//!
//! The reference sums in index order with separately rounded products; this is a different
//! order (and fused), so the results differ by at most the classic recursive-summation bound,
//! `2·n·ε·Σ|w_i·x_i|` (`tests/tier_equivalence.rs::sum_tolerance`). The value depends on the
//! vector length (it changes the lane partition), never on alignment.
//!
//! # Registers
//!
//! `z0..z3` accumulators, `z4..z7` weights, `z16..z19` activations, `p0` tail predicate, `p7`
//! all-true; pointers and counts in compiler-chosen general registers (advanced in place).

use half::f16;

/// f32 · f32 row dot product (signature of [`crate::kernels::dot::dot_f32_f32`]).
pub(super) fn dot_f32_f32(w: &[f32], x: &[f32]) -> f32 {
    let n = w.len().min(x.len());
    // SAFETY: this table entry is only reachable through `sve::kernels`, whose caller checked
    // that the CPU implements SVE; both pointers are valid for `n` reads.
    unsafe { dot_f32_f32_raw(w.as_ptr(), x.as_ptr(), n) }
}

/// f16 · f32 row dot product (signature of [`crate::kernels::dot::dot_f16_f32`]).
pub(super) fn dot_f16_f32(w: &[f16], x: &[f32]) -> f32 {
    let n = w.len().min(x.len());
    // SAFETY: as in `dot_f32_f32`: SVE is present and both pointers are valid for `n` reads.
    unsafe { dot_f16_f32_raw(w.as_ptr(), x.as_ptr(), n) }
}

/// `Σ_{i<n} w_i · x_i` (module docs).
///
/// # Safety
/// The CPU must implement SVE; `w` and `x` must be valid for `n` reads of `f32`.
#[target_feature(enable = "sve")]
pub(super) unsafe fn dot_f32_f32_raw(w: *const f32, x: *const f32, n: usize) -> f32 {
    let sum: f32;
    // SAFETY: the loads touch only `w[..n]` and `x[..n]` (main loop: whole vectors while
    // `4·VL ≤ remaining`; tail: `whilelo`-predicated, inactive lanes are not accessed), valid by
    // the caller's contract. Every register written is an operand or declared clobbered.
    unsafe {
        core::arch::asm!(
            "ptrue p7.s",
            "dup z0.s, #0",
            "dup z1.s, #0",
            "dup z2.s, #0",
            "dup z3.s, #0",
            "cntw {vl4}, all, mul #4",
            "cmp {n}, {vl4}",
            "b.lo 3f",
            "2:",
            "ld1w z4.s, p7/z, [{w}]",
            "ld1w z5.s, p7/z, [{w}, #1, mul vl]",
            "ld1w z6.s, p7/z, [{w}, #2, mul vl]",
            "ld1w z7.s, p7/z, [{w}, #3, mul vl]",
            "ld1w z16.s, p7/z, [{x}]",
            "ld1w z17.s, p7/z, [{x}, #1, mul vl]",
            "ld1w z18.s, p7/z, [{x}, #2, mul vl]",
            "ld1w z19.s, p7/z, [{x}, #3, mul vl]",
            "fmla z0.s, p7/m, z4.s, z16.s",
            "fmla z1.s, p7/m, z5.s, z17.s",
            "fmla z2.s, p7/m, z6.s, z18.s",
            "fmla z3.s, p7/m, z7.s, z19.s",
            "addvl {w}, {w}, #4",
            "addvl {x}, {x}, #4",
            "sub {n}, {n}, {vl4}",
            "cmp {n}, {vl4}",
            "b.hs 2b",
            "3:",
            "mov {i}, #0",
            "whilelo p0.s, {i}, {n}",
            "b.none 5f",
            "4:",
            "ld1w z4.s, p0/z, [{w}, {i}, lsl #2]",
            "ld1w z16.s, p0/z, [{x}, {i}, lsl #2]",
            "fmla z0.s, p0/m, z4.s, z16.s",
            "incw {i}",
            "whilelo p0.s, {i}, {n}",
            "b.first 4b",
            "5:",
            "fadd z0.s, z0.s, z1.s",
            "fadd z2.s, z2.s, z3.s",
            "fadd z0.s, z0.s, z2.s",
            "faddv {sum:s}, p7, z0.s",
            w = inout(reg) w => _,
            x = inout(reg) x => _,
            n = inout(reg) n => _,
            i = out(reg) _,
            vl4 = out(reg) _,
            sum = out(vreg) sum,
            out("v0") _, out("v1") _, out("v2") _, out("v3") _,
            out("v4") _, out("v5") _, out("v6") _, out("v7") _,
            out("v16") _, out("v17") _, out("v18") _, out("v19") _,
            out("p0") _, out("p7") _,
            options(nostack, readonly, pure)
        );
    }
    sum
}

/// `Σ_{i<n} f32(w_i) · x_i` (module docs).
///
/// # Safety
/// The CPU must implement SVE; `w` must be valid for `n` reads of `f16` and `x` for `n` reads
/// of `f32`.
#[target_feature(enable = "sve")]
pub(super) unsafe fn dot_f16_f32_raw(w: *const f16, x: *const f32, n: usize) -> f32 {
    let sum: f32;
    // SAFETY: as in `dot_f32_f32_raw`; `ld1h {z.s}` reads one `f16` per 32-bit lane, so a whole
    // vector of weights is `VL / 2` bytes (`[w, #k, mul vl]` scales by that footprint and the
    // main loop advances `w` by `2·VL` bytes per 4 vectors).
    unsafe {
        core::arch::asm!(
            "ptrue p7.s",
            "dup z0.s, #0",
            "dup z1.s, #0",
            "dup z2.s, #0",
            "dup z3.s, #0",
            "cntw {vl4}, all, mul #4",
            "cmp {n}, {vl4}",
            "b.lo 3f",
            "2:",
            "ld1h z4.s, p7/z, [{w}]",
            "ld1h z5.s, p7/z, [{w}, #1, mul vl]",
            "ld1h z6.s, p7/z, [{w}, #2, mul vl]",
            "ld1h z7.s, p7/z, [{w}, #3, mul vl]",
            "ld1w z16.s, p7/z, [{x}]",
            "ld1w z17.s, p7/z, [{x}, #1, mul vl]",
            "ld1w z18.s, p7/z, [{x}, #2, mul vl]",
            "ld1w z19.s, p7/z, [{x}, #3, mul vl]",
            "fcvt z4.s, p7/m, z4.h",
            "fcvt z5.s, p7/m, z5.h",
            "fcvt z6.s, p7/m, z6.h",
            "fcvt z7.s, p7/m, z7.h",
            "fmla z0.s, p7/m, z4.s, z16.s",
            "fmla z1.s, p7/m, z5.s, z17.s",
            "fmla z2.s, p7/m, z6.s, z18.s",
            "fmla z3.s, p7/m, z7.s, z19.s",
            "addvl {w}, {w}, #2",
            "addvl {x}, {x}, #4",
            "sub {n}, {n}, {vl4}",
            "cmp {n}, {vl4}",
            "b.hs 2b",
            "3:",
            "mov {i}, #0",
            "whilelo p0.s, {i}, {n}",
            "b.none 5f",
            "4:",
            "ld1h z4.s, p0/z, [{w}, {i}, lsl #1]",
            "ld1w z16.s, p0/z, [{x}, {i}, lsl #2]",
            "fcvt z4.s, p0/m, z4.h",
            "fmla z0.s, p0/m, z4.s, z16.s",
            "incw {i}",
            "whilelo p0.s, {i}, {n}",
            "b.first 4b",
            "5:",
            "fadd z0.s, z0.s, z1.s",
            "fadd z2.s, z2.s, z3.s",
            "fadd z0.s, z0.s, z2.s",
            "faddv {sum:s}, p7, z0.s",
            w = inout(reg) w => _,
            x = inout(reg) x => _,
            n = inout(reg) n => _,
            i = out(reg) _,
            vl4 = out(reg) _,
            sum = out(vreg) sum,
            out("v0") _, out("v1") _, out("v2") _, out("v3") _,
            out("v4") _, out("v5") _, out("v6") _, out("v7") _,
            out("v16") _, out("v17") _, out("v18") _, out("v19") _,
            out("p0") _, out("p7") _,
            options(nostack, readonly, pure)
        );
    }
    sum
}
