//! The Phi-3 graph over caller-provided arenas.
//!
//! - [`Config`] reads the hyper-parameters of a `phi3` or `llama` GGUF ([`config`]);
//! - [`Weights`] binds every tensor by name to a typed, borrowed view ([`weights`]);
//! - [`Model`] is the two together (defined in [`weights`]);
//! - [`ArenaPlan`] says how many bytes a session needs and where each buffer lives
//!   ([`arena`]);
//! - [`Session`] runs decode and batched prefill over that arena, with an f16, Q8_0 or Q4_0 KV cache ([`KvType`]), GQA,
//!   partial rotary, tied embeddings and the LongRoPE rule ([`session`]).
//!
//! Nothing here allocates; the only memory besides the GGUF bytes is the arena.
//!
//! ```no_run
//! use phi3_kernels::gguf::Gguf;
//! use phi3_kernels::kernels::Kernels;
//! use phi3_kernels::model::{ArenaPlan, Limits, Model, Session};
//!
//! fn run(file: &[u8], arena: &mut [u8]) -> Result<u32, phi3_kernels::Error> {
//!     let gguf = Gguf::parse(file)?;
//!     let model = Model::from_gguf(&gguf)?;
//!     let limits = Limits::new(512, 32, 1); // max_context, max_batch, workers
//!     let needed = ArenaPlan::new(model.config(), &limits)?.bytes_needed();
//!     assert!(arena.len() >= needed); // and 64-byte aligned
//!     let mut session = Session::new(&model, arena, limits, Kernels::detect())?;
//!     let logits = session.forward(&[1, 15043, 3186], false)?; // prefill
//!     let mut next = 0;
//!     for (i, &v) in logits.iter().enumerate() {
//!         if v > logits[next as usize] { next = i as u32; }
//!     }
//!     session.forward(&[next], false)?; // decode
//!     Ok(next)
//! }
//! ```

pub mod arena;
mod buffers;
pub mod config;
pub mod kv;
mod layer;
pub mod longrope;
pub mod session;
pub mod snapshot;
mod split;
pub mod weights;

pub use arena::{ArenaPlan, Limits, Region, ARENA_ALIGN, ATTENTION_BLOCK};
pub use config::{Arch, Config};
pub use kv::KvType;
pub use longrope::LongRopeCrossing;
pub use session::Session;
pub use snapshot::SnapshotError;
pub use weights::{LayerWeights, Model, Projection, Weights, MAX_LAYERS};
