//! Properties of the reference quantizers on random data: quantize → dequantize stays within
//! each format's error bound, the stored side data (`s`, `bsums`, scales) is consistent with the
//! quants, and all-zero input gives all-zero blocks. Bit-exactness against ggml is checked in
//! `quant_golden.rs`; these tests cover inputs the goldens do not (any scale, any sign pattern).

use bytemuck::Zeroable;
use half::f16;
use phi3_kernels::quant::dequant::*;
use phi3_kernels::quant::quantize::*;
use phi3_kernels::quant::*;
use proptest::prelude::*;

/// Relative slack for f32 rounding in `x · id` and friends (a few ulps of the largest term).
const F32_SLACK: f32 = 1e-5;

/// Random activations: `blocks` groups of `elems` values, each group of 16 with its own scale
/// `10^e`, `e` in −8..=4 (so f16 scales underflow and stay far from overflow), ~10 % exact
/// zeros, and sometimes a whole group of zeros.
fn values(blocks: usize, elems: usize) -> impl Strategy<Value = Vec<f32>> {
    let n = blocks * elems;
    let element = prop_oneof![1 => Just(0.0f32), 9 => -1.0f32..1.0];
    (
        prop::collection::vec(element, n),
        prop::collection::vec(-8i32..=4, n / 16),
        prop::collection::vec(prop::bool::weighted(0.1), n / 16),
    )
        .prop_map(|(u, exps, zero)| {
            u.iter()
                .enumerate()
                .map(|(i, &v)| {
                    if zero[i / 16] {
                        0.0
                    } else {
                        v * 10f32.powi(exps[i / 16])
                    }
                })
                .collect()
        })
}

/// Gaussian-like data (sum of three uniforms) at one scale per super-block, for error-ratio
/// checks of the K quantizers whose fit has no closed-form bound.
fn gaussian(blocks: usize) -> impl Strategy<Value = Vec<f32>> {
    (
        prop::collection::vec((-1.0f32..1.0, -1.0f32..1.0, -1.0f32..1.0), blocks * QK_K),
        prop::collection::vec(-3i32..=3, blocks),
    )
        .prop_map(|(u, exps)| {
            u.iter()
                .enumerate()
                .map(|(i, &(a, b, c))| (a + b + c) * 10f32.powi(exps[i / QK_K]))
                .collect()
        })
}

fn abs_max(x: &[f32]) -> f32 {
    x.iter().fold(0.0f32, |a, v| a.max(v.abs()))
}

/// `|x − y| ≤ bound` for every element, with a message naming the element.
fn check_bound(what: &str, x: &[f32], y: &[f32], bound: impl Fn(usize) -> f32) {
    for (i, (&a, &b)) in x.iter().zip(y).enumerate() {
        let err = (a - b).abs();
        assert!(
            err <= bound(i),
            "{what}: element {i}: x = {a:e}, dequantized {b:e}, |err| = {err:e} > bound {:e}",
            bound(i)
        );
    }
}

