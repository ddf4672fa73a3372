//! The parity tool: feeds token ids to a model and dumps its logits.
//!
//! ```text
//! cargo run --release --example logits -- --model M.gguf --tokens 1,2,3 [--all] --out FILE \
//!     [--threads N] [--batch K] [--tier NAME]
//! ```
//!
//! The ids are fed as one prompt (no BOS added), `K` tokens per `forward` call (default: the
//! whole prompt in one batch; `--batch 1` is pure decode). FILE receives little-endian f32
//! logits: the last position's `n_vocab` values, or with `--all` every position's, row after
//! row. Prints `n_vocab=… n_positions=…` (positions written) to stdout.
//!
//! `--threads N` runs the session on a [`ThreadPool`] of N workers (the arena is planned for
//! N workers); the logits are bitwise identical for any N. `--tier NAME` runs one kernel tier
//! (`scalar`, `avx2`, `neon-i8mm`, …; default the best this CPU has), to compare tiers with
//! `cmp` on the output files.
//!
//! The file is memory-mapped (`common/model_file.rs`) and parsed at exactly its length: a
//! truncated model is an error (exit status 1), never run on made-up bytes.
//! `--allow-long-context` permits more tokens than the model's trained context
//! (`Limits::allow_beyond_trained_context`); without it such a run is refused. A usage error
//! exits with status 2.

use std::process::ExitCode;

use phi3_kernels::error::ModelError;
use phi3_kernels::gguf::Gguf;
use phi3_kernels::model::{ArenaPlan, Limits, Model, Session, ARENA_ALIGN};
use phi3_kernels::parallel::ThreadPool;

#[path = "common/aligned.rs"]
mod aligned;
#[path = "common/args.rs"]
mod args;
#[path = "common/model_file.rs"]
mod model_file;

use aligned::AlignedBuf;
use args::CliError;

struct Args {
    model: String,
    tokens: Vec<u32>,
    all: bool,
    out: String,
    threads: usize,
    batch: Option<usize>,
    allow_long_context: bool,
    tier: Option<phi3_kernels::Tier>,
    kv: phi3_kernels::model::KvType,
}

const USAGE: &str = "usage: logits --model M.gguf --tokens 1,2,3 [--all] --out FILE \
                     [--threads N] [--batch K] [--tier NAME] [--allow-long-context] \
                     [--kv f16|q8_0|q4_0]\n  --kv TYPE  KV cache element type (default f16)";

fn parse_args() -> Result<Args, CliError> {
    let mut it = args::args()?.into_iter();
    let (mut model, mut tokens, mut out) = (None, None, None);
    let (mut all, mut threads, mut batch) = (false, 1, None);
    let mut allow_long_context = false;
    let mut tier = None;
    let mut kv = phi3_kernels::model::KvType::F16;
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
            "--allow-long-context" => allow_long_context = true,
            "--tier" => tier = Some(args::tier(&value()?)?),
            "--kv" => kv = args::kv(&value()?)?,
            "-h" | "--help" => return Err(CliError::Help),
            other => return Err(format!("unknown argument {other}\n{USAGE}").into()),
        }
    }
    let tokens = tokens.ok_or(format!("--tokens is required\n{USAGE}"))?;
    if tokens.is_empty() {
        return Err(format!("--tokens is empty\n{USAGE}").into());
    }
    if threads == 0 || batch == Some(0) {
        return Err(format!("--threads and --batch must be at least 1\n{USAGE}").into());
    }
    Ok(Args {
        model: model.ok_or(format!("--model is required\n{USAGE}"))?,
        tokens,
        all,
        out: out.ok_or(format!("--out is required\n{USAGE}"))?,
        threads,
        batch,
        allow_long_context,
        tier,
        kv,
    })
}

fn run(args: &Args) -> Result<(usize, usize), String> {
    let bytes = model_file::map_model(&args.model)?;
    let gguf = Gguf::parse(&bytes).map_err(|e| format!("{}: {e}", args.model))?;
    let model = Model::from_gguf(&gguf).map_err(|e| format!("{}: {e}", args.model))?;

    let n = args.tokens.len();
    let batch = args.batch.unwrap_or(n).min(n);
    let limits = Limits {
        max_context: n,
        max_batch: batch,
        workers: args.threads,
        allow_beyond_trained_context: args.allow_long_context,
        kv: args.kv,
    };
    let plan = ArenaPlan::new(model.config(), &limits).map_err(|e| match e {
        ModelError::ContextBeyondTraining {
            max_context,
            trained,
        } => format!(
            "{max_context} tokens are more than the model's trained context of {trained} \
             positions; --allow-long-context runs them anyway"
        ),
        e => e.to_string(),
    })?;
    const _: () = assert!(aligned::ALIGN.is_multiple_of(ARENA_ALIGN));
    let mut arena = AlignedBuf::zeroed(plan.bytes_needed()).map_err(|e| format!("arena: {e}"))?;
    let mut session = Session::new(&model, &mut arena, limits, crate::args::kernels(args.tier)?)
        .map_err(|e| e.to_string())?;

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
        Err(e) => return args::exit("logits", USAGE, e),
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
