//! SVE float dot products: `f32 · f32` and `f16 · f32` (also the row kernel of the attention
//! scores and the sum of squares of RMSNorm).
//!
//! # Math and order of operations
//!
//! `Σ_i w_i · x_i` over the common prefix `n = min(w.len(), x.len())`, `f16` weights widened
//! exactly to `f32` first (`ld1h` into 32-bit lanes, then `fcvt z.s, p/m, z.h`), in the float
//! order of [`crate::kernels::float`]: 16 lanes, `lane[i % 16] = fma(w_i, x_i, lane[i % 16])`
//! (`fmla`), the last chunk zero-padded, then folded in halves. The same bits as the scalar
//! reference and every other tier, at every vector length.
//!
//! # Accumulator scheme, by vector length ([`Lanes`])
//!
//! - 128 bits: the 16 lanes are four registers `z0..z3` (lanes 0–3, 4–7, 8–11, 12–15);
//! - 256 bits: two registers `z0`, `z1` (lanes 0–7, 8–15);
//! - 512 bits or more: one register `z0` under the 16-lane predicate `p7 = ptrue vl16` (the
//!   lanes above 15 stay inactive and are never read);
//! - any other length (384 bits): the tier's table keeps the NEON kernels for every float sum
//!   (every SVE CPU has NEON, and the NEON kernels follow the same order).
//!
//! The main loop consumes whole 16-element chunks under `p7`, one per step at 128 bits and two
//! per step at 256 bits and beyond (the second chunk's `fmla`s after the first's, into the
//! same lanes, so the order is the one-chunk order; then at most one more whole chunk). Loads
//! use an element index and one base pointer per register of the step. A last partial chunk
//! (`0 < n % 16`) is loaded with zeroing `whilelo` predicates (one per register), so its padding
//! lanes are `+0.0` and go through the same `fmla` under `p7` as the reference's padding. The
//! fold: lanes `i + 8`, then `i + 4` (the 128-bit quarters, `dup z.q` to bring a quarter down,
//! then `fadd` of `(q0 + q2) + (q1 + q3)`), then `i + 2` (`ext` by 8 bytes, `fadd`), then lane
//! 1 onto lane 0 (`faddp`).
//!
//! # Registers
//!
//! `z0..z3` accumulators, `z4..z7` weights, `z16..z19` activations, `p0..p3` tail predicates,
//! `p7` the (16-lane) all-true predicate; base pointers, the index and counts in
//! compiler-chosen general registers.

use half::f16;

/// How the 16 lanes of the float order map to SVE registers at a vector length (module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Lanes {
    /// 128 bits: four registers.
    Four,
    /// 256 bits: two registers.
    Two,
    /// 512 bits or more: one register under a 16-lane predicate.
    One,
}

impl Lanes {
    /// The mapping at `bits` of vector length, or `None` where none applies (384 bits): the
    /// NEON float kernels run there.
    pub(super) fn at(bits: usize) -> Option<Self> {
        match bits {
            128 => Some(Lanes::Four),
            256 => Some(Lanes::Two),
            b if b >= 512 => Some(Lanes::One),
            _ => None,
        }
    }

    /// The const parameter `R` (registers) of the kernels of this mapping.
    pub(super) const fn registers(self) -> usize {
        match self {
            Lanes::Four => 4,
            Lanes::Two => 2,
            Lanes::One => 1,
        }
    }
}

/// f32 · f32 row dot product (signature of [`crate::kernels::dot::dot_f32_f32`]) with `R`
/// registers of lanes ([`Lanes::registers`]).
pub(super) fn dot_f32_f32<const R: usize>(w: &[f32], x: &[f32]) -> f32 {
    let n = w.len().min(x.len());
    // SAFETY: this table entry is only reachable through `sve::kernels`, whose caller checked
    // that the CPU implements SVE, and which picks `R` for the CPU's vector length; both
    // pointers are valid for `n` reads.
    unsafe { dot_f32_f32_raw::<R>(w.as_ptr(), x.as_ptr(), n) }
}

