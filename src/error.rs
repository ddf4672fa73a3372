//! Error types. Small, `Copy`, `#[non_exhaustive]`, implementing `core::error::Error`.
//!
//! Each layer has its own enum ([`crate::gguf::GgufError`] for the file reader, [`ShapeError`]
//! for kernel entry points, [`ModelError`] for model binding and sessions,
//! [`crate::tokenizer::TokenizerError`], [`crate::sample::SampleError`] and [`GenerateError`]);
//! [`Error`] wraps them all, and each converts into it with `From`, so `?` works on any of them
//! in a function returning `Result<_, Error>`. `GenerateError` is defined here (and re-exported
//! as `generate::GenerateError`) so that this file names only the layers below `generate`.

use core::fmt;

/// A kernel entry point was given buffers whose sizes do not fit together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShapeError {
    /// A buffer's length is not what the operation needs.
    Length {
        /// Which argument (e.g. `"out"`, `"activations"`).
        what: &'static str,
        /// Elements (or blocks) the operation needs.
        expected: usize,
        /// Elements (or blocks) it got.
        actual: usize,
    },
    /// A dimension is not a multiple of the block size of its format.
    NotBlockMultiple {
        /// Which dimension.
        what: &'static str,
        /// Its value.
        value: usize,
        /// The block size it must be a multiple of.
        block: usize,
    },
    /// A row range reaches past the matrix.
    RowRange {
        /// End of the requested range.
        end: usize,
        /// Rows in the matrix.
        rows: usize,
    },
    /// The activation format does not pair with the weight format (e.g. Q8_0 activations
    /// for Q4_K weights, which need Q8_K).
    FormatMismatch {
        /// The weight type.
        weights: crate::quant::GgmlType,
    },
    /// A size computation overflowed `usize`.
    Overflow,
}

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ShapeError::Length {
                what,
                expected,
                actual,
            } => {
                write!(f, "`{what}` has length {actual}, expected {expected}")
            }
            ShapeError::NotBlockMultiple { what, value, block } => {
                write!(
                    f,
                    "`{what}` = {value} is not a multiple of the block size {block}"
                )
            }
            ShapeError::RowRange { end, rows } => {
                write!(f, "row range ends at {end} but the matrix has {rows} rows")
            }
            ShapeError::FormatMismatch { weights } => {
                write!(f, "activation format does not pair with {weights} weights")
            }
            ShapeError::Overflow => f.write_str("size computation overflows usize"),
        }
    }
}

impl core::error::Error for ShapeError {}

/// Any error of this crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Malformed or unsupported GGUF input.
    Gguf(crate::gguf::GgufError),
    /// Buffers of the wrong size given to a kernel entry point.
    Shape(ShapeError),
    /// A model that cannot be bound, an arena that does not fit, or an input the session
    /// rejects.
    Model(ModelError),
    /// A tokenizer that cannot be built, or an encode / decode / render call that failed.
    Tokenizer(crate::tokenizer::TokenizerError),
    /// Sampler settings out of range, or logits it cannot choose from.
    Sample(crate::sample::SampleError),
    /// The generation loop's own checks (empty prompt, scratch too small, empty stop string).
    Generate(GenerateError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Gguf(e) => write!(f, "GGUF: {e}"),
            Error::Shape(e) => write!(f, "shape: {e}"),
            Error::Model(e) => write!(f, "model: {e}"),
            Error::Tokenizer(e) => write!(f, "tokenizer: {e}"),
            Error::Sample(e) => write!(f, "sampling: {e}"),
            Error::Generate(e) => write!(f, "generation: {e}"),
        }
    }
}

impl core::error::Error for Error {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Error::Gguf(e) => Some(e),
            Error::Shape(e) => Some(e),
            Error::Model(e) => Some(e),
            Error::Tokenizer(e) => Some(e),
            Error::Sample(e) => Some(e),
            Error::Generate(e) => Some(e),
        }
    }
}

impl From<crate::gguf::GgufError> for Error {
    fn from(e: crate::gguf::GgufError) -> Self {
        Error::Gguf(e)
    }
}

impl From<ShapeError> for Error {
    fn from(e: ShapeError) -> Self {
        Error::Shape(e)
    }
}

impl From<ModelError> for Error {
    fn from(e: ModelError) -> Self {
        Error::Model(e)
    }
}

