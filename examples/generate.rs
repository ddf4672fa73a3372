//! Text in, text out: runs a GGUF model (Phi-3 family or llama arch such as SmolLM2) on a
//! prompt and streams the reply.
//!
//! ```text
//! cargo run --release --example generate -- --model M.gguf --prompt TEXT [--chat]
//!     [--system TEXT] [-n N] [--temp T] [--top-k K] [--top-p P] [--seed S] [--threads N]
//!     [--ctx N] [--allow-long-context] [--copy] [--tier NAME] [--save FILE] [--resume FILE]
//! ```
//!
//! - The file is memory-mapped (`memmap2`); the library only ever sees the `&[u8]`. A mapped
//!   file must not be truncated or rewritten while the program runs: the process would read
//!   the change, or die of `SIGBUS` on pages that no longer exist. `--copy` (alias
//!   `--no-mmap`) reads the file into private memory instead: immune to changes of the file,
//!   at the cost of the model's size in RAM (not shared with the page cache) and the time to
//!   read it up front.
//! - `--chat` renders `--prompt` as one user turn with the model's chat template (recognised
//!   from `tokenizer.chat_template`: Phi-3, Phi-4-mini or ChatML), including the default system
//!   message the template injects when there is none (SmolLM2's "You are a helpful AI assistant
//!   named SmolLM, …"); `--system` replaces it. A `phi3` file without a template gets the
//!   Phi-3 format. Without `--chat` the prompt text is tokenized
//!   as is, with special tokens (`<|im_start|>`, `<|user|>` …) parsed, and BOS added when the
//!   vocabulary's `add_bos_token` says so.
//! - Sampling: llama.cpp's defaults (temperature 0.8, top-k 40, top-p 0.95, min-p 0.05);
//!   `--temp 0` is greedy. Generation stops after `-n` tokens (default 128), on one of the
//!   tokenizer's stop tokens (EOS, `<|end|>`, `<|im_end|>` …), or when the context is full.
//! - `--ctx` is the KV-cache length (default: prompt + `-n`, at most the model's trained
//!   context); the arena is sized exactly for it, and an arena that cannot be allocated is an
//!   error. A `--ctx` (or a prompt) beyond the model's trained context
//!   (`Config::max_trained_context`: `context_length`, or a LongRoPE model's long context) is
//!   refused unless `--allow-long-context` opts in (`Limits::allow_beyond_trained_context`).
//! - Usage errors (including an argument that is not UTF-8) exit with status 2, other errors
//!   with 1; `--help` prints the usage on stdout.
//! - The text is printed as it is produced (incomplete UTF-8 is held back until it
//!   completes); the last line on stderr reports prompt tokens, prefill and decode speed and
//!   arena bytes.
//!
//! `--threads N` runs the matmuls and attention on a [`ThreadPool`] of N workers (default: the
//! machine's available parallelism, at most 8); the output is bitwise identical for any N.
//! `--save FILE` writes the session (tokens and KV cache, `Session::save_into`) to FILE after
//! the reply; `--resume FILE` restores such a file first (`Session::restore_from`: the same
//! model is required) and appends the prompt to it — with `--chat`, as the conversation's next
//! user turn (the previous reply is closed with the end-of-turn marker, no system message is
//! added) — so a chat can be suspended and continued without feeding it again.
//!
//! `--tier NAME` runs one kernel tier (`scalar`, `avx2`, `neon-i8mm`, …; default the best this
//! CPU has).
//!
//! The functions below are also what `tests/model_smollm2.rs` drives (it includes this file),
//! so the test checks exactly the path this example runs.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use phi3_kernels::error::ModelError;
use phi3_kernels::generate::{GenerateConfig, Generator, StdClock, StopReason};
use phi3_kernels::gguf::Gguf;
use phi3_kernels::model::{snapshot, ArenaPlan, Limits, Model, Session, ARENA_ALIGN};
use phi3_kernels::parallel::{Parallel, ThreadPool};
use phi3_kernels::sample::{Sampler, SamplerConfig};
use phi3_kernels::tokenizer::{
    max_encode_tokens, ChatFamily, ChatTemplate, EncodeOptions, Message, Tokenizer,
};

#[path = "common/aligned.rs"]
mod aligned;
#[path = "common/args.rs"]
mod args;
#[path = "common/model_file.rs"]
mod model_file;
pub use model_file::{map_model, open_model};

pub use aligned::AlignedBuf;
pub use args::CliError;

