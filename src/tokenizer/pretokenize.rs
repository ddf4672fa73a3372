//! Hand-written pre-tokenizers (word splitters) for the byte-level BPE vocabularies.
//!
//! Each reproduces what llama.cpp does for the `tokenizer.ggml.pre` name — which is not always
//! what the original regex means, and the difference is kept on purpose (the goal is
//! llama.cpp's ids).
//!
//! # `smollm` (SmolLM / SmolLM2, also StarCoder-style vocabularies)
//!
//! llama.cpp applies two rules in turn: `\p{N}` (every number character becomes a piece of
//! its own; the text between them stays whole), then, inside each piece, GPT-2's
//! `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` through its
//! hand-written matcher (`unicode_regex_split_custom_gpt2`), which `gpt2_words` follows
//! branch for branch (whitespace = the Unicode `White_Space` property).
//!
//! # `gpt-4o` (Phi-4-mini, Llama 4)
//!
//! The original rule is
//! `[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:…)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`.
//! llama.cpp rewrites it as `[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+(?:'[sS]|…)?|…`
//! and runs it with `std::regex` over a "collapsed" text where every non-ASCII code point is
//! one byte standing for its class (letter, number, whitespace, other). Consequences, all
//! reproduced by `gpt4o_words`: a non-ASCII letter counts as both upper- and lower-case
//! (so `ÉcoleÉcole` stays one word, where the original rule would split it), combining marks
//! (`\p{M}`) are not letters, and non-ASCII whitespace behaves like `\v`. The alternatives are
//! tried in order at each position (ECMAScript: first alternative that matches, greedy
//! quantifiers with backtracking); the module tests walk through each one.
//!
//! Both splitters work on byte offsets of a `&str` and call `emit(start, end)` for every word
//! in order; the words tile the input exactly.

use super::kind::PreTokenizer;
use super::unicode::{class, CharClass};

/// Calls `emit(start, end)` for each word of `text` (byte offsets), in order.
pub(super) fn split_words<E>(
    pre: PreTokenizer,
    text: &str,
    emit: &mut dyn FnMut(usize, usize) -> Result<(), E>,
) -> Result<(), E> {
    match pre {
        PreTokenizer::SmolLm => smollm_words(text, emit),
        PreTokenizer::Gpt4o => gpt4o_words(text, 0, text.len(), emit),
    }
}

#[inline]
fn char_at(s: &str, pos: usize, end: usize) -> Option<char> {
    if pos >= end {
        return None;
    }
    s.get(pos..end)?.chars().next()
}

#[inline]
fn class_at(s: &str, pos: usize, end: usize) -> Option<(CharClass, usize)> {
    char_at(s, pos, end).map(|c| (class(c), c.len_utf8()))
}

fn smollm_words<E>(
    text: &str,
    emit: &mut dyn FnMut(usize, usize) -> Result<(), E>,
) -> Result<(), E> {
    let end = text.len();
    let mut pos = 0;
    while let Some((cls, len)) = class_at(text, pos, end) {
        let mut piece_end = pos + len;
        if cls != CharClass::Number {
            while let Some((c, l)) = class_at(text, piece_end, end) {
                if c == CharClass::Number {
                    break;
                }
                piece_end += l;
            }
        }
        gpt2_words(text, pos, piece_end, emit)?;
        pos = piece_end;
    }
    Ok(())
}

