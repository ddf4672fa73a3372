//! The [`Tokenizer`] type: building its tables in the caller's buffer and encoding text
//! ([`Tokenizer::encode`]). Decoding is in `decode.rs`; the algorithms in `spm.rs` / `bpe.rs`.

use crate::gguf::Gguf;

use super::arena::{take_bytes, take_records, u32_region_bytes};
use super::chat::ChatTemplate;
use super::error::TokenizerError;
use super::kind::VocabKind;
use super::sink::{Sink, Work};
use super::special::{partition, Fragment};
use super::vocab::{attr, Plan, Specials, Vocab, NONE};
use super::{bpe, spm, vocab};

/// An upper bound on the ids [`Tokenizer::encode`] writes for a text of `text_bytes` bytes,
/// for every vocabulary and [`EncodeOptions`]: an output slice of this length never gets
/// [`TokenizerError::OutputTooSmall`]. Saturates at `usize::MAX`.
///
/// The bound is `4 · text_bytes + 5`. SentencePiece writes each space as `▁` (3 bytes) and
/// each byte of that escaped text becomes at most one id (`<0xNN>` byte fallback, or one
/// unknown id per character); every text fragment that starts the input or follows a special
/// token may get a `▁` prefix (3 more ids, at most one such fragment per special token plus
/// one); a special token is one id for at least one byte of text; BOS and EOS add 2. So
/// `3 · text + 3 · (specials + 1) + specials + 2 ≤ 4 · text_bytes + 5`. (Byte-level BPE needs at
/// most `text_bytes + 2`.)
///
/// ```
/// use phi3_kernels::tokenizer::max_encode_tokens;
/// let prompt = "Hello world";
/// let ids = vec![0u32; max_encode_tokens(prompt.len())]; // room for any vocabulary
/// assert_eq!(ids.len(), 49);
/// ```
pub const fn max_encode_tokens(text_bytes: usize) -> usize {
    text_bytes.saturating_mul(4).saturating_add(5)
}

/// How [`Tokenizer::encode`] treats special tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodeOptions {
    /// Add BOS (and EOS) when the vocabulary says so (`add_bos_token` / `add_eos_token`).
    pub add_special: bool,
    /// Match control tokens (`<|user|>`, `<|im_start|>` …) written in the text.
    pub parse_special: bool,
}

impl Default for EncodeOptions {
    /// No BOS, special tokens parsed (what `llama-tokenize --no-bos` does).
    fn default() -> Self {
        EncodeOptions {
            add_special: false,
            parse_special: true,
        }
    }
}

/// A tokenizer over a GGUF vocabulary; tables and scratch live in a caller buffer.
#[derive(Debug)]
pub struct Tokenizer<'g, 'b> {
    pub(super) vocab: Vocab<'g, 'b>,
    pub(super) specials: Specials,
    pub(super) kind: VocabKind,
    pub(super) scratch: &'b mut [u8],
    pub(super) max_text_bytes: usize,
    pub(super) add_bos: bool,
    pub(super) add_eos: bool,
    pub(super) add_space_prefix: bool,
    pub(super) chat_template: Option<&'g str>,
}

/// Sizes of the per-call scratch regions for `t` text bytes and `s` special tokens.
fn scratch_sizes(t: usize, s: usize) -> Option<(usize, usize, usize, usize)> {
    let text = t.checked_mul(3)?.checked_add(3)?;
    let syms = t.checked_add(1)?;
    let heap = syms.checked_mul(3)?;
    let stack = s.checked_add(1)?;
    Some((text, syms, heap, stack))
}

impl<'g, 'b> Tokenizer<'g, 'b> {
    /// Bytes [`Tokenizer::new`] needs for this vocabulary and texts up to `max_text_bytes`.
    pub fn bytes_needed(gguf: &Gguf<'_>, max_text_bytes: usize) -> Result<usize, TokenizerError> {
        let plan = Plan::new(gguf)?;
        Self::bytes_for(&plan, max_text_bytes)
    }

