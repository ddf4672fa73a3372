//! Numerical safety: NaN / ±∞ in weights and activations never crash or hang a session and
//! never come out as finite garbage — `forward` reports [`ModelError::NonFinite`] naming the
//! first stage of the graph where a non-finite value shows, on every tier, and the batch is not
//! committed; sampling from all-NaN logits is an error; values past f16's range in the KV cache
//! do not crash (and KV values past the f16 range saturate at ±65504, so they stay finite); and
//! RoPE through the dispatched kernels stays accurate at position 131072 (the scalar tables up
//! to 131071 are in `kernels_rope.rs`).

mod common;
mod model_support;

use half::f16;
use model_support::*;
use phi3_kernels::error::ForwardStage;
use phi3_kernels::gguf::Gguf;
use phi3_kernels::kernels::rope::{rope_cos_sin, RopeParams};
use phi3_kernels::kernels::Kernels;
use phi3_kernels::model::{Limits, Model, Session};
use phi3_kernels::quant::GgmlType;
use phi3_kernels::sample::{greedy, SampleError, Sampler, SamplerConfig};
use phi3_kernels::{Error, ModelError};

const MODEL: &str = "phi3-tiny-gqa-q4_0";
const LIMITS: Limits = Limits {
    max_context: 16,
    max_batch: 4,
    workers: 1,
    allow_beyond_trained_context: false,
    kv: phi3_kernels::model::KvType::F16,
};
const PROMPT: [u32; 4] = [1, 15, 300, 1000];

/// The fixture's bytes with the data of tensor `name` rewritten by `patch`, re-aligned.
fn patched_model(name: &str, patch: impl FnOnce(&mut [u8])) -> Vec<u64> {
    let path = data_dir().join("gguf").join(format!("{MODEL}.gguf"));
    let mut raw = std::fs::read(&path).unwrap();
    let (start, len) = {
        let aligned = to_words(&raw);
        let bytes = &bytemuck::cast_slice::<u64, u8>(&aligned)[..raw.len()];
        let gguf = Gguf::parse(bytes).unwrap();
        let data = gguf.tensor(name).unwrap().data();
        (data.as_ptr() as usize - bytes.as_ptr() as usize, data.len())
    };
    patch(&mut raw[start..start + len]);
    // The fixture's length is a multiple of 8, so the words hold exactly the file.
    assert_eq!(raw.len() % 8, 0);
    to_words(&raw)
}

fn to_words(raw: &[u8]) -> Vec<u64> {
    let mut words = vec![0u64; raw.len().div_ceil(8)];
    bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..raw.len()].copy_from_slice(raw);
    words
}

/// Every tier this machine runs (scalar first); fails when `PHI3_REQUIRE_TIERS` names one
/// that is missing.
fn all_kernels() -> Vec<Kernels> {
    common::tiers_under_test()
        .into_iter()
        .map(|(_, k)| k)
        .collect()
}

/// Runs `PROMPT` as one batch and then two decode steps on every tier; returns the last
/// logits of each tier. Must not panic or hang, whatever the weights hold.
fn run_all_tiers(words: &[u64]) -> Vec<Vec<f32>> {
    let gguf = Gguf::parse(bytemuck::cast_slice(words)).expect("parse");
    let model = Model::from_gguf(&gguf).expect("bind");
    let mut out = Vec::new();
    for k in all_kernels() {
        let mut arena = ArenaBuf::for_plan(&model, &LIMITS);
        let mut s = Session::new(&model, arena.bytes(), LIMITS, k).expect("session");
        let n_vocab = model.config().n_vocab;
        assert_eq!(
            s.forward(&PROMPT, true).expect("prefill").len(),
            4 * n_vocab
        );
        s.forward(&[7], false).expect("decode");
        let last = s.forward(&[8], false).expect("decode").to_vec();
        assert_eq!(s.len(), PROMPT.len() + 2);
        // The session stays usable: truncate and redo.
        s.truncate(1).unwrap();
        s.forward(&[9], false).expect("decode after truncate");
        out.push(last);
    }
    out
}

/// Sets every Q4_0 / Q8_0 block scale (the leading f16 of each `block`-byte block) to `v`.
fn set_scales(data: &mut [u8], block: usize, v: f16, every: usize) {
    for (i, b) in data.chunks_exact_mut(block).enumerate() {
        if i % every == 0 {
            b[..2].copy_from_slice(&v.to_le_bytes());
        }
    }
}

