//! The vocabulary tables, built once into the caller's buffer.
//!
//! # Layout (all `u32` records, carved from the buffer in this order)
//!
//! ```text
//! entries   n_vocab  × [offset, len, score bits, attr]   id → token text (borrowed), score, attributes
//! index     tok_cap  × [id, tag]                         text → id, open addressing, linear probing
//! merges    merge_cap× [left, right, rank, result]       (left id, right id) → merge rank + merged id (BPE)
//! specials  n_special× id                                special tokens, longest text first, then by id
//! ```
//!
//! `offset` is relative to the raw bytes of the `tokenizer.ggml.tokens` array, so token text
//! is never copied. Both hash tables are a power of two in size and at most 80% full; `tag` is
//! the high half of the 64-bit hash, so a probe compares text only when the tags agree.
//!
//! # Attributes
//!
//! As llama.cpp's `llama_token_attr`: the GGUF token type gives the base (1 normal, 2 unknown,
//! 3 control, 4 user-defined, 5 unused, 6 byte); tokens named like end-of-generation / FIM
//! markers (`<|end|>`, `<|im_end|>`, `</s>`, `<reponame>` …) become control tokens; and when
//! `general.name` contains `phi3` / `phi-3` every special token except `<unk>`, `<s>` and
//! `<|endoftext|>` gets RSTRIP (whitespace after it in the input is dropped), plus `</s>`.
// Every index here is a `u8` (or a nibble) into a 256- (or 16-) entry table: in bounds by type.
#![allow(clippy::indexing_slicing)]

use crate::gguf::{Array, Gguf, ValueType};

use super::arena::{take_records, take_u32, u32_region_bytes};
use super::error::TokenizerError;
use super::kind::{PreTokenizer, VocabKind};
use super::names::{EOG_NAMES, FIM_NAMES};
use super::unicode::encode_byte;

/// "No token" in every table.
pub(super) const NONE: u32 = u32::MAX;

/// llama.cpp's token attribute bits.
pub(super) mod attr {
    pub const UNKNOWN: u32 = 1 << 0;
    pub const UNUSED: u32 = 1 << 1;
    pub const NORMAL: u32 = 1 << 2;
    pub const CONTROL: u32 = 1 << 3;
    pub const USER_DEFINED: u32 = 1 << 4;
    pub const BYTE: u32 = 1 << 5;
    pub const LSTRIP: u32 = 1 << 7;
    pub const RSTRIP: u32 = 1 << 8;
    /// Matched as a whole token in the input (before the model's own tokenizer runs).
    pub const SPECIAL: u32 = CONTROL | USER_DEFINED | UNKNOWN;
}

/// Most end-of-generation ids kept.
pub(super) const MAX_EOG: usize = 16;

const KEY_MODEL: &str = "tokenizer.ggml.model";
const KEY_PRE: &str = "tokenizer.ggml.pre";
const KEY_TOKENS: &str = "tokenizer.ggml.tokens";
const KEY_SCORES: &str = "tokenizer.ggml.scores";
const KEY_TYPES: &str = "tokenizer.ggml.token_type";
const KEY_MERGES: &str = "tokenizer.ggml.merges";

/// What [`super::Tokenizer::bytes_needed`] and [`build`] agree on.
#[derive(Clone, Copy, Debug)]
pub(super) struct Plan {
    pub kind: VocabKind,
    pub n_vocab: usize,
    /// Upper bound on the number of special tokens.
    pub special_cap: usize,
    pub tok_cap: usize,
    pub merge_cap: usize,
}

/// Table size for `n` keys: a power of two, at most 80% full.
fn table_cap(n: usize) -> Result<usize, TokenizerError> {
    let want = n
        .checked_add(n / 4)
        .and_then(|x| x.checked_add(1))
        .ok_or(TokenizerError::TooLarge)?;
    want.checked_next_power_of_two()
        .ok_or(TokenizerError::TooLarge)
}

