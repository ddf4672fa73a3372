//! Byte-level BPE (llama.cpp's `gpt2` vocabulary type): merges by rank, word by word.
//!
//! The pre-tokenizer cuts a text fragment into words. Each word's bytes are spelled with
//! GPT-2's byte → code point map (one symbol per byte, its start token the byte's character);
//! adjacent symbol pairs that have a merge rule go into a min-heap keyed by the rule's rank
//! (ties: leftmost first); popping applies the merge if both symbols are unchanged, and the
//! merged symbol's id comes straight from the merge table (the rule's result was looked up when
//! the tables were built). Remaining symbols are emitted as their token; a symbol with no token
//! falls back to single-byte tokens of its spelling, skipping bytes that have none — exactly
//! llama.cpp's `llm_tokenizer_bpe_session`.
//!
//! Scratch: the spelled word (≤ 2 bytes per input byte), one `[start, len, prev, next, id]`
//! record per byte, heap room for 3 pushes per byte.
// Every index here is a `u8` (or a nibble) into a 256- (or 16-) entry table: in bounds by type.
#![allow(clippy::indexing_slicing)]

use super::error::TokenizerError;
use super::heap::Heap;
use super::kind::PreTokenizer;
use super::pretokenize::split_words;
use super::sink::{Sink, Work};
use super::unicode::encode_byte;
use super::vocab::{Vocab, NONE};

/// Heap order: lower rank first, then the leftmost pair.
fn better(a: &[u32; 4], b: &[u32; 4]) -> bool {
    b[0] > a[0] || (b[0] == a[0] && b[1] > a[1])
}

pub(super) fn encode(
    vocab: &Vocab<'_, '_>,
    pre: PreTokenizer,
    text: &str,
    work: &mut Work<'_>,
    sink: &mut Sink<'_>,
) -> Result<(), TokenizerError> {
    split_words(pre, text, &mut |start, end| {
        let word = text.as_bytes().get(start..end).unwrap_or(&[]);
        encode_word(vocab, word, work, sink)
    })
}

fn encode_word(
    vocab: &Vocab<'_, '_>,
    word: &[u8],
    work: &mut Work<'_>,
    sink: &mut Sink<'_>,
) -> Result<(), TokenizerError> {
    let too_long = TokenizerError::TextTooLong {
        len: word.len(),
        max: 0,
    };
    // 1. Spell the bytes; one symbol per byte.
    let mut len = 0usize;
    let n = word.len();
    for (i, &b) in word.iter().enumerate() {
        let mut enc = [0u8; 2];
        let k = encode_byte(b, &mut enc);
        let dst = work.text.get_mut(len..len + k).ok_or(too_long)?;
        dst.copy_from_slice(enc.get(..k).unwrap_or(&[]));
        let sym = work.syms.get_mut(i).ok_or(too_long)?;
        let prev = if i == 0 { NONE } else { i as u32 - 1 };
        let next = if i + 1 == n { NONE } else { i as u32 + 1 };
        *sym = [
            len as u32,
            k as u32,
            prev,
            next,
            vocab.byte_tokens[b as usize],
        ];
        len += k;
    }
    if n == 0 {
        return Ok(());
    }
    let syms = &mut *work.syms;

    // 2. Merge by rank.
    let mut heap = Heap::new(&mut *work.heap, better);
    for i in 1..n {
        add_bigram(vocab, syms, &mut heap, i as u32 - 1, i as u32)?;
    }
    while let Some([_, left, right, size]) = heap.pop() {
        let (Some(l), Some(r)) = (get(syms, left), get(syms, right)) else {
            continue;
        };
        if l[1] == 0 || r[1] == 0 || l[1] + r[1] != size {
            continue;
        }
        let merged = vocab.merge(l[4], r[4]).map_or(NONE, |(_, id)| id);
        if let Some(ls) = syms.get_mut(left as usize) {
            ls[1] += r[1];
            ls[3] = r[3];
            ls[4] = merged;
        }
        if let Some(rs) = syms.get_mut(right as usize) {
            rs[1] = 0;
        }
        if let Some(ns) = syms.get_mut(r[3] as usize) {
            ns[2] = left;
        }
        add_bigram(vocab, syms, &mut heap, l[2], left)?;
        add_bigram(vocab, syms, &mut heap, left, r[3])?;
    }

    // 3. Emit.
    let spelled: &[u8] = work.text.get(..len).unwrap_or(&[]);
    let mut i = 0u32;
    while let Some(sym) = get(syms, i) {
        if sym[4] != NONE {
            sink.push(sym[4]);
        } else {
            let start = sym[0] as usize;
            for b in spelled.get(start..start + sym[1] as usize).unwrap_or(&[]) {
                if let Some(id) = vocab.lookup(core::slice::from_ref(b)) {
                    sink.push(id);
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

fn add_bigram(
    vocab: &Vocab<'_, '_>,
    syms: &[[u32; 5]],
    heap: &mut Heap<'_>,
    left: u32,
    right: u32,
) -> Result<(), TokenizerError> {
    let (Some(l), Some(r)) = (get(syms, left), get(syms, right)) else {
        return Ok(());
    };
    if l[4] == NONE || r[4] == NONE {
        return Ok(());
    }
    if let Some((rank, _)) = vocab.merge(l[4], r[4]) {
        heap.push([rank, left, right, l[1] + r[1]])?;
    }
    Ok(())
}
