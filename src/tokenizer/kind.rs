//! What kind of vocabulary a tokenizer has: [`VocabKind`] and the BPE [`PreTokenizer`]s (a
//! leaf; `PreTokenizer::for_each_word` is implemented in `pretokenize.rs`, next to the
//! splitting it runs).

/// Which algorithm the vocabulary uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VocabKind {
    /// `tokenizer.ggml.model = llama`.
    SentencePiece,
    /// `tokenizer.ggml.model = gpt2`, with its pre-tokenizer.
    Bpe(PreTokenizer),
}

/// The BPE pre-tokenizers implemented (`tokenizer.ggml.pre`), hand-written to split exactly
/// as llama.cpp does.
///
/// `smollm` splits off every number character, then applies GPT-2's rule through llama.cpp's
/// hand-written matcher. `gpt-4o` follows llama.cpp's rewrite of the GPT-4o regex run over its
/// "collapsed" text, quirks included: a non-ASCII letter counts as both upper- and lower-case
/// (`ÉcoleÉcole` is one word), combining marks are not letters, non-ASCII whitespace acts like
/// `\v`. Letters / numbers / whitespace come from a complete Unicode class table
/// ([`crate::tokenizer::unicode::class`]). Verification: `smollm` by SmolLM2 ids from llama.cpp; `gpt-4o` word by
/// word against a regex engine running llama.cpp's regex (459 texts) — not against a
/// Phi-4-mini vocabulary, none being available here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PreTokenizer {
    /// `smollm`: single digits, then GPT-2's rule.
    SmolLm,
    /// `gpt-4o` (also `llama4`): Phi-4-mini's rule.
    Gpt4o,
}
