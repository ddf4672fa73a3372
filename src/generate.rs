//! Text generation: the loop from a prompt's token ids to streamed text, without allocation.
//!
//! [`Generator::run`] feeds the prompt in chunks of the session's `max_batch`, then samples one
//! token at a time ([`Sampler`]) and feeds it back, until one of:
//! - `max_tokens` tokens were sampled ([`StopReason::MaxTokens`]);
//! - a stop token of the tokenizer (EOS, `<|end|>`, `<|im_end|>` …: [`Tokenizer::stop_tokens`])
//!   was sampled ([`StopReason::StopToken`]; it is reported but produces no text);
//! - the text contains one of the caller's stop strings ([`StopReason::StopString`]; the text
//!   before it is delivered, the stop string and anything after it are not);
//! - the session's context is full ([`StopReason::ContextFull`]);
//! - the callback returned `false` ([`StopReason::Cancelled`]).
//!
//! Text reaches the callback as [`Piece`]s: one per sampled token, with the text that token
//! completes (possibly empty: an incomplete UTF-8 sequence is held back until it completes,
//! and with stop strings, text that could be the start of one is held back until it cannot),
//! then, when text is still held at the end, one last piece with `token: None`. Every piece is
//! valid UTF-8.
//!
//! The repetition penalty looks at the last `penalty_window` tokens of the session (prompt and
//! generated). Timings come from the caller's [`Clock`] (a no-op [`NoClock`] by default;
//! `StdClock` with the `std` feature). All working memory is one caller buffer of
//! [`Generator::scratch_bytes`] bytes (the sampler's two vocabulary-sized scratch slices, the
//! penalty window and the text buffers).
//!
//! ```
//! use phi3_kernels::generate::{GenerateConfig, Generator, StopReason};
//! use phi3_kernels::model::{ArenaPlan, Limits, Model, Session, ARENA_ALIGN};
//! use phi3_kernels::sample::{Sampler, SamplerConfig};
//! use phi3_kernels::tokenizer::Tokenizer;
//! use phi3_kernels::{align_arena, gguf::Gguf, Aligned, Error, Kernels};
//!
//! static MODEL: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(
//!     env!("CARGO_MANIFEST_DIR"),
//!     "/tests/data/gguf/phi3-tiny-gqa-q4_0.gguf"
//! )));
//!
//! fn main() -> Result<(), Error> {
//!     let gguf = Gguf::parse(&MODEL.0)?;
//!     let model = Model::from_gguf(&gguf)?;
//!     let mut tok_buf = vec![0u8; Tokenizer::bytes_needed(&gguf, 0)?];
//!     let tok = Tokenizer::new(&gguf, &mut tok_buf, 0)?;
//!     let limits = Limits::new(48, 8, 1); // max_context, max_batch, workers
//!     let mut arena = vec![0u8; ArenaPlan::new(model.config(), &limits)?.bytes_needed() + ARENA_ALIGN];
//!     let mut session = Session::new(&model, align_arena(&mut arena), limits, Kernels::detect())?;
//!     let config = GenerateConfig { max_tokens: 16, ..GenerateConfig::default() };
//!     let mut scratch = vec![0u8; Generator::scratch_bytes(&model, &tok, &config)];
//!     let mut generator = Generator::new(&mut scratch, &model, &tok, config)?;
//!     let mut sampler = Sampler::new(SamplerConfig::greedy())?;
//!     let mut ids = Vec::new();
//!     let prompt = [1, 545, 571, 738, 1007, 918, 335, 261, 307, 846, 494, 907, 321, 143, 70, 649, 378,
//!                   577, 261, 25, 869, 647, 519, 714, 857]; // fixture case c0
//!     let stats = generator.run(&mut session, &tok, &mut sampler, &prompt, |piece| {
//!         ids.extend(piece.token);
//!         true // continue
//!     })?;
//!     // llama.cpp's greedy ids for this prompt (tests/data/logits/phi3-tiny-gqa-q4_0).
//!     assert_eq!(ids, [1, 104, 540, 726, 615, 109, 922, 922, 922, 665, 270, 290, 989, 570, 989, 570]);
//!     assert_eq!((stats.generated, stats.stop), (16, StopReason::MaxTokens));
//!     Ok(())
//! }
//! ```

