//! Zero-copy, validating GGUF reader over `&[u8]`.
//!
//! [`Gguf::parse`] walks the whole header once, checks every rule below, and keeps only a few
//! offsets; everything afterwards — metadata, tensor infos, tensor bytes — is borrowed from the
//! input and re-read lazily (re-walking validated bytes is cheap). Nothing allocates and no
//! input can make the reader panic: every read is bounds-checked and every size is computed
//! with checked arithmetic.
//!
//! # File layout (GGUF v2 / v3, little-endian)
//!
//! ```text
//! header       magic "GGUF" (4 bytes) | version u32 | tensor_count u64 | kv_count u64
//! metadata     kv_count × { key: string | value_type u32 | value }
//! tensor infos tensor_count × { name: string | n_dims u32 | ne[n_dims] u64 | type u32 | offset u64 }
//! padding      zeros up to the next multiple of `general.alignment` (default 32)
//! data         tensor bytes; tensor i lies at data_start + offset_i
//! ```
//!
//! A string is a `u64` byte length followed by the bytes. A value is one of 13 types
//! ([`ValueType`]): `u8 i8 u16 i16 u32 i32 f32 bool string array u64 i64 f64`, numbers
//! little-endian, a bool one byte; an array is an element type `u32`, a count `u64`, then the
//! elements. `ne[0]` is the contiguous dimension; a tensor's type is a ggml type id
//! ([`GgmlType`]), its data `ne[0] / block_elems` blocks per row.
//!
//! # What `parse` checks
//!
//! - magic `"GGUF"`; version 2 or 3 ([`GgufError::UnsupportedVersion`]: v1 used 32-bit counts);
//!   a version that reads as `x << 16` is a big-endian file ([`GgufError::BigEndian`]);
//! - every read stays inside the input ([`GgufError::Truncated`]);
//! - every count and length fits in the bytes that remain, assuming the smallest possible
//!   items (13 bytes per key/value pair, 32 per tensor info, 8 per string, the element size per
//!   array element), before anything is walked ([`GgufError::LengthOutOfBounds`]) — so a huge
//!   count fails at once instead of looping;
//! - counts and name lengths are within this reader's limits ([`MAX_KV`], [`MAX_TENSORS`],
//!   [`MAX_KEY_LEN`], [`MAX_TENSOR_NAME_LEN`]; [`GgufError::LimitExceeded`]);
//! - value types are known ([`GgufError::BadValueType`]), arrays are not nested
//!   ([`GgufError::NestedArray`]), bools are 0 or 1 ([`GgufError::BadBool`]), and every key,
//!   tensor name and string value — array elements included — is UTF-8
//!   ([`GgufError::InvalidUtf8`]); keys are unique ([`GgufError::DuplicateKey`]);
//! - `general.alignment`, if present, is a `u32` ([`GgufError::AlignmentNotU32`]) and a
//!   non-zero power of two ([`GgufError::BadAlignment`]);
//! - per tensor: `n_dims` in 1..=4 ([`GgufError::BadDims`]); every `ne` ≥ 1
//!   ([`GgufError::ZeroDimension`]: ggml accepts empty tensors, but no model file has one, and
//!   requiring ≥ 1 element keeps every tensor a non-empty byte range and `rows`/`cols` exact);
//!   a known ggml type ([`GgufError::UnknownTensorType`]); `ne[0]` a multiple of the type's block
//!   size ([`GgufError::NotBlockMultiple`]); element count and byte size computed in `u64`
//!   without overflow and fitting `usize` — 32 bits on `thumbv7em` ([`GgufError::SizeOverflow`]);
//!   offset a multiple of the alignment ([`GgufError::MisalignedOffset`]); bytes inside the data
//!   section ([`GgufError::TensorOutOfBounds`]); no two tensors overlap
//!   ([`GgufError::TensorsOverlap`]) or share a name ([`GgufError::DuplicateTensor`]);
//! - the data section starts at the header's end rounded up to the alignment, computed without
//!   overflow ([`GgufError::HeaderOverflow`]). A file without tensors (a vocabulary-only GGUF)
//!   may end before that point; its data section is then empty.
//!
//! Tensors need not be packed or in offset order (llama.cpp writes them packed and in order;
//! this reader only needs them disjoint).
//!
//! # Cost
//!
//! `parse` is one validating walk of the header plus the uniqueness checks (see `unique.rs`):
//! with no duplicates and tensors in offset order — every real file — that is two walks of the
//! metadata and four of the tensor infos in all.
//! For hostile input the pairwise checks are bounded by the limits: at most
//! `MAX_TENSORS² / 2` cheap comparisons and `MAX_TENSORS / 32` walks of the tensor infos
//! (about 0.4 s at the limit on a desktop core), and at most `MAX_KV / 32` walks of the
//! metadata (linear in the file size).
//!
//! Lookups walk: [`Gguf::get`] and [`Gguf::tensor`] are O(pairs) / O(tensors). The parser
//! remembers where the largest string arrays end, so a walk over the metadata jumps over a
//! tokenizer's vocabulary instead of stepping through it. Reading a model's configuration
//! (tens of keys) and tensors (hundreds) this way costs microseconds.
//!
//! # Example
//!
//! ```
//! use phi3_kernels::gguf::{Gguf, GgufError};
//! use phi3_kernels::quant::BlockQ4_0;
//!
//! fn inspect(bytes: &[u8]) -> Result<(), GgufError> {
//!     let gguf = Gguf::parse(bytes)?;
//!     let layers = gguf.get_u32("phi3.block_count")?.unwrap_or(0);
//!     let eps = gguf.get_f32("phi3.attention.layer_norm_rms_epsilon")?;
//!     if let Some(tokens) = gguf.get_array("tokenizer.ggml.tokens")? {
//!         for (id, piece) in tokens.iter_str()?.enumerate() {
//!             let _ = (id, piece); // build the tokenizer's own index here
//!         }
//!     }
//!     let embd = gguf.tensor("token_embd.weight")?;
//!     let blocks: &[BlockQ4_0] = embd.view()?; // TensorTypeMismatch if it is not Q4_0
//!     let _ = (layers, eps, blocks, embd.rows(), embd.cols());
//!     Ok(())
//! }
//! # let mut tiny = b"GGUF".to_vec();
//! # tiny.extend(3u32.to_le_bytes());
//! # tiny.extend([0u8; 16]); // no tensors, no metadata
//! # assert_eq!(Gguf::parse(&tiny).unwrap().kv_count(), 0);
//! # assert_eq!(inspect(&tiny), Err(GgufError::TensorNotFound));
//! ```
//!
//! # Memory alignment of tensor views
//!
//! Offsets in the file are aligned (32 bytes by default), so [`Tensor::view`] works when the
//! input buffer itself starts at an address aligned for the block type (2 bytes for most
//! blocks, 4 for `f32` and Q8_K). A memory map is page-aligned; `include_bytes!` and
//! `Vec<u8>` are not guaranteed to be — copy into an aligned buffer, or expect
//! [`GgufError::MisalignedData`].

