//! SVE integer dot products of the 32-element formats: Q8_0 · Q8_0, Q4_0 · Q8_0,
//! Q4_1 · Q8_1 and Q5_0 · Q8_0, **bit-exact** with the scalar reference ([`crate::kernels::dot`]).
//!
//! # Math (the reference's accumulation contract)
//!
//! Block `b`: `isum_b = Σ_{j<32} w_j · x_j` exactly in `i32` (Q4_0: `w_j = nibble − 8`,
//! element `j < 16` the low nibble of `qs[j]`, `j + 16` its high nibble; Q4_1: the unsigned
//! nibble; Q5_0: `(nibble | bit_j(qh) << 4) − 16`), term
//! `t_b = (f32(d_w) · f32(d_x)) · f32(isum_b)` (two separate `fmul`s, no FMA; Q4_1 then adds
//! `f32(m_w) · f32(s_x)`, one more `fmul` and an `fadd`), added to accumulator `acc[b % 8]`;
//! the result is
//! `((acc0 + acc4) + (acc2 + acc6)) + ((acc1 + acc5) + (acc3 + acc7))`
//! ([`crate::kernels::dot::reduce_lanes`], in Rust).
//!
//! # Per-block integer sum (vector-length agnostic)
//!
//! The 32 quants are handled as two 16-byte halves under `p6 = whilelo(0, 16).b`: at 128-bit
//! vectors each half fills a vector, at ≥ 256 bits the lanes past 16 load as zero and add
//! nothing. `sdot z4.s, w.b, x.b` twice into a zeroed accumulator, then `saddv` gives the exact
//! `i32` (every partial sum is bounded by the block bound, `< 2^19`), `scvtf` converts it with
//! round-to-nearest-even like `as f32`. Q4_0 nibbles: `lsr #4` (high), `and #0xf` (low),
//! `sub #8`; lanes past 16 become −8 but meet zero activations. Q5_0 fifth bits: the 4 `qh`
//! bytes are loaded into lanes 0..4, `tbl` spreads byte `j / 8` (low half) / `2 + j / 8` (high
//! half) to lane `j`, a per-lane `lsr` by `j % 8` (constant vectors `z24..z26` built with
//! `index`), then `lsl #4`, `and #0x10`, `orr` into the nibbles and `sub #16`.
//!
//! # Accumulators
//!
//! The 8 accumulators live in `s16..s23` for the whole row: the loop body is the block step
//! unrolled 8 times, step `k` adding into `s(16 + k)`, each followed by `subs`/`b.eq` on the
//! remaining block count, so any block count (0 included) ends after the right block with
//! block `b` in lane `b % 8`. The `f16` scales are loaded with `ldr h` and widened with
//! `fcvt s, h` (exact).
//!
//! # Registers
//!
//! `z0..z3` quants, `z4` the block's integer sum / its `f32`, `z5..z7` activations, then the
//! scales (`h5..h7` / `s5..s7`), `v16..v23` accumulators, `z24..z26` Q5_0 lane constants, `p5`
//! all-true `.b`, `p6` the 16-byte predicate, `p7` all-true `.s`.

use crate::kernels::dot::reduce_lanes;
use crate::quant::{BlockQ4_0, BlockQ4_1, BlockQ5_0, BlockQ8_0, BlockQ8_1};

/// asm text: the float update of one block into accumulator `$acc` (an `sN` name), given
/// `isum` in `z4`: `s5 = (d_w · d_x) · f32(isum)`, then the `$extra` text (may add to `s5`),
/// `acc += s5`; advance `w` and `x` by their block sizes (operands `wsize`, `xsize`) and exit
/// to `9f` after the last block.
macro_rules! block_tail {
    ($acc:literal, $extra:ident) => {
        concat!(
            "saddv d4, p7, z4.s\n",
            "scvtf s4, s4\n",
            "ldr h5, [{w}]\n",
            "ldr h6, [{x}]\n",
            "fcvt s5, h5\n",
            "fcvt s6, h6\n",
            "fmul s5, s5, s6\n",
            "fmul s5, s5, s4\n",
            $extra!(),
            "fadd ",
            $acc,
            ", ",
            $acc,
            ", s5\n",
            "add {w}, {w}, {wsize}\n",
            "add {x}, {x}, {xsize}\n",
            "subs {nb}, {nb}, #1\n",
            "b.eq 9f\n",
        )
    };
}

