//! Metadata values: [`Value`], and reading one value from the file (with the [`SkipTable`]
//! that lets re-walks jump over big string arrays). Their types ([`ValueType`]) are in
//! `value_type.rs`, which the error and array files use too.
//!
//! Values borrow from the file: a string is a `&'a str` into the input, an array
//! ([`super::Array`]) is its element bytes plus the element type and count.

use super::array::Array;
use super::error::{Field, GgufError};
use super::reader::{offset, Reader};
use super::value_type::ValueType;

/// One metadata value, borrowed from the file.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    /// A `u8`.
    U8(u8),
    /// An `i8`.
    I8(i8),
    /// A `u16`.
    U16(u16),
    /// An `i16`.
    I16(i16),
    /// A `u32`.
    U32(u32),
    /// An `i32`.
    I32(i32),
    /// An `f32`.
    F32(f32),
    /// A bool.
    Bool(bool),
    /// A string (validated UTF-8).
    Str(&'a str),
    /// An array of any non-array type.
    Array(Array<'a>),
    /// A `u64`.
    U64(u64),
    /// An `i64`.
    I64(i64),
    /// An `f64`.
    F64(f64),
}

impl<'a> Value<'a> {
    /// The value's GGUF type.
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::U8(_) => ValueType::U8,
            Value::I8(_) => ValueType::I8,
            Value::U16(_) => ValueType::U16,
            Value::I16(_) => ValueType::I16,
            Value::U32(_) => ValueType::U32,
            Value::I32(_) => ValueType::I32,
            Value::F32(_) => ValueType::F32,
            Value::Bool(_) => ValueType::Bool,
            Value::Str(_) => ValueType::String,
            Value::Array(_) => ValueType::Array,
            Value::U64(_) => ValueType::U64,
            Value::I64(_) => ValueType::I64,
            Value::F64(_) => ValueType::F64,
        }
    }

    /// The value of any integer type, widened to `i128` (every GGUF integer fits); `None` for
    /// non-integers (bools are not integers here).
    pub fn as_int(&self) -> Option<i128> {
        Some(match *self {
            Value::U8(v) => v.into(),
            Value::I8(v) => v.into(),
            Value::U16(v) => v.into(),
            Value::I16(v) => v.into(),
            Value::U32(v) => v.into(),
            Value::I32(v) => v.into(),
            Value::U64(v) => v.into(),
            Value::I64(v) => v.into(),
            _ => return None,
        })
    }

    /// An `f32` as is, an `f64` rounded to `f32`; `None` for anything else.
    pub fn as_f32(&self) -> Option<f32> {
        match *self {
            Value::F32(v) => Some(v),
            Value::F64(v) => Some(v as f32),
            _ => None,
        }
    }

    /// An `f32` or `f64` as `f64`; `None` for anything else.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(v.into()),
            Value::F64(v) => Some(v),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&'a str> {
        match *self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The bool, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The array, if this is one.
    pub fn as_array(&self) -> Option<Array<'a>> {
        match *self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
}

/// Big string arrays whose end the parser remembers, so that later walks over the metadata
/// (lookups, iteration, the duplicate-key check) jump over them instead of stepping through
/// every string.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SkipTable {
    /// `(start, end, len)`: element bytes `start..end` of a string array of `len` elements;
    /// `len == 0` marks an empty slot.
    spans: [(usize, usize, usize); SKIP_SLOTS],
}

/// String arrays remembered by [`SkipTable`] (real files have two big ones: tokens, merges).
const SKIP_SLOTS: usize = 4;
/// Smaller string arrays are cheap to step through.
const SKIP_MIN_LEN: usize = 64;

impl SkipTable {
    /// Remembers `array` if it is a string array among the largest seen so far.
    pub(crate) fn record(&mut self, array: &Array<'_>) {
        let len = array.len();
        if array.elem_type() != ValueType::String || len < SKIP_MIN_LEN {
            return;
        }
        let Some(end) = array.offset().checked_add(array.raw_bytes().len()) else {
            return;
        };
        let smallest = self.spans.iter_mut().min_by_key(|span| span.2);
        if let Some(slot) = smallest {
            if slot.2 < len {
                *slot = (array.offset(), end, len);
            }
        }
    }

