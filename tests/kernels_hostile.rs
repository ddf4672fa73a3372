//! Hostile arguments to every entry of the public `Kernels` table (issue 20), on every tier
//! available here (`common::tiers_under_test`, which fails the run when `PHI3_REQUIRE_TIERS`
//! names a missing tier).
//!
//! The table's contract (see `src/kernels/table.rs`): arguments are validated first, in
//! O(1) or O(length of the real slices), then the entry does its documented clamped work —
//! never a panic (in debug builds too: tests and fuzz builds keep debug assertions), never an
//! out-of-bounds access, never a loop over a bogus count. Each test states the clamped result
//! it expects and compares it with the same tier's result on well-formed (truncated) inputs.

mod common;

use common::{tiers_under_test, Rng};
use half::f16;
use phi3_kernels::kernels::attention::CausalBlock;
use phi3_kernels::ops::attention_causal_block;
use phi3_kernels::ops::RopeLayout;
use phi3_kernels::quant::quantize::*;
use phi3_kernels::quant::*;
use phi3_kernels::Tier;
use std::sync::mpsc;
use std::time::Duration;

/// Runs `f` on another thread and fails when it does not return within `secs` seconds (a
/// kernel that loops over a bogus count). The fixed kernels answer in microseconds; the limit
/// only has to be far below the time the loop takes (> 10 s natively, forever for
/// `usize::MAX`), with room for qemu.
fn returns_within<F: FnOnce() + Send + 'static>(what: &str, secs: u64, f: F) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(()) => {}
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: still running after {secs} s"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: panicked"),
    }
}

fn h(v: f32) -> f16 {
    f16::from_f32(v)
}

// ---------------------------------------------------------------------------------------------
// Causal attention blocks.

/// `dim = 0`, `out_pitch = 0` with several queries passes the entry checks (nothing can
/// overlap); the NEON values kernel used to panic in `chunks_mut(0)`. Scores are all zero, so
/// query `j`'s weights are uniform over its `first + j` positions.
#[test]
fn causal_block_dim_zero_out_pitch_zero() {
    for (tier, k) in tiers_under_test() {
        for queries in [2usize, 3, 5, 9] {
            let first = 1;
            let b = CausalBlock {
                queries,
                first,
                dim: 0,
                q_pitch: 0,
                kv_stride: 0,
                out_pitch: 0,
            };
            let pos = first + queries - 1;
            let mut scores = vec![-7.0f32; queries * pos];
            let mut out: [f32; 0] = [];
            attention_causal_block(&k, &b, &[], &[], &[], 0.5, &mut scores, &mut out)
                .unwrap_or_else(|e| panic!("{tier:?}: {e:?}"));
            for j in 0..queries {
                let row = &scores[j * pos..(j + 1) * pos];
                let n = first + j;
                let w = 1.0 / n as f32;
                assert!(
                    row[..n].iter().all(|&s| (s - w).abs() <= 1e-6),
                    "{tier:?} q {queries} row {j}: {row:?}"
                );
                assert!(row[n..].iter().all(|&s| s == -7.0), "{tier:?} row {j}");
            }
            // The table entries directly, with a non-empty output slice that must stay as is.
            let mut out = [3.0f32; 4];
            (k.attn_values_causal_f16)(&b, &scores, &[], &mut out);
            assert_eq!(out, [3.0; 4], "{tier:?}");
        }
    }
}