use core::fmt;

use crate::error::Error;
use crate::model::{Model, Session};
use crate::parallel::{Parallel, Sequential};
use crate::sample::Sampler;
use crate::tokenizer::{StreamDecoder, Tokenizer};

/// [`GenerateConfig::max_tokens`] by default.
pub const DEFAULT_MAX_TOKENS: usize = 128;

/// [`GenerateConfig::penalty_window`] by default (llama.cpp's `penalty_last_n`).
pub const DEFAULT_PENALTY_WINDOW: usize = 64;

/// The caller's time source for [`Stats`]: nanoseconds since any fixed origin (only
/// differences are used). The default method answers 0, so `impl Clock for MyType {}` is a
/// no-op clock; closures `Fn() -> u64` are clocks too.
pub trait Clock {
    /// Nanoseconds since an arbitrary, fixed origin.
    fn now_ns(&self) -> u64 {
        0
    }
}

/// A clock that always answers 0: every timing in [`Stats`] is 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoClock;

impl Clock for NoClock {}

impl<F: Fn() -> u64> Clock for F {
    fn now_ns(&self) -> u64 {
        self()
    }
}

/// `std::time::Instant` as a [`Clock`] (feature `std`): nanoseconds since [`StdClock::new`].
#[cfg(feature = "std")]
#[derive(Clone, Copy, Debug)]
pub struct StdClock {
    start: std::time::Instant,
}

#[cfg(feature = "std")]
impl StdClock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        StdClock {
            start: std::time::Instant::now(),
        }
    }
}

#[cfg(feature = "std")]
impl Default for StdClock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "std")]
impl Clock for StdClock {
    fn now_ns(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// How one generation runs. `Default`: 128 tokens, no stop strings, a penalty window of 64,
/// control tokens not rendered, [`Sequential`], [`NoClock`].
#[derive(Clone, Copy)]
pub struct GenerateConfig<'a> {
    /// Most tokens to sample (the stop token included). 0 only runs the prefill.
    pub max_tokens: usize,
    /// Generation stops when the text contains one of these (none may be empty).
    pub stop_strings: &'a [&'a str],
    /// Tokens of recent history the sampler's repetition penalty sees.
    pub penalty_window: usize,
    /// Write control tokens' text (`<|end|>` …) instead of nothing.
    pub render_special: bool,
    /// Who runs the model's work (e.g. a `ThreadPool`).
    pub parallel: &'a dyn Parallel,
    /// The time source of [`Stats`]' timings.
    pub clock: &'a dyn Clock,
}

impl Default for GenerateConfig<'_> {
    fn default() -> Self {
        GenerateConfig {
            max_tokens: DEFAULT_MAX_TOKENS,
            stop_strings: &[],
            penalty_window: DEFAULT_PENALTY_WINDOW,
            render_special: false,
            parallel: &Sequential,
            clock: &NoClock,
        }
    }
}

impl fmt::Debug for GenerateConfig<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GenerateConfig")
            .field("max_tokens", &self.max_tokens)
            .field("stop_strings", &self.stop_strings)
            .field("penalty_window", &self.penalty_window)
            .field("render_special", &self.render_special)
            .field("workers", &self.parallel.workers())
            .finish_non_exhaustive()
    }
}

impl GenerateConfig<'_> {
    /// The longest stop string, in bytes (0 without stop strings).
    pub fn max_stop_len(&self) -> usize {
        self.stop_strings.iter().map(|s| s.len()).max().unwrap_or(0)
    }
}

/// Why generation ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// `max_tokens` tokens were sampled.
    #[default]
    MaxTokens,
    /// This stop token of the tokenizer was sampled.
    StopToken(u32),
    /// The text contained `stop_strings[i]`.
    StopString(usize),
    /// The session's `max_context` positions are all used.
    ContextFull,
    /// The callback returned `false`.
    Cancelled,
}

