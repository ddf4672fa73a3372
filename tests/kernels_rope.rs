//! `kernels::rope`: angle tables against f64 (up to position 131071, LongRoPE factors, attention
//! factor), NEOX vs NORM pairing, partial rotary, norm preservation, and invalid shapes.

// The naive references index on purpose: plain loops, independent of the kernels' iterators.
#![allow(clippy::needless_range_loop)]

use phi3_kernels::kernels::rope::*;
use phi3_kernels::ops::RopeLayout;
use proptest::prelude::*;

/// Table entries are f64 values rounded once to f32: half an ulp of a value ≤ |attn_factor|,
/// plus a little for libm vs std f64 trigonometry (≤ 1 f64 ulp each, on θ ≤ 2^17).
const TABLE_TOL: f64 = 0.5 * f32::EPSILON as f64 * 1.01 + 1e-12;
/// Rotated outputs: table rounding (≤ u relative) plus two f32 products and a sum (≤ 3u),
/// relative to |x0| + |x1|.
const ROT_REL_TOL: f64 = 5.0 * f32::EPSILON as f64 / 2.0;

fn cases() -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = 64;
    }
    c
}

/// f64 reference angle of pair `i`.
fn theta(pos: usize, i: usize, n_rot: usize, base: f64, factor: f64) -> f64 {
    pos as f64 * base.powf(-2.0 * i as f64 / n_rot as f64) / factor
}

fn tables(pos: usize, p: &RopeParams) -> (Vec<f32>, Vec<f32>) {
    let mut cos = vec![0.0; p.n_rot / 2];
    let mut sin = vec![0.0; p.n_rot / 2];
    rope_cos_sin(pos, p, &mut cos, &mut sin);
    (cos, sin)
}

fn check_tables(pos: usize, p: &RopeParams) {
    let (cos, sin) = tables(pos, p);
    for i in 0..p.n_rot / 2 {
        let factor = p.freq_factors.map_or(1.0, |f| f[i] as f64);
        let t = theta(pos, i, p.n_rot, p.freq_base as f64, factor);
        let a = p.attn_factor as f64;
        let tol = TABLE_TOL * a.abs().max(1.0);
        assert!(
            (cos[i] as f64 - t.cos() * a).abs() <= tol,
            "cos pos {pos} i {i}"
        );
        assert!(
            (sin[i] as f64 - t.sin() * a).abs() <= tol,
            "sin pos {pos} i {i}"
        );
    }
}

#[test]
fn tables_match_f64_at_long_positions() {
    for pos in [0, 1, 2, 4095, 4096, 65535, 131071] {
        check_tables(pos, &RopeParams::plain(96, 10000.0));
        check_tables(pos, &RopeParams::plain(128, 500000.0));
    }
}

#[test]
fn tables_at_position_zero_are_identity() {
    let (cos, sin) = tables(0, &RopeParams::plain(64, 10000.0));
    assert!(cos.iter().all(|&c| c == 1.0));
    assert!(sin.iter().all(|&s| s == 0.0));
}

#[test]
fn freq_factors_and_attn_factor() {
    let factors: Vec<f32> = (0..48).map(|i| 1.0 + i as f32 * 0.75).collect();
    // Phi-3-mini-128k style attention factor: sqrt(1 + ln(32) / ln(4096)).
    let attn = (1.0f64 + (32.0f64).ln() / (4096.0f64).ln()).sqrt() as f32;
    let p = RopeParams {
        n_rot: 96,
        freq_base: 10000.0,
        freq_factors: Some(&factors),
        attn_factor: attn,
    };
    for pos in [1, 17, 4097, 131071] {
        check_tables(pos, &p);
    }
    // A factor divides the angle: factor 2 at position 2·pos equals factor 1 at pos.
    let twos = vec![2.0f32; 48];
    let halved = RopeParams {
        freq_factors: Some(&twos),
        ..RopeParams::plain(96, 10000.0)
    };
    assert_eq!(
        tables(2 * 777, &halved),
        tables(777, &RopeParams::plain(96, 10000.0))
    );
    // The attention factor scales cos and sin alike: cos² + sin² = attn².
    let (cos, sin) = tables(12345, &p);
    for (c, s) in cos.iter().zip(&sin) {
        let r2 = (*c as f64).powi(2) + (*s as f64).powi(2);
        assert!((r2 - (attn as f64).powi(2)).abs() < 1e-6);
    }
}

