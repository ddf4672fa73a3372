//! SVE integer dot products of the K formats: Q4_K, Q5_K and Q6_K · Q8_K, **bit-exact** with
//! the scalar reference ([`crate::kernels::dot`]).
//!
//! # Math (the reference's contract)
//!
//! One `f32` accumulator per row, super-blocks in order, each super-block's term formed with
//! the reference's exact expression in scalar Rust (no FMA):
//! - Q4_K, Q5_K: `sumf += d · f32(isum) − dmin · f32(summs)`, `d = f32(d_w) · d_x`,
//!   `dmin = f32(dmin_w) · d_x`, `summs = Σ_j m_j · (bsums_{2j} + bsums_{2j+1})` (Rust, from
//!   the unpacked 6-bit scales and mins);
//! - Q6_K: `sumf += (f32(d_w) · d_x) · f32(isum)`.
//!
//! Only the exact `i32` `isum` is vector code, one `asm!` block per super-block.
//!
//! # Q4_K `isum = Σ_{j<8} sc_j · Σ_{l<32} q_{32j+l} · x_{32j+l}`
//!
//! A loop over the 4 byte groups `g` of `qs` (32 bytes: sub-block `2g` in the low nibbles,
//! `2g + 1` in the high ones), each as two 16-byte halves under `p6 = whilelo(0, 16).b` (a full
//! vector at 128 bits; at ≥ 256 the lanes past 16 load as zero). Per half: `and #0xf` / `lsr #4`,
//! `sdot` against `x[64g ..]` / `x[64g + 32 ..]` into per-sub-block accumulators `z4` / `z5`; then
//! `mla` by the broadcast scales (`ld1rb` from the unpacked scale bytes) into `z31`, and one
//! `saddv`. Bound `|isum| < 2^26`, so no lane overflows.
//!
//! Q5_K adds the fifth bits: `qh[0..32]` (element `l` of every sub-block) stays in `z14` / `z15`
//! (two 16-byte halves); in group `g` bit 0 / bit 1 of the (shifted) byte belong to sub-block
//! `2g` / `2g + 1`: `lsl #4` / `lsl #3`, `and #0x10`, `orr` into the nibbles; then `lsr #2`
//! for the next group.
//!
//! # Q6_K `isum = Σ_{j<16} sc_j · Σ_{l<16} (q_{16j+l} − 32) · x_{16j+l}`
//!
//! For each half `h` (128 elements: `ql[64h ..]`, `qh[32h ..]`) and each 16-byte chunk `c`
//! (`l ∈ [16c, 16c + 16)`), the four 6-bit values `lo(ql_l) | (qh_l & 3) << 4`,
//! `lo(ql_{l+32}) | (qh_l >> 2 & 3) << 4`, `hi(ql_l) | (qh_l >> 4 & 3) << 4`,
//! `hi(ql_{l+32}) | (qh_l >> 6) << 4` (elements `l`, `l + 32`, `l + 64`, `l + 96` of the half,
//! i.e. sub-blocks `8h + c + {0, 2, 4, 6}`) are built with `and`/`lsr`/`lsl`/`orr`, `sub #32`,
//! `sdot`-ed against `x`, and `mla`-ed by the signed broadcast scales (`ld1rsb`). Bound
//! `|isum| ≤ 2^27`.
//!
//! # Registers
//!
//! `z0..z7` quants, `z10..z13` activations, `z14..z17` sub-block sums (Q5_K: `z14`, `z15` `qh`), `z20..z23` scales,
//! `z24` / `z25` masks `0x0f` / `0x30`, `z31` total; `p6` 16 bytes, `p7` all-true.

use crate::kernels::dot::k4_scales_mins;
use crate::quant::{BlockQ4K, BlockQ5K, BlockQ6K, BlockQ8K};

