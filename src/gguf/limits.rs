//! The reader's size limits (a leaf: the metadata and tensor-info readers and `mod.rs` use
//! them).

/// Most metadata pairs a file may have (real files have fewer than 100). Bounds the
/// duplicate-key check to `MAX_KV / 32` walks of the metadata.
pub const MAX_KV: usize = 1024;
/// Most tensors a file may have (real files have hundreds; the largest known about 1,100).
/// Bounds the hostile-case duplicate-name and overlap checks to `MAX_TENSORS² / 2`
/// comparisons.
pub const MAX_TENSORS: usize = 16384;
/// Longest metadata key, in bytes (the GGUF spec allows 65535; real keys are under 64). Bounds
/// the cost of comparing keys.
pub const MAX_KEY_LEN: usize = 1024;
/// Longest tensor name, in bytes (the GGUF spec's limit; ggml's is 63).
pub const MAX_TENSOR_NAME_LEN: usize = 64;
/// Most dimensions of a tensor (ggml's `GGML_MAX_DIMS`).
pub const MAX_DIMS: usize = 4;
