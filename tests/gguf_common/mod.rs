//! Shared support for the GGUF tests: fixture loading into aligned buffers, a small GGUF
//! writer, and an independent header walker that finds where each length/count/offset field
//! lies (for the hostile-input tests).
#![allow(dead_code)]

use phi3_kernels::quant::GgmlType;

/// Bytes in an 8-byte-aligned buffer (tensor views need the input aligned in memory).
pub struct Aligned {
    words: Vec<u64>,
    len: usize,
}

impl Aligned {
    pub fn new(bytes: &[u8]) -> Self {
        let mut words = vec![0u64; bytes.len().div_ceil(8)];
        bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
        Aligned {
            words,
            len: bytes.len(),
        }
    }

    pub fn bytes(&self) -> &[u8] {
        &bytemuck::cast_slice(&self.words)[..self.len]
    }
}

/// A fixture from `tests/data/gguf/`.
pub fn fixture_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/gguf")
        .join(name)
}

/// A fixture's bytes, 8-byte aligned.
pub fn load(name: &str) -> Aligned {
    let path = fixture_path(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Aligned::new(&bytes)
}

/// GGUF value type ids.
pub mod ty {
    pub const U8: u32 = 0;
    pub const I8: u32 = 1;
    pub const U16: u32 = 2;
    pub const I16: u32 = 3;
    pub const U32: u32 = 4;
    pub const I32: u32 = 5;
    pub const F32: u32 = 6;
    pub const BOOL: u32 = 7;
    pub const STRING: u32 = 8;
    pub const ARRAY: u32 = 9;
    pub const U64: u32 = 10;
    pub const I64: u32 = 11;
    pub const F64: u32 = 12;
}

/// A metadata value to write.
#[derive(Clone, Debug)]
pub enum V {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(u8),
    Str(Vec<u8>),
    U64(u64),
    I64(i64),
    F64(f64),
    /// Element type id and elements (each encoded as that type, without a type tag).
    Arr(u32, Vec<V>),
    /// Any type id and raw value bytes.
    Raw(u32, Vec<u8>),
}

impl V {
    pub fn str(s: &str) -> V {
        V::Str(s.as_bytes().to_vec())
    }

    pub fn type_id(&self) -> u32 {
        match self {
            V::U8(_) => ty::U8,
            V::I8(_) => ty::I8,
            V::U16(_) => ty::U16,
            V::I16(_) => ty::I16,
            V::U32(_) => ty::U32,
            V::I32(_) => ty::I32,
            V::F32(_) => ty::F32,
            V::Bool(_) => ty::BOOL,
            V::Str(_) => ty::STRING,
            V::U64(_) => ty::U64,
            V::I64(_) => ty::I64,
            V::F64(_) => ty::F64,
            V::Arr(..) => ty::ARRAY,
            V::Raw(t, _) => *t,
        }
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            V::U8(v) => out.push(*v),
            V::I8(v) => out.extend(v.to_le_bytes()),
            V::U16(v) => out.extend(v.to_le_bytes()),
            V::I16(v) => out.extend(v.to_le_bytes()),
            V::U32(v) => out.extend(v.to_le_bytes()),
            V::I32(v) => out.extend(v.to_le_bytes()),
            V::F32(v) => out.extend(v.to_le_bytes()),
            V::Bool(v) => out.push(*v),
            V::Str(s) => {
                out.extend((s.len() as u64).to_le_bytes());
                out.extend(s);
            }
            V::U64(v) => out.extend(v.to_le_bytes()),
            V::I64(v) => out.extend(v.to_le_bytes()),
            V::F64(v) => out.extend(v.to_le_bytes()),
            V::Arr(elem, items) => {
                out.extend(elem.to_le_bytes());
                out.extend((items.len() as u64).to_le_bytes());
                for item in items {
                    item.encode(out);
                }
            }
            V::Raw(_, bytes) => out.extend(bytes),
        }
    }
}

/// A tensor info to write.
#[derive(Clone, Debug)]
pub struct T {
    pub name: Vec<u8>,
    pub ne: Vec<u64>,
    pub type_id: u32,
    /// `None`: placed after the previous tensor, aligned.
    pub offset: Option<u64>,
}

/// Bytes of a tensor of `type_id` with dimensions `ne` (0 when unknown or overflowing).
pub fn tensor_bytes(type_id: u32, ne: &[u64]) -> u64 {
    let Some(t) = GgmlType::from_id(type_id) else {
        return 0;
    };
    let n = ne
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d))
        .unwrap_or(0);
    (n / t.block_elems() as u64)
        .checked_mul(t.block_bytes() as u64)
        .unwrap_or(0)
}