/// GPT-2's rule as llama.cpp's `unicode_regex_split_custom_gpt2` applies it to `text[ini..end]`.
fn gpt2_words<E>(
    text: &str,
    ini: usize,
    end: usize,
    emit: &mut dyn FnMut(usize, usize) -> Result<(), E>,
) -> Result<(), E> {
    let mut pos = ini;
    while let Some(c) = char_at(text, pos, end) {
        let clen = c.len_utf8();
        // 's|'t|'re|'ve|'m|'ll|'d
        if c == '\'' {
            if let Some(n) = char_at(text, pos + 1, end) {
                if matches!(n, 's' | 't' | 'm' | 'd') {
                    emit(pos, pos + 2)?;
                    pos += 2;
                    continue;
                }
                if let Some(nn) = char_at(text, pos + 2, end) {
                    if matches!((n, nn), ('r', 'e') | ('v', 'e') | ('l', 'l')) {
                        emit(pos, pos + 3)?;
                        pos += 3;
                        continue;
                    }
                }
            }
        }
        // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`
        let (run_start, run_class) = if c == ' ' {
            (pos + 1, class_at(text, pos + 1, end).map(|(k, _)| k))
        } else {
            (pos, Some(class(c)))
        };
        if let Some(k @ (CharClass::Letter | CharClass::Number | CharClass::Other)) = run_class {
            let mut p = run_start;
            while let Some((ck, l)) = class_at(text, p, end) {
                if ck != k {
                    break;
                }
                p += l;
            }
            emit(pos, p)?;
            pos = p;
            continue;
        }
        // `\s+(?!\S)` and `\s+`
        let mut p = pos;
        let mut n_ws = 0usize;
        let mut last_start = pos;
        while let Some((CharClass::Whitespace, l)) = class_at(text, p, end) {
            last_start = p;
            p += l;
            n_ws += 1;
        }
        if n_ws > 1 && p < end {
            emit(pos, last_start)?;
            pos = last_start;
            continue;
        }
        if n_ws > 0 {
            emit(pos, p)?;
            pos = p;
            continue;
        }
        emit(pos, pos + clen)?;
        pos += clen;
    }
    Ok(())
}

/// A code point as llama.cpp's collapsed `std::regex` sees it: ASCII as itself, otherwise
/// `0x0B` (whitespace), `0xD2` (letter), `0xD1` (number) or `0xD0` (anything else).
#[inline]
fn collapsed(c: char) -> u8 {
    if c.is_ascii() {
        return c as u8;
    }
    match class(c) {
        CharClass::Whitespace => 0x0b,
        CharClass::Letter => 0xd2,
        CharClass::Number => 0xd1,
        CharClass::Other => 0xd0,
    }
}

#[inline]
fn is_l(x: u8) -> bool {
    x.is_ascii_alphabetic() || x == 0xd2
}
#[inline]
fn is_n(x: u8) -> bool {
    x.is_ascii_digit() || x == 0xd1
}
#[inline]
fn is_s(x: u8) -> bool {
    matches!(x, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}
/// `(?=[\p{L}])[^a-z]`
#[inline]
fn is_upperish(x: u8) -> bool {
    x.is_ascii_uppercase() || x == 0xd2
}
/// `(?=[\p{L}])[^A-Z]`
#[inline]
fn is_lowerish(x: u8) -> bool {
    x.is_ascii_lowercase() || x == 0xd2
}
/// `[^\s\p{L}\p{N}]`
#[inline]
fn is_other(x: u8) -> bool {
    !is_s(x) && !is_l(x) && !is_n(x)
}

struct Collapsed<'a> {
    text: &'a str,
    end: usize,
}

