//! SVE activation quantizers f32 → Q8_0 / Q8_1 and f32 → Q8_K, **bit-exact** with the scalar
//! reference ([`crate::quant::quantize`]) for every input, NaN and infinities included.
//!
//! # Q8_0 (blocks of 32)
//!
//! 1. `amax = max |x_j|` (`fabs`, `fmax` lane-wise, `fmaxv`): for non-NaN data this is exactly
//!    the reference's C-`MAX` fold (the maximum is order-free). `fmax` propagates NaN, and a
//!    block with a NaN is handed to the scalar reference (its `MAX` fold is order-dependent on
//!    NaN), so every block matches.
//! 2. `d = amax / 127`, `id = d ≠ 0 ? 1 / d : 0`, `f16(d)` — scalar Rust, the same expressions.
//! 3. `q_j = roundf(x_j · id) as i8`: `fmul` (rounded, like the reference's product), `frinta`
//!    (ties away from zero = C `roundf`), `fcvtzs` (NaN → 0, saturating), `smax #−128` /
//!    `smin #127` (Rust's saturating `as i8`), `st1b {z.s}` (low byte of each lane).
//! 4. Q8_1 only: the quants are also summed in `i32` lanes (`saddv`), and
//!    `s = f16(f32(Σq) · d)` in Rust, as the reference.
//!
//! # Q8_K (super-blocks of 256)
//!
//! 1. `amax`: lane-wise `if |x| > acc { acc = |x| }` (`fcmgt` + predicated `mov`: NaN never
//!    wins, as in the reference), `fmaxv`; then the first `x_j` with `|x_j| = amax`
//!    (`fcmeq`, `ptest`, `brka` + `lastb` in the first vector with a match) — the reference's
//!    "first element of largest magnitude".
//! 2. `amax = 0` → all-zero block (Rust). Otherwise `iscale = −127 / max` (Rust).
//! 3. Per group of 16 (a `whilelo` loop over the group, so `min(16, VL/32)` lanes per step):
//!    `q = min(127, nearest_int(iscale · x))` with ggml's magic-number rounding reproduced
//!    operation for operation (`fmul`, `fadd 1.5·2²³`, `and 0x7fffff`, `sub 0x400000`,
//!    `smin #127`), stored as the low byte (Rust's truncating `as i8`), then sign-extended
//!    (`sxtb`) and summed into `bsums[g]` (`saddv`, `strh`).
//! 4. `d = 1 / iscale` (Rust).
//!
//! # Layout and tails
//!
//! `min(x.len() / elems, out.len())` blocks, as the reference. Within a block every loop is
//! `whilelo`-predicated (a 32-element block is 8 steps at 128-bit vectors, 1 partial step at
//! 2048-bit), so no lane outside the block is read or written.
//!
//! # Registers
//!
//! Q8_0 / Q8_1: `z0` max / scale, `z1` data, `z2` quant sum, `p0` block predicate, `p7` all-true. Q8_K: `z0` running
//! max, `z1` `|x|` / quants, `z2` `x` / broadcast max, `z3` iscale, `z4` magic, `z5` `0x400000`,
//! `z6` group sum, `p0` loop predicate, `p1` compare / break predicate, `p7` all-true.

use crate::quant::{BlockQ8K, BlockQ8_0, BlockQ8_1, QK, QK_K};
use half::f16;

/// f32 → Q8_0 (signature of [`crate::quant::quantize::quantize_q8_0`]).
pub(super) fn quantize_q8_0(x: &[f32], out: &mut [BlockQ8_0]) {
    for (xb, yb) in x.chunks_exact(QK).zip(out.iter_mut()) {
        // SAFETY: reachable only through `sve::kernels` (SVE checked); `xb` has `QK` values.
        let amax = unsafe { abs_max_nan_propagating(xb.as_ptr()) };
        if amax.is_nan() {
            crate::quant::quantize::quantize_q8_0(xb, core::slice::from_mut(yb));
            continue;
        }
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        yb.d = f16::from_f32(d);
        // SAFETY: SVE as above; `xb` has `QK` readable values and `yb.qs` `QK` writable bytes.
        unsafe { quantize_32(xb.as_ptr(), id, yb.qs.as_mut_ptr()) };
    }
}

