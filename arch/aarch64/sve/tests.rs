//! Unit tests of the SVE tier against the scalar reference, bit for bit (the integer kernels
//! are exact, the float ones follow the float order of [`crate::kernels::float`]), on lengths
//! chosen around every vector length the tests run at (128…2048 bits: 4…64 `f32` lanes, the
//! float sums' 16-lane chunks, main loops of several vectors) and on the extreme values the
//! kernels special-case (NaN, ±∞, subnormal scales and results, rounding ties). `tests/tier_equivalence.rs` covers random shapes; this file pins the corners.
//!
//! Without SVE the tests print that they were skipped, and fail when `PHI3_REQUIRE_TIERS` names
//! a tier that cannot run ([`tier_or_skip`]; a qemu job can never pass them vacuously).

extern crate std;

use crate::arch::test_util::{tier_or_skip, Rng};
use crate::cpu::Tier;
use crate::kernels::Kernels;
use crate::quant::*;
use half::f16;
use std::vec;
use std::vec::Vec;

/// The SVE and scalar tables, or `None` when SVE is absent (the missing-tier policy of
/// [`tier_or_skip`]: skipped with a printed line, or a failure when `PHI3_REQUIRE_TIERS` names
/// a tier that cannot run).
fn tables() -> Option<(Kernels, Kernels)> {
    tier_or_skip(Tier::Sve)?;
    // SAFETY: `tier_or_skip` returned the SVE table, so the CPU has NEON and SVE.
    Some((unsafe { super::all_sve() }, Kernels::scalar()))
}

/// Lengths around 1, 4, 8, 16, 32, 64 lanes and 4 of those vectors, plus long ones.
const LENGTHS: &[usize] = &[
    0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257,
    511, 512, 513, 1000, 3072,
];

/// `n` blocks of random bytes with a moderate f16 scale (0.01) at each byte offset of `scales`.
fn random_blocks<B: bytemuck::Pod>(r: &mut Rng, n: usize, scales: &[usize]) -> Vec<B> {
    r.blocks(n, scales, |_| 0.01)
}

