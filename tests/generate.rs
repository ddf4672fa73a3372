//! The library's generation loop (`phi3_kernels::generate`) on the tiny GQA fixture: llama.cpp's
//! greedy ids for any prefill batch size and for a prompt split across calls, stop strings
//! (held-back text, a match inside a token, several candidates), stop tokens, a full context,
//! cancellation, the callback's pieces, timings through a caller clock, errors, and no
//! allocation during `run` (a counting allocator, this thread only).

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use phi3_kernels::generate::{GenerateConfig, GenerateError, Generator, Piece, Stats, StopReason};
use phi3_kernels::gguf::Gguf;
use phi3_kernels::model::{ArenaPlan, Limits, Model, Session, ARENA_ALIGN};
use phi3_kernels::sample::{Sampler, SamplerConfig};
use phi3_kernels::tokenizer::Tokenizer;
use phi3_kernels::{align_arena, Error, Kernels, ModelError};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{Counting, ALLOCATIONS, COUNTING};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Case c0 of `tests/data/logits/phi3-tiny-gqa-q4_0/cases.txt`: prompt and llama.cpp's 16
/// greedy ids.
const PROMPT: [u32; 25] = [
    1, 545, 571, 738, 1007, 918, 335, 261, 307, 846, 494, 907, 321, 143, 70, 649, 378, 577, 261,
    25, 869, 647, 519, 714, 857,
];
const GOLDEN: [u32; 16] = [
    1, 104, 540, 726, 615, 109, 922, 922, 922, 665, 270, 290, 989, 570, 989, 570,
];

fn model_bytes() -> Vec<u8> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/gguf/phi3-tiny-gqa-q4_0.gguf");
    std::fs::read(path).expect("fixture")
}

/// The model bytes at a 64-byte aligned address (tensor views need their alignment).
fn aligned(bytes: &[u8], buf: &mut Vec<u8>) -> std::ops::Range<usize> {
    *buf = vec![0u8; bytes.len() + ARENA_ALIGN];
    let off = buf.as_ptr().align_offset(ARENA_ALIGN);
    buf[off..off + bytes.len()].copy_from_slice(bytes);
    off..off + bytes.len()
}

/// Everything one run produced.
#[derive(Debug, Default)]
struct Run {
    ids: Vec<u32>,
    text: String,
    /// Pieces without a token (the final flush).
    flushes: usize,
    stats: Stats,
}

struct Fixture<'g> {
    gguf: Gguf<'g>,
    model: Model<'g>,
}

impl<'g> Fixture<'g> {
    fn new(bytes: &'g [u8]) -> Self {
        let gguf = Gguf::parse(bytes).expect("parse");
        let model = Model::from_gguf(&gguf).expect("bind");
        Fixture { gguf, model }
    }

    fn tokenizer_buf(&self) -> Vec<u8> {
        vec![0u8; Tokenizer::bytes_needed(&self.gguf, 0).expect("tokenizer size")]
    }

    fn arena(&self, limits: &Limits) -> Vec<u8> {
        let plan = ArenaPlan::new(self.model.config(), limits).expect("plan");
        vec![0u8; plan.bytes_needed() + ARENA_ALIGN]
    }

