//! End-to-end speed: prefill and decode tokens per second against the machine's own
//! streaming read bandwidth (the roofline of decode).
//!
//! ```text
//! cargo run --release --example bench -- --model M.gguf [--threads 1,2] [--prompt 512] \
//!     [--gen 128] [--batch 64] [--ctx N] [--bw-mib 4096] [--bw-runs 5] [--reps 3] [--tier NAME]
//!     [--allow-long-context]
//! ```
//!
//! The context (`--ctx`, default `--prompt` + `--gen`) may exceed the model's trained context
//! only with `--allow-long-context`; an arena that cannot be allocated is an error, not an
//! abort. Usage errors (including a non-UTF-8 argument) exit with status 2.
//!
//! `--tier` picks a kernel tier by name (`scalar`, `avx2`, `avx-vnni`, `avx512`, …; it must run on this
//! CPU) instead of the best one detected.
//!
//! The model is memory-mapped (it must not be truncated while the bench runs: `SIGBUS`; see
//! docs/boards.md). For each thread count N of `--threads` (a list), on a
//! [`ThreadPool`] of N workers: one prompt of `--prompt` random tokens prefilled in batches of
//! `--batch`, then `--gen` tokens decoded one by one right after it (each the previous step's
//! argmax), then — after a reset — `--gen` tokens decoded from an empty context, as
//! `llama-bench`'s `tg` test does. The read bandwidth on N threads is measured by summing the
//! mapped model file itself (at most `--bw-mib` MiB of it, split N ways, each part read as one
//! sequential stream with 256-bit loads where the CPU has AVX2, median of `--bw-runs`; reading the model rather than a separate buffer keeps the peak RSS at model +
//! arena).
//!
//! The empty-context decode runs `--reps` times (default 3, as llama-bench repeats its
//! tests), each repetition right after its own bandwidth probe: on a shared machine both move
//! from minute to minute, so each fraction sets decode against the bandwidth of the same
//! minute, and the medians are reported.
//!
//! Prints tok/s, the weight bytes one decode step streams (every matrix of every layer and
//! the output head, plus one embedding row), decode's weight GB/s and its fraction of the
//! measured bandwidth (the empty-context decode: the headline figure, comparable with
//! llama-bench's tg128; median of the repetitions' fractions), the decode after the prompt
//! with its GB/s of weights *and* KV cache (each of its steps reads the f16 keys and values
//! of every earlier position: at 512 positions of Phi-3-mini about 10 % more bytes than the
//! weights; set against the median probe), the arena size and the peak RSS (VmHWM), and the
//! process CPU seconds of each phase (on a loaded machine, tokens per CPU-second is the
//! steadier number for one thread). The last line per thread count is machine-readable
//! (`bw_gbs` is the median probe):
//!
//! `bench model=NAME threads=N pp512=… tg128=… bw_gbs=… decode_gbs=… decode_bw_frac=…
//! tg128_after_pp=… after_pp_gbs=… after_pp_bw_frac=…`

#[cfg(target_arch = "x86_64")]
#[path = "common/stream_read.rs"]
mod stream_read;

#[path = "common/aligned.rs"]
mod aligned;
#[path = "common/args.rs"]
mod args;
#[path = "common/model_file.rs"]
mod model_file;
#[path = "common/stats.rs"]
mod stats;

use std::time::Instant;

use aligned::AlignedBuf;
use args::CliError;
use phi3_kernels::error::ModelError;

use phi3_kernels::gguf::Gguf;
use phi3_kernels::model::{ArenaPlan, Limits, LongRopeCrossing, Model, Session, ARENA_ALIGN};
use phi3_kernels::parallel::{Parallel, ThreadPool};

struct Args {
    model: String,
    threads: Vec<usize>,
    prompt: usize,
    gen: usize,
    batch: usize,
    ctx: Option<usize>,
    bw_mib: usize,
    bw_runs: usize,
    reps: usize,
    tier: Option<phi3_kernels::cpu::Tier>,
    allow_long_context: bool,
    crossing: bool,
    kv: phi3_kernels::model::KvType,
}

