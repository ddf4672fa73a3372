//! AVX2 + FMA float dot products `f16 · f32` and `f32 · f32`, as `R × C` tiles shared by the
//! row dot products (`1 × 1`) and the float gemms ([`super::gemm`]).
//!
//! # Math
//!
//! `Σ_i f32(w_i) · x_i` (f16 weights are converted exactly with `vcvtph2ps`).
//!
//! # Order of operations: the float order
//!
//! Exactly the float order of [`crate::kernels::float`], so every value is bit-identical to
//! the scalar reference [`crate::kernels::float::dot_lanes`]: each `(row, column)` pair has two
//! `f32x8` accumulators, `lo` holding the reference's lanes 0–7 and `hi` lanes 8–15. Each chunk
//! of 16 elements `16k .. 16k + 16` (increasing `k`) makes `lo = fma(w, x, lo)` with elements
//! `16k .. 16k + 8` and `hi = fma(w, x, hi)` with `16k + 8 .. 16k + 16` (`vfmadd231ps`). The
//! last `n % 16` elements are copied into a zeroed 16-element stack chunk that goes through
//! the same two FMAs, so the zero padding is fused exactly as in the reference. The result is
//! [`fold16`]: `lo + hi` (lane `i` plus lane `i + 8`), then the 8-lane fold in halves (`i + 4`,
//! `i + 2`, `i + 1`). The order depends only on `n`, so a gemm value is bit-identical to the dot
//! of its row and column.
//!
//! # Tails
//!
//! Any length: the common prefix `n = min(w.len(), x.len())` is used; the last `n % 16`
//! elements are read one by one into the stack chunk, so nothing is read past the slices.
//! Unaligned loads throughout.
//!
//! This file also holds the helpers the tier's other float kernels share: [`fold16`] (the
//! float order's fold of the two accumulators) and [`dot_f32`] (the float-order dot product of
//! two `f32` runs, for RMSNorm).

use crate::arch::x86_64::frame::common::hsum_ps;
use core::arch::x86_64::*;
use half::f16;

/// The float order's fold of 16 lanes held as `lo` (lanes 0–7) and `hi` (lanes 8–15)
/// ([`crate::kernels::float::fold_lanes`]): `lo + hi` (lane `i` plus lane `i + 8`), then the
/// frame's 8-lane fold ([`hsum_ps`]: the 128-bit halves, `i + 4`; `movehl`, `i + 2`; lane 1
/// onto 0).
///
/// # Safety
/// The CPU must support AVX.
#[inline(always)]
pub(super) unsafe fn fold16(lo: __m256, hi: __m256) -> f32 {
    // SAFETY: AVX (caller contract); register-only.
    unsafe { hsum_ps(_mm256_add_ps(lo, hi)) }
}

/// A float weight element type (`f16` or `f32`).
pub(super) trait FloatW: Copy {
    /// Loads 8 consecutive elements as `f32x8`.
    ///
    /// # Safety
    /// `p` must be valid for reading 8 elements; the CPU must support AVX and F16C.
    unsafe fn load8(p: *const Self) -> __m256;
    /// Zero (`+0.0`), the padding of a tail chunk.
    const ZERO: Self;
}

impl FloatW for f32 {
    #[inline(always)]
    unsafe fn load8(p: *const f32) -> __m256 {
        // SAFETY: the caller guarantees 8 readable floats.
        unsafe { _mm256_loadu_ps(p) }
    }
    const ZERO: Self = 0.0;
}

impl FloatW for f16 {
    #[inline(always)]
    unsafe fn load8(p: *const f16) -> __m256 {
        // SAFETY: the caller guarantees 8 readable f16 values (16 bytes); F16C available.
        unsafe { _mm256_cvtph_ps(_mm_loadu_si128(p.cast())) }
    }
    const ZERO: Self = f16::ZERO;
}