impl From<crate::tokenizer::TokenizerError> for Error {
    fn from(e: crate::tokenizer::TokenizerError) -> Self {
        Error::Tokenizer(e)
    }
}

impl From<crate::sample::SampleError> for Error {
    fn from(e: crate::sample::SampleError) -> Self {
        Error::Sample(e)
    }
}

impl From<GenerateError> for Error {
    fn from(e: GenerateError) -> Self {
        Error::Generate(e)
    }
}

/// A tensor of the model graph, named without borrowing the file: a role (the tensor name
/// without the `blk.N.` prefix, e.g. `"attn_qkv.weight"`) and, for per-layer tensors, the
/// layer. Displays as the GGUF name (`blk.3.attn_qkv.weight`, `output.weight`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TensorName {
    /// The name without the layer prefix.
    pub role: &'static str,
    /// The layer, for `blk.N.*` tensors.
    pub layer: Option<u32>,
}

impl fmt::Display for TensorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.layer {
            Some(layer) => write!(f, "blk.{layer}.{}", self.role),
            None => f.write_str(self.role),
        }
    }
}

/// Where in the forward pass [`ModelError::NonFinite`] found a NaN or ±∞, in graph order.
/// Each weight tensor's corrupt values first show at one stage: `token_embd` at
/// [`ForwardStage::Embeddings`], `attn_norm` at [`ForwardStage::AttentionNorm`], `attn_qkv`
/// (or `attn_q/k/v`) and the RoPE factors at [`ForwardStage::Qkv`], `attn_output` at
/// [`ForwardStage::AfterAttention`], `ffn_norm` at [`ForwardStage::FfnNorm`], `ffn_up` /
/// `ffn_gate` at [`ForwardStage::FfnActivation`], `ffn_down` at [`ForwardStage::AfterLayer`],
/// `output_norm` at [`ForwardStage::FinalNorm`], `output` at [`ForwardStage::Logits`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ForwardStage {
    /// The token embeddings (rows of `token_embd.weight`).
    Embeddings,
    /// `rms_norm(x) · attn_norm` of a layer (the qkv projection's input).
    AttentionNorm {
        /// The layer.
        layer: u32,
    },
    /// q, k and v of a layer after RoPE (the qkv projection's output).
    Qkv {
        /// The layer.
        layer: u32,
    },
    /// The attention heads' output of a layer (the `attn_output` projection's input).
    Attention {
        /// The layer.
        layer: u32,
    },
    /// The hidden state after a layer's attention block (`x + W_o · attn`).
    AfterAttention {
        /// The layer.
        layer: u32,
    },
    /// `rms_norm(x) · ffn_norm` of a layer (the gate / up projection's input).
    FfnNorm {
        /// The layer.
        layer: u32,
    },
    /// `silu(gate) ⊙ up` of a layer (the `ffn_down` projection's input).
    FfnActivation {
        /// The layer.
        layer: u32,
    },
    /// The hidden state after a layer (`x + W_down · act`).
    AfterLayer {
        /// The layer.
        layer: u32,
    },
    /// `rms_norm(x) · output_norm` (the output head's input).
    FinalNorm,
    /// The logits.
    Logits,
}

impl fmt::Display for ForwardStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ForwardStage::*;
        match *self {
            Embeddings => f.write_str("the token embeddings"),
            AttentionNorm { layer } => write!(f, "the attention norm of layer {layer}"),
            Qkv { layer } => write!(f, "q/k/v of layer {layer}"),
            Attention { layer } => write!(f, "the attention output of layer {layer}"),
            AfterAttention { layer } => {
                write!(f, "the hidden state after the attention of layer {layer}")
            }
            FfnNorm { layer } => write!(f, "the feed-forward norm of layer {layer}"),
            FfnActivation { layer } => {
                write!(f, "the feed-forward activation of layer {layer}")
            }
            AfterLayer { layer } => write!(f, "the hidden state after layer {layer}"),
            FinalNorm => f.write_str("the final norm"),
            Logits => f.write_str("the logits"),
        }
    }
}

