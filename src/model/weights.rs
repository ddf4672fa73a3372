//! [`Weights`]: every tensor of the graph bound by name to a typed view into the GGUF bytes.
//!
//! Nothing is copied: a [`Matrix`] borrows its blocks from the file. Binding checks each
//! tensor's shape against the [`Config`] and its type against what the kernels support, and
//! reports the tensor by name ([`TensorName`]) and file index.
//!
//! | role | `phi3` | `llama` | shape `ne` |
//! |---|---|---|---|
//! | embedding | `token_embd.weight` (any dequantizable type) | same | `[n_embd, n_vocab]` |
//! | q, k, v | `blk.N.attn_qkv.weight` (rows q, k, v) | `blk.N.attn_q/k/v.weight` | `[n_embd, q_dim + 2·kv_dim]` |
//! | attention out | `blk.N.attn_output.weight` | same | `[q_dim, n_embd]` |
//! | gate, up | `blk.N.ffn_up.weight` (rows gate, up) | `blk.N.ffn_gate/up.weight` | `[n_embd, 2·n_ff]` |
//! | down | `blk.N.ffn_down.weight` | same | `[n_ff, n_embd]` |
//! | norms | `blk.N.attn_norm.weight`, `blk.N.ffn_norm.weight`, `output_norm.weight` (F32) | same | `[n_embd]` |
//! | output | `output.weight`, or `token_embd.weight` when absent (tied) | same | `[n_embd, n_vocab]` |
//! | LongRoPE | `rope_factors_short/long.weight` (F32, optional) | – | `[n_rot / 2]` |
//!
//! Per-layer bindings live in a fixed array of [`MAX_LAYERS`] entries, so a [`Weights`] value
//! has a fixed size (about 20 KiB) and binding allocates nothing.

use super::config::{Arch, Config};
use crate::error::{Error, ModelError, TensorName};
use crate::gguf::{Gguf, GgufError, Tensor};
use crate::ops::{Matrix, WeightData};
use crate::quant::GgmlType;

/// Most layers a model may have (Phi-3-medium has 40).
pub const MAX_LAYERS: usize = 64;

/// A projection whose output rows are the concatenation of up to three matrices' rows, all
/// reading the same input: `attn_qkv` (one fused matrix, or q, k, v) and gate/up (one fused
/// matrix, or gate and up).
#[derive(Clone, Copy, Debug)]
pub struct Projection<'w> {
    parts: [Option<Matrix<'w>>; 3],
}

impl<'w> Projection<'w> {
    /// The matrices in output order (their row counts add up to the output width).
    pub fn parts(&self) -> impl Iterator<Item = &Matrix<'w>> + '_ {
        self.parts.iter().flatten()
    }
}

/// The tensors of one transformer block.
#[derive(Clone, Copy, Debug)]
pub struct LayerWeights<'w> {
    /// RMSNorm weight before attention (`n_embd`).
    pub attn_norm: &'w [f32],
    /// q, k, v rows (`q_dim + 2 · kv_dim`), reading the normed residual.
    pub qkv: Projection<'w>,
    /// Attention output projection (`n_embd × q_dim`).
    pub attn_output: Matrix<'w>,
    /// RMSNorm weight before the feed-forward block (`n_embd`).
    pub ffn_norm: &'w [f32],
    /// gate rows then up rows (`2 · n_ff`), reading the normed residual.
    pub gate_up: Projection<'w>,
    /// Down projection (`n_embd × n_ff`).
    pub ffn_down: Matrix<'w>,
}

/// Every tensor of the graph, bound to views into the GGUF bytes (see the module docs).
#[derive(Clone, Copy, Debug)]
pub struct Weights<'w> {
    token_embd: Tensor<'w>,
    output_norm: &'w [f32],
    output: Matrix<'w>,
    tied: bool,
    rope_factors_short: Option<&'w [f32]>,
    rope_factors_long: Option<&'w [f32]>,
    n_layer: usize,
    layers: [Option<LayerWeights<'w>>; MAX_LAYERS],
}

/// Stack buffer for `blk.N.role` names (GGUF names are at most 64 bytes).
struct NameBuf {
    buf: [u8; 80],
    len: usize,
}