/// The fixture with tensor `name` poisoned by `v` (NaN or ±∞): for a quantized matrix, the
/// scale of every `every`-th block (a super-block's `d` for K-quants); for an F32 vector, every
/// `every`-th element.
fn poisoned(name: &str, v: f32, every: usize) -> Vec<u64> {
    let ty = {
        let bytes = model_bytes(MODEL);
        let gguf = Gguf::parse(bytes.bytes()).unwrap();
        gguf.tensor(name).unwrap().ty()
    };
    patched_model(name, |d| match ty {
        GgmlType::F32 => {
            for (i, c) in d.chunks_exact_mut(4).enumerate() {
                if i % every == 0 {
                    c.copy_from_slice(&v.to_le_bytes());
                }
            }
        }
        GgmlType::Q4_0 => set_scales(d, 18, f16::from_f32(v), every),
        GgmlType::Q8_0 => set_scales(d, 34, f16::from_f32(v), every),
        GgmlType::Q6_K => {
            for (i, b) in d.chunks_exact_mut(210).enumerate() {
                if i % every == 0 {
                    b[208..210].copy_from_slice(&f16::from_f32(v).to_le_bytes());
                }
            }
        }
        other => panic!("{name}: unexpected type {other:?}"),
    })
}

/// The forward result must be `NonFinite { at, position }` (never logits: in particular never
/// finite all-zero ones).
#[track_caller]
fn expect_non_finite(r: Result<&[f32], Error>, at: ForwardStage, position: usize, what: &str) {
    match r {
        Err(Error::Model(ModelError::NonFinite { at: a, position: p })) => {
            assert_eq!((a, p), (at, position), "{what}: wrong stage or position");
            let msg = r.unwrap_err().to_string();
            assert!(
                msg.contains(&at.to_string()) && msg.contains(&format!("position {position}")),
                "{what}: message {msg:?}"
            );
        }
        Err(e) => panic!("{what}: expected NonFinite at {at:?}, got {e:?}"),
        Ok(l) => panic!(
            "{what}: expected NonFinite at {at:?}, got logits (all finite: {}, all zero: {})",
            l.iter().all(|v| v.is_finite()),
            l.iter().all(|&v| v == 0.0)
        ),
    }
}

/// On every tier: a prefill of `PROMPT` (all logits and last logits) and a decode step from
/// an empty session fail with `NonFinite { at, position }` (the first token's position; the
/// output head only sees the last token unless all logits are asked for), commit nothing, and
/// leave the session usable for the next call (which fails the same way).
fn assert_forward_fails_at(words: &[u64], at: ForwardStage, what: &str) {
    let gguf = Gguf::parse(bytemuck::cast_slice(words)).expect("parse");
    let model = Model::from_gguf(&gguf).expect("bind");
    for k in all_kernels() {
        let what = format!("{what} ({:?})", k.tier);
        let mut arena = ArenaBuf::for_plan(&model, &LIMITS);
        let mut s = Session::new(&model, arena.bytes(), LIMITS, k).expect("session");
        for all in [true, false] {
            let head = matches!(at, ForwardStage::FinalNorm | ForwardStage::Logits);
            let position = if head && !all { PROMPT.len() - 1 } else { 0 };
            expect_non_finite(s.forward(&PROMPT, all), at, position, &what);
            assert_eq!((s.len(), s.tokens()), (0, &[][..]), "{what}: committed");
        }
        expect_non_finite(s.forward(&[7], false), at, 0, &what);
        assert_eq!(s.len(), 0, "{what}: committed");
    }
}

#[test]
fn nan_weight_scales_do_not_crash_or_hang() {
    // One NaN scale in every 7th block of the fused qkv projection (Q4_0, 18-byte blocks):
    // q, k and v hold NaN from layer 0 on. Before the check, every tier returned finite,
    // all-zero logits (the attention softmax and the Q8 quantizer turned NaN into zeros).
    let words = patched_model("blk.0.attn_qkv.weight", |d| set_scales(d, 18, f16::NAN, 7));
    assert_forward_fails_at(&words, ForwardStage::Qkv { layer: 0 }, "NaN attn_qkv");
}