fn string_array<'g>(gguf: &Gguf<'g>, key: &'static str) -> Result<Array<'g>, TokenizerError> {
    let arr = gguf
        .get_array(key)?
        .ok_or(TokenizerError::MissingKey(key))?;
    if arr.elem_type() != ValueType::String {
        return Err(TokenizerError::Gguf(crate::gguf::GgufError::TypeMismatch {
            expected: ValueType::String,
            found: arr.elem_type(),
        }));
    }
    Ok(arr)
}

impl Plan {
    pub(super) fn new(gguf: &Gguf<'_>) -> Result<Plan, TokenizerError> {
        let model = gguf
            .get_str(KEY_MODEL)?
            .ok_or(TokenizerError::MissingKey(KEY_MODEL))?;
        let kind = match model {
            "llama" => VocabKind::SentencePiece,
            "gpt2" => {
                let pre = gguf.get_str(KEY_PRE)?;
                match pre {
                    Some("smollm") => VocabKind::Bpe(PreTokenizer::SmolLm),
                    Some("gpt-4o") | Some("llama4") => VocabKind::Bpe(PreTokenizer::Gpt4o),
                    _ => return Err(TokenizerError::UnsupportedPreTokenizer),
                }
            }
            _ => return Err(TokenizerError::UnsupportedModel),
        };
        let tokens = string_array(gguf, KEY_TOKENS)?;
        let n_vocab = tokens.len();
        if n_vocab == 0 || n_vocab >= NONE as usize || tokens.raw_bytes().len() > NONE as usize {
            return Err(TokenizerError::TooLarge);
        }
        let n_merges = match kind {
            VocabKind::Bpe(_) => {
                let merges = string_array(gguf, KEY_MERGES)?;
                if merges.len() >= NONE as usize {
                    return Err(TokenizerError::TooLarge);
                }
                merges.len()
            }
            VocabKind::SentencePiece => 0,
        };
        // Specials: control / user-defined / unknown types, plus tokens that become control
        // because of their name.
        let mut special_cap = EOG_NAMES.len();
        for (_, names, _) in FIM_NAMES {
            special_cap += names.len();
        }
        if let Some(types) = gguf.get_array(KEY_TYPES)? {
            for t in types.iter_i32()? {
                if type_attr(t) & attr::SPECIAL != 0 {
                    special_cap += 1;
                }
            }
        }
        let special_cap = special_cap.min(n_vocab);
        Ok(Plan {
            kind,
            n_vocab,
            special_cap,
            tok_cap: table_cap(n_vocab)?,
            merge_cap: if n_merges == 0 {
                0
            } else {
                table_cap(n_merges)?
            },
        })
    }

    /// Bytes the tables take (with alignment slack).
    pub(super) fn table_bytes(&self) -> Result<usize, TokenizerError> {
        let words = [
            self.n_vocab.checked_mul(4),
            self.tok_cap.checked_mul(2),
            self.merge_cap.checked_mul(4),
            Some(self.special_cap),
        ];
        let mut total = 0usize;
        for w in words {
            let w = w.ok_or(TokenizerError::TooLarge)?;
            total = total
                .checked_add(u32_region_bytes(w)?)
                .ok_or(TokenizerError::TooLarge)?;
        }
        Ok(total)
    }
}

/// Base attribute of a GGUF token type.
fn type_attr(t: i32) -> u32 {
    match t {
        1 => attr::NORMAL,
        2 => attr::UNKNOWN,
        3 => attr::CONTROL,
        4 => attr::USER_DEFINED,
        5 => attr::UNUSED,
        6 => attr::BYTE,
        _ => 0,
    }
}

#[inline]
fn hash_bytes(parts: &[&[u8]]) -> u64 {
    // FNV-1a, then a murmur-style finaliser so that the low bits (the table index) mix well.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in *part {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    mix64(h)
}

#[inline]
fn mix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

#[inline]
fn hash_pair(a: u32, b: u32) -> u64 {
    mix64(((a as u64) << 32 | b as u64) ^ 0x9e37_79b9_7f4a_7c15)
}