/// `Σ_j m_j · (bsums_{2j} + bsums_{2j+1})` exactly in `i32` (`< 2^25` in magnitude).
fn mins_sum(mins: &[u8; 8], x: &BlockQ8K) -> i32 {
    x.bsums
        .chunks_exact(2)
        .zip(mins)
        .map(|(pair, &m)| i32::from(m) * pair.iter().map(|&s| i32::from(s)).sum::<i32>())
        .sum()
}

/// Q4_K · Q8_K row dot product (signature of [`crate::kernels::dot::dot_q4_k_q8_k`]).
pub(super) fn dot_q4_k_q8_k(w: &[BlockQ4K], x: &[BlockQ8K]) -> f32 {
    let mut sumf = 0.0f32;
    for (bw, bx) in w.iter().zip(x) {
        let (scales, mins) = k4_scales_mins(&bw.scales);
        // SAFETY: reachable only through `sve::kernels` (SVE checked); the pointers are to a
        // 128-byte, a 256-byte and an 8-byte array.
        let isum = unsafe { isum_q4_k(bw.qs.as_ptr(), bx.qs.as_ptr(), scales.as_ptr()) };
        let summs = mins_sum(&mins, bx);
        let d = bw.d.to_f32() * bx.d;
        let dmin = bw.dmin.to_f32() * bx.d;
        sumf += d * isum as f32 - dmin * summs as f32;
    }
    sumf
}

/// Q5_K · Q8_K row dot product (signature of [`crate::kernels::dot::dot_q5_k_q8_k`]).
pub(super) fn dot_q5_k_q8_k(w: &[BlockQ5K], x: &[BlockQ8K]) -> f32 {
    let mut sumf = 0.0f32;
    for (bw, bx) in w.iter().zip(x) {
        let (scales, mins) = k4_scales_mins(&bw.scales);
        // SAFETY: reachable only through `sve::kernels` (SVE checked); the pointers are to
        // arrays of 128, 32, 256 and 8 bytes.
        let isum = unsafe {
            isum_q5_k(
                bw.qs.as_ptr(),
                bw.qh.as_ptr(),
                bx.qs.as_ptr(),
                scales.as_ptr(),
            )
        };
        let summs = mins_sum(&mins, bx);
        let d = bw.d.to_f32() * bx.d;
        let dmin = bw.dmin.to_f32() * bx.d;
        sumf += d * isum as f32 - dmin * summs as f32;
    }
    sumf
}

/// Q6_K · Q8_K row dot product (signature of [`crate::kernels::dot::dot_q6_k_q8_k`]).
pub(super) fn dot_q6_k_q8_k(w: &[BlockQ6K], x: &[BlockQ8K]) -> f32 {
    let mut sumf = 0.0f32;
    for (bw, bx) in w.iter().zip(x) {
        // SAFETY: reachable only through `sve::kernels` (SVE checked); the pointers are to
        // arrays of 128, 64, 16 and 256 bytes.
        let isum = unsafe {
            isum_q6_k(
                bw.ql.as_ptr(),
                bw.qh.as_ptr(),
                bw.scales.as_ptr(),
                bx.qs.as_ptr(),
            )
        };
        sumf += (bw.d.to_f32() * bx.d) * isum as f32;
    }
    sumf
}

