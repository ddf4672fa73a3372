//! [`Config`]: the hyper-parameters of a model, read from GGUF metadata.
//!
//! Every value comes from the file (`{arch}.*` keys, with `arch = general.architecture`);
//! nothing is hard-coded for a particular model size:
//!
//! | field | key | default |
//! |---|---|---|
//! | `n_embd` | `{arch}.embedding_length` | required |
//! | `n_layer` | `{arch}.block_count` | required |
//! | `n_ff` | `{arch}.feed_forward_length` | required |
//! | `n_head` | `{arch}.attention.head_count` | required |
//! | `n_head_kv` | `{arch}.attention.head_count_kv` | `n_head` |
//! | `head_dim` | `{arch}.attention.key_length` | `n_embd / n_head` |
//! | `n_rot` | `{arch}.rope.dimension_count` | `head_dim` |
//! | `rope_freq_base` | `{arch}.rope.freq_base` | 10000 |
//! | `rms_eps` | `{arch}.attention.layer_norm_rms_epsilon` | required |
//! | `context_length` | `{arch}.context_length` | required |
//! | `original_context_length` | `{arch}.rope.scaling.original_context_length` | `context_length` |
//! | `rope_attn_factor` | `{arch}.rope.scaling.attn_factor` | 1 |
//! | `n_vocab` | length of `tokenizer.ggml.tokens` | rows of `token_embd.weight` |
//!
//! The RoPE pairing follows the architecture: NEOX for `phi3`, NORM (interleaved) for `llama`.

use crate::error::{Error, ModelError};
use crate::gguf::Gguf;
use crate::ops::RopeLayout;

/// The model architectures this crate runs (`general.architecture`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arch {
    /// llama.cpp `phi3`: fused `attn_qkv`, fused `ffn_up` = [gate; up], NEOX RoPE, optional
    /// LongRoPE factors. Phi-3, Phi-3.5 and Phi-4-mini files use it.
    Phi3,
    /// llama.cpp `llama`: separate `attn_q/k/v` and `ffn_gate` / `ffn_up`, NORM RoPE.
    Llama,
}

impl Arch {
    /// The architecture named `name`, or `None`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "phi3" => Some(Arch::Phi3),
            "llama" => Some(Arch::Llama),
            _ => None,
        }
    }

    /// The metadata key prefix (`"phi3"`, `"llama"`).
    pub const fn name(self) -> &'static str {
        match self {
            Arch::Phi3 => "phi3",
            Arch::Llama => "llama",
        }
    }

    /// How RoPE pairs the rotated dimensions of a head.
    pub const fn rope_layout(self) -> RopeLayout {
        match self {
            Arch::Phi3 => RopeLayout::Neox,
            Arch::Llama => RopeLayout::Norm,
        }
    }
}

/// Hyper-parameters of a model (see the module docs for the metadata keys).
///
/// The fields are public so that firmware can write a `const` configuration and size a static
/// arena with [`super::ArenaPlan::new`] at compile time; [`Config::from_gguf`] checks the
/// invariants listed on each field, and code that builds a `Config` by hand should keep them
/// (the arena plan and the model binding re-check what they rely on).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Config {
    /// The architecture.
    pub arch: Arch,
    /// Width of the residual stream.
    pub n_embd: usize,
    /// Number of transformer blocks.
    pub n_layer: usize,
    /// Width of the feed-forward hidden layer (gate and up each have `n_ff` rows).
    pub n_ff: usize,
    /// Query heads (`> 0`).
    pub n_head: usize,
    /// Key / value heads (`> 0`, divides `n_head`).
    pub n_head_kv: usize,
    /// Values per head (even).
    pub head_dim: usize,
    /// Rotated dimensions per head (even, `≤ head_dim`).
    pub n_rot: usize,
    /// Vocabulary size (rows of the embedding and output matrices).
    pub n_vocab: usize,
    /// RoPE frequency base.
    pub rope_freq_base: f32,
    /// RMSNorm epsilon.
    pub rms_eps: f32,
    /// Context length the model was trained for.
    pub context_length: usize,
    /// LongRoPE: sequences up to this length use the short factors, longer ones the long
    /// factors.
    pub original_context_length: usize,
    /// LongRoPE attention factor: multiplies RoPE's cos and sin (with either factor set).
    pub rope_attn_factor: f32,
    /// How RoPE pairs dimensions.
    pub rope_layout: RopeLayout,
}

