//! AVX-512 rotary position embedding, NEOX and NORM (interleaved) pairings, bit-exact with the
//! scalar reference ([`crate::kernels::rope`]).
//!
//! # Math
//!
//! Pair `i` of each head: `x0' = x0·cos_i − x1·sin_i`, `x1' = x0·sin_i + x1·cos_i`, with
//! separately rounded products (`vmulps`, then `vsubps` / `vaddps`, no FMA), the operands in the
//! reference's order, so results are bit-identical
//! (the float order of [`crate::kernels::float`]: RoPE has no sums, and no FMA anywhere).
//!
//! # Layout
//!
//! - NEOX: `x0 = head[i]`, `x1 = head[i + n_rot/2]`: 16 pairs per step from two unaligned
//!   loads, `cos` / `sin` loaded directly.
//! - NORM: `x0 = head[2i]`, `x1 = head[2i + 1]`: 8 pairs per 16-float load. The `cos` / `sin`
//!   of 8 pairs (one 8-float load each) are duplicated into `[c0 c0 c1 c1 … c7 c7]` with
//!   `vpermps`; the partners come from an in-lane swap (`vpermilps`), so with `p = x·c` and
//!   `q = swap(x)·s` the even lanes are `p − q = x0·c − x1·s` and the odd lanes, by a masked
//!   add (`0xAAAA`), `q + p = x0·s + x1·c` — the reference's expressions, operand for
//!   operand.
//!
//! # Tails
//!
//! The last `n_half % 16` (NEOX) / `n_half % 8` (NORM) pairs of a head use masked loads and
//! masked stores (the other lanes are neither read nor written), with the same arithmetic.
//! Shapes are validated as in the reference: `head_dim == 0` or `n_rot > head_dim` leave `x`
//! unchanged; a trailing partial head is untouched.

use super::dot_float::low_lanes;
use core::arch::x86_64::*;

/// Rotated pairs per head, or `None` for an invalid shape (the reference's `rotated_pairs`).
fn rotated_pairs(head_dim: usize, _x_len: usize, cos: &[f32], sin: &[f32]) -> Option<usize> {
    // No assertion on the shape: the table entries accept any arguments (module docs).
    let n_half = cos.len().min(sin.len());
    (head_dim != 0 && n_half <= head_dim / 2).then_some(n_half)
}

/// NEOX rotation of 16 pairs `(a, b)` with tables `(c, s)`: `(a·c − b·s, a·s + b·c)`.
///
/// # Safety
/// The CPU must support AVX-512 F.
#[inline(always)]
unsafe fn rotate_neox(a: __m512, b: __m512, c: __m512, s: __m512) -> (__m512, __m512) {
    // SAFETY: AVX-512 F (caller contract); register-only.
    unsafe {
        let a2 = _mm512_sub_ps(_mm512_mul_ps(a, c), _mm512_mul_ps(b, s));
        let b2 = _mm512_add_ps(_mm512_mul_ps(a, s), _mm512_mul_ps(b, c));
        (a2, b2)
    }
}

/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn rope_neox_avx512(x: &mut [f32], head_dim: usize, cos: &[f32], sin: &[f32]) {
    let Some(n_half) = rotated_pairs(head_dim, x.len(), cos, sin) else {
        return;
    };
    let main = n_half - n_half % 16;
    let (cp, sp) = (cos.as_ptr(), sin.as_ptr());
    for head in x.chunks_exact_mut(head_dim) {
        let hp = head.as_mut_ptr();
        // SAFETY: full accesses have `i + 16 <= main <= n_half`, so head values
        // `i + n_half + 16 <= 2·n_half <= head_dim`, table values `i + 16 <= n_half`; the
        // masked accesses touch only pairs `main .. n_half` (the same bounds); `cos` / `sin`
        // hold at least `n_half` values; features enabled.
        unsafe {
            let mut i = 0;
            while i < main {
                let a = _mm512_loadu_ps(hp.add(i));
                let b = _mm512_loadu_ps(hp.add(i + n_half));
                let c = _mm512_loadu_ps(cp.add(i));
                let s = _mm512_loadu_ps(sp.add(i));
                let (a2, b2) = rotate_neox(a, b, c, s);
                _mm512_storeu_ps(hp.add(i), a2);
                _mm512_storeu_ps(hp.add(i + n_half), b2);
                i += 16;
            }
            if main < n_half {
                let m = low_lanes(n_half - main);
                let a = _mm512_maskz_loadu_ps(m, hp.add(main));
                let b = _mm512_maskz_loadu_ps(m, hp.add(main + n_half));
                let c = _mm512_maskz_loadu_ps(m, cp.add(main));
                let s = _mm512_maskz_loadu_ps(m, sp.add(main));
                let (a2, b2) = rotate_neox(a, b, c, s);
                _mm512_mask_storeu_ps(hp.add(main), m, a2);
                _mm512_mask_storeu_ps(hp.add(main + n_half), m, b2);
            }
        }
    }
}