const USAGE: &str = "usage: generate --model M.gguf --prompt TEXT [--chat] [--system TEXT] \
                     [-n N] [--temp T] [--top-k K] [--top-p P] [--seed S] [--threads N] \
                     [--ctx N] [--allow-long-context] [--copy|--no-mmap] [--tier NAME] \
                     [--save FILE] [--resume FILE] [--kv f16|q8_0|q4_0]\n\
                     --kv TYPE  KV cache element type (default f16; q8_0 / q4_0 shrink the \
                     cache, a resumed file must have the same type)";

/// Most prompt tokens one prefill `forward` call takes (bounds the activation buffers).
pub const MAX_PREFILL_BATCH: usize = 256;

/// Command-line settings.
#[derive(Debug)]
pub struct Args {
    pub model: String,
    pub prompt: String,
    pub chat: bool,
    pub system: Option<String>,
    pub n_predict: usize,
    pub sampler: SamplerConfig,
    pub threads: usize,
    pub ctx: Option<usize>,
    /// `--allow-long-context`: a context beyond the model's trained one is allowed.
    pub allow_long_context: bool,
    /// `--copy` / `--no-mmap`: read the model into private memory instead of mapping it.
    pub copy: bool,
    /// `--tier NAME`: this kernel tier instead of the best one the CPU has.
    pub tier: Option<phi3_kernels::Tier>,
    /// `--save FILE`: write the session to FILE at the end.
    pub save: Option<String>,
    /// `--resume FILE`: restore the session from FILE first.
    pub resume: Option<String>,
    /// `--kv TYPE`: the KV cache element type.
    pub kv: phi3_kernels::model::KvType,
}

fn parse_num<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    v.parse().map_err(|e| format!("{flag} {v}: {e}"))
}

/// Parses the command line (without the program name).
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, CliError> {
    let mut it = args.into_iter();
    let (mut model, mut prompt, mut system, mut ctx) = (None, None, None, None);
    let (mut allow_long_context, mut copy, mut tier) = (false, false, None);
    let (mut save, mut resume) = (None, None);
    let mut kv = phi3_kernels::model::KvType::F16;
    let default_threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let (mut chat, mut n_predict, mut threads) = (false, 128usize, default_threads);
    let mut sampler = SamplerConfig::default();
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--model" | "-m" => model = Some(value()?),
            "--prompt" | "-p" => prompt = Some(value()?),
            "--chat" => chat = true,
            "--system" => system = Some(value()?),
            "-n" | "--n-predict" => n_predict = parse_num(&arg, &value()?)?,
            "--temp" => sampler.temperature = parse_num(&arg, &value()?)?,
            "--top-k" => sampler.top_k = parse_num(&arg, &value()?)?,
            "--top-p" => sampler.top_p = parse_num(&arg, &value()?)?,
            "--seed" => sampler.seed = parse_num(&arg, &value()?)?,
            "--threads" | "-t" => threads = parse_num(&arg, &value()?)?,
            "--ctx" | "-c" => ctx = Some(parse_num(&arg, &value()?)?),
            "--allow-long-context" => allow_long_context = true,
            "--copy" | "--no-mmap" => copy = true,
            "--tier" => tier = Some(args::tier(&value()?)?),
            "--save" => save = Some(value()?),
            "--resume" => resume = Some(value()?),
            "--kv" => kv = args::kv(&value()?)?,
            "-h" | "--help" => return Err(CliError::Help),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}").into()),
        }
    }
    if system.is_some() && resume.is_some() {
        return Err(format!("--system cannot change a resumed conversation\n{USAGE}").into());
    }
    if system.is_some() && !chat {
        return Err(format!("--system needs --chat\n{USAGE}").into());
    }
    if threads == 0 || ctx == Some(0) {
        return Err(format!("--threads and --ctx must be at least 1\n{USAGE}").into());
    }
    if sampler.temperature <= 0.0 {
        sampler = SamplerConfig {
            seed: sampler.seed,
            ..SamplerConfig::greedy()
        };
    }
    Sampler::new(sampler).map_err(|e| format!("sampler settings: {e}"))?;
    Ok(Args {
        model: model.ok_or(format!("--model is required\n{USAGE}"))?,
        prompt: prompt.ok_or(format!("--prompt is required\n{USAGE}"))?,
        chat,
        system,
        n_predict,
        sampler,
        threads,
        ctx,
        allow_long_context,
        copy,
        tier,
        save,
        resume,
        kv,
    })
}