/// A 90° turn for every pair (cos 0, sin 1) makes the pairing visible.
#[test]
fn neox_and_norm_pairing() {
    let x: Vec<f32> = (1..=8).map(|v| v as f32).collect();
    let (cos, sin) = ([0.0f32; 4], [1.0f32; 4]);
    let mut neox = x.clone();
    rope_neox(&mut neox, 8, &cos, &sin);
    // Pairs (i, i + 4): x0' = −x1, x1' = x0.
    assert_eq!(neox, [-5.0, -6.0, -7.0, -8.0, 1.0, 2.0, 3.0, 4.0]);
    let mut norm = x.clone();
    rope_norm(&mut norm, 8, &cos, &sin);
    // Pairs (2i, 2i + 1).
    assert_eq!(norm, [-2.0, 1.0, -4.0, 3.0, -6.0, 5.0, -8.0, 7.0]);
    // `RopeLayout::apply` dispatches through the kernel table.
    let k = phi3_kernels::Kernels::scalar();
    for (layout, want) in [(RopeLayout::Neox, &neox), (RopeLayout::Norm, &norm)] {
        let mut y = x.clone();
        layout.apply(&k, &mut y, 8, &cos, &sin);
        assert_eq!(&y, want);
    }
}

#[test]
fn partial_rotary_leaves_tail_untouched() {
    // Two heads of 10, 6 rotated dimensions (3 pairs).
    let x: Vec<f32> = (0..20).map(|v| v as f32 + 0.5).collect();
    let (cos, sin) = tables(5, &RopeParams::plain(6, 10000.0));
    for layout in [RopeLayout::Neox, RopeLayout::Norm] {
        let mut y = x.clone();
        match layout {
            RopeLayout::Neox => rope_neox(&mut y, 10, &cos, &sin),
            RopeLayout::Norm => rope_norm(&mut y, 10, &cos, &sin),
        }
        for head in 0..2 {
            let h = head * 10;
            assert_eq!(y[h + 6..h + 10], x[h + 6..h + 10], "{layout:?}");
            assert_ne!(y[h..h + 6], x[h..h + 6], "{layout:?}");
        }
        // n_rot = 0 rotates nothing.
        let mut z = x.clone();
        rope_neox(&mut z, 10, &[], &[]);
        assert_eq!(z, x);
    }
}