/// Counts and timings of one [`Generator::run`] (timings from [`GenerateConfig::clock`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Prompt tokens fed.
    pub prompt_tokens: usize,
    /// Tokens sampled (a stop token included).
    pub generated: usize,
    /// Single-token decode `forward` calls after the prefill.
    pub decode_tokens: usize,
    /// Nanoseconds in the prefill `forward` calls.
    pub prefill_ns: u64,
    /// Nanoseconds in the decode `forward` calls.
    pub decode_ns: u64,
    /// Why generation ended.
    pub stop: StopReason,
}

/// What the callback of [`Generator::run`] receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece<'t> {
    /// The token sampled at this step; `None` for the final flush of held-back text.
    pub token: Option<u32>,
    /// The text released at this step (possibly empty; always whole UTF-8 characters).
    pub text: &'t str,
}

pub use crate::error::GenerateError;

/// Bytes of a region of `n` 4-byte values, with room to align it.
fn words(n: usize) -> usize {
    n.saturating_mul(4).saturating_add(3)
}

/// Splits `n` bytes off the front of `buf`.
fn take_bytes<'s>(buf: &mut &'s mut [u8], n: usize) -> Option<&'s mut [u8]> {
    let whole = core::mem::take(buf);
    if n > whole.len() {
        return None;
    }
    let (head, tail) = whole.split_at_mut(n);
    *buf = tail;
    Some(head)
}

/// Splits `n` 4-byte-aligned values of `T` off the front of `buf`.
fn take_words<'s, T: bytemuck::Pod>(buf: &mut &'s mut [u8], n: usize) -> Option<&'s mut [T]> {
    let pad = buf.as_ptr().align_offset(4);
    take_bytes(buf, pad)?;
    let region = take_bytes(buf, n.checked_mul(4)?)?;
    bytemuck::try_cast_slice_mut(region).ok()
}

/// The generation loop over caller memory (see the module docs).
pub struct Generator<'a> {
    config: GenerateConfig<'a>,
    /// Sampler scratch.
    ids: &'a mut [u32],
    work: &'a mut [f32],
    /// The repetition-penalty window (its first `penalty_window` entries).
    window: &'a mut [u32],
    /// The stream decoder's output.
    text: &'a mut [u8],
    /// Text held back while it may be the start of a stop string.
    pending: &'a mut [u8],
}

impl fmt::Debug for Generator<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Generator")
            .field("config", &self.config)
            .field("n_vocab", &self.ids.len())
            .field("text_bytes", &self.text.len())
            .field("pending_bytes", &self.pending.len())
            .finish()
    }
}

/// What emitting text led to.
enum Flow {
    Continue,
    Stop(StopReason),
}

impl<'a> Generator<'a> {
    /// Bytes of scratch [`Generator::new`] needs for this model's vocabulary, this tokenizer's
    /// longest piece and `config`'s penalty window and stop strings (saturating at
    /// `usize::MAX`). Any alignment will do.
    pub fn scratch_bytes(
        model: &Model<'_>,
        tok: &Tokenizer<'_, '_>,
        config: &GenerateConfig<'_>,
    ) -> usize {
        Self::scratch_bytes_for(
            model.config().n_vocab,
            StreamDecoder::buffer_bytes(tok),
            config,
        )
    }

    fn pending_bytes(text: usize, config: &GenerateConfig<'_>) -> usize {
        match config.max_stop_len() {
            0 => 0,
            m => m.saturating_add(text),
        }
    }

    fn scratch_bytes_for(n_vocab: usize, text: usize, config: &GenerateConfig<'_>) -> usize {
        words(n_vocab)
            .saturating_mul(2)
            .saturating_add(words(config.penalty_window))
            .saturating_add(text)
            .saturating_add(Self::pending_bytes(text, config))
    }