/// Parses the GGUF and binds the model (unsupported architecture, tensor type or shape → the
/// library's error, naming what is wrong).
pub fn load_model<'w>(path: &str, bytes: &'w [u8]) -> Result<(Gguf<'w>, Model<'w>), String> {
    let gguf = Gguf::parse(bytes).map_err(|e| format!("{path}: invalid GGUF: {e}"))?;
    let model = Model::from_gguf(&gguf).map_err(|e| format!("{path}: unsupported model: {e}"))?;
    Ok((gguf, model))
}

/// The prompt text that is tokenized: the raw prompt, or with `chat` the model's chat template
/// rendered for one user turn (with `system`, or the template's default system message).
pub fn render_prompt(
    gguf: &Gguf<'_>,
    prompt: &str,
    chat: bool,
    system: Option<&str>,
) -> Result<String, String> {
    if !chat {
        return Ok(prompt.to_string());
    }
    let template = chat_template(gguf)?;
    let mut messages = Vec::with_capacity(2);
    if let Some(sys) = system {
        messages.push(Message::system(sys));
    }
    messages.push(Message::user(prompt));
    let mut out = vec![0u8; template.rendered_len(&messages, true)];
    let text = template
        .render(&messages, true, &mut out)
        .map_err(|e| format!("chat template: {e}"))?;
    Ok(text.to_string())
}

/// The model's chat format: its `tokenizer.chat_template`, or Phi-3's for a `phi3` file
/// without one.
pub fn chat_template<'g>(gguf: &Gguf<'g>) -> Result<ChatTemplate<'g>, String> {
    let source = gguf
        .get_str("tokenizer.chat_template")
        .map_err(|e| format!("tokenizer.chat_template: {e}"))?;
    let arch = gguf.get_str("general.architecture").ok().flatten();
    match (source, arch) {
        (Some(source), _) => ChatTemplate::detect(source).map_err(|e| format!("--chat: {e}")),
        // A `phi3` file without a template (e.g. from make_model): the Phi-3 format.
        (None, Some("phi3")) => Ok(ChatTemplate::from_family(ChatFamily::Phi3)),
        (None, _) => Err("--chat: the model has no tokenizer.chat_template".into()),
    }
}

/// The buffer a tokenizer for texts up to `max_text_bytes` needs.
pub fn tokenizer_buffer(gguf: &Gguf<'_>, max_text_bytes: usize) -> Result<Vec<u8>, String> {
    let n = Tokenizer::bytes_needed(gguf, max_text_bytes).map_err(|e| format!("tokenizer: {e}"))?;
    Ok(vec![0u8; n])
}

/// Tokenizes the prompt: special tokens parsed, BOS (and EOS) as the vocabulary asks.
pub fn encode_prompt(tok: &mut Tokenizer<'_, '_>, text: &str) -> Result<Vec<u32>, String> {
    let opts = EncodeOptions {
        add_special: true,
        parse_special: true,
    };
    let mut ids = vec![0u32; max_encode_tokens(text.len())];
    let n = tok
        .encode(text, opts, &mut ids)
        .map_err(|e| format!("tokenize: {e}"))?;
    ids.truncate(n);
    if ids.is_empty() {
        return Err("the prompt is empty (no tokens)".into());
    }
    Ok(ids)
}

/// Tokenizes the text that continues a resumed session: special tokens parsed, no BOS.
pub fn encode_continuation(tok: &mut Tokenizer<'_, '_>, text: &str) -> Result<Vec<u32>, String> {
    let mut ids = vec![0u32; max_encode_tokens(text.len())];
    let n = tok
        .encode(text, EncodeOptions::default(), &mut ids)
        .map_err(|e| format!("tokenize: {e}"))?;
    ids.truncate(n);
    if ids.is_empty() {
        return Err("the prompt is empty (no tokens)".into());
    }
    Ok(ids)
}

/// The session limits for a prompt of `n_prompt` tokens and `n_predict` new ones, on
/// `workers` workers. Without `allow_long`, a context (`ctx`, or the prompt) beyond the
/// model's trained context is an error naming `--allow-long-context`.
pub fn session_limits(
    model: &Model<'_>,
    n_prompt: usize,
    n_predict: usize,
    ctx: Option<usize>,
    workers: usize,
    allow_long: bool,
) -> Result<Limits, String> {
    let trained = model.config().max_trained_context().max(1);
    let default_ctx = n_prompt.saturating_add(n_predict);
    let max_context = ctx.unwrap_or(if allow_long {
        default_ctx
    } else {
        default_ctx.min(trained)
    });
    if !allow_long && n_prompt > trained {
        return Err(format!(
            "the prompt has {n_prompt} tokens, more than the model's trained context of \
             {trained} positions; --allow-long-context runs it anyway (quality typically \
             degrades past the trained context)"
        ));
    }
    if !allow_long && max_context > trained {
        return Err(format!(
            "--ctx {max_context} is beyond the model's trained context of {trained} \
             positions; --allow-long-context runs it anyway (quality typically degrades past \
             the trained context)"
        ));
    }
    if n_prompt > max_context {
        return Err(format!(
            "the prompt has {n_prompt} tokens but the context holds {max_context} (--ctx)"
        ));
    }
    Ok(Limits {
        max_context,
        max_batch: n_prompt.clamp(1, MAX_PREFILL_BATCH),
        workers: workers.max(1),
        allow_beyond_trained_context: allow_long,
        kv: phi3_kernels::model::KvType::F16,
    })
}

