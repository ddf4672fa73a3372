//! The GGUF metadata value types ([`ValueType`]): ids, sizes and names. A leaf: the error,
//! array and value files all name it.

use core::fmt;

/// The 13 GGUF metadata value types, with their GGUF numeric ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ValueType {
    /// `u8` (id 0).
    U8 = 0,
    /// `i8` (id 1).
    I8 = 1,
    /// `u16` (id 2).
    U16 = 2,
    /// `i16` (id 3).
    I16 = 3,
    /// `u32` (id 4).
    U32 = 4,
    /// `i32` (id 5).
    I32 = 5,
    /// `f32` (id 6).
    F32 = 6,
    /// `bool`, one byte 0 or 1 (id 7).
    Bool = 7,
    /// UTF-8 string: `u64` byte length, then the bytes (id 8).
    String = 8,
    /// Array: `u32` element type, `u64` count, then the elements (id 9).
    Array = 9,
    /// `u64` (id 10).
    U64 = 10,
    /// `i64` (id 11).
    I64 = 11,
    /// `f64` (id 12).
    F64 = 12,
}

impl ValueType {
    /// The type with GGUF id `id`, or `None`.
    pub const fn from_id(id: u32) -> Option<Self> {
        use ValueType::*;
        Some(match id {
            0 => U8,
            1 => I8,
            2 => U16,
            3 => I16,
            4 => U32,
            5 => I32,
            6 => F32,
            7 => Bool,
            8 => String,
            9 => Array,
            10 => U64,
            11 => I64,
            12 => F64,
            _ => return None,
        })
    }

    /// The GGUF id.
    pub const fn id(self) -> u32 {
        self as u32
    }

    /// The size in bytes of one value, or `None` for strings and arrays.
    pub const fn fixed_size(self) -> Option<usize> {
        use ValueType::*;
        match self {
            U8 | I8 | Bool => Some(1),
            U16 | I16 => Some(2),
            U32 | I32 | F32 => Some(4),
            U64 | I64 | F64 => Some(8),
            String | Array => None,
        }
    }

    /// The smallest encoding of one value of this type, in bytes (8 for a string: its length).
    pub(crate) const fn min_size(self) -> usize {
        match self.fixed_size() {
            Some(n) => n,
            // A string is at least its u64 length; an array at least its type and count.
            None => match self {
                ValueType::Array => 12,
                _ => 8,
            },
        }
    }

    /// A short name: `"u8"`, …, `"string"`, `"array"`.
    pub const fn name(self) -> &'static str {
        use ValueType::*;
        match self {
            U8 => "u8",
            I8 => "i8",
            U16 => "u16",
            I16 => "i16",
            U32 => "u32",
            I32 => "i32",
            F32 => "f32",
            Bool => "bool",
            String => "string",
            Array => "array",
            U64 => "u64",
            I64 => "i64",
            F64 => "f64",
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
