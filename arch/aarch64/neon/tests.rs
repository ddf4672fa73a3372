//! Unit tests of the NEON tiers against the scalar reference: integer kernels and quantizers
//! bit for bit, float kernels too (the float order of [`crate::kernels::float`]). Every NEON tier the CPU supports is
//! run (under qemu `-cpu max`: all three); a missing one is skipped or, when
//! `PHI3_REQUIRE_TIERS` names it, fails ([`tier_or_skip`]).

extern crate std;

use crate::arch::test_util::{tier_or_skip, Rng};
use crate::cpu::Tier;
use crate::kernels::Kernels;
use crate::quant::*;
use half::f16;
use std::vec::Vec;

/// `n` blocks of random bytes whose f16 fields (byte offsets `f16_at`) hold finite small
/// values.
fn blocks<T: bytemuck::Pod>(r: &mut Rng, n: usize, f16_at: &[usize]) -> Vec<T> {
    r.blocks(n, f16_at, |r| r.f32() * 0.1)
}

/// The NEON tiers this CPU runs (the missing-tier policy of [`tier_or_skip`]).
fn neon_tiers() -> Vec<Kernels> {
    [Tier::Neon, Tier::NeonDotprod, Tier::NeonI8mm]
        .into_iter()
        .filter_map(tier_or_skip)
        .collect()
}

fn q8k_blocks(rng: &mut Rng, n: usize) -> Vec<BlockQ8K> {
    let x = rng.f32s(n * QK_K, 3.0);
    let mut out = std::vec![BlockQ8K::zeroed_block(); n];
    crate::quant::quantize::quantize_q8_k(&x, &mut out);
    out
}

trait Zeroed: bytemuck::Pod {
    fn zeroed_block() -> Self {
        bytemuck::Zeroable::zeroed()
    }
}
impl<T: bytemuck::Pod> Zeroed for T {}

fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

const LENS: [usize; 10] = [0, 1, 3, 7, 8, 9, 15, 16, 17, 40];

#[test]
fn quantizers_bit_exact() {
    let mut rng = Rng(7);
    let s = Kernels::scalar();
    for k in neon_tiers() {
        for n in [1usize, 2, 5] {
            let mut x = rng.f32s(n * QK_K, 10.0);
            if n == 5 {
                x[3] = f32::NAN;
                x[40] = f32::INFINITY;
                x[300] = -0.0;
                x[600] = f32::NAN;
                for v in &mut x[768..1024] {
                    *v = 0.0;
                }
                x[800] = -2.0;
                x[801] = 2.0;
            }
            let (mut a, mut b) = (
                std::vec![BlockQ8_0::zeroed_block(); n * 8],
                std::vec![BlockQ8_0::zeroed_block(); n * 8],
            );
            (k.quantize_q8_0)(&x, &mut a);
            (s.quantize_q8_0)(&x, &mut b);
            assert_eq!(
                bytemuck::cast_slice::<_, u8>(&a),
                bytemuck::cast_slice::<_, u8>(&b),
                "{:?} q8_0",
                k.tier
            );
            let (mut a, mut b) = (
                std::vec![BlockQ8_1::zeroed_block(); n * 8],
                std::vec![BlockQ8_1::zeroed_block(); n * 8],
            );
            (k.quantize_q8_1)(&x, &mut a);
            (s.quantize_q8_1)(&x, &mut b);
            assert_eq!(
                bytemuck::cast_slice::<_, u8>(&a),
                bytemuck::cast_slice::<_, u8>(&b),
                "{:?} q8_1",
                k.tier
            );
            let (mut a, mut b) = (
                std::vec![BlockQ8K::zeroed_block(); n],
                std::vec![BlockQ8K::zeroed_block(); n],
            );
            (k.quantize_q8_k)(&x, &mut a);
            (s.quantize_q8_k)(&x, &mut b);
            assert_eq!(
                bytemuck::cast_slice::<_, u8>(&a),
                bytemuck::cast_slice::<_, u8>(&b),
                "{:?} q8_k",
                k.tier
            );
        }
    }
}

/// Picks a (dot, gemm) pair out of a table.
type DotGemm<W, X> = dyn Fn(
    &Kernels,
) -> (
    crate::kernels::table::DotFn<W, X>,
    crate::kernels::gemm::GemmFn<W, X>,
);

