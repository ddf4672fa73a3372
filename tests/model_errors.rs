//! Errors of model binding, arena checks and session inputs: each is a specific `ModelError`,
//! and a session that rejected an input is still usable (its later logits are those of a
//! session that never saw the bad input).

mod model_support;

use model_support::*;
use phi3_kernels::error::TensorName;
use phi3_kernels::gguf::Gguf;
use phi3_kernels::kernels::Kernels;
use phi3_kernels::model::{ArenaPlan, Limits, Model, Session, ARENA_ALIGN};
use phi3_kernels::{Error, ModelError};

const MODEL: &str = "phi3-tiny-gqa-q4_0";

fn limits() -> Limits {
    Limits {
        max_context: 16,
        max_batch: 4,
        workers: 1,
        allow_beyond_trained_context: false,
        kv: phi3_kernels::model::KvType::F16,
    }
}

fn model_err(e: Error) -> ModelError {
    match e {
        Error::Model(m) => m,
        other => panic!("expected a model error, got {other:?}"),
    }
}

#[test]
fn arena_too_small_or_misaligned() {
    let bytes = model_bytes(MODEL);
    let (_g, model) = parse(&bytes);
    let needed = ArenaPlan::new(model.config(), &limits())
        .unwrap()
        .bytes_needed();
    assert_eq!(needed % ARENA_ALIGN, 0);

    let mut small = ArenaBuf::new(needed - 1);
    let e = Session::new(&model, small.bytes(), limits(), Kernels::detect()).err();
    assert_eq!(
        e.map(model_err),
        Some(ModelError::ArenaTooSmall {
            needed,
            actual: needed - 1
        })
    );

    let mut big = ArenaBuf::new(needed + 1);
    let e = Session::new(&model, &mut big.bytes()[1..], limits(), Kernels::detect()).err();
    assert_eq!(
        e.map(model_err),
        Some(ModelError::ArenaMisaligned {
            align: ARENA_ALIGN,
            offset: 1
        })
    );

    for (what, l) in [
        (
            "max_context",
            Limits {
                max_context: 0,
                ..limits()
            },
        ),
        (
            "max_batch",
            Limits {
                max_batch: 0,
                ..limits()
            },
        ),
        (
            "workers",
            Limits {
                workers: 0,
                ..limits()
            },
        ),
    ] {
        let e = Session::new(&model, big.bytes(), l, Kernels::detect()).err();
        assert_eq!(e.map(model_err), Some(ModelError::BadLimits { what }));
    }
    // An exactly-sized arena works.
    let mut exact = ArenaBuf::new(needed);
    assert!(Session::new(&model, exact.bytes(), limits(), Kernels::detect()).is_ok());
}

#[test]
fn plan_regions_are_aligned_disjoint_and_sized() {
    let bytes = model_bytes(MODEL);
    let (_g, model) = parse(&bytes);
    let c = *model.config();
    let l = Limits {
        max_context: 100,
        max_batch: 7,
        workers: 3,
        allow_beyond_trained_context: false,
        kv: phi3_kernels::model::KvType::F16,
    };
    let plan = ArenaPlan::new(&c, &l).unwrap();
    let mut end = 0;
    for (name, r) in plan.regions() {
        assert_eq!(r.offset % ARENA_ALIGN, 0, "{name}");
        assert!(r.offset >= end, "{name} overlaps");
        end = r.end();
    }
    assert!(plan.bytes_needed() >= end);
    assert!(plan.bytes_needed() < end + ARENA_ALIGN);
    let kv = c.n_layer * 100 * c.n_head_kv * c.head_dim * 2;
    assert_eq!(plan.k_cache.len, kv);
    assert_eq!(plan.v_cache.len, kv);
    assert_eq!(plan.logits.len, 7 * c.n_vocab * 4);
    // Per worker, a causal block of 4 queries: 4 scores rows of 100 and 4 outputs.
    assert_eq!(plan.scores.len, 3 * 4 * (100 + c.head_dim) * 4);
    // A batch of 2 needs blocks of 2 only.
    let l2 = Limits { max_batch: 2, ..l };
    assert_eq!(
        ArenaPlan::new(&c, &l2).unwrap().scores.len,
        3 * 2 * (100 + c.head_dim) * 4
    );
    assert_eq!(
        plan.qkv.len,
        7 * (c.n_head + 2 * c.n_head_kv) * c.head_dim * 4
    );
    // f32 is the widest activation format.
    assert_eq!(plan.quant.len, 7 * c.n_embd.max(c.n_ff).max(c.q_dim()) * 4);
}