/// f16 · f32 row dot product (signature of [`crate::kernels::dot::dot_f16_f32`]) with `R`
/// registers of lanes.
pub(super) fn dot_f16_f32<const R: usize>(w: &[f16], x: &[f32]) -> f32 {
    let n = w.len().min(x.len());
    // SAFETY: as in `dot_f32_f32`: SVE at the vector length of `R`, both pointers valid for
    // `n` reads.
    unsafe { dot_f16_f32_raw::<R>(w.as_ptr(), x.as_ptr(), n) }
}

/// `Σ_{i<n} w_i · x_i` in the float order (module docs), `R` registers of lanes.
///
/// # Safety
/// The CPU must implement SVE with the vector length of `R` ([`Lanes::registers`]: 4 at 128
/// bits, 2 at 256, 1 at 512 or more); `w` and `x` must be valid for `n` reads of `f32`.
#[inline(always)]
pub(super) unsafe fn dot_f32_f32_raw<const R: usize>(
    w: *const f32,
    x: *const f32,
    n: usize,
) -> f32 {
    // SAFETY: forwarded contract.
    unsafe {
        match R {
            4 => dot_f32_raw_r4(w, x, n),
            2 => dot_f32_raw_r2(w, x, n),
            _ => dot_f32_raw_r1(w, x, n),
        }
    }
}

/// `Σ_{i<n} f32(w_i) · x_i` in the float order (module docs), `R` registers of lanes.
///
/// # Safety
/// As [`dot_f32_f32_raw`], with `w` valid for `n` reads of `f16`.
#[inline(always)]
pub(super) unsafe fn dot_f16_f32_raw<const R: usize>(
    w: *const f16,
    x: *const f32,
    n: usize,
) -> f32 {
    // SAFETY: forwarded contract.
    unsafe {
        match R {
            4 => dot_f16_raw_r4(w, x, n),
            2 => dot_f16_raw_r2(w, x, n),
            _ => dot_f16_raw_r1(w, x, n),
        }
    }
}