/// Checks `dot` and `gemm` of one integer pair against the scalar tier, bit for bit.
fn check_int<W: bytemuck::Pod, X: bytemuck::Pod>(
    name: &str,
    mk_w: &mut dyn FnMut(&mut Rng, usize) -> Vec<W>,
    mk_x: &mut dyn FnMut(&mut Rng, usize) -> Vec<X>,
    get: &DotGemm<W, X>,
    lens: &[usize],
) {
    let mut rng = Rng(0x1234_5678);
    let (sdot, sgemm) = get(&Kernels::scalar());
    for k in neon_tiers() {
        let (dot, gemm) = get(&k);
        for &n in lens {
            let w = mk_w(&mut rng, n);
            let x = mk_x(&mut rng, n);
            let (a, b) = (dot(&w, &x), sdot(&w, &x));
            assert!(same(a, b), "{name} {:?} dot n={n}: {a} vs {b}", k.tier);
            if n > 1 {
                // Unaligned starts.
                let (a, b) = (dot(&w[1..], &x[1..]), sdot(&w[1..], &x[1..]));
                assert!(same(a, b), "{name} {:?} dot offset n={n}", k.tier);
            }
        }
        for (rows, cols, bpr) in [
            (1, 1, 3),
            (5, 3, 9),
            (2, 4, 1),
            (3, 5, 8),
            (4, 7, 17),
            (7, 2, 2),
        ] {
            let w = mk_w(&mut rng, rows * bpr);
            let x = mk_x(&mut rng, cols * bpr);
            let stride = rows + 3;
            let mut a = std::vec![-1.0f32; cols * stride];
            let mut b = a.clone();
            gemm(&w, &x, bpr, &mut a, stride);
            sgemm(&w, &x, bpr, &mut b, stride);
            for (i, (p, q)) in a.iter().zip(&b).enumerate() {
                assert!(
                    same(*p, *q),
                    "{name} {:?} gemm {rows}x{cols}x{bpr} at {i}: {p} vs {q}",
                    k.tier
                );
            }
        }
    }
}

#[test]
fn q32_dots_and_gemms_bit_exact() {
    use crate::kernels::gemm::GemmFn;
    use crate::kernels::table::DotFn;
    let q8_0 = &mut |r: &mut Rng, n| blocks::<BlockQ8_0>(r, n, &[0]);
    check_int::<BlockQ4_0, BlockQ8_0>(
        "q4_0",
        &mut |r, n| blocks(r, n, &[0]),
        q8_0,
        &|k| {
            (
                k.dot_q4_0_q8_0 as DotFn<_, _>,
                k.gemm_q4_0_q8_0 as GemmFn<_, _>,
            )
        },
        &LENS,
    );
    check_int::<BlockQ4_1, BlockQ8_1>(
        "q4_1",
        &mut |r, n| blocks(r, n, &[0, 2]),
        &mut |r, n| blocks(r, n, &[0, 2]),
        &|k| (k.dot_q4_1_q8_1, k.gemm_q4_1_q8_1),
        &LENS,
    );
    check_int::<BlockQ5_0, BlockQ8_0>(
        "q5_0",
        &mut |r, n| blocks(r, n, &[0]),
        q8_0,
        &|k| (k.dot_q5_0_q8_0, k.gemm_q5_0_q8_0),
        &LENS,
    );
    check_int::<BlockQ8_0, BlockQ8_0>(
        "q8_0",
        &mut |r, n| blocks(r, n, &[0]),
        q8_0,
        &|k| (k.dot_q8_0_q8_0, k.gemm_q8_0_q8_0),
        &LENS,
    );
    // Extreme activations: all −128 against extreme weights.
    let mut w = blocks::<BlockQ8_0>(&mut Rng(3), 9, &[0]);
    for b in &mut w {
        b.qs = [-128; 32];
    }
    for k in neon_tiers() {
        let (a, b) = (
            (k.dot_q8_0_q8_0)(&w, &w),
            crate::kernels::dot::dot_q8_0_q8_0(&w, &w),
        );
        assert!(same(a, b), "q8_0 extreme {:?}", k.tier);
    }
}

#[test]
fn k_dots_and_gemms_bit_exact() {
    let lens = [0usize, 1, 2, 3, 5];
    check_int::<BlockQ4K, BlockQ8K>(
        "q4_k",
        &mut |r, n| blocks(r, n, &[0, 2]),
        &mut q8k_blocks,
        &|k| (k.dot_q4_k_q8_k, k.gemm_q4_k_q8_k),
        &lens,
    );
    check_int::<BlockQ5K, BlockQ8K>(
        "q5_k",
        &mut |r, n| blocks(r, n, &[0, 2]),
        &mut q8k_blocks,
        &|k| (k.dot_q5_k_q8_k, k.gemm_q5_k_q8_k),
        &lens,
    );
    check_int::<BlockQ6K, BlockQ8K>(
        "q6_k",
        &mut |r, n| blocks(r, n, &[208]),
        &mut q8k_blocks,
        &|k| (k.dot_q6_k_q8_k, k.gemm_q6_k_q8_k),
        &lens,
    );
    // Random (untrusted) bsums and extreme activations.
    let mut rng = Rng(99);
    let mut x = blocks::<BlockQ8K>(&mut rng, 3, &[]);
    for b in &mut x {
        b.d = 0.5;
    }
    x[1].qs = [-128; 256];
    let w4 = blocks::<BlockQ4K>(&mut rng, 3, &[0, 2]);
    let w5 = blocks::<BlockQ5K>(&mut rng, 3, &[0, 2]);
    let w6 = blocks::<BlockQ6K>(&mut rng, 3, &[208]);
    let s = Kernels::scalar();
    for k in neon_tiers() {
        assert!(same((k.dot_q4_k_q8_k)(&w4, &x), (s.dot_q4_k_q8_k)(&w4, &x)));
        assert!(same((k.dot_q5_k_q8_k)(&w5, &x), (s.dot_q5_k_q8_k)(&w5, &x)));
        assert!(same((k.dot_q6_k_q8_k)(&w6, &x), (s.dot_q6_k_q8_k)(&w6, &x)));
    }
}

