//! `kernels::norm::rms_norm` and `kernels::activation::{swiglu, softmax}` against f64
//! references, hand-computed cases and edge values (−∞ masks, NaN, empty input).

// The naive references index on purpose: plain loops, independent of the kernels' iterators.
#![allow(clippy::needless_range_loop)]

use phi3_kernels::kernels::activation::*;
use phi3_kernels::kernels::norm::*;
use proptest::prelude::*;

/// Unit roundoff of f32.
const U: f64 = f32::EPSILON as f64 / 2.0;
/// RMSNorm: the sum of squares in the float order (16 lanes of at most `n/16 + 1` fused terms,
/// then 4 fold additions: non-negative terms, so `(n/16 + 5)·u` relative, halved by the square
/// root), then `/ n`, `+ eps`, `sqrtf`, `1/`, and two products: 6 more roundings relative to
/// the output.
fn norm_rel_tol(n: usize) -> f64 {
    (7.0 + (n as f64 / 16.0 + 5.0) / 2.0) * U
}
/// SwiGLU: `expf` (≤ 1 ulp), `1 +`, the division and the product: ≤ 5 roundings relative to
/// `|silu(g)·u|`, plus the absorption of `e^−g` into 1 amplified by at most `|g|` (relative to
/// `1 + e^−g`) — covered by the `1 + |g|` factor.
const SWIGLU_REL_TOL: f64 = 6.0 * U;
/// Softmax: `expf` of a rounded difference (error ≤ |x − m|·u + 1 ulp), the f32 index-order sum
/// (n·u) and one reciprocal and product (2u); the test bounds |x − m| ≤ 40.
fn softmax_tol(n: usize) -> f64 {
    (40.0 + n as f64 + 4.0) * U
}

fn cases() -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = 64;
    }
    c
}

#[test]
fn rms_norm_hand_computed() {
    let mut out = [0.0f32; 2];
    rms_norm(&[3.0, 4.0], &[1.0, 2.0], 0.0, &mut out);
    // mean(x²) = 12.5, 1/sqrt(12.5) = 0.28284271.
    let s = 1.0 / 12.5f32.sqrt();
    assert_eq!(out, [3.0 * s, (4.0 * s) * 2.0]);
    // A constant vector normalizes to ±1 (times the weight); eps keeps zero at zero.
    let mut out = [0.0f32; 4];
    rms_norm(&[-2.0; 4], &[1.0; 4], 0.0, &mut out);
    assert_eq!(out, [-1.0; 4]);
    rms_norm(&[0.0; 4], &[1.0; 4], 1e-5, &mut out);
    assert_eq!(out, [0.0; 4]);
    // Empty input does nothing.
    rms_norm(&[], &[], 1e-5, &mut []);
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn rms_norm_matches_f64(xw in prop::collection::vec((-100.0f32..100.0, -2.0f32..2.0), 1..300),
                            eps in prop_oneof![Just(0.0f32), Just(1e-5f32), Just(1e-6f32)]) {
        let x: Vec<f32> = xw.iter().map(|p| p.0).collect();
        let w: Vec<f32> = xw.iter().map(|p| p.1).collect();
        let mut out = vec![0.0f32; x.len()];
        rms_norm(&x, &w, eps, &mut out);
        let ms = x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / x.len() as f64;
        prop_assume!(ms + eps as f64 > 1e-30);
        let scale = 1.0 / (ms + eps as f64).sqrt();
        for i in 0..x.len() {
            let want = x[i] as f64 * scale * w[i] as f64;
            prop_assert!((out[i] as f64 - want).abs() <= norm_rel_tol(x.len()) * want.abs() + 1e-30,
                         "{} vs {}", out[i], want);
        }
        // The documented order, re-implemented: bit-exact. The sum of squares in the float
        // order: lane `i % 16` with a fused multiply-add, zero-padded, folded in halves.
        let mut lanes = [0.0f32; 16];
        for i in 0..x.len().div_ceil(16) * 16 {
            let v = x.get(i).copied().unwrap_or(0.0);
            lanes[i % 16] = v.mul_add(v, lanes[i % 16]);
        }
        let mut half = 8;
        while half > 0 {
            for i in 0..half {
                lanes[i] += lanes[i + half];
            }
            half /= 2;
        }
        let s = 1.0f32 / (lanes[0] / x.len() as f32 + eps).sqrt();
        for i in 0..x.len() {
            prop_assert_eq!(out[i].to_bits(), ((x[i] * s) * w[i]).to_bits());
        }
    }

    #[test]
    fn swiglu_matches_f64(gu in prop::collection::vec((-30.0f32..30.0, -5.0f32..5.0), 0..200)) {
        let g: Vec<f32> = gu.iter().map(|p| p.0).collect();
        let u: Vec<f32> = gu.iter().map(|p| p.1).collect();
        let mut out = vec![f32::NAN; g.len()];
        swiglu(&g, &u, &mut out);
        for i in 0..g.len() {
            let (gi, ui) = (g[i] as f64, u[i] as f64);
            let want = gi / (1.0 + (-gi).exp()) * ui;
            prop_assert!((out[i] as f64 - want).abs() <= SWIGLU_REL_TOL * (1.0 + gi.abs()) * want.abs() + 1e-37,
                         "g {} u {}: {} vs {}", gi, ui, out[i], want);
        }
    }

    #[test]
    fn softmax_matches_f64(v in prop::collection::vec(prop_oneof![
                               9 => -20.0f32..20.0, 1 => Just(f32::NEG_INFINITY)], 1..300)) {
        let mut x = v.clone();
        softmax(&mut x);
        let m = v.iter().copied().fold(f64::NEG_INFINITY, |m, a| m.max(a as f64));
        if m == f64::NEG_INFINITY {
            prop_assert!(x.iter().all(|&p| p == 0.0));
        } else {
            let e: Vec<f64> = v.iter().map(|&a| (a as f64 - m).exp()).collect();
            let s: f64 = e.iter().sum();
            let tol = softmax_tol(v.len());
            for i in 0..v.len() {
                if v[i] == f32::NEG_INFINITY {
                    prop_assert_eq!(x[i], 0.0);
                }
                prop_assert!((x[i] as f64 - e[i] / s).abs() <= tol * (e[i] / s) + 1e-45);
            }
            let total: f64 = x.iter().map(|&p| p as f64).sum();
            prop_assert!((total - 1.0).abs() <= tol);
        }
    }
}