    fn bytes_for(plan: &Plan, max_text_bytes: usize) -> Result<usize, TokenizerError> {
        let (text, syms, heap, stack) =
            scratch_sizes(max_text_bytes, plan.special_cap).ok_or(TokenizerError::TooLarge)?;
        let mut total = plan.table_bytes()?;
        for region in [
            Some(text),
            syms.checked_mul(5).map(|w| w * 4 + 3),
            heap.checked_mul(4).map(|w| w * 4 + 3),
            stack.checked_mul(3).map(|w| w * 4 + 3),
        ] {
            let r = region.ok_or(TokenizerError::TooLarge)?;
            total = total.checked_add(r).ok_or(TokenizerError::TooLarge)?;
        }
        let _ = u32_region_bytes(0)?;
        Ok(total)
    }

    /// Builds the tokenizer's tables in `buf` (at least [`Tokenizer::bytes_needed`] bytes).
    pub fn new(
        gguf: &Gguf<'g>,
        buf: &'b mut [u8],
        max_text_bytes: usize,
    ) -> Result<Self, TokenizerError> {
        let plan = Plan::new(gguf)?;
        let needed = Self::bytes_for(&plan, max_text_bytes)?;
        if buf.len() < needed {
            return Err(TokenizerError::BufferTooSmall {
                needed,
                got: buf.len(),
            });
        }
        let (vocab, specials, scratch) = vocab::build(gguf, &plan, buf)?;
        let (def_bos, def_space) = match plan.kind {
            VocabKind::SentencePiece => (true, true),
            VocabKind::Bpe(_) => (false, false),
        };
        let add_bos = gguf
            .get_bool("tokenizer.ggml.add_bos_token")?
            .unwrap_or(def_bos);
        let add_eos = gguf
            .get_bool("tokenizer.ggml.add_eos_token")?
            .unwrap_or(false);
        let add_space_prefix = gguf
            .get_bool("tokenizer.ggml.add_space_prefix")?
            .unwrap_or(def_space);
        if add_bos && specials.bos.is_none() {
            return Err(TokenizerError::MissingSpecialToken("add_bos_token"));
        }
        if add_eos && specials.eos.is_none() {
            return Err(TokenizerError::MissingSpecialToken("add_eos_token"));
        }
        let chat_template = gguf.get_str("tokenizer.chat_template").ok().flatten();
        Ok(Tokenizer {
            vocab,
            specials,
            kind: plan.kind,
            scratch,
            max_text_bytes,
            add_bos,
            add_eos,
            add_space_prefix,
            chat_template,
        })
    }

    /// Tokenizes `text` into `out` and returns the number of ids.
    ///
    /// [`TokenizerError::OutputTooSmall`] carries the full count when `out` is too short (an
    /// `out` of [`max_encode_tokens`]`(text.len())` ids is always long enough);
    /// [`TokenizerError::TextTooLong`] when `text` exceeds the `max_text_bytes` given to
    /// [`Tokenizer::new`].
    pub fn encode(
        &mut self,
        text: &str,
        opts: EncodeOptions,
        out: &mut [u32],
    ) -> Result<usize, TokenizerError> {
        if text.len() > self.max_text_bytes {
            return Err(TokenizerError::TextTooLong {
                len: text.len(),
                max: self.max_text_bytes,
            });
        }
        let (t_bytes, n_syms, n_heap, n_stack) =
            scratch_sizes(self.max_text_bytes, self.vocab.specials().len())
                .ok_or(TokenizerError::TooLarge)?;
        let mut rest: &mut [u8] = &mut *self.scratch;
        let mut work = Work {
            text: take_bytes(&mut rest, t_bytes)?,
            syms: take_records::<5>(&mut rest, n_syms)?,
            heap: take_records::<4>(&mut rest, n_heap)?,
        };
        let stack = take_records::<3>(&mut rest, n_stack)?;

        let capacity = out.len();
        let mut sink = Sink { out, n: 0 };
        if opts.add_special && self.add_bos {
            if let Some(bos) = self.specials.bos {
                sink.push(bos);
            }
        }
        let vocab = self.vocab;
        let kind = self.kind;
        let space_prefix = self.add_space_prefix;
        let mut prev_special = true;
        partition(&vocab, text, opts.parse_special, stack, &mut |frag| {
            match frag {
                Fragment::Text(s) => {
                    match kind {
                        VocabKind::SentencePiece => spm::encode(
                            &vocab,
                            s,
                            space_prefix && prev_special,
                            &mut work,
                            &mut sink,
                        )?,
                        VocabKind::Bpe(pre) => bpe::encode(&vocab, pre, s, &mut work, &mut sink)?,
                    }
                    prev_special = false;
                }
                Fragment::Token(id) => {
                    sink.push(id);
                    prev_special = true;
                }
            }
            Ok(())
        })?;
        if opts.add_special && self.add_eos {
            if let Some(eos) = self.specials.eos {
                sink.push(eos);
            }
        }
        if sink.n > capacity {
            return Err(TokenizerError::OutputTooSmall {
                needed: sink.n,
                capacity,
            });
        }
        Ok(sink.n)
    }

