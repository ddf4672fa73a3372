//! Metadata arrays: [`Array`] and its typed iterators.
//!
//! An array is its element type, count and element bytes, borrowed from the file. Numeric and
//! bool elements are decoded from little-endian bytes as they are iterated (`nth(i)` is O(1));
//! string elements are a chain of length-prefixed strings, so reaching element `i` walks the
//! `i` strings before it.

use core::fmt;
use core::iter::FusedIterator;
use core::marker::PhantomData;

use super::error::{Field, GgufError};
use super::reader::Reader;
use super::value_type::ValueType;

/// A metadata array: element type, count, and the element bytes as stored in the file.
///
/// Typed access: [`Array::iter`] (or `iter_u8` … `iter_f64`, `iter_bool`) for numeric and
/// bool arrays — each element is decoded from little-endian bytes, and `nth(i)` is O(1);
/// [`Array::iter_str`] / [`Array::iter_str_bytes`] for string arrays — O(1) per step, but
/// `nth(i)` is O(i) because strings are length-prefixed. A caller that needs random access to
/// a large string array (a tokenizer's vocabulary) should walk it once and keep its own index.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Array<'a> {
    elem: ValueType,
    len: usize,
    /// File offset of the first element.
    offset: usize,
    /// Exactly the element bytes.
    bytes: &'a [u8],
}

impl fmt::Debug for Array<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Array")
            .field("elem", &self.elem)
            .field("len", &self.len)
            .field("offset", &self.offset)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

macro_rules! typed_iters {
    ($($name:ident => $t:ty;)+) => {$(
        #[doc = concat!("The elements of a `", stringify!($t), "` array ([`GgufError::TypeMismatch`] otherwise).")]
        pub fn $name(&self) -> Result<ElemIter<'a, $t>, GgufError> {
            self.iter::<$t>()
        }
    )+};
}

impl<'a> Array<'a> {
    /// An array of `len` elements of type `elem` whose bytes are `bytes`, at file offset
    /// `offset` (the parser guarantees they agree).
    pub(crate) fn new(elem: ValueType, len: usize, offset: usize, bytes: &'a [u8]) -> Self {
        Array {
            elem,
            len,
            offset,
            bytes,
        }
    }

    /// The element type (never [`ValueType::Array`]).
    pub fn elem_type(&self) -> ValueType {
        self.elem
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The element bytes exactly as stored (little-endian numbers, or length-prefixed strings).
    pub fn raw_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// File offset of the first element.
    pub fn offset(&self) -> usize {
        self.offset
    }

    fn require_elem(&self, expected: ValueType) -> Result<(), GgufError> {
        if self.elem == expected {
            Ok(())
        } else {
            Err(GgufError::TypeMismatch {
                expected,
                found: self.elem,
            })
        }
    }

    /// The elements of a numeric or bool array as `T` ([`GgufError::TypeMismatch`] when the
    /// element type is not exactly `T`'s).
    pub fn iter<T: ArrayElement>(&self) -> Result<ElemIter<'a, T>, GgufError> {
        self.require_elem(T::TYPE)?;
        Ok(ElemIter {
            chunks: self.bytes.chunks_exact(T::SIZE),
            _elem: PhantomData,
        })
    }

    typed_iters! {
        iter_u8 => u8;
        iter_i8 => i8;
        iter_u16 => u16;
        iter_i16 => i16;
        iter_u32 => u32;
        iter_i32 => i32;
        iter_u64 => u64;
        iter_i64 => i64;
        iter_f32 => f32;
        iter_f64 => f64;
        iter_bool => bool;
    }

    /// The elements of a string array ([`GgufError::TypeMismatch`] otherwise).
    pub fn iter_str(&self) -> Result<StrIter<'a>, GgufError> {
        Ok(StrIter {
            inner: self.iter_str_bytes()?,
        })
    }

    /// The elements of a string array as raw bytes (skips the UTF-8 check that
    /// [`Array::iter_str`] repeats; the parser has already validated every element).
    pub fn iter_str_bytes(&self) -> Result<StrBytesIter<'a>, GgufError> {
        self.require_elem(ValueType::String)?;
        Ok(StrBytesIter {
            reader: Reader::new(self.bytes, 0),
            left: self.len,
        })
    }

    /// The elements as a zero-copy slice, when the element type is `T`'s, the bytes are
    /// aligned for `T` in memory and the host is little-endian; `None` otherwise (use
    /// [`Array::iter`], which always works).
    pub fn as_slice<T: ArrayElement + bytemuck::Pod>(&self) -> Option<&'a [T]> {
        if cfg!(target_endian = "big") || self.elem != T::TYPE {
            return None;
        }
        bytemuck::try_cast_slice(self.bytes).ok()
    }
}