/// `Σ_{i<n} w_i · x_i` in the float order at a vector length of 128 bits:
/// the 16 lanes in four 128-bit registers `z0..z3`.
///
/// # Safety
/// The CPU must implement SVE with that vector length; `w` and `x` valid for `n` reads.
#[target_feature(enable = "sve")]
unsafe fn dot_f32_raw_r4(w: *const f32, x: *const f32, n: usize) -> f32 {
    let sum: f32;
    // SAFETY: the loads touch only the first `n` elements (whole 16-element chunks at
    // `i + 16 ≤ n`, then one chunk under `whilelo` predicates whose inactive lanes are not
    // accessed), valid by the caller's contract; the extra base pointers are only
    // dereferenced at those elements. Every register written is an operand or declared
    // clobbered.
    unsafe {
        core::arch::asm!(
            "ptrue p7.s",
            "dup z0.s, #0",
            "dup z1.s, #0",
            "dup z2.s, #0",
            "dup z3.s, #0",
            "add {w1}, {w}, #16",
            "add {x1}, {x}, #16",
            "add {w2}, {w}, #32",
            "add {x2}, {x}, #32",
            "add {w3}, {w}, #48",
            "add {x3}, {x}, #48",
            "mov {i}, #0",
            "subs {t}, {n}, #16",
            "b.lo 3f",
            "2:",
            "ld1w z4.s, p7/z, [{w}, {i}, lsl #2]",
            "ld1w z5.s, p7/z, [{w1}, {i}, lsl #2]",
            "ld1w z6.s, p7/z, [{w2}, {i}, lsl #2]",
            "ld1w z7.s, p7/z, [{w3}, {i}, lsl #2]",
            "ld1w z16.s, p7/z, [{x}, {i}, lsl #2]",
            "ld1w z17.s, p7/z, [{x1}, {i}, lsl #2]",
            "ld1w z18.s, p7/z, [{x2}, {i}, lsl #2]",
            "ld1w z19.s, p7/z, [{x3}, {i}, lsl #2]",
            "fmla z0.s, p7/m, z4.s, z16.s",
            "fmla z1.s, p7/m, z5.s, z17.s",
            "fmla z2.s, p7/m, z6.s, z18.s",
            "fmla z3.s, p7/m, z7.s, z19.s",
            "add {i}, {i}, #16",
            "cmp {i}, {t}",
            "b.ls 2b",
            "3:",
            "cmp {i}, {n}",
            "b.hs 5f",
            "whilelo p0.s, {i}, {n}",
            "add {t}, {i}, #4",
            "whilelo p1.s, {t}, {n}",
            "add {t}, {i}, #8",
            "whilelo p2.s, {t}, {n}",
            "add {t}, {i}, #12",
            "whilelo p3.s, {t}, {n}",
            "ld1w z4.s, p0/z, [{w}, {i}, lsl #2]",
            "ld1w z5.s, p1/z, [{w1}, {i}, lsl #2]",
            "ld1w z6.s, p2/z, [{w2}, {i}, lsl #2]",
            "ld1w z7.s, p3/z, [{w3}, {i}, lsl #2]",
            "ld1w z16.s, p0/z, [{x}, {i}, lsl #2]",
            "ld1w z17.s, p1/z, [{x1}, {i}, lsl #2]",
            "ld1w z18.s, p2/z, [{x2}, {i}, lsl #2]",
            "ld1w z19.s, p3/z, [{x3}, {i}, lsl #2]",
            "fmla z0.s, p7/m, z4.s, z16.s",
            "fmla z1.s, p7/m, z5.s, z17.s",
            "fmla z2.s, p7/m, z6.s, z18.s",
            "fmla z3.s, p7/m, z7.s, z19.s",
            "5:",
            "fadd v0.4s, v0.4s, v2.4s",
            "fadd v1.4s, v1.4s, v3.4s",
            "fadd v0.4s, v0.4s, v1.4s",
            "ext v1.16b, v0.16b, v0.16b, #8",
            "fadd v0.2s, v0.2s, v1.2s",
            "faddp s0, v0.2s",
            w = in(reg) w,
            x = in(reg) x,
            w1 = out(reg) _,
            x1 = out(reg) _,
            w2 = out(reg) _,
            x2 = out(reg) _,
            w3 = out(reg) _,
            x3 = out(reg) _,
            n = in(reg) n,
            i = out(reg) _,
            t = out(reg) _,
            out("v0") sum,
            out("v1") _, out("v2") _, out("v3") _,
            out("v4") _, out("v5") _, out("v6") _, out("v7") _,
            out("v16") _, out("v17") _, out("v18") _, out("v19") _,
            out("p0") _, out("p1") _, out("p2") _, out("p3") _, out("p7") _,
            options(nostack, readonly, pure)
        );
    }
    sum
}

