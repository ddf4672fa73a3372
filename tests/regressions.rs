//! Regressions and pinned hostile inputs.
//!
//! The fuzz targets (`fuzz/`, `scripts/fuzz`) found no crash so far (see
//! `docs/hostile-input.md`); any crash they find gets its minimised input and the expected
//! error here. Until then this file pins, by exact error, the bad inputs the fuzzers reach
//! that no other test names: model binding errors and vocabulary errors on patched fixtures.

mod model_support;

use model_support::*;
use phi3_kernels::error::TensorName;
use phi3_kernels::gguf::Gguf;
use phi3_kernels::model::{Model, MAX_LAYERS};
use phi3_kernels::quant::GgmlType;
use phi3_kernels::tokenizer::{Tokenizer, TokenizerError};
use phi3_kernels::{Error, ModelError};

/// A fixture's bytes (8-byte aligned) with `patch` applied.
fn patched(file: &str, patch: impl FnOnce(&mut Vec<u8>)) -> Vec<u64> {
    let mut raw = std::fs::read(data_dir().join("gguf").join(file)).unwrap();
    patch(&mut raw);
    let mut words = vec![0u64; raw.len().div_ceil(8)];
    bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..raw.len()].copy_from_slice(&raw);
    words
}

/// Where the first occurrence of `needle` starts.
fn find(raw: &[u8], needle: &[u8]) -> usize {
    raw.windows(needle.len())
        .position(|w| w == needle)
        .expect("pattern in fixture")
}

