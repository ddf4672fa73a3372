//! Tokenizers read from GGUF: SentencePiece (Phi-3 family) and byte-level BPE (Phi-4-mini,
//! SmolLM2), chat prompts, and streaming decode — allocation-free, ids equal to llama.cpp's.
//!
//! # Use
//!
//! ```no_run
//! use phi3_kernels::gguf::Gguf;
//! use phi3_kernels::tokenizer::{EncodeOptions, Tokenizer, TokenizerError};
//!
//! fn ids(file: &[u8], text: &str, out: &mut [u32]) -> Result<usize, Box<dyn std::error::Error>> {
//!     let gguf = Gguf::parse(file)?;
//!     let mut buf = vec![0u8; Tokenizer::bytes_needed(&gguf, 4096)?];
//!     let mut tok = Tokenizer::new(&gguf, &mut buf, 4096)?;
//!     Ok(tok.encode(text, EncodeOptions::default(), out)?)
//! }
//! ```
//!
//! [`Tokenizer::bytes_needed`] says how big the caller's buffer must be for a vocabulary and a
//! longest text (`max_text_bytes`); [`Tokenizer::new`] builds its tables there and keeps the
//! rest as encode scratch. Token text is never copied: it stays in the GGUF bytes.
//!
//! # Memory
//!
//! Tables: 16 bytes per token (text offset, length, score, attributes), 8 bytes per slot of the
//! text → id hash table and 16 per slot of the merge table (power-of-two sizes, ≤ 80% full),
//! 4 per special token. Scratch: about 71 bytes per byte of `max_text_bytes` (escaped text,
//! symbol list, merge heap) plus 12 per special token. Phi-3's 32,064-token vocabulary with
//! `max_text_bytes = 4096` needs about 1.4 MB; SmolLM2's (49,152 tokens, 48,900 merges) 2.6 MB.
//!
//! # What is reproduced (see each module)
//!
//! - special tokens found in the text (`special.rs`): control and unknown tokens when
//!   [`EncodeOptions::parse_special`], user-defined ones always; llama.cpp's attributes,
//!   including the Phi-3 quirk (`general.name` containing `phi3`: whitespace after special
//!   tokens other than `<unk>`, `<s>`, `<|endoftext|>` is dropped);
//! - SentencePiece (`spm.rs`): score-ordered bigram merges, `▁` for spaces, a space prefix on
//!   text that starts the input or follows a special token (`add_space_prefix`), `<0xNN>` byte
//!   fallback, `add_bos_token`;
//! - byte-level BPE (`bpe.rs`): GPT-2 byte mapping, rank-ordered merges from
//!   `tokenizer.ggml.merges`, pre-tokenizers `smollm` and `gpt-4o` ([`PreTokenizer`], `pretokenize.rs`); any other
//!   `tokenizer.ggml.pre` is [`TokenizerError::UnsupportedPreTokenizer`].
//!
//! Known limits: llama.cpp sorts special tokens of equal length in an unspecified order (here:
//! by id); code points assigned after the Unicode version of the class table may be classed
//! differently; empty token strings never match (llama.cpp renames them).

mod arena;
mod bpe;
pub mod chat;
mod decode;
mod engine;
mod error;
mod heap;
mod kind;
mod names;
mod pretokenize;
mod sink;
mod special;
mod spm;
pub mod unicode;
mod vocab;

pub use chat::{ChatFamily, ChatTemplate, Message, Role};
pub use decode::{utf8_stream_capacity, DecodeOptions, PieceBytes, StreamDecoder, Utf8Stream};
pub use engine::{max_encode_tokens, EncodeOptions, Tokenizer};
pub use error::TokenizerError;
pub use kind::{PreTokenizer, VocabKind};
