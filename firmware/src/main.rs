//! A bare-metal program (no OS, no allocator, no `std`): greedy generation with the tiny GQA
//! fixture model, checked against llama.cpp's golden ids.
//!
//! - The model is in the image (`include_bytes!`, 64-byte aligned by `Aligned`), as flash would
//!   hold it; nothing is copied.
//! - All working memory is one `static` arena in `.bss`, sized at compile time by a `const`
//!   [`ArenaPlan`] over the fixture's `const` [`Config`] (checked against the file at run time).
//! - The kernels are chosen from the CPU's ID registers ([`CpuFeatures::from_id_registers`]): a
//!   Cortex-A76 runs `neon-dotprod`, `-cpu max` runs `sve`.
//! - Output and exit go through Arm semihosting (`hlt #0xf000`): the exit status is 0 when the
//!   ids equal the golden ones, 1 on a mismatch, 2 on an error.
//!
//! Built for `aarch64-unknown-none` and run on qemu's `virt` board (see `scripts/firmware`):
//!
//! ```text
//! cd firmware && cargo run --release --target aarch64-unknown-none
//! ```
//!
//! The start-up code (below, `global_asm!`) sets the stack, enables FP/SIMD (and SVE when the
//! CPU has it), turns the MMU on with an identity map (RAM as normal write-back memory: with the
//! MMU off every access is Device memory, where unaligned loads fault), zeroes `.bss` and paints
//! the stack so that its peak use can be measured.
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

use core::fmt::Write;
use phi3_kernels::model::{Arch, ArenaPlan, Config, Limits, Model, Session};
use phi3_kernels::{gguf::Gguf, sample, Aligned, CpuFeatures, Error, Kernels, StaticArena};

/// The fixture model in read-only data, 64-byte aligned.
static MODEL: &Aligned<[u8]> = &Aligned(*include_bytes!(
    "../../tests/data/gguf/phi3-tiny-gqa-q4_0.gguf"
));

/// The fixture's hyper-parameters (`gguf_dump`): what firmware that ships one model knows at
/// compile time. `run` checks that the file's own configuration needs the same arena.
const CONFIG: Config = Config {
    arch: Arch::Phi3,
    n_embd: 256,
    n_layer: 2,
    n_ff: 768,
    n_head: 8,
    n_head_kv: 2,
    head_dim: 32,
    n_rot: 32,
    n_vocab: 1024,
    rope_freq_base: 50000.0,
    rms_eps: 1e-6,
    context_length: 256,
    original_context_length: 256,
    rope_attn_factor: 1.0,
    rope_layout: Arch::Phi3.rope_layout(),
};

/// `max_context` 64, `max_batch` 8, one worker: the same limits as the C example.
const LIMITS: Limits = Limits::new(64, 8, 1);

/// The arena's size, computed by the compiler (`ArenaPlan::new` and `bytes_needed` are `const`).
const ARENA_BYTES: usize = match ArenaPlan::new(&CONFIG, &LIMITS) {
    Ok(plan) => plan.bytes_needed(),
    Err(_) => panic!("the const configuration does not fit the limits"),
};

/// The arena, in `.bss`, handed out once as `&'static mut [u8]`.
static ARENA: StaticArena<ARENA_BYTES> = StaticArena::new();

/// The prompt ids and llama.cpp's 16 greedy ids (`capi/examples/main.c`, `tests/model_golden.rs`).
const PROMPT: [u32; 25] = [
    1, 545, 571, 738, 1007, 918, 335, 261, 307, 846, 494, 907, 321, 143, 70, 649, 378, 577, 261,
    25, 869, 647, 519, 714, 857,
];
const GOLDEN: [u32; 16] = [
    1, 104, 540, 726, 615, 109, 922, 922, 922, 665, 270, 290, 989, 570, 989, 570,
];

/// Greedy generation: the prompt in chunks of `max_batch`, then one token at a time. Prints the
/// ids; returns whether they equal [`GOLDEN`].
fn run(out: &mut Console) -> Result<bool, Error> {
    let gguf = Gguf::parse(&MODEL.0)?;
    let model = Model::from_gguf(&gguf)?;
    let needed = ArenaPlan::new(model.config(), &LIMITS)?.bytes_needed();
    if needed != ARENA_BYTES {
        let _ = writeln!(
            out,
            "the model needs a {needed}-byte arena, not {ARENA_BYTES}"
        );
        return Ok(false);
    }
    // SAFETY: this runs at EL1, where the ID registers can be read, and `_start` has enabled
    // FP/SIMD (CPACR_EL1.FPEN) and, when the CPU implements it, SVE (CPACR_EL1.ZEN).
    let features = unsafe { CpuFeatures::from_id_registers() };
    let kernels = Kernels::best(&features);
    let _ = write!(out, "features {features:?}: tier {}", kernels.tier);
    if let Some(bits) = phi3_kernels::arch::aarch64::sve_vector_bits(&features) {
        let _ = write!(out, ", SVE {bits} bits");
    }
    let _ = writeln!(
        out,
        "; on the stack: Gguf {} bytes, Model {} bytes",
        core::mem::size_of_val(&gguf),
        core::mem::size_of_val(&model)
    );
    let Some(arena) = ARENA.take() else {
        let _ = writeln!(out, "the arena was already taken");
        return Ok(false);
    };
    let mut session = Session::new(&model, arena, LIMITS, kernels)?;
    let mut next = 0;
    for chunk in PROMPT.chunks(LIMITS.max_batch) {
        next = sample::greedy(session.forward(chunk, false)?)?;
    }
    let mut ids = [0u32; GOLDEN.len()];
    for (i, id) in ids.iter_mut().enumerate() {
        if i > 0 {
            next = sample::greedy(session.forward(&[next], false)?)?;
        }
        *id = next;
    }
    let _ = write!(out, "ids:");
    for id in ids {
        let _ = write!(out, " {id}");
    }
    let _ = writeln!(out);
    Ok(ids == GOLDEN)
}