/// A GGUF file under construction.
#[derive(Clone, Debug)]
pub struct Builder {
    pub magic: [u8; 4],
    pub version: u32,
    pub kvs: Vec<(Vec<u8>, V)>,
    pub tensors: Vec<T>,
    /// Overrides of the header counts.
    pub tensor_count: Option<u64>,
    pub kv_count: Option<u64>,
    /// Alignment used to place data (independent of any `general.alignment` kv).
    pub align: u64,
    /// Bytes to drop from the end of the file.
    pub cut: usize,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            magic: *b"GGUF",
            version: 3,
            kvs: Vec::new(),
            tensors: Vec::new(),
            tensor_count: None,
            kv_count: None,
            align: 32,
            cut: 0,
        }
    }
}

impl Builder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn kv(mut self, key: &str, value: V) -> Self {
        self.kvs.push((key.as_bytes().to_vec(), value));
        self
    }

    pub fn tensor(mut self, name: &str, t: GgmlType, ne: &[u64]) -> Self {
        self.tensors.push(T {
            name: name.as_bytes().to_vec(),
            ne: ne.to_vec(),
            type_id: t.id(),
            offset: None,
        });
        self
    }

    pub fn tensor_at(mut self, name: &str, t: GgmlType, ne: &[u64], offset: u64) -> Self {
        self.tensors.push(T {
            name: name.as_bytes().to_vec(),
            ne: ne.to_vec(),
            type_id: t.id(),
            offset: Some(offset),
        });
        self
    }

    /// The file: header, metadata, tensor infos, padding, data (each tensor's bytes filled
    /// with a pattern whose bytes are at most 0x3c, so f16/f32 views read finite numbers).
    pub fn build(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(self.magic);
        out.extend(self.version.to_le_bytes());
        let tc = self.tensor_count.unwrap_or(self.tensors.len() as u64);
        let kc = self.kv_count.unwrap_or(self.kvs.len() as u64);
        out.extend(tc.to_le_bytes());
        out.extend(kc.to_le_bytes());
        for (key, value) in &self.kvs {
            V::Str(key.clone()).encode(&mut out);
            out.extend(value.type_id().to_le_bytes());
            value.encode(&mut out);
        }
        let mut next = 0u64;
        let mut placed = Vec::new();
        for t in &self.tensors {
            let size = tensor_bytes(t.type_id, &t.ne);
            let offset = t.offset.unwrap_or(next);
            placed.push((offset, size));
            next = next.max(offset.saturating_add(size).next_multiple_of(self.align));
            V::Str(t.name.clone()).encode(&mut out);
            out.extend((t.ne.len() as u32).to_le_bytes());
            for d in &t.ne {
                out.extend(d.to_le_bytes());
            }
            out.extend(t.type_id.to_le_bytes());
            out.extend(offset.to_le_bytes());
        }
        // Like the vocabulary-only fixtures, a file without tensors ends with its header.
        if !self.tensors.is_empty() {
            let data_start = (out.len() as u64).next_multiple_of(self.align) as usize;
            out.resize(data_start, 0);
        }
        let data_start = out.len();
        let data_len = placed
            .iter()
            .map(|&(o, s)| o.saturating_add(s))
            .max()
            .unwrap_or(0);
        out.resize(data_start + data_len as usize, 0);
        for (i, &(o, s)) in placed.iter().enumerate() {
            for (j, b) in out[data_start + o as usize..][..s as usize]
                .iter_mut()
                .enumerate()
            {
                *b = (i as u8).wrapping_mul(31).wrapping_add(j as u8) & 0x3c;
            }
        }
        out.truncate(out.len().saturating_sub(self.cut));
        out
    }
}

/// Where a field of the header lies, and what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    TensorCount,
    KvCount,
    KeyLen,
    ValueType,
    StringLen,
    ArrayElemType,
    ArrayLen,
    Bool,
    TensorNameLen,
    NDims,
    Ne,
    TensorType,
    TensorOffset,
    /// The value of `general.alignment` (u32).
    Alignment,
}

/// A field: kind, offset, width in bytes.
#[derive(Clone, Copy, Debug)]
pub struct FieldPos {
    pub kind: FieldKind,
    pub at: usize,
    pub width: usize,
}