    /// A generator for sessions of `model` and texts of `tok`, with its working memory in
    /// `scratch` (at least [`Generator::scratch_bytes`] bytes).
    ///
    /// Errors: [`GenerateError::ScratchTooSmall`], [`GenerateError::EmptyStopString`].
    pub fn new(
        scratch: &'a mut [u8],
        model: &Model<'_>,
        tok: &Tokenizer<'_, '_>,
        config: GenerateConfig<'a>,
    ) -> Result<Self, GenerateError> {
        if config.stop_strings.iter().any(|s| s.is_empty()) {
            return Err(GenerateError::EmptyStopString);
        }
        let n_vocab = model.config().n_vocab;
        let text_bytes = StreamDecoder::buffer_bytes(tok);
        let needed = Self::scratch_bytes_for(n_vocab, text_bytes, &config);
        let got = scratch.len();
        let too_small = GenerateError::ScratchTooSmall { needed, got };
        if got < needed {
            return Err(too_small);
        }
        let mut rest = scratch;
        let ids = take_words::<u32>(&mut rest, n_vocab).ok_or(too_small)?;
        let work = take_words::<f32>(&mut rest, n_vocab).ok_or(too_small)?;
        let window = take_words::<u32>(&mut rest, config.penalty_window).ok_or(too_small)?;
        let text = take_bytes(&mut rest, text_bytes).ok_or(too_small)?;
        let pending =
            take_bytes(&mut rest, Self::pending_bytes(text_bytes, &config)).ok_or(too_small)?;
        Ok(Generator {
            config,
            ids,
            work,
            window,
            text,
            pending,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &GenerateConfig<'a> {
        &self.config
    }

    /// Feeds `prompt` to `session` (appended to what it holds), then samples with `sampler`
    /// and feeds back each token until a stop condition (module docs), calling `on_piece` with
    /// the text as it is produced; `on_piece` returns `false` to stop.
    ///
    /// Errors: [`GenerateError::EmptyPrompt`], [`GenerateError::SizeMismatch`], and the
    /// session's ([`crate::model::Session::forward`]: e.g. a prompt past `max_context`), the
    /// sampler's and the tokenizer's errors, as [`Error`]. Tokens delivered before an error
    /// stay delivered; the session holds what was fed successfully.
    pub fn run<F>(
        &mut self,
        session: &mut Session<'_, '_, '_>,
        tok: &Tokenizer<'_, '_>,
        sampler: &mut Sampler,
        prompt: &[u32],
        mut on_piece: F,
    ) -> Result<Stats, Error>
    where
        F: FnMut(Piece<'_>) -> bool,
    {
        let Generator {
            config,
            ids,
            work,
            window,
            text,
            pending,
        } = self;
        let config = *config;
        let n_vocab = session.model().config().n_vocab;
        if ids.len() < n_vocab
            || work.len() < n_vocab
            || text.len() < StreamDecoder::buffer_bytes(tok)
            || pending.len() < Self::pending_bytes(StreamDecoder::buffer_bytes(tok), &config)
        {
            return Err(GenerateError::SizeMismatch.into());
        }
        if prompt.is_empty() {
            return Err(GenerateError::EmptyPrompt.into());
        }
        let (clock, par) = (config.clock, config.parallel);
        let limits = session.limits();
        let max_batch = limits.max_batch.max(1);
        let mut stats = Stats {
            prompt_tokens: prompt.len(),
            ..Stats::default()
        };

        // Prefill: every chunk but the last, then the last, whose logits are sampled.
        let n_last = (prompt.len() - 1) % max_batch + 1;
        let (head, last) = prompt.split_at(prompt.len() - n_last);
        let t0 = clock.now_ns();
        for chunk in head.chunks(max_batch) {
            session.forward_with(chunk, false, par)?;
        }
        let mut recent = Window::new(window.get_mut(..config.penalty_window).unwrap_or_default());
        recent.extend(session.tokens());
        recent.extend(last);
        let start = session.len().saturating_add(last.len());
        let mut logits = session.forward_with(last, false, par)?;
        stats.prefill_ns = clock.now_ns().saturating_sub(t0);

        let mut decoder = StreamDecoder::new(config.render_special);
        let mut held = Held {
            buf: pending,
            len: 0,
            stops: config.stop_strings,
        };
        let mut stop = StopReason::MaxTokens;
        for step in 0..config.max_tokens {
            let id = sampler.sample(logits, recent.tokens(), ids, work)?;
            stats.generated += 1;
            if tok.is_stop_token(id) {
                stop = StopReason::StopToken(id);
                if !on_piece(Piece {
                    token: Some(id),
                    text: "",
                }) {
                    stats.stop = StopReason::Cancelled;
                    return Ok(stats);
                }
                break;
            }
            let piece = decoder.push(tok, id, text)?;
            if let Flow::Stop(reason) = held.emit(Some(id), piece, &mut on_piece)? {
                stats.stop = reason;
                return Ok(stats);
            }
            if step + 1 == config.max_tokens {
                break;
            }
            // Positions held now: the prompt's and one per token fed so far.
            if start.saturating_add(step) >= limits.max_context {
                stop = StopReason::ContextFull;
                break;
            }
            recent.extend(&[id]);
            let t = clock.now_ns();
            logits = session.forward_with(&[id], false, par)?;
            stats.decode_ns = stats
                .decode_ns
                .saturating_add(clock.now_ns().saturating_sub(t));
            stats.decode_tokens += 1;
        }
        stats.stop = stop;
        // The end: an incomplete character becomes U+FFFD; held text goes out.
        let tail = decoder.finish(text)?;
        if let Flow::Stop(reason) = held.flush(tail, &mut on_piece)? {
            stats.stop = reason;
        }
        Ok(stats)
    }
}

/// The last `capacity` tokens seen.
struct Window<'w> {
    buf: &'w mut [u32],
    len: usize,
}

impl<'w> Window<'w> {
    fn new(buf: &'w mut [u32]) -> Self {
        Window { buf, len: 0 }
    }

    fn extend(&mut self, tokens: &[u32]) {
        let cap = self.buf.len();
        let tokens = tokens
            .get(tokens.len().saturating_sub(cap)..)
            .unwrap_or(&[]);
        let n = tokens.len();
        let keep = self.len.min(cap - n);
        // Keep the last `keep` entries, then append.
        self.buf.copy_within(self.len - keep..self.len, 0);
        if let Some(dst) = self.buf.get_mut(keep..keep + n) {
            dst.copy_from_slice(tokens);
        }
        self.len = keep + n;
    }

    fn tokens(&self) -> &[u32] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

/// Text held back while it may be the start of a stop string.
struct Held<'h, 's> {
    buf: &'h mut [u8],
    len: usize,
    stops: &'s [&'s str],
}

/// The earliest occurrence of any of `stops` in `hay`: (position, index of the stop string).
fn find_stop(hay: &[u8], stops: &[&str]) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    for (i, s) in stops.iter().enumerate() {
        let s = s.as_bytes();
        if s.is_empty() || s.len() > hay.len() {
            continue;
        }
        if let Some(p) = hay.windows(s.len()).position(|w| w == s) {
            if best.is_none_or(|(b, _)| p < b) {
                best = Some((p, i));
            }
        }
    }
    best
}

/// Length of the longest suffix of `hay` that is a proper prefix of one of `stops`.
fn partial_stop(hay: &[u8], stops: &[&str]) -> usize {
    let longest = stops.iter().map(|s| s.len()).max().unwrap_or(0);
    let max = hay.len().min(longest.saturating_sub(1));
    (1..=max)
        .rev()
        .find(|&k| {
            let suffix = hay.get(hay.len() - k..).unwrap_or(&[]);
            stops.iter().any(|s| s.as_bytes().starts_with(suffix))
        })
        .unwrap_or(0)
}

/// `bytes` as text. Every cut this module makes is at a character boundary (a stop string
/// starts with a lead byte), so the fallback is never taken.
fn as_text(bytes: &[u8]) -> &str {
    core::str::from_utf8(bytes).unwrap_or("")
}

impl Held<'_, '_> {
    /// Delivers `piece` (the text of `token`), holding back what may start a stop string.
    fn emit<F: FnMut(Piece<'_>) -> bool>(
        &mut self,
        token: Option<u32>,
        piece: &str,
        on_piece: &mut F,
    ) -> Result<Flow, GenerateError> {
        if self.stops.is_empty() {
            return Ok(if on_piece(Piece { token, text: piece }) {
                Flow::Continue
            } else {
                Flow::Stop(StopReason::Cancelled)
            });
        }
        let end = self.len + piece.len();
        let got = self.buf.len();
        let dst = self
            .buf
            .get_mut(self.len..end)
            .ok_or(GenerateError::ScratchTooSmall { needed: end, got })?;
        dst.copy_from_slice(piece.as_bytes());
        self.len = end;
        let all = self.buf.get(..end).unwrap_or(&[]);
        if let Some((at, i)) = find_stop(all, self.stops) {
            let text = as_text(all.get(..at).unwrap_or(&[]));
            let _ = on_piece(Piece { token, text });
            self.len = 0;
            return Ok(Flow::Stop(StopReason::StopString(i)));
        }
        let keep = partial_stop(all, self.stops);
        let cut = end - keep;
        let go_on = on_piece(Piece {
            token,
            text: as_text(all.get(..cut).unwrap_or(&[])),
        });
        self.buf.copy_within(cut..end, 0);
        self.len = keep;
        Ok(if go_on {
            Flow::Continue
        } else {
            Flow::Stop(StopReason::Cancelled)
        })
    }

