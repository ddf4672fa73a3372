//! Token → bytes, and streaming UTF-8 assembly.
//!
//! [`Tokenizer::piece`] yields a token's output bytes as llama.cpp's `token_to_piece` does:
//! normal SentencePiece tokens with `▁` turned back into spaces, normal BPE tokens mapped from
//! GPT-2 code points back to bytes, byte tokens (`<0xNN>`) as their byte, user-defined tokens as
//! their text, and control / unknown tokens as their text only when asked to render specials
//! (otherwise nothing). [`Tokenizer::decode`] concatenates pieces like `llama_detokenize`.
//!
//! A token can end in the middle of a UTF-8 character (byte fallback splits an emoji over four
//! tokens), so printing pieces one by one needs [`Utf8Stream`]: it passes complete characters
//! through, holds an incomplete tail (at most 3 bytes) until the next piece completes it, and
//! writes U+FFFD for bytes that can never form a character. [`StreamDecoder`] couples the two.

use super::engine::Tokenizer;
use super::error::TokenizerError;
use super::kind::VocabKind;
use super::unicode::char_to_byte;
use super::vocab::attr;

const SPACE_MARK: &[u8] = "\u{2581}".as_bytes();
const REPLACEMENT: &[u8] = "\u{fffd}".as_bytes();

#[derive(Clone, Copy, Debug)]
enum Mode {
    /// The bytes as they are.
    Raw,
    /// `▁` → space.
    Spm,
    /// GPT-2 code points → bytes.
    Bpe,
    /// One byte.
    Byte(u8),
}

/// The output bytes of one token (an iterator; see [`Tokenizer::piece`]).
#[derive(Clone, Debug)]
pub struct PieceBytes<'g> {
    src: &'g [u8],
    pos: usize,
    mode: Mode,
    /// For a BPE character with no byte mapping: copy its UTF-8 bytes up to here.
    raw_until: usize,
}

impl Iterator for PieceBytes<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        match self.mode {
            Mode::Byte(b) => {
                if self.pos == 0 {
                    self.pos = 1;
                    Some(b)
                } else {
                    None
                }
            }
            Mode::Raw => {
                let b = *self.src.get(self.pos)?;
                self.pos += 1;
                Some(b)
            }
            Mode::Spm => {
                let rest = self.src.get(self.pos..)?;
                if rest.starts_with(SPACE_MARK) {
                    self.pos += SPACE_MARK.len();
                    Some(b' ')
                } else {
                    let b = *rest.first()?;
                    self.pos += 1;
                    Some(b)
                }
            }
            Mode::Bpe => {
                if self.pos < self.raw_until {
                    let b = *self.src.get(self.pos)?;
                    self.pos += 1;
                    return Some(b);
                }
                let rest = self.src.get(self.pos..)?;
                let c = match core::str::from_utf8(rest.get(..rest.len().min(4))?) {
                    Ok(s) => s.chars().next()?,
                    Err(e) => core::str::from_utf8(rest.get(..e.valid_up_to())?)
                        .ok()?
                        .chars()
                        .next()?,
                };
                match char_to_byte(c) {
                    Some(b) => {
                        self.pos += c.len_utf8();
                        Some(b)
                    }
                    None => {
                        // Not a GPT-2 byte character: pass its UTF-8 through unchanged.
                        self.raw_until = self.pos + c.len_utf8();
                        let b = *rest.first()?;
                        self.pos += 1;
                        Some(b)
                    }
                }
            }
        }
    }
}

/// How [`Tokenizer::decode`] treats special tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Drop a leading BOS (when the vocabulary adds one) and a trailing EOS (when it adds one).
    pub remove_special: bool,
    /// Write control tokens' text (`<|end|>` …) instead of nothing.
    pub render_special: bool,
}

