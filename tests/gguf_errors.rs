//! Every `GgufError` that `Gguf::parse` can return, each from a hand-built file that breaks
//! exactly one rule.

mod gguf_common;

use gguf_common::{synthetic, ty, Aligned, Builder, T, V};
use phi3_kernels::gguf::{
    Field, Gguf, GgufError, ValueType, MAX_KEY_LEN, MAX_KV, MAX_TENSORS, MAX_TENSOR_NAME_LEN,
};
use phi3_kernels::quant::GgmlType;

fn parse(bytes: &[u8]) -> Result<(), GgufError> {
    let buf = Aligned::new(bytes);
    Gguf::parse(buf.bytes()).map(|_| ())
}

fn err(b: &Builder) -> GgufError {
    parse(&b.build()).expect_err("the file should be rejected")
}

fn ok(b: &Builder) {
    if let Err(e) = parse(&b.build()) {
        panic!("the file should parse: {e}");
    }
}

/// Offset of the first metadata pair.
const KV_START: u64 = 24;

#[test]
fn the_builders_files_parse() {
    ok(&synthetic());
    ok(&Builder::new());
    ok(&Builder::new().kv("a", V::U8(1)));
    ok(&Builder::new().tensor("t", GgmlType::F32, &[1]));
}

#[test]
#[cfg_attr(miri, ignore)] // parses every prefix of a file: O(n²), minutes under Miri
fn truncated() {
    let file = synthetic().build();
    assert_eq!(parse(&file[..0]), Err(GgufError::Truncated { offset: 0 }));
    assert_eq!(parse(&file[..6]), Err(GgufError::Truncated { offset: 4 }));
    assert_eq!(parse(&file[..10]), Err(GgufError::Truncated { offset: 8 }));
    assert_eq!(parse(&file[..20]), Err(GgufError::Truncated { offset: 16 }));
    // Every strict prefix is rejected (the last tensor's bytes are cut at least).
    for cut in 0..file.len() {
        assert!(parse(&file[..cut]).is_err(), "prefix of {cut} bytes");
    }
    let one = Builder::new().kv("k", V::U32(7)).build();
    // Cut inside the u32 value: key (8 + 1) and type (4) are there.
    let at = KV_START + 8 + 1 + 4;
    assert_eq!(
        parse(&one[..at as usize + 2]),
        Err(GgufError::Truncated { offset: at })
    );
}

#[test]
fn bad_magic_big_endian_and_versions() {
    let mut b = synthetic();
    b.magic = *b"GGML";
    assert_eq!(err(&b), GgufError::BadMagic { found: *b"GGML" });
    b.magic = *b"FUGG";
    assert_eq!(err(&b), GgufError::BigEndian);
    let mut b = synthetic();
    b.version = 3u32.swap_bytes();
    assert_eq!(err(&b), GgufError::BigEndian);
    b.version = 1;
    assert_eq!(err(&b), GgufError::UnsupportedVersion(1));
    b.version = 4;
    assert_eq!(err(&b), GgufError::UnsupportedVersion(4));
    b.version = 0;
    assert_eq!(err(&b), GgufError::UnsupportedVersion(0));
}

#[test]
fn counts_beyond_the_input() {
    let mut b = Builder::new().kv("a", V::U8(1));
    b.kv_count = Some(2);
    assert_eq!(
        err(&b),
        GgufError::LengthOutOfBounds {
            what: Field::KvCount,
            value: 2,
            offset: 16
        }
    );
    for hostile in [1u64 << 31, (1 << 32) + 1, u64::MAX] {
        let mut b = synthetic();
        b.tensor_count = Some(hostile);
        assert_eq!(
            err(&b),
            GgufError::LengthOutOfBounds {
                what: Field::TensorCount,
                value: hostile,
                offset: 8
            }
        );
        let mut b = synthetic();
        b.kv_count = Some(hostile);
        assert!(matches!(
            err(&b),
            GgufError::LengthOutOfBounds {
                what: Field::KvCount,
                ..
            }
        ));
    }
    // Enough bytes for the count up front, but not after the metadata.
    let mut b = Builder::new().kv("pad", V::Str(vec![b'x'; 100]));
    b.tensor_count = Some(3);
    assert!(matches!(
        err(&b),
        GgufError::LengthOutOfBounds {
            what: Field::TensorCount,
            value: 3,
            ..
        }
    ));
}

