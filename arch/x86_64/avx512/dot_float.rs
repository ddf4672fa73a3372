//! AVX-512 float dot products `f16 · f32` and `f32 · f32`, as `R × C` tiles shared by the row
//! dot products (`1 × 1`) and the float gemms.
//!
//! # Math
//!
//! `Σ_i f32(w_i) · x_i` (f16 weights are converted exactly with `vcvtph2ps`, 16 at a time from a
//! `__m256i` of halves).
//!
//! # Order of operations: the float order
//!
//! Exactly the float order of [`crate::kernels::float`] (so every value is bit-identical to the
//! scalar reference [`crate::kernels::float::dot_lanes`]): each `(row, column)` pair has one
//! `f32x16` accumulator whose lane `l` is the reference's lane `l`; elements
//! `16k .. 16k + 16` go to it with one `vfmadd231ps` (`acc = fma(w, x, acc)`), chunks in
//! increasing order. The last `n % 16` elements are one more such step with masked loads whose
//! other lanes are zero, so the zero padding goes through the same FMA as in the reference.
//! The 16 lanes are then folded in halves by [`hsum16_ps`] (lane `i` plus lane `i + 8`, then
//! `i + 4`, `i + 2`, `i + 1`: the reference's `fold_lanes`). The order depends only on `n`, so
//! a gemm value built from these tiles is bit-identical to the dot of its row and column.
//!
//! # Tails
//!
//! Any length: the common prefix `n = min(w.len(), x.len())` is used; the last `n % 16`
//! elements use masked loads (`vmovups` / `vmovdqu16` with a `__mmask16`), which read nothing
//! past the slices. Unaligned loads throughout.
//!
//! This file also holds the helpers the tier's other float kernels share: [`hsum16_ps`]
//! (the float order's fold of 16 lanes), [`low_lanes`] (the `__mmask16` of a tail) and
//! [`dot_f32`] (the float-order dot product of two `f32` runs, for RMSNorm).

use crate::arch::x86_64::frame::common::hsum_ps;
use core::arch::x86_64::*;
use half::f16;

/// The float order's fold of sixteen `f32` lanes ([`crate::kernels::float::fold_lanes`]): the
/// high 256 bits added onto the low 256 bits (lane `i` plus lane `i + 8`), then the frame's
/// 8-lane fold ([`hsum_ps`]: the 128-bit halves, `i + 4`; `movehl`, `i + 2`; lane 1 onto 0).
///
/// # Safety
/// The CPU must support AVX-512 F.
#[inline(always)]
pub(super) unsafe fn hsum16_ps(v: __m512) -> f32 {
    // SAFETY: AVX-512 F (and so AVX) is available (caller contract); register-only.
    unsafe {
        let lo = _mm512_castps512_ps256(v);
        let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)));
        hsum_ps(_mm256_add_ps(lo, hi))
    }
}

/// The mask of the low `rem` lanes of a 16-lane vector (`rem < 16`; a tail's lanes).
#[inline(always)]
pub(super) fn low_lanes(rem: usize) -> __mmask16 {
    debug_assert!(rem < 16);
    (1u16 << (rem & 15)) - 1
}

/// A float weight element type (`f16` or `f32`).
pub(super) trait FloatW: Copy {
    /// Loads 16 consecutive elements as `f32x16`.
    ///
    /// # Safety
    /// `p` must be valid for reading 16 elements; the CPU must support AVX-512 F.
    unsafe fn load16(p: *const Self) -> __m512;
    /// Loads the elements `k < 16` whose bit is set in `mask` as `f32x16`, the other lanes
    /// zero (their memory is not accessed).
    ///
    /// # Safety
    /// `p.add(k)` must be valid for reading one element for every set bit `k` of `mask`; the
    /// CPU must support AVX-512 F, BW and VL.
    unsafe fn load16_masked(p: *const Self, mask: __mmask16) -> __m512;
}

impl FloatW for f32 {
    #[inline(always)]
    unsafe fn load16(p: *const f32) -> __m512 {
        // SAFETY: the caller guarantees 16 readable floats and AVX-512 F.
        unsafe { _mm512_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn load16_masked(p: *const f32, mask: __mmask16) -> __m512 {
        // SAFETY: the caller guarantees the selected floats are readable (masked-off lanes are
        // not accessed and cannot fault) and AVX-512 F.
        unsafe { _mm512_maskz_loadu_ps(mask, p) }
    }
}

impl FloatW for f16 {
    #[inline(always)]
    unsafe fn load16(p: *const f16) -> __m512 {
        // SAFETY: the caller guarantees 16 readable f16 values (32 bytes) and AVX-512 F.
        unsafe { _mm512_cvtph_ps(_mm256_loadu_si256(p.cast())) }
    }
    #[inline(always)]
    unsafe fn load16_masked(p: *const f16, mask: __mmask16) -> __m512 {
        // SAFETY: the caller guarantees the selected halves are readable (masked-off words are
        // not accessed and cannot fault; they read as zero, i.e. +0.0) and AVX-512 F/BW/VL.
        unsafe { _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, p.cast())) }
    }
}

