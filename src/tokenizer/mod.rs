//! Tokenizers read from GGUF (in progress).
