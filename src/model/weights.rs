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
//! A [`Weights`] value holds no per-layer views: binding validates every layer once, and
//! [`Weights::layers`] finds a layer's tensors again when the graph needs them (a scan of the
//! tensor-info list that resumes where the previous layer's ended, so about ten infos per layer
//! in a file written in layer order). So a [`Model`] is a few hundred bytes whatever the layer
//! count — it fits small stacks — and binding allocates nothing.

use super::config::{Arch, Config};
use crate::error::{Error, ModelError, TensorName};
use crate::gguf::{Gguf, GgufError, Tensor, TensorCursor, TensorTable};
use crate::ops::{Matrix, WeightData};
use crate::quant::GgmlType;

/// Most layers a model may have (Phi-3-medium has 40; the limit keeps layer numbers small).
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
    dims: LayerDims,
    table: TensorTable<'w>,
}

/// What binding a layer's tensors needs from the [`Config`].
#[derive(Clone, Copy, Debug)]
struct LayerDims {
    arch: Arch,
    n_embd: usize,
    q_dim: usize,
    kv_dim: usize,
    n_ff: usize,
}

impl LayerDims {
    fn new(c: &Config) -> Self {
        LayerDims {
            arch: c.arch,
            n_embd: c.n_embd,
            q_dim: c.q_dim(),
            kv_dim: c.kv_dim(),
            n_ff: c.n_ff,
        }
    }
}

/// The per-layer tensor roles, in the order of [`LayerTensors`].
const ROLES: [&str; 10] = [
    "attn_norm.weight",
    "ffn_norm.weight",
    "attn_output.weight",
    "ffn_down.weight",
    "attn_qkv.weight",
    "ffn_up.weight",
    "attn_q.weight",
    "attn_k.weight",
    "attn_v.weight",
    "ffn_gate.weight",
];

/// Which [`ROLES`] an architecture's layer has (a bit per role).
const fn roles_of(arch: Arch) -> u16 {
    match arch {
        // attn_norm, ffn_norm, attn_output, ffn_down, attn_qkv, ffn_up
        Arch::Phi3 => 0b00_0011_1111,
        // … and attn_q, attn_k, attn_v, ffn_gate instead of attn_qkv
        Arch::Llama => 0b11_1110_1111,
    }
}

/// Where one layer's tensor infos are, by role index (positions, not views: 16 bytes each on
/// the stack of the forward pass).
type LayerTensors = [Option<TensorCursor>; ROLES.len()];

/// The role index of a tensor named `blk.{layer}.{role}`, if it is one of `wanted`.
fn role_of(name: &str, layer: usize, wanted: u16) -> Option<usize> {
    let rest = name.strip_prefix("blk.")?;
    let (num, role) = rest.split_once('.')?;
    if num.parse::<usize>().ok()? != layer {
        return None;
    }
    let i = ROLES.iter().position(|&r| r == role)?;
    (wanted & (1 << i) != 0).then_some(i)
}

/// Finds layer `layer`'s tensors: scans from `at` to the end of the list, then from its start
/// back to `at`, until every wanted role is found. Returns them and the position after the
/// last one found (where the next layer's search starts).
fn find_layer(
    table: &TensorTable<'_>,
    at: TensorCursor,
    layer: usize,
    arch: Arch,
) -> (LayerTensors, TensorCursor) {
    let wanted = roles_of(arch);
    let mut found: LayerTensors = [None; ROLES.len()];
    let mut missing = wanted;
    let mut next = at;
    let passes = [(at, usize::MAX), (table.first(), at.index())];
    for (start, limit) in passes {
        let mut before = start;
        for (t, after) in table.iter_from(start).take(limit) {
            if let Some(i) = role_of(t.name(), layer, wanted) {
                if let Some(slot) = found.get_mut(i) {
                    if slot.is_none() {
                        *slot = Some(before);
                        missing &= !(1 << i);
                        next = after;
                    }
                }
            }
            before = after;
            if missing == 0 {
                return (found, next);
            }
        }
    }
    (found, next)
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

        let weights = Weights {
            token_embd,
            output_norm,
            output,
            tied,
            rope_factors_short,
            rope_factors_long,
            n_layer: config.n_layer,
            dims: LayerDims::new(config),
            table: gguf.tensor_table(),
        };
        // Validate every layer now, so that finding them again later cannot fail.
        for layer in weights.layers() {
            layer?;
        }
        Ok(weights)
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

    /// The tensors of layer `l` (found in the tensor-info list), or `None` past the last layer.
    pub fn layer(&self, l: usize) -> Option<LayerWeights<'w>> {
        if l >= self.n_layer {
            return None;
        }
        let (found, _) = find_layer(&self.table, self.table.first(), l, self.dims.arch);
        bind_layer(&self.table, &found, self.dims, l).ok()
    }

    /// The layers in order, each found in the tensor-info list where the previous one's
    /// tensors ended (module docs). Binding validated them all, so every item is `Ok` for a
    /// model from [`Weights::bind`].
    pub fn layers(&self) -> Layers<'_, 'w> {
        Layers {
            weights: self,
            next: 0,
            at: self.table.first(),
        }
    }
}

/// Iterator of [`Weights::layers`].
#[derive(Clone, Debug)]
pub struct Layers<'a, 'w> {
    weights: &'a Weights<'w>,
    next: usize,
    at: TensorCursor,
}

impl<'w> Iterator for Layers<'_, 'w> {
    type Item = Result<LayerWeights<'w>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let w = self.weights;
        let l = self.next;
        if l >= w.n_layer {
            return None;
        }
        self.next += 1;
        let (found, after) = find_layer(&w.table, self.at, l, w.dims.arch);
        self.at = after;
        Some(bind_layer(&w.table, &found, w.dims, l))
    }
}

fn bind_layer<'w>(
    table: &TensorTable<'w>,
    found: &LayerTensors,
    c: LayerDims,
    layer: usize,
) -> Result<LayerWeights<'w>, Error> {
    let layer_no = u32::try_from(layer).unwrap_or(u32::MAX);
    let name = |role| TensorName {
        role,
        layer: Some(layer_no),
    };
    let require = |role: &'static str| {
        ROLES
            .iter()
            .position(|&r| r == role)
            .and_then(|i| found.get(i).copied().flatten())
            .and_then(|at| table.iter_from(at).next())
            .map(|(t, _)| t)
            .ok_or(Error::Model(ModelError::MissingTensor {
                tensor: name(role),
            }))
    };
    let mat = |role, rows, cols| matrix(&require(role)?, name(role), rows, cols);
    let (n_embd, q_dim, kv_dim, n_ff) = (c.n_embd, c.q_dim, c.kv_dim, c.n_ff);
    let attn_norm = vector(
        &require("attn_norm.weight")?,
        name("attn_norm.weight"),
        n_embd,
    )?;
    let ffn_norm = vector(
        &require("ffn_norm.weight")?,
        name("ffn_norm.weight"),
        n_embd,
    )?;
    let (qkv, gate_up) = match c.arch {
        Arch::Phi3 => (
            [
                Some(mat(
                    "attn_qkv.weight",
                    q_dim.saturating_add(kv_dim.saturating_mul(2)),
                    n_embd,
                )?),
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
