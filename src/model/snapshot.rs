//! Suspend and resume: a [`Session`]'s sequence (its tokens and KV cache) saved into caller
//! memory and restored into another session of the same model, with no allocation.
//!
//! A phone app that is suspended saves the session's state to a file and, when it is
//! resumed, restores it instead of feeding the whole conversation again. Continuing a restored
//! session gives logits bit-identical to the uninterrupted session's (same kernel tier): the
//! cache rows are copied bit for bit and nothing else in the session carries state between
//! forwards.
//!
//! # Format (version 1, little-endian)
//!
//! | bytes | field |
//! |---|---|
//! | 0..8 | magic `PHI3KVS\0` |
//! | 8..12 | format version (`1`) |
//! | 12..16 | header bytes ([`HEADER_BYTES`] = 64) |
//! | 16..24 | model fingerprint ([`model_fingerprint`]) |
//! | 24..28, 28..32, 32..36 | `n_layer`, `n_head_kv`, `head_dim` |
//! | 36 | KV element type (`0` f16, `1` Q8_0, `2` Q4_0: [`KvType`]) |
//! | 37 | LongRoPE factor set of the cache (`0` short, `1` long) |
//! | 38..40 | zero |
//! | 40..48 | sequence length `len` |
//! | 48..56 | `max_context` of the saving session (for messages only) |
//! | 56..64 | checksum of bytes 0..56 and the payload |
//!
//! The payload follows: `len` token ids (`u32`), then the keys of every (layer, KV head) as
//! `len` rows of [`KvType::row_bytes`] (f16 values, or the row's Q8_0 / Q4_0 blocks as GGUF
//! stores them, f16 scales little-endian), then the values in the same order. Its size is
//! known before saving: [`snapshot_bytes_kv`] for a config, a KV type and a length,
//! [`Session::snapshot_bytes`] for the current sequence. A snapshot restores only into a
//! session with the same KV type ([`SnapshotError::KvTypeMismatch`]).
//!
//! Restoring checks everything before it changes anything: a buffer that is not a snapshot, of
//! another version, truncated, corrupted (checksum), of another model (fingerprint or shape),
//! or longer than the session's `max_context` is a [`SnapshotError`], never a panic, and the
//! session is left as it was. The checksum detects accidental damage (a truncated or
//! bit-flipped file); it is not a defence against a forged file, which can at worst put
//! wrong (finite or not) values in the cache — the forward pass reports non-finite values as
//! errors.

use core::fmt;

use super::config::Config;
use super::kv::KvType;
use super::session::{FactorSet, Session};
use super::Model;

/// The first eight bytes of every snapshot.
pub const MAGIC: [u8; 8] = *b"PHI3KVS\0";
/// The format version this crate writes and reads.
pub const VERSION: u32 = 1;
/// Bytes before the payload.
pub const HEADER_BYTES: usize = 64;

/// Why a snapshot cannot be saved or restored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The output buffer holds fewer than the `needed` bytes.
    BufferTooSmall {
        /// Bytes the snapshot needs.
        needed: usize,
        /// Bytes given.
        actual: usize,
    },
    /// The bytes do not start with [`MAGIC`].
    NotASnapshot,
    /// A snapshot of another format version.
    UnsupportedVersion {
        /// The version in the header.
        found: u32,
    },
    /// The bytes end before the snapshot does (`needed` bytes by its header).
    Truncated {
        /// Bytes the header says the snapshot has.
        needed: usize,
        /// Bytes given.
        actual: usize,
    },
    /// The checksum does not match: the bytes were damaged.
    Corrupted,
    /// A header field is impossible (e.g. an unknown KV type or factor set).
    BadHeader {
        /// The field.
        field: &'static str,
    },
    /// The snapshot was saved from another model (fingerprint or shape differ).
    ModelMismatch,
    /// The snapshot's KV cache element type differs from the session's ([`super::Limits::kv`]).
    KvTypeMismatch {
        /// The snapshot's.
        saved: KvType,
        /// The session's.
        session: KvType,
    },
    /// The snapshot holds more positions than the session's `max_context`.
    ContextTooSmall {
        /// Positions in the snapshot.
        len: usize,
        /// The session's `max_context`.
        max_context: usize,
    },
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SnapshotError::BufferTooSmall { needed, actual } => write!(
                f,
                "snapshot buffer too small: {needed} bytes needed, {actual} given"
            ),
            SnapshotError::NotASnapshot => f.write_str("not a session snapshot (bad magic)"),
            SnapshotError::UnsupportedVersion { found } => write!(
                f,
                "snapshot format version {found} is not supported (this build reads {VERSION})"
            ),
            SnapshotError::Truncated { needed, actual } => write!(
                f,
                "snapshot truncated: {needed} bytes expected, {actual} given"
            ),
            SnapshotError::Corrupted => f.write_str("snapshot corrupted (checksum mismatch)"),
            SnapshotError::BadHeader { field } => {
                write!(f, "snapshot header has an invalid {field}")
            }
            SnapshotError::ModelMismatch => {
                f.write_str("snapshot was saved from a different model")
            }
            SnapshotError::KvTypeMismatch { saved, session } => write!(
                f,
                "snapshot has a {saved} KV cache, the session a {session} one"
            ),
            SnapshotError::ContextTooSmall { len, max_context } => write!(
                f,
                "snapshot holds {len} positions, more than this session's max_context \
                 {max_context}"
            ),
        }
    }
}