    /// Runs `prompts` one after another on one session (max_context, max_batch) with
    /// `config`; the last run's pieces are collected, `cancel_after` pieces cancel it.
    fn run(
        &self,
        limits: (usize, usize),
        prompts: &[&[u32]],
        sampler: SamplerConfig,
        config: GenerateConfig<'_>,
        cancel_after: Option<usize>,
    ) -> Result<Run, Error> {
        let mut tok_buf = self.tokenizer_buf();
        let tok = Tokenizer::new(&self.gguf, &mut tok_buf, 0).expect("tokenizer");
        let limits = Limits::new(limits.0, limits.1, 1);
        let mut arena = self.arena(&limits);
        let mut session = Session::new(
            &self.model,
            align_arena(&mut arena),
            limits,
            Kernels::detect(),
        )?;
        let mut scratch = vec![0u8; Generator::scratch_bytes(&self.model, &tok, &config)];
        let mut generator = Generator::new(&mut scratch, &self.model, &tok, config)?;
        let mut sampler = Sampler::new(sampler)?;
        let mut out = Run::default();
        let (last, first) = prompts.split_last().expect("a prompt");
        for p in first {
            // Earlier prompts only prefill.
            let cfg = GenerateConfig {
                max_tokens: 0,
                ..config
            };
            let mut scratch = vec![0u8; Generator::scratch_bytes(&self.model, &tok, &cfg)];
            let mut g = Generator::new(&mut scratch, &self.model, &tok, cfg)?;
            g.run(&mut session, &tok, &mut sampler, p, |_| true)?;
        }
        let mut seen_flush = false;
        out.stats = generator.run(
            &mut session,
            &tok,
            &mut sampler,
            last,
            |piece: Piece<'_>| {
                assert!(!seen_flush, "a piece after the final flush");
                match piece.token {
                    Some(id) => out.ids.push(id),
                    None => {
                        seen_flush = true;
                        out.flushes += 1;
                    }
                }
                out.text.push_str(piece.text);
                cancel_after.is_none_or(|n| out.ids.len() < n)
            },
        )?;
        Ok(out)
    }
}

fn greedy() -> SamplerConfig {
    SamplerConfig::greedy()
}

fn config(max_tokens: usize) -> GenerateConfig<'static> {
    GenerateConfig {
        max_tokens,
        ..GenerateConfig::default()
    }
}

#[test]
fn golden_greedy_ids_for_any_prefill_batch() {
    let bytes = model_bytes();
    let mut buf = Vec::new();
    let range = aligned(&bytes, &mut buf);
    let f = Fixture::new(&buf[range]);
    let mut texts = Vec::new();
    for max_batch in [1, 4, 8, 24, 25, 64] {
        let run = f
            .run((64, max_batch), &[&PROMPT], greedy(), config(16), None)
            .expect("run");
        assert_eq!(run.ids, GOLDEN, "max_batch {max_batch}");
        assert_eq!(run.stats.generated, 16);
        assert_eq!(run.stats.prompt_tokens, 25);
        assert_eq!(run.stats.decode_tokens, 15);
        assert_eq!(run.stats.stop, StopReason::MaxTokens);
        assert_eq!(
            (run.stats.prefill_ns, run.stats.decode_ns),
            (0, 0),
            "NoClock"
        );
        texts.push(run.text);
    }
    assert!(texts.windows(2).all(|w| w[0] == w[1]));
    // A prompt split across two runs (the first only prefills) continues the same sequence.
    let run = f
        .run(
            (64, 8),
            &[&PROMPT[..11], &PROMPT[11..]],
            greedy(),
            config(16),
            None,
        )
        .expect("split");
    assert_eq!(run.ids, GOLDEN);
    assert_eq!(run.text, texts[0]);
}

#[test]
fn the_text_is_the_stream_of_the_pieces() {
    let bytes = model_bytes();
    let mut buf = Vec::new();
    let range = aligned(&bytes, &mut buf);
    let f = Fixture::new(&buf[range]);
    let run = f
        .run((64, 8), &[&PROMPT], greedy(), config(16), None)
        .expect("run");
    let mut tok_buf = f.tokenizer_buf();
    let tok = Tokenizer::new(&f.gguf, &mut tok_buf, 0).expect("tokenizer");
    let mut raw = Vec::new();
    for &id in &GOLDEN {
        raw.extend(tok.piece(id, false).expect("piece"));
    }
    assert_eq!(run.text, String::from_utf8_lossy(&raw));
    assert!(run.flushes <= 1);
}