#[test]
fn session_input_errors_leave_it_usable() {
    let bytes = model_bytes(MODEL);
    let (_g, model) = parse(&bytes);
    let n_vocab = model.config().n_vocab;
    let mut arena = ArenaBuf::for_plan(&model, &limits());
    let mut s = Session::new(&model, arena.bytes(), limits(), Kernels::detect()).unwrap();
    s.forward(&[1, 5, 9], false).unwrap();

    let err = |r: Result<&[f32], Error>| r.err().map(model_err);
    assert_eq!(
        err(s.forward(&[1, 2, 3, 4, 5], false)),
        Some(ModelError::BatchTooLarge {
            batch: 5,
            max_batch: 4
        })
    );
    assert_eq!(err(s.forward(&[], false)), Some(ModelError::EmptyBatch));
    assert_eq!(
        err(s.forward(&[3, n_vocab as u32, 4], false)),
        Some(ModelError::TokenOutOfRange {
            token: n_vocab as u32,
            n_vocab
        })
    );
    assert_eq!(
        err(s.forward(&[u32::MAX], true)),
        Some(ModelError::TokenOutOfRange {
            token: u32::MAX,
            n_vocab
        })
    );
    for _ in 0..3 {
        s.forward(&[7, 8, 9, 10], false).unwrap();
    }
    assert_eq!(s.len(), 15);
    assert_eq!(
        err(s.forward(&[11, 12], false)),
        Some(ModelError::ContextOverflow {
            needed: 17,
            max_context: 16
        })
    );
    assert_eq!(
        s.truncate(16).err().map(model_err),
        Some(ModelError::TruncateBeyondEnd { n: 16, len: 15 })
    );
    assert_eq!(s.len(), 15);
    let ours = s.forward(&[11], false).unwrap().to_vec();

    // A session that never saw the rejected inputs.
    let mut arena2 = ArenaBuf::for_plan(&model, &limits());
    let mut fresh = Session::new(&model, arena2.bytes(), limits(), Kernels::detect()).unwrap();
    fresh.forward(&[1, 5, 9], false).unwrap();
    for _ in 0..3 {
        fresh.forward(&[7, 8, 9, 10], false).unwrap();
    }
    let want = fresh.forward(&[11], false).unwrap();
    assert!(ours
        .iter()
        .zip(want)
        .all(|(a, b)| a.to_bits() == b.to_bits()));

    // A prompt longer than max_context (and max_batch) in a fresh session.
    s.reset();
    assert!(s.is_empty());
    let long: Vec<u32> = (0..17).collect();
    assert!(matches!(
        err(s.forward(&long, false)),
        Some(ModelError::BatchTooLarge { .. })
    ));
    let big_limits = Limits {
        max_context: 16,
        max_batch: 32,
        workers: 1,
        allow_beyond_trained_context: false,
        kv: phi3_kernels::model::KvType::F16,
    };
    let mut arena3 = ArenaBuf::for_plan(&model, &big_limits);
    let mut s3 = Session::new(&model, arena3.bytes(), big_limits, Kernels::detect()).unwrap();
    assert_eq!(
        err(s3.forward(&long, false)),
        Some(ModelError::ContextOverflow {
            needed: 17,
            max_context: 16
        })
    );
    assert!(s3.forward(&long[..16], false).is_ok());
}

/// Rewrites the first occurrence of `from` in the file with `to` (same length).
fn patched(from: &[u8], to: &[u8]) -> AlignedBytes {
    assert_eq!(from.len(), to.len());
    let path = data_dir().join("gguf").join(format!("{MODEL}.gguf"));
    let mut raw = std::fs::read(&path).unwrap();
    let at = raw
        .windows(from.len())
        .position(|w| w == from)
        .expect("pattern");
    raw[at..at + to.len()].copy_from_slice(to);
    let tmp = std::env::temp_dir().join(format!(
        "phi3-model-errors-{}-{}.gguf",
        std::process::id(),
        String::from_utf8_lossy(to).replace(['.', '\0'], "_")
    ));
    std::fs::write(&tmp, &raw).unwrap();
    let bytes = AlignedBytes::read(&tmp);
    let _ = std::fs::remove_file(&tmp);
    bytes
}

