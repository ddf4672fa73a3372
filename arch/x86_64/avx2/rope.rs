//! AVX2 rotary position embedding, NEOX and NORM (interleaved) pairings, bit-exact with the
//! scalar reference ([`crate::kernels::rope`]).
//!
//! # Math
//!
//! Pair `i` of each head: `x0' = x0·cos_i − x1·sin_i`, `x1' = x0·sin_i + x1·cos_i`, with
//! separately rounded products (`vmulps`, then `vsubps` / `vaddps`, no FMA) exactly as the
//! reference, so results are bit-identical
//! (the float order of [`crate::kernels::float`]: RoPE has no sums, and no FMA anywhere).
//!
//! # Layout
//!
//! - NEOX: `x0 = head[i]`, `x1 = head[i + n_rot/2]`: 8 pairs per step from two unaligned loads,
//!   `cos` / `sin` loaded directly.
//! - NORM: `x0 = head[2i]`, `x1 = head[2i + 1]`: 4 pairs per 8-float load; `cos` / `sin` of 4
//!   pairs are duplicated into `[c0 c0 c1 c1 …]` with `vpermps`, the partner values come from
//!   an in-lane swap, and `x' = x·c + swap(x)·(∓s)` (`x1·(−s)` is exactly `−(x1·s)`).
//!
//! # Tails
//!
//! The last `n_half % 8` (NEOX) / `n_half % 4` (NORM) pairs of a head are scalar. Shapes are
//! validated as in the reference: `head_dim == 0` or `n_rot > head_dim` leave `x` unchanged; a
//! trailing partial head is untouched.

use core::arch::x86_64::*;

/// Rotated pairs per head, or `None` for an invalid shape (the reference's `rotated_pairs`).
fn rotated_pairs(head_dim: usize, _x_len: usize, cos: &[f32], sin: &[f32]) -> Option<usize> {
    // No assertion on the shape: the table entries accept any arguments (module docs).
    let n_half = cos.len().min(sin.len());
    (head_dim != 0 && n_half <= head_dim / 2).then_some(n_half)
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn rope_neox_avx2(x: &mut [f32], head_dim: usize, cos: &[f32], sin: &[f32]) {
    let Some(n_half) = rotated_pairs(head_dim, x.len(), cos, sin) else {
        return;
    };
    let main = n_half - n_half % 8;
    for head in x.chunks_exact_mut(head_dim) {
        let hp = head.as_mut_ptr();
        // SAFETY: `i + 8 <= main <= n_half`, so `hp + i + n_half + 8 <= hp + 2·n_half <=
        // hp + head_dim`; `cos` / `sin` hold at least `n_half` values; features enabled.
        unsafe {
            let mut i = 0;
            while i < main {
                let a = _mm256_loadu_ps(hp.add(i));
                let b = _mm256_loadu_ps(hp.add(i + n_half));
                let c = _mm256_loadu_ps(cos.as_ptr().add(i));
                let s = _mm256_loadu_ps(sin.as_ptr().add(i));
                let a2 = _mm256_sub_ps(_mm256_mul_ps(a, c), _mm256_mul_ps(b, s));
                let b2 = _mm256_add_ps(_mm256_mul_ps(a, s), _mm256_mul_ps(b, c));
                _mm256_storeu_ps(hp.add(i), a2);
                _mm256_storeu_ps(hp.add(i + n_half), b2);
                i += 8;
            }
        }
        let Some((lo, rest)) = head.split_at_mut_checked(n_half) else {
            continue;
        };
        let pairs = lo.iter_mut().zip(rest.iter_mut()).zip(cos.iter().zip(sin));
        for ((a, b), (&c, &s)) in pairs.skip(main) {
            let (x0, x1) = (*a, *b);
            *a = x0 * c - x1 * s;
            *b = x0 * s + x1 * c;
        }
    }
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn rope_norm_avx2(x: &mut [f32], head_dim: usize, cos: &[f32], sin: &[f32]) {
    let Some(n_half) = rotated_pairs(head_dim, x.len(), cos, sin) else {
        return;
    };
    let main = n_half - n_half % 4;
    for head in x.chunks_exact_mut(head_dim) {
        let hp = head.as_mut_ptr();
        // SAFETY: `i + 4 <= main <= n_half`: the load / store covers head values
        // `2i .. 2i + 8 <= 2·n_half <= head_dim`, the table loads `i .. i + 4 <= n_half`;
        // features enabled.
        unsafe {
            let dup = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
            let neg_even = _mm256_setr_ps(-0.0, 0.0, -0.0, 0.0, -0.0, 0.0, -0.0, 0.0);
            let mut i = 0;
            while i < main {
                let v = _mm256_loadu_ps(hp.add(2 * i));
                let c4 = _mm256_castps128_ps256(_mm_loadu_ps(cos.as_ptr().add(i)));
                let s4 = _mm256_castps128_ps256(_mm_loadu_ps(sin.as_ptr().add(i)));
                let c = _mm256_permutevar8x32_ps(c4, dup);
                let s = _mm256_xor_ps(_mm256_permutevar8x32_ps(s4, dup), neg_even);
                let swapped = _mm256_permute_ps::<0b10_11_00_01>(v);
                let r = _mm256_add_ps(_mm256_mul_ps(v, c), _mm256_mul_ps(swapped, s));
                _mm256_storeu_ps(hp.add(2 * i), r);
                i += 4;
            }
        }
        let pairs = head
            .chunks_exact_mut(2)
            .take(n_half)
            .zip(cos.iter().zip(sin));
        for (pair, (&c, &s)) in pairs.skip(main) {
            if let [a, b] = pair {
                let (x0, x1) = (*a, *b);
                *a = x0 * c - x1 * s;
                *b = x0 * s + x1 * c;
            }
        }
    }
}

/// AVX2 [`crate::kernels::rope::rope_neox`] (bit-exact).
pub(crate) fn rope_neox(x: &mut [f32], head_dim: usize, cos: &[f32], sin: &[f32]) {
    // SAFETY: reachable only through `avx2::kernels()` (CPU features checked).
    unsafe { rope_neox_avx2(x, head_dim, cos, sin) }
}

/// AVX2 [`crate::kernels::rope::rope_norm`] (bit-exact).
pub(crate) fn rope_norm(x: &mut [f32], head_dim: usize, cos: &[f32], sin: &[f32]) {
    // SAFETY: reachable only through `avx2::kernels()` (CPU features checked).
    unsafe { rope_norm_avx2(x, head_dim, cos, sin) }
}