#[test]
fn stop_strings_end_the_text_before_them() {
    let bytes = model_bytes();
    let mut buf = Vec::new();
    let range = aligned(&bytes, &mut buf);
    let f = Fixture::new(&buf[range]);
    let full = f
        .run((64, 8), &[&PROMPT], greedy(), config(16), None)
        .expect("run")
        .text;
    let chars: Vec<(usize, char)> = full.char_indices().collect();
    assert!(chars.len() >= 12, "{full:?}");
    // Every substring of 1..=4 characters starting at a few places: the text ends right
    // before its first occurrence.
    for start in [0, 1, chars.len() / 3, chars.len() / 2, chars.len() - 3] {
        for len in 1..=4 {
            let (a, b) = (
                chars[start].0,
                chars.get(start + len).map_or(full.len(), |c| c.0),
            );
            let stop = &full[a..b];
            let first = full.find(stop).expect("occurs");
            let stops = [stop];
            let cfg = GenerateConfig {
                stop_strings: &stops,
                ..config(16)
            };
            let run = f
                .run((64, 8), &[&PROMPT], greedy(), cfg, None)
                .expect("run");
            assert_eq!(run.text, &full[..first], "stop {stop:?} in {full:?}");
            assert_eq!(run.stats.stop, StopReason::StopString(0));
            assert_eq!(run.ids, GOLDEN[..run.ids.len()]);
            assert_eq!(run.flushes, 0);
        }
    }
    // Several stop strings: the earliest occurrence wins, whichever its index.
    let late = &full[chars[chars.len() / 2].0..];
    let early = &full[..chars[2].0];
    let stops = ["never present \u{1F600}", late, early];
    let cfg = GenerateConfig {
        stop_strings: &stops,
        ..config(16)
    };
    let run = f
        .run((64, 8), &[&PROMPT], greedy(), cfg, None)
        .expect("run");
    assert_eq!(
        (run.text.as_str(), run.stats.stop),
        ("", StopReason::StopString(2))
    );
    // Stop strings that never complete: nothing is lost, the held text is flushed at the end.
    let tail = format!("{}\u{1F600}", &full[chars[chars.len() - 2].0..]);
    let stops = [tail.as_str(), "\u{1F600}\u{1F600}"];
    let cfg = GenerateConfig {
        stop_strings: &stops,
        ..config(16)
    };
    let run = f
        .run((64, 8), &[&PROMPT], greedy(), cfg, None)
        .expect("run");
    assert_eq!(run.text, full);
    assert_eq!(run.ids, GOLDEN);
    assert_eq!(run.flushes, 1, "the held tail comes in the final piece");
    assert_eq!(run.stats.stop, StopReason::MaxTokens);
}

#[test]
fn context_full_cancel_zero_tokens_and_stop_tokens() {
    let bytes = model_bytes();
    let mut buf = Vec::new();
    let range = aligned(&bytes, &mut buf);
    let f = Fixture::new(&buf[range]);
    // 25 prompt positions + 5 fed tokens fill 30; the 6th is sampled and delivered, not fed.
    let run = f
        .run((30, 8), &[&PROMPT], greedy(), config(16), None)
        .expect("run");
    assert_eq!(run.ids, GOLDEN[..6]);
    assert_eq!(run.stats.stop, StopReason::ContextFull);
    assert_eq!(run.stats.decode_tokens, 5);
    let run = f
        .run((64, 8), &[&PROMPT], greedy(), config(16), Some(3))
        .expect("run");
    assert_eq!(run.ids, GOLDEN[..3]);
    assert_eq!(run.stats.stop, StopReason::Cancelled);
    let run = f
        .run((64, 8), &[&PROMPT], greedy(), config(0), None)
        .expect("run");
    assert!(run.ids.is_empty() && run.text.is_empty());
    assert_eq!(
        (run.stats.generated, run.stats.stop),
        (0, StopReason::MaxTokens)
    );

    // Near-uniform sampling reaches a stop token of the vocabulary for some seed: it is the
    // last id, delivered with no text, and nothing follows.
    let mut tok_buf = f.tokenizer_buf();
    let tok = Tokenizer::new(&f.gguf, &mut tok_buf, 0).expect("tokenizer");
    assert!(!tok.stop_tokens().is_empty());
    let uniform = |seed| SamplerConfig {
        temperature: 1e6,
        top_k: 0,
        top_p: 1.0,
        min_p: 0.0,
        repeat_penalty: 1.0,
        seed,
    };
    let found = (0..400u64).find_map(|seed| {
        let run = f
            .run((128, 32), &[&PROMPT], uniform(seed), config(100), None)
            .expect("run");
        matches!(run.stats.stop, StopReason::StopToken(_)).then_some(run)
    });
    let run = found.expect("no seed in 0..400 sampled a stop token");
    let last = *run.ids.last().expect("ids");
    assert_eq!(run.stats.stop, StopReason::StopToken(last));
    assert!(tok.is_stop_token(last));
    assert!(run.ids[..run.ids.len() - 1]
        .iter()
        .all(|&id| !tok.is_stop_token(id)));
    assert_eq!(run.stats.generated, run.ids.len());
}