/// `Σ_{i<n} w_i · x_i` in the float order at a vector length of 256 bits:
/// the 16 lanes in two 256-bit registers `z0`, `z1`.
///
/// # Safety
/// The CPU must implement SVE with that vector length; `w` and `x` valid for `n` reads.
#[target_feature(enable = "sve")]
unsafe fn dot_f32_raw_r2(w: *const f32, x: *const f32, n: usize) -> f32 {
    let sum: f32;
    // SAFETY: the loads touch only the first `n` elements (whole 16-element chunks at
    // `i + 16 ≤ n`, then one chunk under `whilelo` predicates whose inactive lanes are not
    // accessed), valid by the caller's contract; the extra base pointers are only
    // dereferenced at those elements. Every register written is an operand or declared
    // clobbered.
    unsafe {
        core::arch::asm!(
            "ptrue p7.s",
            "dup z0.s, #0",
            "dup z1.s, #0",
            "add {w1}, {w}, #32",
            "add {x1}, {x}, #32",
            "add {w2}, {w}, #64",
            "add {x2}, {x}, #64",
            "add {w3}, {w}, #96",
            "add {x3}, {x}, #96",
            "mov {i}, #0",
            "subs {t}, {n}, #32",
            "b.lo 3f",
            "2:",
            "ld1w z4.s, p7/z, [{w}, {i}, lsl #2]",
            "ld1w z5.s, p7/z, [{w1}, {i}, lsl #2]",
            "ld1w z6.s, p7/z, [{w2}, {i}, lsl #2]",
            "ld1w z7.s, p7/z, [{w3}, {i}, lsl #2]",
            "ld1w z16.s, p7/z, [{x}, {i}, lsl #2]",
            "ld1w z17.s, p7/z, [{x1}, {i}, lsl #2]",
            "ld1w z18.s, p7/z, [{x2}, {i}, lsl #2]",
            "ld1w z19.s, p7/z, [{x3}, {i}, lsl #2]",
            "fmla z0.s, p7/m, z4.s, z16.s",
            "fmla z1.s, p7/m, z5.s, z17.s",
            "fmla z0.s, p7/m, z6.s, z18.s",
            "fmla z1.s, p7/m, z7.s, z19.s",
            "add {i}, {i}, #32",
            "cmp {i}, {t}",
            "b.ls 2b",
            "3:",
            "sub {t}, {n}, {i}",
            "cmp {t}, #16",
            "b.lo 4f",
            "ld1w z4.s, p7/z, [{w}, {i}, lsl #2]",
            "ld1w z5.s, p7/z, [{w1}, {i}, lsl #2]",
            "ld1w z16.s, p7/z, [{x}, {i}, lsl #2]",
            "ld1w z17.s, p7/z, [{x1}, {i}, lsl #2]",
            "fmla z0.s, p7/m, z4.s, z16.s",
            "fmla z1.s, p7/m, z5.s, z17.s",
            "add {i}, {i}, #16",
            "4:",
            "cmp {i}, {n}",
            "b.hs 5f",
            "whilelo p0.s, {i}, {n}",
            "add {t}, {i}, #8",
            "whilelo p1.s, {t}, {n}",
            "ld1w z4.s, p0/z, [{w}, {i}, lsl #2]",
            "ld1w z5.s, p1/z, [{w1}, {i}, lsl #2]",
            "ld1w z16.s, p0/z, [{x}, {i}, lsl #2]",
            "ld1w z17.s, p1/z, [{x1}, {i}, lsl #2]",
            "fmla z0.s, p7/m, z4.s, z16.s",
            "fmla z1.s, p7/m, z5.s, z17.s",
            "5:",
            "dup z2.q, z0.q[1]",
            "dup z3.q, z1.q[1]",
            "fadd v0.4s, v0.4s, v1.4s",
            "fadd v2.4s, v2.4s, v3.4s",
            "fadd v0.4s, v0.4s, v2.4s",
            "ext v1.16b, v0.16b, v0.16b, #8",
            "fadd v0.2s, v0.2s, v1.2s",
            "faddp s0, v0.2s",
            w = in(reg) w,
            x = in(reg) x,
            w1 = out(reg) _,
            x1 = out(reg) _,
            w2 = out(reg) _,
            x2 = out(reg) _,
            w3 = out(reg) _,
            x3 = out(reg) _,
            n = in(reg) n,
            i = out(reg) _,
            t = out(reg) _,
            out("v0") sum,
            out("v1") _, out("v2") _, out("v3") _,
            out("v4") _, out("v5") _, out("v6") _, out("v7") _,
            out("v16") _, out("v17") _, out("v18") _, out("v19") _,
            out("p0") _, out("p1") _, out("p2") _, out("p3") _, out("p7") _,
            options(nostack, readonly, pure)
        );
    }
    sum
}

