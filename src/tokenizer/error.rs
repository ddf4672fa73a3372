//! [`TokenizerError`]: everything the tokenizer, decoder and chat renderer can refuse.

use core::fmt;

use crate::gguf::GgufError;

/// Why a tokenizer could not be built, or an encode / decode / render call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenizerError {
    /// Reading a metadata value failed (wrong type, out of range …).
    Gguf(GgufError),
    /// A metadata key the tokenizer needs is absent.
    MissingKey(&'static str),
    /// `tokenizer.ggml.model` is not `llama` (SentencePiece) or `gpt2` (byte-level BPE).
    UnsupportedModel,
    /// `tokenizer.ggml.pre` names a pre-tokenizer this crate does not implement (supported:
    /// `smollm`, `gpt-4o`); a missing one is reported the same way.
    UnsupportedPreTokenizer,
    /// A per-token array is shorter than the vocabulary.
    LengthMismatch {
        /// The array's key.
        key: &'static str,
        /// Entries needed (the vocabulary size).
        expected: usize,
        /// Entries found.
        found: usize,
    },
    /// Two tokens have the same text (llama.cpp refuses such a vocabulary too).
    DuplicateToken {
        /// The first id with that text.
        first: u32,
        /// The second.
        second: u32,
    },
    /// The vocabulary, its strings or the merges do not fit the 32-bit tables.
    TooLarge,
    /// `add_bos_token` / `add_eos_token` is set but the file has no usable BOS / EOS id.
    MissingSpecialToken(&'static str),
    /// `tokenizer.ggml.bos_token_id` / `eos_token_id` is not below the vocabulary size (a
    /// corrupt file: llama.cpp would warn and silently use its default id instead).
    SpecialTokenOutOfRange {
        /// The key.
        key: &'static str,
        /// Its value.
        id: u32,
        /// The vocabulary size.
        n_vocab: usize,
    },
    /// A BPE merge of `tokenizer.ggml.merges` is not two vocabulary tokens separated by a
    /// space (a piece that is no token, or no space after the first byte).
    BadMerge {
        /// The merge's index (its rank).
        index: usize,
    },
    /// The caller's buffer is smaller than [`super::Tokenizer::bytes_needed`] said.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes given.
        got: usize,
    },
    /// The text is longer than the `max_text_bytes` the tokenizer was built for.
    TextTooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The output slice is too small; `needed` is the full count (the first `capacity`
    /// entries or bytes were written).
    OutputTooSmall {
        /// Entries (tokens or bytes) the whole result needs.
        needed: usize,
        /// The output's capacity.
        capacity: usize,
    },
    /// Byte fallback needed a token for this byte and the vocabulary has none.
    NoByteToken(u8),
    /// A token id is not below the vocabulary size.
    TokenOutOfRange(u32),
    /// `tokenizer.chat_template` is absent or not one of the recognised families.
    UnknownChatTemplate,
}

impl From<GgufError> for TokenizerError {
    fn from(e: GgufError) -> Self {
        TokenizerError::Gguf(e)
    }
}

impl fmt::Display for TokenizerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TokenizerError::Gguf(e) => write!(f, "tokenizer metadata: {e}"),
            TokenizerError::MissingKey(k) => write!(f, "metadata key `{k}` is missing"),
            TokenizerError::UnsupportedModel => {
                f.write_str("tokenizer.ggml.model is neither `llama` nor `gpt2`")
            }
            TokenizerError::UnsupportedPreTokenizer => f.write_str(
                "tokenizer.ggml.pre is missing or not supported (supported: smollm, gpt-4o)",
            ),
            TokenizerError::LengthMismatch {
                key,
                expected,
                found,
            } => write!(f, "`{key}` has {found} entries, expected {expected}"),
            TokenizerError::DuplicateToken { first, second } => {
                write!(f, "tokens {first} and {second} have the same text")
            }
            TokenizerError::TooLarge => f.write_str("vocabulary too large for 32-bit tables"),
            TokenizerError::MissingSpecialToken(what) => {
                write!(
                    f,
                    "{what} is required but the vocabulary has no valid id for it"
                )
            }
            TokenizerError::SpecialTokenOutOfRange { key, id, n_vocab } => write!(
                f,
                "`{key}` = {id} is not below the vocabulary size {n_vocab}"
            ),
            TokenizerError::BadMerge { index } => write!(
                f,
                "merge #{index} of `tokenizer.ggml.merges` is not two vocabulary tokens \
                 separated by a space"
            ),
            TokenizerError::BufferTooSmall { needed, got } => {
                write!(f, "tokenizer buffer has {got} bytes, needs {needed}")
            }
            TokenizerError::TextTooLong { len, max } => {
                write!(f, "text is {len} bytes, the tokenizer was sized for {max}")
            }
            TokenizerError::OutputTooSmall { needed, capacity } => {
                write!(f, "output holds {capacity}, the result needs {needed}")
            }
            TokenizerError::NoByteToken(b) => write!(f, "no token for byte 0x{b:02X}"),
            TokenizerError::TokenOutOfRange(id) => write!(f, "token id {id} is out of range"),
            TokenizerError::UnknownChatTemplate => {
                f.write_str("chat template missing or not a recognised family")
            }
        }
    }
}

impl core::error::Error for TokenizerError {}