/// f32 → Q8_1 (signature of [`crate::quant::quantize::quantize_q8_1`]).
pub(super) fn quantize_q8_1(x: &[f32], out: &mut [BlockQ8_1]) {
    for (xb, yb) in x.chunks_exact(QK).zip(out.iter_mut()) {
        // SAFETY: reachable only through `sve::kernels` (SVE checked); `xb` has `QK` values.
        let amax = unsafe { abs_max_nan_propagating(xb.as_ptr()) };
        if amax.is_nan() {
            crate::quant::quantize::quantize_q8_1(xb, core::slice::from_mut(yb));
            continue;
        }
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        yb.d = f16::from_f32(d);
        // SAFETY: SVE as above; `xb` has `QK` readable values and `yb.qs` `QK` writable bytes.
        let sum = unsafe { quantize_32(xb.as_ptr(), id, yb.qs.as_mut_ptr()) };
        yb.s = f16::from_f32(sum as f32 * d);
    }
}

/// `max_j |x_j|` over 32 values, NaN if any is NaN.
///
/// # Safety
/// The CPU must implement SVE; `x` valid for 32 reads.
#[target_feature(enable = "sve")]
unsafe fn abs_max_nan_propagating(x: *const f32) -> f32 {
    let amax: f32;
    // SAFETY: loads are `whilelo`-predicated to `[0, 32)`; written registers are declared.
    unsafe {
        core::arch::asm!(
            "ptrue p7.s",
            "dup z0.s, #0",
            "mov {i}, #0",
            "whilelo p0.s, {i}, {n}",
            "1:",
            "ld1w z1.s, p0/z, [{x}, {i}, lsl #2]",
            "fabs z1.s, p0/m, z1.s",
            "fmax z0.s, p0/m, z0.s, z1.s",
            "incw {i}",
            "whilelo p0.s, {i}, {n}",
            "b.first 1b",
            "fmaxv {amax:s}, p7, z0.s",
            x = in(reg) x,
            n = in(reg) QK,
            i = out(reg) _,
            amax = out(vreg) amax,
            out("v0") _, out("v1") _,
            out("p0") _, out("p7") _,
            options(nostack, readonly, pure)
        );
    }
    amax
}

/// `q_j = roundf(x_j · id) as i8` for `j < 32`; returns `Σ_j q_j`.
///
/// # Safety
/// The CPU must implement SVE; `x` valid for 32 reads, `q` for 32 writes.
#[target_feature(enable = "sve")]
unsafe fn quantize_32(x: *const f32, id: f32, q: *mut i8) -> i32 {
    let sum: i32;
    // SAFETY: loads and stores are `whilelo`-predicated to `[0, 32)`.
    unsafe {
        core::arch::asm!(
            "ptrue p7.s",
            "dup z2.s, #0",
            "mov z0.s, {id:s}",
            "mov {i}, #0",
            "whilelo p0.s, {i}, {n}",
            "1:",
            "ld1w z1.s, p0/z, [{x}, {i}, lsl #2]",
            "fmul z1.s, z1.s, z0.s",
            "frinta z1.s, p0/m, z1.s",
            "fcvtzs z1.s, p0/m, z1.s",
            "smax z1.s, z1.s, #-128",
            "smin z1.s, z1.s, #127",
            "st1b z1.s, p0, [{q}, {i}]",
            "add z2.s, p0/m, z2.s, z1.s",
            "incw {i}",
            "whilelo p0.s, {i}, {n}",
            "b.first 1b",
            "saddv d2, p7, z2.s",
            "fmov {sum:w}, s2",
            x = in(reg) x,
            q = in(reg) q,
            id = in(vreg) id,
            n = in(reg) QK,
            i = out(reg) _,
            sum = out(reg) sum,
            out("v0") _, out("v1") _, out("v2") _,
            out("p0") _, out("p7") _,
            options(nostack)
        );
    }
    sum
}

/// f32 → Q8_K (signature of [`crate::quant::quantize::quantize_q8_k`]).
pub(super) fn quantize_q8_k(x: &[f32], out: &mut [BlockQ8K]) {
    for (xb, yb) in x.chunks_exact(QK_K).zip(out.iter_mut()) {
        // SAFETY: reachable only through `sve::kernels` (SVE checked); `xb` has `QK_K` values.
        let (max, amax) = unsafe { signed_abs_max_256(xb.as_ptr()) };
        if amax == 0.0 {
            yb.d = 0.0;
            yb.qs = [0; QK_K];
            yb.bsums = [0; QK_K / 16];
            continue;
        }
        let iscale = -127.0 / max;
        // SAFETY: SVE as above; `xb` has 256 readable values, `yb.qs` 256 writable bytes and
        // `yb.bsums` 16 writable `i16`s.
        unsafe {
            quantize_256(
                xb.as_ptr(),
                iscale,
                yb.qs.as_mut_ptr(),
                yb.bsums.as_mut_ptr(),
            )
        }
        yb.d = 1.0 / iscale;
    }
}