    /// Vocabulary size.
    pub fn n_vocab(&self) -> usize {
        self.vocab.n_vocab()
    }

    /// SentencePiece or BPE (and which pre-tokenizer).
    pub fn kind(&self) -> VocabKind {
        self.kind
    }

    /// The longest text [`Tokenizer::encode`] accepts, in bytes.
    pub fn max_text_bytes(&self) -> usize {
        self.max_text_bytes
    }

    /// Beginning-of-sequence id.
    pub fn bos(&self) -> Option<u32> {
        self.specials.bos
    }

    /// End-of-sequence id.
    pub fn eos(&self) -> Option<u32> {
        self.specials.eos
    }

    /// End-of-turn id (`tokenizer.ggml.eot_token_id`, else the first end-of-turn-looking
    /// token such as `<|end|>` or `<|im_end|>`).
    pub fn eot(&self) -> Option<u32> {
        self.specials.eot
    }

    /// Unknown-token id.
    pub fn unk(&self) -> Option<u32> {
        self.specials.unk
    }

    /// Padding id.
    pub fn pad(&self) -> Option<u32> {
        self.specials.pad
    }

    /// Whether encoding with [`EncodeOptions::add_special`] prepends BOS.
    pub fn add_bos(&self) -> bool {
        self.add_bos
    }

    /// Whether the vocabulary prefixes text with a space (SentencePiece).
    pub fn add_space_prefix(&self) -> bool {
        self.add_space_prefix
    }

    /// The ids that end generation, as llama.cpp computes them: EOS, EOT, EOM, tokens named
    /// `<|end|>`, `<|im_end|>`, `<|endoftext|>`, `</s>`, `<|eot_id|>` … and FIM pad / repo /
    /// separator markers (at most 16).
    pub fn stop_tokens(&self) -> &[u32] {
        self.specials.eog.get(..self.specials.n_eog).unwrap_or(&[])
    }

    /// Whether `id` ends generation.
    pub fn is_stop_token(&self, id: u32) -> bool {
        id != NONE && self.stop_tokens().contains(&id)
    }

    /// Whether `id` is a control token (rendered as nothing by default when decoding).
    pub fn is_control(&self, id: u32) -> bool {
        self.vocab.attr(id) & attr::CONTROL != 0
    }

    /// The token's text as stored in the vocabulary (`▁` / GPT-2 spelling), borrowed from
    /// the GGUF bytes.
    pub fn token_text(&self, id: u32) -> Option<&'g str> {
        if id as usize >= self.vocab.n_vocab() {
            return None;
        }
        core::str::from_utf8(self.vocab.text(id)).ok()
    }

    /// The id whose vocabulary text is exactly `text`.
    pub fn token_id(&self, text: &str) -> Option<u32> {
        self.vocab.lookup(text.as_bytes())
    }

    /// The token's score (SentencePiece merge priority; 0 when the file has none).
    pub fn token_score(&self, id: u32) -> f32 {
        self.vocab.score(id)
    }

    /// `tokenizer.chat_template`, if the file has one.
    pub fn chat_template_text(&self) -> Option<&'g str> {
        self.chat_template
    }

    /// The chat format recognised from `tokenizer.chat_template`.
    pub fn chat_template(&self) -> Result<ChatTemplate<'g>, TokenizerError> {
        ChatTemplate::detect(
            self.chat_template
                .ok_or(TokenizerError::UnknownChatTemplate)?,
        )
    }
}