/// Reads a required (`Some` default → optional) integer hyper-parameter `{arch}.{key}`.
fn read_usize(
    gguf: &Gguf,
    arch: Arch,
    key: &'static str,
    default: Option<usize>,
) -> Result<usize, Error> {
    let mut full = KeyBuf::new();
    let name = full.join(arch.name(), key);
    match gguf.get_usize(name)? {
        Some(v) => Ok(v),
        None => default.ok_or(Error::Model(ModelError::MissingKey { key })),
    }
}

fn read_f32(
    gguf: &Gguf,
    arch: Arch,
    key: &'static str,
    default: Option<f32>,
) -> Result<f32, Error> {
    let mut full = KeyBuf::new();
    let name = full.join(arch.name(), key);
    match gguf.get_f32(name)? {
        Some(v) => Ok(v),
        None => default.ok_or(Error::Model(ModelError::MissingKey { key })),
    }
}

fn bad(key: &'static str, value: usize) -> Error {
    Error::Model(ModelError::BadHyperParameter {
        key,
        value: value as u64,
    })
}

fn bad_f32(key: &'static str, value: f32) -> Error {
    Error::Model(ModelError::BadFloatHyperParameter {
        key,
        bits: value.to_bits(),
    })
}

impl Config {
    /// Reads the configuration of a `phi3` or `llama` model from its metadata (see the module
    /// docs for the keys) and checks it: every size non-zero, `n_head_kv` divides `n_head`,
    /// `head_dim` and `n_rot` even with `n_rot ≤ head_dim`, `rope.freq_base` and the epsilon
    /// finite and positive.
    ///
    /// Errors: [`ModelError::MissingArchitecture`], [`ModelError::UnsupportedArchitecture`],
    /// [`ModelError::MissingKey`], [`ModelError::BadHyperParameter`],
    /// [`ModelError::BadFloatHyperParameter`], or a GGUF type error
    /// when a key has the wrong type.
    pub fn from_gguf(gguf: &Gguf) -> Result<Self, Error> {
        let arch_name = gguf
            .get_str("general.architecture")?
            .ok_or(ModelError::MissingArchitecture)?;
        let arch = Arch::from_name(arch_name).ok_or(ModelError::UnsupportedArchitecture)?;
        let n_embd = read_usize(gguf, arch, "embedding_length", None)?;
        let n_layer = read_usize(gguf, arch, "block_count", None)?;
        let n_ff = read_usize(gguf, arch, "feed_forward_length", None)?;
        let n_head = read_usize(gguf, arch, "attention.head_count", None)?;
        let n_head_kv = read_usize(gguf, arch, "attention.head_count_kv", Some(n_head))?;
        if n_head == 0 {
            return Err(bad("attention.head_count", n_head));
        }
        let head_dim = read_usize(gguf, arch, "attention.key_length", Some(n_embd / n_head))?;
        let n_rot = read_usize(gguf, arch, "rope.dimension_count", Some(head_dim))?;
        let rope_freq_base = read_f32(gguf, arch, "rope.freq_base", Some(10000.0))?;
        let rms_eps = read_f32(gguf, arch, "attention.layer_norm_rms_epsilon", None)?;
        let context_length = read_usize(gguf, arch, "context_length", None)?;
        let original_context_length = read_usize(
            gguf,
            arch,
            "rope.scaling.original_context_length",
            Some(context_length),
        )?;
        let rope_attn_factor = read_f32(gguf, arch, "rope.scaling.attn_factor", Some(1.0))?;
        let n_vocab = match gguf.get_array("tokenizer.ggml.tokens")? {
            Some(tokens) => tokens.len(),
            None => gguf.tensor("token_embd.weight")?.rows(),
        };

        for (key, value) in [
            ("embedding_length", n_embd),
            ("block_count", n_layer),
            ("feed_forward_length", n_ff),
            ("attention.head_count_kv", n_head_kv),
            ("context_length", context_length),
            (
                "rope.scaling.original_context_length",
                original_context_length,
            ),
        ] {
            if value == 0 {
                return Err(bad(key, value));
            }
        }
        if n_vocab == 0 {
            return Err(bad("vocab_size", n_vocab));
        }
        if !n_head.is_multiple_of(n_head_kv) {
            return Err(bad("attention.head_count_kv", n_head_kv));
        }
        if head_dim == 0 || !head_dim.is_multiple_of(2) {
            return Err(bad("attention.key_length", head_dim));
        }
        if n_rot > head_dim || !n_rot.is_multiple_of(2) {
            return Err(bad("rope.dimension_count", n_rot));
        }
        let positive = |v: f32| v.is_finite() && v > 0.0;
        if !positive(rope_freq_base) {
            return Err(bad_f32("rope.freq_base", rope_freq_base));
        }
        if !positive(rms_eps) {
            return Err(bad_f32("attention.layer_norm_rms_epsilon", rms_eps));
        }
        if !rope_attn_factor.is_finite() {
            return Err(bad_f32("rope.scaling.attn_factor", rope_attn_factor));
        }
        Ok(Config {
            arch,
            n_embd,
            n_layer,
            n_ff,
            n_head,
            n_head_kv,
            head_dim,
            n_rot,
            n_vocab,
            rope_freq_base,
            rms_eps,
            context_length,
            original_context_length,
            rope_attn_factor,
            rope_layout: arch.rope_layout(),
        })
    }