/// Called by `_start` with the MMU, caches and FP/SIMD on and `.bss` zeroed.
#[no_mangle]
extern "C" fn firmware_main() -> ! {
    let mut out = Console::new();
    let _ = writeln!(
        out,
        "phi3-firmware: model {} bytes (include_bytes!), arena {ARENA_BYTES} bytes (static, const ArenaPlan)",
        MODEL.0.len()
    );
    let code = match run(&mut out) {
        Ok(true) => {
            let _ = writeln!(
                out,
                "OK: the {} ids equal llama.cpp's golden greedy ids",
                GOLDEN.len()
            );
            0
        }
        Ok(false) => {
            let _ = write!(out, "MISMATCH: golden ids:");
            for id in GOLDEN {
                let _ = write!(out, " {id}");
            }
            let _ = writeln!(out);
            1
        }
        Err(e) => {
            let _ = writeln!(out, "error: {e}");
            2
        }
    };
    let (peak, size) = stack_use();
    let _ = writeln!(out, "peak stack {peak} bytes of {size}");
    out.flush();
    semihosting::exit(code)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let mut out = Console::new();
    let _ = writeln!(out, "panic: {info}");
    out.flush();
    semihosting::exit(3)
}

/// The stack bytes used so far at most: `_start` filled the stack with [`STACK_PAINT`] before
/// calling Rust; the lowest word that no longer holds it is the deepest the stack went.
fn stack_use() -> (usize, usize) {
    extern "C" {
        static __stack_bottom: u64;
        static __stack_top: u64;
    }
    let bottom = core::ptr::addr_of!(__stack_bottom);
    let top = core::ptr::addr_of!(__stack_top) as usize;
    let size = top - bottom as usize;
    let mut p = bottom;
    while (p as usize) < top {
        // SAFETY: `p` lies in the stack region the linker script reserves (8-aligned, below
        // `__stack_top`); a volatile read of a word there has no effect on the program.
        if unsafe { p.read_volatile() } != STACK_PAINT {
            break;
        }
        // SAFETY: still within (or one past) the stack region, checked by the loop condition.
        p = unsafe { p.add(1) };
    }
    (top - p as usize, size)
}

/// The word `_start` paints the stack with ("KATSKATS").
const STACK_PAINT: u64 = 0x5354_414b_5354_414b;

/// Text to the semihosting console, a line at a time (`SYS_WRITE0` needs a NUL-terminated
/// string).
struct Console {
    buf: [u8; 256],
    len: usize,
}

impl Console {
    const fn new() -> Self {
        Console {
            buf: [0; 256],
            len: 0,
        }
    }

    fn flush(&mut self) {
        if let Some(end) = self.buf.get_mut(self.len) {
            *end = 0;
            semihosting::write0(&self.buf[..=self.len]);
        }
        self.len = 0;
    }
}

impl Write for Console {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            // Keep one byte for the terminating NUL.
            if self.len + 1 >= self.buf.len() {
                self.flush();
            }
            self.buf[self.len] = if b == 0 { b'?' } else { b };
            self.len += 1;
            if b == b'\n' {
                self.flush();
            }
        }
        Ok(())
    }
}

/// Arm semihosting (A64: `hlt #0xf000`, operation in `w0`, parameter in `x1`).
mod semihosting {
    const SYS_WRITE0: u64 = 0x04;
    const SYS_EXIT: u64 = 0x18;
    /// `ADP_Stopped_ApplicationExit`: with it, `SYS_EXIT`'s second word is the exit status.
    const ADP_STOPPED_APPLICATION_EXIT: u64 = 0x20026;

    /// # Safety
    /// `arg` must be what operation `op` expects (a pointer to its parameter block or string).
    unsafe fn call(op: u64, arg: u64) -> u64 {
        let ret;
        // SAFETY: the semihosting trap reads only the memory `arg` points to, which the caller
        // vouches for; it clobbers nothing but x0 (the result).
        unsafe {
            core::arch::asm!("hlt #0xf000", inout("x0") op => ret, in("x1") arg, options(nostack));
        }
        ret
    }

    /// Prints `s`, which must end with a NUL byte (else nothing is printed).
    pub fn write0(s: &[u8]) {
        if s.last() == Some(&0) {
            // SAFETY: `s` is a live, NUL-terminated byte string, what SYS_WRITE0 reads.
            unsafe { call(SYS_WRITE0, s.as_ptr() as u64) };
        }
    }

    /// Ends the program (qemu exits with `code`).
    pub fn exit(code: u64) -> ! {
        let block = [ADP_STOPPED_APPLICATION_EXIT, code];
        // SAFETY: `block` is SYS_EXIT's two-word parameter block, alive during the call.
        unsafe { call(SYS_EXIT, block.as_ptr() as u64) };
        loop {
            core::hint::spin_loop();
        }
    }
}

// Start-up, at EL1 with the MMU off: see the module documentation.
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
