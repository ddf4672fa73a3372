//! [`ArenaPlan`]: the exact bytes a [`super::Session`] needs, and where each buffer lives.
//!
//! All working memory of a session is one caller-provided byte slice (the arena), aligned to
//! [`ARENA_ALIGN`]. The plan lays the buffers out back to back, each starting at a multiple of
//! [`ARENA_ALIGN`] bytes, with `B = max_batch`, `C = max_context`, `W = workers`:
//!
//! | buffer | type | elements |
//! |---|---|---|
//! | `k_cache`, `v_cache` | [`KvType`] rows | `n_layer · n_head_kv · C` rows of [`KvType::row_bytes`] each (layer, kv head, position) |
//! | `tokens` | u32 | `C` (the sequence so far: LongRoPE recomputation replays it) |
//! | `x` (residual) | f32 | `B · n_embd` |
//! | `xn` (normed input / projection output) | f32 | `B · n_embd` |
//! | `qkv` | f32 | `B · (q_dim + 2 · kv_dim)` |
//! | `attn` (attention output) | f32 | `B · q_dim` |
//! | `gate_up` | f32 | `B · 2 · n_ff` |
//! | `ffn_act` (SwiGLU output) | f32 | `B · n_ff` |
//! | `quant` (quantized matmul input) | bytes | the largest `ActivationFormat::bytes_for(B · d)` over every format and every matmul input width `d ∈ {n_embd, q_dim, n_ff}` (f32 is the widest, so any weight type fits) |
//! | `rope` (cos then sin tables) | f32 | `B · n_rot` (`n_rot / 2` cos and `n_rot / 2` sin per position) |
//! | `scores` (attention scratch) | f32 | `W · (A · (C + head_dim) + Q)` with `A = min(ATTENTION_BLOCK, B)`: per worker, the scores rows and outputs of one causal block of `A` queries, and for a quantized cache the query's Q8_0 blocks (`Q = ⌈34 · head_dim / 32 / 4⌉`, else 0) |
//! | `logits` | f32 | `B · n_vocab` (every position of a batch can be returned; until the output head, the scratch of the prefill matmuls split by rows) |
//!
//! Batches are column-major in tokens: token `t` of a batch owns elements
//! `t · width .. (t + 1) · width` of each activation buffer.
//!
//! [`ArenaPlan::new`] is a `const fn`, so firmware that knows its model can size a static
//! buffer at compile time:
//!
//! ```
//! use phi3_kernels::model::{Arch, ArenaPlan, Config, Limits};
//! const CONFIG: Config = Config {
//!     arch: Arch::Phi3, n_embd: 256, n_layer: 2, n_ff: 512, n_head: 4, n_head_kv: 4,
//!     head_dim: 64, n_rot: 64, n_vocab: 1024, rope_freq_base: 10000.0, rms_eps: 1e-5,
//!     context_length: 256, original_context_length: 256, rope_attn_factor: 1.0,
//!     rope_layout: phi3_kernels::ops::RopeLayout::Neox,
//! };
//! const LIMITS: Limits = Limits::new(256, 8, 1);
//! const BYTES: usize = match ArenaPlan::new(&CONFIG, &LIMITS) {
//!     Ok(plan) => plan.bytes_needed(),
//!     Err(_) => panic!("bad config"),
//! };
//! #[repr(align(64))]
//! struct Arena([u8; BYTES]);
//! assert!(BYTES > 2 * 2 * 256 * 256 * 2); // at least the KV cache
//! ```
// `const fn`s cannot use iterators: the indexed loops below run over the arrays' own lengths.
#![allow(clippy::indexing_slicing)]

use super::config::Config;
use super::kv::KvType;
use super::kv::{head_dim_error, query_scratch_f32};
use crate::error::ModelError;
use crate::ops::ActivationFormat;

/// Alignment of the arena and of every buffer in it, in bytes (a cache line; enough for every
/// block type and SIMD load).
pub const ARENA_ALIGN: usize = 64;

/// Queries of one attention head that a batched forward attends together (consecutive tokens
/// of the batch: [`crate::kernels::attention::CausalBlock`]), so that each cached key and
/// value row is converted once for all of them.
pub const ATTENTION_BLOCK: usize = 4;

/// The sizes a session is planned for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Most positions the sequence may hold (KV cache length).
    pub max_context: usize,
    /// Most tokens one `forward` call may append.
    pub max_batch: usize,
    /// Worker count the scratch buffers are sized for (1 = single-threaded).
    pub workers: usize,
    /// Opt-in to a `max_context` above the model's trained context
    /// ([`Config::max_trained_context`]). Positions past it were never seen in training (and
    /// without LongRoPE factors RoPE is extrapolated): the model runs, but its output is
    /// typically degraded. `false` makes [`ArenaPlan::new`] (and so
    /// [`super::Session::new`]) answer [`ModelError::ContextBeyondTraining`] instead.
    pub allow_beyond_trained_context: bool,
    /// Element type of the KV cache ([`KvType::F16`] unless set): per 32 cached values, f16
    /// stores 64 bytes, Q8_0 34 and Q4_0 18 (`head_dim` must then be a multiple of 32; see
    /// [`KvType`] for how attention reads them).
    pub kv: KvType,
}

