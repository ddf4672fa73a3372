//! Suspend / resume (`Session::save_into` / `restore_from`): on every fixture model and every
//! tier available here, save → restore into a fresh session (other limits, other arena) →
//! continue gives logits bit-identical to the uninterrupted session, including across the
//! LongRoPE boundary; damaged, truncated, foreign and oversized snapshots are errors that leave
//! the session as it was.

mod common;
mod model_support;

use model_support::*;
use phi3_kernels::kernels::Kernels;
use phi3_kernels::model::snapshot::{snapshot_bytes, HEADER_BYTES};
use phi3_kernels::model::{Limits, Model, Session, SnapshotError};

fn limits(max_context: usize, max_batch: usize, workers: usize) -> Limits {
    Limits {
        max_context,
        max_batch,
        workers,
        allow_beyond_trained_context: true,
        kv: phi3_kernels::model::KvType::F16,
    }
}

fn tokens(n: usize, seed: u32) -> Vec<u32> {
    (0..n as u32).map(|i| (i * 53 + 7 + seed) % 1000).collect()
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Feeds `toks` to `s` in chunks of `batch` and returns every logit row's bits.
fn feed(s: &mut Session, toks: &[u32], batch: usize) -> Vec<u32> {
    let mut out = Vec::new();
    for chunk in toks.chunks(batch) {
        out.extend(bits(s.forward(chunk, true).unwrap()));
    }
    out
}

fn save(s: &Session) -> Vec<u8> {
    let mut buf = vec![0u8; s.snapshot_bytes()];
    let n = s.save_into(&mut buf).unwrap();
    assert_eq!(n, buf.len());
    buf
}

/// The uninterrupted run and the save → restore → continue run give the same logits.
fn check_resume(model: &str, m: &Model, k: Kernels, n_before: usize, n_after: usize) {
    let before = tokens(n_before, 0);
    let after = tokens(n_after, 11);

    let la = limits(400, 8, 1);
    let mut arena_a = ArenaBuf::for_plan(m, &la);
    let mut a = Session::new(m, arena_a.bytes(), la, k).unwrap();
    feed(&mut a, &before, 8);
    let snap = save(&a);
    assert_eq!(snap.len(), snapshot_bytes(m.config(), n_before).unwrap());
    let want = feed(&mut a, &after, 1);

    // Another context length, batch and worker count: the cache layout differs, the values
    // must not.
    let lb = limits(n_before + n_after + 3, 5, 2);
    let mut arena_b = ArenaBuf::for_plan(m, &lb);
    let mut b = Session::new(m, arena_b.bytes(), lb, k).unwrap();
    b.forward(&tokens(3, 99), false).unwrap(); // something to be replaced
    b.restore_from(&snap).unwrap();
    assert_eq!(b.len(), n_before);
    assert_eq!(b.tokens(), &before[..]);
    let got = feed(&mut b, &after, 1);
    assert!(
        want == got,
        "{model} on {:?}: logits after restore differ from the uninterrupted session",
        k.tier
    );
}

#[test]
fn resume_is_bit_identical_on_every_model_and_tier() {
    for model in MODELS {
        let bytes = model_bytes(model);
        let (_gguf, m) = parse(&bytes);
        for (_, k) in common::tiers_under_test() {
            // The LongRoPE fixture (original context 256) is saved below its boundary and
            // continued across it (the restored session recomputes its cache like the
            // original), and saved beyond it (the cache's long factor set travels).
            if model.contains("longrope") && !quick() {
                check_resume(model, &m, k, 250, 10);
                check_resume(model, &m, k, 260, 3);
            } else {
                check_resume(model, &m, k, 13, 4);
            }
        }
    }
}

#[test]
fn empty_session_round_trips() {
    let bytes = model_bytes(MODELS[0]);
    let (_gguf, m) = parse(&bytes);
    let l = limits(32, 4, 1);
    let mut arena = ArenaBuf::for_plan(&m, &l);
    let mut s = Session::new(&m, arena.bytes(), l, Kernels::detect()).unwrap();
    let snap = save(&s);
    assert_eq!(snap.len(), HEADER_BYTES);
    s.forward(&[1, 2, 3], false).unwrap();
    s.restore_from(&snap).unwrap();
    assert!(s.is_empty());
}

#[test]
fn bad_snapshots_are_errors_and_change_nothing() {
    let bytes = model_bytes(MODELS[0]);
    let (_gguf, m) = parse(&bytes);
    let l = limits(64, 8, 1);
    let k = Kernels::detect();
    let mut arena = ArenaBuf::for_plan(&m, &l);
    let mut s = Session::new(&m, arena.bytes(), l, k).unwrap();
    feed(&mut s, &tokens(20, 0), 8);
    let snap = save(&s);

    // The victim: a session holding another sequence, whose next logits must not change.
    let mut arena_v = ArenaBuf::for_plan(&m, &l);
    let mut v = Session::new(&m, arena_v.bytes(), l, k).unwrap();
    let held = tokens(7, 5);
    feed(&mut v, &held, 8);
    let expect_next = {
        let mut arena_r = ArenaBuf::for_plan(&m, &l);
        let mut r = Session::new(&m, arena_r.bytes(), l, k).unwrap();
        feed(&mut r, &held, 8);
        bits(r.forward(&[42], false).unwrap())
    };
    let unchanged = |v: &mut Session| {
        assert_eq!(v.tokens(), &held[..]);
    };

    // Every truncation is an error.
    for cut in 0..snap.len() {
        let e = v.restore_from(&snap[..cut]).unwrap_err();
        assert!(
            matches!(
                e,
                SnapshotError::NotASnapshot | SnapshotError::Truncated { .. }
            ),
            "cut at {cut}: {e:?}"
        );
        unchanged(&mut v);
    }
    // Every single-bit flip in the header and a sample of the payload is an error.
    let positions: Vec<usize> = (0..HEADER_BYTES)
        .chain((HEADER_BYTES..snap.len()).step_by(97))
        .chain([snap.len() - 1])
        .collect();
    for &at in &positions {
        for bit in [0u8, 3, 7] {
            let mut bad = snap.clone();
            bad[at] ^= 1 << bit;
            let e = v.restore_from(&bad);
            assert!(e.is_err(), "flip of bit {bit} at byte {at} was accepted");
            unchanged(&mut v);
        }
    }
    // Version, magic.
    let mut bad = snap.clone();
    bad[8] = 2;
    assert_eq!(
        v.restore_from(&bad),
        Err(SnapshotError::UnsupportedVersion { found: 2 })
    );
    assert_eq!(
        v.restore_from(b"GGUF and more bytes than a header needs ........................"),
        Err(SnapshotError::NotASnapshot)
    );
    // Too long for the session's context.
    let small = limits(10, 4, 1);
    let mut arena_s = ArenaBuf::for_plan(&m, &small);
    let mut short = Session::new(&m, arena_s.bytes(), small, k).unwrap();
    assert_eq!(
        short.restore_from(&snap),
        Err(SnapshotError::ContextTooSmall {
            len: 20,
            max_context: 10
        })
    );
    assert!(short.is_empty());
    // Another model of a different shape, and of the same shape with other weights.
    for other in [MODELS[1], MODELS[2]] {
        let ob = model_bytes(other);
        let (_g, om) = parse(&ob);
        let ol = limits(64, 8, 1);
        let mut arena_o = ArenaBuf::for_plan(&om, &ol);
        let mut o = Session::new(&om, arena_o.bytes(), ol, k).unwrap();
        assert_eq!(
            o.restore_from(&snap),
            Err(SnapshotError::ModelMismatch),
            "{other}"
        );
    }
    // Saving into a short buffer writes nothing.
    let mut short_buf = vec![0xAAu8; snap.len() - 1];
    assert_eq!(
        s.save_into(&mut short_buf),
        Err(SnapshotError::BufferTooSmall {
            needed: snap.len(),
            actual: snap.len() - 1
        })
    );
    assert!(short_buf.iter().all(|&b| b == 0xAA));

    // After all that the victim continues exactly as an untouched session would.
    assert_eq!(bits(v.forward(&[42], false).unwrap()), expect_next);
}

#[test]
fn same_shape_other_weights_is_a_mismatch() {
    // The fingerprint covers weight values (the norms), not only shapes: a copy of the model
    // with one norm weight changed must refuse the snapshot.
    let bytes = model_bytes(MODELS[0]);
    let (gguf, m) = parse(&bytes);
    let l = limits(32, 4, 1);
    let k = Kernels::detect();
    let mut arena = ArenaBuf::for_plan(&m, &l);
    let mut s = Session::new(&m, arena.bytes(), l, k).unwrap();
    feed(&mut s, &tokens(5, 0), 4);
    let snap = save(&s);

    let t = gguf.tensor("blk.0.ffn_norm.weight").unwrap();
    let at = t.data().as_ptr() as usize - bytes.bytes().as_ptr() as usize;
    let mut raw = bytes.bytes().to_vec();
    raw[at] ^= 1;
    let changed = AlignedBytes::from_bytes(&raw);
    let (_g2, m2) = parse(&changed);
    let mut arena2 = ArenaBuf::for_plan(&m2, &l);
    let mut s2 = Session::new(&m2, arena2.bytes(), l, k).unwrap();
    assert_eq!(s2.restore_from(&snap), Err(SnapshotError::ModelMismatch));
}