/// asm text: no extra term.
macro_rules! no_extra {
    () => {
        ""
    };
}

/// asm text: Q4_1's extra term, `s5 += f32(m_w) · f32(s_x)` (both `f16` at byte 2).
macro_rules! q4_1_extra {
    () => {
        concat!(
            "ldr h6, [{w}, #2]\n",
            "ldr h7, [{x}, #2]\n",
            "fcvt s6, h6\n",
            "fcvt s7, h7\n",
            "fmul s6, s6, s7\n",
            "fadd s5, s5, s6\n",
        )
    };
}

/// asm text: the two activation halves (`x + xq`, `x + xq + 16`) into `z5`, `z6`.
macro_rules! load_x {
    () => {
        concat!(
            "ld1b z5.b, p6/z, [{x}, {xq}]\n",
            "ld1b z6.b, p6/z, [{x}, {xq16}]\n",
        )
    };
}

/// asm text: `z4.s` lanes ← `sdot` of the weight halves `z0`, `z1` with `z5`, `z6`.
macro_rules! sdot_halves {
    () => {
        concat!(
            "dup z4.s, #0\n",
            "sdot z4.s, z0.b, z5.b\n",
            "sdot z4.s, z1.b, z6.b\n",
        )
    };
}

/// asm text: Q8_0 weights: the two 16-byte halves at `w + wq`, `w + wq16`.
macro_rules! isum_q8_0 {
    () => {
        concat!(
            "ld1b z0.b, p6/z, [{w}, {wq}]\n",
            "ld1b z1.b, p6/z, [{w}, {wq16}]\n",
            load_x!(),
            sdot_halves!(),
        )
    };
}

/// asm text: Q4_0 weights: nibbles at `w + wq`, minus 8.
macro_rules! isum_q4_0 {
    () => {
        concat!(
            "ld1b z0.b, p6/z, [{w}, {wq}]\n",
            load_x!(),
            "lsr z1.b, z0.b, #4\n",
            "and z0.b, z0.b, #0xf\n",
            "sub z0.b, z0.b, #8\n",
            "sub z1.b, z1.b, #8\n",
            sdot_halves!(),
        )
    };
}

/// asm text: Q4_1 weights: unsigned nibbles at `w + wq`.
macro_rules! isum_q4_1 {
    () => {
        concat!(
            "ld1b z0.b, p6/z, [{w}, {wq}]\n",
            load_x!(),
            "lsr z1.b, z0.b, #4\n",
            "and z0.b, z0.b, #0xf\n",
            sdot_halves!(),
        )
    };
}

/// asm text: Q5_0 weights: nibbles at `w + wq`, fifth bits from `qh` at `w + wq16` (= 2).
macro_rules! isum_q5_0 {
    () => {
        concat!(
            "ld1b z2.b, p6/z, [{w}, {wq16}]\n",
            "ld1b z0.b, p6/z, [{w}, {wq}]\n",
            load_x!(),
            "tbl z3.b, {{z2.b}}, z24.b\n",
            "tbl z2.b, {{z2.b}}, z25.b\n",
            "lsr z3.b, p5/m, z3.b, z26.b\n",
            "lsr z2.b, p5/m, z2.b, z26.b\n",
            "lsl z3.b, z3.b, #4\n",
            "lsl z2.b, z2.b, #4\n",
            "and z3.b, z3.b, #0x10\n",
            "and z2.b, z2.b, #0x10\n",
            "lsr z1.b, z0.b, #4\n",
            "and z0.b, z0.b, #0xf\n",
            "orr z0.d, z0.d, z3.d\n",
            "orr z1.d, z1.d, z2.d\n",
            "sub z0.b, z0.b, #16\n",
            "sub z1.b, z1.b, #16\n",
            sdot_halves!(),
        )
    };
}