impl Collapsed<'_> {
    #[inline]
    fn at(&self, pos: usize) -> Option<(u8, usize)> {
        char_at(self.text, pos, self.end).map(|c| (collapsed(c), c.len_utf8()))
    }

    /// End of the longest run of `pred` characters from `pos`.
    fn run(&self, mut pos: usize, pred: fn(u8) -> bool) -> usize {
        while let Some((x, l)) = self.at(pos) {
            if !pred(x) {
                break;
            }
            pos += l;
        }
        pos
    }

    /// `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?` at `pos`.
    fn contraction(&self, pos: usize) -> usize {
        if self.at(pos).map(|(x, _)| x) != Some(b'\'') {
            return pos;
        }
        let a = self.at(pos + 1).map_or(0, |(x, _)| x.to_ascii_lowercase());
        if matches!(a, b's' | b't' | b'm' | b'd') {
            return pos + 2;
        }
        let b = match self.at(pos + 2) {
            Some((x, _)) if matches!(a, b'r' | b'v' | b'l') => x.to_ascii_lowercase(),
            _ => return pos,
        };
        if matches!((a, b), (b'r', b'e') | (b'v', b'e') | (b'l', b'l')) {
            pos + 3
        } else {
            pos
        }
    }

    /// The end of the match at `pos` (which holds a character).
    fn match_at(&self, pos: usize, c0: u8, l0: usize) -> usize {
        // Alternatives 1 and 2: an optional non-letter, non-number, non-newline prefix, then
        // letters: upper* lower+ | upper+ lower*, then an optional contraction.
        let letters_at = if is_l(c0) {
            Some(pos)
        } else if c0 != b'\r' && c0 != b'\n' && !is_n(c0) {
            match self.at(pos + l0) {
                Some((x, _)) if is_l(x) => Some(pos + l0),
                _ => None,
            }
        } else {
            None
        };
        if let Some(q) = letters_at {
            // Greedy `upper*`, remembering where the last ambiguous (non-ASCII) letter ends.
            let mut p = q;
            let mut last_both = None;
            while let Some((x, l)) = self.at(p) {
                if !is_upperish(x) {
                    break;
                }
                p += l;
                if x == 0xd2 {
                    last_both = Some(p);
                }
            }
            if matches!(self.at(p), Some((x, _)) if x.is_ascii_lowercase()) {
                return self.contraction(self.run(p, is_lowerish));
            }
            // Backtracking `upper*` until `lower+` can take one character: only a
            // non-ASCII letter is both.
            if let Some(e) = last_both {
                return self.contraction(e);
            }
            // Alternative 2: `upper+` (ASCII capitals only here) and an empty `lower*`.
            return self.contraction(p);
        }
        // Alternative 3: `\p{N}{1,3}`.
        if is_n(c0) {
            let mut p = pos;
            for _ in 0..3 {
                match self.at(p) {
                    Some((x, l)) if is_n(x) => p += l,
                    _ => break,
                }
            }
            return p;
        }
        // Alternative 4: ` ?[^\s\p{L}\p{N}]+[\r\n/]*`.
        let mut p = pos;
        if c0 == b' ' && matches!(self.at(pos + 1), Some((x, _)) if is_other(x)) {
            p = pos + 1;
        }
        if matches!(self.at(p), Some((x, _)) if is_other(x)) {
            let p = self.run(p, is_other);
            return self.run(p, |x| matches!(x, b'\r' | b'\n' | b'/'));
        }
        // Alternatives 5–7: whitespace.
        if is_s(c0) {
            let mut p = pos;
            let mut last_newline_end = None;
            let mut last_start = pos;
            let mut count = 0usize;
            while let Some((x, l)) = self.at(p) {
                if !is_s(x) {
                    break;
                }
                last_start = p;
                p += l;
                count += 1;
                if x == b'\r' || x == b'\n' {
                    last_newline_end = Some(p);
                }
            }
            // `\s*[\r\n]+`
            if let Some(e) = last_newline_end {
                return e;
            }
            // `\s+(?!\S)`
            if p >= self.end {
                return p;
            }
            if count >= 2 {
                return last_start;
            }
            // `\s+`
            return p;
        }
        pos + l0
    }
}

/// llama.cpp's `gpt-4o` rule over `text[ini..end]`.
fn gpt4o_words<E>(
    text: &str,
    ini: usize,
    end: usize,
    emit: &mut dyn FnMut(usize, usize) -> Result<(), E>,
) -> Result<(), E> {
    let col = Collapsed { text, end };
    let mut pos = ini;
    while let Some((c0, l0)) = col.at(pos) {
        let e = col.match_at(pos, c0, l0).max(pos + l0);
        emit(pos, e)?;
        pos = e;
    }
    Ok(())
}

impl PreTokenizer {
    /// Calls `word` with each word of `text`, in order (the words tile `text`).
    pub fn for_each_word<'t>(self, text: &'t str, mut word: impl FnMut(&'t str)) {
        let _ = split_words::<core::convert::Infallible>(self, text, &mut |s, e| {
            if let Some(w) = text.get(s..e) {
                word(w);
            }
            Ok(())
        });
    }
}