#[test]
fn a_caller_clock_times_prefill_and_decode() {
    let bytes = model_bytes();
    let mut buf = Vec::new();
    let range = aligned(&bytes, &mut buf);
    let f = Fixture::new(&buf[range]);
    let ticks = Cell::new(0u64);
    let clock = || {
        ticks.set(ticks.get() + 10);
        ticks.get()
    };
    let cfg = GenerateConfig {
        clock: &clock,
        ..config(16)
    };
    let run = f
        .run((64, 8), &[&PROMPT], greedy(), cfg, None)
        .expect("run");
    // Each timed interval is two clock reads, 10 ns apart.
    assert_eq!(run.stats.prefill_ns, 10);
    assert_eq!(run.stats.decode_ns, 15 * 10);
}

#[test]
fn errors_are_reported_not_panics() {
    let bytes = model_bytes();
    let mut buf = Vec::new();
    let range = aligned(&bytes, &mut buf);
    let f = Fixture::new(&buf[range]);
    let err = f
        .run((64, 8), &[&[]], greedy(), config(4), None)
        .expect_err("empty prompt");
    assert_eq!(err, Error::Generate(GenerateError::EmptyPrompt));
    let err = f
        .run((16, 8), &[&PROMPT], greedy(), config(4), None)
        .expect_err("prompt past the context");
    assert!(
        matches!(err, Error::Model(ModelError::ContextOverflow { .. })),
        "{err}"
    );
    let stops = ["x", ""];
    let cfg = GenerateConfig {
        stop_strings: &stops,
        ..config(4)
    };
    let err = f
        .run((64, 8), &[&PROMPT], greedy(), cfg, None)
        .expect_err("empty stop string");
    assert_eq!(err, Error::Generate(GenerateError::EmptyStopString));

    let mut tok_buf = f.tokenizer_buf();
    let tok = Tokenizer::new(&f.gguf, &mut tok_buf, 0).expect("tokenizer");
    let cfg = config(4);
    let needed = Generator::scratch_bytes(&f.model, &tok, &cfg);
    let mut scratch = vec![0u8; needed - 1];
    let err = Generator::new(&mut scratch, &f.model, &tok, cfg).expect_err("too small");
    assert_eq!(
        err,
        GenerateError::ScratchTooSmall {
            needed,
            got: needed - 1
        }
    );
    // Any alignment of the scratch works.
    let mut scratch = vec![0u8; needed + 1];
    Generator::new(&mut scratch[1..], &f.model, &tok, cfg).expect("unaligned scratch");
}

#[test]
fn run_does_not_allocate() {
    let bytes = model_bytes();
    let mut buf = Vec::new();
    let range = aligned(&bytes, &mut buf);
    let f = Fixture::new(&buf[range]);
    let mut tok_buf = f.tokenizer_buf();
    let tok = Tokenizer::new(&f.gguf, &mut tok_buf, 0).expect("tokenizer");
    let limits = Limits::new(64, 8, 1);
    let mut arena = f.arena(&limits);
    let mut session = Session::new(&f.model, align_arena(&mut arena), limits, Kernels::detect())
        .expect("session");
    let stops = ["\u{1F600}never", "zzzz"];
    let cfg = GenerateConfig {
        stop_strings: &stops,
        ..config(16)
    };
    let mut scratch = vec![0u8; Generator::scratch_bytes(&f.model, &tok, &cfg)];
    let mut generator = Generator::new(&mut scratch, &f.model, &tok, cfg).expect("generator");
    let mut sampler = Sampler::new(SamplerConfig::default()).expect("sampler");
    let mut n = 0usize;
    COUNTING.with(|c| c.set(true));
    let stats = generator.run(&mut session, &tok, &mut sampler, &PROMPT, |p| {
        n += p.text.len();
        true
    });
    COUNTING.with(|c| c.set(false));
    let stats = stats.expect("run");
    assert_eq!(stats.generated, 16);
    assert_eq!(ALLOCATIONS.load(Ordering::Relaxed), 0);
}