mod array;
mod error;
mod limits;
mod metadata;
mod reader;
mod tensor;
mod unique;
mod value;
mod value_type;

pub use array::{Array, ArrayElement, ElemIter, StrBytesIter, StrIter};
pub use error::{Field, GgufError};
pub use limits::{MAX_DIMS, MAX_KEY_LEN, MAX_KV, MAX_TENSORS, MAX_TENSOR_NAME_LEN};
pub use metadata::MetadataIter;
pub use tensor::{TableIter, Tensor, TensorCursor, TensorIter, TensorTable};
pub use value::Value;
pub use value_type::ValueType;

use core::fmt;

use metadata::{read_kv, MIN_KV_BYTES};
use reader::Reader;
use tensor::{read_tensor_info, RawTensorIter, MIN_TENSOR_INFO_BYTES};
use value::{SkipTable, Walk};

#[cfg(doc)]
use crate::quant::GgmlType;

/// Data alignment when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: usize = 32;
/// The metadata key that sets the data alignment.
pub const ALIGNMENT_KEY: &str = "general.alignment";

/// A parsed GGUF file: a few offsets into the borrowed bytes.
#[derive(Clone, Copy)]
pub struct Gguf<'a> {
    bytes: &'a [u8],
    version: u32,
    kv_count: usize,
    tensor_count: usize,
    kv_start: usize,
    tensor_info_start: usize,
    alignment: usize,
    data_offset: usize,
    data: &'a [u8],
    skips: SkipTable,
}