/// The `R × C` tile: `out[r][c] = Σ_{i<nb} w[r][i] · x[c][i]` in the float order (module
/// docs; `nb` elements: a float "block" is one element).
///
/// # Safety
/// Every `w[r]` and `x[c]` must point to `nb` readable elements; the CPU must support AVX2,
/// FMA, F16C and AVX-512 F, BW and VL.
#[inline(always)]
// Register tiles index several arrays by the same (row, column) counters.
#[allow(clippy::needless_range_loop)]
pub(super) unsafe fn tile<W: FloatW, const R: usize, const C: usize>(
    w: [*const W; R],
    x: [*const f32; C],
    nb: usize,
) -> [[f32; C]; R] {
    // SAFETY: AVX-512 F/BW/VL and FMA (caller contract); every full load reads elements
    // `i .. i + 16` with `i + 16 <= nb`, and the masked tail loads read only elements
    // `i .. nb` (mask `rem` low bits, `i + rem == nb`) of the `nb` readable ones.
    unsafe {
        let mut acc = [[_mm512_setzero_ps(); C]; R];
        let mut xv = [_mm512_setzero_ps(); C];
        let mut i = 0usize;
        while i + 16 <= nb {
            for c in 0..C {
                xv[c] = _mm512_loadu_ps(x[c].add(i));
            }
            for r in 0..R {
                let wv = W::load16(w[r].add(i));
                for c in 0..C {
                    acc[r][c] = _mm512_fmadd_ps(wv, xv[c], acc[r][c]);
                }
            }
            i += 16;
        }
        let rem = nb - i;
        if rem > 0 {
            // The zero padding of the last chunk goes through the same FMA (all 16 lanes).
            let mask = low_lanes(rem);
            for c in 0..C {
                xv[c] = _mm512_maskz_loadu_ps(mask, x[c].add(i));
            }
            for r in 0..R {
                let wv = W::load16_masked(w[r].add(i), mask);
                for c in 0..C {
                    acc[r][c] = _mm512_fmadd_ps(wv, xv[c], acc[r][c]);
                }
            }
        }
        let mut out = [[0.0f32; C]; R];
        for r in 0..R {
            for c in 0..C {
                out[r][c] = hsum16_ps(acc[r][c]);
            }
        }
        out
    }
}

/// The float-order dot product of the first `n` values at `a` and `b` (the `1 × 1` tile;
/// [`crate::kernels::float::dot_lanes`] bit for bit).
///
/// # Safety
/// `a` and `b` must point to `n` readable floats; the CPU must support AVX2, FMA, F16C and
/// AVX-512 F, BW and VL.
#[inline(always)]
pub(super) unsafe fn dot_f32(a: *const f32, b: *const f32, n: usize) -> f32 {
    // SAFETY: forwarded caller contract.
    let [[v]] = unsafe { tile::<f32, 1, 1>([a], [b], n) };
    v
}

/// The row dot product: the `1 × 1` tile over the common prefix.
///
/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F, BW and VL.
#[inline(always)]
unsafe fn dot<W: FloatW>(w: &[W], x: &[f32]) -> f32 {
    let n = w.len().min(x.len());
    // SAFETY: both slices hold at least `n` elements; CPU features per the caller.
    let [[v]] = unsafe { tile::<W, 1, 1>([w.as_ptr()], [x.as_ptr()], n) };
    v
}

/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn dot_f16_f32_avx512(w: &[f16], x: &[f32]) -> f32 {
    // SAFETY: the features are enabled in this function.
    unsafe { dot(w, x) }
}

/// # Safety
/// The CPU must support AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn dot_f32_f32_avx512(w: &[f32], x: &[f32]) -> f32 {
    // SAFETY: the features are enabled in this function.
    unsafe { dot(w, x) }
}

/// AVX-512 [`crate::kernels::dot::dot_f16_f32`] (bit-exact: module docs).
pub(crate) fn dot_f16_f32(w: &[f16], x: &[f32]) -> f32 {
    // SAFETY: reachable only through avx512::kernels() (CPU features checked).
    unsafe { dot_f16_f32_avx512(w, x) }
}

/// AVX-512 [`crate::kernels::dot::dot_f32_f32`] (bit-exact: module docs).
pub(crate) fn dot_f32_f32(w: &[f32], x: &[f32]) -> f32 {
    // SAFETY: reachable only through avx512::kernels() (CPU features checked).
    unsafe { dot_f32_f32_avx512(w, x) }
}
