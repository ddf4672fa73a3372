//! Carving typed regions out of the caller's byte buffer (no `unsafe`: `align_offset`,
//! `split_at_mut` and `bytemuck::try_cast_slice_mut`).

use super::TokenizerError;

/// Bytes a region of `n` `u32`s may need, counting the worst-case alignment padding.
pub(super) fn u32_region_bytes(n: usize) -> Result<usize, TokenizerError> {
    n.checked_mul(4)
        .and_then(|b| b.checked_add(3))
        .ok_or(TokenizerError::TooLarge)
}

/// Splits the first `n` bytes off `buf`.
pub(super) fn take_bytes<'a>(
    buf: &mut &'a mut [u8],
    n: usize,
) -> Result<&'a mut [u8], TokenizerError> {
    let whole = core::mem::take(buf);
    if n > whole.len() {
        let got = whole.len();
        *buf = whole;
        return Err(TokenizerError::BufferTooSmall { needed: n, got });
    }
    let (head, tail) = whole.split_at_mut(n);
    *buf = tail;
    Ok(head)
}

/// Splits `n` `u32`s (4-byte aligned) off `buf`, skipping up to 3 bytes of padding.
pub(super) fn take_u32<'a>(
    buf: &mut &'a mut [u8],
    n: usize,
) -> Result<&'a mut [u32], TokenizerError> {
    let pad = buf.as_ptr().align_offset(4);
    let bytes = n.checked_mul(4).ok_or(TokenizerError::TooLarge)?;
    let needed = pad.checked_add(bytes).ok_or(TokenizerError::TooLarge)?;
    if needed > buf.len() {
        return Err(TokenizerError::BufferTooSmall {
            needed,
            got: buf.len(),
        });
    }
    take_bytes(buf, pad)?;
    let region = take_bytes(buf, bytes)?;
    bytemuck::try_cast_slice_mut(region)
        .map_err(|_| TokenizerError::BufferTooSmall { needed, got: 0 })
}

/// Like [`take_u32`], viewed as `[u32; N]` records.
pub(super) fn take_records<'a, const N: usize>(
    buf: &mut &'a mut [u8],
    n: usize,
) -> Result<&'a mut [[u32; N]], TokenizerError>
where
    [u32; N]: bytemuck::Pod,
{
    let words = n.checked_mul(N).ok_or(TokenizerError::TooLarge)?;
    let flat = take_u32(buf, words)?;
    bytemuck::try_cast_slice_mut(flat).map_err(|_| TokenizerError::TooLarge)
}