impl<'a> Gguf<'a> {
    /// Parses and validates a GGUF file (see the module docs for every rule checked).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, GgufError> {
        let mut r = Reader::new(bytes, 0);
        let magic: [u8; 4] = r.array()?;
        if magic != *b"GGUF" {
            return Err(if magic == *b"FUGG" {
                GgufError::BigEndian
            } else {
                GgufError::BadMagic { found: magic }
            });
        }
        let version = r.u32()?;
        match version {
            2 | 3 => {}
            v if v & 0xffff == 0 && v != 0 => return Err(GgufError::BigEndian),
            v => return Err(GgufError::UnsupportedVersion(v)),
        }
        let tensor_count_at = r.pos();
        let tensor_count_raw = r.u64()?;
        let kv_count_at = r.pos();
        let kv_count = r.u64()?;
        let kv_count = r.count(kv_count, MIN_KV_BYTES, Field::KvCount, kv_count_at)?;
        limit(Field::KvCount, kv_count, MAX_KV)?;
        let tensor_count = r.count(
            tensor_count_raw,
            MIN_TENSOR_INFO_BYTES,
            Field::TensorCount,
            tensor_count_at,
        )?;
        limit(Field::TensorCount, tensor_count, MAX_TENSORS)?;

        let kv_start = r.pos();
        let mut skips = SkipTable::default();
        let mut alignment = DEFAULT_ALIGNMENT;
        for _ in 0..kv_count {
            let (key, value) = read_kv(&mut r, Walk::Validate, &skips)?;
            if let Value::Array(array) = value {
                skips.record(&array);
            }
            if key == ALIGNMENT_KEY {
                alignment = match value {
                    Value::U32(a) if a.is_power_of_two() => {
                        usize::try_from(a).map_err(|_| GgufError::HeaderOverflow)?
                    }
                    Value::U32(a) => return Err(GgufError::BadAlignment { value: a }),
                    other => {
                        return Err(GgufError::AlignmentNotU32 {
                            found: other.value_type(),
                        })
                    }
                };
            }
        }

        let tensor_info_start = r.pos();
        // Now that the metadata is known, the tensor count must fit in what is left.
        r.count(
            tensor_count_raw,
            MIN_TENSOR_INFO_BYTES,
            Field::TensorCount,
            tensor_count_at,
        )?;
        for index in 0..tensor_count {
            read_tensor_info(&mut r, index, alignment)?;
        }
        let header_end = r.pos();
        let data_offset = header_end
            .checked_next_multiple_of(alignment)
            .ok_or(GgufError::HeaderOverflow)?;
        let data = bytes.get(data_offset..).unwrap_or(&[]);

