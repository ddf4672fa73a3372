//! The parity tool: feeds token ids to a model and dumps its logits.
//!
//! ```text
//! cargo run --release --example logits -- --model M.gguf --tokens 1,2,3 [--all] --out FILE \
//!     [--threads N] [--batch K]
//! ```
//!
//! The ids are fed as one prompt (no BOS added), `K` tokens per `forward` call (default: the
//! whole prompt in one batch; `--batch 1` is pure decode). FILE receives little-endian f32
//! logits: the last position's `n_vocab` values, or with `--all` every position's, row after
//! row. Prints `n_vocab=… n_positions=…` (positions written) to stdout.
//!
//! `--threads N` runs the session on a [`ThreadPool`] of N workers (the arena is planned for
//! N workers); the logits are bitwise identical for any N.

use std::process::ExitCode;

use phi3_kernels::gguf::Gguf;
use phi3_kernels::kernels::Kernels;
use phi3_kernels::model::{ArenaPlan, Limits, Model, Session, ARENA_ALIGN};
use phi3_kernels::parallel::ThreadPool;

struct Args {
    model: String,
    tokens: Vec<u32>,
    all: bool,
    out: String,
    threads: usize,
    batch: Option<usize>,
}

const USAGE: &str = "usage: logits --model M.gguf --tokens 1,2,3 [--all] --out FILE \
                     [--threads N] [--batch K]";

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let (mut model, mut tokens, mut out) = (None, None, None);
    let (mut all, mut threads, mut batch) = (false, 1, None);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--model" => model = Some(value()?),
            "--tokens" => {
                let list = value()?;
                let ids: Result<Vec<u32>, _> = list
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| s.trim().parse::<u32>())
                    .collect();
                tokens = Some(ids.map_err(|e| format!("--tokens {list}: {e}"))?);
            }
            "--all" => all = true,
            "--out" => out = Some(value()?),
            "--threads" => {
                threads = value()?.parse().map_err(|e| format!("--threads: {e}"))?;
            }
            "--batch" => {
                batch = Some(value()?.parse().map_err(|e| format!("--batch: {e}"))?);
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    let tokens = tokens.ok_or(format!("--tokens is required\n{USAGE}"))?;
    if tokens.is_empty() {
        return Err("--tokens is empty".into());
    }
    if threads == 0 || batch == Some(0) {
        return Err("--threads and --batch must be at least 1".into());
    }
    Ok(Args {
        model: model.ok_or(format!("--model is required\n{USAGE}"))?,
        tokens,
        all,
        out: out.ok_or(format!("--out is required\n{USAGE}"))?,
        threads,
        batch,
    })
}

fn run(args: &Args) -> Result<(usize, usize), String> {
    let raw = std::fs::read(&args.model).map_err(|e| format!("{}: {e}", args.model))?;
    // Copy into u64-backed memory so every block view is aligned.
    let mut words = vec![0u64; raw.len().div_ceil(8)];
    bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..raw.len()].copy_from_slice(&raw);
    drop(raw);
    let bytes = &bytemuck::cast_slice::<u64, u8>(&words)[..words.len() * 8];
    let gguf = Gguf::parse(bytes).map_err(|e| format!("{}: {e}", args.model))?;
    let model = Model::from_gguf(&gguf).map_err(|e| format!("{}: {e}", args.model))?;

    let n = args.tokens.len();
    let batch = args.batch.unwrap_or(n).min(n);
    let limits = Limits {
        max_context: n,
        max_batch: batch,
        workers: args.threads,
        allow_beyond_trained_context: false,
    };
    let plan = ArenaPlan::new(model.config(), &limits).map_err(|e| e.to_string())?;
    let mut arena = vec![0u8; plan.bytes_needed() + ARENA_ALIGN];
    let start = arena.as_ptr().align_offset(ARENA_ALIGN);
    let arena = &mut arena[start..start + plan.bytes_needed()];
    let mut session =
        Session::new(&model, arena, limits, Kernels::detect()).map_err(|e| e.to_string())?;

    let pool = ThreadPool::new(args.threads);
    let n_vocab = model.config().n_vocab;
    let mut out: Vec<u8> = Vec::new();
    let mut last: Vec<f32> = Vec::new();
    for chunk in args.tokens.chunks(batch) {
        let logits = session
            .forward_with(chunk, args.all, &pool)
            .map_err(|e| e.to_string())?;
        if args.all {
            out.extend(logits.iter().flat_map(|v| v.to_le_bytes()));
        } else {
            last.clear();
            last.extend_from_slice(logits);
        }
    }
    if !args.all {
        out.extend(last.iter().flat_map(|v| v.to_le_bytes()));
    }
    std::fs::write(&args.out, &out).map_err(|e| format!("{}: {e}", args.out))?;
    Ok((n_vocab, out.len() / 4 / n_vocab))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok((n_vocab, n_positions)) => {
            println!("n_vocab={n_vocab} n_positions={n_positions}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