impl<'g> Tokenizer<'g, '_> {
    /// The output bytes of token `id` (see the module docs); `render_special` writes control
    /// and unknown tokens as their text.
    pub fn piece(&self, id: u32, render_special: bool) -> Result<PieceBytes<'g>, TokenizerError> {
        if id as usize >= self.vocab.n_vocab() {
            return Err(TokenizerError::TokenOutOfRange(id));
        }
        let a = self.vocab.attr(id);
        let text = self.vocab.text(id);
        let hidden = attr::UNKNOWN | attr::CONTROL;
        let (src, mode) = if !render_special && a & hidden != 0 {
            (&[][..], Mode::Raw)
        } else if a & (hidden | attr::USER_DEFINED) != 0 {
            (text, Mode::Raw)
        } else if a & attr::NORMAL != 0 {
            match self.kind {
                VocabKind::SentencePiece => (text, Mode::Spm),
                VocabKind::Bpe(_) => (text, Mode::Bpe),
            }
        } else if a & attr::BYTE != 0 {
            let hex = text
                .get(3..5)
                .and_then(|h| core::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .unwrap_or(0);
            (&[][..], Mode::Byte(hex))
        } else {
            (&[][..], Mode::Raw)
        };
        Ok(PieceBytes {
            src,
            pos: 0,
            mode,
            raw_until: 0,
        })
    }

    /// Longest piece any token can produce, in bytes.
    pub fn max_piece_bytes(&self) -> usize {
        self.vocab.max_token_len.max(1)
    }

    /// Writes the bytes of `ids` to `out` and returns their count, like `llama_detokenize`:
    /// the first piece loses one leading space when the vocabulary adds a space prefix (so
    /// `decode(encode(s)) == s` for SentencePiece). [`TokenizerError::OutputTooSmall`] reports
    /// the full length when `out` is too short.
    pub fn decode(
        &self,
        ids: &[u32],
        opts: DecodeOptions,
        out: &mut [u8],
    ) -> Result<usize, TokenizerError> {
        let mut ids = ids;
        if opts.remove_special && self.add_bos {
            if let (Some(&first), Some(bos)) = (ids.first(), self.specials.bos) {
                if first == bos {
                    ids = ids.get(1..).unwrap_or(&[]);
                }
            }
        }
        if opts.remove_special && self.add_eos {
            if let (Some((&last, rest)), Some(eos)) = (ids.split_last(), self.specials.eos) {
                if last == eos {
                    ids = rest;
                }
            }
        }
        let mut n = 0usize;
        let mut strip_space = self.add_space_prefix;
        for &id in ids {
            let mut piece = self.piece(id, opts.render_special)?.peekable();
            if strip_space && piece.peek() == Some(&b' ') {
                piece.next();
            }
            strip_space = false;
            for b in piece {
                if let Some(slot) = out.get_mut(n) {
                    *slot = b;
                }
                n += 1;
            }
        }
        if n > out.len() {
            return Err(TokenizerError::OutputTooSmall {
                needed: n,
                capacity: out.len(),
            });
        }
        Ok(n)
    }
}

/// Assembles UTF-8 text from byte chunks that may split characters.
#[derive(Clone, Copy, Debug, Default)]
pub struct Utf8Stream {
    pending: [u8; 4],
    n_pending: u8,
    need: u8,
}

/// Output bytes [`Utf8Stream::push`] may write for `input` bytes: every byte, plus the held
/// ones, could turn into a 3-byte U+FFFD.
pub const fn utf8_stream_capacity(input: usize) -> usize {
    input.saturating_add(4).saturating_mul(3)
}

struct Writer<'o> {
    out: &'o mut [u8],
    n: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if let Some(slot) = self.out.get_mut(self.n) {
                *slot = b;
            }
            self.n += 1;
        }
    }
}

impl Utf8Stream {
    /// An empty stream.
    pub const fn new() -> Self {
        Utf8Stream {
            pending: [0; 4],
            n_pending: 0,
            need: 0,
        }
    }

    /// Bytes held back (the start of an incomplete character).
    pub fn pending(&self) -> usize {
        self.n_pending as usize
    }

