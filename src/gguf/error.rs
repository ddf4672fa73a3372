//! [`GgufError`]: every way a GGUF file can be rejected, and every way a typed accessor can fail.
//!
//! The enum is `Copy`, so it cannot borrow names from the file: errors about a tensor carry the
//! tensor's index (its position in the tensor-info list, the order of [`super::Gguf::tensors`]),
//! errors about metadata carry the index of the key/value pair or the byte offset in the file.

use core::fmt;

use super::value_type::ValueType;
use crate::quant::GgmlType;

/// Which length or count field a [`GgufError::LengthOutOfBounds`] or
/// [`GgufError::LimitExceeded`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Field {
    /// The header's tensor count.
    TensorCount,
    /// The header's metadata key/value count.
    KvCount,
    /// A metadata key's length.
    KeyLen,
    /// A string value's (or string array element's) length.
    StringLen,
    /// A metadata array's element count.
    ArrayLen,
    /// A tensor name's length.
    TensorNameLen,
}

impl Field {
    fn describe(self) -> &'static str {
        match self {
            Field::TensorCount => "tensor count",
            Field::KvCount => "metadata key/value count",
            Field::KeyLen => "metadata key length",
            Field::StringLen => "string length",
            Field::ArrayLen => "array length",
            Field::TensorNameLen => "tensor name length",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Malformed or unsupported GGUF input, or a typed accessor asked for something the file does
/// not hold.
///
/// Byte offsets (`offset`) are from the start of the file; `tensor` is a tensor's index in the
/// tensor-info list; `kv` is a metadata pair's index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GgufError {
    /// The input ends inside a fixed-size field that starts at `offset`.
    Truncated {
        /// Where the field starts.
        offset: u64,
    },
    /// The file does not start with the magic bytes `"GGUF"`.
    BadMagic {
        /// The first four bytes.
        found: [u8; 4],
    },
    /// The file was written big-endian (GGUF v3 allows it); only little-endian is read.
    BigEndian,
    /// The version is neither 2 nor 3 (v1 used 32-bit counts and is not read).
    UnsupportedVersion(u32),
    /// A count or length is larger than what the rest of the input could hold, even with the
    /// smallest possible items.
    LengthOutOfBounds {
        /// Which count or length.
        what: Field,
        /// Its value.
        value: u64,
        /// Where the field starts.
        offset: u64,
    },
    /// A count or length is above one of this reader's documented limits
    /// ([`super::MAX_TENSORS`], [`super::MAX_KV`], [`super::MAX_KEY_LEN`],
    /// [`super::MAX_TENSOR_NAME_LEN`]).
    LimitExceeded {
        /// Which count or length.
        what: Field,
        /// Its value.
        value: u64,
        /// The limit.
        limit: u64,
    },
    /// A metadata value type id is not one of GGUF's 13 types.
    BadValueType {
        /// The type id found.
        type_id: u32,
        /// Where it is.
        offset: u64,
    },
    /// An array's element type is itself "array" (ggml rejects nested arrays too).
    NestedArray {
        /// Where the element type is.
        offset: u64,
    },
    /// A bool value (or bool array element) is neither 0 nor 1.
    BadBool {
        /// The byte found.
        value: u8,
        /// Where it is.
        offset: u64,
    },
    /// A key, tensor name or string value is not valid UTF-8.
    InvalidUtf8 {
        /// Where the string's bytes start.
        offset: u64,
    },
    /// Two metadata pairs have the same key.
    DuplicateKey {
        /// Index of the first pair.
        first: usize,
        /// Index of the second pair.
        second: usize,
    },
    /// `general.alignment` is present but not a `u32`.
    AlignmentNotU32 {
        /// Its type.
        found: ValueType,
    },
    /// `general.alignment` is zero or not a power of two.
    BadAlignment {
        /// Its value.
        value: u32,
    },
    /// A tensor's type id is not a ggml type (unknown, or removed from ggml).
    UnknownTensorType {
        /// The tensor.
        tensor: usize,
        /// The type id found.
        type_id: u32,
    },
    /// A tensor's dimension count is not in `1..=4`.
    BadDims {
        /// The tensor.
        tensor: usize,
        /// The dimension count found.
        n_dims: u32,
    },
    /// A tensor has a zero-sized dimension (rejected: see the module docs).
    ZeroDimension {
        /// The tensor.
        tensor: usize,
        /// Which dimension.
        dim: usize,
    },
    /// A tensor's `ne[0]` is not a multiple of its type's block size.
    NotBlockMultiple {
        /// The tensor.
        tensor: usize,
        /// Its `ne[0]`.
        ne0: u64,
        /// The block size of its type.
        block: usize,
    },
    /// A tensor's element count or byte size overflows `u64` or `usize`.
    SizeOverflow {
        /// The tensor.
        tensor: usize,
    },
    /// A tensor's offset is not a multiple of the file's alignment.
    MisalignedOffset {
        /// The tensor.
        tensor: usize,
        /// Its offset (relative to the data section).
        offset: u64,
    },
    /// A tensor's bytes do not lie inside the data section.
    TensorOutOfBounds {
        /// The tensor.
        tensor: usize,
    },
    /// Two tensors' byte ranges overlap.
    TensorsOverlap {
        /// One tensor.
        first: usize,
        /// The other.
        second: usize,
    },
    /// Two tensors have the same name.
    DuplicateTensor {
        /// Index of the first tensor.
        first: usize,
        /// Index of the second tensor.
        second: usize,
    },
    /// The header (everything before the data section) is too large to address, or the data
    /// section's aligned start overflows `usize`.
    HeaderOverflow,
    /// A typed metadata accessor found a value of another type.
    TypeMismatch {
        /// The type asked for.
        expected: ValueType,
        /// The type found.
        found: ValueType,
    },
    /// A typed integer accessor found an integer that does not fit the type asked for.
    IntOutOfRange {
        /// The type asked for.
        expected: ValueType,
        /// The type found.
        found: ValueType,
    },
    /// No tensor has the name asked for.
    TensorNotFound,
    /// A typed tensor view asked for another ggml type than the tensor's.
    TensorTypeMismatch {
        /// The tensor.
        tensor: usize,
        /// The type asked for.
        expected: GgmlType,
        /// The tensor's type.
        found: GgmlType,
    },
    /// A typed tensor view needs more alignment than the tensor's bytes have in memory (the
    /// input buffer itself is not aligned enough; see the module docs).
    MisalignedData {
        /// The tensor.
        tensor: usize,
        /// The alignment the view needs.
        align: usize,
    },
}

impl fmt::Display for GgufError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use GgufError::*;
        match *self {
            Truncated { offset } => write!(f, "input ends inside a field at byte {offset}"),
            BadMagic { found } => write!(f, "bad magic {found:02x?} (expected \"GGUF\")"),
            BigEndian => f.write_str("big-endian GGUF files are not supported"),
            UnsupportedVersion(v) => write!(f, "unsupported GGUF version {v} (2 and 3 are read)"),
            LengthOutOfBounds {
                what,
                value,
                offset,
            } => write!(
                f,
                "{what} {value} at byte {offset} exceeds what the rest of the input can hold"
            ),
            LimitExceeded { what, value, limit } => {
                write!(f, "{what} {value} exceeds this reader's limit {limit}")
            }
            BadValueType { type_id, offset } => {
                write!(f, "unknown metadata value type {type_id} at byte {offset}")
            }
            NestedArray { offset } => write!(f, "nested array at byte {offset}"),
            BadBool { value, offset } => write!(f, "bool value {value} at byte {offset}"),
            InvalidUtf8 { offset } => write!(f, "string at byte {offset} is not valid UTF-8"),
            DuplicateKey { first, second } => {
                write!(f, "metadata pairs {first} and {second} have the same key")
            }
            AlignmentNotU32 { found } => {
                write!(f, "general.alignment has type {found}, expected u32")
            }
            BadAlignment { value } => {
                write!(f, "general.alignment {value} is not a power of two")
            }
            UnknownTensorType { tensor, type_id } => {
                write!(f, "tensor {tensor}: unknown ggml type id {type_id}")
            }
            BadDims { tensor, n_dims } => {
                write!(f, "tensor {tensor}: {n_dims} dimensions (1 to 4 allowed)")
            }
            ZeroDimension { tensor, dim } => write!(f, "tensor {tensor}: ne[{dim}] is 0"),
            NotBlockMultiple { tensor, ne0, block } => write!(
                f,
                "tensor {tensor}: ne[0] = {ne0} is not a multiple of the block size {block}"
            ),
            SizeOverflow { tensor } => write!(f, "tensor {tensor}: size overflows"),
            MisalignedOffset { tensor, offset } => write!(
                f,
                "tensor {tensor}: offset {offset} is not a multiple of the alignment"
            ),
            TensorOutOfBounds { tensor } => {
                write!(f, "tensor {tensor}: bytes lie outside the data section")
            }
            TensorsOverlap { first, second } => {
                write!(f, "tensors {first} and {second} overlap")
            }
            DuplicateTensor { first, second } => {
                write!(f, "tensors {first} and {second} have the same name")
            }
            HeaderOverflow => f.write_str("header size overflows usize"),
            TypeMismatch { expected, found } => {
                write!(f, "metadata value has type {found}, expected {expected}")
            }
            IntOutOfRange { expected, found } => {
                write!(f, "{found} metadata value does not fit in {expected}")
            }
            TensorNotFound => f.write_str("no tensor with that name"),
            TensorTypeMismatch {
                tensor,
                expected,
                found,
            } => write!(f, "tensor {tensor} has type {found}, viewed as {expected}"),
            MisalignedData { tensor, align } => write!(
                f,
                "tensor {tensor}: data is not {align}-byte aligned in memory (align the input buffer)"
            ),
        }
    }
}

impl core::error::Error for GgufError {}