impl Limits {
    /// Limits of `max_context` positions, batches of `max_batch` tokens and `workers`
    /// workers, within the model's trained context (`allow_beyond_trained_context` off), with
    /// an f16 KV cache.
    pub const fn new(max_context: usize, max_batch: usize, workers: usize) -> Self {
        Limits {
            max_context,
            max_batch,
            workers,
            allow_beyond_trained_context: false,
            kv: KvType::F16,
        }
    }

    /// The same limits with a KV cache of element type `kv`.
    pub const fn with_kv(self, kv: KvType) -> Self {
        Limits { kv, ..self }
    }

    /// The same limits with `max_context` allowed past the model's trained context (see
    /// [`Limits::allow_beyond_trained_context`]).
    pub const fn beyond_trained_context(self) -> Self {
        Limits {
            allow_beyond_trained_context: true,
            ..self
        }
    }
}

/// One buffer of the arena: `len` bytes at byte `offset` (a multiple of [`ARENA_ALIGN`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Region {
    /// Byte offset from the start of the arena.
    pub offset: usize,
    /// Length in bytes.
    pub len: usize,
}

impl Region {
    /// One past the last byte.
    pub const fn end(&self) -> usize {
        self.offset.saturating_add(self.len)
    }
}

/// Where every buffer of a session lives in its arena (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ArenaPlan {
    /// The limits planned for.
    pub limits: Limits,
    /// Key cache ([`Limits::kv`] rows).
    pub k_cache: Region,
    /// Value cache ([`Limits::kv`] rows).
    pub v_cache: Region,
    /// u32 token history.
    pub tokens: Region,
    /// f32 residual stream of a batch.
    pub x: Region,
    /// f32 normed residual / projection output of a batch.
    pub xn: Region,
    /// f32 q, k, v of a batch.
    pub qkv: Region,
    /// f32 attention output of a batch.
    pub attn: Region,
    /// f32 gate and up of a batch.
    pub gate_up: Region,
    /// f32 SwiGLU output of a batch.
    pub ffn_act: Region,
    /// Quantized matmul input of a batch.
    pub quant: Region,
    /// f32 RoPE cos / sin tables of a batch.
    pub rope: Region,
    /// f32 attention scratch: per worker, [`ATTENTION_BLOCK`] (at most `max_batch`) rows of
    /// `max_context` scores and as many outputs of `head_dim`, then (quantized KV) the
    /// query's Q8_0 blocks.
    pub scores: Region,
    /// f32 logits of a batch.
    pub logits: Region,
    total: usize,
}

/// `?` for `Option` in a `const fn`.
macro_rules! tri {
    ($e:expr, $what:expr) => {
        match $e {
            Some(v) => v,
            None => return Err(ModelError::BadLimits { what: $what }),
        }
    };
}

/// Product of three sizes times an element size, or `None` on overflow.
const fn bytes3(a: usize, b: usize, c: usize, elem: usize) -> Option<usize> {
    match a.checked_mul(b) {
        Some(ab) => match ab.checked_mul(c) {
            Some(abc) => abc.checked_mul(elem),
            None => None,
        },
        None => None,
    }
}

/// Largest `bytes_for(batch · d)` over every activation format and `d` in `dims`.
const fn quant_bytes(batch: usize, dims: [usize; 3]) -> Option<usize> {
    let formats = [
        ActivationFormat::F32,
        ActivationFormat::Q8_0,
        ActivationFormat::Q8_1,
        ActivationFormat::Q8K,
    ];
    let mut best = 0;
    let mut i = 0;
    while i < dims.len() {
        let n = match batch.checked_mul(dims[i]) {
            Some(n) => n,
            None => return None,
        };
        let mut f = 0;
        while f < formats.len() {
            if let Ok(b) = formats[f].bytes_for(n) {
                if b > best {
                    best = b;
                }
            }
            f += 1;
        }
        i += 1;
    }
    Some(best)
}

/// Bump allocator over offsets.
struct Cursor {
    at: usize,
}

impl Cursor {
    const fn take(&mut self, len: usize) -> Option<Region> {
        let offset = self.at;
        let end = match offset.checked_add(len) {
            Some(e) => e,
            None => return None,
        };
        self.at = match end.checked_next_multiple_of(ARENA_ALIGN) {
            Some(e) => e,
            None => return None,
        };
        Some(Region { offset, len })
    }
}

