//! Tensor infos: reading and validating one, the [`Tensor`] view, and the lazy iterator.

use core::fmt;
use core::iter::FusedIterator;

use super::error::{Field, GgufError};
use super::limits::{MAX_DIMS, MAX_TENSOR_NAME_LEN};
use super::reader::Reader;
use crate::quant::{GgmlBlock, GgmlType};

/// The smallest tensor info: empty name (8), `n_dims` (4), one `ne` (8), type (4), offset (8).
pub(crate) const MIN_TENSOR_INFO_BYTES: usize = 8 + 4 + 8 + 4 + 8;

/// One tensor info as read from the header, with its derived sizes (not yet bounds-checked
/// against the data section).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawTensorInfo<'a> {
    pub(crate) index: usize,
    pub(crate) name: &'a str,
    pub(crate) n_dims: usize,
    pub(crate) ne: [u64; MAX_DIMS],
    pub(crate) ty: GgmlType,
    /// Offset in the data section (a multiple of the alignment).
    pub(crate) offset: u64,
    pub(crate) n_elements: usize,
    pub(crate) n_bytes: usize,
}

/// Reads tensor info number `index` and checks everything that does not depend on the data
/// section: name, dimensions, type, block multiple, sizes, offset alignment.
pub(crate) fn read_tensor_info<'a>(
    r: &mut Reader<'a>,
    index: usize,
    alignment: usize,
) -> Result<RawTensorInfo<'a>, GgufError> {
    let name = r.str(Field::TensorNameLen, Some(MAX_TENSOR_NAME_LEN))?;
    let n_dims = r.u32()?;
    let n_dims_ok = usize::try_from(n_dims)
        .ok()
        .filter(|n| (1..=MAX_DIMS).contains(n));
    let Some(n_dims_usize) = n_dims_ok else {
        return Err(GgufError::BadDims {
            tensor: index,
            n_dims,
        });
    };
    let mut ne = [1u64; MAX_DIMS];
    for (dim, slot) in ne.iter_mut().take(n_dims_usize).enumerate() {
        *slot = r.u64()?;
        if *slot == 0 {
            return Err(GgufError::ZeroDimension { tensor: index, dim });
        }
    }
    let type_id = r.u32()?;
    let ty = GgmlType::from_id(type_id).ok_or(GgufError::UnknownTensorType {
        tensor: index,
        type_id,
    })?;
    let offset = r.u64()?;

    let block = ty.block_elems();
    let [ne0, ..] = ne;
    if ne0 % block as u64 != 0 {
        return Err(GgufError::NotBlockMultiple {
            tensor: index,
            ne0,
            block,
        });
    }
    let overflow = GgufError::SizeOverflow { tensor: index };
    let n_elements = ne
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .ok_or(overflow)?;
    let n_bytes = (n_elements / block as u64)
        .checked_mul(ty.block_bytes() as u64)
        .ok_or(overflow)?;
    let n_elements = usize::try_from(n_elements).map_err(|_| overflow)?;
    let n_bytes = usize::try_from(n_bytes).map_err(|_| overflow)?;
    if offset % alignment as u64 != 0 {
        return Err(GgufError::MisalignedOffset {
            tensor: index,
            offset,
        });
    }
    Ok(RawTensorInfo {
        index,
        name,
        n_dims: n_dims_usize,
        ne,
        ty,
        offset,
        n_elements,
        n_bytes,
    })
}

/// Iterator over the raw tensor infos of parsed bytes.
#[derive(Clone, Debug)]
pub(crate) struct RawTensorIter<'a> {
    reader: Reader<'a>,
    next_index: usize,
    count: usize,
    alignment: usize,
}

impl<'a> RawTensorIter<'a> {
    pub(crate) fn new(reader: Reader<'a>, count: usize, alignment: usize) -> Self {
        RawTensorIter {
            reader,
            next_index: 0,
            count,
            alignment,
        }
    }
}