/// `Σ_{i<n} w_i · x_i` in the float order at a vector length of 512 or more bits:
/// the 16 lanes in one register `z0` under the 16-lane predicate `ptrue p7.s, vl16`.
///
/// # Safety
/// The CPU must implement SVE with that vector length; `w` and `x` valid for `n` reads.
#[target_feature(enable = "sve")]
unsafe fn dot_f32_raw_r1(w: *const f32, x: *const f32, n: usize) -> f32 {
    let sum: f32;
    // SAFETY: the loads touch only the first `n` elements (whole 16-element chunks at
    // `i + 16 ≤ n`, then one chunk under `whilelo` predicates whose inactive lanes are not
    // accessed), valid by the caller's contract; the extra base pointers are only
    // dereferenced at those elements. Every register written is an operand or declared
    // clobbered.
    unsafe {
        core::arch::asm!(
            "ptrue p7.s, vl16",
            "dup z0.s, #0",
            "add {w1}, {w}, #64",
            "add {x1}, {x}, #64",
            "mov {i}, #0",
            "subs {t}, {n}, #32",
            "b.lo 3f",
            "2:",
            "ld1w z4.s, p7/z, [{w}, {i}, lsl #2]",
            "ld1w z5.s, p7/z, [{w1}, {i}, lsl #2]",
            "ld1w z16.s, p7/z, [{x}, {i}, lsl #2]",
            "ld1w z17.s, p7/z, [{x1}, {i}, lsl #2]",
            "fmla z0.s, p7/m, z4.s, z16.s",
            "fmla z0.s, p7/m, z5.s, z17.s",
            "add {i}, {i}, #32",
            "cmp {i}, {t}",
            "b.ls 2b",
            "3:",
            "sub {t}, {n}, {i}",
            "cmp {t}, #16",
            "b.lo 4f",
            "ld1w z4.s, p7/z, [{w}, {i}, lsl #2]",
            "ld1w z16.s, p7/z, [{x}, {i}, lsl #2]",
            "fmla z0.s, p7/m, z4.s, z16.s",
            "add {i}, {i}, #16",
            "4:",
            "cmp {i}, {n}",
            "b.hs 5f",
            "whilelo p0.s, {i}, {n}",
            "ld1w z4.s, p0/z, [{w}, {i}, lsl #2]",
            "ld1w z16.s, p0/z, [{x}, {i}, lsl #2]",
            "fmla z0.s, p7/m, z4.s, z16.s",
            "5:",
            "dup z1.q, z0.q[1]",
            "dup z2.q, z0.q[2]",
            "dup z3.q, z0.q[3]",
            "fadd v0.4s, v0.4s, v2.4s",
            "fadd v1.4s, v1.4s, v3.4s",
            "fadd v0.4s, v0.4s, v1.4s",
            "ext v1.16b, v0.16b, v0.16b, #8",
            "fadd v0.2s, v0.2s, v1.2s",
            "faddp s0, v0.2s",
            w = in(reg) w,
            x = in(reg) x,
            w1 = out(reg) _,
            x1 = out(reg) _,
            n = in(reg) n,
            i = out(reg) _,
            t = out(reg) _,
            out("v0") sum,
            out("v1") _, out("v2") _, out("v3") _,
            out("v4") _, out("v5") _, out("v6") _, out("v7") _,
            out("v16") _, out("v17") _, out("v18") _, out("v19") _,
            out("p0") _, out("p1") _, out("p2") _, out("p3") _, out("p7") _,
            options(nostack, readonly, pure)
        );
    }
    sum
}

