//! aarch64 (A profile) at EL1, e.g. qemu's `virt` board: start-up, features, semihosting.
use phi3_kernels::CpuFeatures;

/// The CPU's features, from its ID registers.
pub fn features() -> CpuFeatures {
    // SAFETY: this runs at EL1, where the ID registers can be read, and `_start` has enabled
    // FP/SIMD (CPACR_EL1.FPEN) and, when the CPU implements it, SVE (CPACR_EL1.ZEN).
    unsafe { CpuFeatures::from_id_registers() }
}

/// A semihosting call (`hlt #0xf000`, operation in `w0`, parameter in `x1`).
///
/// # Safety
/// `arg` must be what operation `op` expects (a pointer to its parameter block or string).
pub unsafe fn semihost(op: usize, arg: usize) -> usize {
    let ret;
    // SAFETY: the semihosting trap reads only the memory `arg` points to, which the caller
    // vouches for; it clobbers nothing but x0 (the result).
    unsafe {
        core::arch::asm!("hlt #0xf000", inout("x0") op => ret, in("x1") arg, options(nostack));
    }
    ret
}

// Start-up, at EL1 with the MMU off: the stack; FP/SIMD and SVE on; an identity map with the
// MMU and caches on (with the MMU off every access is Device memory, where unaligned loads
// fault); `.bss` zeroed; the stack painted for the peak-stack figure; then `firmware_main`.
core::arch::global_asm!(
    r#"
    .section .text.boot, "ax"
    .global _start
_start:
    adrp x0, __stack_top
    add x0, x0, :lo12:__stack_top
    mov sp, x0

    // FP/SIMD on (CPACR_EL1.FPEN = 0b11); SVE too (ZEN = 0b11) when ID_AA64PFR0_EL1.SVE != 0,
    // at the longest vector length the CPU implements (ZCR_EL1.LEN = 15, clamped by the CPU).
    mov x0, #(3 << 20)
    mrs x1, ID_AA64PFR0_EL1
    ubfx x1, x1, #32, #4
    cbz x1, 1f
    orr x0, x0, #(3 << 16)
1:  msr CPACR_EL1, x0
    isb
    cbz x1, 2f
    mov x2, #15
    msr S3_0_C1_C2_0, x2
    isb
2:
    // Identity map with 1 GiB blocks (4 KiB granule, 39-bit VA, walks from level 1):
    // 0-1 GiB Device-nGnRnE (MAIR attr 0), 1-2 GiB (RAM) normal write-back (attr 1).
    mov x0, #0xff00
    msr MAIR_EL1, x0
    // TCR_EL1: T0SZ 25, IRGN0 / ORGN0 write-back, SH0 inner shareable, TG0 4 KiB,
    // EPD1 (no TTBR1 walks), IPS 36 bits.
    movz x0, #0x3519
    movk x0, #0x0080, lsl #16
    movk x0, #0x0001, lsl #32
    msr TCR_EL1, x0
    adrp x0, __page_table
    add x0, x0, :lo12:__page_table
    msr TTBR0_EL1, x0
    isb
    tlbi vmalle1
    dsb ish
    isb
    // SCTLR_EL1: M (MMU), C (data cache), I (instruction cache) on; A (alignment check) off.
    mrs x0, SCTLR_EL1
    orr x0, x0, #1
    orr x0, x0, #(1 << 2)
    orr x0, x0, #(1 << 12)
    bic x0, x0, #(1 << 1)
    msr SCTLR_EL1, x0
    isb

    // Zero .bss (16-byte aligned bounds).
    adrp x0, __bss_start
    add x0, x0, :lo12:__bss_start
    adrp x1, __bss_end
    add x1, x1, :lo12:__bss_end
3:  cmp x0, x1
    b.hs 4f
    stp xzr, xzr, [x0], #16
    b 3b
4:
    // Paint the stack below sp (for the peak-stack figure).
    adrp x0, __stack_bottom
    add x0, x0, :lo12:__stack_bottom
    mov x1, sp
    movz x2, #0x414b
    movk x2, #0x5354, lsl #16
    movk x2, #0x414b, lsl #32
    movk x2, #0x5354, lsl #48
5:  cmp x0, x1
    b.hs 6f
    str x2, [x0], #8
    b 5b
6:
    bl firmware_main
7:  wfe
    b 7b

    .section .data.pagetable, "aw"
    .balign 4096
__page_table:
    .quad 0x0000000000000401
    .quad 0x0000000040000705
    .fill 510, 8, 0
"#
);