/// Bogus query counts (2^32, `usize::MAX`) with short slices: the entries used to loop over
/// every query before noticing nothing fits (> 10 s at 2^32, forever at `usize::MAX`). Now
/// they return at once; only the queries whose slices fit (here query 0: its scores row is
/// `0 .. first`, the next row starts past the slice) are computed, exactly as the tier's
/// single-query kernels compute them, and the rest is left untouched. When the scores row
/// pitch itself overflows, nothing is written.
#[test]
fn causal_block_huge_query_counts_return_at_once() {
    for (tier, k) in tiers_under_test() {
        for queries in [1usize << 32, usize::MAX / 2, usize::MAX] {
            let (first, dim) = (3usize, 5usize);
            let mut rng = Rng(queries as u64);
            let q = rng.vec(2 * dim);
            let keys = rng.f16s(8 * dim);
            let b = CausalBlock {
                queries,
                first,
                dim,
                q_pitch: dim,
                kv_stride: dim,
                out_pitch: dim,
            };
            // Through the checked entry point: an error, at once.
            let (k2, b2, q2, keys2) = (k, b, q.clone(), keys.clone());
            returns_within(&format!("{tier:?} attention_causal_block"), 20, move || {
                let mut scores = vec![0.0f32; 64];
                let mut out = vec![0.0f32; 64];
                let r = attention_causal_block(
                    &k2,
                    &b2,
                    &q2,
                    &keys2,
                    &keys2,
                    0.5,
                    &mut scores,
                    &mut out,
                );
                assert!(r.is_err(), "{r:?}");
            });

            // At `usize::MAX` the scores row pitch `first + queries − 1` overflows: no row
            // has a place, nothing is written.
            let pitch_ok = b.positions().is_some();
            let mut want = [-7.0f32; 16];
            if pitch_ok {
                (k.attn_scores_causal_f16)(
                    &one(dim, first, dim),
                    &q[..dim],
                    &keys,
                    0.5,
                    &mut want[..first],
                );
            }
            let (q2, keys2) = (q.clone(), keys.clone());
            returns_within(&format!("{tier:?} attn_scores_causal_f16"), 20, move || {
                let mut scores = [-7.0f32; 16];
                (k.attn_scores_causal_f16)(&b, &q2, &keys2, 0.5, &mut scores);
                assert_eq!(scores, want, "{tier:?} queries {queries}");
            });

            let weights = rng.vec(16);
            let mut want = [-7.0f32; 16];
            if pitch_ok {
                (k.attn_values_causal_f16)(
                    &one(dim, first, dim),
                    &weights[..first],
                    &keys,
                    &mut want[..dim],
                );
            }
            returns_within(&format!("{tier:?} attn_values_causal_f16"), 20, move || {
                let mut out = [-7.0f32; 16];
                (k.attn_values_causal_f16)(&b, &weights, &keys, &mut out);
                assert_eq!(out, want, "{tier:?} queries {queries}");
            });
        }
    }
}

/// A causal block whose slices are too short for some queries: the entries skip those
/// queries (no debug assertion, no panic) and compute the others as one-query blocks.
#[test]
fn causal_block_short_slices_skip_queries() {
    for (tier, k) in tiers_under_test() {
        let (queries, first, dim) = (6usize, 2usize, 7usize);
        let pos = first + queries - 1;
        let b = CausalBlock {
            queries,
            first,
            dim,
            q_pitch: dim,
            kv_stride: dim,
            out_pitch: dim,
        };
        let mut rng = Rng(7);
        // Queries 0..4 have their query rows, scores rows and outputs; the keys hold `pos`
        // rows, so only the slices' ends limit the block.
        let q = rng.vec(4 * dim);
        let keys = rng.f16s(pos * dim);
        let mut scores = vec![-7.0f32; 3 * pos + first + 3];
        (k.attn_scores_causal_f16)(&b, &q, &keys, 0.25, &mut scores);
        let mut want = vec![-7.0f32; scores.len()];
        for j in 0..4 {
            let s = &mut want[j * pos..j * pos + first + j];
            let qj = &q[j * dim..(j + 1) * dim];
            (k.attn_scores_causal_f16)(&one(dim, first + j, dim), qj, &keys, 0.25, s);
        }
        assert_eq!(scores, want, "{tier:?} scores");

        let weights = rng.vec(queries * pos);
        let mut out = vec![-7.0f32; 3 * dim + 2];
        (k.attn_values_causal_f16)(&b, &weights, &keys, &mut out);
        let mut want = vec![-7.0f32; out.len()];
        for j in 0..3 {
            let w = &weights[j * pos..j * pos + first + j];
            let o = &mut want[j * dim..(j + 1) * dim];
            (k.attn_values_causal_f16)(&one(dim, first + j, dim), w, &keys, o);
        }
        assert_eq!(out, want, "{tier:?} values");
    }
}

// ---------------------------------------------------------------------------------------------
// Single-query attention (a one-query causal block, as decode runs it).

/// One query of `d` values attending `n` cache rows `stride` apart.
fn one(d: usize, n: usize, stride: usize) -> CausalBlock {
    CausalBlock {
        queries: 1,
        first: n,
        dim: d,
        q_pitch: d,
        kv_stride: stride,
        out_pitch: d,
    }
}