/// The whole-row kernel: `$isum` the per-block integer step, `$extra` the extra float term,
/// then the byte offsets: weight block size, weight quants, second weight operand (quants + 16
/// or `qh`), activation block size, activation quants.
macro_rules! dot_q32_asm {
    ($w:expr, $x:expr, $nb:expr, $isum:ident, $extra:ident,
     $wsize:expr, $wq:expr, $wq16:expr, $xsize:expr, $xq:expr) => {{
        let mut acc = [0.0f32; 8];
        let [a0, a1, a2, a3, a4, a5, a6, a7] = &mut acc;
        core::arch::asm!(
            // Not every format's block step uses `wq16`; naming it here keeps asm! content.
            "/* second weight offset: {wq16} */",
            "ptrue p7.s",
            "ptrue p5.b",
            "mov {t}, #16",
            "whilelo p6.b, xzr, {t}",
            // Q5_0 lane constants: byte index j / 8, its + 2, and the shift j % 8.
            "index z26.b, #0, #1",
            "lsr z24.b, z26.b, #3",
            "mov z25.d, z24.d",
            "add z25.b, z25.b, #2",
            "and z26.b, z26.b, #7",
            "cbz {nb}, 9f",
            "1:",
            $isum!(), block_tail!("s16", $extra),
            $isum!(), block_tail!("s17", $extra),
            $isum!(), block_tail!("s18", $extra),
            $isum!(), block_tail!("s19", $extra),
            $isum!(), block_tail!("s20", $extra),
            $isum!(), block_tail!("s21", $extra),
            $isum!(), block_tail!("s22", $extra),
            $isum!(), block_tail!("s23", $extra),
            "b 1b",
            "9:",
            w = inout(reg) $w => _,
            x = inout(reg) $x => _,
            nb = inout(reg) $nb => _,
            wsize = in(reg) $wsize,
            wq = in(reg) $wq,
            wq16 = in(reg) $wq16,
            xsize = in(reg) $xsize,
            xq = in(reg) $xq,
            xq16 = in(reg) $xq + 16,
            t = out(reg) _,
            inout("v16") *a0, inout("v17") *a1, inout("v18") *a2, inout("v19") *a3,
            inout("v20") *a4, inout("v21") *a5, inout("v22") *a6, inout("v23") *a7,
            out("v0") _, out("v1") _, out("v2") _, out("v3") _, out("v4") _, out("v5") _,
            out("v6") _, out("v7") _, out("v24") _, out("v25") _, out("v26") _,
            out("p5") _, out("p6") _, out("p7") _,
            options(nostack, readonly, pure)
        );
        reduce_lanes(acc)
    }};
}

/// Q8_0 · Q8_0 row dot product (signature of [`crate::kernels::dot::dot_q8_0_q8_0`]).
pub(super) fn dot_q8_0_q8_0(w: &[BlockQ8_0], x: &[BlockQ8_0]) -> f32 {
    let nb = w.len().min(x.len());
    // SAFETY: reachable only through `sve::kernels` (SVE checked); both slices hold `nb` blocks.
    unsafe { dot_q8_0_raw(w.as_ptr(), x.as_ptr(), nb) }
}

/// Q4_0 · Q8_0 row dot product (signature of [`crate::kernels::dot::dot_q4_0_q8_0`]).
pub(super) fn dot_q4_0_q8_0(w: &[BlockQ4_0], x: &[BlockQ8_0]) -> f32 {
    let nb = w.len().min(x.len());
    // SAFETY: reachable only through `sve::kernels` (SVE checked); both slices hold `nb` blocks.
    unsafe { dot_q4_0_raw(w.as_ptr(), x.as_ptr(), nb) }
}

/// Q4_1 · Q8_1 row dot product (signature of [`crate::kernels::dot::dot_q4_1_q8_1`]).
pub(super) fn dot_q4_1_q8_1(w: &[BlockQ4_1], x: &[BlockQ8_1]) -> f32 {
    let nb = w.len().min(x.len());
    // SAFETY: reachable only through `sve::kernels` (SVE checked); both slices hold `nb` blocks.
    unsafe { dot_q4_1_raw(w.as_ptr(), x.as_ptr(), nb) }
}