    /// The end of the text: `tail` and everything held go out (up to a stop string).
    fn flush<F: FnMut(Piece<'_>) -> bool>(
        &mut self,
        tail: &str,
        on_piece: &mut F,
    ) -> Result<Flow, GenerateError> {
        if self.stops.is_empty() {
            if !tail.is_empty()
                && !on_piece(Piece {
                    token: None,
                    text: tail,
                })
            {
                return Ok(Flow::Stop(StopReason::Cancelled));
            }
            return Ok(Flow::Continue);
        }
        let end = self.len + tail.len();
        let got = self.buf.len();
        let dst = self
            .buf
            .get_mut(self.len..end)
            .ok_or(GenerateError::ScratchTooSmall { needed: end, got })?;
        dst.copy_from_slice(tail.as_bytes());
        self.len = 0;
        let all = self.buf.get(..end).unwrap_or(&[]);
        let (cut, flow) = match find_stop(all, self.stops) {
            Some((at, i)) => (at, Flow::Stop(StopReason::StopString(i))),
            None => (end, Flow::Continue),
        };
        if cut > 0 {
            let go_on = on_piece(Piece {
                token: None,
                text: as_text(all.get(..cut).unwrap_or(&[])),
            });
            if !go_on {
                if let Flow::Continue = flow {
                    return Ok(Flow::Stop(StopReason::Cancelled));
                }
            }
        }
        Ok(flow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_keeps_the_last_tokens() {
        let mut buf = [0u32; 4];
        let mut w = Window::new(&mut buf);
        w.extend(&[1, 2]);
        assert_eq!(w.tokens(), &[1, 2]);
        w.extend(&[3, 4, 5]);
        assert_eq!(w.tokens(), &[2, 3, 4, 5]);
        w.extend(&[6, 7, 8, 9, 10, 11]);
        assert_eq!(w.tokens(), &[8, 9, 10, 11]);
        w.extend(&[12]);
        assert_eq!(w.tokens(), &[9, 10, 11, 12]);
        let mut empty: [u32; 0] = [];
        let mut w = Window::new(&mut empty);
        w.extend(&[1, 2, 3]);
        assert!(w.tokens().is_empty());
    }

    #[test]
    fn stop_string_search() {
        assert_eq!(find_stop(b"abcUser:x", &["User:", "c"]), Some((2, 1)));
        assert_eq!(find_stop(b"abcUser:x", &["User:"]), Some((3, 0)));
        assert_eq!(find_stop(b"abc", &["abcd"]), None);
        assert_eq!(partial_stop(b"xxUs", &["User:"]), 2);
        assert_eq!(partial_stop(b"xxUser", &["User:"]), 4);
        assert_eq!(partial_stop(b"xx", &["User:"]), 0);
        assert_eq!(partial_stop("é\u{e9}".as_bytes(), &["\u{e9}!"]), 2);
    }
}
