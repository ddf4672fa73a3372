//! AVX2 + FMA float dot products `f16 · f32` and `f32 · f32`, as `R × C` tiles shared by the
//! row dot products (`1 × 1`) and the float gemms ([`super::gemm`]).
//!
//! # Math
//!
//! `Σ_i f32(w_i) · x_i` (f16 weights are converted exactly with `vcvtph2ps`).
//!
//! # Accumulator / unroll scheme and tolerance
//!
//! Each `(row, column)` pair has 4 `f32x8` accumulators: elements `32k + 8j .. 32k + 8j + 8`
//! go to accumulator `j` with `vfmadd231ps`; after the last whole 32, whole groups of 8 go to
//! accumulator 0. The result is `hsum((a0 + a1) + (a2 + a3))`, then the last `n % 8` elements
//! are added in index order with separate multiply and add. The order depends only on `n`, so a
//! gemm value is bit-identical to the dot of its row and column.
//!
//! Against the scalar index-order sum: both are sums of the same `n` products in different
//! orders (FMA only removes roundings), so `|Δ| ≤ 2·n·ε·Σ|w_i·x_i|` (the recursive-summation
//! bound, applied to both), and in practice far less (~`log n · ε · Σ|w_i·x_i|`).
//!
//! # Tails
//!
//! Any length: the common prefix `n = min(w.len(), x.len())` is used; the last `n % 8`
//! elements are scalar, so nothing is read past the slices. Unaligned loads throughout.

use crate::arch::x86_64::frame::common::hsum_ps;
use core::arch::x86_64::*;
use half::f16;

/// A float weight element type (`f16` or `f32`).
pub(super) trait FloatW: Copy {
    /// Loads 8 consecutive elements as `f32x8`.
    ///
    /// # Safety
    /// `p` must be valid for reading 8 elements; the CPU must support AVX and F16C.
    unsafe fn load8(p: *const Self) -> __m256;
    /// The element as `f32` (exact).
    fn to_f32(self) -> f32;
}

impl FloatW for f32 {
    #[inline(always)]
    unsafe fn load8(p: *const f32) -> __m256 {
        // SAFETY: the caller guarantees 8 readable floats.
        unsafe { _mm256_loadu_ps(p) }
    }
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }
}

impl FloatW for f16 {
    #[inline(always)]
    unsafe fn load8(p: *const f16) -> __m256 {
        // SAFETY: the caller guarantees 8 readable f16 values (16 bytes); F16C available.
        unsafe { _mm256_cvtph_ps(_mm_loadu_si128(p.cast())) }
    }
    #[inline(always)]
    fn to_f32(self) -> f32 {
        f16::to_f32(self)
    }
}

/// The `R × C` tile: `out[r][c] = Σ_{i<n} w[r][i] · x[c][i]` in the order of the module docs.
///
/// # Safety
/// Every `w[r]` and `x[c]` must point to `n` readable elements; the CPU must support AVX2, FMA
/// and F16C.
#[inline(always)]
// Register tiles index several arrays by the same (row, column, block) counters.
#[allow(clippy::needless_range_loop)]
pub(super) unsafe fn tile<W: FloatW, const R: usize, const C: usize>(
    w: [*const W; R],
    x: [*const f32; C],
    n: usize,
) -> [[f32; C]; R] {
    // SAFETY: FMA/F16C (caller contract); every load reads elements `i .. i + 8` with
    // `i + 8 <= n`, and the scalar tail reads indices `< n`.
    unsafe {
        let mut acc = [[[_mm256_setzero_ps(); 4]; C]; R];
        let mut i = 0usize;
        while i + 32 <= n {
            for j in 0..4 {
                let xv: [__m256; C] =
                    core::array::from_fn(|c| _mm256_loadu_ps(x[c].add(i + 8 * j)));
                for r in 0..R {
                    let wv = W::load8(w[r].add(i + 8 * j));
                    for c in 0..C {
                        acc[r][c][j] = _mm256_fmadd_ps(wv, xv[c], acc[r][c][j]);
                    }
                }
            }
            i += 32;
        }
        while i + 8 <= n {
            let xv: [__m256; C] = core::array::from_fn(|c| _mm256_loadu_ps(x[c].add(i)));
            for r in 0..R {
                let wv = W::load8(w[r].add(i));
                for c in 0..C {
                    acc[r][c][0] = _mm256_fmadd_ps(wv, xv[c], acc[r][c][0]);
                }
            }
            i += 8;
        }
        let mut out = [[0.0f32; C]; R];
        for r in 0..R {
            for c in 0..C {
                let [a0, a1, a2, a3] = acc[r][c];
                let mut s = hsum_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
                for k in i..n {
                    s += (*w[r].add(k)).to_f32() * *x[c].add(k);
                }
                out[r][c] = s;
            }
        }
        out
    }
}

/// The row dot product: the `1 × 1` tile over the common prefix.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[inline(always)]
unsafe fn dot<W: FloatW>(w: &[W], x: &[f32]) -> f32 {
    let n = w.len().min(x.len());
    // SAFETY: both slices hold at least `n` elements; CPU features per the caller.
    let [[v]] = unsafe { tile::<W, 1, 1>([w.as_ptr()], [x.as_ptr()], n) };
    v
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_f16_f32_avx2(w: &[f16], x: &[f32]) -> f32 {
    // SAFETY: the features are enabled in this function.
    unsafe { dot(w, x) }
}

/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_f32_f32_avx2(w: &[f32], x: &[f32]) -> f32 {
    // SAFETY: the features are enabled in this function.
    unsafe { dot(w, x) }
}

/// AVX2 [`crate::kernels::dot::dot_f16_f32`] (tolerance: module docs).
pub(crate) fn dot_f16_f32(w: &[f16], x: &[f32]) -> f32 {
    // SAFETY: reachable only through `avx2::kernels()` (CPU features checked).
    unsafe { dot_f16_f32_avx2(w, x) }
}

/// AVX2 [`crate::kernels::dot::dot_f32_f32`] (tolerance: module docs).
pub(crate) fn dot_f32_f32(w: &[f32], x: &[f32]) -> f32 {
    // SAFETY: reachable only through `avx2::kernels()` (CPU features checked).
    unsafe { dot_f32_f32_avx2(w, x) }
}