mod sealed {
    /// Decoding of one array element (implemented only in this module's parent).
    pub trait Sealed: Sized {
        /// Encoded size in bytes.
        const SIZE: usize;
        /// Decodes one element from exactly `SIZE` little-endian bytes.
        fn decode(bytes: &[u8]) -> Option<Self>;
    }
}

/// A numeric or bool type that GGUF arrays can hold (`u8` … `f64`, `bool`).
pub trait ArrayElement: sealed::Sealed + Copy {
    /// The GGUF element type.
    const TYPE: ValueType;
}

macro_rules! array_elements {
    ($($t:ty => $vt:ident;)+) => {$(
        impl sealed::Sealed for $t {
            const SIZE: usize = core::mem::size_of::<$t>();
            #[inline]
            fn decode(bytes: &[u8]) -> Option<Self> {
                Some(<$t>::from_le_bytes(bytes.try_into().ok()?))
            }
        }
        impl ArrayElement for $t {
            const TYPE: ValueType = ValueType::$vt;
        }
    )+};
}

array_elements! {
    u8 => U8;
    i8 => I8;
    u16 => U16;
    i16 => I16;
    u32 => U32;
    i32 => I32;
    u64 => U64;
    i64 => I64;
    f32 => F32;
    f64 => F64;
}

impl sealed::Sealed for bool {
    const SIZE: usize = 1;
    #[inline]
    fn decode(bytes: &[u8]) -> Option<Self> {
        bytes.first().map(|&b| b != 0)
    }
}

impl ArrayElement for bool {
    const TYPE: ValueType = ValueType::Bool;
}

/// Iterator over a numeric or bool array's elements, decoded from little-endian bytes.
#[derive(Clone, Debug)]
pub struct ElemIter<'a, T> {
    chunks: core::slice::ChunksExact<'a, u8>,
    _elem: PhantomData<T>,
}

impl<T: ArrayElement> Iterator for ElemIter<'_, T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        self.chunks.next().and_then(T::decode)
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }

    /// O(1).
    #[inline]
    fn nth(&mut self, n: usize) -> Option<T> {
        self.chunks.nth(n).and_then(T::decode)
    }
}

impl<T: ArrayElement> DoubleEndedIterator for ElemIter<'_, T> {
    #[inline]
    fn next_back(&mut self) -> Option<T> {
        self.chunks.next_back().and_then(T::decode)
    }
}

impl<T: ArrayElement> ExactSizeIterator for ElemIter<'_, T> {}
impl<T: ArrayElement> FusedIterator for ElemIter<'_, T> {}

/// Iterator over a string array's elements as bytes.
#[derive(Clone, Debug)]
pub struct StrBytesIter<'a> {
    reader: Reader<'a>,
    left: usize,
}

impl<'a> Iterator for StrBytesIter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        match self.reader.string_bytes(Field::StringLen, None) {
            Ok(s) => {
                self.left -= 1;
                Some(s)
            }
            Err(_) => {
                self.left = 0;
                None
            }
        }
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for StrBytesIter<'_> {}
impl FusedIterator for StrBytesIter<'_> {}

/// Iterator over a string array's elements.
#[derive(Clone, Debug)]
pub struct StrIter<'a> {
    inner: StrBytesIter<'a>,
}

impl<'a> Iterator for StrIter<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        let bytes = self.inner.next()?;
        match core::str::from_utf8(bytes) {
            Ok(s) => Some(s),
            Err(_) => {
                self.inner.left = 0;
                None
            }
        }
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl ExactSizeIterator for StrIter<'_> {}
impl FusedIterator for StrIter<'_> {}
