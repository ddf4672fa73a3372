//! The tokenizer parity tool: prints a text's token ids, comma-separated, on one line.
//!
//! ```text
//! cargo run --release --example tokenize -- --model M.gguf --text TEXT [--no-special] [--bos]
//! ```
//!
//! By default special tokens written in the text (`<|user|>`, `<|im_start|>` …) are parsed and
//! no BOS is added — the same ids as `llama-tokenize -m M.gguf --no-bos --ids` with the text on
//! stdin. `--no-special` treats special-token text as plain text (`--no-parse-special`);
//! `--bos` adds the model's BOS (and EOS) the way the vocabulary asks for them
//! (`tokenizer.ggml.add_bos_token` / `add_eos_token`, i.e. llama-tokenize without `--no-bos`).
//! Errors (missing or unreadable file, unsupported vocabulary) go to stderr with exit status 1;
//! usage errors (including an argument that is not UTF-8) with status 2; `--help` prints the
//! usage on stdout.

use std::process::ExitCode;

use phi3_kernels::gguf::Gguf;
use phi3_kernels::tokenizer::{EncodeOptions, Tokenizer, TokenizerError};

#[path = "common/aligned.rs"]
mod aligned;
#[path = "common/args.rs"]
mod args;
#[path = "common/model_file.rs"]
mod model_file;

use args::CliError;

const USAGE: &str = "usage: tokenize --model M.gguf --text TEXT [--no-special] [--bos]";

fn main() -> ExitCode {
    let (model, text, opts) = match parse_args() {
        Ok(a) => a,
        Err(e) => return args::exit("tokenize", USAGE, e),
    };
    match run(&model, &text, opts) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(msg) => {
            eprintln!("tokenize: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// `(model, text, options)` from the command line.
fn parse_args() -> Result<(String, String, EncodeOptions), CliError> {
    let mut model = None;
    let mut text = None;
    let mut opts = EncodeOptions::default();
    let mut args = args::args()?.into_iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--model" | "-m" => model = Some(value()?),
            "--text" | "-t" => text = Some(value()?),
            "--no-special" => opts.parse_special = false,
            "--bos" => opts.add_special = true,
            "--help" | "-h" => return Err(CliError::Help),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}").into()),
        }
    }
    match (model, text) {
        (Some(m), Some(t)) => Ok((m, t, opts)),
        _ => Err(format!("--model and --text are required\n{USAGE}").into()),
    }
}

fn run(model: &str, text: &str, opts: EncodeOptions) -> Result<String, String> {
    let bytes = model_file::map_model(model)?;
    let gguf = Gguf::parse(&bytes).map_err(|e| format!("{model}: {e}"))?;
    let size = Tokenizer::bytes_needed(&gguf, text.len()).map_err(|e| format!("{model}: {e}"))?;
    let mut buf = vec![0u8; size];
    let mut tok =
        Tokenizer::new(&gguf, &mut buf, text.len()).map_err(|e| format!("{model}: {e}"))?;
    let mut ids = vec![0u32; text.len() + 2];
    let n = match tok.encode(text, opts, &mut ids) {
        Ok(n) => n,
        // The error carries the exact count: size the output and encode again.
        Err(TokenizerError::OutputTooSmall { needed, .. }) => {
            ids = vec![0u32; needed];
            tok.encode(text, opts, &mut ids)
                .map_err(|e| format!("encode: {e}"))?
        }
        Err(e) => return Err(format!("encode: {e}")),
    };
    let line: Vec<String> = ids.iter().take(n).map(|id| id.to_string()).collect();
    Ok(line.join(","))
}