/// `Σ_{i<n} f32(w_i) · x_i` in the float order at a vector length of 128 bits:
/// the 16 lanes in four 128-bit registers `z0..z3`.
///
/// # Safety
/// The CPU must implement SVE with that vector length; `w` (f16) and `x` valid for `n` reads.
#[target_feature(enable = "sve")]
unsafe fn dot_f16_raw_r4(w: *const f16, x: *const f32, n: usize) -> f32 {
    let sum: f32;
    // SAFETY: the loads touch only the first `n` elements (whole 16-element chunks at
    // `i + 16 ≤ n`, then one chunk under `whilelo` predicates whose inactive lanes are not
    // accessed), valid by the caller's contract; the extra base pointers are only
    // dereferenced at those elements. Every register written is an operand or declared
    // clobbered.
    unsafe {
        core::arch::asm!(
            "ptrue p7.s",
            "dup z0.s, #0",
            "dup z1.s, #0",
            "dup z2.s, #0",
            "dup z3.s, #0",
            "add {w1}, {w}, #8",
            "add {x1}, {x}, #16",
            "add {w2}, {w}, #16",
            "add {x2}, {x}, #32",
            "add {w3}, {w}, #24",
            "add {x3}, {x}, #48",
            "mov {i}, #0",
            "subs {t}, {n}, #16",
            "b.lo 3f",
            "2:",
            "ld1h z4.s, p7/z, [{w}, {i}, lsl #1]",
            "ld1h z5.s, p7/z, [{w1}, {i}, lsl #1]",
            "ld1h z6.s, p7/z, [{w2}, {i}, lsl #1]",
            "ld1h z7.s, p7/z, [{w3}, {i}, lsl #1]",
            "ld1w z16.s, p7/z, [{x}, {i}, lsl #2]",
            "ld1w z17.s, p7/z, [{x1}, {i}, lsl #2]",
            "ld1w z18.s, p7/z, [{x2}, {i}, lsl #2]",
            "ld1w z19.s, p7/z, [{x3}, {i}, lsl #2]",
            "fcvt z4.s, p7/m, z4.h",
            "fcvt z5.s, p7/m, z5.h",
            "fcvt z6.s, p7/m, z6.h",
            "fcvt z7.s, p7/m, z7.h",
            "fmla z0.s, p7/m, z4.s, z16.s",
            "fmla z1.s, p7/m, z5.s, z17.s",
            "fmla z2.s, p7/m, z6.s, z18.s",
            "fmla z3.s, p7/m, z7.s, z19.s",
            "add {i}, {i}, #16",
            "cmp {i}, {t}",
            "b.ls 2b",
            "3:",
            "cmp {i}, {n}",
            "b.hs 5f",
            "whilelo p0.s, {i}, {n}",
            "add {t}, {i}, #4",
            "whilelo p1.s, {t}, {n}",
            "add {t}, {i}, #8",
            "whilelo p2.s, {t}, {n}",
            "add {t}, {i}, #12",
            "whilelo p3.s, {t}, {n}",
            "ld1h z4.s, p0/z, [{w}, {i}, lsl #1]",
            "ld1h z5.s, p1/z, [{w1}, {i}, lsl #1]",
            "ld1h z6.s, p2/z, [{w2}, {i}, lsl #1]",
            "ld1h z7.s, p3/z, [{w3}, {i}, lsl #1]",
            "ld1w z16.s, p0/z, [{x}, {i}, lsl #2]",
            "ld1w z17.s, p1/z, [{x1}, {i}, lsl #2]",
            "ld1w z18.s, p2/z, [{x2}, {i}, lsl #2]",
            "ld1w z19.s, p3/z, [{x3}, {i}, lsl #2]",
            "fcvt z4.s, p7/m, z4.h",
            "fcvt z5.s, p7/m, z5.h",
            "fcvt z6.s, p7/m, z6.h",
            "fcvt z7.s, p7/m, z7.h",
            "fmla z0.s, p7/m, z4.s, z16.s",
            "fmla z1.s, p7/m, z5.s, z17.s",
            "fmla z2.s, p7/m, z6.s, z18.s",
            "fmla z3.s, p7/m, z7.s, z19.s",
            "5:",
            "fadd v0.4s, v0.4s, v2.4s",
            "fadd v1.4s, v1.4s, v3.4s",
            "fadd v0.4s, v0.4s, v1.4s",
            "ext v1.16b, v0.16b, v0.16b, #8",
            "fadd v0.2s, v0.2s, v1.2s",
            "faddp s0, v0.2s",
            w = in(reg) w,
            x = in(reg) x,
            w1 = out(reg) _,
            x1 = out(reg) _,
            w2 = out(reg) _,
            x2 = out(reg) _,
            w3 = out(reg) _,
            x3 = out(reg) _,
            n = in(reg) n,
            i = out(reg) _,
            t = out(reg) _,
            out("v0") sum,
            out("v1") _, out("v2") _, out("v3") _,
            out("v4") _, out("v5") _, out("v6") _, out("v7") _,
            out("v16") _, out("v17") _, out("v18") _, out("v19") _,
            out("p0") _, out("p1") _, out("p2") _, out("p3") _, out("p7") _,
            options(nostack, readonly, pure)
        );
    }
    sum
}

