//! `kernels::attention`: scores and weighted value sums against f64 over a strided f16 cache
//! (GQA-style row pitch), the composed `attention_head` against a naive f64 head, and every
//! error path.

// The naive references index on purpose: plain loops, independent of the kernels' iterators.
#![allow(clippy::needless_range_loop)]

mod common;

use common::Rng;
use half::f16;
use phi3_kernels::kernels::attention::*;
use phi3_kernels::kernels::Kernels;
use phi3_kernels::ops::{attention_causal_block, attention_head};
use phi3_kernels::ShapeError;
use proptest::prelude::*;

/// Unit roundoff of f32.
const U: f64 = f32::EPSILON as f64 / 2.0;

/// An f32 index-order sum of `n` products errs by at most `(n + 1)·u·Σ|terms|` (+1 for `scale·`).
fn sum_tol(n: usize, mass: f64) -> f64 {
    (n as f64 + 2.0) * U * mass + 1e-30
}

/// `attention_head` end to end: score errors (bounded by `sum_tol`, ≤ ~2e-5 absolute here)
/// move the softmax weights by at most that much relatively, then the value sum adds its own
/// rounding; 1e-4 relative to Σ_p w_p·|v| covers it for d ≤ 64, n_pos ≤ 40, |q·k| ≤ 64.
const HEAD_REL_TOL: f64 = 1e-4;

fn cases() -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = 64;
    }
    c
}

fn cache(rng: &mut Rng, n: usize) -> Vec<f16> {
    (0..n).map(|_| f16::from_f32(rng.f32())).collect()
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn scores_and_values_match_f64(d in 0usize..40, extra in 0usize..20, n_pos in 0usize..30,
                                   offset in 0usize..8, seed in any::<u64>()) {
        let mut rng = Rng(seed);
        let stride = d + extra;
        // The cache slice starts `offset` values in (another KV head's columns precede it).
        let len = offset + n_pos.saturating_sub(1) * stride + d;
        let k = cache(&mut rng, len);
        let v = cache(&mut rng, len);
        let q: Vec<f32> = (0..d).map(|_| rng.f32()).collect();
        let scale = 0.125f32;

        let mut scores = vec![f32::NAN; n_pos];
        attn_scores_f16(&q, &k[offset..], stride, scale, &mut scores);
        for p in 0..n_pos {
            let row = &k[offset + p * stride..][..d];
            let exact: f64 = q.iter().zip(row).map(|(a, b)| *a as f64 * b.to_f64()).sum::<f64>()
                * scale as f64;
            let mass: f64 = q.iter().zip(row).map(|(a, b)| (*a as f64 * b.to_f64()).abs()).sum::<f64>()
                * scale as f64;
            prop_assert!((scores[p] as f64 - exact).abs() <= sum_tol(d, mass));
        }

        let w: Vec<f32> = (0..n_pos).map(|_| rng.f32()).collect();
        let mut out = vec![f32::NAN; d];
        attn_values_f16(&w, &v[offset..], stride, &mut out);
        for i in 0..d {
            let terms = (0..n_pos).map(|p| w[p] as f64 * v[offset + p * stride + i].to_f64());
            let exact: f64 = terms.clone().sum();
            let mass: f64 = terms.map(f64::abs).sum();
            prop_assert!((out[i] as f64 - exact).abs() <= sum_tol(n_pos, mass));
        }
    }

    #[test]
    fn attention_head_matches_naive(d in 1usize..64, extra in 0usize..16, n_pos in 1usize..40,
                                    seed in any::<u64>()) {
        let mut rng = Rng(seed);
        let stride = d + extra;
        let len = (n_pos - 1) * stride + d;
        let keys = cache(&mut rng, len);
        let values = cache(&mut rng, len);
        let q: Vec<f32> = (0..d).map(|_| rng.f32() * 4.0).collect();
        let scale = 1.0 / (d as f32).sqrt();
        let mut scores = vec![0.0f32; n_pos + 3];
        let mut out = vec![0.0f32; d];
        attention_head(&Kernels::scalar(), &q, &keys, &values, stride, n_pos, scale, &mut scores,
                       &mut out).unwrap();

        let s: Vec<f64> = (0..n_pos).map(|p| {
            let row = &keys[p * stride..][..d];
            q.iter().zip(row).map(|(a, b)| *a as f64 * b.to_f64()).sum::<f64>() * scale as f64
        }).collect();
        let m = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = s.iter().map(|v| (v - m).exp()).collect();
        let z: f64 = e.iter().sum();
        for p in 0..n_pos {
            prop_assert!((scores[p] as f64 - e[p] / z).abs() <= HEAD_REL_TOL * (e[p] / z) + 1e-9);
        }
        for i in 0..d {
            let terms = (0..n_pos).map(|p| e[p] / z * values[p * stride + i].to_f64());
            let exact: f64 = terms.clone().sum();
            let mass: f64 = terms.map(f64::abs).sum();
            prop_assert!((out[i] as f64 - exact).abs() <= HEAD_REL_TOL * mass + 1e-9,
                         "{} vs {}", out[i], exact);
        }
    }
}