/// The `R × C` tile: `out[r][c] = Σ_{i<n} w[r][i] · x[c][i]` in the float order (module docs).
///
/// # Safety
/// Every `w[r]` and `x[c]` must point to `n` readable elements; the CPU must support AVX2, FMA
/// and F16C.
#[inline(always)]
// Register tiles index several arrays by the same (row, column) counters.
#[allow(clippy::needless_range_loop)]
pub(super) unsafe fn tile<W: FloatW, const R: usize, const C: usize>(
    w: [*const W; R],
    x: [*const f32; C],
    n: usize,
) -> [[f32; C]; R] {
    // SAFETY: FMA/F16C (caller contract); every load from the slices reads elements
    // `i .. i + 16` with `i + 16 <= n`; the tail copies read elements `i .. n` only, and the
    // tail loads read the 16-element stack chunks.
    unsafe {
        let mut lo = [[_mm256_setzero_ps(); C]; R];
        let mut hi = [[_mm256_setzero_ps(); C]; R];
        let mut i = 0usize;
        while i + 16 <= n {
            let xl: [__m256; C] = core::array::from_fn(|c| _mm256_loadu_ps(x[c].add(i)));
            let xh: [__m256; C] = core::array::from_fn(|c| _mm256_loadu_ps(x[c].add(i + 8)));
            for r in 0..R {
                let wl = W::load8(w[r].add(i));
                let wh = W::load8(w[r].add(i + 8));
                for c in 0..C {
                    lo[r][c] = _mm256_fmadd_ps(wl, xl[c], lo[r][c]);
                    hi[r][c] = _mm256_fmadd_ps(wh, xh[c], hi[r][c]);
                }
            }
            i += 16;
        }
        let rem = n - i;
        if rem > 0 {
            // The last chunk, zero-padded to 16 (both accumulators take the padding's FMA).
            let mut xt = [[0.0f32; 16]; C];
            for c in 0..C {
                core::ptr::copy_nonoverlapping(x[c].add(i), xt[c].as_mut_ptr(), rem);
            }
            for r in 0..R {
                let mut wt = [W::ZERO; 16];
                core::ptr::copy_nonoverlapping(w[r].add(i), wt.as_mut_ptr(), rem);
                let wl = W::load8(wt.as_ptr());
                let wh = W::load8(wt.as_ptr().add(8));
                for c in 0..C {
                    let xl = _mm256_loadu_ps(xt[c].as_ptr());
                    let xh = _mm256_loadu_ps(xt[c].as_ptr().add(8));
                    lo[r][c] = _mm256_fmadd_ps(wl, xl, lo[r][c]);
                    hi[r][c] = _mm256_fmadd_ps(wh, xh, hi[r][c]);
                }
            }
        }
        let mut out = [[0.0f32; C]; R];
        for r in 0..R {
            for c in 0..C {
                out[r][c] = fold16(lo[r][c], hi[r][c]);
            }
        }
        out
    }
}

/// The float-order dot product of the first `n` values at `a` and `b` (the `1 × 1` tile;
/// [`crate::kernels::float::dot_lanes`] bit for bit).
///
/// # Safety
/// `a` and `b` must point to `n` readable floats; the CPU must support AVX2, FMA and F16C.
#[inline(always)]
pub(super) unsafe fn dot_f32(a: *const f32, b: *const f32, n: usize) -> f32 {
    // SAFETY: forwarded caller contract.
    let [[v]] = unsafe { tile::<f32, 1, 1>([a], [b], n) };
    v
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

/// AVX2 [`crate::kernels::dot::dot_f16_f32`] (bit-exact: module docs).
pub(crate) fn dot_f16_f32(w: &[f16], x: &[f32]) -> f32 {
    // SAFETY: reachable only through `avx2::kernels()` (CPU features checked).
    unsafe { dot_f16_f32_avx2(w, x) }
}

/// AVX2 [`crate::kernels::dot::dot_f32_f32`] (bit-exact: module docs).
pub(crate) fn dot_f32_f32(w: &[f32], x: &[f32]) -> f32 {
    // SAFETY: reachable only through `avx2::kernels()` (CPU features checked).
    unsafe { dot_f32_f32_avx2(w, x) }
}