impl core::fmt::Write for NameBuf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(core::fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(core::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

fn find<'w>(gguf: &Gguf<'w>, name: TensorName) -> Result<Option<Tensor<'w>>, Error> {
    use core::fmt::Write;
    let mut buf = NameBuf {
        buf: [0; 80],
        len: 0,
    };
    // A name that does not fit cannot be in the file (names are at most 64 bytes).
    if write!(buf, "{name}").is_err() {
        return Ok(None);
    }
    let text = buf
        .buf
        .get(..buf.len)
        .and_then(|b| core::str::from_utf8(b).ok())
        .unwrap_or("");
    match gguf.tensor(text) {
        Ok(t) => Ok(Some(t)),
        Err(GgufError::TensorNotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn require<'w>(gguf: &Gguf<'w>, name: TensorName) -> Result<Tensor<'w>, Error> {
    find(gguf, name)?.ok_or(Error::Model(ModelError::MissingTensor { tensor: name }))
}

fn check_shape(t: &Tensor, name: TensorName, cols: usize, rows: usize) -> Result<(), Error> {
    if t.n_dims() <= 2 && t.cols() == cols && t.rows() == rows {
        return Ok(());
    }
    Err(Error::Model(ModelError::TensorShape {
        tensor: name,
        index: t.index(),
        expected: [cols as u64, rows as u64],
        found: t.ne(),
    }))
}

fn type_error(t: &Tensor, name: TensorName) -> Error {
    Error::Model(ModelError::TensorType {
        tensor: name,
        index: t.index(),
        ty: t.ty(),
    })
}

/// Binds `t` as a `rows × cols` matrix (`ne = [cols, rows]`).
fn matrix<'w>(
    t: &Tensor<'w>,
    name: TensorName,
    rows: usize,
    cols: usize,
) -> Result<Matrix<'w>, Error> {
    check_shape(t, name, cols, rows)?;
    let data = match t.ty() {
        GgmlType::F32 => WeightData::F32(t.view()?),
        GgmlType::F16 => WeightData::F16(t.view()?),
        GgmlType::Q4_0 => WeightData::Q4_0(t.view()?),
        GgmlType::Q4_1 => WeightData::Q4_1(t.view()?),
        GgmlType::Q5_0 => WeightData::Q5_0(t.view()?),
        GgmlType::Q8_0 => WeightData::Q8_0(t.view()?),
        GgmlType::Q4_K => WeightData::Q4K(t.view()?),
        GgmlType::Q5_K => WeightData::Q5K(t.view()?),
        GgmlType::Q6_K => WeightData::Q6K(t.view()?),
        _ => return Err(type_error(t, name)),
    };
    Ok(Matrix::new(data, rows, cols)?)
}

/// Binds `t` as an F32 vector of `len` values.
fn vector<'w>(t: &Tensor<'w>, name: TensorName, len: usize) -> Result<&'w [f32], Error> {
    check_shape(t, name, len, 1)?;
    if t.ty() != GgmlType::F32 {
        return Err(type_error(t, name));
    }
    Ok(t.view()?)
}

const fn global(role: &'static str) -> TensorName {
    TensorName { role, layer: None }
}

impl<'w> Weights<'w> {
    /// Binds every tensor of `config`'s graph (see the module docs for names and shapes).
    ///
    /// Errors: [`ModelError::TooManyLayers`], [`ModelError::MissingTensor`],
    /// [`ModelError::TensorShape`], [`ModelError::TensorType`] (each naming the tensor), and
    /// [`GgufError::MisalignedData`] when the file bytes are not aligned in memory for a block
    /// type.
    pub fn bind(gguf: &Gguf<'w>, config: &Config) -> Result<Self, Error> {
        if config.n_layer > MAX_LAYERS {
            return Err(Error::Model(ModelError::TooManyLayers {
                layers: config.n_layer,
                max: MAX_LAYERS,
            }));
        }
        let (n_embd, n_vocab) = (config.n_embd, config.n_vocab);
        let embd_name = global("token_embd.weight");
        let token_embd = require(gguf, embd_name)?;
        check_shape(&token_embd, embd_name, n_embd, n_vocab)?;
        if !token_embd.ty().is_supported() {
            return Err(type_error(&token_embd, embd_name));
        }
        let output_norm = vector(
            &require(gguf, global("output_norm.weight"))?,
            global("output_norm.weight"),
            n_embd,
        )?;
        let out_name = global("output.weight");
        let (output, tied) = match find(gguf, out_name)? {
            Some(t) => (matrix(&t, out_name, n_vocab, n_embd)?, false),
            None => (matrix(&token_embd, embd_name, n_vocab, n_embd)?, true),
        };
        let n_factors = config.n_rot / 2;
        let mut factors = [None, None];
        for (slot, role) in factors
            .iter_mut()
            .zip(["rope_factors_short.weight", "rope_factors_long.weight"])
        {
            if let Some(t) = find(gguf, global(role))? {
                *slot = Some(vector(&t, global(role), n_factors)?);
            }
        }
        let [rope_factors_short, rope_factors_long] = factors;

        let mut layers = [None; MAX_LAYERS];
        for (l, slot) in layers.iter_mut().take(config.n_layer).enumerate() {
            *slot = Some(bind_layer(gguf, config, l as u32)?);
        }
        Ok(Weights {
            token_embd,
            output_norm,
            output,
            tied,
            rope_factors_short,
            rope_factors_long,
            n_layer: config.n_layer,
            layers,
        })
    }