#[test]
fn exp4_is_the_float_order_exp() {
    use core::arch::aarch64::*;
    let mut xs: Vec<f32> = std::vec![
        f32::NEG_INFINITY,
        -1000.0,
        -110.0,
        -104.0,
        -100.0,
        -87.5,
        -0.0,
        0.0,
        88.72,
        88.73,
        89.0,
        f32::INFINITY,
        f32::NAN,
        f32::MIN_POSITIVE,
    ];
    let mut x = -111.0f32;
    while x < 90.0 {
        xs.push(x);
        x += 0.0517;
    }
    while !xs.len().is_multiple_of(4) {
        xs.push(1.0);
    }
    for c in xs.chunks_exact(4) {
        let mut got = [0.0f32; 4];
        // SAFETY: NEON is part of the aarch64 Linux baseline; `c` and `got` hold 4 values.
        unsafe {
            vst1q_f32(
                got.as_mut_ptr(),
                super::activation::exp4(vld1q_f32(c.as_ptr())),
            )
        };
        for (g, &v) in got.iter().zip(c) {
            let want = crate::kernels::float::exp(v);
            assert!(same(*g, want), "exp({v}) = {g} vs {want}");
        }
    }
}

#[test]
fn float_kernels_bit_exact() {
    let mut rng = Rng(42);
    let s = Kernels::scalar();
    let all_same = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(p, q)| same(*p, *q));
    for k in neon_tiers() {
        for n in [0usize, 1, 3, 4, 5, 15, 16, 17, 31, 33, 100] {
            let w = rng.f32s(n, 1.0);
            let x = rng.f32s(n, 1.0);
            let w16: Vec<f16> = w.iter().map(|&v| f16::from_f32(v)).collect();
            let (a, b) = ((k.dot_f32_f32)(&w, &x), (s.dot_f32_f32)(&w, &x));
            assert!(same(a, b), "{:?} dot_f32 n={n}: {a} vs {b}", k.tier);
            let (a, b) = ((k.dot_f16_f32)(&w16, &x), (s.dot_f16_f32)(&w16, &x));
            assert!(same(a, b), "{:?} dot_f16 n={n}: {a} vs {b}", k.tier);
            // gemm equals this tier's dot (and the reference) bit for bit.
            let xs = rng.f32s(3 * n, 1.0);
            let mut out = std::vec![0.0f32; 3 * 2];
            (k.gemm_f32_f32)(&[w.clone(), x.clone()].concat(), &xs, n, &mut out, 2);
            if n > 0 {
                for c in 0..3 {
                    let want = (s.dot_f32_f32)(&x, &xs[c * n..(c + 1) * n]);
                    assert!(same(out[c * 2 + 1], want), "gemm_f32 vs dot");
                }
            }
            let (g, u) = (rng.f32s(n, 12.0), rng.f32s(n, 2.0));
            let (mut a, mut b) = (std::vec![0.0; n], std::vec![0.0; n]);
            (k.swiglu)(&g, &u, &mut a);
            (s.swiglu)(&g, &u, &mut b);
            assert!(all_same(&a, &b), "{:?} swiglu n={n}", k.tier);
            let (mut a, mut b) = (g.clone(), g.clone());
            if n > 2 {
                a[1] = f32::NEG_INFINITY;
                b[1] = f32::NEG_INFINITY;
            }
            (k.softmax)(&mut a);
            (s.softmax)(&mut b);
            assert!(all_same(&a, &b), "{:?} softmax n={n}", k.tier);
            let (mut a, mut b) = (std::vec![0.0; n], std::vec![0.0; n]);
            (k.rms_norm)(&g, &u, 1e-5, &mut a);
            (s.rms_norm)(&g, &u, 1e-5, &mut b);
            assert!(all_same(&a, &b), "{:?} rms_norm n={n}", k.tier);
        }
        // RoPE (no FMA: bit-exact).
        for (head_dim, n_half) in [(8usize, 4usize), (96, 48), (128, 48), (6, 3), (10, 0)] {
            let x = rng.f32s(3 * head_dim, 4.0);
            let (cos, sin) = (rng.f32s(n_half, 1.0), rng.f32s(n_half, 1.0));
            for neox in [true, false] {
                let (mut a, mut b) = (x.clone(), x.clone());
                if neox {
                    (k.rope_neox)(&mut a, head_dim, &cos, &sin);
                    (s.rope_neox)(&mut b, head_dim, &cos, &sin);
                } else {
                    (k.rope_norm)(&mut a, head_dim, &cos, &sin);
                    (s.rope_norm)(&mut b, head_dim, &cos, &sin);
                }
                assert_eq!(a, b, "rope neox={neox} {head_dim}/{n_half}");
            }
        }
    }
}
