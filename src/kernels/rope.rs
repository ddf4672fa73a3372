//! Rotary position embedding (RoPE): tables and the two pairing layouts.
//!
//! # Math
//!
//! For a head of `head_dim` values, the first `n_rot ≤ head_dim` are rotated in `n_rot / 2`
//! pairs; pair `i` turns by the angle `θ_i = pos · base^(−2i / n_rot) / factor_i`:
//! `x0' = x0·cos_i − x1·sin_i`, `x1' = x0·sin_i + x1·cos_i`. Dimensions `n_rot..head_dim` pass
//! through (partial rotary, e.g. Phi-4-mini). [`rope_cos_sin`] builds the `cos` / `sin` tables
//! once per position (LongRoPE's per-pair `factor_i` and `attn_factor` included); the rotation
//! kernels take them, so SIMD tiers never evaluate trigonometry.
//!
//! # Layout
//!
//! `x` holds consecutive heads of `head_dim` values (a q or k row). [`rope_neox`] pairs
//! element `i` with `i + n_rot / 2` (phi3, Phi-4); [`rope_norm`] pairs `2i` with `2i + 1`
//! (llama); [`crate::ops::RopeLayout`] names the choice. `n_rot = 2 · cos.len()`.
//!
//! # Order of operations and tails
//!
//! Tables: `θ_i`, `cos θ_i · attn_factor`, `sin θ_i · attn_factor` in `f64` (libm), rounded once
//! to `f32` — accurate at positions up to 2^17 and beyond, unlike an `f32` power recurrence.
//! Rotation: each output is `a·c − b·s` / `a·s + b·c` with separately rounded `f32` products
//! (no FMA), then the difference / sum: every tier evaluates exactly this and gives the same
//! bits.
//! Trailing values of `x` that do not fill a whole head are left untouched; invalid shapes
//! (`head_dim == 0`, `n_rot > head_dim`, `cos.len() != sin.len()`) are accepted and handled
//! as each function documents (never a panic, in debug builds too: the `Kernels` table's
//! contract).

/// Parameters of the RoPE angle tables ([`rope_cos_sin`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RopeParams<'a> {
    /// Rotated dimensions per head (even, `≤ head_dim`); the tables have `n_rot / 2` entries.
    pub n_rot: usize,
    /// `base` of the frequencies (`rope.freq_base`, e.g. 10000).
    pub freq_base: f32,
    /// Per-pair frequency divisors (LongRoPE `rope_factors_short/long`, `n_rot / 2` values), or
    /// `None` for all ones.
    pub freq_factors: Option<&'a [f32]>,
    /// Multiplies both `cos` and `sin` (LongRoPE attention factor; `1.0` otherwise).
    pub attn_factor: f32,
}

impl RopeParams<'_> {
    /// Plain RoPE: `n_rot` rotated dimensions, base `freq_base`, no factors, `attn_factor = 1`.
    pub const fn plain(n_rot: usize, freq_base: f32) -> Self {
        RopeParams {
            n_rot,
            freq_base,
            freq_factors: None,
            attn_factor: 1.0,
        }
    }
}

/// Fills the angle tables for position `pos`: for `i < n = min(n_rot / 2, cos.len(), sin.len())`,
/// `θ_i = pos · base^(−2i / n_rot) / factor_i` (`factor_i = freq_factors[i]`, or `1` when the
/// factors are `None` or shorter than `i + 1`), `cos[i] = f32(cos θ_i · attn_factor)`,
/// `sin[i] = f32(sin θ_i · attn_factor)`, everything computed in `f64` with libm and rounded
/// once. Intended use: `cos.len() == sin.len() == n_rot / 2`; other lengths are accepted (never
/// a panic): entries at and past `n` are left untouched.
pub fn rope_cos_sin(pos: usize, p: &RopeParams, cos: &mut [f32], sin: &mut [f32]) {
    let n_half = p.n_rot / 2;
    let factors = p.freq_factors.unwrap_or(&[]);
    let pos = pos as f64;
    let base = f64::from(p.freq_base);
    let attn = f64::from(p.attn_factor);
    let n_rot = p.n_rot as f64;
    for (i, (c, s)) in cos.iter_mut().zip(sin.iter_mut()).take(n_half).enumerate() {
        let factor = factors.get(i).map_or(1.0, |&f| f64::from(f));
        let theta = pos * libm::pow(base, -2.0 * i as f64 / n_rot) / factor;
        *c = (libm::cos(theta) * attn) as f32;
        *s = (libm::sin(theta) * attn) as f32;
    }
}