/// Why a model cannot be bound, an arena cannot host a session, or a session rejects an input.
///
/// Session input errors ([`ModelError::ContextOverflow`], [`ModelError::BatchTooLarge`],
/// [`ModelError::EmptyBatch`], [`ModelError::TokenOutOfRange`],
/// [`ModelError::TruncateBeyondEnd`]) are detected before anything changes: the session stays
/// usable with its previous contents. [`ModelError::NonFinite`] is detected during the forward
/// pass; the batch is not committed (see [`crate::model::Session::forward`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModelError {
    /// `general.architecture` is missing.
    MissingArchitecture,
    /// `general.architecture` is neither `phi3` nor `llama`.
    UnsupportedArchitecture,
    /// A required hyper-parameter `{arch}.{key}` is missing.
    MissingKey {
        /// The key without the architecture prefix (e.g. `"embedding_length"`).
        key: &'static str,
    },
    /// An integer hyper-parameter has a value the graph cannot use (zero, not a divisor, too
    /// large...).
    BadHyperParameter {
        /// The key without the architecture prefix.
        key: &'static str,
        /// Its value.
        value: u64,
    },
    /// A floating-point hyper-parameter has a value the graph cannot use (NaN, ±∞, or not
    /// positive where it must be).
    BadFloatHyperParameter {
        /// The key without the architecture prefix.
        key: &'static str,
        /// Its value's bit pattern ([`f32::from_bits`]; bits, so that the error stays `Eq`).
        bits: u32,
    },
    /// The model has more layers than [`crate::model::MAX_LAYERS`].
    TooManyLayers {
        /// Layers in the file.
        layers: usize,
        /// The limit.
        max: usize,
    },
    /// A tensor the graph needs is absent.
    MissingTensor {
        /// Which one.
        tensor: TensorName,
    },
    /// A tensor's dimensions differ from what the configuration implies.
    TensorShape {
        /// Which one.
        tensor: TensorName,
        /// Its index in the file's tensor-info list.
        index: usize,
        /// Expected `[ne0, ne1]` (`ne1 = 1` for vectors).
        expected: [u64; 2],
        /// The tensor's `ne` (padded with 1).
        found: [u64; 4],
    },
    /// A tensor's type cannot be used in its role (e.g. a norm that is not F32, a matrix in a
    /// format without a dot-product kernel).
    TensorType {
        /// Which one.
        tensor: TensorName,
        /// Its index in the file's tensor-info list.
        index: usize,
        /// Its type.
        ty: crate::quant::GgmlType,
    },
    /// `Limits` that cannot describe a session (a zero field, or a size that overflows).
    BadLimits {
        /// Which field or size.
        what: &'static str,
    },
    /// A quantized KV cache ([`crate::model::KvType`]) was asked for a model whose `head_dim`
    /// is not a multiple of the block size (rows are stored as whole blocks).
    KvHeadDim {
        /// The model's `head_dim`.
        head_dim: usize,
        /// Values per block (32).
        block: usize,
    },
    /// `max_context` is above the model's trained context
    /// ([`crate::model::Config::max_trained_context`]) and the limits do not opt in with
    /// [`crate::model::Limits::allow_beyond_trained_context`].
    ContextBeyondTraining {
        /// The requested `max_context`.
        max_context: usize,
        /// The longest context the model was trained for.
        trained: usize,
    },
    /// The arena is shorter than [`crate::model::ArenaPlan::bytes_needed`].
    ArenaTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes given.
        actual: usize,
    },
    /// The arena does not start at a multiple of [`crate::model::ARENA_ALIGN`].
    ArenaMisaligned {
        /// The alignment needed.
        align: usize,
        /// The start address modulo `align`.
        offset: usize,
    },
    /// The batch would take the sequence past `max_context`.
    ContextOverflow {
        /// Positions the sequence would have.
        needed: usize,
        /// The session's `max_context`.
        max_context: usize,
    },
    /// More tokens in one call than `max_batch`.
    BatchTooLarge {
        /// Tokens given.
        batch: usize,
        /// The session's `max_batch`.
        max_batch: usize,
    },
    /// `forward` was called with no tokens.
    EmptyBatch,
    /// A token id is not below the vocabulary size.
    TokenOutOfRange {
        /// The token id.
        token: u32,
        /// The vocabulary size.
        n_vocab: usize,
    },
    /// `truncate(n)` with `n` greater than the current length.
    TruncateBeyondEnd {
        /// The requested length.
        n: usize,
        /// The current length.
        len: usize,
    },
    /// A value of the forward pass is NaN or ±∞ (a corrupt weight, or values past `f32`'s
    /// range). `forward` never returns non-finite logits; the batch is not committed (see
    /// [`crate::model::Session::forward`]).
    NonFinite {
        /// The first stage (in graph order) where a non-finite value was found.
        at: ForwardStage,
        /// The sequence position of the first token whose values there are not all finite.
        position: usize,
    },
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ModelError::*;
        match *self {
            MissingArchitecture => f.write_str("`general.architecture` is missing"),
            UnsupportedArchitecture => {
                f.write_str("`general.architecture` is not one of `phi3`, `llama`")
            }
            MissingKey { key } => write!(f, "metadata key `<arch>.{key}` is missing"),
            BadHyperParameter { key, value } => {
                write!(f, "hyper-parameter `<arch>.{key}` = {value} is unusable")
            }
            BadFloatHyperParameter { key, bits } => {
                let value = f32::from_bits(bits);
                write!(f, "hyper-parameter `<arch>.{key}` = {value:?} is unusable")
            }
            TooManyLayers { layers, max } => {
                write!(f, "{layers} layers, at most {max} are supported")
            }
            MissingTensor { tensor } => write!(f, "tensor `{tensor}` is missing"),
            TensorShape {
                tensor,
                index,
                expected,
                found,
            } => write!(
                f,
                "tensor `{tensor}` (#{index}) has ne {found:?}, expected {expected:?}"
            ),
            TensorType { tensor, index, ty } => {
                write!(f, "tensor `{tensor}` (#{index}) has unsupported type {ty}")
            }
            BadLimits { what } => write!(f, "session limits: `{what}` is unusable"),
            KvHeadDim { head_dim, block } => write!(
                f,
                "a quantized KV cache needs head_dim ({head_dim}) to be a multiple of {block}"
            ),
            ContextBeyondTraining {
                max_context,
                trained,
            } => write!(
                f,
                "max_context {max_context} is beyond the model's trained context of {trained} \
                 positions (opt in with `Limits::allow_beyond_trained_context`)"
            ),
            ArenaTooSmall { needed, actual } => {
                write!(f, "arena has {actual} bytes, the session needs {needed}")
            }
            ArenaMisaligned { align, offset } => write!(
                f,
                "arena starts {offset} bytes past a multiple of {align}; it must be aligned"
            ),
            ContextOverflow {
                needed,
                max_context,
            } => write!(
                f,
                "sequence would reach {needed} positions, max_context is {max_context}"
            ),
            BatchTooLarge { batch, max_batch } => {
                write!(f, "batch of {batch} tokens, max_batch is {max_batch}")
            }
            EmptyBatch => f.write_str("no tokens given"),
            TokenOutOfRange { token, n_vocab } => {
                write!(
                    f,
                    "token id {token} is not below the vocabulary size {n_vocab}"
                )
            }
            TruncateBeyondEnd { n, len } => {
                write!(
                    f,
                    "cannot truncate to {n} positions, the sequence has {len}"
                )
            }
            NonFinite { at, position } => write!(
                f,
                "non-finite value (NaN or ±∞) in {at} at position {position}; the batch was not \
                 committed"
            ),
        }
    }
}

impl core::error::Error for ModelError {}

/// Why a [`crate::generate::Generator`] could not be built or run (besides the session's, tokenizer's and
/// sampler's own errors).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GenerateError {
    /// The prompt has no tokens (there would be no logits to sample from).
    EmptyPrompt,
    /// The scratch buffer is shorter than [`crate::generate::Generator::scratch_bytes`] says.
    ScratchTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes given.
        got: usize,
    },
    /// A stop string is empty (it would match before any text).
    EmptyStopString,
    /// The generator was sized for a smaller vocabulary or a tokenizer with shorter pieces
    /// than the session or tokenizer given to [`crate::generate::Generator::run`].
    SizeMismatch,
}

impl fmt::Display for GenerateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            GenerateError::EmptyPrompt => f.write_str("the prompt has no tokens"),
            GenerateError::ScratchTooSmall { needed, got } => {
                write!(f, "generation scratch has {got} bytes, needs {needed}")
            }
            GenerateError::EmptyStopString => f.write_str("a stop string is empty"),
            GenerateError::SizeMismatch => f.write_str(
                "the generator was sized for another model or tokenizer than the one it runs",
            ),
        }
    }
}

impl core::error::Error for GenerateError {}