/// Overwrites the u32 value of metadata key `key` (a `u32` pair).
fn set_u32(raw: &mut [u8], key: &str, v: u32) {
    let at = find(raw, key.as_bytes()) + key.len();
    assert_eq!(&raw[at..at + 4], &4u32.to_le_bytes(), "{key} is a u32");
    raw[at + 4..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// Overwrites the f32 value of metadata key `key`.
fn set_f32(raw: &mut [u8], key: &str, v: f32) {
    let at = find(raw, key.as_bytes()) + key.len();
    assert_eq!(&raw[at..at + 4], &6u32.to_le_bytes(), "{key} is an f32");
    raw[at + 4..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn rename(raw: &mut [u8], from: &str, to: &str) {
    assert_eq!(from.len(), to.len());
    let at = find(raw, from.as_bytes());
    raw[at..at + to.len()].copy_from_slice(to.as_bytes());
}

const MODEL: &str = "phi3-tiny-gqa-q4_0.gguf";
const VOCAB: &str = "ggml-vocab-phi-3.gguf";

fn bind(words: &[u64]) -> Result<(), Error> {
    let gguf = Gguf::parse(bytemuck::cast_slice::<u64, u8>(words)).expect("still valid GGUF");
    Model::from_gguf(&gguf).map(|_| ())
}

fn model_err(words: &[u64]) -> ModelError {
    match bind(words) {
        Err(Error::Model(m)) => m,
        other => panic!("expected a model error, got {other:?}"),
    }
}

#[test]
#[cfg_attr(miri, ignore)] // a 1.2 MB fixture: too slow under Miri
fn binding_errors_on_patched_metadata() {
    let w = patched(MODEL, |r| {
        rename(r, "general.architecture", "general.architecturX")
    });
    assert_eq!(model_err(&w), ModelError::MissingArchitecture);

    let w = patched(MODEL, |r| rename(r, "phi3.block_count", "phi3.block_counX"));
    assert_eq!(model_err(&w), ModelError::MissingKey { key: "block_count" });

    // 8 query heads cannot share 3 KV heads.
    let w = patched(MODEL, |r| set_u32(r, "phi3.attention.head_count_kv", 3));
    assert_eq!(
        model_err(&w),
        ModelError::BadHyperParameter {
            key: "attention.head_count_kv",
            value: 3
        }
    );
    let w = patched(MODEL, |r| set_u32(r, "phi3.embedding_length", 0));
    assert_eq!(
        model_err(&w),
        ModelError::BadHyperParameter {
            key: "embedding_length",
            value: 0
        }
    );
    let w = patched(MODEL, |r| set_u32(r, "phi3.rope.dimension_count", 33));
    assert_eq!(
        model_err(&w),
        ModelError::BadHyperParameter {
            key: "rope.dimension_count",
            value: 33
        }
    );

    let w = patched(MODEL, |r| set_u32(r, "phi3.block_count", u32::MAX));
    assert_eq!(
        model_err(&w),
        ModelError::TooManyLayers {
            layers: u32::MAX as usize,
            max: MAX_LAYERS
        }
    );
    // More layers than the file has tensors for: the first missing one is named.
    let w = patched(MODEL, |r| set_u32(r, "phi3.block_count", 3));
    assert!(matches!(
        model_err(&w),
        ModelError::MissingTensor {
            tensor: TensorName { layer: Some(2), .. }
        }
    ));
}

/// Float hyper-parameters that are NaN, ±∞ or not positive are named with their value (they
/// used to print as `= 0`).
#[test]
#[cfg_attr(miri, ignore)] // a 1.2 MB fixture: too slow under Miri
fn bad_float_hyper_parameters_show_their_value() {
    for (key, v, shown) in [
        ("attention.layer_norm_rms_epsilon", f32::NAN, "= NaN"),
        ("attention.layer_norm_rms_epsilon", f32::INFINITY, "= inf"),
        (
            "attention.layer_norm_rms_epsilon",
            f32::NEG_INFINITY,
            "= -inf",
        ),
        ("attention.layer_norm_rms_epsilon", 0.0, "= 0.0"),
        ("attention.layer_norm_rms_epsilon", -1e-5, "= -1e-5"),
        ("rope.freq_base", f32::NAN, "= NaN"),
        ("rope.freq_base", -10000.0, "= -10000.0"),
    ] {
        let w = patched(MODEL, |r| set_f32(r, &format!("phi3.{key}"), v));
        let e = model_err(&w);
        assert_eq!(
            e,
            ModelError::BadFloatHyperParameter {
                key,
                bits: v.to_bits()
            }
        );
        let msg = e.to_string();
        assert_eq!(
            msg,
            format!("hyper-parameter `<arch>.{key}` {shown} is unusable"),
            "{key} = {v}"
        );
    }
}

#[test]
#[cfg_attr(miri, ignore)] // a 1.2 MB fixture: too slow under Miri
fn norm_vector_of_another_type_is_a_type_error() {
    // blk.0.attn_norm.weight is F32 [256]: declare it F16 (half the bytes, still in bounds).
    let w = patched(MODEL, |r| {
        let name = b"blk.0.attn_norm.weight";
        let at = find(r, name) + name.len();
        let n_dims = u32::from_le_bytes(r[at..at + 4].try_into().unwrap()) as usize;
        let ty_at = at + 4 + 8 * n_dims;
        assert_eq!(
            &r[ty_at..ty_at + 4],
            &0u32.to_le_bytes(),
            "F32 before the patch"
        );
        r[ty_at..ty_at + 4].copy_from_slice(&1u32.to_le_bytes());
    });
    match model_err(&w) {
        ModelError::TensorType { tensor, ty, .. } => {
            assert_eq!(
                tensor,
                TensorName {
                    role: "attn_norm.weight",
                    layer: Some(0)
                }
            );
            assert_eq!(ty, GgmlType::F16);
        }
        other => panic!("expected TensorType, got {other:?}"),
    }
}

#[track_caller]
fn tokenizer_err(words: &[u64]) -> TokenizerError {
    let bytes = bytemuck::cast_slice::<u64, u8>(words);
    let gguf = Gguf::parse(bytes).expect("still valid GGUF");
    let n = match Tokenizer::bytes_needed(&gguf, 64) {
        Err(e) => return e,
        Ok(n) => n,
    };
    let mut buf = vec![0u8; n];
    match Tokenizer::new(&gguf, &mut buf, 64) {
        Err(e) => e,
        Ok(_) => panic!("tokenizer must fail ({})", std::panic::Location::caller()),
    }
}

#[test]
#[cfg_attr(miri, ignore)] // a 1.2 MB fixture: too slow under Miri
fn vocabulary_errors_on_patched_metadata() {
    let w = patched(VOCAB, |r| {
        rename(r, "tokenizer.ggml.tokens", "tokenizer.ggml.tokenX")
    });
    assert!(matches!(tokenizer_err(&w), TokenizerError::MissingKey(_)));
    let w = patched(VOCAB, |r| {
        rename(r, "tokenizer.ggml.model", "tokenizer.ggml.modeX")
    });
    assert!(matches!(tokenizer_err(&w), TokenizerError::MissingKey(_)));
    // "llama" (SentencePiece) → "llamX".
    let w = patched(VOCAB, |r| {
        let key = b"tokenizer.ggml.model";
        let at = find(r, key) + key.len() + 4 + 8; // type, string length
        assert_eq!(&r[at..at + 5], b"llama");
        r[at + 4] = b'X';
    });
    assert_eq!(tokenizer_err(&w), TokenizerError::UnsupportedModel);
}

/// A complete phi3 model small enough for Miri (n_embd 32, one layer, 32 tokens, 7 KiB: the
/// `gguf_model` fuzz seed written by `fuzz/make_seeds.py`, after its control byte): parse,
/// bind, plan, carve a session and run prefill, decode, truncate and the error paths, so that
/// `scripts/miri` covers the session's arena carving and casts.
#[test]
fn tiny_model_session_end_to_end() {
    use phi3_kernels::kernels::Kernels;
    use phi3_kernels::model::{Limits, Session};
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus/gguf_model/seed-phi3-q4_0");
    let raw = std::fs::read(&path).unwrap();
    let file = &raw[1..];
    let mut words = vec![0u64; file.len().div_ceil(8)];
    bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..file.len()].copy_from_slice(file);
    let bytes = &bytemuck::cast_slice::<u64, u8>(&words)[..file.len()];
    let gguf = Gguf::parse(bytes).unwrap();
    let model = Model::from_gguf(&gguf).unwrap();
    assert_eq!(model.config().n_vocab, 32);
    let limits = Limits {
        max_context: 6,
        max_batch: 3,
        workers: 1,
        allow_beyond_trained_context: false,
        kv: phi3_kernels::model::KvType::F16,
    };
    let mut arena = ArenaBuf::for_plan(&model, &limits);
    let mut s = Session::new(&model, arena.bytes(), limits, Kernels::detect()).unwrap();
    let prefill = s.forward(&[1, 5, 31], true).unwrap().to_vec();
    assert_eq!(prefill.len(), 3 * 32);
    assert!(prefill.iter().all(|v| v.is_finite()));
    let decoded = s.forward(&[7], false).unwrap().to_vec();
    assert!(matches!(
        s.forward(&[32], false),
        Err(Error::Model(ModelError::TokenOutOfRange { .. }))
    ));
    assert!(matches!(
        s.forward(&[1, 2, 3, 4], false),
        Err(Error::Model(ModelError::BatchTooLarge { .. }))
    ));
    s.truncate(3).unwrap();
    assert_eq!(s.forward(&[7], false).unwrap(), &decoded[..]);
    assert!(matches!(
        s.forward(&[1, 2, 3], false),
        Err(Error::Model(ModelError::ContextOverflow { .. }))
    ));
}