/// `(max, amax)` of 256 values: `amax` the largest non-NaN `|x_j|` (0 when none), `max` the
/// first `x_j` with `|x_j| = amax` (0 when `amax = 0` and no `x_j` is ±0).
///
/// # Safety
/// The CPU must implement SVE; `x` valid for 256 reads.
#[target_feature(enable = "sve")]
unsafe fn signed_abs_max_256(x: *const f32) -> (f32, f32) {
    let max: f32;
    let amax: f32;
    // SAFETY: loads are `whilelo`-predicated to `[0, 256)`; written registers are declared.
    unsafe {
        core::arch::asm!(
            "ptrue p7.s",
            "dup z0.s, #0",
            "mov {i}, #0",
            "whilelo p0.s, {i}, {n}",
            "1:",
            "ld1w z1.s, p0/z, [{x}, {i}, lsl #2]",
            "fabs z1.s, p0/m, z1.s",
            "fcmgt p1.s, p0/z, z1.s, z0.s",
            "mov z0.s, p1/m, z1.s",
            "incw {i}",
            "whilelo p0.s, {i}, {n}",
            "b.first 1b",
            "fmaxv {amax:s}, p7, z0.s",
            // Second pass: the first element whose magnitude equals `amax`.
            "mov z2.s, {amax:s}",
            "fmov {max:s}, wzr",
            "mov {i}, #0",
            "whilelo p0.s, {i}, {n}",
            "2:",
            "ld1w z1.s, p0/z, [{x}, {i}, lsl #2]",
            "fabs z0.s, p0/m, z1.s",
            "fcmeq p1.s, p0/z, z0.s, z2.s",
            "ptest p0, p1.b",
            "b.any 3f",
            "incw {i}",
            "whilelo p0.s, {i}, {n}",
            "b.first 2b",
            "b 4f",
            "3:",
            "brka p1.b, p0/z, p1.b",
            "lastb {max:s}, p1, z1.s",
            "4:",
            x = in(reg) x,
            n = in(reg) QK_K,
            i = out(reg) _,
            amax = out(vreg) amax,
            max = out(vreg) max,
            out("v0") _, out("v1") _, out("v2") _,
            out("p0") _, out("p1") _, out("p7") _,
            options(nostack, readonly, pure)
        );
    }
    (max, amax)
}

/// Quants and `bsums` of one Q8_K super-block for `iscale` (module docs, step 3).
///
/// # Safety
/// The CPU must implement SVE; `x` valid for 256 reads, `q` for 256 writes, `bsums` for 16
/// writes.
#[target_feature(enable = "sve")]
unsafe fn quantize_256(x: *const f32, iscale: f32, q: *mut i8, bsums: *mut i16) {
    // SAFETY: group `g < 16` reads `x[16g .. 16g + 16]` and writes `q[16g .. 16g + 16]`
    // (`whilelo`-predicated to 16 per group) and `bsums[g]`; written registers are declared.
    unsafe {
        core::arch::asm!(
            "ptrue p7.s",
            "mov z3.s, {iscale:s}",
            "mov {t:w}, #0x4b400000",
            "dup z4.s, {t:w}",
            "mov z5.s, #0x400000",
            "mov {g}, #16",
            "1:",
            "dup z6.s, #0",
            "mov {i}, #0",
            "whilelo p0.s, {i}, {sixteen}",
            "2:",
            "ld1w z1.s, p0/z, [{x}, {i}, lsl #2]",
            "fmul z1.s, z1.s, z3.s",
            "fadd z1.s, z1.s, z4.s",
            "and z1.s, z1.s, #0x7fffff",
            "sub z1.s, z1.s, z5.s",
            "smin z1.s, z1.s, #127",
            "st1b z1.s, p0, [{q}, {i}]",
            "sxtb z1.s, p0/m, z1.s",
            "add z6.s, p0/m, z6.s, z1.s",
            "incw {i}",
            "whilelo p0.s, {i}, {sixteen}",
            "b.first 2b",
            "saddv d6, p7, z6.s",
            "fmov {t:w}, s6",
            "strh {t:w}, [{bsums}], #2",
            "add {x}, {x}, #64",
            "add {q}, {q}, #16",
            "subs {g}, {g}, #1",
            "b.ne 1b",
            x = inout(reg) x => _,
            q = inout(reg) q => _,
            bsums = inout(reg) bsums => _,
            iscale = in(vreg) iscale,
            sixteen = in(reg) 16usize,
            g = out(reg) _,
            i = out(reg) _,
            t = out(reg) _,
            out("v0") _, out("v1") _, out("v2") _, out("v3") _, out("v4") _, out("v5") _,
            out("v6") _,
            out("p0") _, out("p7") _,
            options(nostack)
        );
    }
}
