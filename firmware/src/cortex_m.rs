//! Armv7E-M (Cortex-M4F / M7), e.g. qemu's `mps2-an386` board: start-up, features, semihosting.
use phi3_kernels::CpuFeatures;

/// The compile-time target features (M profile: none of the SIMD tiers; the scalar kernels).
pub fn features() -> CpuFeatures {
    CpuFeatures::detect()
}

/// A semihosting call (`bkpt 0xab`, operation in `r0`, parameter in `r1`).
///
/// # Safety
/// `arg` must be what operation `op` expects (a pointer to its parameter block or string).
pub unsafe fn semihost(op: usize, arg: usize) -> usize {
    let ret;
    // SAFETY: the semihosting trap reads only the memory `arg` points to, which the caller
    // vouches for; it clobbers nothing but r0 (the result).
    unsafe {
        core::arch::asm!("bkpt 0xab", inout("r0") op => ret, in("r1") arg, options(nostack));
    }
    ret
}

// The vector table (initial stack pointer, reset, then every exception to `Fault`) and the
// reset handler: FPU on (CPACR CP10/CP11 full access), `.data` copied from flash, `.bss`
// zeroed, the stack painted, then `firmware_main`. `Fault` exits through semihosting with a
// non-zero status (SYS_EXIT with a reason other than ApplicationExit).
core::arch::global_asm!(
    r#"
    .section .vectors, "a"
    .global __vectors
__vectors:
    .word __stack_top
    .word Reset
    .rept 14
    .word Fault
    .endr

    .section .text.Reset, "ax"
    .global Reset
    .thumb_func
Reset:
    ldr r0, =0xE000ED88
    ldr r1, [r0]
    orr r1, r1, #0xF00000
    str r1, [r0]
    dsb
    isb
    ldr r0, =__data_start
    ldr r1, =__data_end
    ldr r2, =__data_load
1:  cmp r0, r1
    bhs 2f
    ldr r3, [r2], #4
    str r3, [r0], #4
    b 1b
2:  ldr r0, =__bss_start
    ldr r1, =__bss_end
    movs r2, #0
3:  cmp r0, r1
    bhs 4f
    str r2, [r0], #4
    b 3b
4:  ldr r0, =__stack_bottom
    mov r1, sp
    ldr r2, =0x5354414b
5:  cmp r0, r1
    bhs 6f
    str r2, [r0], #4
    b 5b
6:  bl firmware_main
7:  b 7b

    .thumb_func
    .global Fault
Fault:
    movs r0, #0x18
    ldr r1, =0x20023
    bkpt 0xab
8:  b 8b
    .ltorg
"#
);