/// Output buffers start as garbage so that unwritten fields are noticed.
fn garbage<B: bytemuck::Pod>(n: usize) -> Vec<B> {
    let bytes = vec![0xA5u8; n * std::mem::size_of::<B>()];
    bytes
        .chunks_exact(std::mem::size_of::<B>())
        .map(bytemuck::pod_read_unaligned)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Q8_0: `|x − q·f16(d)| ≤ d/2 + 127·|f16(d) − d|`, `d = amax/127`.
    #[test]
    fn q8_0_roundtrip(x in values(4, QK)) {
        let mut q = garbage::<BlockQ8_0>(4);
        quantize_q8_0(&x, &mut q);
        let mut y = vec![f32::NAN; x.len()];
        dequantize_q8_0(&q, &mut y);
        for (b, (xb, yb)) in q.iter().zip(x.chunks_exact(QK).zip(y.chunks_exact(QK))) {
            let d = abs_max(xb) / 127.0;
            prop_assert_eq!(b.d.to_bits(), f16::from_f32(d).to_bits());
            prop_assert!(b.qs.iter().all(|&v| v != i8::MIN));
            let bound = 0.5 * d * (1.0 + F32_SLACK) + 127.0 * (b.d.to_f32() - d).abs();
            check_bound("Q8_0", xb, yb, |_| bound);
        }
    }

    /// Q8_1: the same quants as Q8_0, and `s = f16(d · Σq)` with the f32 `d`.
    #[test]
    fn q8_1_matches_q8_0(x in values(4, QK)) {
        let mut q0 = garbage::<BlockQ8_0>(4);
        let mut q1 = garbage::<BlockQ8_1>(4);
        quantize_q8_0(&x, &mut q0);
        quantize_q8_1(&x, &mut q1);
        for ((a, b), xb) in q0.iter().zip(&q1).zip(x.chunks_exact(QK)) {
            prop_assert_eq!(a.d.to_bits(), b.d.to_bits());
            prop_assert_eq!(a.qs, b.qs);
            let d = abs_max(xb) / 127.0;
            let sum: i32 = b.qs.iter().map(|&v| i32::from(v)).sum();
            prop_assert_eq!(b.s.to_bits(), f16::from_f32(d * sum as f32).to_bits());
        }
    }

    /// Q8_K: `|x − d·q| ≤ |d|/2`, `|d| = amax/127`, quants in −127..=127, the element of largest
    /// magnitude maps to −127, and `bsums` are the sums of the 16-element groups.
    #[test]
    fn q8_k_roundtrip(x in values(2, QK_K)) {
        let mut q = garbage::<BlockQ8K>(2);
        quantize_q8_k(&x, &mut q);
        let mut y = vec![f32::NAN; x.len()];
        dequantize_q8_k(&q, &mut y);
        for (b, (xb, yb)) in q.iter().zip(x.chunks_exact(QK_K).zip(y.chunks_exact(QK_K))) {
            let amax = abs_max(xb);
            prop_assert!((b.d.abs() - amax / 127.0).abs() <= amax / 127.0 * F32_SLACK);
            prop_assert!(b.qs.iter().all(|&v| v != i8::MIN));
            if amax > 0.0 {
                let imax = xb.iter().position(|v| v.abs() == amax).unwrap();
                prop_assert_eq!(b.qs[imax], -127);
            }
            for (s, g) in b.bsums.iter().zip(b.qs.chunks_exact(16)) {
                prop_assert_eq!(i32::from(*s), g.iter().map(|&v| i32::from(v)).sum::<i32>());
            }
            let bound = b.d.abs() * (0.5 + F32_SLACK) + amax * F32_SLACK;
            check_bound("Q8_K", xb, yb, |_| bound);
        }
    }

    /// Q4_0: `d = max/−8`; rounding by `trunc(v + 8.5)` is within half a step except at the
    /// clipped top nibble (15 instead of 16), which is within one step:
    /// `|x − (q − 8)·f16(d)| ≤ |d| + 8·|f16(d) − d|`.
    #[test]
    fn q4_0_roundtrip(x in values(4, QK)) {
        let mut q = garbage::<BlockQ4_0>(4);
        quantize_q4_0(&x, &mut q);
        let mut y = vec![f32::NAN; x.len()];
        dequantize_q4_0(&q, &mut y);
        for (b, (xb, yb)) in q.iter().zip(x.chunks_exact(QK).zip(y.chunks_exact(QK))) {
            let d = abs_max(xb) / 8.0;
            let bound = d * (1.0 + F32_SLACK) + 8.0 * (b.d.to_f32().abs() - d).abs();
            check_bound("Q4_0", xb, yb, |_| bound);
            // The element of largest magnitude is represented exactly by nibble 0 (up to f16).
            if let Some(imax) = xb.iter().position(|v| v.abs() == d * 8.0).filter(|_| d > 0.0) {
                let nib = if imax < 16 { b.qs[imax] & 0xF } else { b.qs[imax - 16] >> 4 };
                prop_assert_eq!(nib, 0);
            }
        }
    }

    /// Q4_1: `d = (max − min)/15`, `m = min`; `|x − (q·f16(d) + f16(m))| ≤ d/2 +
    /// 15·|f16(d) − d| + |f16(m) − min|`.
    #[test]
    fn q4_1_roundtrip(x in values(4, QK)) {
        let mut q = garbage::<BlockQ4_1>(4);
        quantize_q4_1(&x, &mut q);
        let mut y = vec![f32::NAN; x.len()];
        dequantize_q4_1(&q, &mut y);
        for (b, (xb, yb)) in q.iter().zip(x.chunks_exact(QK).zip(y.chunks_exact(QK))) {
            let min = xb.iter().fold(f32::MAX, |a, &v| a.min(v));
            let max = xb.iter().fold(-f32::MAX, |a, &v| a.max(v));
            let d = (max - min) / 15.0;
            prop_assert_eq!(b.m.to_bits(), f16::from_f32(min).to_bits());
            let bound = 0.5 * d * (1.0 + F32_SLACK)
                + 15.0 * (b.d.to_f32() - d).abs()
                + (b.m.to_f32() - min).abs()
                + (max.abs() + min.abs()) * F32_SLACK;
            check_bound("Q4_1", xb, yb, |_| bound);
        }
    }

    /// Q4_K: every element of a sub-block with a non-zero scale sits on the grid point
    /// `(d·sc)·q − dmin·m` nearest to it (q in 0..=15), and the error is within
    /// `range/8 + 8.5·d + dmin` (fit error, 6-bit scale rounding, min rounding).
    #[test]
    fn q4_k_roundtrip(x in values(2, QK_K)) {
        let mut q = garbage::<BlockQ4K>(2);
        quantize_q4_k(&x, &mut q);
        let mut y = vec![f32::NAN; x.len()];
        dequantize_q4_k(&q, &mut y);
        for (b, (xb, yb)) in q.iter().zip(x.chunks_exact(QK_K).zip(y.chunks_exact(QK_K))) {
            let (d, dmin) = (b.d.to_f32(), b.dmin.to_f32());
            prop_assert!(d >= 0.0 && dmin >= 0.0);
            for (j, (xs, ys)) in xb.chunks_exact(32).zip(yb.chunks_exact(32)).enumerate() {
                let (sc, m) = scale_min_k4(j, &b.scales);
                let step = d * f32::from(sc);
                let offset = dmin * f32::from(m);
                if step > 0.0 {
                    for (&v, &got) in xs.iter().zip(ys) {
                        let best = (0..16)
                            .map(|k| (step * k as f32 - offset - v).abs())
                            .fold(f32::INFINITY, f32::min);
                        prop_assert!(
                            (got - v).abs() <= best + step * 1e-4,
                            "Q4_K sub-block {}: {:e} → {:e}, nearest grid error {:e}", j, v, got, best
                        );
                    }
                }
                let hi = xs.iter().fold(0.0f32, |a, &v| a.max(v));
                let lo = xs.iter().fold(0.0f32, |a, &v| a.min(v));
                let bound = (hi - lo) / 8.0 + 8.5 * d + dmin + abs_max(xs) * F32_SLACK;
                check_bound("Q4_K", xs, ys, |_| bound);
            }
        }
    }

    /// Q6_K: every element of a sub-block with a non-zero scale sits on the grid point
    /// `(d·sc)·(q − 32)` nearest to it (q − 32 in −32..=31), and the error is within
    /// `amax/8 + 17·|d|` (fit error, int8 scale rounding).
    #[test]
    fn q6_k_roundtrip(x in values(2, QK_K)) {
        let mut q = garbage::<BlockQ6K>(2);
        quantize_q6_k(&x, &mut q);
        let mut y = vec![f32::NAN; x.len()];
        dequantize_q6_k(&q, &mut y);
        for (b, (xb, yb)) in q.iter().zip(x.chunks_exact(QK_K).zip(y.chunks_exact(QK_K))) {
            let d = b.d.to_f32();
            for ((xs, ys), &sc) in xb.chunks_exact(16).zip(yb.chunks_exact(16)).zip(&b.scales) {
                let step = d * f32::from(sc);
                if step != 0.0 {
                    for (&v, &got) in xs.iter().zip(ys) {
                        let best = (-32..32)
                            .map(|k| (step * k as f32 - v).abs())
                            .fold(f32::INFINITY, f32::min);
                        prop_assert!(
                            (got - v).abs() <= best + step.abs() * 1e-4,
                            "Q6_K: {:e} → {:e}, nearest grid error {:e}", v, got, best
                        );
                    }
                }
                let bound = abs_max(xs) / 8.0 + 17.0 * d.abs() + abs_max(xs) * F32_SLACK;
                check_bound("Q6_K", xs, ys, |_| bound);
            }
        }
    }

    /// On Gaussian-like data the K quantizers keep the relative RMS error small (measured
    /// worst cases ≈ 0.11 for Q4_K, ≈ 0.025 for Q6_K; bounds leave room for the fit's variance).
    #[test]
    fn k_quants_relative_rmse(x in gaussian(2)) {
        let mut q4 = garbage::<BlockQ4K>(2);
        let mut q6 = garbage::<BlockQ6K>(2);
        quantize_q4_k(&x, &mut q4);
        quantize_q6_k(&x, &mut q6);
        let mut y4 = vec![f32::NAN; x.len()];
        let mut y6 = vec![f32::NAN; x.len()];
        dequantize_q4_k(&q4, &mut y4);
        dequantize_q6_k(&q6, &mut y6);
        for (i, xb) in x.chunks_exact(QK_K).enumerate() {
            let r = QK_K * i..QK_K * (i + 1);
            let norm: f32 = xb.iter().map(|v| v * v).sum();
            let rel = |y: &[f32]| {
                (xb.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum::<f32>() / norm).sqrt()
            };
            let (e4, e6) = (rel(&y4[r.clone()]), rel(&y6[r]));
            prop_assert!(e4 < 0.15, "Q4_K relative RMSE {}", e4);
            prop_assert!(e6 < 0.04, "Q6_K relative RMSE {}", e6);
        }
    }
}

