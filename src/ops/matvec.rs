//! Matrix × vector over a range of rows, through the dispatch table.
//!
//! # Math
//!
//! For a weight matrix `W` of `rows × cols` and an activation vector `x` of `cols` elements,
//! [`matvec`] computes `out[i − rows.start] = Σ_c W[i, c] · x[c]` for every row `i` of a
//! half-open row range, through the multi-column products of the dispatch table ([`Kernels`])
//! with one column, so each row's result is exactly the tier's dot of that row (the gemm
//! contract; see [`crate::kernels::dot`] for the per-row accumulation order). Rows are independent: splitting
//! a matrix into row ranges over any number of workers gives bitwise identical results.
//!
//! # Layout
//!
//! A [`Matrix`] borrows its weights ([`WeightData`]): `rows` consecutive rows, each a run of
//! `cols / block_elems` blocks (GGUF `ne = [cols, rows]`). Quantized weights pair with one
//! activation format ([`ActivationFormat`]): Q4_0 / Q5_0 / Q8_0 with Q8_0, Q4_1 with Q8_1, the
//! K-quants with Q8_K, and F32 / F16 with plain f32. [`quantize_into`] turns f32 activations
//! into that format inside a caller-provided byte buffer (sized with
//! [`ActivationFormat::bytes_for`]); nothing here allocates.
//!
//! # Checks and tails
//!
//! Shapes are checked once at the boundary ([`Matrix::new`], [`matvec`], [`quantize_into`]) and
//! returned as [`ShapeError`]s; the row loop has no checks. There are no tails: `cols` is a
//! whole number of blocks.

use crate::error::ShapeError;
use crate::kernels::Kernels;
use crate::quant::*;
use core::ops::Range;
use half::f16;

