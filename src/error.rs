//! Error types. Small, `Copy`, `#[non_exhaustive]`, implementing `core::error::Error`.
//!
//! Each layer has its own enum ([`crate::gguf::GgufError`] for the file reader, [`ShapeError`]
//! for kernel entry points); [`Error`] wraps them for callers that want one type.

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
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Gguf(e) => write!(f, "GGUF: {e}"),
            Error::Shape(e) => write!(f, "shape: {e}"),
        }
    }
}

impl core::error::Error for Error {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Error::Gguf(e) => Some(e),
            Error::Shape(e) => Some(e),
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