/// The session's zeroed arena: exactly [`ArenaPlan::bytes_needed`] bytes starting at a
/// multiple of [`ARENA_ALIGN`]. An arena the allocator refuses (e.g. a huge `--ctx`) is an
/// error, not an abort.
pub fn arena_for(model: &Model<'_>, limits: &Limits) -> Result<AlignedBuf, String> {
    const _: () = assert!(aligned::ALIGN.is_multiple_of(ARENA_ALIGN));
    let plan = ArenaPlan::new(model.config(), limits).map_err(|e| match e {
        ModelError::ContextBeyondTraining {
            max_context,
            trained,
        } => format!(
            "a context of {max_context} positions is beyond the model's trained context of \
             {trained}; --allow-long-context runs it anyway"
        ),
        e => format!("arena: {e}"),
    })?;
    AlignedBuf::zeroed(plan.bytes_needed()).map_err(|e| {
        format!(
            "arena for a context of {} positions: {e} (a smaller --ctx needs less)",
            limits.max_context
        )
    })
}

/// What one generation produced.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Generated ids in order, including the stop token that ended generation, if any.
    pub ids: Vec<u32>,
    /// Whether a stop token ended generation.
    pub stopped: bool,
    /// Prompt tokens fed.
    pub prompt_tokens: usize,
    /// Time spent in prefill `forward` calls.
    pub prefill: Duration,
    /// Single-token `forward` calls after prefill, and their time.
    pub decode_tokens: usize,
    pub decode: Duration,
}

fn tok_per_s(n: usize, t: Duration) -> f64 {
    if t.is_zero() {
        0.0
    } else {
        n as f64 / t.as_secs_f64()
    }
}

/// Feeds `prompt` (in batches of the session's `max_batch`), then samples up to `n_predict`
/// tokens, calling `emit` with each piece of text as it completes; the model's work runs on
/// `par`. Stops on a stop token (not emitted, but recorded in [`Outcome::ids`]) or when the
/// context is full. The loop is the library's [`Generator`]; this only collects the ids and
/// converts the timings.
pub fn generate(
    session: &mut Session<'_, '_, '_>,
    par: &dyn Parallel,
    tok: &Tokenizer<'_, '_>,
    sampler: &mut Sampler,
    prompt: &[u32],
    n_predict: usize,
    emit: &mut dyn FnMut(&str),
) -> Result<Outcome, String> {
    let clock = StdClock::new();
    let config = GenerateConfig {
        max_tokens: n_predict,
        parallel: par,
        clock: &clock,
        ..GenerateConfig::default()
    };
    let model = session.model();
    let mut scratch = vec![0u8; Generator::scratch_bytes(model, tok, &config)];
    let mut generator =
        Generator::new(&mut scratch, model, tok, config).map_err(|e| format!("generate: {e}"))?;
    let mut ids = Vec::with_capacity(n_predict.min(1 << 16));
    let stats = generator
        .run(session, tok, sampler, prompt, |piece| {
            ids.extend(piece.token);
            emit(piece.text);
            true
        })
        .map_err(|e| format!("generate: {e}"))?;
    Ok(Outcome {
        ids,
        stopped: matches!(stats.stop, StopReason::StopToken(_)),
        prompt_tokens: stats.prompt_tokens,
        prefill: Duration::from_nanos(stats.prefill_ns),
        decode_tokens: stats.decode_tokens,
        decode: Duration::from_nanos(stats.decode_ns),
    })
}