/// The number of rotated pairs per head, or `None` for an invalid shape (`head_dim == 0` or
/// `2 · min(cos.len(), sin.len()) > head_dim`). O(1); never asserts.
fn rotated_pairs(head_dim: usize, _x_len: usize, cos: &[f32], sin: &[f32]) -> Option<usize> {
    // No assertion on the shape: the table entries accept any arguments (module docs).
    let n_half = cos.len().min(sin.len());
    (head_dim != 0 && n_half <= head_dim / 2).then_some(n_half)
}

/// NEOX RoPE in place: for every whole head `h` of `head_dim` values in `x` and `i < n_rot / 2`
/// (`n_rot = 2 · cos.len()`), with `x0 = x[h + i]`, `x1 = x[h + i + n_rot / 2]`:
/// `x0' = x0·cos_i − x1·sin_i`, `x1' = x0·sin_i + x1·cos_i`. Dimensions `n_rot..head_dim` and a
/// trailing partial head are untouched.
///
/// Contract (every tier, every build; validated first, in O(1)): any arguments are accepted.
/// `cos.len() != sin.len()` uses the shorter; `head_dim == 0` or `n_rot > head_dim` leaves `x`
/// unchanged; a trailing partial head (`x.len()` not a multiple of `head_dim`) is left
/// unchanged. Nothing panics.
pub fn rope_neox(x: &mut [f32], head_dim: usize, cos: &[f32], sin: &[f32]) {
    let Some(n_half) = rotated_pairs(head_dim, x.len(), cos, sin) else {
        return;
    };
    for head in x.chunks_exact_mut(head_dim) {
        let Some((lo, rest)) = head.split_at_mut_checked(n_half) else {
            continue;
        };
        for (((a, b), &c), &s) in lo.iter_mut().zip(rest.iter_mut()).zip(cos).zip(sin) {
            let (x0, x1) = (*a, *b);
            *a = x0 * c - x1 * s;
            *b = x0 * s + x1 * c;
        }
    }
}

/// NORM (interleaved) RoPE in place: for every whole head `h` of `head_dim` values in `x` and
/// `i < n_rot / 2` (`n_rot = 2 · cos.len()`), with `x0 = x[h + 2i]`, `x1 = x[h + 2i + 1]`:
/// `x0' = x0·cos_i − x1·sin_i`, `x1' = x0·sin_i + x1·cos_i`. Dimensions `n_rot..head_dim` and a
/// trailing partial head are untouched.
///
/// Contract as [`rope_neox`] (every tier, every build): invalid shapes leave `x` (or its
/// trailing partial head) unchanged; nothing panics.
pub fn rope_norm(x: &mut [f32], head_dim: usize, cos: &[f32], sin: &[f32]) {
    let Some(n_half) = rotated_pairs(head_dim, x.len(), cos, sin) else {
        return;
    };
    for head in x.chunks_exact_mut(head_dim) {
        for ((pair, &c), &s) in head.chunks_exact_mut(2).take(n_half).zip(cos).zip(sin) {
            if let [a, b] = pair {
                let (x0, x1) = (*a, *b);
                *a = x0 * c - x1 * s;
                *b = x0 * s + x1 * c;
            }
        }
    }
}