const USAGE: &str = "usage: bench --model M.gguf [--threads 1,2] [--prompt 512] [--gen 128] \
                     [--batch 64] [--ctx N] [--bw-mib 4096] [--bw-runs 5] [--reps 3] \
                     [--tier NAME] [--allow-long-context] [--crossing] [--kv f16|q8_0|q4_0]\n  \
                     --kv TYPE  KV cache element type (default f16); the arena size is printed";

fn parse_args() -> Result<Args, CliError> {
    let mut a = Args {
        model: String::new(),
        threads: vec![1],
        prompt: 512,
        gen: 128,
        batch: 64,
        ctx: None,
        bw_mib: 4096,
        bw_runs: 5,
        reps: 3,
        tier: None,
        allow_long_context: false,
        kv: phi3_kernels::model::KvType::F16,
        crossing: false,
    };
    let mut it = args::args()?.into_iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        let num = |s: String| s.parse::<usize>().map_err(|e| format!("{arg}: {e}"));
        match arg.as_str() {
            "--model" => a.model = value()?,
            "--threads" => {
                a.threads = value()?
                    .split(',')
                    .map(|s| {
                        s.trim()
                            .parse::<usize>()
                            .map_err(|e| format!("--threads: {e}"))
                    })
                    .collect::<Result<_, _>>()?
            }
            "--prompt" => a.prompt = num(value()?)?,
            "--gen" => a.gen = num(value()?)?,
            "--batch" => a.batch = num(value()?)?,
            "--ctx" => a.ctx = Some(num(value()?)?),
            "--bw-mib" => a.bw_mib = num(value()?)?,
            "--bw-runs" => a.bw_runs = num(value()?)?,
            "--reps" => a.reps = num(value()?)?,
            "--tier" => a.tier = Some(args::tier(&value()?)?),
            "--allow-long-context" => a.allow_long_context = true,
            "--crossing" => a.crossing = true,
            "--kv" => a.kv = args::kv(&value()?)?,
            "-h" | "--help" => return Err(CliError::Help),
            other => return Err(format!("unknown argument {other}\n{USAGE}").into()),
        }
    }
    if a.model.is_empty() {
        return Err(format!("--model is required\n{USAGE}").into());
    }
    if a.threads.contains(&0) || a.batch == 0 || a.prompt == 0 || a.bw_runs == 0 || a.reps == 0 {
        return Err(format!(
            "--threads, --batch, --prompt, --bw-runs and --reps must be at least 1\n{USAGE}"
        )
        .into());
    }
    Ok(a)
}

/// Streaming read bandwidth in GB/s: `threads` threads each sum their share of `buf`.
fn read_bandwidth(buf: &[u64], threads: usize, runs: usize) -> f64 {
    let chunk = buf.len().div_ceil(threads);
    let times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let total: u64 = std::thread::scope(|s| {
                let hs: Vec<_> = buf
                    .chunks(chunk)
                    .map(|part| s.spawn(move || sum_words(part)))
                    .collect();
                // Wrapping, like the per-thread sums (`sum()` overflows in debug builds).
                hs.into_iter()
                    .fold(0u64, |a, h| a.wrapping_add(h.join().unwrap_or(0)))
            });
            std::hint::black_box(total);
            t.elapsed().as_secs_f64()
        })
        .collect();
    (buf.len() * 8) as f64 / stats::median(times) / 1e9
}

/// The sum of `words`, read as one sequential stream with the widest loads the CPU has (256-bit
/// where it has AVX2: on Zen 3 they read about 10 % faster than word-sized ones, which keep
/// fewer cache-line misses in flight; `examples/kernel_bw` prints both).
fn sum_words(words: &[u64]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 was just detected.
        let (sum, read) = unsafe { stream_read::sum_avx2::<1>(words) };
        return sum.wrapping_add(sum_words_u64(&words[read..]));
    }
    sum_words_u64(words)
}