/// `Σ_{i<n} f32(w_i) · x_i` in the float order at a vector length of 256 bits:
/// the 16 lanes in two 256-bit registers `z0`, `z1`.
///
/// # Safety
/// The CPU must implement SVE with that vector length; `w` (f16) and `x` valid for `n` reads.
#[target_feature(enable = "sve")]
unsafe fn dot_f16_raw_r2(w: *const f16, x: *const f32, n: usize) -> f32 {
    let sum: f32;
    // SAFETY: the loads touch only the first `n` elements (whole 16-element chunks at
    // `i + 16 ≤ n`, then one chunk under `whilelo` predicates whose inactive lanes are not
    // accessed), valid by the caller's contract; the extra base pointers are only
    // dereferenced at those elements. Every register written is an operand or declared
    // clobbered.
    unsafe {
        core::arch::asm!(
            "ptrue p7.s",
            "dup z0.s, #0",
            "dup z1.s, #0",
            "add {w1}, {w}, #16",
            "add {x1}, {x}, #32",
            "add {w2}, {w}, #32",
            "add {x2}, {x}, #64",
            "add {w3}, {w}, #48",
            "add {x3}, {x}, #96",
            "mov {i}, #0",
            "subs {t}, {n}, #32",
            "b.lo 3f",
            "2:",
            "ld1h z4.s, p7/z, [{w}, {i}, lsl #1]",
            "ld1h z5.s, p7/z, [{w1}, {i}, lsl #1]",
            "ld1h z6.s, p7/z, [{w2}, {i}, lsl #1]",
            "ld1h z7.s, p7/z, [{w3}, {i}, lsl #1]",
            "ld1w z16.s, p7/z, [{x}, {i}, lsl #2]",
            "ld1w z17.s, p7/z, [{x1}, {i}, lsl #2]",
            "ld1w z18.s, p7/z, [{x2}, {i}, lsl #2]",
            "ld1w z19.s, p7/z, [{x3}, {i}, lsl #2]",
            "fcvt z4.s, p7/m, z4.h",
            "fcvt z5.s, p7/m, z5.h",
            "fcvt z6.s, p7/m, z6.h",
            "fcvt z7.s, p7/m, z7.h",
            "fmla z0.s, p7/m, z4.s, z16.s",
            "fmla z1.s, p7/m, z5.s, z17.s",
            "fmla z0.s, p7/m, z6.s, z18.s",
            "fmla z1.s, p7/m, z7.s, z19.s",
            "add {i}, {i}, #32",
            "cmp {i}, {t}",
            "b.ls 2b",
            "3:",
            "sub {t}, {n}, {i}",
            "cmp {t}, #16",
            "b.lo 4f",
            "ld1h z4.s, p7/z, [{w}, {i}, lsl #1]",
            "ld1h z5.s, p7/z, [{w1}, {i}, lsl #1]",
            "ld1w z16.s, p7/z, [{x}, {i}, lsl #2]",
            "ld1w z17.s, p7/z, [{x1}, {i}, lsl #2]",
            "fcvt z4.s, p7/m, z4.h",
            "fcvt z5.s, p7/m, z5.h",
            "fmla z0.s, p7/m, z4.s, z16.s",
            "fmla z1.s, p7/m, z5.s, z17.s",
            "add {i}, {i}, #16",
            "4:",
            "cmp {i}, {n}",
            "b.hs 5f",
            "whilelo p0.s, {i}, {n}",
            "add {t}, {i}, #8",
            "whilelo p1.s, {t}, {n}",
            "ld1h z4.s, p0/z, [{w}, {i}, lsl #1]",
            "ld1h z5.s, p1/z, [{w1}, {i}, lsl #1]",
            "ld1w z16.s, p0/z, [{x}, {i}, lsl #2]",
            "ld1w z17.s, p1/z, [{x1}, {i}, lsl #2]",
            "fcvt z4.s, p7/m, z4.h",
            "fcvt z5.s, p7/m, z5.h",
            "fmla z0.s, p7/m, z4.s, z16.s",
            "fmla z1.s, p7/m, z5.s, z17.s",
            "5:",
            "dup z2.q, z0.q[1]",
            "dup z3.q, z1.q[1]",
            "fadd v0.4s, v0.4s, v1.4s",
            "fadd v2.4s, v2.4s, v3.4s",
            "fadd v0.4s, v0.4s, v2.4s",
            "ext v1.16b, v0.16b, v0.16b, #8",
            "fadd v0.2s, v0.2s, v1.2s",
            "faddp s0, v0.2s",
            w = in(reg) w,
            x = in(reg) x,
            w1 = out(reg) _,
            x1 = out(reg) _,
            w2 = out(reg) _,
            x2 = out(reg) _,
            w3 = out(reg) _,
            x3 = out(reg) _,
            n = in(reg) n,
            i = out(reg) _,
            t = out(reg) _,
            out("v0") sum,
            out("v1") _, out("v2") _, out("v3") _,
            out("v4") _, out("v5") _, out("v6") _, out("v7") _,
            out("v16") _, out("v17") _, out("v18") _, out("v19") _,
            out("p0") _, out("p1") _, out("p2") _, out("p3") _, out("p7") _,
            options(nostack, readonly, pure)
        );
    }
    sum
}