/// Q4_K `isum` of one super-block (module docs).
///
/// # Safety
/// The CPU must implement SVE; `qs` valid for 128 reads, `x` for 256, `scales` for 8.
#[target_feature(enable = "sve")]
unsafe fn isum_q4_k(qs: *const u8, x: *const i8, scales: *const u8) -> i32 {
    let isum: i32;
    // SAFETY: group `g < 4` reads `qs[32g .. 32g + 32]`, `x[64g .. 64g + 64]` (16-byte halves
    // predicated by `p6`) and `scales[2g], scales[2g + 1]`; all within the caller's bounds.
    unsafe {
        core::arch::asm!(
            "ptrue p7.s",
            "mov {g}, #16",
            "whilelo p6.b, xzr, {g}",
            "mov {c16}, #16",
            "mov {c32}, #32",
            "mov {c48}, #48",
            "dup z31.s, #0",
            "mov {g}, #4",
            "1:",
            "ld1rb z20.s, p7/z, [{sc}]",
            "ld1rb z21.s, p7/z, [{sc}, #1]",
            "dup z4.s, #0",
            "dup z5.s, #0",
            "ld1b z0.b, p6/z, [{qs}]",
            "ld1b z10.b, p6/z, [{x}]",
            "ld1b z11.b, p6/z, [{x}, {c32}]",
            "lsr z1.b, z0.b, #4",
            "and z0.b, z0.b, #0xf",
            "sdot z4.s, z0.b, z10.b",
            "sdot z5.s, z1.b, z11.b",
            "ld1b z2.b, p6/z, [{qs}, {c16}]",
            "ld1b z12.b, p6/z, [{x}, {c16}]",
            "ld1b z13.b, p6/z, [{x}, {c48}]",
            "lsr z3.b, z2.b, #4",
            "and z2.b, z2.b, #0xf",
            "sdot z4.s, z2.b, z12.b",
            "sdot z5.s, z3.b, z13.b",
            "mla z31.s, p7/m, z4.s, z20.s",
            "mla z31.s, p7/m, z5.s, z21.s",
            "add {qs}, {qs}, #32",
            "add {x}, {x}, #64",
            "add {sc}, {sc}, #2",
            "subs {g}, {g}, #1",
            "b.ne 1b",
            "saddv d31, p7, z31.s",
            "fmov {isum:w}, s31",
            qs = inout(reg) qs => _,
            x = inout(reg) x => _,
            sc = inout(reg) scales => _,
            g = out(reg) _,
            c16 = out(reg) _,
            c32 = out(reg) _,
            c48 = out(reg) _,
            isum = out(reg) isum,
            out("v0") _, out("v1") _, out("v2") _, out("v3") _, out("v4") _, out("v5") _,
            out("v10") _, out("v11") _, out("v12") _, out("v13") _,
            out("v20") _, out("v21") _, out("v31") _,
            out("p6") _, out("p7") _,
            options(nostack, readonly, pure)
        );
    }
    isum
}