/// Sum with 8 independent lanes (vectorises; the loads dominate).
fn sum_words_u64(words: &[u64]) -> u64 {
    let mut acc = [0u64; 8];
    let mut chunks = words.chunks_exact(8);
    for c in &mut chunks {
        for (a, &w) in acc.iter_mut().zip(c) {
            *a = a.wrapping_add(w);
        }
    }
    let tail: u64 = chunks.remainder().iter().fold(0, |a, &w| a.wrapping_add(w));
    acc.iter().fold(tail, |a, &w| a.wrapping_add(w))
}

/// Bytes of weights one decode step reads: every layer matrix, the output head, one
/// embedding row.
fn decode_weight_bytes(model: &Model) -> u64 {
    let w = model.weights();
    let mut total = 0u64;
    let mut add = |m: &phi3_kernels::ops::Matrix| total += (m.rows() * m.row_bytes()) as u64;
    for layer in w.layers().flatten() {
        layer.qkv.parts().for_each(&mut add);
        add(&layer.attn_output);
        layer.gate_up.parts().for_each(&mut add);
        add(&layer.ffn_down);
    }
    add(w.output());
    let embd = w.token_embd();
    total + embd.row_bytes() as u64
}

/// Process CPU seconds (user + system) from `/proc/self/stat` (0 where unavailable).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); `after` starts at field 3.
    let ticks = |i: usize| {
        f.get(i - 3)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(14) + ticks(15)) / 100.0
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn argmax(v: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best as u32
}

/// Decodes `n` tokens one by one from `first` (each the previous step's argmax), printing
/// progress every 32; returns (tok/s, process CPU seconds).
fn decode(
    session: &mut Session,
    first: u32,
    n: usize,
    par: &dyn Parallel,
    threads: usize,
    what: &str,
) -> Result<(f64, f64), String> {
    let (t, cpu0) = (Instant::now(), cpu_seconds());
    let mut last = first;
    for i in 0..n {
        let logits = session
            .forward_with(&[last], false, par)
            .map_err(|e| e.to_string())?;
        last = argmax(logits);
        if (i + 1).is_multiple_of(32) || i + 1 == n {
            eprintln!(
                "bench: threads={threads}: {what} {}/{n} ({:.2} tok/s, context {})",
                i + 1,
                (i + 1) as f64 / t.elapsed().as_secs_f64(),
                session.len()
            );
        }
    }
    Ok((n as f64 / t.elapsed().as_secs_f64(), cpu_seconds() - cpu0))
}