/// All-zero input gives all-zero blocks (every byte), whatever the output held before, except
/// Q4_0, where ggml's `d = max / −8` is −0 and every nibble is 8 (the block still decodes to
/// zeros). Negative zeros give blocks that decode to zeros.
#[test]
fn zero_input_gives_zero_blocks() {
    fn check<B: GgmlBlock + std::fmt::Debug>(
        n: usize,
        quant: fn(&[f32], &mut [B]),
        deq: fn(&[B], &mut [f32]),
    ) {
        let name = B::TYPE.name();
        let x = vec![0.0f32; n * B::ELEMS];
        let mut out = garbage::<B>(n);
        quant(&x, &mut out);
        let bytes: &[u8] = bytemuck::cast_slice(&out);
        let zero_block = bytes.chunks_exact(std::mem::size_of::<B>()).all(|b| {
            if B::TYPE == GgmlType::Q4_0 {
                b[..2] == [0x00, 0x80] && b[2..].iter().all(|&q| q == 0x88)
            } else {
                b.iter().all(|&q| q == 0)
            }
        });
        assert!(zero_block, "{name}: zero input gave {:?}", out[0]);
        let mut y = vec![f32::NAN; x.len()];
        deq(&out, &mut y);
        assert!(
            y.iter().all(|&v| v == 0.0),
            "{name}: zero input decodes to {y:?}"
        );
        let x = vec![-0.0f32; n * B::ELEMS];
        let mut out = garbage::<B>(n);
        quant(&x, &mut out);
        let mut y = vec![f32::NAN; x.len()];
        deq(&out, &mut y);
        assert!(
            y.iter().all(|&v| v == 0.0),
            "{name}: -0 input gave {:?}",
            out[0]
        );
    }
    check::<BlockQ8_0>(3, quantize_q8_0, dequantize_q8_0);
    check::<BlockQ8_1>(3, quantize_q8_1, dequantize_q8_1);
    check::<BlockQ8K>(2, quantize_q8_k, dequantize_q8_k);
    check::<BlockQ4_0>(3, quantize_q4_0, dequantize_q4_0);
    check::<BlockQ4_1>(3, quantize_q4_1, dequantize_q4_1);
    check::<BlockQ4K>(2, quantize_q4_k, dequantize_q4_k);
    check::<BlockQ6K>(2, quantize_q6_k, dequantize_q6_k);
}