/// Q5_K `isum` of one super-block (module docs): Q4_K's with the fifth bits of `qh`.
///
/// # Safety
/// The CPU must implement SVE; `qs` valid for 128 reads, `qh` for 32, `x` for 256, `scales`
/// for 8.
#[target_feature(enable = "sve")]
unsafe fn isum_q5_k(qs: *const u8, qh: *const u8, x: *const i8, scales: *const u8) -> i32 {
    let isum: i32;
    // SAFETY: group `g < 4` reads `qs[32g .. 32g + 32]`, `x[64g .. 64g + 64]` (16-byte halves
    // predicated by `p6`), `qh[0 .. 32]` and `scales[2g], scales[2g + 1]`; all within the
    // caller's bounds.
    unsafe {
        core::arch::asm!(
            "ptrue p7.s",
            "mov {g}, #16",
            "whilelo p6.b, xzr, {g}",
            "mov {c16}, #16",
            "mov {c32}, #32",
            "mov {c48}, #48",
            "dup z31.s, #0",
            "ld1b z14.b, p6/z, [{qh}]",
            "ld1b z15.b, p6/z, [{qh}, {c16}]",
            "mov {g}, #4",
            "1:",
            "ld1rb z20.s, p7/z, [{sc}]",
            "ld1rb z21.s, p7/z, [{sc}, #1]",
            "dup z4.s, #0",
            "dup z5.s, #0",
            "ld1b z0.b, p6/z, [{qs}]",
            "ld1b z10.b, p6/z, [{x}]",
            "ld1b z11.b, p6/z, [{x}, {c32}]",
            "lsr z1.b, z0.b, #4",
            "and z0.b, z0.b, #0xf",
            "lsl z6.b, z14.b, #4",
            "lsl z7.b, z14.b, #3",
            "and z6.b, z6.b, #0x10",
            "and z7.b, z7.b, #0x10",
            "orr z0.d, z0.d, z6.d",
            "orr z1.d, z1.d, z7.d",
            "sdot z4.s, z0.b, z10.b",
            "sdot z5.s, z1.b, z11.b",
            "ld1b z2.b, p6/z, [{qs}, {c16}]",
            "ld1b z12.b, p6/z, [{x}, {c16}]",
            "ld1b z13.b, p6/z, [{x}, {c48}]",
            "lsr z3.b, z2.b, #4",
            "and z2.b, z2.b, #0xf",
            "lsl z6.b, z15.b, #4",
            "lsl z7.b, z15.b, #3",
            "and z6.b, z6.b, #0x10",
            "and z7.b, z7.b, #0x10",
            "orr z2.d, z2.d, z6.d",
            "orr z3.d, z3.d, z7.d",
            "sdot z4.s, z2.b, z12.b",
            "sdot z5.s, z3.b, z13.b",
            "mla z31.s, p7/m, z4.s, z20.s",
            "mla z31.s, p7/m, z5.s, z21.s",
            "add {qs}, {qs}, #32",
            "add {x}, {x}, #64",
            "add {sc}, {sc}, #2",
            "lsr z14.b, z14.b, #2",
            "lsr z15.b, z15.b, #2",
            "subs {g}, {g}, #1",
            "b.ne 1b",
            "saddv d31, p7, z31.s",
            "fmov {isum:w}, s31",
            qs = inout(reg) qs => _,
            qh = in(reg) qh,
            x = inout(reg) x => _,
            sc = inout(reg) scales => _,
            g = out(reg) _,
            c16 = out(reg) _,
            c32 = out(reg) _,
            c48 = out(reg) _,
            isum = out(reg) isum,
            out("v0") _, out("v1") _, out("v2") _, out("v3") _, out("v4") _, out("v5") _,
            out("v6") _, out("v7") _, out("v14") _, out("v15") _,
            out("v10") _, out("v11") _, out("v12") _, out("v13") _,
            out("v20") _, out("v21") _, out("v31") _,
            out("p6") _, out("p7") _,
            options(nostack, readonly, pure)
        );
    }
    isum
}

/// asm text: one 16-byte chunk of a Q6_K half (module docs): reads `ql`, `ql + 32`, `qh`,
/// `x + {0, 32, 64, 96}`, scales `sc + {0, 2, 4, 6}`, adds into `z31`, then advances `ql`,
/// `qh`, `x` by 16 and `sc` by 1.
macro_rules! q6_k_chunk {
    () => {
        concat!(
            "ld1b z0.b, p6/z, [{ql}]\n",
            "ld1b z1.b, p6/z, [{ql}, {c32}]\n",
            "ld1b z2.b, p6/z, [{qh}]\n",
            "ld1b z10.b, p6/z, [{x}]\n",
            "ld1b z11.b, p6/z, [{x}, {c32}]\n",
            "ld1b z12.b, p6/z, [{x}, {c64}]\n",
            "ld1b z13.b, p6/z, [{x}, {c96}]\n",
            "ld1rsb z20.s, p7/z, [{sc}]\n",
            "ld1rsb z21.s, p7/z, [{sc}, #2]\n",
            "ld1rsb z22.s, p7/z, [{sc}, #4]\n",
            "ld1rsb z23.s, p7/z, [{sc}, #6]\n",
            // e0 = lo(ql_l) | (qh << 4 & 0x30)
            "and z4.d, z0.d, z24.d\n",
            "lsl z3.b, z2.b, #4\n",
            "and z3.d, z3.d, z25.d\n",
            "orr z4.d, z4.d, z3.d\n",
            // e1 = lo(ql_{l+32}) | (qh << 2 & 0x30)
            "and z5.d, z1.d, z24.d\n",
            "lsl z3.b, z2.b, #2\n",
            "and z3.d, z3.d, z25.d\n",
            "orr z5.d, z5.d, z3.d\n",
            // e2 = hi(ql_l) | (qh & 0x30)
            "lsr z6.b, z0.b, #4\n",
            "and z3.d, z2.d, z25.d\n",
            "orr z6.d, z6.d, z3.d\n",
            // e3 = hi(ql_{l+32}) | (qh >> 2 & 0x30)
            "lsr z7.b, z1.b, #4\n",
            "lsr z3.b, z2.b, #2\n",
            "and z3.d, z3.d, z25.d\n",
            "orr z7.d, z7.d, z3.d\n",
            "sub z4.b, z4.b, #32\n",
            "sub z5.b, z5.b, #32\n",
            "sub z6.b, z6.b, #32\n",
            "sub z7.b, z7.b, #32\n",
            "dup z14.s, #0\n",
            "dup z15.s, #0\n",
            "dup z16.s, #0\n",
            "dup z17.s, #0\n",
            "sdot z14.s, z4.b, z10.b\n",
            "sdot z15.s, z5.b, z11.b\n",
            "sdot z16.s, z6.b, z12.b\n",
            "sdot z17.s, z7.b, z13.b\n",
            "mla z31.s, p7/m, z14.s, z20.s\n",
            "mla z31.s, p7/m, z15.s, z21.s\n",
            "mla z31.s, p7/m, z16.s, z22.s\n",
            "mla z31.s, p7/m, z17.s, z23.s\n",
            "add {ql}, {ql}, #16\n",
            "add {qh}, {qh}, #16\n",
            "add {x}, {x}, #16\n",
            "add {sc}, {sc}, #1\n",
        )
    };
}