/// Key / value rows that do not fit, huge or zero strides: only the rows that fit are used
/// (debug builds used to assert). Scores of the other positions are left untouched.
#[test]
fn attention_rows_that_do_not_fit_are_skipped() {
    for (tier, k) in tiers_under_test() {
        let mut rng = Rng(11);
        for (d, stride, len, n) in [
            (5usize, 7usize, 40usize, 9usize),
            (3, 0, 2, 4),
            (4, 4, 3, 2),
            // One row fits, the stride is huge (found by fuzz `kernels`: the AVX2 value
            // loops computed their prefetch address `(p + 8) · stride` with an overflowing
            // multiply).
            (16, usize::MAX, 16, 3),
            (96, usize::MAX / 2, 100, 2),
            (9, 1 << 62, 9, 5),
        ] {
            let q = rng.vec(d);
            let keys = rng.f16s(len);
            // Rows `p` with `p · stride + d <= len` (every row when `stride == 0`).
            let fit = match len.checked_sub(d) {
                None => 0,
                Some(room) => room.checked_div(stride).map_or(n, |last| (last + 1).min(n)),
            };
            let mut scores = vec![-7.0f32; n];
            (k.attn_scores_causal_f16)(&one(d, n, stride), &q, &keys, 0.5, &mut scores);
            let mut want = vec![-7.0f32; n];
            let fitting = one(d, fit, stride);
            (k.attn_scores_causal_f16)(&fitting, &q, &keys, 0.5, &mut want[..fit]);
            assert_eq!(scores, want, "{tier:?} scores d {d} stride {stride}");

            let w = rng.vec(n);
            let mut out = vec![-7.0f32; d];
            (k.attn_values_causal_f16)(&one(d, n, stride), &w, &keys, &mut out);
            let mut want = vec![-7.0f32; d];
            (k.attn_values_causal_f16)(&fitting, &w[..fit], &keys, &mut want);
            assert_eq!(out, want, "{tier:?} values d {d} stride {stride}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Dot products and gemms.

fn fix_q4_0(b: &mut BlockQ4_0) {
    b.d = h(0.01);
}
fn fix_q4_1(b: &mut BlockQ4_1) {
    b.d = h(0.01);
    b.m = h(-0.02);
}
fn fix_q5_0(b: &mut BlockQ5_0) {
    b.d = h(0.01);
}
fn fix_q4_k(b: &mut BlockQ4K) {
    b.d = h(0.01);
    b.dmin = h(0.002);
}
fn fix_q5_k(b: &mut BlockQ5K) {
    b.d = h(0.01);
    b.dmin = h(0.002);
}
fn fix_q6_k(b: &mut BlockQ6K) {
    b.d = h(0.01);
}
fn fix_q8_0(b: &mut BlockQ8_0) {
    b.d = h(0.01);
}

/// Activations as the graph makes them (quantizer output), or plain floats.
fn x_q8_0(rng: &mut Rng, n: usize) -> Vec<BlockQ8_0> {
    let mut out = vec![BlockQ8_0::zeroed(); n];
    quantize_q8_0(&rng.vec(n * 32), &mut out);
    out
}
fn x_q8_1(rng: &mut Rng, n: usize) -> Vec<BlockQ8_1> {
    let mut out = vec![BlockQ8_1::zeroed(); n];
    quantize_q8_1(&rng.vec(n * 32), &mut out);
    out
}
fn x_q8_k(rng: &mut Rng, n: usize) -> Vec<BlockQ8K> {
    let mut out = vec![BlockQ8K::zeroed(); n];
    quantize_q8_k(&rng.vec(n * 256), &mut out);
    out
}

use bytemuck::Zeroable;

/// Checks one (dot, gemm) pair of a tier on mismatched shapes.
fn dot_gemm_case<W: Copy + PartialEq + std::fmt::Debug, X: Copy>(
    tier: Tier,
    name: &str,
    dot: fn(&[W], &[X]) -> f32,
    gemm: fn(&[W], &[X], usize, &mut [f32], usize),
    w: &[W],
    x: &[X],
) {
    // Dots: the common prefix, whichever side is longer (debug builds used to assert).
    for (nw, nx) in [(3usize, 5usize), (5, 3), (0, 4), (4, 0)] {
        let n = nw.min(nx);
        let got = dot(&w[..nw], &x[..nx]);
        let want = dot(&w[..n], &x[..n]);
        assert_eq!(
            got.to_bits(),
            want.to_bits(),
            "{tier:?} {name} dot {nw}×{nx}"
        );
    }
    // Gemm, 2 blocks per row: 3 rows (plus a trailing odd block), 3 columns.
    let bpr = 2;
    let (w_all, x_all) = (w, x);
    let (w, x) = (&w[..7], &x[..6]);
    let mut full = vec![-7.0f32; 3 * 4];
    gemm(w, x, bpr, &mut full, 4);
    for c in 0..3 {
        for r in 0..3 {
            let d = dot(&w[r * bpr..(r + 1) * bpr], &x[c * bpr..(c + 1) * bpr]);
            assert_eq!(
                full[c * 4 + r].to_bits(),
                d.to_bits(),
                "{tier:?} {name} gemm"
            );
        }
        assert_eq!(full[c * 4 + 3], -7.0, "{tier:?} {name} gemm pad");
    }
    // `out` too short for the last column: it is skipped, the others are written.
    let mut short = vec![-7.0f32; 2 * 4 + 2];
    gemm(w, x, bpr, &mut short, 4);
    let mut want = full[..8].to_vec();
    want.extend([-7.0, -7.0]);
    assert_eq!(short, want, "{tier:?} {name} gemm short out");
    // `out_stride < rows`: overlapping columns are written in column order, as the scalar
    // loop does (each later column overwrites the overlap).
    let mut overlap = vec![-7.0f32; 2 * 2 + 3];
    gemm(w, x, bpr, &mut overlap, 2);
    let mut want = vec![-7.0f32; overlap.len()];
    for c in 0..3 {
        for r in 0..3 {
            want[c * 2 + r] = full[c * 4 + r];
        }
    }
    assert_eq!(overlap, want, "{tier:?} {name} gemm out_stride < rows");
    // Overlapping and too short: the columns up to the first that does not fit.
    let mut both = vec![-7.0f32; 5];
    gemm(w, x, bpr, &mut both, 2);
    let mut want = vec![-7.0f32; 5];
    for c in 0..2 {
        for r in 0..3 {
            want[c * 2 + r] = full[c * 4 + r];
        }
    }
    assert_eq!(both, want, "{tier:?} {name} gemm overlapping, short");
    // `out` shorter than one column (found by fuzz `kernels`: the AVX2 driver handed the
    // 8-row groups of its fast path an `out` of fewer than `rows` values): nothing written.
    let (w9, x5) = (&w_all[..18], &x_all[..10]);
    for n in [0usize, 5, 8] {
        let mut short = vec![-7.0f32; n];
        gemm(w9, x5, bpr, &mut short, 179);
        assert!(
            short.iter().all(|&v| v == -7.0),
            "{tier:?} {name} gemm out {n}"
        );
    }
    // Huge strides: only column 0 fits.
    let mut huge = vec![-7.0f32; 4];
    gemm(w, x, bpr, &mut huge, usize::MAX);
    assert_eq!(&huge[..3], &full[..3], "{tier:?} {name} gemm stride MAX");
    assert_eq!(huge[3], -7.0);
}

#[test]
fn dots_and_gemms_mismatched_shapes() {
    for (tier, k) in tiers_under_test() {
        let mut r = Rng(tier as u64 + 1);
        let rng = &mut r;
        macro_rules! case {
            ($dot:ident, $gemm:ident, $w:expr, $x:expr) => {{
                let (w, x) = ($w, $x);
                dot_gemm_case(tier, stringify!($dot), k.$dot, k.$gemm, &w, &x);
            }};
        }
        case!(
            dot_q4_0_q8_0,
            gemm_q4_0_q8_0,
            rng.blocks(18, fix_q4_0),
            x_q8_0(rng, 10)
        );
        case!(
            dot_q4_1_q8_1,
            gemm_q4_1_q8_1,
            rng.blocks(18, fix_q4_1),
            x_q8_1(rng, 10)
        );
        case!(
            dot_q5_0_q8_0,
            gemm_q5_0_q8_0,
            rng.blocks(18, fix_q5_0),
            x_q8_0(rng, 10)
        );
        case!(
            dot_q8_0_q8_0,
            gemm_q8_0_q8_0,
            rng.blocks(18, fix_q8_0),
            x_q8_0(rng, 10)
        );
        case!(
            dot_q4_k_q8_k,
            gemm_q4_k_q8_k,
            rng.blocks(18, fix_q4_k),
            x_q8_k(rng, 10)
        );
        case!(
            dot_q5_k_q8_k,
            gemm_q5_k_q8_k,
            rng.blocks(18, fix_q5_k),
            x_q8_k(rng, 10)
        );
        case!(
            dot_q6_k_q8_k,
            gemm_q6_k_q8_k,
            rng.blocks(18, fix_q6_k),
            x_q8_k(rng, 10)
        );
        case!(dot_f16_f32, gemm_f16_f32, rng.f16s(18), rng.vec(10));
        case!(dot_f32_f32, gemm_f32_f32, rng.vec(18), rng.vec(10));
    }
}

// ---------------------------------------------------------------------------------------------
// Quantizers, norms, activations, RoPE.

/// Quantizers write `min(x.len() / block, out.len())` blocks (the same bits as on exact
/// lengths) and leave the rest of `out` untouched (debug builds used to assert).
#[test]
fn quantizers_mismatched_lengths() {
    fn case<B: bytemuck::Pod + PartialEq + std::fmt::Debug>(
        tier: Tier,
        f: fn(&[f32], &mut [B]),
        elems: usize,
        x: &[f32],
    ) {
        let mut sentinel = B::zeroed();
        bytemuck::bytes_of_mut(&mut sentinel).fill(0x5A);
        for (nx, nb) in [
            (3 * elems + 5, 3usize),
            (2 * elems, 3),
            (3 * elems, 2),
            (7, 1),
        ] {
            let n = (nx / elems).min(nb);
            let mut got = vec![sentinel; nb];
            f(&x[..nx], &mut got);
            let mut want = vec![sentinel; nb];
            f(&x[..n * elems], &mut want[..n]);
            assert_eq!(got, want, "{tier:?} x {nx} out {nb}");
        }
    }
    for (tier, k) in tiers_under_test() {
        let x = Rng(3).vec(4 * 256);
        case(tier, k.quantize_q8_0, 32, &x);
        case(tier, k.quantize_q8_1, 32, &x);
        case(tier, k.quantize_q8_k, 256, &x);
    }
}

/// RMSNorm and SwiGLU on mismatched lengths work on the common prefix and leave the rest of
/// `out` untouched (debug builds used to assert).
#[test]
fn norm_and_swiglu_mismatched_lengths() {
    for (tier, k) in tiers_under_test() {
        let mut rng = Rng(5);
        let (a, b) = (rng.vec(40), rng.vec(40));
        for (na, nb, no) in [
            (37usize, 40usize, 40usize),
            (40, 19, 40),
            (40, 40, 23),
            (0, 5, 5),
        ] {
            let n = na.min(nb).min(no);
            let mut got = vec![-7.0f32; no];
            (k.rms_norm)(&a[..na], &b[..nb], 1e-5, &mut got);
            let mut want = vec![-7.0f32; no];
            (k.rms_norm)(&a[..n], &b[..n], 1e-5, &mut want[..n]);
            assert_eq!(got, want, "{tier:?} rms_norm {na} {nb} {no}");

            let mut got = vec![-7.0f32; no];
            (k.swiglu)(&a[..na], &b[..nb], &mut got);
            let mut want = vec![-7.0f32; no];
            (k.swiglu)(&a[..n], &b[..n], &mut want[..n]);
            assert_eq!(got, want, "{tier:?} swiglu {na} {nb} {no}");
        }
    }
}

/// RoPE on invalid shapes (through the table and `RopeLayout::apply`): `n_rot > head_dim` or
/// `head_dim == 0` leave `x` unchanged; tables of different lengths use the shorter; a
/// trailing partial head is left unchanged (debug builds used to assert on each).
#[test]
fn rope_invalid_shapes() {
    for (tier, k) in tiers_under_test() {
        let x: Vec<f32> = Rng(9).vec(26);
        let (cos, sin) = (Rng(10).vec(8), Rng(12).vec(8));
        for layout in [RopeLayout::Neox, RopeLayout::Norm] {
            let mut y = x.clone();
            layout.apply(&k, &mut y, 6, &cos[..4], &sin[..4]);
            assert_eq!(y, x, "{tier:?} {layout:?} n_rot > head_dim");
            layout.apply(&k, &mut y, 0, &[], &[]);
            assert_eq!(y, x, "{tier:?} {layout:?} head_dim 0");
            layout.apply(&k, &mut y, usize::MAX, &cos, &sin);
            assert_eq!(y, x, "{tier:?} {layout:?} head_dim MAX");
            // Tables of 3 and 2 pairs: 2 pairs rotate; 26 values, head_dim 8: the trailing
            // 2 values are a partial head.
            let mut got = x.clone();
            layout.apply(&k, &mut got, 8, &cos[..3], &sin[..2]);
            let mut want = x.clone();
            layout.apply(&k, &mut want[..24], 8, &cos[..2], &sin[..2]);
            assert_eq!(
                got, want,
                "{tier:?} {layout:?} cos/sin lengths, partial head"
            );
            assert_ne!(got, x, "{tier:?} {layout:?} did not rotate");
        }
    }
}