/// The read-only tables (cheap to copy: a few slices).
#[derive(Clone, Copy, Debug)]
pub(super) struct Vocab<'g, 'b> {
    /// Raw bytes of the `tokenizer.ggml.tokens` array.
    raw: &'g [u8],
    entries: &'b [[u32; 4]],
    index: &'b [[u32; 2]],
    merges: &'b [[u32; 4]],
    specials: &'b [u32],
    /// Byte → token used by byte fallback (SPM `<0xNN>`) or as a BPE start symbol.
    pub byte_tokens: [u32; 256],
    pub max_token_len: usize,
}

impl<'g, 'b> Vocab<'g, 'b> {
    pub fn n_vocab(&self) -> usize {
        self.entries.len()
    }

    #[inline]
    pub fn text(&self, id: u32) -> &'g [u8] {
        self.entries
            .get(id as usize)
            .and_then(|e| {
                let start = e[0] as usize;
                self.raw.get(start..start.checked_add(e[1] as usize)?)
            })
            .unwrap_or(&[])
    }

    #[inline]
    pub fn score(&self, id: u32) -> f32 {
        self.entries
            .get(id as usize)
            .map_or(0.0, |e| f32::from_bits(e[2]))
    }

    #[inline]
    pub fn attr(&self, id: u32) -> u32 {
        self.entries.get(id as usize).map_or(0, |e| e[3])
    }

    /// Special tokens, longest first.
    pub fn specials(&self) -> &'b [u32] {
        self.specials
    }

    /// The id whose text is the concatenation of `parts`.
    pub fn lookup_parts(&self, parts: &[&[u8]]) -> Option<u32> {
        let mask = self.index.len().checked_sub(1)?;
        let h = hash_bytes(parts);
        let tag = (h >> 32) as u32;
        let mut i = h as usize & mask;
        for _ in 0..self.index.len() {
            let slot = self.index.get(i)?;
            if slot[0] == NONE {
                return None;
            }
            if slot[1] == tag && concat_eq(self.text(slot[0]), parts) {
                return Some(slot[0]);
            }
            i = (i + 1) & mask;
        }
        None
    }

    /// The id whose text is `bytes`.
    #[inline]
    pub fn lookup(&self, bytes: &[u8]) -> Option<u32> {
        self.lookup_parts(&[bytes])
    }

    /// Rank and merged id of the BPE merge `left right`, if there is one.
    #[inline]
    pub fn merge(&self, left: u32, right: u32) -> Option<(u32, u32)> {
        let mask = self.merges.len().checked_sub(1)?;
        let mut i = hash_pair(left, right) as usize & mask;
        for _ in 0..self.merges.len() {
            let slot = self.merges.get(i)?;
            if slot[0] == NONE {
                return None;
            }
            if slot[0] == left && slot[1] == right {
                return Some((slot[2], slot[3]));
            }
            i = (i + 1) & mask;
        }
        None
    }
}

