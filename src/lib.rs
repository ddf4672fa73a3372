//! # phi3-kernels
//!
//! A `#![no_std]`, allocation-free crate that runs the Phi-3 model family from GGUF files on
//! CPUs, with hand-written SIMD kernels (AVX2 / AVX-512 on x86_64, NEON / SVE on aarch64) and a
//! scalar reference for every kernel.
//!
//! Layers, bottom up:
//! - [`quant`]: the GGUF block formats (byte for byte), scalar dequantize / quantize;
//! - [`kernels`]: the scalar reference of every kernel and the [`kernels::Kernels`] dispatch
//!   table, whose tier is chosen once from [`cpu::CpuFeatures`];
//! - [`gguf`]: a zero-copy, validating GGUF reader over `&[u8]`.
//!
//! Features: `std` (default) adds runtime CPU detection. Without it the crate needs neither
//! `std` nor `alloc`.
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, clippy::undocumented_unsafe_blocks)]

#[cfg(feature = "std")]
extern crate std;

#[path = "../arch/mod.rs"]
pub mod arch;
pub mod cpu;
pub mod error;
pub mod gguf;
pub mod kernels;
pub mod model;
pub mod quant;
pub mod sample;
pub mod tokenizer;

pub use cpu::{CpuFeatures, Tier};
pub use error::{Error, ShapeError};
pub use kernels::Kernels;

/// The README's code examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
