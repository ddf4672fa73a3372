//! Running a model the firmware way: the weights are a `&'static [u8]` baked into the binary
//! (`include_bytes!`, as flash would hold them) and all working memory is one static arena —
//! no allocator anywhere on the inference path.
//!
//! ```text
//! cargo run --release --example static_arena
//! ```
//!
//! [`run`] is the part a `#![no_std]` firmware would contain: it uses only `core` and the
//! crate's allocation-free API (`Gguf::parse`, `Model::from_gguf`, `ArenaPlan`,
//! `Session::new`/`forward`, `sample::greedy`, `Kernels::best` over `CpuFeatures::detect`, which
//! without the `std` feature reads the compile-time target features). `main` is only the host
//! harness that prints the result. The model is the tiny random-weight GQA fixture from
//! `tests/data/gguf/`, so the tokens it "writes" are meaningless; what matters is that they
//! are computed with no heap.

use phi3_kernels::cpu::CpuFeatures;
use phi3_kernels::gguf::Gguf;
use phi3_kernels::kernels::Kernels;
use phi3_kernels::model::{ArenaPlan, Limits, Model, Session};
use phi3_kernels::{sample, Aligned, Error, StaticArena};

#[path = "common/args.rs"]
mod args;

const USAGE: &str = "usage: static_arena (no arguments)";

/// The model, in the binary's read-only data, 64-byte aligned (`phi3_kernels::Aligned`: a plain
/// `include_bytes!` array is only 1-aligned, and tensor views need their block alignment).
static MODEL: &Aligned<[u8]> = &Aligned(*include_bytes!(
    "../tests/data/gguf/phi3-tiny-gqa-q4_0.gguf"
));

/// The session limits the arena is sized for.
const LIMITS: Limits = Limits::new(64, 8, 1); // max_context, max_batch, workers

/// Size of the static arena. `run` checks it against `ArenaPlan::bytes_needed` (which is a
/// `const fn`, so firmware that knows its `Config` can compute this at compile time).
const ARENA_BYTES: usize = 1 << 20;

/// A static arena (in `.bss`) that `take` hands out as `&'static mut [u8]` exactly once
/// (`phi3_kernels::StaticArena`: a sound alternative to `static mut`).
static ARENA: StaticArena<ARENA_BYTES> = StaticArena::new();

/// Prefills a fixed prompt, then decodes greedily for `steps` tokens; returns the last token.
/// Only `core` and the crate's allocation-free API: this function compiles unchanged in a
/// `#![no_std]` crate.
fn run(model_bytes: &'static [u8], arena: &'static mut [u8], steps: usize) -> Result<u32, Error> {
    let gguf = Gguf::parse(model_bytes)?;
    let model = Model::from_gguf(&gguf)?;
    // Session::new checks size and alignment: ModelError::ArenaTooSmall / ArenaMisaligned.
    let kernels = Kernels::best(&CpuFeatures::detect());
    let mut session = Session::new(&model, arena, LIMITS, kernels)?;
    let prompt = [1u32, 100, 200, 300, 400];
    let mut next = sample::greedy(session.forward(&prompt, false)?).unwrap_or(0);
    for _ in 0..steps {
        next = sample::greedy(session.forward(&[next], false)?).unwrap_or(0);
    }
    Ok(next)
}

fn main() -> std::process::ExitCode {
    let parsed = args::args().and_then(|a| match a.first().map(String::as_str) {
        None => Ok(()),
        Some("-h" | "--help") => Err(args::CliError::Help),
        Some(other) => Err(format!("unexpected argument {other}\n{USAGE}").into()),
    });
    if let Err(e) = parsed {
        return args::exit("static_arena", USAGE, e);
    }
    let arena = ARENA.take().expect("the arena is taken once");
    let gguf = Gguf::parse(&MODEL.0).expect("fixture parses");
    let model = Model::from_gguf(&gguf).expect("fixture binds");
    let needed = ArenaPlan::new(model.config(), &LIMITS)
        .expect("plan")
        .bytes_needed();
    match run(&MODEL.0, arena, 8) {
        Ok(token) => println!(
            "static arena: {ARENA_BYTES} bytes ({needed} needed), model {} bytes from \
             include_bytes!; after 5 prompt + 8 greedy tokens the next token is {token}",
            MODEL.0.len()
        ),
        Err(e) => {
            eprintln!("static_arena: {e}");
            return std::process::ExitCode::FAILURE;
        }
    }
    std::process::ExitCode::SUCCESS
}
