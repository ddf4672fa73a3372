//! A bounds-checked little-endian cursor over the input bytes.
//!
//! Every read either returns the bytes it asked for or [`GgufError::Truncated`] at the field's
//! offset; positions only grow and never pass the end of the input. Counts read from the file go
//! through [`Reader::count`], which rejects any count the remaining bytes could not hold.

use super::error::{Field, GgufError};

/// A position in the input.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

/// A file offset as carried by errors.
#[inline]
pub(crate) fn offset(pos: usize) -> u64 {
    // usize is at most 64 bits on every target Rust supports.
    pos as u64
}

impl<'a> Reader<'a> {
    /// A cursor at `pos` (which may be past the end: every read then fails).
    pub(crate) fn new(bytes: &'a [u8], pos: usize) -> Self {
        Reader { bytes, pos }
    }

    /// The current position.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// The whole input.
    pub(crate) fn all(&self) -> &'a [u8] {
        self.bytes
    }

    /// Bytes left after the current position.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], GgufError> {
        let truncated = GgufError::Truncated {
            offset: offset(self.pos),
        };
        let end = self.pos.checked_add(n).ok_or(truncated)?;
        let out = self.bytes.get(self.pos..end).ok_or(truncated)?;
        self.pos = end;
        Ok(out)
    }

    /// The next `N` bytes as an array.
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], GgufError> {
        let at = self.pos;
        self.take(N)?
            .try_into()
            .map_err(|_| GgufError::Truncated { offset: offset(at) })
    }

    pub(crate) fn u8(&mut self) -> Result<u8, GgufError> {
        Ok(u8::from_le_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// Checks that `count` items of at least `min_size` bytes each fit in the remaining bytes,
    /// and returns the count as `usize`. `at` is where the count field starts.
    pub(crate) fn count(
        &self,
        count: u64,
        min_size: usize,
        what: Field,
        at: usize,
    ) -> Result<usize, GgufError> {
        let max = self.remaining() / min_size.max(1);
        match usize::try_from(count) {
            Ok(n) if n <= max => Ok(n),
            _ => Err(GgufError::LengthOutOfBounds {
                what,
                value: count,
                offset: offset(at),
            }),
        }
    }

    /// A GGUF string (`u64` length, then bytes), unvalidated; `max_len` is a reader limit.
    pub(crate) fn string_bytes(
        &mut self,
        what: Field,
        max_len: Option<usize>,
    ) -> Result<&'a [u8], GgufError> {
        let at = self.pos;
        let raw_len = self.u64()?;
        let len = self.count(raw_len, 1, what, at)?;
        if let Some(limit) = max_len {
            if len > limit {
                return Err(GgufError::LimitExceeded {
                    what,
                    value: raw_len,
                    limit: limit as u64,
                });
            }
        }
        self.take(len)
    }

    /// A GGUF string validated as UTF-8.
    pub(crate) fn str(
        &mut self,
        what: Field,
        max_len: Option<usize>,
    ) -> Result<&'a str, GgufError> {
        let bytes = self.string_bytes(what, max_len)?;
        let start = self.pos.saturating_sub(bytes.len());
        core::str::from_utf8(bytes).map_err(|_| GgufError::InvalidUtf8 {
            offset: offset(start),
        })
    }
}
