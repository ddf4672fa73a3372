//! NEON rotary position embedding: `rope_neox` (element `i` pairs with `i + n_rot/2`) and
//! `rope_norm` (`2i` pairs with `2i + 1`), from precomputed `cos` / `sin` tables.
//!
//! # Math and order of operations
//!
//! Per pair: `x0' = x0·c − x1·s`, `x1' = x0·s + x1·c`, computed like the reference with
//! separately rounded `fmul`s and `fsub` / `fadd` (no FMA, as the reference's order of
//! operations), so the results are bit for bit those of [`crate::kernels::rope`] and every
//! other tier.
//!
//! # Layout, scheme and tails
//!
//! Per whole head of `head_dim` values: NEOX loads 4 consecutive `x0` (at `i`) and 4 `x1` (at
//! `i + n_half`) with the table entries `cos[i..i+4]`, `sin[i..i+4]`; NORM de-interleaves 4
//! pairs with `ld2` and re-interleaves with `st2`. The last `n_half % 4` pairs are scalar.
//! Dimensions `n_rot..head_dim` and a trailing partial head are untouched; invalid shapes
//! (`head_dim == 0`, `2·min(cos.len(), sin.len()) > head_dim`) leave `x` unchanged, as the
//! reference does (in every build).

use core::arch::aarch64::*;

/// The number of rotated pairs, or `None` for an invalid shape (the reference's rule).
fn rotated_pairs(head_dim: usize, cos: &[f32], sin: &[f32]) -> Option<usize> {
    let n_half = cos.len().min(sin.len());
    (head_dim != 0 && n_half <= head_dim / 2).then_some(n_half)
}

/// NEOX RoPE (table entry).
pub(super) fn rope_neox(x: &mut [f32], head_dim: usize, cos: &[f32], sin: &[f32]) {
    let Some(n_half) = rotated_pairs(head_dim, cos, sin) else {
        return;
    };
    for head in x.chunks_exact_mut(head_dim) {
        // SAFETY: reachable only through `kernels(tier)` (NEON checked); `head` has
        // `head_dim ≥ 2·n_half` values and the tables `≥ n_half`.
        unsafe { neox_head(head, n_half, cos, sin) };
    }
}

/// # Safety
/// NEON; `head.len() ≥ 2·n_half`, `cos.len(), sin.len() ≥ n_half`.
#[target_feature(enable = "neon")]
unsafe fn neox_head(head: &mut [f32], n_half: usize, cos: &[f32], sin: &[f32]) {
    let (p, cp, sp) = (head.as_mut_ptr(), cos.as_ptr(), sin.as_ptr());
    // SAFETY: indices `i < n_half` and `i + n_half < 2·n_half ≤ head.len()`.
    unsafe {
        let mut i = 0;
        while i + 4 <= n_half {
            let x0 = vld1q_f32(p.add(i));
            let x1 = vld1q_f32(p.add(i + n_half));
            let (c, s) = (vld1q_f32(cp.add(i)), vld1q_f32(sp.add(i)));
            vst1q_f32(p.add(i), vsubq_f32(vmulq_f32(x0, c), vmulq_f32(x1, s)));
            vst1q_f32(
                p.add(i + n_half),
                vaddq_f32(vmulq_f32(x0, s), vmulq_f32(x1, c)),
            );
            i += 4;
        }
        while i < n_half {
            let (x0, x1) = (*p.add(i), *p.add(i + n_half));
            let (c, s) = (*cp.add(i), *sp.add(i));
            *p.add(i) = x0 * c - x1 * s;
            *p.add(i + n_half) = x0 * s + x1 * c;
            i += 1;
        }
    }
}

/// NORM (interleaved) RoPE (table entry).
pub(super) fn rope_norm(x: &mut [f32], head_dim: usize, cos: &[f32], sin: &[f32]) {
    let Some(n_half) = rotated_pairs(head_dim, cos, sin) else {
        return;
    };
    for head in x.chunks_exact_mut(head_dim) {
        // SAFETY: as in `rope_neox`.
        unsafe { norm_head(head, n_half, cos, sin) };
    }
}

/// # Safety
/// NEON; `head.len() ≥ 2·n_half`, `cos.len(), sin.len() ≥ n_half`.
#[target_feature(enable = "neon")]
unsafe fn norm_head(head: &mut [f32], n_half: usize, cos: &[f32], sin: &[f32]) {
    let (p, cp, sp) = (head.as_mut_ptr(), cos.as_ptr(), sin.as_ptr());
    // SAFETY: pair `i < n_half` touches `2i, 2i + 1 < 2·n_half ≤ head.len()`.
    unsafe {
        let mut i = 0;
        while i + 4 <= n_half {
            let v = vld2q_f32(p.add(2 * i));
            let (c, s) = (vld1q_f32(cp.add(i)), vld1q_f32(sp.add(i)));
            let r = float32x4x2_t(
                vsubq_f32(vmulq_f32(v.0, c), vmulq_f32(v.1, s)),
                vaddq_f32(vmulq_f32(v.0, s), vmulq_f32(v.1, c)),
            );
            vst2q_f32(p.add(2 * i), r);
            i += 4;
        }
        while i < n_half {
            let (x0, x1) = (*p.add(2 * i), *p.add(2 * i + 1));
            let (c, s) = (*cp.add(i), *sp.add(i));
            *p.add(2 * i) = x0 * c - x1 * s;
            *p.add(2 * i + 1) = x0 * s + x1 * c;
            i += 1;
        }
    }
}
