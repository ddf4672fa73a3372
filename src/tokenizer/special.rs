//! Splitting the input at special tokens, as llama.cpp's `tokenizer_st_partition` does.
//!
//! llama.cpp takes the special tokens longest first; for each one it cuts every remaining
//! text fragment at all its occurrences (leftmost first), dropping whitespace before the token
//! when it has LSTRIP and after it when it has RSTRIP. Control and unknown tokens take part only
//! when special parsing is on; user-defined tokens always do.
//!
//! The same result without a fragment list: to process a range with the tokens of rank ≥ k,
//! find the lowest rank j ≥ k that occurs in the range, and its first occurrence. The text
//! left of it can only contain tokens of rank > j, the text right of it tokens of rank ≥ j.
//! So: process the left part with rank j + 1, emit the token, continue with the right part at
//! rank j. The left recursion is an explicit stack of `[rank, right start, right end]` frames
//! in caller scratch; ranks grow along it, so it never holds more than one frame per special
//! token.
//!
//! Cost: each step searches the range for every eligible token (memchr on the first byte, then
//! a compare) — O(text × specials) per special token found.

use super::error::TokenizerError;
use super::vocab::{attr, Vocab};

/// A piece of the input: text to tokenize, or a special token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fragment<'t> {
    Text(&'t str),
    Token(u32),
}

/// C `isspace` in the "C" locale.
#[inline]
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut from = 0usize;
    while let Some(i) = hay.get(from..)?.iter().position(|&b| b == first) {
        let at = from + i;
        if hay.get(at + 1..at + needle.len())? == rest {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

pub(super) fn partition<'t>(
    vocab: &Vocab<'_, '_>,
    text: &'t str,
    parse_special: bool,
    stack: &mut [[u32; 3]],
    emit: &mut dyn FnMut(Fragment<'t>) -> Result<(), TokenizerError>,
) -> Result<(), TokenizerError> {
    let specials = vocab.specials();
    let bytes = text.as_bytes();
    let eligible = |id: u32| parse_special || vocab.attr(id) & (attr::CONTROL | attr::UNKNOWN) == 0;
    let mut depth = 0usize;
    let (mut start, mut end, mut rank) = (0usize, bytes.len(), 0usize);
    loop {
        let hay = bytes.get(start..end).unwrap_or(&[]);
        let found = if hay.is_empty() {
            None
        } else {
            specials
                .iter()
                .enumerate()
                .skip(rank)
                .filter(|&(_, &id)| eligible(id))
                .find_map(|(j, &id)| find(hay, vocab.text(id)).map(|p| (j, id, start + p)))
        };
        match found {
            Some((j, id, at)) => {
                let a = vocab.attr(id);
                let mut left_end = at;
                if a & attr::LSTRIP != 0 {
                    while left_end > start
                        && bytes.get(left_end - 1).is_some_and(|&b| is_c_space(b))
                    {
                        left_end -= 1;
                    }
                }
                let mut right_start = at + vocab.text(id).len();
                if a & attr::RSTRIP != 0 {
                    while right_start < end
                        && bytes.get(right_start).is_some_and(|&b| is_c_space(b))
                    {
                        right_start += 1;
                    }
                }
                let frame = stack.get_mut(depth).ok_or(TokenizerError::TooLarge)?;
                *frame = [j as u32, right_start as u32, end as u32];
                depth += 1;
                end = left_end;
                rank = j + 1;
            }
            None => {
                if start < end {
                    if let Some(s) = text.get(start..end) {
                        emit(Fragment::Text(s))?;
                    }
                }
                if depth == 0 {
                    return Ok(());
                }
                depth -= 1;
                let [j, rs, re] = stack.get(depth).copied().unwrap_or([0, 0, 0]);
                if let Some(&id) = specials.get(j as usize) {
                    emit(Fragment::Token(id))?;
                }
                start = rs as usize;
                end = re as usize;
                rank = j as usize;
            }
        }
    }
}