    fn feed(&mut self, b: u8, w: &mut Writer<'_>) {
        if self.n_pending > 0 {
            if (0x80..=0xbf).contains(&b) {
                if let Some(slot) = self.pending.get_mut(self.n_pending as usize) {
                    *slot = b;
                }
                self.n_pending += 1;
                if self.n_pending == self.need {
                    let seq = self.pending.get(..self.need as usize).unwrap_or(&[]);
                    match core::str::from_utf8(seq) {
                        Ok(_) => w.put(seq),
                        Err(_) => w.put(REPLACEMENT),
                    }
                    self.n_pending = 0;
                }
                return;
            }
            // The held sequence can never complete.
            w.put(REPLACEMENT);
            self.n_pending = 0;
        }
        let need = match b {
            0x00..=0x7f => {
                w.put(&[b]);
                return;
            }
            0xc2..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf4 => 4,
            _ => {
                w.put(REPLACEMENT);
                return;
            }
        };
        self.pending[0] = b;
        self.n_pending = 1;
        self.need = need;
    }

    /// Feeds `bytes` and writes every character they complete to `out` (which must hold
    /// [`utf8_stream_capacity`]`(bytes.len())` bytes), returning the written text.
    pub fn push<'o>(&mut self, bytes: &[u8], out: &'o mut [u8]) -> Result<&'o str, TokenizerError> {
        self.push_iter(bytes.iter().copied(), bytes.len(), out)
    }

    fn push_iter<'o>(
        &mut self,
        bytes: impl Iterator<Item = u8>,
        max_len: usize,
        out: &'o mut [u8],
    ) -> Result<&'o str, TokenizerError> {
        let needed = utf8_stream_capacity(max_len);
        if out.len() < needed {
            return Err(TokenizerError::OutputTooSmall {
                needed,
                capacity: out.len(),
            });
        }
        let mut w = Writer { out, n: 0 };
        for b in bytes {
            self.feed(b, &mut w);
        }
        let n = w.n;
        let written = w.out.get(..n).unwrap_or(&[]);
        Ok(core::str::from_utf8(written).unwrap_or(""))
    }

    /// Ends the stream: an incomplete held character becomes U+FFFD (`out` needs 3 bytes).
    pub fn finish<'o>(&mut self, out: &'o mut [u8]) -> Result<&'o str, TokenizerError> {
        if self.n_pending == 0 {
            return Ok("");
        }
        self.n_pending = 0;
        let dst = out
            .get_mut(..REPLACEMENT.len())
            .ok_or(TokenizerError::OutputTooSmall {
                needed: REPLACEMENT.len(),
                capacity: 0,
            })?;
        dst.copy_from_slice(REPLACEMENT);
        Ok(core::str::from_utf8(dst).unwrap_or(""))
    }
}

/// Streams the text of generated tokens: [`Tokenizer::piece`] + [`Utf8Stream`].
#[derive(Clone, Copy, Debug, Default)]
pub struct StreamDecoder {
    utf8: Utf8Stream,
    render_special: bool,
}

impl StreamDecoder {
    /// A decoder; `render_special` writes control tokens' text.
    pub const fn new(render_special: bool) -> Self {
        StreamDecoder {
            utf8: Utf8Stream::new(),
            render_special,
        }
    }

    /// Output bytes [`StreamDecoder::push`] needs for this tokenizer.
    pub fn buffer_bytes(tok: &Tokenizer<'_, '_>) -> usize {
        utf8_stream_capacity(tok.max_piece_bytes())
    }

    /// Decodes one token and returns the text it completes (possibly empty).
    pub fn push<'o>(
        &mut self,
        tok: &Tokenizer<'_, '_>,
        id: u32,
        out: &'o mut [u8],
    ) -> Result<&'o str, TokenizerError> {
        let piece = tok.piece(id, self.render_special)?;
        self.utf8.push_iter(piece, tok.max_piece_bytes(), out)
    }

    /// Flushes an incomplete character as U+FFFD.
    pub fn finish<'o>(&mut self, out: &'o mut [u8]) -> Result<&'o str, TokenizerError> {
        self.utf8.finish(out)
    }
}
