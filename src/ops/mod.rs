//! Operations over the dispatch table: what the graph calls, each a checked entry point that
//! validates shapes once (returning a [`crate::ShapeError`]) and then runs [`Kernels`] entries.
//!
//! - [`matvec`](mod@matvec): [`Matrix`] / [`WeightData`] (borrowed weights), [`ActivationFormat`]
//!   and [`quantize_into`] (activations in the weight's paired format), [`matvec()`] and
//!   [`matmul()`];
//! - [`attention`]: [`attention_causal_block`] (a block of queries against one KV head) and
//!   [`attention_head`] (one query);
//! - [`rope`]: [`RopeLayout`] and [`RopeLayout::apply`].
//!
//! `kernels/` holds the scalar references and the table these call through; nothing there
//! names this module.
//!
//! [`Kernels`]: crate::kernels::Kernels

pub mod attention;
pub mod matvec;
pub mod rope;

pub use attention::{attention_causal_block, attention_head};
pub use matvec::*;
pub use rope::RopeLayout;