/// `Σ_{i<n} f32(w_i) · x_i` in the float order at a vector length of 512 or more bits:
/// the 16 lanes in one register `z0` under the 16-lane predicate `ptrue p7.s, vl16`.
///
/// # Safety
/// The CPU must implement SVE with that vector length; `w` (f16) and `x` valid for `n` reads.
#[target_feature(enable = "sve")]
unsafe fn dot_f16_raw_r1(w: *const f16, x: *const f32, n: usize) -> f32 {
    let sum: f32;
    // SAFETY: the loads touch only the first `n` elements (whole 16-element chunks at
    // `i + 16 ≤ n`, then one chunk under `whilelo` predicates whose inactive lanes are not
    // accessed), valid by the caller's contract; the extra base pointers are only
    // dereferenced at those elements. Every register written is an operand or declared
    // clobbered.
    unsafe {
        core::arch::asm!(
            "ptrue p7.s, vl16",
            "dup z0.s, #0",
            "add {w1}, {w}, #32",
            "add {x1}, {x}, #64",
            "mov {i}, #0",
            "subs {t}, {n}, #32",
            "b.lo 3f",
            "2:",
            "ld1h z4.s, p7/z, [{w}, {i}, lsl #1]",
            "ld1h z5.s, p7/z, [{w1}, {i}, lsl #1]",
            "ld1w z16.s, p7/z, [{x}, {i}, lsl #2]",
            "ld1w z17.s, p7/z, [{x1}, {i}, lsl #2]",
            "fcvt z4.s, p7/m, z4.h",
            "fcvt z5.s, p7/m, z5.h",
            "fmla z0.s, p7/m, z4.s, z16.s",
            "fmla z0.s, p7/m, z5.s, z17.s",
            "add {i}, {i}, #32",
            "cmp {i}, {t}",
            "b.ls 2b",
            "3:",
            "sub {t}, {n}, {i}",
            "cmp {t}, #16",
            "b.lo 4f",
            "ld1h z4.s, p7/z, [{w}, {i}, lsl #1]",
            "ld1w z16.s, p7/z, [{x}, {i}, lsl #2]",
            "fcvt z4.s, p7/m, z4.h",
            "fmla z0.s, p7/m, z4.s, z16.s",
            "add {i}, {i}, #16",
            "4:",
            "cmp {i}, {n}",
            "b.hs 5f",
            "whilelo p0.s, {i}, {n}",
            "ld1h z4.s, p0/z, [{w}, {i}, lsl #1]",
            "ld1w z16.s, p0/z, [{x}, {i}, lsl #2]",
            "fcvt z4.s, p7/m, z4.h",
            "fmla z0.s, p7/m, z4.s, z16.s",
            "5:",
            "dup z1.q, z0.q[1]",
            "dup z2.q, z0.q[2]",
            "dup z3.q, z0.q[3]",
            "fadd v0.4s, v0.4s, v2.4s",
            "fadd v1.4s, v1.4s, v3.4s",
            "fadd v0.4s, v0.4s, v1.4s",
            "ext v1.16b, v0.16b, v0.16b, #8",
            "fadd v0.2s, v0.2s, v1.2s",
            "faddp s0, v0.2s",
            w = in(reg) w,
            x = in(reg) x,
            w1 = out(reg) _,
            x1 = out(reg) _,
            n = in(reg) n,
            i = out(reg) _,
            t = out(reg) _,
            out("v0") sum,
            out("v1") _, out("v2") _, out("v3") _,
            out("v4") _, out("v5") _, out("v6") _, out("v7") _,
            out("v16") _, out("v17") _, out("v18") _, out("v19") _,
            out("p0") _, out("p1") _, out("p2") _, out("p3") _, out("p7") _,
            options(nostack, readonly, pure)
        );
    }
    sum
}