#[test]
fn lengths_beyond_the_input() {
    let b = Builder::new().kv("s", V::Raw(ty::STRING, 1000u64.to_le_bytes().to_vec()));
    assert_eq!(
        err(&b),
        GgufError::LengthOutOfBounds {
            what: Field::StringLen,
            value: 1000,
            offset: KV_START + 8 + 1 + 4
        }
    );
    let mut raw = ty::U32.to_le_bytes().to_vec();
    raw.extend(u64::MAX.to_le_bytes());
    let b = Builder::new().kv("a", V::Raw(ty::ARRAY, raw));
    assert_eq!(
        err(&b),
        GgufError::LengthOutOfBounds {
            what: Field::ArrayLen,
            value: u64::MAX,
            offset: KV_START + 8 + 1 + 4 + 4
        }
    );
    // A string array's count is checked against 8 bytes per element.
    let mut raw = ty::STRING.to_le_bytes().to_vec();
    raw.extend(3u64.to_le_bytes());
    raw.extend([0u8; 16]);
    let b = Builder::new().kv("a", V::Raw(ty::ARRAY, raw));
    assert!(matches!(
        err(&b),
        GgufError::LengthOutOfBounds {
            what: Field::ArrayLen,
            value: 3,
            ..
        }
    ));
    // A key length beyond the input.
    let mut file = Builder::new().kv("k", V::U8(1)).build();
    file[24..32].copy_from_slice(&500u64.to_le_bytes());
    assert_eq!(
        parse(&file),
        Err(GgufError::LengthOutOfBounds {
            what: Field::KeyLen,
            value: 500,
            offset: 24
        })
    );
    // A tensor name length beyond the input.
    let mut file = Builder::new().tensor("t", GgmlType::F32, &[1]).build();
    file[24..32].copy_from_slice(&(1u64 << 32).to_le_bytes());
    assert_eq!(
        parse(&file),
        Err(GgufError::LengthOutOfBounds {
            what: Field::TensorNameLen,
            value: 1 << 32,
            offset: 24
        })
    );
}

#[test]
#[cfg_attr(miri, ignore)] // builds files with thousands of keys: minutes under Miri
fn limits() {
    let mut b = Builder::new();
    for i in 0..=MAX_KV {
        b = b.kv(&format!("k{i}"), V::U8(0));
    }
    assert_eq!(
        err(&b),
        GgufError::LimitExceeded {
            what: Field::KvCount,
            value: MAX_KV as u64 + 1,
            limit: MAX_KV as u64
        }
    );
    b.kvs.pop();
    ok(&b);

    // MAX_TENSORS + 1 tensor infos' worth of bytes, so only the limit fails.
    let mut b = Builder::new().kv("pad", V::Str(vec![0; (MAX_TENSORS + 1) * 32]));
    b.tensor_count = Some(MAX_TENSORS as u64 + 1);
    assert_eq!(
        err(&b),
        GgufError::LimitExceeded {
            what: Field::TensorCount,
            value: MAX_TENSORS as u64 + 1,
            limit: MAX_TENSORS as u64
        }
    );

    let long_key = "k".repeat(MAX_KEY_LEN + 1);
    assert_eq!(
        err(&Builder::new().kv(&long_key, V::U8(0))),
        GgufError::LimitExceeded {
            what: Field::KeyLen,
            value: MAX_KEY_LEN as u64 + 1,
            limit: MAX_KEY_LEN as u64
        }
    );
    ok(&Builder::new().kv(&long_key[1..], V::U8(0)));

    let long_name = "t".repeat(MAX_TENSOR_NAME_LEN + 1);
    assert_eq!(
        err(&Builder::new().tensor(&long_name, GgmlType::F32, &[1])),
        GgufError::LimitExceeded {
            what: Field::TensorNameLen,
            value: MAX_TENSOR_NAME_LEN as u64 + 1,
            limit: MAX_TENSOR_NAME_LEN as u64
        }
    );
    ok(&Builder::new().tensor(&long_name[1..], GgmlType::F32, &[1]));
}

