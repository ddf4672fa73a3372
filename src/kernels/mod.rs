//! Kernels: the scalar reference of every operation, and the [`Kernels`] dispatch table.
//!
//! The scalar functions here are the ground truth: every SIMD tier in `arch/` has the same
//! signature and is property-tested against them. Each function's doc states its formula and
//! its length contract. Row-level kernels (the [`Kernels`] table entries) never panic on any
//! arguments, in release or debug builds: they validate first, in O(1) or O(length of the
//! real slices), and then do the clamped work their contract describes (the common prefix, the
//! rows / columns / queries that fit). The checked operations that call through the table
//! (`matvec`, `matmul`, attention, RoPE layouts) are in [`crate::ops`]; which tier's table
//! runs is chosen in [`crate::dispatch`]. Nothing here names either.

pub mod activation;
pub mod attention;
pub mod dot;
pub mod float;
pub mod gemm;
pub mod norm;
pub mod rope;
pub mod table;

pub use table::Kernels;