    /// The token embedding tensor (`n_vocab` rows of `n_embd`, any supported type).
    pub fn token_embd(&self) -> &Tensor<'w> {
        &self.token_embd
    }

    /// Dequantizes the embedding row of `token` into `out` (`n_embd` values).
    ///
    /// Errors: [`ModelError::TokenOutOfRange`], or a [`crate::ShapeError`] when `out` has the
    /// wrong length.
    pub fn embed(&self, token: u32, out: &mut [f32]) -> Result<(), Error> {
        let rows = self.token_embd.rows();
        let row_bytes = self.token_embd.row_bytes();
        let oob = Error::Model(ModelError::TokenOutOfRange {
            token,
            n_vocab: rows,
        });
        let row = usize::try_from(token).map_err(|_| oob)?;
        if row >= rows {
            return Err(oob);
        }
        let start = row * row_bytes;
        let bytes = self
            .token_embd
            .data()
            .get(start..start + row_bytes)
            .ok_or(oob)?;
        crate::quant::dequant::dequantize(self.token_embd.ty(), bytes, out)?;
        Ok(())
    }

    /// The final RMSNorm weight.
    pub fn output_norm(&self) -> &'w [f32] {
        self.output_norm
    }

    /// The output (logits) matrix: `output.weight`, or the embedding when tied.
    pub fn output(&self) -> &Matrix<'w> {
        &self.output
    }

    /// Whether the output matrix is the embedding (`output.weight` absent).
    pub fn tied_embeddings(&self) -> bool {
        self.tied
    }

    /// LongRoPE short factors (`n_rot / 2`), if the file has them.
    pub fn rope_factors_short(&self) -> Option<&'w [f32]> {
        self.rope_factors_short
    }

    /// LongRoPE long factors (`n_rot / 2`), if the file has them.
    pub fn rope_factors_long(&self) -> Option<&'w [f32]> {
        self.rope_factors_long
    }

    /// Number of layers.
    pub fn n_layer(&self) -> usize {
        self.n_layer
    }

    /// The tensors of layer `l`, or `None` past the last layer.
    pub fn layer(&self, l: usize) -> Option<&LayerWeights<'w>> {
        self.layers.get(l).and_then(Option::as_ref)
    }

    /// The layers in order.
    pub fn layers(&self) -> impl Iterator<Item = &LayerWeights<'w>> + '_ {
        self.layers.iter().take(self.n_layer).flatten()
    }
}

fn bind_layer<'w>(gguf: &Gguf<'w>, c: &Config, layer: u32) -> Result<LayerWeights<'w>, Error> {
    let name = |role| TensorName {
        role,
        layer: Some(layer),
    };
    let mat = |role, rows, cols| matrix(&require(gguf, name(role))?, name(role), rows, cols);
    let (n_embd, q_dim, kv_dim, n_ff) = (c.n_embd, c.q_dim(), c.kv_dim(), c.n_ff);
    let attn_norm = vector(
        &require(gguf, name("attn_norm.weight"))?,
        name("attn_norm.weight"),
        n_embd,
    )?;
    let ffn_norm = vector(
        &require(gguf, name("ffn_norm.weight"))?,
        name("ffn_norm.weight"),
        n_embd,
    )?;
    let (qkv, gate_up) = match c.arch {
        Arch::Phi3 => (
            [
                Some(mat("attn_qkv.weight", c.qkv_dim(), n_embd)?),
                None,
                None,
            ],
            [
                Some(mat("ffn_up.weight", n_ff.saturating_mul(2), n_embd)?),
                None,
                None,
            ],
        ),
        Arch::Llama => (
            [
                Some(mat("attn_q.weight", q_dim, n_embd)?),
                Some(mat("attn_k.weight", kv_dim, n_embd)?),
                Some(mat("attn_v.weight", kv_dim, n_embd)?),
            ],
            [
                Some(mat("ffn_gate.weight", n_ff, n_embd)?),
                Some(mat("ffn_up.weight", n_ff, n_embd)?),
                None,
            ],
        ),
    };
    Ok(LayerWeights {
        attn_norm,
        qkv: Projection { parts: qkv },
        attn_output: mat("attn_output.weight", n_embd, q_dim)?,
        ffn_norm,
        gate_up: Projection { parts: gate_up },
        ffn_down: mat("ffn_down.weight", n_embd, n_ff)?,
    })
}

/// A model: its [`Config`] and its [`Weights`], borrowed from the GGUF bytes (`'w`).
#[derive(Clone, Copy, Debug)]
pub struct Model<'w> {
    config: Config,
    weights: Weights<'w>,
}

impl<'w> Model<'w> {
    /// Reads the configuration and binds every tensor ([`Config::from_gguf`],
    /// [`Weights::bind`]).
    pub fn from_gguf(gguf: &Gguf<'w>) -> Result<Self, Error> {
        let config = Config::from_gguf(gguf)?;
        let weights = Weights::bind(gguf, &config)?;
        Ok(Model { config, weights })
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The bound tensors.
    pub fn weights(&self) -> &Weights<'w> {
        &self.weights
    }
}