impl<'a> Iterator for RawTensorIter<'a> {
    type Item = RawTensorInfo<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next_index >= self.count {
            return None;
        }
        match read_tensor_info(&mut self.reader, self.next_index, self.alignment) {
            Ok(info) => {
                self.next_index += 1;
                Some(info)
            }
            // Cannot happen on parsed bytes; end the iteration rather than panic.
            Err(_) => {
                self.next_index = self.count;
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.count.saturating_sub(self.next_index);
        (left, Some(left))
    }
}

/// One tensor: its info from the header and its bytes in the data section.
///
/// `ne[0]` is the contiguous dimension: a tensor is [`Tensor::rows`] rows of [`Tensor::cols`]
/// elements, each row a run of whole blocks of its type.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Tensor<'a> {
    index: usize,
    name: &'a str,
    ty: GgmlType,
    n_dims: usize,
    ne: [u64; MAX_DIMS],
    offset: usize,
    n_elements: usize,
    cols: usize,
    data: &'a [u8],
}

impl<'a> Tensor<'a> {
    /// Builds the tensor of `info` over the data section (`None` if its bytes are outside).
    pub(crate) fn new(info: &RawTensorInfo<'a>, data: &'a [u8]) -> Option<Self> {
        let offset = usize::try_from(info.offset).ok()?;
        let end = offset.checked_add(info.n_bytes)?;
        let bytes = data.get(offset..end)?;
        let [ne0, ..] = info.ne;
        Some(Tensor {
            index: info.index,
            name: info.name,
            ty: info.ty,
            n_dims: info.n_dims,
            ne: info.ne,
            offset,
            n_elements: info.n_elements,
            cols: usize::try_from(ne0).ok()?,
            data: bytes,
        })
    }

    /// Position in the file's tensor-info list (what tensor errors report).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The name (at most [`MAX_TENSOR_NAME_LEN`] bytes).
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The ggml type.
    pub fn ty(&self) -> GgmlType {
        self.ty
    }

    /// Number of dimensions, 1 to 4.
    pub fn n_dims(&self) -> usize {
        self.n_dims
    }

    /// All four dimensions (`ne[0]` contiguous), padded with 1 past [`Tensor::n_dims`].
    pub fn ne(&self) -> [u64; MAX_DIMS] {
        self.ne
    }

    /// The dimensions as stored: `n_dims` values, `ne[0]` first.
    pub fn shape(&self) -> &[u64] {
        self.ne.get(..self.n_dims).unwrap_or(&self.ne)
    }

    /// Offset of the bytes from the start of the data section.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Number of elements (fits `usize`: checked by the parser).
    pub fn n_elements(&self) -> usize {
        self.n_elements
    }

    /// Elements per row: `ne[0]`.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Number of rows: `ne[1] · ne[2] · ne[3]`.
    pub fn rows(&self) -> usize {
        self.n_elements.checked_div(self.cols).unwrap_or(0)
    }

    /// Bytes per row: `ne[0]` / block size · block bytes.
    pub fn row_bytes(&self) -> usize {
        self.data.len().checked_div(self.rows()).unwrap_or(0)
    }

    /// Size in bytes.
    pub fn n_bytes(&self) -> usize {
        self.data.len()
    }

    /// The bytes, borrowed from the input.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The bytes as blocks (or elements) of `B`, without copying.
    ///
    /// Errors: [`GgufError::TensorTypeMismatch`] when `B` is not the tensor's type;
    /// [`GgufError::MisalignedData`] when the bytes are not aligned for `B` in memory (the
    /// offsets in the file are, so this means the input buffer itself is misaligned).
    /// Multi-byte fields are read as stored (little-endian): use a little-endian host.
    pub fn view<B: GgmlBlock>(&self) -> Result<&'a [B], GgufError> {
        if B::TYPE != self.ty {
            return Err(GgufError::TensorTypeMismatch {
                tensor: self.index,
                expected: B::TYPE,
                found: self.ty,
            });
        }
        bytemuck::try_cast_slice(self.data).map_err(|_| GgufError::MisalignedData {
            tensor: self.index,
            align: core::mem::align_of::<B>(),
        })
    }
}