/// Q4_1 of all zeros: `d = 0`, `m = 0`, nibbles 0 (it has no zero point at nibble 8 like Q4_0).
#[test]
fn q4_1_zero_and_constant() {
    let mut out = garbage::<BlockQ4_1>(1);
    quantize_q4_1(&[0.0; QK], &mut out);
    assert_eq!(out[0], BlockQ4_1::zeroed());
    quantize_q4_1(&[3.3; QK], &mut out);
    assert_eq!(out[0].d.to_bits(), 0);
    assert_eq!(out[0].m, f16::from_f32(3.3));
    assert_eq!(out[0].qs, [0; QK / 2]);
}

/// Q8_K of a block whose largest magnitude is negative: `d > 0`, that element is −127.
#[test]
fn q8_k_sign_convention() {
    let mut x = [0.25f32; QK_K];
    x[10] = -2.0;
    let mut out = garbage::<BlockQ8K>(1);
    quantize_q8_k(&x, &mut out);
    let b = &out[0];
    assert_eq!(b.qs[10], -127);
    assert!(b.d > 0.0);
    assert_eq!(b.d, 1.0 / (-127.0f32 / -2.0));
    // 0.25 · 127/2 = 15.875 → 16.
    assert_eq!(b.qs[0], 16);
    assert_eq!(b.bsums[0], 15 * 16 - 127);
    assert!(b.bsums[1..].iter().all(|&s| s == 16 * 16));
}