/// Bytes of the snapshot of a `len`-position sequence of a model with `config` and an f16 KV
/// cache (header included), or `None` on overflow ([`snapshot_bytes_kv`] for any KV type).
pub fn snapshot_bytes(config: &Config, len: usize) -> Option<usize> {
    snapshot_bytes_kv(config, KvType::F16, len)
}

/// Bytes of the snapshot of a `len`-position sequence of a model with `config` and a `kv`
/// cache (header included), or `None` on overflow or a `head_dim` `kv` cannot store.
pub fn snapshot_bytes_kv(config: &Config, kv: KvType, len: usize) -> Option<usize> {
    let rows = config
        .n_layer
        .checked_mul(config.n_head_kv)?
        .checked_mul(len)?;
    let kv = rows
        .checked_mul(kv.row_bytes(config.head_dim)?)?
        .checked_mul(2)?;
    HEADER_BYTES
        .checked_add(len.checked_mul(4)?)?
        .checked_add(kv)
}

/// The sequence length a snapshot holds (from its header, without checking the payload): what
/// a caller sizes the restoring session's `max_context` by. Errors as
/// [`Session::restore_from`]'s header checks.
pub fn saved_len(bytes: &[u8]) -> Result<usize, SnapshotError> {
    parse_header(bytes).map(|h| h.len)
}

/// A 64-bit fingerprint of `model`: its configuration, the type and shape of every matrix, and
/// the values of every norm weight and LongRoPE factor (bytes of the file that differ between
/// any two trained models of the same shape), so a snapshot is not restored into another model.
/// Hashes a few hundred kilobytes at most; not cryptographic.
pub fn model_fingerprint(model: &Model<'_>) -> u64 {
    let c = model.config();
    let w = model.weights();
    let mut h = Hasher::new();
    for v in [
        c.arch as usize,
        c.n_embd,
        c.n_layer,
        c.n_ff,
        c.n_head,
        c.n_head_kv,
        c.head_dim,
        c.n_rot,
        c.n_vocab,
        c.context_length,
        c.original_context_length,
        c.rope_layout as usize,
    ] {
        h.write(&(v as u64).to_le_bytes());
    }
    for v in [c.rope_freq_base, c.rms_eps, c.rope_attn_factor] {
        h.write(&v.to_bits().to_le_bytes());
    }
    let mut floats = |s: &[f32]| {
        h.write(&(s.len() as u64).to_le_bytes());
        for v in s {
            h.write(&v.to_bits().to_le_bytes());
        }
    };
    floats(w.output_norm());
    floats(w.rope_factors_short().unwrap_or(&[]));
    floats(w.rope_factors_long().unwrap_or(&[]));
    for layer in w.layers().flatten() {
        floats(layer.attn_norm);
        floats(layer.ffn_norm);
    }
    let mut shape = |ty: u64, rows: usize, cols: usize| {
        for v in [ty, rows as u64, cols as u64] {
            h.write(&v.to_le_bytes());
        }
    };
    let e = w.token_embd();
    shape(e.ty() as u64, e.rows(), e.cols());
    let out = w.output();
    shape(out.ggml_type() as u64, out.rows(), out.cols());
    for layer in w.layers().flatten() {
        for m in layer.qkv.parts().chain(layer.gate_up.parts()) {
            shape(m.ggml_type() as u64, m.rows(), m.cols());
        }
        for m in [&layer.attn_output, &layer.ffn_down] {
            shape(m.ggml_type() as u64, m.rows(), m.cols());
        }
    }
    h.finish()
}