#[test]
fn non_finite_weights_are_named_on_every_tier() {
    use ForwardStage::*;
    let cases = [
        ("token_embd.weight", Embeddings),
        ("blk.0.attn_norm.weight", AttentionNorm { layer: 0 }),
        ("blk.1.attn_qkv.weight", Qkv { layer: 1 }),
        ("blk.0.attn_output.weight", AfterAttention { layer: 0 }),
        ("blk.1.ffn_norm.weight", FfnNorm { layer: 1 }),
        ("blk.0.ffn_up.weight", FfnActivation { layer: 0 }),
        ("blk.1.ffn_down.weight", AfterLayer { layer: 1 }),
        ("output_norm.weight", FinalNorm),
        ("output.weight", Logits),
    ];
    for (name, at) in cases {
        for v in [f32::NAN, f32::INFINITY] {
            // One value in 5: a single poisoned element is enough, as the attention norm
            // case shows (one NaN among 256 weights, which the quantizer would zero).
            let every = if name.contains("norm") { 256 } else { 5 };
            let words = poisoned(name, v, every);
            assert_forward_fails_at(&words, at, &format!("{v} in {name}"));
        }
    }
}

#[test]
fn inf_weights_and_activations_do_not_crash_or_hang() {
    // ±∞ in the attention norm (f32): the norm's output is ±∞ / NaN from layer 0 on.
    let words = patched_model("blk.0.attn_norm.weight", |d| {
        for (i, c) in d.chunks_exact_mut(4).enumerate() {
            let v = if i % 3 == 0 {
                f32::INFINITY
            } else {
                f32::NEG_INFINITY
            };
            c.copy_from_slice(&v.to_le_bytes());
        }
    });
    let at = ForwardStage::AttentionNorm { layer: 0 };
    assert_forward_fails_at(&words, at, "±∞ attn_norm");
    // ∞ block scales in the embedding: the embedding row itself is non-finite.
    let words = patched_model("token_embd.weight", |d| set_scales(d, 18, f16::INFINITY, 1));
    assert_forward_fails_at(&words, ForwardStage::Embeddings, "∞ token_embd");
}

/// The error commits nothing: the tokens before it stay, the next forward continues from them
/// and gives bit for bit the logits of a session that never saw the bad token.
#[test]
fn non_finite_error_leaves_the_session_usable() {
    const BAD: u32 = 300;
    // NaN in one block of token BAD's embedding row only.
    let (n_vocab, row_bytes) = {
        let bytes = model_bytes(MODEL);
        let gguf = Gguf::parse(bytes.bytes()).unwrap();
        let t = gguf.tensor("token_embd.weight").unwrap();
        assert_eq!(t.ty(), GgmlType::Q4_0);
        let n_vocab = t.data().len() / t.row_bytes();
        (n_vocab, t.row_bytes())
    };
    let words = patched_model("token_embd.weight", |d| {
        let at = BAD as usize * row_bytes + 2 * 18;
        d[at..at + 2].copy_from_slice(&f16::NAN.to_le_bytes());
    });
    let gguf = Gguf::parse(bytemuck::cast_slice(&words)).unwrap();
    let model = Model::from_gguf(&gguf).unwrap();
    assert_eq!(model.config().n_vocab, n_vocab);
    for k in all_kernels() {
        let what = format!("{:?}", k.tier);
        let reference = {
            let mut arena = ArenaBuf::for_plan(&model, &LIMITS);
            let mut s = Session::new(&model, arena.bytes(), LIMITS, k).unwrap();
            s.forward(&[1, 15], false).unwrap();
            s.forward(&[1000, 7], true).unwrap().to_vec()
        };
        let mut arena = ArenaBuf::for_plan(&model, &LIMITS);
        let mut s = Session::new(&model, arena.bytes(), LIMITS, k).unwrap();
        s.forward(&[1, 15], false).unwrap();
        let at = ForwardStage::Embeddings;
        expect_non_finite(s.forward(&[BAD], false), at, 2, &what);
        expect_non_finite(s.forward(&[1000, BAD, 7], true), at, 3, &what);
        assert_eq!((s.len(), s.tokens()), (2, &[1, 15][..]), "{what}");
        let logits = s.forward(&[1000, 7], true).unwrap();
        assert!(logits.iter().all(|v| v.is_finite()), "{what}");
        assert_eq!(
            logits,
            &reference[..],
            "{what}: not the never-failed session's logits"
        );
        assert_eq!(s.tokens(), &[1, 15, 1000, 7], "{what}");
        // And after truncating past the good tokens.
        s.truncate(1).unwrap();
        expect_non_finite(s.forward(&[BAD], false), at, 1, &what);
        assert_eq!(s.len(), 1, "{what}");
    }
}

