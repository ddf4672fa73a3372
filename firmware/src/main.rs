//! A bare-metal program (no OS, no allocator, no `std`): greedy generation with the tiny GQA
//! fixture model, checked against llama.cpp's golden ids.
//!
//! - The model is in the image (`include_bytes!`, 64-byte aligned by `Aligned`), as flash would
//!   hold it; nothing is copied.
//! - All working memory is one `static` arena in `.bss`, sized at compile time by a `const`
//!   [`ArenaPlan`] over the fixture's `const` [`Config`] (checked against the file at run time).
//! - The kernels are chosen from the CPU's ID registers on aarch64
//!   (`CpuFeatures::from_id_registers`: a Cortex-A76 runs `neon-dotprod`, `-cpu max` runs
//!   `sve`) and from the compile-time target features on the M profile (the scalar kernels).
//! - Output and exit go through Arm semihosting: the exit status is 0 when the ids equal the
//!   golden ones, 1 on a mismatch, 2 on an error, 3 on a panic or fault.
//!
//! Built for `aarch64-unknown-none` (qemu's `virt` board) and `thumbv7em-none-eabihf` (qemu's
//! `mps2-an386`, a Cortex-M4F); `scripts/firmware` builds and runs both:
//!
//! ```text
//! cd firmware && cargo run --release --target aarch64-unknown-none
//! cd firmware && cargo run --release --target thumbv7em-none-eabihf
//! ```
//!
//! The start-up code is in `aarch64.rs` (stack, FP/SIMD and SVE on, the MMU on with an identity
//! map — with the MMU off every access is Device memory, where unaligned loads fault — `.bss`
//! zeroed, the stack painted) and `cortex_m.rs` (vector table, FPU on, `.data` copied, `.bss`
//! zeroed, the stack painted); the linker scripts give each board's memory map.
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

use core::fmt::Write;
use phi3_kernels::model::{Arch, ArenaPlan, Config, Limits, Model, Session};
use phi3_kernels::{gguf::Gguf, sample, Aligned, Error, Kernels, StaticArena};

/// Start-up code, CPU features and the semihosting trap of the target.
#[cfg_attr(target_arch = "aarch64", path = "aarch64.rs")]
#[cfg_attr(target_arch = "arm", path = "cortex_m.rs")]
mod platform;

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
    let features = platform::features();
    let kernels = Kernels::best(&features);
    let _ = write!(out, "features {features:?}: tier {}", kernels.tier);
    #[cfg(target_arch = "aarch64")]
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
        static __stack_bottom: usize;
        static __stack_top: usize;
    }
    let bottom = core::ptr::addr_of!(__stack_bottom);
    let top = core::ptr::addr_of!(__stack_top) as usize;
    let size = top - bottom as usize;
    let mut p = bottom;
    while (p as usize) < top {
        // SAFETY: `p` lies in the stack region the linker script reserves (word-aligned, below
        // `__stack_top`); a volatile read of a word there has no effect on the program.
        if unsafe { p.read_volatile() } != STACK_PAINT {
            break;
        }
        // SAFETY: still within (or one past) the stack region, checked by the loop condition.
        p = unsafe { p.add(1) };
    }
    (top - p as usize, size)
}

/// The word the start-up code paints the stack with ("KATS" repeated).
const STACK_PAINT: usize = 0x5354_414b_5354_414b_u64 as usize;

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

/// Arm semihosting (A64: `hlt #0xf000`; M profile: `bkpt 0xab`), through `platform::semihost`.
mod semihosting {
    const SYS_WRITE0: usize = 0x04;
    /// `SYS_EXIT` on A64 takes a two-word block; A32/T32 needs `SYS_EXIT_EXTENDED` for that.
    const SYS_EXIT: usize = if cfg!(target_arch = "aarch64") {
        0x18
    } else {
        0x20
    };
    /// `ADP_Stopped_ApplicationExit`: with it, the block's second word is the exit status.
    const ADP_STOPPED_APPLICATION_EXIT: usize = 0x20026;

    use super::platform::semihost as call;

    /// Prints `s`, which must end with a NUL byte (else nothing is printed).
    pub fn write0(s: &[u8]) {
        if s.last() == Some(&0) {
            // SAFETY: `s` is a live, NUL-terminated byte string, what SYS_WRITE0 reads.
            unsafe { call(SYS_WRITE0, s.as_ptr() as usize) };
        }
    }

    /// Ends the program (qemu exits with `code`).
    pub fn exit(code: usize) -> ! {
        let block = [ADP_STOPPED_APPLICATION_EXIT, code];
        // SAFETY: `block` is SYS_EXIT's two-word parameter block, alive during the call.
        unsafe { call(SYS_EXIT, block.as_ptr() as usize) };
        loop {
            core::hint::spin_loop();
        }
    }
}
