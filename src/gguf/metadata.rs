//! Metadata key/value pairs: reading one pair, and the lazy iterator over all of them.

use core::iter::FusedIterator;

use super::error::{Field, GgufError};
use super::limits::MAX_KEY_LEN;
use super::reader::{offset, Reader};
use super::value::{read_value, SkipTable, Value, Walk};
use super::value_type::ValueType;

/// The smallest key/value pair: an empty key (8 bytes), the type (4) and a one-byte value.
pub(crate) const MIN_KV_BYTES: usize = 8 + 4 + 1;

/// Reads one key/value pair at the reader's position.
pub(crate) fn read_kv<'a>(
    r: &mut Reader<'a>,
    walk: Walk,
    skips: &SkipTable,
) -> Result<(&'a str, Value<'a>), GgufError> {
    let key = r.str(Field::KeyLen, Some(MAX_KEY_LEN))?;
    let type_at = r.pos();
    let type_id = r.u32()?;
    let ty = ValueType::from_id(type_id).ok_or(GgufError::BadValueType {
        type_id,
        offset: offset(type_at),
    })?;
    let value = read_value(r, ty, walk, skips)?;
    Ok((key, value))
}

/// Iterator over the metadata pairs `(key, value)`, in file order.
///
/// Each step reads one pair from the validated bytes: O(1) for scalars and numeric arrays,
/// O(1) for the largest string arrays (the parser remembers where they end), O(len) for other
/// string arrays.
#[derive(Clone, Debug)]
pub struct MetadataIter<'a> {
    reader: Reader<'a>,
    left: usize,
    skips: SkipTable,
}

impl<'a> MetadataIter<'a> {
    pub(crate) fn new(reader: Reader<'a>, count: usize, skips: SkipTable) -> Self {
        MetadataIter {
            reader,
            left: count,
            skips,
        }
    }
}

impl<'a> Iterator for MetadataIter<'a> {
    type Item = (&'a str, Value<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        match read_kv(&mut self.reader, Walk::Trusted, &self.skips) {
            Ok(kv) => {
                self.left -= 1;
                Some(kv)
            }
            // Cannot happen on parsed bytes; end the iteration rather than panic.
            Err(_) => {
                self.left = 0;
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for MetadataIter<'_> {}
impl FusedIterator for MetadataIter<'_> {}