/// Q6_K `isum` of one super-block (module docs).
///
/// # Safety
/// The CPU must implement SVE; `ql` valid for 128 reads, `qh` for 64, `scales` for 16, `x` for
/// 256.
#[target_feature(enable = "sve")]
unsafe fn isum_q6_k(ql: *const u8, qh: *const u8, scales: *const i8, x: *const i8) -> i32 {
    let isum: i32;
    // SAFETY: half `h < 2`, chunk `c < 2` reads `ql[64h + 16c ..][..16]` and `[.. + 32][..16]`,
    // `qh[32h + 16c ..][..16]`, `x[128h + 16c + 32k ..][..16]` for `k < 4` (all `p6`-predicated
    // to 16 bytes) and `scales[8h + c + 2k]`; all within the caller's bounds.
    unsafe {
        core::arch::asm!(
            "ptrue p7.s",
            "mov {h}, #16",
            "whilelo p6.b, xzr, {h}",
            "mov {c32}, #32",
            "mov {c64}, #64",
            "mov {c96}, #96",
            "dup z24.b, #0x0f",
            "dup z25.b, #0x30",
            "dup z31.s, #0",
            "mov {h}, #2",
            "1:",
            q6_k_chunk!(),
            q6_k_chunk!(),
            "add {ql}, {ql}, #32",
            "add {x}, {x}, #96",
            "add {sc}, {sc}, #6",
            "subs {h}, {h}, #1",
            "b.ne 1b",
            "saddv d31, p7, z31.s",
            "fmov {isum:w}, s31",
            ql = inout(reg) ql => _,
            qh = inout(reg) qh => _,
            sc = inout(reg) scales => _,
            x = inout(reg) x => _,
            h = out(reg) _,
            c32 = out(reg) _,
            c64 = out(reg) _,
            c96 = out(reg) _,
            isum = out(reg) isum,
            out("v0") _, out("v1") _, out("v2") _, out("v3") _, out("v4") _, out("v5") _,
            out("v6") _, out("v7") _,
            out("v10") _, out("v11") _, out("v12") _, out("v13") _,
            out("v14") _, out("v15") _, out("v16") _, out("v17") _,
            out("v20") _, out("v21") _, out("v22") _, out("v23") _,
            out("v24") _, out("v25") _, out("v31") _,
            out("p6") _, out("p7") _,
            options(nostack, readonly, pure)
        );
    }
    isum
}