#[test]
fn value_types() {
    let at = KV_START + 8 + 1;
    assert_eq!(
        err(&Builder::new().kv("a", V::Raw(13, vec![0; 8]))),
        GgufError::BadValueType {
            type_id: 13,
            offset: at
        }
    );
    assert_eq!(
        err(&Builder::new().kv("a", V::Raw(u32::MAX, vec![0; 8]))),
        GgufError::BadValueType {
            type_id: u32::MAX,
            offset: at
        }
    );
    assert_eq!(
        err(&Builder::new().kv("a", V::Arr(13, vec![]))),
        GgufError::BadValueType {
            type_id: 13,
            offset: at + 4
        }
    );
    assert_eq!(
        err(&Builder::new().kv("a", V::Arr(ty::ARRAY, vec![]))),
        GgufError::NestedArray { offset: at + 4 }
    );
    let nested = V::Arr(ty::ARRAY, vec![V::Arr(ty::U8, vec![V::U8(1)])]);
    assert!(matches!(
        err(&Builder::new().kv("a", nested)),
        GgufError::NestedArray { .. }
    ));
}

#[test]
fn bools() {
    let at = KV_START + 8 + 1 + 4;
    assert_eq!(
        err(&Builder::new().kv("a", V::Bool(2))),
        GgufError::BadBool {
            value: 2,
            offset: at
        }
    );
    let arr = V::Arr(ty::BOOL, vec![V::Bool(1), V::Bool(0), V::Bool(255)]);
    assert_eq!(
        err(&Builder::new().kv("a", arr)),
        GgufError::BadBool {
            value: 255,
            offset: at + 12 + 2
        }
    );
}

#[test]
fn utf8() {
    let bad = vec![b'o', b'k', 0xff];
    let mut b = Builder::new();
    b.kvs.push((bad.clone(), V::U8(0)));
    assert_eq!(
        err(&b),
        GgufError::InvalidUtf8 {
            offset: KV_START + 8
        }
    );
    assert_eq!(
        err(&Builder::new().kv("a", V::Str(bad.clone()))),
        GgufError::InvalidUtf8 {
            offset: KV_START + 8 + 1 + 4 + 8
        }
    );
    let arr = V::Arr(ty::STRING, vec![V::str("fine"), V::Str(vec![0xc3])]);
    assert_eq!(
        err(&Builder::new().kv("a", arr)),
        GgufError::InvalidUtf8 {
            offset: KV_START + 8 + 1 + 4 + 12 + 12 + 8
        }
    );
    let mut b = Builder::new();
    b.tensors.push(T {
        name: bad,
        ne: vec![1],
        type_id: 0,
        offset: None,
    });
    assert_eq!(
        err(&b),
        GgufError::InvalidUtf8 {
            offset: KV_START + 8
        }
    );
}

#[test]
fn duplicate_keys() {
    let b = Builder::new().kv("a", V::U8(0)).kv("a", V::U32(0));
    assert_eq!(
        err(&b),
        GgufError::DuplicateKey {
            first: 0,
            second: 1
        }
    );
    // Far apart, behind big arrays, beyond the first block of the pairwise check.
    let tokens = V::Arr(
        ty::STRING,
        (0..1000).map(|i| V::str(&i.to_string())).collect(),
    );
    let mut b = Builder::new().kv("tokens", tokens);
    for i in 0..100 {
        b = b.kv(&format!("key.{i}"), V::U32(i));
    }
    ok(&b);
    let b = b.kv("key.70", V::U8(0));
    assert_eq!(
        err(&b),
        GgufError::DuplicateKey {
            first: 71,
            second: 101
        }
    );
}

#[test]
fn alignment() {
    let with = |v: V| Builder::new().kv("general.alignment", v);
    assert_eq!(
        err(&with(V::U64(32))),
        GgufError::AlignmentNotU32 {
            found: ValueType::U64
        }
    );
    assert_eq!(
        err(&with(V::I32(32))),
        GgufError::AlignmentNotU32 {
            found: ValueType::I32
        }
    );
    assert_eq!(err(&with(V::U32(0))), GgufError::BadAlignment { value: 0 });
    assert_eq!(
        err(&with(V::U32(48))),
        GgufError::BadAlignment { value: 48 }
    );
    // A valid non-default alignment places the data and governs tensor offsets.
    let mut b = with(V::U32(64))
        .tensor("a", GgmlType::F32, &[3])
        .tensor("b", GgmlType::F32, &[3]);
    b.align = 64;
    let file = b.build();
    let buf = Aligned::new(&file);
    let g = Gguf::parse(buf.bytes()).unwrap();
    assert_eq!(g.alignment(), 64);
    assert_eq!(g.data_offset() % 64, 0);
    assert_eq!(g.tensor("b").unwrap().offset(), 64);
    let b = with(V::U32(64)).tensor_at("a", GgmlType::F32, &[3], 32);
    assert_eq!(
        err(&b),
        GgufError::MisalignedOffset {
            tensor: 0,
            offset: 32
        }
    );
    // Huge but valid alignment: the data section starts past the end of the file.
    ok(&with(V::U32(1 << 31)));
    let b = with(V::U32(1 << 31)).tensor("a", GgmlType::F32, &[1]);
    assert_eq!(err(&b), GgufError::TensorOutOfBounds { tensor: 0 });
}