fn run(args: &Args) -> Result<(), String> {
    let map = model_file::map_model(&args.model)?;
    let gguf = Gguf::parse(&map).map_err(|e| format!("{}: {e}", args.model))?;
    let model = Model::from_gguf(&gguf).map_err(|e| format!("{}: {e}", args.model))?;
    let c = model.config();
    let name = std::path::Path::new(&args.model)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let kernels = crate::args::kernels(args.tier)?;
    if args.crossing {
        return crossing(args, &model, kernels);
    }
    let weight_bytes = decode_weight_bytes(&model);
    // K and V of every layer and KV head, in the cache's element type.
    let kv_row = args.kv.row_bytes(c.head_dim).unwrap_or(2 * c.head_dim);
    let kv_bytes_per_position = (c.n_layer * 2 * c.n_head_kv * kv_row) as f64;
    eprintln!(
        "bench: {name}: {:.2} GiB file, n_embd {} n_layer {} heads {}/{} ff {} vocab {}, \
         tier {:?}, {:.1} MiB weights per decoded token",
        map.len() as f64 / (1u64 << 30) as f64,
        c.n_embd,
        c.n_layer,
        c.n_head,
        c.n_head_kv,
        c.n_ff,
        c.n_vocab,
        kernels.tier,
        weight_bytes as f64 / (1u64 << 20) as f64
    );

    let max_threads = args.threads.iter().copied().max().unwrap_or(1);
    let limits = Limits {
        max_context: args.ctx.unwrap_or(args.prompt.saturating_add(args.gen)),
        max_batch: args.batch.min(args.prompt),
        workers: max_threads,
        allow_beyond_trained_context: args.allow_long_context,
        kv: args.kv,
    };
    let plan = ArenaPlan::new(c, &limits).map_err(|e| match e {
        ModelError::ContextBeyondTraining {
            max_context,
            trained,
        } => format!(
            "a context of {max_context} positions (--ctx, or --prompt + --gen) is beyond the \
             model's trained context of {trained}; --allow-long-context runs it anyway"
        ),
        e => e.to_string(),
    })?;
    const _: () = assert!(aligned::ALIGN.is_multiple_of(ARENA_ALIGN));
    let mut arena_buf =
        AlignedBuf::zeroed(plan.bytes_needed()).map_err(|e| format!("arena: {e}"))?;
    let arena = &mut arena_buf[..];
    let arena_mib = plan.bytes_needed() as f64 / (1u64 << 20) as f64;
    eprintln!(
        "bench: arena {arena_mib:.1} MiB ({} bytes, KV cache {}) for {limits:?}",
        plan.bytes_needed(),
        limits.kv
    );

    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let prompt: Vec<u32> = (0..args.prompt)
        .map(|_| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng % c.n_vocab as u64) as u32
        })
        .collect();

    let mut session = Session::new(&model, arena, limits, kernels).map_err(|e| e.to_string())?;
    // SAFETY: any bytes are valid u64s; `align_to` only yields the aligned middle.
    let (_, words, _) = unsafe { map.align_to::<u64>() };
    let words = &words[..words.len().min(args.bw_mib << 17)];
    for &threads in &args.threads {
        let pool = ThreadPool::new(threads);
        let par: &dyn Parallel = &pool;
        session.reset();
        // Warm-up: one short prefill brings the weights into the page cache / TLB.
        session
            .forward_with(&prompt[..1], false, par)
            .map_err(|e| e.to_string())?;
        session.reset();

        let (t, cpu0) = (Instant::now(), cpu_seconds());
        let mut last = 0;
        for chunk in prompt.chunks(limits.max_batch) {
            let logits = session
                .forward_with(chunk, false, par)
                .map_err(|e| e.to_string())?;
            last = argmax(logits);
            eprintln!(
                "bench: threads={threads}: prefill {}/{} ({:.1} tok/s)",
                session.len(),
                args.prompt,
                session.len() as f64 / t.elapsed().as_secs_f64()
            );
        }
        let pp = args.prompt as f64 / t.elapsed().as_secs_f64();
        let pp_cpu = cpu_seconds() - cpu0;

        // Decode right after the prompt: each step also reads the KV cache of every earlier
        // position (counted in `after_gbs`).
        let prompt_len = session.len();
        let (tg_after, _) = decode(&mut session, last, args.gen, par, threads, "after prompt")?;
        let kv_positions =
            (args.gen * prompt_len + args.gen * (args.gen + 1) / 2) as f64 / args.gen.max(1) as f64;
        let after_gbs =
            tg_after * (weight_bytes as f64 + kv_positions * kv_bytes_per_position) / 1e9;

        // Decode from an empty context, as llama-bench's tg test does: the headline figure.
        // `--reps` repetitions, each right after its own bandwidth probe, so that every
        // fraction sets decode against the bandwidth of the same minute; medians reported.
        let (mut bws, mut tgs, mut fracs, mut tg_cpu) = (vec![], vec![], vec![], 0.0);
        for rep in 0..args.reps {
            let bw_r = read_bandwidth(words, threads, args.bw_runs);
            session.reset();
            let what = format!("decode (repetition {}/{})", rep + 1, args.reps);
            let (tg_r, cpu_r) = decode(&mut session, prompt[0], args.gen, par, threads, &what)?;
            eprintln!(
                "bench: threads={threads}: repetition {}/{}: decode {tg_r:.2} tok/s, read \
                 bandwidth {bw_r:.2} GB/s, fraction {:.3}",
                rep + 1,
                args.reps,
                tg_r * weight_bytes as f64 / 1e9 / bw_r
            );
            fracs.push(tg_r * weight_bytes as f64 / 1e9 / bw_r);
            bws.push(bw_r);
            tgs.push(tg_r);
            tg_cpu += cpu_r / args.reps as f64;
        }
        let (bw, tg, frac) = (stats::median(bws), stats::median(tgs), stats::median(fracs));
        let decode_gbs = tg * weight_bytes as f64 / 1e9;
        let rss = peak_rss_mib().map_or("?".into(), |m| format!("{m:.0}"));
        println!(
            "threads {threads}: prefill {pp:.2} tok/s, decode {tg:.2} tok/s from an empty \
             context, {:.1} MiB weights/token, decode {decode_gbs:.2} GB/s = {frac:.2} of the read \
             bandwidth (median of {} repetitions, each against the probe just before it; median \
             probe {bw:.2} GB/s); decode after the prompt {tg_after:.2} tok/s, {after_gbs:.2} GB/s \
             of weights and KV cache = {:.2}; arena {arena_mib:.1} MiB, peak RSS {rss} MiB; CPU s: \
             prefill {pp_cpu:.1} ({:.2} tok/CPU-s), decode {tg_cpu:.1} ({:.2} tok/CPU-s)",
            weight_bytes as f64 / (1u64 << 20) as f64,
            args.reps,
            after_gbs / bw,
            args.prompt as f64 / pp_cpu,
            args.gen as f64 / tg_cpu,
        );
        println!(
            "bench model={name} threads={threads} pp{}={pp:.2} tg{}={tg:.2} bw_gbs={bw:.2} \
             decode_gbs={decode_gbs:.2} decode_bw_frac={:.3} tg{}_after_pp={tg_after:.2} \
             after_pp_gbs={after_gbs:.2} after_pp_bw_frac={:.3}",
            args.prompt,
            args.gen,
            frac,
            args.gen,
            after_gbs / bw
        );
    }
    Ok(())
}