#[test]
fn swiglu_hand_computed_and_extremes() {
    let g = [0.0f32, 1.0, -200.0, 200.0, f32::NAN];
    let u = [3.0f32, 2.0, 5.0, 0.5, 1.0];
    let mut out = [0.0f32; 5];
    swiglu(&g, &u, &mut out);
    assert_eq!(out[0], 0.0);
    // libm::expf, as swiglu documents (std `exp` is not bit-reproducible under Miri).
    assert_eq!(out[1], (1.0 / (1.0 + libm::expf(-1.0))) * 2.0);
    assert_eq!(out[2], 0.0); // e^200 overflows to ∞: −200/∞ = −0
    assert_eq!(out[3], 100.0);
    assert!(out[4].is_nan());
}

#[test]
fn softmax_edge_cases() {
    let mut x = [2.0f32];
    softmax(&mut x);
    assert_eq!(x, [1.0]);

    let mut x: [f32; 0] = [];
    softmax(&mut x);

    // Masked positions become exactly zero; the rest is the softmax of the unmasked ones.
    let mut x = [0.0f32, f32::NEG_INFINITY, 0.0, f32::NEG_INFINITY];
    softmax(&mut x);
    assert_eq!(x, [0.5, 0.0, 0.5, 0.0]);

    // Fully masked: all zeros (attends to nothing).
    let mut x = [f32::NEG_INFINITY; 5];
    softmax(&mut x);
    assert_eq!(x, [0.0; 5]);

    // Huge values do not overflow (the max is subtracted first).
    let mut x = [1e30f32, 1e30, -1e30];
    softmax(&mut x);
    assert_eq!(x, [0.5, 0.5, 0.0]);

    // NaN and +∞ poison the row but return.
    let mut x = [1.0f32, f32::NAN, 2.0];
    softmax(&mut x);
    assert!(x.iter().all(|v| v.is_nan()));
    let mut x = [1.0f32, f32::INFINITY];
    softmax(&mut x);
    assert!(x.iter().all(|v| v.is_nan()));
    let mut x = [f32::NAN; 3];
    softmax(&mut x);
    assert_eq!(x, [0.0; 3]);
}
