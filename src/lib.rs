//! # phi3-kernels
//!
//! A `#![no_std]`, allocation-free crate that runs the Phi-3 model family from GGUF files on
//! CPUs, with hand-written SIMD kernels (AVX2 / AVX-512 on x86_64, NEON / SVE on aarch64) and a
//! scalar reference for every kernel.
//!
//! Layers, bottom up:
//! - [`quant`]: the GGUF block formats (byte for byte), scalar dequantize / quantize;
//! - [`cpu`]: [`Tier`]s and [`CpuFeatures`] (detected in [`arch`], next to the SIMD tiers);
//! - [`kernels`]: the scalar reference of every kernel and the [`kernels::Kernels`] dispatch
//!   table; [`dispatch`] chooses a tier's table once from [`cpu::CpuFeatures`];
//! - [`ops`]: the checked operations over the table (`Matrix`, `matvec`, `matmul`, causal
//!   attention, RoPE layouts);
//! - [`gguf`]: a zero-copy, validating GGUF reader over `&[u8]`;
//! - [`model`]: the graph — configuration, weight binding, arena planning, sessions;
//! - [`parallel`]: the [`Parallel`] trait (the caller's workers) that sessions hand their
//!   row ranges and attention heads to, [`Sequential`], and (with `std`) a persistent
//!   `ThreadPool`;
//! - [`tokenizer`], [`sample`] and [`generate`]: text to ids and back, choosing the next
//!   token, and the generation loop (chunked prefill, sampling, stop tokens and strings,
//!   streamed UTF-8 text) over a caller scratch buffer;
//! - [`aligned`]: [`Aligned`], [`align_arena`] and `StaticArena` for arenas and model bytes
//!   without an allocator.
//!
//! Every error type converts into [`Error`] (`From`), so `?` works across layers.
//!
//! Features: `std` (default) adds runtime CPU detection and the thread pool. Without it the
//! crate needs neither `std` nor `alloc`.
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, clippy::undocumented_unsafe_blocks)]
// No panics reachable from input: these lints are errors under `scripts/test` (clippy
// -D warnings). Modules whose indexing is bounded by construction allow `indexing_slicing`
// with the reason next to the allow; tests may use all of them.
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

#[cfg(feature = "std")]
extern crate std;

pub mod aligned;
#[path = "../arch/mod.rs"]
pub mod arch;
pub mod cpu;
pub mod dispatch;
pub mod error;
pub mod generate;
pub mod gguf;
pub mod kernels;
pub mod model;
pub mod ops;
pub mod parallel;
pub mod quant;
pub mod sample;
pub mod tokenizer;

#[cfg(target_has_atomic = "8")]
pub use aligned::StaticArena;
pub use aligned::{align_arena, Aligned};
pub use cpu::{CpuFeatures, Tier};
pub use error::{Error, ModelError, ShapeError};
pub use kernels::Kernels;
#[cfg(feature = "std")]
pub use parallel::ThreadPool;
pub use parallel::{Parallel, Sequential};

/// The README's code examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