fn same_bits(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

#[test]
fn table_holds_the_sve_entries() {
    let Some((k, _)) = tables() else { return };
    assert_eq!(k.tier, Tier::Sve);
    // SAFETY: `tables` returned the SVE table, so the CPU has SVE.
    let bits = unsafe { super::vector_bits() };
    let dot: Option<crate::kernels::table::DotFn<f32, f32>> =
        match super::dot_float::Lanes::at(bits) {
            Some(super::dot_float::Lanes::Four) => Some(super::dot_float::dot_f32_f32::<4>),
            Some(super::dot_float::Lanes::Two) => Some(super::dot_float::dot_f32_f32::<2>),
            Some(super::dot_float::Lanes::One) => Some(super::dot_float::dot_f32_f32::<1>),
            None => None,
        };
    if let Some(dot) = dot {
        assert_eq!(k.dot_f32_f32 as *const (), dot as *const ());
    }
    assert_eq!(
        k.quantize_q8_k as *const (),
        super::quantize::quantize_q8_k as *const ()
    );
    assert_eq!(
        k.dot_q6_k_q8_k as *const (),
        super::dot_k::dot_q6_k_q8_k as *const ()
    );
    assert_eq!(
        k.attn_values_causal_f16 as *const (),
        super::attention::attn_values_causal_f16 as *const ()
    );
}

#[test]
fn float_dots_at_every_tail() {
    let Some((k, s)) = tables() else { return };
    let mut r = Rng(1);
    for &n in LENGTHS {
        for off in [0, 1, 3] {
            let w = r.f32s(n + off, 2.0);
            let x = r.f32s(n + off, 3.0);
            let (w, x) = (&w[off..], &x[..n]);
            let w16: Vec<f16> = w.iter().map(|&v| f16::from_f32(v)).collect();
            let (got, want) = ((k.dot_f32_f32)(w, x), (s.dot_f32_f32)(w, x));
            assert!(same_bits(got, want), "f32 n={n}: {got} vs {want}");
            let (got, want) = ((k.dot_f16_f32)(&w16, x), (s.dot_f16_f32)(&w16, x));
            assert!(same_bits(got, want), "f16 n={n}: {got} vs {want}");
        }
    }
}

#[test]
fn rms_norm_at_every_tail() {
    let Some((k, s)) = tables() else { return };
    let mut r = Rng(2);
    for &n in LENGTHS {
        let x = r.f32s(n, 5.0);
        let w = r.f32s(n, 1.0);
        let mut want = vec![0.0f32; n];
        (s.rms_norm)(&x, &w, 1e-6, &mut want);
        let mut got = vec![7.0f32; n + 1];
        (k.rms_norm)(&x, &w, 1e-6, &mut got[..n]);
        assert_eq!(got[n], 7.0, "wrote past the end");
        for (i, (g, e)) in got.iter().zip(&want).enumerate() {
            assert!(same_bits(*g, *e), "n={n} i={i}: {g} vs {e}");
        }
    }
}

#[test]
fn swiglu_over_the_whole_exp_range() {
    let Some((k, s)) = tables() else { return };
    let mut gate: Vec<f32> = (-2400..=2400).map(|i| i as f32 * 0.05).collect();
    gate.extend([
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        0.0,
        -0.0,
        88.72,
        -88.72,
        -88.8,
        103.0,
        -103.0,
        1e-40,
        -1e30,
        1e30,
    ]);
    let up: Vec<f32> = (0..gate.len())
        .map(|i| 1.0 + (i % 7) as f32 * 0.25)
        .collect();
    let mut want = vec![0.0f32; gate.len()];
    (s.swiglu)(&gate, &up, &mut want);
    for &n in LENGTHS.iter().chain([gate.len()].iter()) {
        let n = n.min(gate.len());
        let mut got = vec![5.0f32; n + 1];
        (k.swiglu)(&gate[..n], &up[..n], &mut got[..n]);
        assert_eq!(got[n], 5.0, "wrote past the end");
        for i in 0..n {
            let (g, e) = (got[i], want[i]);
            assert!(same_bits(g, e), "swiglu({}) = {g:e}, scalar {e:e}", gate[i]);
        }
    }
}

#[test]
fn softmax_masks_and_specials() {
    let Some((k, s)) = tables() else { return };
    let mut r = Rng(3);
    for &n in LENGTHS {
        let mut x = r.f32s(n, 20.0);
        for v in x.iter_mut().step_by(3) {
            *v = f32::NEG_INFINITY;
        }
        let mut want = x.clone();
        (s.softmax)(&mut want);
        let mut got = x.clone();
        (k.softmax)(&mut got);
        for (i, (g, e)) in got.iter().zip(&want).enumerate() {
            if x[i] == f32::NEG_INFINITY {
                assert_eq!(g.to_bits(), 0, "masked entry {i} not +0");
            }
            assert!(same_bits(*g, *e), "n={n} i={i}: {g} vs {e}");
        }
    }
    // Differences from the maximum whose exponentials are subnormal, zero or tiny normals.
    let mut spread: Vec<f32> = (0..200).map(|i| -80.0 - i as f32 * 0.16).collect();
    spread[37] = 0.0;
    for special in [
        spread,
        vec![f32::NEG_INFINITY; 70],
        vec![f32::NAN; 9],
        vec![1.0, f32::NAN, 2.0],
        vec![1.0, f32::INFINITY, 2.0],
        vec![],
    ] {
        let mut want = special.clone();
        (s.softmax)(&mut want);
        let mut got = special.clone();
        (k.softmax)(&mut got);
        for (g, e) in got.iter().zip(&want) {
            assert!(same_bits(*g, *e), "{special:?}: {got:?} vs {want:?}");
        }
    }
}

/// One query of `d` values attending `n` cache rows `stride` apart (what decode runs).
fn one(d: usize, n: usize, stride: usize) -> crate::kernels::attention::CausalBlock {
    crate::kernels::attention::CausalBlock {
        queries: 1,
        first: n,
        dim: d,
        q_pitch: d,
        kv_stride: stride,
        out_pitch: d,
    }
}

#[test]
fn attention_values_and_scores_bit_exact() {
    let Some((k, s)) = tables() else { return };
    let mut r = Rng(4);
    for d in [1, 3, 4, 15, 16, 17, 64, 65, 96, 128, 200] {
        for (n, stride) in [(0, d), (1, d), (5, d), (33, d + 3), (7, 0)] {
            let len = if n == 0 { 0 } else { (n - 1) * stride + d };
            let vals: Vec<f16> = r.f32s(len, 4.0).into_iter().map(f16::from_f32).collect();
            let w = r.f32s(n, 1.0);
            let mut want = vec![9.0f32; d];
            (s.attn_values_causal_f16)(&one(d, n, stride), &w, &vals, &mut want);
            let mut got = vec![9.0f32; d];
            (k.attn_values_causal_f16)(&one(d, n, stride), &w, &vals, &mut got);
            for (g, e) in got.iter().zip(&want) {
                assert!(same_bits(*g, *e), "values d={d} n={n}: {g} vs {e}");
            }
            let q = r.f32s(d, 1.0);
            let mut want = vec![0.5f32; n];
            (s.attn_scores_causal_f16)(&one(d, n, stride), &q, &vals, 0.125, &mut want);
            let mut got = vec![0.5f32; n];
            (k.attn_scores_causal_f16)(&one(d, n, stride), &q, &vals, 0.125, &mut got);
            for (g, e) in got.iter().zip(&want) {
                assert!(same_bits(*g, *e), "scores d={d} n={n}: {g} vs {e}");
            }
        }
    }
}

fn quant_inputs(r: &mut Rng, n: usize) -> Vec<Vec<f32>> {
    let mut cases = vec![
        r.f32s(n, 1.0),
        r.f32s(n, 1e-38),
        r.f32s(n, 3e38),
        (0..n).map(|i| (i % 255) as f32 - 127.0 + 0.5).collect(),
        vec![0.0; n],
        vec![-0.0; n],
    ];
    for special in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e-44, -7.0e-45] {
        for pos in [0usize, 5, 31, 200, 255] {
            let mut v = r.f32s(n, 2.0);
            if let Some(e) = v.get_mut(pos) {
                *e = special;
            }
            if let Some(e) = v.get_mut(pos + 7) {
                *e = f32::NAN;
            }
            cases.push(v);
        }
    }
    cases
}