#[test]
fn hand_computed() {
    let h = f16::from_f32;
    // Two positions, d = 2, stride 3 (the third column belongs to someone else).
    let keys = [h(1.0), h(0.0), h(9.0), h(0.0), h(2.0)];
    let mut scores = [0.0f32; 2];
    attn_scores_f16(&[3.0, 4.0], &keys, 3, 0.5, &mut scores);
    assert_eq!(scores, [1.5, 4.0]);
    let values = [h(1.0), h(2.0), h(9.0), h(3.0), h(4.0)];
    let mut out = [7.0f32; 2];
    attn_values_f16(&[0.25, 0.75], &values, 3, &mut out);
    assert_eq!(out, [0.25 + 2.25, 0.5 + 3.0]);
    // Zero positions: out is zeroed.
    attn_values_f16(&[], &values, 3, &mut out);
    assert_eq!(out, [0.0; 2]);
    // stride 0: every position reads the same row.
    attn_scores_f16(&[1.0, 1.0], &keys[..2], 0, 1.0, &mut scores);
    assert_eq!(scores, [1.0, 1.0]);

    // Equal scores → uniform weights → the mean of the value rows.
    let keys = [h(0.0); 6];
    let values = [h(1.0), h(2.0), h(3.0), h(4.0), h(5.0), h(6.0)];
    let mut scores = [0.0f32; 3];
    let mut out = [0.0f32; 2];
    attention_head(
        &Kernels::scalar(),
        &[1.0, 1.0],
        &keys,
        &values,
        2,
        3,
        1.0,
        &mut scores,
        &mut out,
    )
    .unwrap();
    assert_eq!(scores, [1.0 / 3.0; 3]);
    assert!((out[0] - 3.0).abs() < 1e-6 && (out[1] - 4.0).abs() < 1e-6);
}

#[test]
fn attention_head_errors() {
    let k = Kernels::scalar();
    let kv = [f16::ZERO; 10];
    let q = [1.0f32; 4];
    let mut scores = [0.0f32; 3];
    let mut out = [0.0f32; 4];
    let run = |keys: &[f16], values: &[f16], stride, n_pos, scores: &mut [f32], out: &mut [f32]| {
        attention_head(&k, &q, keys, values, stride, n_pos, 1.0, scores, out)
    };
    assert_eq!(
        run(&kv, &kv, 3, 3, &mut scores, &mut out[..3]).unwrap_err(),
        ShapeError::Length {
            what: "out",
            expected: 4,
            actual: 3
        }
    );
    assert_eq!(
        run(&kv, &kv, 3, 4, &mut scores, &mut out).unwrap_err(),
        ShapeError::Length {
            what: "scores",
            expected: 4,
            actual: 3
        }
    );
    // (3 − 1)·4 + 4 = 12 > 10.
    assert_eq!(
        run(&kv, &kv, 4, 3, &mut scores, &mut out).unwrap_err(),
        ShapeError::Length {
            what: "keys",
            expected: 12,
            actual: 10
        }
    );
    let long = [f16::ZERO; 12];
    assert_eq!(
        run(&long, &kv, 4, 3, &mut scores, &mut out).unwrap_err(),
        ShapeError::Length {
            what: "values",
            expected: 12,
            actual: 10
        }
    );
    assert_eq!(
        run(&kv, &kv, usize::MAX, 3, &mut scores, &mut out).unwrap_err(),
        ShapeError::Overflow
    );
    // Nothing written on error.
    assert_eq!((scores, out), ([0.0; 3], [0.0; 4]));
    // (3 − 1)·3 + 4 = 10 fits exactly.
    run(&kv, &kv, 3, 3, &mut scores, &mut out).unwrap();
    // n_pos = 0: zeros.
    let mut out = [5.0f32; 4];
    run(&[], &[], 4, 0, &mut [], &mut out).unwrap();
    assert_eq!(out, [0.0; 4]);
}

/// The composed head uses the dispatch table's pointers.
#[test]
fn attention_head_uses_the_table() {
    let mut k = Kernels::scalar();
    k.softmax = |x| x.fill(1.0);
    let h = f16::from_f32;
    let values = [h(1.0), h(2.0), h(3.0), h(4.0)];
    let mut scores = [0.0f32; 2];
    let mut out = [0.0f32; 2];
    attention_head(
        &k,
        &[0.0, 0.0],
        &values,
        &values,
        2,
        2,
        1.0,
        &mut scores,
        &mut out,
    )
    .unwrap();
    assert_eq!(out, [4.0, 6.0]);
}