/// NEOX on x equals NORM on the interleaved x (pair i = (i, i + n/2) ↔ (2i, 2i + 1)), bit for bit.
fn interleave(head: &[f32], n_rot: usize) -> Vec<f32> {
    let mut y = head.to_vec();
    for i in 0..n_rot / 2 {
        y[2 * i] = head[i];
        y[2 * i + 1] = head[i + n_rot / 2];
    }
    y
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn rotation_matches_f64(pos in 0usize..131072, pairs in 0usize..9, extra in 0usize..5,
                            heads in 1usize..4, seed in any::<u32>()) {
        let n_rot = 2 * pairs;
        let head_dim = n_rot + extra;
        prop_assume!(head_dim > 0);
        let p = RopeParams::plain(n_rot, 10000.0);
        let (cos, sin) = tables(pos, &p);
        let x: Vec<f32> = (0..heads * head_dim)
            .map(|i| ((i as u32).wrapping_mul(2654435761) ^ seed) as f32 / u32::MAX as f32 - 0.5)
            .collect();
        for layout in [RopeLayout::Neox, RopeLayout::Norm] {
            let mut y = x.clone();
            match layout {
                RopeLayout::Neox => rope_neox(&mut y, head_dim, &cos, &sin),
                RopeLayout::Norm => rope_norm(&mut y, head_dim, &cos, &sin),
            }
            for h in 0..heads {
                let base = h * head_dim;
                for i in 0..pairs {
                    let (a, b) = match layout {
                        RopeLayout::Neox => (base + i, base + i + pairs),
                        RopeLayout::Norm => (base + 2 * i, base + 2 * i + 1),
                    };
                    let t = theta(pos, i, n_rot, 10000.0, 1.0);
                    let (x0, x1) = (x[a] as f64, x[b] as f64);
                    let want0 = x0 * t.cos() - x1 * t.sin();
                    let want1 = x0 * t.sin() + x1 * t.cos();
                    let tol = ROT_REL_TOL * (x0.abs() + x1.abs()) + 1e-30;
                    prop_assert!((y[a] as f64 - want0).abs() <= tol);
                    prop_assert!((y[b] as f64 - want1).abs() <= tol);
                    // Rotation preserves each pair's norm (attn_factor = 1).
                    let r_in = x0.hypot(x1);
                    let r_out = (y[a] as f64).hypot(y[b] as f64);
                    prop_assert!((r_in - r_out).abs() <= 2.0 * tol);
                }
                prop_assert_eq!(&y[base + n_rot..base + head_dim], &x[base + n_rot..base + head_dim]);
            }
        }
    }

    #[test]
    fn neox_is_norm_up_to_permutation(pos in 0usize..5000, pairs in 1usize..9, extra in 0usize..3,
                                      vals in prop::collection::vec(-10.0f32..10.0, 20)) {
        let n_rot = 2 * pairs;
        let head_dim = n_rot + extra;
        let head: Vec<f32> = vals.iter().cycle().take(head_dim).copied().collect();
        let (cos, sin) = tables(pos, &RopeParams::plain(n_rot, 10000.0));
        let mut neox = head.clone();
        rope_neox(&mut neox, head_dim, &cos, &sin);
        let mut norm = interleave(&head, n_rot);
        rope_norm(&mut norm, head_dim, &cos, &sin);
        prop_assert_eq!(interleave(&neox, n_rot), norm);
    }
}

/// Runs `f` on a copy of `x`: it must not panic (in debug builds too: the table's contract)
/// and must leave the copy as `expect` says.
fn check_invalid(x: &[f32], expect: &[f32], f: fn(&mut [f32])) {
    let mut y = x.to_vec();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut y)));
    assert!(r.is_ok(), "invalid shapes must not panic");
    assert_eq!(y, expect);
}

#[test]
fn invalid_shapes_never_panic() {
    let x: Vec<f32> = (0..12).map(|v| v as f32).collect();
    // n_rot = 8 > head_dim = 6: unchanged.
    check_invalid(&x, &x, |y| rope_neox(y, 6, &[0.0; 4], &[1.0; 4]));
    check_invalid(&x, &x, |y| rope_norm(y, 6, &[0.0; 4], &[1.0; 4]));
    // head_dim = 0: unchanged.
    check_invalid(&x, &x, |y| rope_neox(y, 0, &[], &[]));
    check_invalid(&x, &x, |y| rope_norm(y, 0, &[], &[]));
    // 12 values, head_dim 5: two heads rotate, the trailing 2 values stay.
    let mut expect = x.clone();
    rope_neox(&mut expect[..10], 5, &[0.0; 2], &[1.0; 2]);
    check_invalid(&x, &expect, |y| rope_neox(y, 5, &[0.0; 2], &[1.0; 2]));
    let mut expect = x.clone();
    rope_norm(&mut expect[..10], 5, &[0.0; 2], &[1.0; 2]);
    check_invalid(&x, &expect, |y| rope_norm(y, 5, &[0.0; 2], &[1.0; 2]));
    // cos and sin of different lengths: the shorter is used.
    let mut expect = x.clone();
    rope_neox(&mut expect, 6, &[0.0; 2], &[1.0; 2]);
    check_invalid(&x, &expect, |y| rope_neox(y, 6, &[0.0; 3], &[1.0; 2]));
}