fn raw_tensor(ne: &[u64], type_id: u32) -> Builder {
    let mut b = Builder::new().tensor("ok", GgmlType::F32, &[4]);
    b.tensors.push(T {
        name: b"t".to_vec(),
        ne: ne.to_vec(),
        type_id,
        offset: None,
    });
    b
}

#[test]
fn tensor_infos() {
    assert_eq!(
        err(&raw_tensor(&[32], 4)),
        GgufError::UnknownTensorType {
            tensor: 1,
            type_id: 4
        }
    );
    assert_eq!(
        err(&raw_tensor(&[32], 1000)),
        GgufError::UnknownTensorType {
            tensor: 1,
            type_id: 1000
        }
    );
    assert_eq!(
        err(&raw_tensor(&[], 0)),
        GgufError::BadDims {
            tensor: 1,
            n_dims: 0
        }
    );
    assert_eq!(
        err(&raw_tensor(&[1, 1, 1, 1, 1], 0)),
        GgufError::BadDims {
            tensor: 1,
            n_dims: 5
        }
    );
    let mut file = raw_tensor(&[1], 0).build();
    let (fields, _) = gguf_common::header_fields(&file);
    let n_dims_at = fields
        .iter()
        .filter(|f| f.kind == gguf_common::FieldKind::NDims)
        .nth(1)
        .unwrap()
        .at;
    file[n_dims_at..n_dims_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(
        parse(&file),
        Err(GgufError::BadDims {
            tensor: 1,
            n_dims: u32::MAX
        })
    );
    assert_eq!(
        err(&raw_tensor(&[32, 0], 0)),
        GgufError::ZeroDimension { tensor: 1, dim: 1 }
    );
    assert_eq!(
        err(&raw_tensor(&[0], 0)),
        GgufError::ZeroDimension { tensor: 1, dim: 0 }
    );
    assert_eq!(
        err(&raw_tensor(&[48, 2], GgmlType::Q4_0.id())),
        GgufError::NotBlockMultiple {
            tensor: 1,
            ne0: 48,
            block: 32
        }
    );
    assert_eq!(
        err(&raw_tensor(&[128], GgmlType::Q6_K.id())),
        GgufError::NotBlockMultiple {
            tensor: 1,
            ne0: 128,
            block: 256
        }
    );
    // Element count overflows u64.
    assert_eq!(
        err(&raw_tensor(&[1 << 32, 1 << 32, 1 << 32], 0)),
        GgufError::SizeOverflow { tensor: 1 }
    );
    // Element count fits, byte size (× 4) does not.
    assert_eq!(
        err(&raw_tensor(&[1 << 62], 0)),
        GgufError::SizeOverflow { tensor: 1 }
    );
    // Every dimension at u64::MAX.
    assert_eq!(
        err(&raw_tensor(&[u64::MAX; 4], 0)),
        GgufError::SizeOverflow { tensor: 1 }
    );
    // Fits u64 and usize on 64-bit, far beyond the input.
    let mut file = raw_tensor(&[8], 0).build();
    let (fields, _) = gguf_common::header_fields(&file);
    let ne_at = fields
        .iter()
        .filter(|f| f.kind == gguf_common::FieldKind::Ne)
        .nth(1)
        .unwrap()
        .at;
    file[ne_at..ne_at + 8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    assert!(matches!(
        parse(&file),
        Err(GgufError::TensorOutOfBounds { tensor: 1 })
            | Err(GgufError::SizeOverflow { tensor: 1 })
    ));
}

#[test]
fn tensor_placement() {
    let b = Builder::new().tensor_at("a", GgmlType::F32, &[8], 16);
    assert_eq!(
        err(&b),
        GgufError::MisalignedOffset {
            tensor: 0,
            offset: 16
        }
    );
    let mut b = Builder::new().tensor("a", GgmlType::F32, &[8]);
    b.cut = 1;
    assert_eq!(err(&b), GgufError::TensorOutOfBounds { tensor: 0 });
    for offset in [1u64 << 31, (1 << 32) + 32, u64::MAX - 31] {
        let mut b =
            Builder::new()
                .tensor("a", GgmlType::F32, &[8])
                .tensor("b", GgmlType::F32, &[8]);
        b.tensors[1].offset = Some(offset);
        b.tensors.push(T {
            name: b"pad".to_vec(),
            ne: vec![8],
            type_id: 0,
            offset: Some(0),
        });
        // Build with b at a sane offset (the builder allocates data up to the largest end),
        // then patch the real offset in.
        let mut sane = b.clone();
        sane.tensors[1].offset = Some(32);
        sane.tensors.pop();
        let mut file = sane.build();
        let (fields, _) = gguf_common::header_fields(&file);
        let at = fields
            .iter()
            .filter(|f| f.kind == gguf_common::FieldKind::TensorOffset)
            .nth(1)
            .unwrap()
            .at;
        file[at..at + 8].copy_from_slice(&offset.to_le_bytes());
        assert_eq!(
            parse(&file),
            Err(GgufError::TensorOutOfBounds { tensor: 1 }),
            "offset {offset}"
        );
    }

    // Overlaps: same start; unsorted partial overlap found by the pairwise check.
    let b = Builder::new()
        .tensor_at("a", GgmlType::F32, &[8], 0)
        .tensor_at("b", GgmlType::F32, &[8], 0);
    assert_eq!(
        err(&b),
        GgufError::TensorsOverlap {
            first: 0,
            second: 1
        }
    );
    let b = Builder::new()
        .tensor_at("a", GgmlType::F32, &[8], 64)
        .tensor_at("b", GgmlType::F32, &[8], 0)
        .tensor_at("c", GgmlType::F32, &[16], 32);
    assert_eq!(
        err(&b),
        GgufError::TensorsOverlap {
            first: 0,
            second: 2
        }
    );
    // Unsorted but disjoint is fine.
    let b = Builder::new()
        .tensor_at("a", GgmlType::F32, &[8], 64)
        .tensor_at("b", GgmlType::F32, &[8], 0)
        .tensor_at("c", GgmlType::F32, &[8], 32);
    ok(&b);
    // Many unsorted tensors, overlap between the 3rd and the 60th.
    let mut b = Builder::new();
    for i in 0..60u64 {
        b = b.tensor_at(&format!("t{i}"), GgmlType::F32, &[8], (59 - i) * 32);
    }
    ok(&b);
    b.tensors[59].offset = Some(56 * 32);
    b.tensors[59].ne = vec![16];
    assert_eq!(
        err(&b),
        GgufError::TensorsOverlap {
            first: 2,
            second: 59
        }
    );

    let b = Builder::new()
        .tensor("same", GgmlType::F32, &[8])
        .tensor("other", GgmlType::F32, &[8])
        .tensor("same", GgmlType::F32, &[8]);
    assert_eq!(
        err(&b),
        GgufError::DuplicateTensor {
            first: 0,
            second: 2
        }
    );
}

#[test]
fn every_error_displays() {
    let errors = [
        GgufError::Truncated { offset: 1 },
        GgufError::BadMagic { found: *b"GGML" },
        GgufError::BigEndian,
        GgufError::UnsupportedVersion(1),
        GgufError::LengthOutOfBounds {
            what: Field::ArrayLen,
            value: 9,
            offset: 3,
        },
        GgufError::LimitExceeded {
            what: Field::KvCount,
            value: 2000,
            limit: 1024,
        },
        GgufError::HeaderOverflow,
        GgufError::TensorNotFound,
    ];
    for e in errors {
        assert!(!e.to_string().is_empty());
        let as_crate_error: phi3_kernels::Error = e.into();
        assert!(as_crate_error.to_string().starts_with("GGUF: "));
    }
    assert_eq!(
        GgufError::LengthOutOfBounds {
            what: Field::ArrayLen,
            value: 9,
            offset: 3
        }
        .to_string(),
        "array length 9 at byte 3 exceeds what the rest of the input can hold"
    );
}