/// NORM rotation of 8 interleaved pairs `v = [x0 x1 x0 x1 …]` with the 8 table values of each
/// in the low 256 bits of `c8` / `s8` (module docs).
///
/// # Safety
/// The CPU must support AVX-512 F.
#[inline(always)]
unsafe fn rotate_norm(v: __m512, c8: __m256, s8: __m256) -> __m512 {
    // SAFETY: AVX-512 F (caller contract); register-only.
    unsafe {
        let dup = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
        let c = _mm512_permutexvar_ps(dup, _mm512_castps256_ps512(c8));
        let s = _mm512_permutexvar_ps(dup, _mm512_castps256_ps512(s8));
        let swapped = _mm512_permute_ps::<0b10_11_00_01>(v);
        let p = _mm512_mul_ps(v, c); // even: x0·c, odd: x1·c
        let q = _mm512_mul_ps(swapped, s); // even: x1·s, odd: x0·s
                                           // Even lanes x0·c − x1·s; odd lanes x0·s + x1·c.
        _mm512_mask_add_ps(_mm512_sub_ps(p, q), 0xAAAA, q, p)
    }
}

/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn rope_norm_avx512(x: &mut [f32], head_dim: usize, cos: &[f32], sin: &[f32]) {
    let Some(n_half) = rotated_pairs(head_dim, x.len(), cos, sin) else {
        return;
    };
    let main = n_half - n_half % 8;
    let (cp, sp) = (cos.as_ptr(), sin.as_ptr());
    for head in x.chunks_exact_mut(head_dim) {
        let hp = head.as_mut_ptr();
        // SAFETY: full accesses have `i + 8 <= main <= n_half`: the head load / store covers
        // values `2i .. 2i + 16 <= 2·n_half <= head_dim`, the table loads `i .. i + 8 <=
        // n_half`; the masked tail touches only head values `2·main .. 2·n_half` and table
        // values `main .. n_half` (the same bounds); features enabled.
        unsafe {
            let mut i = 0;
            while i < main {
                let v = _mm512_loadu_ps(hp.add(2 * i));
                let r = rotate_norm(v, _mm256_loadu_ps(cp.add(i)), _mm256_loadu_ps(sp.add(i)));
                _mm512_storeu_ps(hp.add(2 * i), r);
                i += 8;
            }
            if main < n_half {
                let rem = n_half - main; // 1 ..= 7 pairs
                let m8: __mmask8 = (1u8 << (rem & 7)) - 1;
                let m16 = low_lanes(2 * rem);
                let v = _mm512_maskz_loadu_ps(m16, hp.add(2 * main));
                let c8 = _mm256_maskz_loadu_ps(m8, cp.add(main));
                let s8 = _mm256_maskz_loadu_ps(m8, sp.add(main));
                _mm512_mask_storeu_ps(hp.add(2 * main), m16, rotate_norm(v, c8, s8));
            }
        }
    }
}

/// AVX-512 [`crate::kernels::rope::rope_neox`] (bit-exact).
pub(crate) fn rope_neox(x: &mut [f32], head_dim: usize, cos: &[f32], sin: &[f32]) {
    // SAFETY: reachable only through avx512::kernels() (CPU features checked).
    unsafe { rope_neox_avx512(x, head_dim, cos, sin) }
}

/// AVX-512 [`crate::kernels::rope::rope_norm`] (bit-exact).
pub(crate) fn rope_norm(x: &mut [f32], head_dim: usize, cos: &[f32], sin: &[f32]) {
    // SAFETY: reachable only through avx512::kernels() (CPU features checked).
    unsafe { rope_norm_avx512(x, head_dim, cos, sin) }
}
