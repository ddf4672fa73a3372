//! Soak: one session of the tiny GQA model reused over and over — filled to the whole
//! `max_context` in mixed prefill / decode steps, run into the context limit, truncated to
//! random points, reset, refilled — and at every checkpoint its logits equal, bit for bit,
//! those of a fresh session (fresh zeroed arena) that replays the same history in the same
//! `forward` calls.
//!
//! `soak_short` runs in the normal suite (a few full-context cycles); `soak_long` is
//! `#[ignore]`d (3000 reuse cycles, ~18k forward calls, ~10 min on a shared 2-core box):
//! `cargo test --test soak -- --ignored`.

mod common;
mod model_support;

use common::Rng;
use model_support::*;
use phi3_kernels::kernels::Kernels;
use phi3_kernels::model::{Limits, Model, Session};
use phi3_kernels::{Error, ModelError};

const MODEL: &str = "phi3-tiny-gqa-q4_0";

/// The `forward` calls that built the session's current sequence, in order.
#[derive(Default)]
struct History(Vec<Vec<u32>>);

impl History {
    fn len(&self) -> usize {
        self.0.iter().map(Vec::len).sum()
    }
    /// Keeps the first `n` positions (a cut inside a call keeps that call's prefix).
    fn truncate(&mut self, n: usize) {
        let mut left = n;
        self.0.retain_mut(|c| {
            let keep = c.len().min(left);
            c.truncate(keep);
            left -= keep;
            keep > 0
        });
    }
}

/// Logits of `last` after replaying `hist` in a fresh session (new, zeroed arena).
fn fresh_logits(
    model: &Model,
    k: Kernels,
    limits: Limits,
    hist: &History,
    last: &[u32],
) -> Vec<f32> {
    let mut arena = ArenaBuf::for_plan(model, &limits);
    let mut s = Session::new(model, arena.bytes(), limits, k).unwrap();
    for call in &hist.0 {
        s.forward(call, false).unwrap();
    }
    s.forward(last, true).unwrap().to_vec()
}

fn random_batch(rng: &mut Rng, n: usize, n_vocab: usize) -> Vec<u32> {
    (0..n).map(|_| rng.below(n_vocab) as u32).collect()
}

/// Runs `cycles` reuse cycles; every `full_every`-th cycle fills the whole context; checks
/// against a fresh session every `check_every` cycles and at the end. Returns the number of
/// forward calls made.
fn soak(cycles: usize, full_every: usize, check_every: usize, seed: u64) -> usize {
    let bytes = model_bytes(MODEL);
    let (_g, model) = parse(&bytes);
    let n_vocab = model.config().n_vocab;
    let limits = Limits {
        max_context: model.config().context_length,
        max_batch: 16,
        workers: 1,
        allow_beyond_trained_context: false,
        kv: phi3_kernels::model::KvType::F16,
    };
    let k = Kernels::detect();
    let mut arena = ArenaBuf::for_plan(&model, &limits);
    let mut s = Session::new(&model, arena.bytes(), limits, k).unwrap();
    let mut hist = History::default();
    let mut rng = Rng(seed | 1);
    let mut calls = 0;
    let append = |s: &mut Session, hist: &mut History, batch: Vec<u32>, calls: &mut usize| {
        let all = batch.len().is_multiple_of(2);
        let logits = s.forward(&batch, all).expect("forward within limits");
        assert!(logits.iter().all(|v| v.is_finite()));
        *calls += 1;
        hist.0.push(batch);
    };
    for cycle in 0..cycles {
        // Grow: to the whole context on full cycles, otherwise by a few calls.
        let target = if cycle % full_every == 0 {
            limits.max_context
        } else {
            (s.len() + 1 + rng.below(40)).min(limits.max_context)
        };
        while s.len() < target {
            let room = (target - s.len()).min(limits.max_batch);
            let n = if rng.below(3) == 0 {
                1
            } else {
                1 + rng.below(room)
            };
            append(
                &mut s,
                &mut hist,
                random_batch(&mut rng, n, n_vocab),
                &mut calls,
            );
        }
        assert_eq!(s.len(), hist.len());
        if s.len() == limits.max_context {
            // At the limit: one more token is refused and nothing changes.
            let before = s.tokens().to_vec();
            assert!(matches!(
                s.forward(&[3], false),
                Err(Error::Model(ModelError::ContextOverflow { .. }))
            ));
            assert_eq!(s.tokens(), &before[..]);
        }
        // Rewind: truncate somewhere (sometimes to zero, sometimes a reset).
        match rng.below(8) {
            0 => {
                s.reset();
                hist.0.clear();
            }
            _ => {
                let n = rng.below(s.len() + 1);
                s.truncate(n).unwrap();
                hist.truncate(n);
            }
        }
        assert_eq!(s.len(), hist.len());
        if (cycle + 1) % check_every == 0 || cycle + 1 == cycles {
            let room = limits.max_context - s.len();
            let last = random_batch(&mut rng, room.clamp(1, 3), n_vocab);
            let want = fresh_logits(&model, k, limits, &hist, &last);
            let got = s.forward(&last, true).unwrap();
            calls += 1;
            assert_eq!(got.len(), want.len());
            let same = got
                .iter()
                .zip(&want)
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(
                same,
                "cycle {cycle}: reused session differs from a fresh one"
            );
            hist.0.push(last);
        }
    }
    calls
}

#[test]
fn soak_short() {
    let calls = soak(6, 3, 2, 0x5eed);
    assert!(calls > 20);
}

#[test]
#[ignore = "long soak (~10 min): cargo test --test soak -- --ignored"]
fn soak_long() {
    let calls = soak(3000, 50, 100, 0xdecade);
    eprintln!("soak_long: {calls} forward calls");
}