impl fmt::Debug for Tensor<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tensor")
            .field("index", &self.index)
            .field("name", &self.name)
            .field("ty", &self.ty)
            .field("shape", &self.shape())
            .field("offset", &self.offset)
            .field("n_bytes", &self.data.len())
            .finish()
    }
}

/// Iterator over the tensors, in the order of the file's tensor-info list.
///
/// Each step reads one tensor info: O(1).
#[derive(Clone, Debug)]
pub struct TensorIter<'a> {
    raw: RawTensorIter<'a>,
    data: &'a [u8],
}

impl<'a> TensorIter<'a> {
    pub(crate) fn new(raw: RawTensorIter<'a>, data: &'a [u8]) -> Self {
        TensorIter { raw, data }
    }
}

impl<'a> Iterator for TensorIter<'a> {
    type Item = Tensor<'a>;

    fn next(&mut self) -> Option<Tensor<'a>> {
        let info = self.raw.next()?;
        let tensor = Tensor::new(&info, self.data);
        if tensor.is_none() {
            // Cannot happen on parsed bytes; end the iteration rather than panic.
            self.raw.next_index = self.raw.count;
        }
        tensor
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.raw.size_hint()
    }
}

impl ExactSizeIterator for TensorIter<'_> {}
impl FusedIterator for TensorIter<'_> {}

/// The tensor-info list of a parsed file as a small `Copy` handle (no metadata), from
/// [`super::Gguf::tensor_table`]: what a bound model keeps to find its layers' tensors again
/// without holding a view per tensor.
#[derive(Clone, Copy, Debug)]
pub struct TensorTable<'a> {
    bytes: &'a [u8],
    start: usize,
    count: usize,
    alignment: usize,
    data: &'a [u8],
}

/// A position in a [`TensorTable`]: the tensor info at `index`, which starts at byte `offset`
/// of the file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TensorCursor {
    offset: usize,
    index: usize,
}

impl TensorCursor {
    /// How many tensor infos precede this position.
    pub fn index(&self) -> usize {
        self.index
    }
}

impl<'a> TensorTable<'a> {
    pub(crate) fn new(
        bytes: &'a [u8],
        start: usize,
        count: usize,
        alignment: usize,
        data: &'a [u8],
    ) -> Self {
        TensorTable {
            bytes,
            start,
            count,
            alignment,
            data,
        }
    }

    /// Number of tensors.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the file has no tensors.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The position of the first tensor info.
    pub fn first(&self) -> TensorCursor {
        TensorCursor {
            offset: self.start,
            index: 0,
        }
    }

    /// The tensors from `at` to the end, each with the position just after it. A cursor from
    /// another table yields nothing or garbage-free early ends, never a panic.
    pub fn iter_from(&self, at: TensorCursor) -> TableIter<'a> {
        let mut raw = RawTensorIter::new(
            Reader::new(self.bytes, at.offset),
            self.count,
            self.alignment,
        );
        raw.next_index = at.index;
        TableIter {
            raw,
            data: self.data,
        }
    }
}

/// Iterator of [`TensorTable::iter_from`]: each tensor with the cursor after it.
#[derive(Clone, Debug)]
pub struct TableIter<'a> {
    raw: RawTensorIter<'a>,
    data: &'a [u8],
}

impl<'a> Iterator for TableIter<'a> {
    type Item = (Tensor<'a>, TensorCursor);

    fn next(&mut self) -> Option<Self::Item> {
        let info = self.raw.next()?;
        let Some(tensor) = Tensor::new(&info, self.data) else {
            // Cannot happen on parsed bytes; end the iteration rather than panic.
            self.raw.next_index = self.raw.count;
            return None;
        };
        let after = TensorCursor {
            offset: self.raw.reader.pos(),
            index: self.raw.next_index,
        };
        Some((tensor, after))
    }
}

impl FusedIterator for TableIter<'_> {}