        let gguf = Gguf {
            bytes,
            version,
            kv_count,
            tensor_count,
            kv_start,
            tensor_info_start,
            alignment,
            data_offset,
            data,
            skips,
        };
        gguf.check_unique_keys()?;
        gguf.check_tensor_ranges()?;
        gguf.check_unique_tensor_names()?;
        Ok(gguf)
    }

    fn check_unique_keys(&self) -> Result<(), GgufError> {
        let keys = self
            .metadata()
            .enumerate()
            .map(|(i, (key, _))| (i, key.as_bytes()));
        match unique::find_duplicate_name(keys) {
            Some((first, second)) => Err(GgufError::DuplicateKey { first, second }),
            None => Ok(()),
        }
    }

    fn check_tensor_ranges(&self) -> Result<(), GgufError> {
        for info in self.raw_tensors() {
            if Tensor::new(&info, self.data).is_none() {
                return Err(GgufError::TensorOutOfBounds { tensor: info.index });
            }
        }
        // In bounds, so offset + size fits usize.
        let ranges = self.raw_tensors().map(|info| {
            let start = usize::try_from(info.offset).unwrap_or(usize::MAX);
            (info.index, start, start.saturating_add(info.n_bytes))
        });
        match unique::find_overlap(ranges) {
            Some((first, second)) => Err(GgufError::TensorsOverlap { first, second }),
            None => Ok(()),
        }
    }

    fn check_unique_tensor_names(&self) -> Result<(), GgufError> {
        let names = self
            .raw_tensors()
            .map(|info| (info.index, info.name.as_bytes()));
        match unique::find_duplicate_name(names) {
            Some((first, second)) => Err(GgufError::DuplicateTensor { first, second }),
            None => Ok(()),
        }
    }

    fn raw_tensors(&self) -> RawTensorIter<'a> {
        RawTensorIter::new(
            Reader::new(self.bytes, self.tensor_info_start),
            self.tensor_count,
            self.alignment,
        )
    }

    /// The GGUF version (2 or 3).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The data alignment: `general.alignment`, or [`DEFAULT_ALIGNMENT`].
    pub fn alignment(&self) -> usize {
        self.alignment
    }

    /// File offset of the data section (the end of the header rounded up to the alignment).
    /// For a file without tensors this may be past the end of the input.
    pub fn data_offset(&self) -> usize {
        self.data_offset
    }

    /// The data section: the input from [`Gguf::data_offset`] on (empty if that is past the
    /// end).
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The whole input.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Number of metadata pairs.
    pub fn kv_count(&self) -> usize {
        self.kv_count
    }

    /// Number of tensors.
    pub fn tensor_count(&self) -> usize {
        self.tensor_count
    }

    /// The metadata pairs `(key, value)` in file order.
    pub fn metadata(&self) -> MetadataIter<'a> {
        MetadataIter::new(
            Reader::new(self.bytes, self.kv_start),
            self.kv_count,
            self.skips,
        )
    }

    /// The value of `key`, if present (walks the metadata: O(pairs)).
    pub fn get(&self, key: &str) -> Option<Value<'a>> {
        self.metadata().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    fn get_int<T: TryFrom<i128>>(
        &self,
        key: &str,
        expected: ValueType,
    ) -> Result<Option<T>, GgufError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let found = value.value_type();
        let int = value
            .as_int()
            .ok_or(GgufError::TypeMismatch { expected, found })?;
        T::try_from(int)
            .map(Some)
            .map_err(|_| GgufError::IntOutOfRange { expected, found })
    }

    /// An integer value of any GGUF integer type, as `u32`: `Ok(None)` if `key` is absent,
    /// [`GgufError::TypeMismatch`] if the value is not an integer, [`GgufError::IntOutOfRange`]
    /// if it does not fit.
    pub fn get_u32(&self, key: &str) -> Result<Option<u32>, GgufError> {
        self.get_int(key, ValueType::U32)
    }

    /// Like [`Gguf::get_u32`], as `i32`.
    pub fn get_i32(&self, key: &str) -> Result<Option<i32>, GgufError> {
        self.get_int(key, ValueType::I32)
    }

    /// Like [`Gguf::get_u32`], as `u64`.
    pub fn get_u64(&self, key: &str) -> Result<Option<u64>, GgufError> {
        self.get_int(key, ValueType::U64)
    }

    /// Like [`Gguf::get_u32`], as `i64`.
    pub fn get_i64(&self, key: &str) -> Result<Option<i64>, GgufError> {
        self.get_int(key, ValueType::I64)
    }

    /// Like [`Gguf::get_u32`], as `usize` (out of range reports `expected: U64`).
    pub fn get_usize(&self, key: &str) -> Result<Option<usize>, GgufError> {
        self.get_int(key, ValueType::U64)
    }

    /// An `f32` value (an `f64` is rounded to `f32`): `Ok(None)` if absent,
    /// [`GgufError::TypeMismatch`] for any other type.
    pub fn get_f32(&self, key: &str) -> Result<Option<f32>, GgufError> {
        self.get_typed(key, ValueType::F32, |v| v.as_f32())
    }

    /// An `f32` or `f64` value as `f64`.
    pub fn get_f64(&self, key: &str) -> Result<Option<f64>, GgufError> {
        self.get_typed(key, ValueType::F64, |v| v.as_f64())
    }

    /// A bool value.
    pub fn get_bool(&self, key: &str) -> Result<Option<bool>, GgufError> {
        self.get_typed(key, ValueType::Bool, |v| v.as_bool())
    }

    /// A string value.
    pub fn get_str(&self, key: &str) -> Result<Option<&'a str>, GgufError> {
        self.get_typed(key, ValueType::String, |v| v.as_str())
    }

    /// An array value.
    pub fn get_array(&self, key: &str) -> Result<Option<Array<'a>>, GgufError> {
        self.get_typed(key, ValueType::Array, |v| v.as_array())
    }

    fn get_typed<T>(
        &self,
        key: &str,
        expected: ValueType,
        convert: impl Fn(&Value<'a>) -> Option<T>,
    ) -> Result<Option<T>, GgufError> {
        match self.get(key) {
            None => Ok(None),
            Some(value) => convert(&value).map(Some).ok_or(GgufError::TypeMismatch {
                expected,
                found: value.value_type(),
            }),
        }
    }

    /// The tensors, in the order of the tensor-info list.
    pub fn tensors(&self) -> TensorIter<'a> {
        TensorIter::new(self.raw_tensors(), self.data)
    }

    /// The tensor-info list as a small handle (see [`TensorTable`]).
    pub fn tensor_table(&self) -> TensorTable<'a> {
        TensorTable::new(
            self.bytes,
            self.tensor_info_start,
            self.tensor_count,
            self.alignment,
            self.data,
        )
    }

    /// The tensor named `name` (walks the tensor infos: O(tensors)), or `None`.
    pub fn find_tensor(&self, name: &str) -> Option<Tensor<'a>> {
        self.tensors().find(|t| t.name() == name)
    }

    /// The tensor named `name`, or [`GgufError::TensorNotFound`].
    pub fn tensor(&self, name: &str) -> Result<Tensor<'a>, GgufError> {
        self.find_tensor(name).ok_or(GgufError::TensorNotFound)
    }

    /// The tensor at `index` in the tensor-info list (O(index)), or `None`.
    pub fn tensor_at(&self, index: usize) -> Option<Tensor<'a>> {
        self.tensors().nth(index)
    }

    /// A typed view of the tensor named `name`: [`Gguf::tensor`] then [`Tensor::view`].
    pub fn view<B: crate::quant::GgmlBlock>(&self, name: &str) -> Result<&'a [B], GgufError> {
        self.tensor(name)?.view()
    }
}

fn limit(what: Field, value: usize, max: usize) -> Result<(), GgufError> {
    if value > max {
        Err(GgufError::LimitExceeded {
            what,
            value: value as u64,
            limit: max as u64,
        })
    } else {
        Ok(())
    }
}

impl fmt::Debug for Gguf<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gguf")
            .field("version", &self.version)
            .field("kv_count", &self.kv_count)
            .field("tensor_count", &self.tensor_count)
            .field("alignment", &self.alignment)
            .field("data_offset", &self.data_offset)
            .field("len", &self.bytes.len())
            .finish()
    }
}