/// Q5_0 · Q8_0 row dot product (signature of [`crate::kernels::dot::dot_q5_0_q8_0`]).
pub(super) fn dot_q5_0_q8_0(w: &[BlockQ5_0], x: &[BlockQ8_0]) -> f32 {
    let nb = w.len().min(x.len());
    // SAFETY: reachable only through `sve::kernels` (SVE checked); both slices hold `nb` blocks.
    unsafe { dot_q5_0_raw(w.as_ptr(), x.as_ptr(), nb) }
}

/// # Safety
/// The CPU must implement SVE; `w` and `x` valid for `nb` blocks each.
#[target_feature(enable = "sve")]
unsafe fn dot_q8_0_raw(w: *const BlockQ8_0, x: *const BlockQ8_0, nb: usize) -> f32 {
    const _: () = assert!(core::mem::size_of::<BlockQ8_0>() == 34);
    // SAFETY: block `b < nb` reads bytes `[0, 34)` of `w + b` and `x + b` (scale at 0, quants
    // at 2..34 in two `p6`-predicated 16-byte halves), within the caller's bounds; the loop
    // exits after block `nb − 1`. All written registers are declared.
    unsafe {
        dot_q32_asm!(w, x, nb, isum_q8_0, no_extra, 34usize, 2usize, 18usize, 34usize, 2usize)
    }
}

/// # Safety
/// The CPU must implement SVE; `w` and `x` valid for `nb` blocks each.
#[target_feature(enable = "sve")]
unsafe fn dot_q4_0_raw(w: *const BlockQ4_0, x: *const BlockQ8_0, nb: usize) -> f32 {
    const _: () = assert!(core::mem::size_of::<BlockQ4_0>() == 18);
    // SAFETY: block `b < nb` reads bytes `[0, 18)` of `w + b` and `[0, 34)` of `x + b`, within
    // the caller's bounds; the loop exits after block `nb − 1`. Written registers are declared.
    unsafe { dot_q32_asm!(w, x, nb, isum_q4_0, no_extra, 18usize, 2usize, 2usize, 34usize, 2usize) }
}

/// # Safety
/// The CPU must implement SVE; `w` and `x` valid for `nb` blocks each.
#[target_feature(enable = "sve")]
unsafe fn dot_q4_1_raw(w: *const BlockQ4_1, x: *const BlockQ8_1, nb: usize) -> f32 {
    const _: () = assert!(core::mem::size_of::<BlockQ4_1>() == 20);
    const _: () = assert!(core::mem::size_of::<BlockQ8_1>() == 36);
    // SAFETY: block `b < nb` reads bytes `[0, 20)` of `w + b` (d, m, 16 quant bytes at 4) and
    // `[0, 36)` of `x + b` (d, s, 32 quants at 4), within the caller's bounds; the loop exits
    // after block `nb − 1`. Written registers are declared.
    unsafe {
        dot_q32_asm!(w, x, nb, isum_q4_1, q4_1_extra, 20usize, 4usize, 4usize, 36usize, 4usize)
    }
}

/// # Safety
/// The CPU must implement SVE; `w` and `x` valid for `nb` blocks each.
#[target_feature(enable = "sve")]
unsafe fn dot_q5_0_raw(w: *const BlockQ5_0, x: *const BlockQ8_0, nb: usize) -> f32 {
    const _: () = assert!(core::mem::size_of::<BlockQ5_0>() == 22);
    // SAFETY: block `b < nb` reads bytes `[2, 18)` (`qh` and the first 12 quant bytes, only
    // lanes 0..4 used) and `[6, 22)` of `w + b` and `[0, 34)` of `x + b`, within the caller's
    // bounds; the loop exits after block `nb − 1`. Written registers are declared.
    unsafe { dot_q32_asm!(w, x, nb, isum_q5_0, no_extra, 22usize, 6usize, 2usize, 34usize, 2usize) }
}