/// Walks a well-formed little-endian GGUF header (independently of the crate) and lists its
/// length, count, type and offset fields. Returns the fields and the header's end.
pub fn header_fields(b: &[u8]) -> (Vec<FieldPos>, usize) {
    let u32_at = |p: usize| u32::from_le_bytes(b[p..p + 4].try_into().unwrap());
    let u64_at = |p: usize| u64::from_le_bytes(b[p..p + 8].try_into().unwrap()) as usize;
    let mut f = Vec::new();
    let mut push = |kind, at, width| f.push(FieldPos { kind, at, width });
    let n_tensors = u64_at(8);
    let n_kv = u64_at(16);
    push(FieldKind::TensorCount, 8, 8);
    push(FieldKind::KvCount, 16, 8);
    let mut p = 24;
    fn scalar_size(t: u32) -> usize {
        match t {
            0 | 1 | 7 => 1,
            2 | 3 => 2,
            4..=6 => 4,
            10..=12 => 8,
            _ => panic!("type {t}"),
        }
    }
    for _ in 0..n_kv {
        push(FieldKind::KeyLen, p, 8);
        let klen = u64_at(p);
        let key = &b[p + 8..p + 8 + klen];
        p += 8 + klen;
        push(FieldKind::ValueType, p, 4);
        let t = u32_at(p);
        p += 4;
        match t {
            8 => {
                push(FieldKind::StringLen, p, 8);
                p += 8 + u64_at(p);
            }
            9 => {
                push(FieldKind::ArrayElemType, p, 4);
                let et = u32_at(p);
                push(FieldKind::ArrayLen, p + 4, 8);
                let n = u64_at(p + 4);
                p += 12;
                if et == 8 {
                    for _ in 0..n {
                        push(FieldKind::StringLen, p, 8);
                        p += 8 + u64_at(p);
                    }
                } else {
                    p += n * scalar_size(et);
                }
            }
            _ => {
                if key == b"general.alignment" {
                    push(FieldKind::Alignment, p, 4);
                }
                if t == 7 {
                    push(FieldKind::Bool, p, 1);
                }
                p += scalar_size(t);
            }
        }
    }
    for _ in 0..n_tensors {
        push(FieldKind::TensorNameLen, p, 8);
        p += 8 + u64_at(p);
        push(FieldKind::NDims, p, 4);
        let nd = u32_at(p) as usize;
        p += 4;
        for _ in 0..nd {
            push(FieldKind::Ne, p, 8);
            p += 8;
        }
        push(FieldKind::TensorType, p, 4);
        p += 4;
        push(FieldKind::TensorOffset, p, 8);
        p += 8;
    }
    (f, p)
}

/// A small but complete synthetic file: every value type, an array of each element type,
/// and tensors of several types.
pub fn synthetic() -> Builder {
    Builder::new()
        .kv("general.architecture", V::str("phi3"))
        .kv("general.alignment", V::U32(32))
        .kv("t.u8", V::U8(200))
        .kv("t.i8", V::I8(-5))
        .kv("t.u16", V::U16(60000))
        .kv("t.i16", V::I16(-300))
        .kv("t.u32", V::U32(4_000_000_000))
        .kv("t.i32", V::I32(-70000))
        .kv("t.f32", V::F32(1.5))
        .kv("t.bool", V::Bool(1))
        .kv("t.u64", V::U64(1 << 40))
        .kv("t.i64", V::I64(-(1 << 40)))
        .kv("t.f64", V::F64(0.25))
        .kv(
            "t.strs",
            V::Arr(ty::STRING, vec![V::str("a"), V::str(""), V::str("héllo")]),
        )
        .kv(
            "t.f32s",
            V::Arr(ty::F32, vec![V::F32(0.5), V::F32(-1.0), V::F32(2.0)]),
        )
        .kv("t.i32s", V::Arr(ty::I32, vec![V::I32(1), V::I32(-2)]))
        .kv("t.bools", V::Arr(ty::BOOL, vec![V::Bool(0), V::Bool(1)]))
        .kv("t.u8s", V::Arr(ty::U8, vec![V::U8(1), V::U8(2)]))
        .kv("t.empty", V::Arr(ty::U64, vec![]))
        .tensor("norm.weight", GgmlType::F32, &[64])
        .tensor("embd.weight", GgmlType::Q4_0, &[64, 3])
        .tensor("w.k", GgmlType::Q4_K, &[256, 2])
        .tensor("w.q8", GgmlType::Q8_0, &[32, 2, 1, 2])
        .tensor("w.f16", GgmlType::F16, &[8, 2])
}