/// `--crossing`: the cost of the decode step that crosses a LongRoPE model's
/// `original_context_length`, next to the steps before and after it, for both
/// [`LongRopeCrossing`] choices (the first thread count of `--threads`).
fn crossing(args: &Args, model: &Model, kernels: phi3_kernels::Kernels) -> Result<(), String> {
    let c = model.config();
    if model.weights().rope_factors_long().is_none() {
        return Err("--crossing needs a LongRoPE model (e.g. make_model --longrope 256)".into());
    }
    let orig = c.original_context_length;
    let threads = args.threads.first().copied().unwrap_or(1);
    let limits = Limits {
        max_context: orig + 2,
        max_batch: args.batch.min(orig),
        workers: threads,
        allow_beyond_trained_context: args.allow_long_context,
        kv: args.kv,
    };
    let plan = ArenaPlan::new(c, &limits).map_err(|e| e.to_string())?;
    let mut arena = AlignedBuf::zeroed(plan.bytes_needed()).map_err(|e| format!("arena: {e}"))?;
    let pool = ThreadPool::new(threads);
    let tokens: Vec<u32> = (0..orig as u32 + 2)
        .map(|i| (i * 7919 + 13) % c.n_vocab as u32)
        .collect();
    let ms = |t: Instant| t.elapsed().as_secs_f64() * 1e3;
    for mode in [LongRopeCrossing::RotateKeys, LongRopeCrossing::Recompute] {
        let mut s = Session::new(model, &mut arena, limits, kernels).map_err(|e| e.to_string())?;
        s.set_longrope_crossing(mode);
        for chunk in tokens[..orig - 1].chunks(limits.max_batch) {
            s.forward_with(chunk, false, &pool)
                .map_err(|e| e.to_string())?;
        }
        let mut step = |i: usize| -> Result<f64, String> {
            let t = Instant::now();
            s.forward_with(&tokens[i..i + 1], false, &pool)
                .map_err(|e| e.to_string())?;
            Ok(ms(t))
        };
        let before = step(orig - 1)?;
        let cross = step(orig)?;
        let after = step(orig + 1)?;
        println!(
            "bench crossing={mode:?} original_context={orig} threads={threads} \
             step_before_ms={before:.2} crossing_step_ms={cross:.2} step_after_ms={after:.2} \
             crossing_over_step={:.2}",
            cross / before.max(1e-9)
        );
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => return args::exit("bench", USAGE, e),
    };
    match run(&args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