/// A streaming 64-bit hash (multiply-rotate over 8-byte words, then a final avalanche): fast
/// enough for gigabytes of cache, good at catching accidental damage; not cryptographic.
struct Hasher {
    state: u64,
    /// Bytes of a word not yet mixed, little-endian, `filled` of them.
    word: u64,
    filled: u32,
    total: u64,
}

impl Hasher {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;

    fn new() -> Self {
        Hasher {
            state: 0x243F_6A88_85A3_08D3,
            word: 0,
            filled: 0,
            total: 0,
        }
    }

    fn mix(&mut self, w: u64) {
        self.state = (self.state ^ w).wrapping_mul(Self::K).rotate_left(29);
    }

    fn push(&mut self, b: u8) {
        self.word |= u64::from(b) << (8 * self.filled);
        self.filled += 1;
        if self.filled == 8 {
            self.mix(self.word);
            self.word = 0;
            self.filled = 0;
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        self.total = self.total.wrapping_add(bytes.len() as u64);
        let mut it = bytes.iter();
        while self.filled != 0 {
            match it.next() {
                Some(&b) => self.push(b),
                None => return,
            }
        }
        let mut words = it.as_slice().chunks_exact(8);
        for w in &mut words {
            if let Ok(a) = <[u8; 8]>::try_from(w) {
                self.mix(u64::from_le_bytes(a));
            }
        }
        for &b in words.remainder() {
            self.push(b);
        }
    }

    fn finish(mut self) -> u64 {
        if self.filled > 0 {
            self.mix(self.word);
        }
        let mut x = self.state ^ self.total;
        x ^= x >> 33;
        x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        x ^= x >> 33;
        x = x.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
        x ^ (x >> 33)
    }
}

/// The parsed, checked fixed part of a header.
struct Header {
    fingerprint: u64,
    n_layer: usize,
    n_head_kv: usize,
    head_dim: usize,
    kv: KvType,
    set: FactorSet,
    len: usize,
    checksum: u64,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        a.copy_from_slice(s);
    }
    u32::from_le_bytes(a)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    if let Some(s) = b.get(at..at + 8) {
        a.copy_from_slice(s);
    }
    u64::from_le_bytes(a)
}

fn parse_header(bytes: &[u8]) -> Result<Header, SnapshotError> {
    if bytes.get(..8) != Some(&MAGIC[..]) {
        return Err(SnapshotError::NotASnapshot);
    }
    let head: [u8; HEADER_BYTES] = bytes
        .get(..HEADER_BYTES)
        .and_then(|h| h.try_into().ok())
        .ok_or(SnapshotError::Truncated {
            needed: HEADER_BYTES,
            actual: bytes.len(),
        })?;
    let version = u32_at(&head, 8);
    if version != VERSION {
        return Err(SnapshotError::UnsupportedVersion { found: version });
    }
    if u32_at(&head, 12) as usize != HEADER_BYTES {
        return Err(SnapshotError::BadHeader {
            field: "header size",
        });
    }
    let kv = KvType::from_code(head[36]).ok_or(SnapshotError::BadHeader { field: "KV type" })?;
    let set = match head[37] {
        0 => FactorSet::Short,
        1 => FactorSet::Long,
        _ => {
            return Err(SnapshotError::BadHeader {
                field: "factor set",
            })
        }
    };
    if head[38] != 0 || head[39] != 0 {
        return Err(SnapshotError::BadHeader { field: "padding" });
    }
    let len = usize::try_from(u64_at(&head, 40))
        .map_err(|_| SnapshotError::BadHeader { field: "length" })?;
    Ok(Header {
        fingerprint: u64_at(&head, 16),
        n_layer: u32_at(&head, 24) as usize,
        n_head_kv: u32_at(&head, 28) as usize,
        head_dim: u32_at(&head, 32) as usize,
        kv,
        set,
        len,
        checksum: u64_at(&head, 56),
    })
}