fn concat_eq(text: &[u8], parts: &[&[u8]]) -> bool {
    let mut rest = text;
    for part in parts {
        match rest.strip_prefix(*part) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    rest.is_empty()
}

/// Special ids and flags read from the metadata while building.
#[derive(Clone, Copy, Debug)]
pub(super) struct Specials {
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    pub eot: Option<u32>,
    pub unk: Option<u32>,
    pub pad: Option<u32>,
    pub eog: [u32; MAX_EOG],
    pub n_eog: usize,
}

impl Specials {
    fn add_eog(&mut self, id: u32) {
        if self.eog.iter().take(self.n_eog).any(|&e| e == id) {
            return;
        }
        if let Some(slot) = self.eog.get_mut(self.n_eog) {
            *slot = id;
            self.n_eog += 1;
        }
    }
}

/// Reads the BOS / EOS id key: absent → `default` (if in range); present and out of range →
/// [`TokenizerError::SpecialTokenOutOfRange`] (llama.cpp warns and uses the default, which
/// would silently add a wrong BOS or stop on a wrong token).
fn required_id_key(
    gguf: &Gguf<'_>,
    key: &'static str,
    default: Option<u32>,
    n_vocab: usize,
) -> Result<Option<u32>, TokenizerError> {
    match gguf.get_u32(key)? {
        Some(id) if (id as usize) < n_vocab => Ok(Some(id)),
        Some(id) => Err(TokenizerError::SpecialTokenOutOfRange { key, id, n_vocab }),
        None => Ok(default.filter(|&d| (d as usize) < n_vocab)),
    }
}

/// Reads an optional id key; out-of-range ids count as absent (llama.cpp warns and ignores;
/// real files carry e.g. a padding id equal to the vocabulary size).
fn id_key(
    gguf: &Gguf<'_>,
    key: &str,
    default: Option<u32>,
    n_vocab: usize,
) -> Result<Option<u32>, TokenizerError> {
    let default = default.filter(|&d| (d as usize) < n_vocab);
    Ok(match gguf.get_u32(key)? {
        Some(id) if (id as usize) < n_vocab => Some(id),
        _ => default,
    })
}

/// Builds every table into `buf` (which must hold [`Plan::table_bytes`]); returns the tables,
/// the special ids and what is left of `buf`.
pub(super) fn build<'g, 'b>(
    gguf: &Gguf<'g>,
    plan: &Plan,
    buf: &'b mut [u8],
) -> Result<(Vocab<'g, 'b>, Specials, &'b mut [u8]), TokenizerError> {
    let mut rest: &'b mut [u8] = buf;
    let entries = take_records::<4>(&mut rest, plan.n_vocab)?;
    let index = take_records::<2>(&mut rest, plan.tok_cap)?;
    let merges = take_records::<4>(&mut rest, plan.merge_cap)?;
    let specials = take_u32(&mut rest, plan.special_cap)?;

    // 1. entries: text location, score, base attribute.
    let tokens = string_array(gguf, KEY_TOKENS)?;
    let raw = tokens.raw_bytes();
    let base = raw.as_ptr() as usize;
    let mut max_token_len = 0usize;
    let mut n = 0usize;
    for (entry, text) in entries.iter_mut().zip(tokens.iter_str_bytes()?) {
        let offset = (text.as_ptr() as usize).wrapping_sub(base);
        *entry = [offset as u32, text.len() as u32, 0, attr::NORMAL];
        max_token_len = max_token_len.max(text.len());
        n += 1;
    }
    if n != plan.n_vocab {
        return Err(TokenizerError::LengthMismatch {
            key: KEY_TOKENS,
            expected: plan.n_vocab,
            found: n,
        });
    }
    if let Some(scores) = gguf.get_array(KEY_SCORES)? {
        check_len(&scores, KEY_SCORES, n)?;
        match scores.elem_type() {
            ValueType::I32 => {
                for (e, s) in entries.iter_mut().zip(scores.iter_i32()?) {
                    e[2] = (s as f32).to_bits();
                }
            }
            _ => {
                for (e, s) in entries.iter_mut().zip(scores.iter_f32()?) {
                    e[2] = s.to_bits();
                }
            }
        }
    }
    if let Some(types) = gguf.get_array(KEY_TYPES)? {
        check_len(&types, KEY_TYPES, n)?;
        for (e, t) in entries.iter_mut().zip(types.iter_i32()?) {
            e[3] = type_attr(t);
        }
    }

    // 2. text → id.
    for slot in index.iter_mut() {
        *slot = [NONE, 0];
    }
    let mask = plan.tok_cap - 1;
    for (id, e) in entries.iter().enumerate() {
        let start = e[0] as usize;
        let text = raw.get(start..start + e[1] as usize).unwrap_or(&[]);
        if text.is_empty() {
            continue; // llama.cpp renames it "[EMPTY_<id>]"; here it simply never matches
        }
        let h = hash_bytes(&[text]);
        let tag = (h >> 32) as u32;
        let mut i = h as usize & mask;
        loop {
            let slot = index.get_mut(i).ok_or(TokenizerError::TooLarge)?;
            if slot[0] == NONE {
                *slot = [id as u32, tag];
                break;
            }
            if slot[1] == tag {
                let other = entries
                    .get(slot[0] as usize)
                    .ok_or(TokenizerError::TooLarge)?;
                let o_start = other[0] as usize;
                if raw.get(o_start..o_start + other[1] as usize) == Some(text) {
                    return Err(TokenizerError::DuplicateToken {
                        first: slot[0],
                        second: id as u32,
                    });
                }
            }
            i = (i + 1) & mask;
        }
    }
    let index: &'b [[u32; 2]] = index;

    // 3. special ids and name-based attributes (looked up first, applied after).
    let n_vocab = plan.n_vocab;
    let (def_bos, def_eos, def_unk) = match plan.kind {
        VocabKind::SentencePiece => (Some(1), Some(2), Some(0)),
        VocabKind::Bpe(_) => (Some(11), Some(11), None),
    };
    let mut sp = Specials {
        bos: required_id_key(gguf, "tokenizer.ggml.bos_token_id", def_bos, n_vocab)?,
        eos: required_id_key(gguf, "tokenizer.ggml.eos_token_id", def_eos, n_vocab)?,
        eot: id_key(gguf, "tokenizer.ggml.eot_token_id", None, n_vocab)?,
        unk: id_key(gguf, "tokenizer.ggml.unknown_token_id", def_unk, n_vocab)?,
        pad: id_key(gguf, "tokenizer.ggml.padding_token_id", None, n_vocab)?,
        eog: [NONE; MAX_EOG],
        n_eog: 0,
    };
    let eom = id_key(gguf, "tokenizer.ggml.eom_token_id", None, n_vocab)?;
    let mut control = [NONE; EOG_NAMES.len() + FIM_NAMES.len()];
    let mut n_control = 0usize;
    let mut phi3_rstrip = None;
    let mut phi3_no_rstrip = [None; 3];
    {
        let tmp = Vocab {
            raw,
            entries: &*entries,
            index,
            merges: &[],
            specials: &[],
            byte_tokens: [NONE; 256],
            max_token_len,
        };
        let mut push_control = |id: u32| {
            if let Some(slot) = control.get_mut(n_control) {
                *slot = id;
                n_control += 1;
            }
        };
        for (key, names, ends) in FIM_NAMES {
            let id = match id_key(gguf, key, None, n_vocab)? {
                Some(id) => Some(id),
                None => {
                    let found = names.iter().find_map(|n| tmp.lookup(n.as_bytes()));
                    if let Some(id) = found {
                        push_control(id);
                    }
                    found
                }
            };
            if let (Some(id), true) = (id, *ends) {
                sp.add_eog(id);
            }
        }
        let mut eot_by_name = None;
        for name in EOG_NAMES {
            if let Some(id) = tmp.lookup(name.as_bytes()) {
                push_control(id);
                sp.add_eog(id);
                eot_by_name.get_or_insert(id);
            }
        }
        if sp.eot.is_none() {
            sp.eot = eot_by_name;
        }
        let name = gguf.get_str("general.name").ok().flatten().unwrap_or("");
        if contains_ascii_ci(name, "phi3") || contains_ascii_ci(name, "phi-3") {
            phi3_rstrip = Some(tmp.lookup(b"</s>"));
            for (slot, t) in
                phi3_no_rstrip
                    .iter_mut()
                    .zip([&b"<unk>"[..], b"<s>", b"<|endoftext|>"])
            {
                *slot = tmp.lookup(t);
            }
        }
    }
    for id in [sp.eos, sp.eot, eom].into_iter().flatten() {
        sp.add_eog(id);
    }
    for &id in control.iter().take(n_control) {
        if let Some(e) = entries.get_mut(id as usize) {
            e[3] |= attr::CONTROL;
        }
    }
    // Phi-3 quirk: RSTRIP on special tokens, but not on <unk>, <s>, <|endoftext|>.
    if let Some(close) = phi3_rstrip {
        for e in entries.iter_mut() {
            if e[3] & attr::SPECIAL != 0 {
                e[3] |= attr::RSTRIP;
            }
        }
        if let Some(e) = close.and_then(|id| entries.get_mut(id as usize)) {
            e[3] |= attr::RSTRIP;
        }
        for id in phi3_no_rstrip.into_iter().flatten() {
            if let Some(e) = entries.get_mut(id as usize) {
                e[3] &= !attr::RSTRIP;
            }
        }
    }

    // 4. specials, longest first.
    let mut n_special = 0usize;
    for (id, e) in entries.iter().enumerate() {
        if e[3] & attr::SPECIAL != 0 && e[1] > 0 {
            match specials.get_mut(n_special) {
                Some(slot) => *slot = id as u32,
                None => return Err(TokenizerError::TooLarge),
            }
            n_special += 1;
        }
    }
    let specials = specials.get_mut(..n_special).unwrap_or(&mut []);
    specials.sort_unstable_by_key(|&id| {
        let len = entries.get(id as usize).map_or(0, |e| e[1]);
        (core::cmp::Reverse(len), id)
    });
    let mut vocab = Vocab {
        raw,
        entries,
        index,
        merges: &[],
        specials,
        byte_tokens: [NONE; 256],
        max_token_len,
    };

    // 5. byte tokens.
    for b in 0..=255u8 {
        vocab.byte_tokens[b as usize] = match plan.kind {
            VocabKind::SentencePiece => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                let name = [
                    b'<',
                    b'0',
                    b'x',
                    HEX[(b >> 4) as usize],
                    HEX[(b & 15) as usize],
                    b'>',
                ];
                vocab
                    .lookup(&name)
                    .or_else(|| vocab.lookup(core::slice::from_ref(&b)))
                    .unwrap_or(NONE)
            }
            VocabKind::Bpe(_) => {
                let mut enc = [0u8; 2];
                let len = encode_byte(b, &mut enc);
                vocab.lookup(enc.get(..len).unwrap_or(&[])).unwrap_or(NONE)
            }
        };
    }

    // 6. merges (BPE): "left right", split at the first space after the first byte. Both
    //    pieces must be tokens (else `BadMerge`: llama.cpp would keep such a merge by text,
    //    where it could only apply to a piece built by a merge whose result is no token; here
    //    symbols without a token never merge again, so refusing the file is the honest
    //    answer). A result that is no token is kept (the symbol is emitted as its bytes, as
    //    llama.cpp does).
    if plan.merge_cap > 0 {
        for slot in merges.iter_mut() {
            *slot = [NONE, NONE, NONE, NONE];
        }
        let mmask = plan.merge_cap - 1;
        let list = string_array(gguf, KEY_MERGES)?;
        for (rank, m) in list.iter_str_bytes()?.enumerate() {
            let bad = TokenizerError::BadMerge { index: rank };
            let sp_at = m.iter().skip(1).position(|&c| c == b' ').ok_or(bad)?;
            let (left, right) = (m.get(..sp_at + 1), m.get(sp_at + 2..));
            let (Some(left), Some(right)) = (left, right) else {
                return Err(bad);
            };
            let (Some(l), Some(r)) = (vocab.lookup(left), vocab.lookup(right)) else {
                return Err(bad);
            };
            let result = vocab.lookup_parts(&[left, right]).unwrap_or(NONE);
            let mut i = hash_pair(l, r) as usize & mmask;
            loop {
                let slot = merges.get_mut(i).ok_or(TokenizerError::TooLarge)?;
                if slot[0] == NONE {
                    *slot = [l, r, rank as u32, result];
                    break;
                }
                if slot[0] == l && slot[1] == r {
                    break; // keep the first (best) rank
                }
                i = (i + 1) & mmask;
            }
        }
        vocab.merges = merges;
    }
    Ok((vocab, sp, rest))
}

fn check_len(arr: &Array<'_>, key: &'static str, n: usize) -> Result<(), TokenizerError> {
    if arr.len() < n {
        return Err(TokenizerError::LengthMismatch {
            key,
            expected: n,
            found: arr.len(),
        });
    }
    Ok(())
}

fn contains_ascii_ci(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}