/// The text that continues a resumed conversation with `prompt`: with `chat`, the previous
/// reply's end-of-turn marker and the next user turn in the model's chat format (no system
/// message: the conversation already has its own); otherwise the prompt as it is.
pub fn render_continuation(gguf: &Gguf<'_>, prompt: &str, chat: bool) -> Result<String, String> {
    if !chat {
        return Ok(prompt.to_string());
    }
    // The family's format without the template's default system message.
    let family = chat_template(gguf)?.family();
    let template = ChatTemplate::from_family(family);
    let closing = match family {
        ChatFamily::Phi4Mini => template.end_of_turn().to_string(),
        _ => format!("{}\n", template.end_of_turn()),
    };
    let turn = [Message::user(prompt)];
    let mut out = vec![0u8; template.rendered_len(&turn, true)];
    let text = template
        .render(&turn, true, &mut out)
        .map_err(|e| format!("chat template: {e}"))?;
    Ok(closing + text)
}

fn run(args: &Args) -> Result<(), String> {
    let bytes = open_model(&args.model, args.copy)?;
    let (gguf, model) = load_model(&args.model, &bytes)?;
    let saved = match &args.resume {
        Some(path) => {
            let b = std::fs::read(path).map_err(|e| format!("--resume {path}: {e}"))?;
            let len = snapshot::saved_len(&b).map_err(|e| format!("--resume {path}: {e}"))?;
            Some((b, len))
        }
        None => None,
    };
    let text = match saved {
        Some(_) => render_continuation(&gguf, &args.prompt, args.chat)?,
        None => render_prompt(&gguf, &args.prompt, args.chat, args.system.as_deref())?,
    };
    let mut tok_buf = tokenizer_buffer(&gguf, text.len())?;
    let mut tok = Tokenizer::new(&gguf, &mut tok_buf, text.len())
        .map_err(|e| format!("{}: tokenizer: {e}", args.model))?;
    let prompt = match saved {
        // A continuation gets no BOS.
        Some(_) => encode_continuation(&mut tok, &text)?,
        None => encode_prompt(&mut tok, &text)?,
    };
    let n_saved = saved.as_ref().map_or(0, |s| s.1);
    let limits = session_limits(
        &model,
        n_saved + prompt.len(),
        args.n_predict,
        args.ctx,
        args.threads,
        args.allow_long_context,
    )?
    .with_kv(args.kv);
    let mut arena = arena_for(&model, &limits)?;
    let bytes = arena.len();
    let kernels = args::kernels(args.tier)?;
    let tier = kernels.tier;
    let mut session =
        Session::new(&model, &mut arena, limits, kernels).map_err(|e| format!("session: {e}"))?;
    if let (Some((b, _)), Some(path)) = (&saved, &args.resume) {
        session
            .restore_from(b)
            .map_err(|e| format!("--resume {path}: {e}"))?;
    }
    let mut sampler = Sampler::new(args.sampler).map_err(|e| format!("sampler: {e}"))?;
    let pool = ThreadPool::new(args.threads);

    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    let mut emit = |s: &str| {
        if !s.is_empty() {
            let _ = lock.write_all(s.as_bytes());
            let _ = lock.flush();
        }
    };
    let out = generate(
        &mut session,
        &pool,
        &tok,
        &mut sampler,
        &prompt,
        args.n_predict,
        &mut emit,
    )?;
    let _ = writeln!(lock);
    drop(lock);
    let generated = out.ids.len();
    eprintln!(
        "[{} prompt tokens, prefill {:.1} tok/s | {} generated ({}), decode {:.1} tok/s | \
         arena {} bytes ({:.1} MiB, ctx {}) | tier {tier}, threads {}]",
        out.prompt_tokens,
        tok_per_s(out.prompt_tokens, out.prefill),
        generated,
        if out.stopped { "stop token" } else { "limit" },
        tok_per_s(out.decode_tokens, out.decode),
        bytes,
        bytes as f64 / (1024.0 * 1024.0),
        limits.max_context,
        args.threads,
    );
    if let Some(path) = &args.save {
        let mut snap = aligned::AlignedBuf::zeroed(session.snapshot_bytes())?;
        let n = session
            .save_into(&mut snap)
            .map_err(|e| format!("--save: {e}"))?;
        std::fs::write(path, &snap[..n]).map_err(|e| format!("--save {path}: {e}"))?;
        eprintln!(
            "[saved {} positions ({n} bytes) to {path}; continue with --resume {path}]",
            session.len()
        );
    }
    Ok(())
}

#[allow(dead_code)] // unused when tests include this file as a module
fn main() -> ExitCode {
    let args = match args::args().and_then(parse_args) {
        Ok(a) => a,
        Err(e) => return args::exit("generate", USAGE, e),
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("generate: error: {e}");
            ExitCode::FAILURE
        }
    }
}