#[test]
fn nan_output_head_is_a_forward_error_and_all_nan_logits_a_sampling_error() {
    // NaN scales on every block of the output head: every logit would be NaN. `forward`
    // reports it instead of returning them.
    let words = poisoned("output.weight", f32::NAN, 1);
    assert_forward_fails_at(&words, ForwardStage::Logits, "NaN output head");
    // Logits from elsewhere (the sampler takes any slice): all NaN is a sampling error.
    let n = 1024;
    let logits = vec![f32::NAN; n];
    assert_eq!(greedy(&logits), Err(SampleError::AllNaN));
    let (mut ids, mut work) = (vec![0u32; n], vec![0f32; n]);
    for cfg in [SamplerConfig::default(), SamplerConfig::greedy()] {
        let mut s = Sampler::new(cfg).unwrap();
        assert_eq!(
            s.sample(&logits, &[1, 2, 3], &mut ids, &mut work),
            Err(SampleError::AllNaN)
        );
    }
}

#[test]
fn sampling_mixed_non_finite_logits() {
    let n = 64;
    let (mut ids, mut work) = (vec![0u32; n], vec![0f32; n]);
    // Mostly NaN with one finite value: that value wins, in every mode.
    let mut logits = vec![f32::NAN; n];
    logits[17] = -3.0;
    assert_eq!(greedy(&logits), Ok(17));
    let mut s = Sampler::new(SamplerConfig::default()).unwrap();
    for _ in 0..32 {
        assert_eq!(s.sample(&logits, &[17], &mut ids, &mut work), Ok(17));
    }
    // +∞ wins outright; all −∞ falls back to the lowest id.
    logits[40] = f32::INFINITY;
    assert_eq!(s.sample(&logits, &[], &mut ids, &mut work), Ok(40));
    let all_neg = vec![f32::NEG_INFINITY; n];
    assert_eq!(s.sample(&all_neg, &[], &mut ids, &mut work), Ok(0));
    assert_eq!(greedy(&[]), Err(SampleError::Empty));
}

#[test]
fn kv_cache_overflow_does_not_crash() {
    let words = patched_model("blk.0.attn_norm.weight", |d| {
        for c in d.chunks_exact_mut(4) {
            let v = f32::from_le_bytes(c.try_into().unwrap());
            c.copy_from_slice(&(v * 2.0e5).to_le_bytes());
        }
    });
    for logits in run_all_tiers(&words) {
        assert_eq!(logits.len(), 1024);
    }
}

/// K and V values past the f16 range must saturate at ±65504 in the cache (not become ±∞,
/// which would turn layer 1 into NaN and, through the Q8 quantizer, into finite garbage logits).
/// The session clamps before converting (`src/model/session.rs`); this test fails without it.
#[test]
fn kv_cache_values_past_f16_range() {
    // Scale the attention norm so that k and v reach ~1e6, far past f16::MAX (65504).
    let words = patched_model("blk.0.attn_norm.weight", |d| {
        for c in d.chunks_exact_mut(4) {
            let v = f32::from_le_bytes(c.try_into().unwrap());
            c.copy_from_slice(&(v * 2.0e5).to_le_bytes());
        }
    });
    // Look at the cache itself: the arena's k/v regions after a prefill.
    let gguf = Gguf::parse(bytemuck::cast_slice(&words)).unwrap();
    let model = Model::from_gguf(&gguf).unwrap();
    let plan = phi3_kernels::model::ArenaPlan::new(model.config(), &LIMITS).unwrap();
    for k in all_kernels() {
        let mut arena = ArenaBuf::for_plan(&model, &LIMITS);
        {
            let mut s = Session::new(&model, arena.bytes(), LIMITS, k).unwrap();
            s.forward(&PROMPT, false).unwrap();
        }
        let bytes = arena.bytes();
        let (mut max, mut inf, mut nan) = (0f32, 0, 0);
        for region in [plan.k_cache, plan.v_cache] {
            let cache: &[f16] = bytemuck::cast_slice(&bytes[region.offset..region.end()]);
            // Only the prompt's positions were written (layer-major, `max_context` each).
            let kv_dim = model.config().kv_dim();
            for layer in cache.chunks(LIMITS.max_context * kv_dim) {
                for v in &layer[..PROMPT.len() * kv_dim] {
                    let f = v.to_f32();
                    if f.is_nan() {
                        nan += 1;
                    } else if f.is_infinite() {
                        inf += 1;
                    } else {
                        max = max.max(f.abs());
                    }
                }
            }
        }
        eprintln!(
            "{:?}: KV cache max |finite| {max}, {inf} infinite, {nan} NaN",
            k.tier
        );
        assert_eq!(nan, 0, "{:?}: NaN in the KV cache", k.tier);
        assert_eq!(
            inf, 0,
            "{:?}: values past f16::MAX must saturate to ±65504 in the KV cache",
            k.tier
        );
    }
    for logits in run_all_tiers(&words) {
        // What the cache does with out-of-range values (saturate to ±65504 or store ±∞) is
        // the session's choice; it must not crash, and with saturation the logits stay finite.
        assert!(logits.iter().all(|v| v.is_finite()), "non-finite logits");
        assert!(
            logits.iter().any(|&v| v != logits[0]),
            "all logits equal: the residual stream was lost (NaN laundered to zero)"
        );
    }
}