#[test]
fn quantizers_bit_exact_on_specials() {
    let Some((k, s)) = tables() else { return };
    let mut r = Rng(5);
    for x in quant_inputs(&mut r, 2 * QK_K) {
        let zero8 = BlockQ8_0 {
            d: f16::ZERO,
            qs: [0; QK],
        };
        let mut want = vec![zero8; x.len() / QK];
        let mut got = vec![zero8; x.len() / QK];
        (s.quantize_q8_0)(&x, &mut want);
        (k.quantize_q8_0)(&x, &mut got);
        assert_eq!(
            bytemuck::cast_slice::<_, u8>(&got),
            bytemuck::cast_slice::<_, u8>(&want)
        );
        let zerok = BlockQ8K {
            d: 0.0,
            qs: [0; QK_K],
            bsums: [0; QK_K / 16],
        };
        let mut want = vec![zerok; x.len() / QK_K];
        let mut got = vec![zerok; x.len() / QK_K];
        (s.quantize_q8_k)(&x, &mut want);
        (k.quantize_q8_k)(&x, &mut got);
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.qs, w.qs);
            assert_eq!(g.bsums, w.bsums);
            assert!(same_bits(g.d, w.d), "{} vs {}", g.d, w.d);
        }
    }
}

#[test]
fn integer_dots_bit_exact_on_long_rows() {
    let Some((k, s)) = tables() else { return };
    let mut r = Rng(6);
    for nb in [0usize, 1, 7, 8, 9, 16, 17, 96] {
        let x: Vec<f32> = r.f32s(nb * QK_K, 3.0);
        let mut x8 = vec![
            BlockQ8_0 {
                d: f16::ZERO,
                qs: [0; QK]
            };
            nb * 8
        ];
        crate::quant::quantize::quantize_q8_0(&x, &mut x8);
        let mut xk = vec![
            BlockQ8K {
                d: 0.0,
                qs: [0; QK_K],
                bsums: [0; 16]
            };
            nb
        ];
        crate::quant::quantize::quantize_q8_k(&x, &mut xk);
        let w8: Vec<BlockQ8_0> = random_blocks(&mut r, nb * 8, &[0]);
        let w4: Vec<BlockQ4_0> = random_blocks(&mut r, nb * 8, &[0]);
        let w4k: Vec<BlockQ4K> = random_blocks(&mut r, nb, &[0, 2]);
        let w6k: Vec<BlockQ6K> = random_blocks(&mut r, nb, &[208]);
        let w41: Vec<BlockQ4_1> = random_blocks(&mut r, nb * 8, &[0, 2]);
        let w50: Vec<BlockQ5_0> = random_blocks(&mut r, nb * 8, &[0]);
        let w5k: Vec<BlockQ5K> = random_blocks(&mut r, nb, &[0, 2]);
        let mut x81: Vec<BlockQ8_1> = random_blocks(&mut r, nb * 8, &[]);
        crate::quant::quantize::quantize_q8_1(&x, &mut x81);
        let (w8, w4, w4k, w6k) = (&w8[..], &w4[..], &w4k[..], &w6k[..]);
        let pairs = [
            ((k.dot_q8_0_q8_0)(w8, &x8), (s.dot_q8_0_q8_0)(w8, &x8)),
            ((k.dot_q4_0_q8_0)(w4, &x8), (s.dot_q4_0_q8_0)(w4, &x8)),
            ((k.dot_q4_k_q8_k)(w4k, &xk), (s.dot_q4_k_q8_k)(w4k, &xk)),
            ((k.dot_q6_k_q8_k)(w6k, &xk), (s.dot_q6_k_q8_k)(w6k, &xk)),
            ((k.dot_q4_1_q8_1)(&w41, &x81), (s.dot_q4_1_q8_1)(&w41, &x81)),
            ((k.dot_q5_0_q8_0)(&w50, &x8), (s.dot_q5_0_q8_0)(&w50, &x8)),
            ((k.dot_q5_k_q8_k)(&w5k, &xk), (s.dot_q5_k_q8_k)(&w5k, &xk)),
        ];
        for (i, (g, e)) in pairs.into_iter().enumerate() {
            assert!(same_bits(g, e), "format {i} nb={nb}: {g:e} vs {e:e}");
        }
    }
}

type RopeFn = fn(&mut [f32], usize, &[f32], &[f32]);

#[test]
fn rope_bit_exact() {
    let Some((k, s)) = tables() else { return };
    let mut r = Rng(7);
    for head_dim in [2usize, 6, 8, 34, 96, 128, 200] {
        for n_half in [0, 1, head_dim / 4, head_dim / 2] {
            let cos = r.f32s(n_half, 1.0);
            let sin = r.f32s(n_half, 1.0);
            let x = r.f32s(3 * head_dim, 10.0);
            let neox: [RopeFn; 2] = [k.rope_neox, s.rope_neox];
            let norm: [RopeFn; 2] = [k.rope_norm, s.rope_norm];
            for [sve, scalar] in [neox, norm] {
                let mut got = x.clone();
                let mut want = x.clone();
                sve(&mut got, head_dim, &cos, &sin);
                scalar(&mut want, head_dim, &cos, &sin);
                assert!(
                    got.iter().zip(&want).all(|(g, w)| same_bits(*g, *w)),
                    "head_dim {head_dim}, {n_half} pairs"
                );
            }
        }
    }
}
