//! The x86 frame: the code every x86 SIMD tier shares, generic over what differs between them.
//!
//! The tiers (`avx2`, `avx512`, `avxvnni`) import from here and never from each other. Nothing
//! here has `#[target_feature]`: every function is an `#[inline(always)] unsafe fn`, generic
//! where a tier plugs in its own instructions, so it is compiled inside each tier's
//! `#[target_feature]` entry point with that tier's features (memchr's pattern); its safety
//! requirement is that the CPU has the features of the tier that instantiates it (at least
//! AVX2 + FMA + F16C).
//!
//! - [`driver`]: the gemm driver (shape checks, decode row streams, row panels, column tiles)
//!   over a tier's [`driver::Tile`] and [`driver::Stages`], run along the
//!   [`driver::GemmPath`] that the tier's `gemm_path` picks.
//! - [`stages`]: the frame's tiles and stage kernels as [`driver::Tile`] /
//!   [`driver::Stages`] types.
//! - [`common`]: block-sum transpositions, the 8-lane float reduction of the dot contract,
//!   prefetch, [`common::StreamRows`], the [`common::ByteDot`] byte-product abstraction.
//! - [`q32`]: the 32-element formats (Q4_0, Q4_1, Q5_0, Q8_0) as 256-bit `R × C` tiles
//!   ([`q32::Q32Pair`]).
//! - [`q32_table`]: Q4_0 / Q4_1 / Q5_0 against per-column tables (one column; 32-row panels).
//! - [`q32_octets`]: Q4_0 / Q4_1 in row octets (eight rows per byte-dot instruction) and the
//!   per-column block table the AVX-512 sixteens share.
//! - [`kformat`]: the K formats (Q4_K, Q5_K, Q6_K): the [`kformat::KFormat`] trait, the K
//!   unpack helpers, the 256-bit formats and the `R × C` tile.
//! - [`k_pairs`]: the one-column K tile taking super-blocks in pairs.
//! - [`k4_table`]: Q4_K against a per-column table (one column).
//! - [`k_quads`], [`q6k_quads`]: the K formats in row quads (four rows per `maddubs`).
//! - [`q8k`]: the Q8_K activation quantizer's per-super-block logic over a tier's vectors.
// Kernel bodies index register-tile arrays with loop counters bounded by their const sizes, and
// slices whose lengths the safe wrappers checked once at the boundary.
#![allow(clippy::indexing_slicing)]

pub(in crate::arch::x86_64) mod common;
pub(in crate::arch::x86_64) mod driver;
pub(in crate::arch::x86_64) mod k4_table;
pub(in crate::arch::x86_64) mod k_pairs;
pub(in crate::arch::x86_64) mod k_quads;
pub(in crate::arch::x86_64) mod kformat;
pub(in crate::arch::x86_64) mod q32;
pub(in crate::arch::x86_64) mod q32_octets;
pub(in crate::arch::x86_64) mod q32_table;
pub(in crate::arch::x86_64) mod q6k_quads;
pub(in crate::arch::x86_64) mod q8k;
pub(in crate::arch::x86_64) mod stages;