impl Session<'_, '_, '_> {
    /// Bytes [`Session::save_into`] writes for the sequence as it is now
    /// ([`snapshot_bytes`] of the model's config and [`Session::len`]).
    pub fn snapshot_bytes(&self) -> usize {
        // The session's own cache holds `len` rows per head, so this cannot overflow.
        snapshot_bytes_kv(self.model.config(), self.plan.limits.kv, self.len).unwrap_or(usize::MAX)
    }

    /// Writes the sequence (tokens and KV cache) into the front of `out` and returns the bytes
    /// written ([`Session::snapshot_bytes`]); see the module docs for the format.
    ///
    /// Errors: [`SnapshotError::BufferTooSmall`] (nothing is written).
    pub fn save_into(&self, out: &mut [u8]) -> Result<usize, SnapshotError> {
        let c = self.model.config();
        let needed = self.snapshot_bytes();
        let actual = out.len();
        let out = out
            .get_mut(..needed)
            .ok_or(SnapshotError::BufferTooSmall { needed, actual })?;
        let mut head = [0u8; HEADER_BYTES];
        let dims =
            [c.n_layer, c.n_head_kv, c.head_dim].map(|v| u32::try_from(v).unwrap_or(u32::MAX));
        let set: u8 = match self.cache_set {
            FactorSet::Short => 0,
            FactorSet::Long => 1,
        };
        let fields: [(usize, &[u8]); 10] = [
            (0, &MAGIC),
            (8, &VERSION.to_le_bytes()),
            (12, &(HEADER_BYTES as u32).to_le_bytes()),
            (16, &model_fingerprint(self.model).to_le_bytes()),
            (24, &dims[0].to_le_bytes()),
            (28, &dims[1].to_le_bytes()),
            (32, &dims[2].to_le_bytes()),
            (36, &[self.plan.limits.kv.code(), set]),
            (40, &(self.len as u64).to_le_bytes()),
            (48, &(self.plan.limits.max_context as u64).to_le_bytes()),
        ];
        for (at, bytes) in fields {
            if let Some(dst) = head.get_mut(at..at + bytes.len()) {
                dst.copy_from_slice(bytes);
            }
        }
        let (head_out, payload) = out.split_at_mut(HEADER_BYTES.min(out.len()));
        let tokens = self.tokens.get(..self.len).unwrap_or(&[]);
        let (token_bytes, cache_bytes) =
            payload.split_at_mut((4 * tokens.len()).min(payload.len()));
        for (dst, t) in token_bytes.chunks_exact_mut(4).zip(tokens) {
            dst.copy_from_slice(&t.to_le_bytes());
        }
        let layout = self.cache_layout();
        let mut rest = &mut *cache_bytes;
        for cache in [&*self.k_cache, &*self.v_cache] {
            for start in layout.row_starts() {
                let src = cache
                    .get(start..start + layout.rows_bytes(self.len))
                    .unwrap_or(&[]);
                let take = src.len().min(rest.len());
                let (dst, after) = core::mem::take(&mut rest).split_at_mut(take);
                dst.copy_from_slice(src.get(..dst.len()).unwrap_or(&[]));
                to_from_le(layout.kv, dst);
                rest = after;
            }
        }
        let mut h = Hasher::new();
        h.write(head.get(..56).unwrap_or(&[]));
        h.write(token_bytes);
        h.write(cache_bytes);
        let sum = h.finish().to_le_bytes();
        if let Some(dst) = head.get_mut(56..) {
            dst.copy_from_slice(&sum);
        }
        head_out.copy_from_slice(head.get(..head_out.len()).unwrap_or(&[]));
        Ok(needed)
    }

    /// Replaces the sequence with the one saved in `bytes` (by [`Session::save_into`] of a
    /// session of the same model, any limits whose `max_context` holds its length); the next
    /// forward continues after it, bit-identical to the saving session.
    ///
    /// Errors (checked before anything changes; the session is then as it was):
    /// [`SnapshotError::NotASnapshot`], [`SnapshotError::UnsupportedVersion`],
    /// [`SnapshotError::BadHeader`], [`SnapshotError::Truncated`], [`SnapshotError::Corrupted`],
    /// [`SnapshotError::ModelMismatch`], [`SnapshotError::ContextTooSmall`]. Bytes after the
    /// snapshot are ignored.
    pub fn restore_from(&mut self, bytes: &[u8]) -> Result<(), SnapshotError> {
        let h = parse_header(bytes)?;
        let c = self.model.config();
        let kv = self.plan.limits.kv;
        if (h.n_layer, h.n_head_kv, h.head_dim) != (c.n_layer, c.n_head_kv, c.head_dim)
            || h.fingerprint != model_fingerprint(self.model)
        {
            return Err(SnapshotError::ModelMismatch);
        }
        if h.kv != kv {
            return Err(SnapshotError::KvTypeMismatch {
                saved: h.kv,
                session: kv,
            });
        }
        let max_context = self.plan.limits.max_context;
        if h.len > max_context {
            return Err(SnapshotError::ContextTooSmall {
                len: h.len,
                max_context,
            });
        }
        let needed =
            snapshot_bytes_kv(c, kv, h.len).ok_or(SnapshotError::BadHeader { field: "length" })?;
        let snap = bytes.get(..needed).ok_or(SnapshotError::Truncated {
            needed,
            actual: bytes.len(),
        })?;
        let (head, payload) = snap.split_at(HEADER_BYTES.min(snap.len()));
        let mut hasher = Hasher::new();
        hasher.write(head.get(..56).unwrap_or(&[]));
        hasher.write(payload);
        if hasher.finish() != h.checksum {
            return Err(SnapshotError::Corrupted);
        }

        let (tokens, cache) = payload.split_at((4 * h.len).min(payload.len()));
        let n_vocab = c.n_vocab;
        let mut ids = tokens.chunks_exact(4);
        if ids.any(|t| u32_at(t, 0) as usize >= n_vocab) {
            return Err(SnapshotError::BadHeader { field: "token id" });
        }
        let (keys, values) = cache.split_at(cache.len() / 2);
        let len = h.len;
        for (t, src) in self.tokens.iter_mut().zip(tokens.chunks_exact(4)) {
            *t = u32_at(src, 0);
        }
        let layout = self.cache_layout();
        let n = layout.rows_bytes(len);
        for (cache, src) in [(&mut *self.k_cache, keys), (&mut *self.v_cache, values)] {
            for (start, src) in layout.row_starts().zip(src.chunks_exact(n.max(1))) {
                if let Some(dst) = cache.get_mut(start..start + n) {
                    dst.copy_from_slice(src);
                    to_from_le(kv, dst);
                }
            }
        }
        self.len = len;
        self.cache_set = h.set;
        Ok(())
    }

    /// Where each (layer, KV head)'s rows start in a cache slice.
    fn cache_layout(&self) -> CacheLayout {
        let c = self.model.config();
        let kv = self.plan.limits.kv;
        CacheLayout {
            heads: c.n_layer * c.n_head_kv,
            ctx: self.plan.limits.max_context,
            // The session's plan was built from this row size, so it exists.
            row_bytes: kv.row_bytes(c.head_dim).unwrap_or(0),
            kv,
        }
    }
}

/// The cache's layout: (layer, KV head) blocks of `ctx` rows of `row_bytes`.
#[derive(Clone, Copy)]
struct CacheLayout {
    heads: usize,
    ctx: usize,
    row_bytes: usize,
    kv: KvType,
}

impl CacheLayout {
    fn row_starts(self) -> impl Iterator<Item = usize> {
        (0..self.heads).map(move |i| i * self.ctx * self.row_bytes)
    }

    /// Bytes of the first `len` rows of one (layer, KV head).
    fn rows_bytes(self, len: usize) -> usize {
        len * self.row_bytes
    }
}

/// Converts the f16 fields of cache rows between memory order and the snapshot's
/// little-endian order (the same swap both ways; nothing to do on little-endian targets).
fn to_from_le(kv: KvType, bytes: &mut [u8]) {
    if cfg!(target_endian = "big") {
        for unit in bytes.chunks_exact_mut(kv.f16_period()) {
            if let [a, b, ..] = unit {
                core::mem::swap(a, b);
            }
        }
    }
}