/// The weights of a [`Matrix`], borrowed in their stored format (row-major runs of blocks).
#[derive(Clone, Copy, Debug)]
pub enum WeightData<'w> {
    /// Plain f32 elements.
    F32(&'w [f32]),
    /// Plain f16 elements.
    F16(&'w [f16]),
    /// Q4_0 blocks (32 elements each).
    Q4_0(&'w [BlockQ4_0]),
    /// Q4_1 blocks (32 elements each).
    Q4_1(&'w [BlockQ4_1]),
    /// Q5_0 blocks (32 elements each).
    Q5_0(&'w [BlockQ5_0]),
    /// Q8_0 blocks (32 elements each).
    Q8_0(&'w [BlockQ8_0]),
    /// Q4_K super-blocks (256 elements each).
    Q4K(&'w [BlockQ4K]),
    /// Q5_K super-blocks (256 elements each).
    Q5K(&'w [BlockQ5K]),
    /// Q6_K super-blocks (256 elements each).
    Q6K(&'w [BlockQ6K]),
}

impl WeightData<'_> {
    /// The ggml type of the data.
    pub const fn ggml_type(&self) -> GgmlType {
        match self {
            WeightData::F32(_) => GgmlType::F32,
            WeightData::F16(_) => GgmlType::F16,
            WeightData::Q4_0(_) => GgmlType::Q4_0,
            WeightData::Q4_1(_) => GgmlType::Q4_1,
            WeightData::Q5_0(_) => GgmlType::Q5_0,
            WeightData::Q8_0(_) => GgmlType::Q8_0,
            WeightData::Q4K(_) => GgmlType::Q4_K,
            WeightData::Q5K(_) => GgmlType::Q5_K,
            WeightData::Q6K(_) => GgmlType::Q6_K,
        }
    }

    /// Number of blocks (elements for F32 / F16).
    pub const fn len_blocks(&self) -> usize {
        match self {
            WeightData::F32(s) => s.len(),
            WeightData::F16(s) => s.len(),
            WeightData::Q4_0(s) => s.len(),
            WeightData::Q4_1(s) => s.len(),
            WeightData::Q5_0(s) => s.len(),
            WeightData::Q8_0(s) => s.len(),
            WeightData::Q4K(s) => s.len(),
            WeightData::Q5K(s) => s.len(),
            WeightData::Q6K(s) => s.len(),
        }
    }

    /// The activation format a row dot product of these weights consumes.
    pub const fn activation_format(&self) -> ActivationFormat {
        match self {
            WeightData::F32(_) | WeightData::F16(_) => ActivationFormat::F32,
            WeightData::Q4_0(_) | WeightData::Q5_0(_) | WeightData::Q8_0(_) => {
                ActivationFormat::Q8_0
            }
            WeightData::Q4_1(_) => ActivationFormat::Q8_1,
            WeightData::Q4K(_) | WeightData::Q5K(_) | WeightData::Q6K(_) => ActivationFormat::Q8K,
        }
    }
}

/// A borrowed `rows × cols` weight matrix whose shape has been checked against its data.
///
/// Invariant (established by [`Matrix::new`]): `cols` is a multiple of the format's block size
/// and the data holds exactly `rows · cols / block_elems` blocks.
#[derive(Clone, Copy, Debug)]
pub struct Matrix<'w> {
    data: WeightData<'w>,
    rows: usize,
    cols: usize,
}

impl<'w> Matrix<'w> {
    /// A `rows × cols` matrix over `data`.
    ///
    /// Errors: [`ShapeError::NotBlockMultiple`] when `cols` is not a multiple of the format's
    /// block size, [`ShapeError::Overflow`] when `rows · cols` overflows `usize`, and
    /// [`ShapeError::Length`] (`what = "weights"`, in blocks) when the data does not hold
    /// exactly `rows · cols / block_elems` blocks.
    pub fn new(data: WeightData<'w>, rows: usize, cols: usize) -> Result<Self, ShapeError> {
        let block = data.ggml_type().block_elems();
        if !cols.is_multiple_of(block) {
            return Err(ShapeError::NotBlockMultiple {
                what: "cols",
                value: cols,
                block,
            });
        }
        rows.checked_mul(cols).ok_or(ShapeError::Overflow)?;
        let expected = rows * (cols / block);
        if data.len_blocks() != expected {
            return Err(ShapeError::Length {
                what: "weights",
                expected,
                actual: data.len_blocks(),
            });
        }
        Ok(Matrix { data, rows, cols })
    }

    /// The weights.
    pub const fn data(&self) -> WeightData<'w> {
        self.data
    }

    /// Number of rows (output elements).
    pub const fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (input elements).
    pub const fn cols(&self) -> usize {
        self.cols
    }

    /// The ggml type of the weights.
    pub const fn ggml_type(&self) -> GgmlType {
        self.data.ggml_type()
    }

    /// Blocks per row (`cols / block_elems`).
    pub const fn blocks_per_row(&self) -> usize {
        self.cols / self.data.ggml_type().block_elems()
    }

    /// Bytes of weights per row (what one row streams from memory).
    pub const fn row_bytes(&self) -> usize {
        self.blocks_per_row() * self.data.ggml_type().block_bytes()
    }

    /// The activation format [`matvec`] needs for this matrix.
    pub const fn activation_format(&self) -> ActivationFormat {
        self.data.activation_format()
    }
}

/// The format of an activation vector fed to [`matvec`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActivationFormat {
    /// Plain f32 (for F32 and F16 weights).
    F32,
    /// Q8_0 blocks (for Q4_0, Q5_0, Q8_0 weights).
    Q8_0,
    /// Q8_1 blocks (for Q4_1 weights).
    Q8_1,
    /// Q8_K super-blocks (for Q4_K, Q5_K, Q6_K weights).
    Q8K,
}

impl ActivationFormat {
    /// The format that weights of type `t` pair with, or `None` when [`matvec`] does not support
    /// `t` as a weight type.
    pub const fn for_weights(t: GgmlType) -> Option<Self> {
        match t {
            GgmlType::F32 | GgmlType::F16 => Some(ActivationFormat::F32),
            GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 => Some(ActivationFormat::Q8_0),
            GgmlType::Q4_1 => Some(ActivationFormat::Q8_1),
            GgmlType::Q4_K | GgmlType::Q5_K | GgmlType::Q6_K => Some(ActivationFormat::Q8K),
            _ => None,
        }
    }

    /// The ggml type of the activation data.
    pub const fn ggml_type(self) -> GgmlType {
        match self {
            ActivationFormat::F32 => GgmlType::F32,
            ActivationFormat::Q8_0 => GgmlType::Q8_0,
            ActivationFormat::Q8_1 => GgmlType::Q8_1,
            ActivationFormat::Q8K => GgmlType::Q8_K,
        }
    }

    /// Elements per block (1 for f32).
    pub const fn block_elems(self) -> usize {
        self.ggml_type().block_elems()
    }

    /// Bytes per block.
    pub const fn block_bytes(self) -> usize {
        self.ggml_type().block_bytes()
    }

    /// Alignment in bytes the buffer of this format needs (that of its block type).
    pub const fn align(self) -> usize {
        match self {
            ActivationFormat::F32 => core::mem::align_of::<f32>(),
            ActivationFormat::Q8_0 => core::mem::align_of::<BlockQ8_0>(),
            ActivationFormat::Q8_1 => core::mem::align_of::<BlockQ8_1>(),
            ActivationFormat::Q8K => core::mem::align_of::<BlockQ8K>(),
        }
    }

    /// Bytes that `n_elems` activations take in this format, when the buffer is aligned to
    /// [`Self::align`] (a buffer at an arbitrary address needs up to `align() − 1` more, see
    /// [`quantize_into`]).
    ///
    /// Errors: [`ShapeError::NotBlockMultiple`] (`what = "activations"`) when `n_elems` is not a
    /// multiple of [`Self::block_elems`], [`ShapeError::Overflow`] when the size overflows.
    pub const fn bytes_for(self, n_elems: usize) -> Result<usize, ShapeError> {
        let block = self.block_elems();
        if !n_elems.is_multiple_of(block) {
            return Err(ShapeError::NotBlockMultiple {
                what: "activations",
                value: n_elems,
                block,
            });
        }
        match (n_elems / block).checked_mul(self.block_bytes()) {
            Some(b) => Ok(b),
            None => Err(ShapeError::Overflow),
        }
    }
}

/// An activation vector in one of the [`ActivationFormat`]s, borrowed.
#[derive(Clone, Copy, Debug)]
pub enum Activations<'a> {
    /// Plain f32 elements.
    F32(&'a [f32]),
    /// Q8_0 blocks.
    Q8_0(&'a [BlockQ8_0]),
    /// Q8_1 blocks.
    Q8_1(&'a [BlockQ8_1]),
    /// Q8_K super-blocks.
    Q8K(&'a [BlockQ8K]),
}

impl Activations<'_> {
    /// The format of the data.
    pub const fn format(&self) -> ActivationFormat {
        match self {
            Activations::F32(_) => ActivationFormat::F32,
            Activations::Q8_0(_) => ActivationFormat::Q8_0,
            Activations::Q8_1(_) => ActivationFormat::Q8_1,
            Activations::Q8K(_) => ActivationFormat::Q8K,
        }
    }

    /// Number of elements (blocks · block elements), saturating at `usize::MAX` (a slice of
    /// blocks can never actually be that long).
    pub const fn len(&self) -> usize {
        let (blocks, elems) = match self {
            Activations::F32(s) => (s.len(), 1),
            Activations::Q8_0(s) => (s.len(), QK),
            Activations::Q8_1(s) => (s.len(), QK),
            Activations::Q8K(s) => (s.len(), QK_K),
        };
        blocks.saturating_mul(elems)
    }

    /// Whether there are no elements.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Converts `x` into `format` inside `bytes`, with the quantizer of `k`
/// (`k.quantize_q8_0` / `quantize_q8_1` / `quantize_q8_k`; an f32 copy for
/// [`ActivationFormat::F32`]), and returns a view of the result.
///
/// `bytes` may sit at any address: the result starts at the first address in `bytes` aligned to
/// `format.align()`, so `format.bytes_for(x.len())` bytes suffice for an aligned buffer and
/// `bytes_for(x.len()) + align() − 1` for any buffer. Bytes outside the result are untouched.
///
/// Errors: [`ShapeError::NotBlockMultiple`] when `x.len()` is not a multiple of the format's
/// block size, [`ShapeError::Overflow`], and [`ShapeError::Length`] (`what = "activation
/// buffer"`, in bytes, `expected` including any alignment skip) when `bytes` is too short.
pub fn quantize_into<'b>(
    k: &Kernels,
    format: ActivationFormat,
    x: &[f32],
    bytes: &'b mut [u8],
) -> Result<Activations<'b>, ShapeError> {
    let needed = format.bytes_for(x.len())?;
    let n_blocks = x.len() / format.block_elems();
    match format {
        ActivationFormat::F32 => {
            let out = typed_prefix::<f32>(bytes, n_blocks, needed)?;
            out.copy_from_slice(x);
            Ok(Activations::F32(out))
        }
        ActivationFormat::Q8_0 => {
            let out = typed_prefix::<BlockQ8_0>(bytes, n_blocks, needed)?;
            (k.quantize_q8_0)(x, out);
            Ok(Activations::Q8_0(out))
        }
        ActivationFormat::Q8_1 => {
            let out = typed_prefix::<BlockQ8_1>(bytes, n_blocks, needed)?;
            (k.quantize_q8_1)(x, out);
            Ok(Activations::Q8_1(out))
        }
        ActivationFormat::Q8K => {
            let out = typed_prefix::<BlockQ8K>(bytes, n_blocks, needed)?;
            (k.quantize_q8_k)(x, out);
            Ok(Activations::Q8K(out))
        }
    }
}

/// The first `n` values of type `T` in `bytes`, starting at its first `T`-aligned address.
/// Errors with [`ShapeError::Length`] (`expected` = skipped bytes + `needed`) when they do not
/// fit.
fn typed_prefix<T: bytemuck::Pod>(
    bytes: &mut [u8],
    n: usize,
    needed: usize,
) -> Result<&mut [T], ShapeError> {
    let len = bytes.len();
    // `pod_align_to_mut` splits at the first `T`-aligned address (and never fails).
    let (head, body, _) = bytemuck::pod_align_to_mut::<u8, T>(bytes);
    let skip = head.len();
    let short = || ShapeError::Length {
        what: "activation buffer",
        expected: skip.saturating_add(needed),
        actual: len,
    };
    body.get_mut(..n).ok_or_else(short)
}

/// `out[r − rows.start] = Σ_j W[r, j] · x_j` for every `r` in `rows`: one activation vector
/// against a row range of `m`, through the multi-column kernels of `k` with one column (so the
/// result is bit-identical to [`matmul`] on any batch containing the same vector).
///
/// `x` must be in `m.activation_format()` (quantize it with [`quantize_into`]) and hold
/// `m.cols()` elements; `out` must hold `rows.len()` values.
///
/// # Errors
/// [`ShapeError::RowRange`] (range reversed or past the matrix), [`ShapeError::Length`]
/// (`out` or the activations), [`ShapeError::FormatMismatch`] (activation format does not pair
/// with the weights). Nothing is written on error.
pub fn matvec(
    k: &Kernels,
    m: &Matrix,
    x: Activations,
    rows: Range<usize>,
    out: &mut [f32],
) -> Result<(), ShapeError> {
    if rows.start > rows.end || rows.end > m.rows {
        return Err(ShapeError::RowRange {
            end: rows.end,
            rows: m.rows,
        });
    }
    if out.len() != rows.len() {
        return Err(ShapeError::Length {
            what: "out",
            expected: rows.len(),
            actual: out.len(),
        });
    }
    if x.format() != m.activation_format() {
        return Err(ShapeError::FormatMismatch {
            weights: m.ggml_type(),
        });
    }
    if x.len() != m.cols {
        return Err(ShapeError::Length {
            what: "activations",
            expected: m.cols,
            actual: x.len(),
        });
    }
    let stride = rows.len();
    matmul(k, m, x, rows, out, stride)
}

/// The multi-column product of a row range of `m` with a batch of activation columns:
/// `out[c · out_stride + (r − rows.start)] = Σ_j W[r, j] · X[c, j]` for every `r` in `rows` and
/// every column (token) `c < n_cols`, where `x` holds `n_cols = x.len() / m.cols()` columns
/// back to back. Each loaded weight block serves every column (the tier's register tiles), and
/// every value is bit-identical to [`matvec`] of that column (see [`crate::kernels::gemm`]).
///
/// # Errors
/// [`ShapeError::RowRange`], [`ShapeError::FormatMismatch`], [`ShapeError::Length`] when `x`
/// is not a whole number of columns or `out` is too short for
/// `(n_cols − 1) · out_stride + rows.len()` values, and [`ShapeError::Length`] with
/// `what = "out_stride"` when `out_stride < rows.len()`. Nothing is written on error.
pub fn matmul(
    k: &Kernels,
    m: &Matrix,
    x: Activations,
    rows: Range<usize>,
    out: &mut [f32],
    out_stride: usize,
) -> Result<(), ShapeError> {
    if rows.start > rows.end || rows.end > m.rows {
        return Err(ShapeError::RowRange {
            end: rows.end,
            rows: m.rows,
        });
    }
    if x.format() != m.activation_format() {
        return Err(ShapeError::FormatMismatch {
            weights: m.ggml_type(),
        });
    }
    if out_stride < rows.len() {
        return Err(ShapeError::Length {
            what: "out_stride",
            expected: rows.len(),
            actual: out_stride,
        });
    }
    let n_cols = match x.len().checked_div(m.cols) {
        Some(n) if n * m.cols == x.len() => n,
        _ if m.cols == 0 => 1,
        _ => {
            return Err(ShapeError::Length {
                what: "activations",
                expected: m.cols,
                actual: x.len(),
            })
        }
    };
    let needed = match n_cols {
        0 => 0,
        n => (n - 1)
            .checked_mul(out_stride)
            .and_then(|v| v.checked_add(rows.len()))
            .ok_or(ShapeError::Overflow)?,
    };
    if out.len() < needed {
        return Err(ShapeError::Length {
            what: "out",
            expected: needed,
            actual: out.len(),
        });
    }
    let bpr = m.blocks_per_row();
    if bpr == 0 {
        for c in 0..n_cols {
            if let Some(o) = out.get_mut(c * out_stride..c * out_stride + rows.len()) {
                o.fill(0.0);
            }
        }
        return Ok(());
    }
    let (start, end) = (rows.start * bpr, rows.end * bpr);
    macro_rules! run {
        ($w:expr, $a:expr, $gemm:ident) => {{
            let w = $w.get(start..end).ok_or(ShapeError::Overflow)?;
            (k.$gemm)(w, $a, bpr, out, out_stride);
            Ok(())
        }};
    }
    match (m.data, x) {
        (WeightData::F32(w), Activations::F32(a)) => run!(w, a, gemm_f32_f32),
        (WeightData::F16(w), Activations::F32(a)) => run!(w, a, gemm_f16_f32),
        (WeightData::Q4_0(w), Activations::Q8_0(a)) => run!(w, a, gemm_q4_0_q8_0),
        (WeightData::Q5_0(w), Activations::Q8_0(a)) => run!(w, a, gemm_q5_0_q8_0),
        (WeightData::Q8_0(w), Activations::Q8_0(a)) => run!(w, a, gemm_q8_0_q8_0),
        (WeightData::Q4_1(w), Activations::Q8_1(a)) => run!(w, a, gemm_q4_1_q8_1),
        (WeightData::Q4K(w), Activations::Q8K(a)) => run!(w, a, gemm_q4_k_q8_k),
        (WeightData::Q5K(w), Activations::Q8K(a)) => run!(w, a, gemm_q5_k_q8_k),
        (WeightData::Q6K(w), Activations::Q8K(a)) => run!(w, a, gemm_q6_k_q8_k),
        // Unreachable after the format check above; kept as an error rather than a panic.
        _ => Err(ShapeError::FormatMismatch {
            weights: m.ggml_type(),
        }),
    }
}