    /// The longest context the model was trained for: the larger of `context_length` and
    /// `original_context_length` (a LongRoPE model's long context; for other models the
    /// two are equal). [`super::ArenaPlan::new`] refuses a `max_context` above it unless
    /// [`super::Limits::allow_beyond_trained_context`] is set.
    pub const fn max_trained_context(&self) -> usize {
        if self.context_length > self.original_context_length {
            self.context_length
        } else {
            self.original_context_length
        }
    }

    /// Query values per token: `n_head · head_dim`.
    pub const fn q_dim(&self) -> usize {
        self.n_head.saturating_mul(self.head_dim)
    }

    /// Key (and value) values per token: `n_head_kv · head_dim`.
    pub const fn kv_dim(&self) -> usize {
        self.n_head_kv.saturating_mul(self.head_dim)
    }

    /// Rows of the fused q/k/v projection: `q_dim + 2 · kv_dim`.
    pub const fn qkv_dim(&self) -> usize {
        self.q_dim()
            .saturating_add(self.kv_dim())
            .saturating_add(self.kv_dim())
    }

    /// Query heads that share one key / value head (`n_head / n_head_kv`, GQA).
    pub const fn gqa_group(&self) -> usize {
        match self.n_head.checked_div(self.n_head_kv) {
            Some(g) => g,
            None => 0,
        }
    }
}

/// A metadata key `{arch}.{suffix}` assembled on the stack (keys are short).
pub(crate) struct KeyBuf {
    buf: [u8; 96],
}

impl KeyBuf {
    pub(crate) const fn new() -> Self {
        KeyBuf { buf: [0; 96] }
    }

    /// `a` + `.` + `b`, truncated to the buffer (a truncated key simply is not found).
    pub(crate) fn join(&mut self, a: &str, b: &str) -> &str {
        let mut n = 0;
        for part in [a.as_bytes(), b".", b.as_bytes()] {
            for &byte in part {
                if let Some(slot) = self.buf.get_mut(n) {
                    *slot = byte;
                    n += 1;
                }
            }
        }
        let bytes = self.buf.get(..n).unwrap_or(&[]);
        // All parts are UTF-8 and the cut can only split the last part's multi-byte char,
        // which `from_utf8` would reject: fall back to the empty key (never found).
        core::str::from_utf8(bytes).unwrap_or("")
    }
}