/// |cos θ − table| for θ computed in f64: half an f32 ulp + libm error (see kernels_rope.rs).
const TABLE_TOL: f64 = 0.5 * f32::EPSILON as f64 * 1.01 + 1e-12;
/// Rotating with the f32 tables: table rounding plus two products and a sum, relative to
/// |x0| + |x1| (as in kernels_rope.rs).
const ROT_REL_TOL: f64 = 5.0 * f32::EPSILON as f64 / 2.0;

#[test]
fn rope_at_position_131072_on_every_tier_matches_f64() {
    let factors: Vec<f32> = (0..64).map(|i| 1.0 + i as f32 * 0.75).collect();
    for &(n_rot, head_dim, base, with_factors, attn) in &[
        (96usize, 96usize, 10000.0f32, false, 1.0f32),
        (96, 96, 10000.0, true, 1.190_238),
        (128, 128, 500000.0, false, 1.0),
        (96, 128, 10000.0, true, 1.0), // partial rotary
    ] {
        let p = RopeParams {
            n_rot,
            freq_base: base,
            freq_factors: with_factors.then_some(&factors[..n_rot / 2]),
            attn_factor: attn,
        };
        for pos in [131072usize, 131073, 262143] {
            let half = n_rot / 2;
            let (mut cos, mut sin) = (vec![0f32; half], vec![0f32; half]);
            rope_cos_sin(pos, &p, &mut cos, &mut sin);
            let x: Vec<f32> = (0..2 * head_dim)
                .map(|i| ((i * 37 % 23) as f32 - 11.0) * 0.37)
                .collect();
            for k in all_kernels() {
                let mut y = x.clone();
                (k.rope_neox)(&mut y, head_dim, &cos, &sin);
                for h in 0..2 {
                    let xs = &x[h * head_dim..][..head_dim];
                    let ys = &y[h * head_dim..][..head_dim];
                    for i in 0..half {
                        let f = if with_factors { factors[i] as f64 } else { 1.0 };
                        let theta =
                            pos as f64 * (base as f64).powf(-2.0 * i as f64 / n_rot as f64) / f;
                        let (c, s) = (theta.cos() * attn as f64, theta.sin() * attn as f64);
                        assert!((cos[i] as f64 - c).abs() <= TABLE_TOL * (attn as f64).max(1.0));
                        assert!((sin[i] as f64 - s).abs() <= TABLE_TOL * (attn as f64).max(1.0));
                        let (x0, x1) = (xs[i] as f64, xs[i + half] as f64);
                        let (e0, e1) = (x0 * c - x1 * s, x0 * s + x1 * c);
                        let tol = ROT_REL_TOL * (x0.abs() + x1.abs()) * (attn as f64).max(1.0)
                            + TABLE_TOL * (x0.abs() + x1.abs());
                        assert!(
                            (ys[i] as f64 - e0).abs() <= tol
                                && (ys[i + half] as f64 - e1).abs() <= tol,
                            "{:?} pos {pos} n_rot {n_rot} pair {i}",
                            k.tier
                        );
                    }
                    assert_eq!(&ys[n_rot..], &xs[n_rot..], "pass-through dims");
                }
            }
        }
    }
}