impl ArenaPlan {
    /// Plans the arena of a session of `config` under `limits`.
    ///
    /// Errors: [`ModelError::BadLimits`] when a limit is zero (`what` names it) or a size
    /// overflows `usize` (`what` names the buffer); [`ModelError::ContextBeyondTraining`]
    /// when `max_context` exceeds [`Config::max_trained_context`] and
    /// [`Limits::allow_beyond_trained_context`] is not set; [`ModelError::KvHeadDim`] when
    /// [`Limits::kv`] is quantized and `head_dim` is not a multiple of 32.
    pub const fn new(config: &Config, limits: &Limits) -> Result<Self, ModelError> {
        if limits.max_context == 0 {
            return Err(ModelError::BadLimits {
                what: "max_context",
            });
        }
        let trained = config.max_trained_context();
        if limits.max_context > trained && !limits.allow_beyond_trained_context {
            return Err(ModelError::ContextBeyondTraining {
                max_context: limits.max_context,
                trained,
            });
        }
        if limits.max_batch == 0 {
            return Err(ModelError::BadLimits { what: "max_batch" });
        }
        if limits.workers == 0 {
            return Err(ModelError::BadLimits { what: "workers" });
        }
        let (b, c) = (limits.max_batch, limits.max_context);
        let f32b = core::mem::size_of::<f32>();
        let ff2 = tri!(config.n_ff.checked_mul(2), "gate_up");
        let mut cur = Cursor { at: 0 };
        let row = match limits.kv.row_bytes(config.head_dim) {
            Some(r) => r,
            None if limits.kv.is_quantized() && !config.head_dim.is_multiple_of(32) => {
                return Err(head_dim_error(config.head_dim))
            }
            None => return Err(ModelError::BadLimits { what: "k_cache" }),
        };
        let heads = tri!(config.n_layer.checked_mul(config.n_head_kv), "k_cache");
        let kv_len = tri!(bytes3(heads, c, row, 1), "k_cache");
        let k_cache = tri!(cur.take(kv_len), "k_cache");
        let v_cache = tri!(cur.take(kv_len), "v_cache");
        let tokens = tri!(cur.take(tri!(c.checked_mul(4), "tokens")), "tokens");
        let x = tri!(cur.take(tri!(bytes3(b, config.n_embd, 1, f32b), "x")), "x");
        let xn = tri!(cur.take(x.len), "xn");
        let qkv_len = tri!(bytes3(b, config.qkv_dim(), 1, f32b), "qkv");
        let qkv = tri!(cur.take(qkv_len), "qkv");
        let attn = tri!(
            cur.take(tri!(bytes3(b, config.q_dim(), 1, f32b), "attn")),
            "attn"
        );
        let gate_up = tri!(
            cur.take(tri!(bytes3(b, ff2, 1, f32b), "gate_up")),
            "gate_up"
        );
        let ffn_act = tri!(
            cur.take(tri!(bytes3(b, config.n_ff, 1, f32b), "ffn_act")),
            "ffn_act"
        );
        let q_len = tri!(
            quant_bytes(b, [config.n_embd, config.q_dim(), config.n_ff]),
            "quant"
        );
        let quant = tri!(cur.take(q_len), "quant");
        let rope = tri!(
            cur.take(tri!(bytes3(b, config.n_rot, 1, f32b), "rope")),
            "rope"
        );
        let block = if b < ATTENTION_BLOCK {
            b
        } else {
            ATTENTION_BLOCK
        };
        let scores_row = tri!(c.checked_add(config.head_dim), "scores");
        let slot = tri!(
            tri!(block.checked_mul(scores_row), "scores")
                .checked_add(query_scratch_f32(limits.kv, config.head_dim)),
            "scores"
        );
        let scores = tri!(
            cur.take(tri!(bytes3(limits.workers, slot, 1, f32b), "scores")),
            "scores"
        );
        let logits = tri!(
            cur.take(tri!(bytes3(b, config.n_vocab, 1, f32b), "logits")),
            "logits"
        );
        Ok(ArenaPlan {
            limits: *limits,
            k_cache,
            v_cache,
            tokens,
            x,
            xn,
            qkv,
            attn,
            gate_up,
            ffn_act,
            quant,
            rope,
            scores,
            logits,
            total: cur.at,
        })
    }

    /// Total bytes the arena must have (a multiple of [`ARENA_ALIGN`]).
    pub const fn bytes_needed(&self) -> usize {
        self.total
    }

    /// The regions in arena order, with their names (for diagnostics and tests).
    pub const fn regions(&self) -> [(&'static str, Region); 13] {
        [
            ("k_cache", self.k_cache),
            ("v_cache", self.v_cache),
            ("tokens", self.tokens),
            ("x", self.x),
            ("xn", self.xn),
            ("qkv", self.qkv),
            ("attn", self.attn),
            ("gate_up", self.gate_up),
            ("ffn_act", self.ffn_act),
            ("quant", self.quant),
            ("rope", self.rope),
            ("scores", self.scores),
            ("logits", self.logits),
        ]
    }
}
