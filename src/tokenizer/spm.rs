//! SentencePiece (llama.cpp's `llama` vocabulary type): bigram merges by score.
//!
//! For one text fragment: spaces become `▁` (and one `▁` is prepended when the fragment
//! needs the space prefix), the text is cut into UTF-8 characters (the symbols, a doubly
//! linked list), and every adjacent pair whose concatenation is a token goes into a max-heap
//! keyed by that token's score (ties: leftmost first). Popping merges the pair if both
//! symbols are still as they were when it was pushed (their lengths add up to the pair's),
//! then pushes the two new neighbouring pairs. When the heap is empty each remaining symbol is
//! a token, or is emitted as its bytes (`<0xNN>` byte fallback). This is llama.cpp's
//! `llm_tokenizer_spm_session` step for step, so ties resolve identically.
//!
//! Scratch: the escaped text (≤ 3 bytes per input byte + 3), one `[start, len, prev, next,
//! _]` record per symbol, and heap room for 3 pushes per symbol (n − 1 initial pairs, at most
//! two per merge).
// Every index here is a `u8` (or a nibble) into a 256- (or 16-) entry table: in bounds by type.
#![allow(clippy::indexing_slicing)]

use super::error::TokenizerError;
use super::heap::Heap;
use super::sink::{Sink, Work};
use super::vocab::{Vocab, NONE};

const SPACE_MARK: [u8; 3] = [0xe2, 0x96, 0x81]; // U+2581 '▁'

/// Heap order: higher score first, then the leftmost pair.
fn better(a: &[u32; 4], b: &[u32; 4]) -> bool {
    let (sa, sb) = (f32::from_bits(a[0]), f32::from_bits(b[0]));
    sb < sa || (sb == sa && b[1] > a[1])
}

/// Length of the UTF-8 sequence that starts with `lead` (llama.cpp's `unicode_len_utf8`).
#[inline]
pub(super) fn utf8_len(lead: u8) -> usize {
    match lead >> 4 {
        0xc | 0xd => 2,
        0xe => 3,
        0xf => 4,
        _ => 1,
    }
}

pub(super) fn encode(
    vocab: &Vocab<'_, '_>,
    text: &str,
    space_prefix: bool,
    work: &mut Work<'_>,
    sink: &mut Sink<'_>,
) -> Result<(), TokenizerError> {
    // 1. Escape spaces.
    let buf = &mut *work.text;
    let mut len = 0usize;
    let mut put = |bytes: &[u8], len: &mut usize| -> Result<(), TokenizerError> {
        let dst = buf
            .get_mut(*len..*len + bytes.len())
            .ok_or(TokenizerError::TextTooLong { len: *len, max: 0 })?;
        dst.copy_from_slice(bytes);
        *len += bytes.len();
        Ok(())
    };
    if space_prefix {
        put(&SPACE_MARK, &mut len)?;
    }
    for &b in text.as_bytes() {
        if b == b' ' {
            put(&SPACE_MARK, &mut len)?;
        } else {
            put(core::slice::from_ref(&b), &mut len)?;
        }
    }
    let text: &[u8] = work.text.get(..len).unwrap_or(&[]);
    if text.is_empty() {
        return Ok(());
    }

    // 2. One symbol per UTF-8 character.
    let syms = &mut *work.syms;
    let mut n_syms = 0usize;
    let mut offs = 0usize;
    while offs < len {
        let n = utf8_len(text.get(offs).copied().unwrap_or(0)).min(len - offs);
        let sym = syms
            .get_mut(n_syms)
            .ok_or(TokenizerError::TextTooLong { len, max: 0 })?;
        let prev = if n_syms == 0 { NONE } else { n_syms as u32 - 1 };
        let next = if offs + n == len {
            NONE
        } else {
            n_syms as u32 + 1
        };
        *sym = [offs as u32, n as u32, prev, next, NONE];
        offs += n;
        n_syms += 1;
    }

    // 3. Merge by score.
    let mut heap = Heap::new(&mut *work.heap, better);
    for i in 1..n_syms {
        try_add_bigram(vocab, text, syms, &mut heap, i as u32 - 1, i as u32)?;
    }
    while let Some([_, left, right, size]) = heap.pop() {
        let (Some(l), Some(r)) = (get(syms, left), get(syms, right)) else {
            continue;
        };
        if l[1] == 0 || r[1] == 0 || l[1] + r[1] != size {
            continue;
        }
        let merged_next = r[3];
        if let Some(ls) = syms.get_mut(left as usize) {
            ls[1] += r[1];
            ls[3] = merged_next;
        }
        if let Some(rs) = syms.get_mut(right as usize) {
            rs[1] = 0;
        }
        if let Some(ns) = syms.get_mut(merged_next as usize) {
            ns[2] = left;
        }
        try_add_bigram(vocab, text, syms, &mut heap, l[2], left)?;
        try_add_bigram(vocab, text, syms, &mut heap, left, merged_next)?;
    }

    // 4. Emit: a token per symbol, or its bytes.
    let mut i = 0u32;
    while let Some(sym) = get(syms, i) {
        let start = sym[0] as usize;
        let piece = text.get(start..start + sym[1] as usize).unwrap_or(&[]);
        match vocab.lookup(piece) {
            Some(id) => sink.push(id),
            None => {
                for &b in piece {
                    match vocab.byte_tokens[b as usize] {
                        NONE => return Err(TokenizerError::NoByteToken(b)),
                        id => sink.push(id),
                    }
                }
            }
        }
        i = sym[3];
    }
    Ok(())
}

#[inline]
fn get(syms: &[[u32; 5]], i: u32) -> Option<[u32; 5]> {
    syms.get(i as usize).copied()
}

fn try_add_bigram(
    vocab: &Vocab<'_, '_>,
    text: &[u8],
    syms: &[[u32; 5]],
    heap: &mut Heap<'_>,
    left: u32,
    right: u32,
) -> Result<(), TokenizerError> {
    let (Some(l), Some(r)) = (get(syms, left), get(syms, right)) else {
        return Ok(());
    };
    let size = l[1] + r[1];
    let start = l[0] as usize;
    let Some(pair) = text.get(start..start + size as usize) else {
        return Ok(());
    };
    if let Some(id) = vocab.lookup(pair) {
        heap.push([vocab.score(id).to_bits(), left, right, size])?;
    }
    Ok(())
}