fn bind_err(bytes: &AlignedBytes) -> ModelError {
    let gguf = Gguf::parse(bytes.bytes()).expect("still a valid GGUF");
    model_err(Model::from_gguf(&gguf).expect_err("binding must fail"))
}

#[test]
fn binding_errors_name_the_tensor() {
    let renamed = patched(b"blk.1.ffn_down.weight", b"blk.1.ffn_dowX.weight");
    assert_eq!(
        bind_err(&renamed),
        ModelError::MissingTensor {
            tensor: TensorName {
                role: "ffn_down.weight",
                layer: Some(1)
            }
        }
    );
    assert_eq!(
        format!("{}", Error::from(bind_err(&renamed))),
        "model: tensor `blk.1.ffn_down.weight` is missing"
    );

    // feed_forward_length 768 → 512: blk.0's fused gate/up has the wrong row count.
    let mut key = b"phi3.feed_forward_length".to_vec();
    key.extend([4, 0, 0, 0, 0x00, 0x03]);
    let mut to = b"phi3.feed_forward_length".to_vec();
    to.extend([4, 0, 0, 0, 0x00, 0x02]);
    match bind_err(&patched(&key, &to)) {
        ModelError::TensorShape {
            tensor,
            expected,
            found,
            ..
        } => {
            assert_eq!(tensor.to_string(), "blk.0.ffn_up.weight");
            assert_eq!(expected, [256, 1024]);
            assert_eq!(found, [256, 1536, 1, 1]);
        }
        other => panic!("expected TensorShape, got {other:?}"),
    }

    let arch = patched(
        b"\x04\x00\x00\x00\x00\x00\x00\x00phi3",
        b"\x04\x00\x00\x00\x00\x00\x00\x00phi2",
    );
    assert_eq!(bind_err(&arch), ModelError::UnsupportedArchitecture);
}

/// A `max_context` beyond the model's trained context is refused unless the limits opt in
/// (`allow_beyond_trained_context`); for a LongRoPE model the bound is its long context, not
/// the original (short-factor) one.
#[test]
fn context_beyond_training_needs_opt_in() {
    for (name, trained) in [(MODEL, 256), ("phi3-tiny-longrope-q4_0", 1024)] {
        let bytes = model_bytes(name);
        let (_g, model) = parse(&bytes);
        let c = *model.config();
        assert_eq!(c.max_trained_context(), trained, "{name}");
        let at = Limits::new(trained, 4, 1);
        assert!(!at.allow_beyond_trained_context);
        assert!(ArenaPlan::new(&c, &at).is_ok(), "{name}");
        let beyond = Limits::new(trained + 1, 4, 1);
        let refused = ModelError::ContextBeyondTraining {
            max_context: trained + 1,
            trained,
        };
        assert_eq!(ArenaPlan::new(&c, &beyond).err(), Some(refused), "{name}");
        assert!(refused.to_string().contains("allow_beyond_trained_context"));
        let opted = beyond.beyond_trained_context();
        assert!(opted.allow_beyond_trained_context);
        let plan = ArenaPlan::new(&c, &opted).expect("opted in");
        let mut arena = ArenaBuf::new(plan.bytes_needed());
        let e = Session::new(&model, arena.bytes(), beyond, Kernels::detect()).err();
        assert_eq!(e.map(model_err), Some(refused), "{name}");
        // Opted in, the session really holds positions past the trained context.
        let mut s = Session::new(&model, arena.bytes(), opted, Kernels::detect()).expect("session");
        let tokens: Vec<u32> = (0..trained as u32 + 1).map(|t| 1 + t % 500).collect();
        for chunk in tokens.chunks(4) {
            s.forward(chunk, false).expect("forward");
        }
        assert_eq!(s.len(), trained + 1);
        assert!(matches!(
            s.forward(&[1], false).map(|_| ()).map_err(model_err),
            Err(ModelError::ContextOverflow { .. })
        ));
    }
}