    /// The end of the remembered string array whose elements start at `start`.
    fn end_of(&self, start: usize) -> Option<usize> {
        self.spans
            .iter()
            .find(|span| span.2 != 0 && span.0 == start)
            .map(|span| span.1)
    }
}

/// How much checking a walk over values does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Walk {
    /// Full validation (the parse): bools are 0/1, every string is UTF-8.
    Validate,
    /// Re-walk of validated bytes: string array elements are only skipped.
    Trusted,
}

/// Reads one value of type `ty` at the reader's position.
pub(crate) fn read_value<'a>(
    r: &mut Reader<'a>,
    ty: ValueType,
    walk: Walk,
    skips: &SkipTable,
) -> Result<Value<'a>, GgufError> {
    Ok(match ty {
        ValueType::U8 => Value::U8(r.u8()?),
        ValueType::I8 => Value::I8(i8::from_le_bytes(r.array()?)),
        ValueType::U16 => Value::U16(u16::from_le_bytes(r.array()?)),
        ValueType::I16 => Value::I16(i16::from_le_bytes(r.array()?)),
        ValueType::U32 => Value::U32(r.u32()?),
        ValueType::I32 => Value::I32(i32::from_le_bytes(r.array()?)),
        ValueType::F32 => Value::F32(f32::from_le_bytes(r.array()?)),
        ValueType::U64 => Value::U64(r.u64()?),
        ValueType::I64 => Value::I64(i64::from_le_bytes(r.array()?)),
        ValueType::F64 => Value::F64(f64::from_le_bytes(r.array()?)),
        ValueType::Bool => {
            let at = r.pos();
            let b = r.u8()?;
            if b > 1 {
                return Err(GgufError::BadBool {
                    value: b,
                    offset: offset(at),
                });
            }
            Value::Bool(b != 0)
        }
        ValueType::String => Value::Str(r.str(Field::StringLen, None)?),
        ValueType::Array => Value::Array(read_array(r, walk, skips)?),
    })
}

/// Reads an array (element type, count, elements) at the reader's position.
fn read_array<'a>(
    r: &mut Reader<'a>,
    walk: Walk,
    skips: &SkipTable,
) -> Result<Array<'a>, GgufError> {
    let type_at = r.pos();
    let type_id = r.u32()?;
    let elem = ValueType::from_id(type_id).ok_or(GgufError::BadValueType {
        type_id,
        offset: offset(type_at),
    })?;
    if elem == ValueType::Array {
        return Err(GgufError::NestedArray {
            offset: offset(type_at),
        });
    }
    let len_at = r.pos();
    let len = r.u64()?;
    let len = r.count(len, elem.min_size(), Field::ArrayLen, len_at)?;
    let start = r.pos();
    let bytes = match elem.fixed_size() {
        Some(size) => {
            let n_bytes = len.checked_mul(size).ok_or(GgufError::LengthOutOfBounds {
                what: Field::ArrayLen,
                value: len as u64,
                offset: offset(len_at),
            })?;
            let bytes = r.take(n_bytes)?;
            if elem == ValueType::Bool {
                if let Some(i) = bytes.iter().position(|&b| b > 1) {
                    return Err(GgufError::BadBool {
                        value: bytes.get(i).copied().unwrap_or(0),
                        offset: offset(start.saturating_add(i)),
                    });
                }
            }
            bytes
        }
        None => {
            let mut elems = *r;
            match (walk, skips.end_of(start)) {
                (Walk::Trusted, Some(end)) => elems = Reader::new(r.all(), end),
                (Walk::Trusted, None) => {
                    for _ in 0..len {
                        elems.string_bytes(Field::StringLen, None)?;
                    }
                }
                (Walk::Validate, _) => {
                    for _ in 0..len {
                        elems.str(Field::StringLen, None)?;
                    }
                }
            }
            let n_bytes = elems.pos().saturating_sub(start);
            r.take(n_bytes)?
        }
    };
    Ok(Array::new(elem, len, start, bytes))
}