/// Rows that do not fit: only the rows that fit are processed, in every build (debug builds
/// used to assert; the table's contract is now never to panic).
#[test]
fn out_of_bounds_rows_never_panic() {
    let h = f16::from_f32;
    let keys = [h(1.0), h(1.0), h(1.0), h(1.0), h(1.0)];
    let mut scores = [-7.0f32; 3];
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        attn_scores_f16(&[1.0, 1.0], &keys, 2, 1.0, &mut scores)
    }));
    let mut out = [-7.0f32; 2];
    let r2 = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        attn_values_f16(&[1.0, 1.0, 1.0], &keys, 2, &mut out)
    }));
    assert!(r.is_ok() && r2.is_ok());
    // Rows at 0 and 2 fit (2·2 + 2 = 6 > 5 does not).
    assert_eq!(scores, [2.0, 2.0, -7.0]);
    assert_eq!(out, [2.0, 2.0]);
}

#[test]
fn attention_causal_block_errors() {
    let k = Kernels::scalar();
    // 2 queries of dim 4, the first attending 2 positions: positions = 3, rows 4 apart.
    let b = CausalBlock {
        queries: 2,
        first: 2,
        dim: 4,
        q_pitch: 5,
        kv_stride: 4,
        out_pitch: 6,
    };
    assert_eq!(b.positions(), Some(3));
    let q = [0.5f32; 9]; // (2 − 1)·5 + 4
    let kv = [f16::ONE; 12]; // (3 − 1)·4 + 4
    let mut scores = [-1.0f32; 6]; // 2 · 3
    let mut out = [-1.0f32; 10]; // (2 − 1)·6 + 4
    let len = |what, expected, actual| ShapeError::Length {
        what,
        expected,
        actual,
    };
    let run =
        |b: &CausalBlock, q: &[f32], keys: &[f16], values: &[f16], s: &mut [f32], o: &mut [f32]| {
            attention_causal_block(&k, b, q, keys, values, 1.0, s, o)
        };
    assert_eq!(
        run(&b, &q[..8], &kv, &kv, &mut scores, &mut out),
        Err(len("q", 9, 8))
    );
    assert_eq!(
        run(&b, &q, &kv[..11], &kv, &mut scores, &mut out),
        Err(len("keys", 12, 11))
    );
    assert_eq!(
        run(&b, &q, &kv, &kv[..11], &mut scores, &mut out),
        Err(len("values", 12, 11))
    );
    assert_eq!(
        run(&b, &q, &kv, &kv, &mut scores[..5], &mut out),
        Err(len("scores", 6, 5))
    );
    assert_eq!(
        run(&b, &q, &kv, &kv, &mut scores, &mut out[..9]),
        Err(len("out", 10, 9))
    );
    let overlapping = CausalBlock { out_pitch: 3, ..b };
    assert_eq!(
        run(&overlapping, &q, &kv, &kv, &mut scores, &mut out),
        Err(len("out_pitch", 4, 3))
    );
    let huge = CausalBlock {
        q_pitch: usize::MAX,
        ..b
    };
    assert_eq!(
        run(&huge, &q, &kv, &kv, &mut scores, &mut out),
        Err(ShapeError::Overflow)
    );
    let huge = CausalBlock {
        first: usize::MAX,
        ..b
    };
    assert_eq!(b.positions(), Some(3));
    assert_eq!(huge.positions(), None);
    assert_eq!(
        run(&huge, &q, &kv, &kv, &mut scores, &mut out),
        Err(ShapeError::Overflow)
    );
    // Nothing written on error.
    assert_eq!((scores, out), ([-1.0; 6], [-1.0; 10]));
    // No queries: nothing to check, nothing written.
    let none = CausalBlock { queries: 0, ..b };
    run(&none, &[], &[], &[], &mut [], &mut []).unwrap();
    // Exact sizes work: uniform keys give uniform weights, so each output is the mean of the
    // value rows it attends (all ones here); the gap between the outputs stays untouched.
    run(&b, &q, &kv, &kv, &mut scores, &mut out).unwrap();
    assert_eq!(&scores[..2], &[0.5, 0.5]);
    assert_eq!(scores[2], -1.0, "query 0 attends 2 positions only");
    assert!(scores[3..].iter().all(|&w| (w - 1.0 / 3.0).abs() < 1e-6));
    assert_eq!(out, [1.0, 1.0, 1.0, 1.0, -1.0, -1.0, 1.0, 1.0, 1.0, 1.0]);
}
