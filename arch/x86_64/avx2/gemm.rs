//! AVX2 multi-column products ("gemm"): `out[c · out_stride + r] = dot(w_r, x_c)` for every
//! weight row `r` and activation column `c` (see [`crate::kernels::gemm`] for the contract).
//!
//! # Math and bit-exactness
//!
//! Every output is computed by the same per-`(row, column)` code as this tier's row dot product
//! (the `R × C` tiles of [`super::dot_q32`], [`super::dot_k`] and [`super::dot_float`], whose
//! `1 × 1` instance *is* the dot), so each value is bit-identical to the tier's `dot` of that
//! row and column, for any tiling; for the integer formats that is also the scalar reference's
//! value.
//!
//! # Layout and tiling scheme
//!
//! `w` holds `rows = w.len() / bpr` rows and `x` holds `cols = x.len() / bpr` columns of `bpr`
//! blocks.
//!
//! - Several columns (prefill) of Q4_0 and Q4_1 run in row octets ([`super::octet_q32`]:
//!   eight rows share every `maddubs`, 4-byte chunks of the eight rows in one vector, the
//!   activation slice broadcast), Q4_K, Q5_K and Q6_K in row quads ([`super::quad_k`]: four
//!   rows, 8-byte chunks), in row panels of 192 KiB, each column tile passing over the panel's
//!   octets or quads. The rows left over take the paths below. Octets and quads are well
//!   ahead of the one-row tiles below for prefill (`docs/performance.md`).
//! - Q4_0, Q4_1 and Q5_0 (the maddubs formats) take [`super::decode_q32`]'s paths whenever a
//!   row fits its per-column tables (up to 20480 elements): one column (decode) streams the
//!   rows once against a table of the column's offset corrections and scales; several columns
//!   (Q5_0, and the rows left over by the octets) run in panels of 32 rows, each 4-column tile
//!   (its table refilled per panel) passing over the panel's rows.
//! - One column of Q4_K (decode) takes [`super::decode_k`] when a row has at most 80
//!   super-blocks: the column's activations rearranged once into a table that puts two
//!   super-blocks in the two halves of every register, the rows visited as two streams.
//! - Everything else (and longer rows): row panels of 16 rows; per panel, column tiles of `C`
//!   pass over the panel's `R`-row tiles (the tile's activations stay in L1, the panel's
//!   weights in L2). Within a tile each weight block is unpacked once for `C` columns and each
//!   activation block prepared once for `R` rows. A single column (decode) runs `RD × 1` tiles
//!   down the rows, streaming the weights once: the rows' two halves in step, each in order
//!   (two concurrent streams draw more DRAM bandwidth than one: [`super::common::StreamRows`]).
//!   Leftover columns run `R × 1` tiles, leftover rows `1 × C` / `1 × 1` tiles.
//! - Weight streams are prefetched 4 KiB ahead on the one-row (decode) paths
//!   ([`super::common::STREAM_PREFETCH_BYTES`]) and 2 KiB ahead in the panel kernels
//!   ([`super::common::PREFETCH_BYTES`]).
//!
//! Tile sizes (per format, in the table at the bottom) were picked by timing
//! (3072 × 3072, 1 and 64 columns): with 16 ymm registers, 1 × 4 tiles (one weight block
//! unpacked for 4 columns) beat 2 × 2 and 4 × 1 for the maddubs formats and the K formats (larger
//! tiles spill the per-pair block-sum trees); Q8_0 (no nibble unpacking) uses 2 × 2. Decode
//! tiles are 1 row (2 for Q8_0): sharing the activation block across rows saved less than the
//! extra register pressure cost.
//!
//! # Tails and lengths
//!
//! As the scalar reference: `bpr == 0`, no rows or no columns write nothing; trailing blocks
//! that do not make a whole row / column are ignored; columns whose `rows` outputs do not fit
//! in `out` are skipped. If `out_stride < rows` (a contract violation: columns overlap), the
//! columns are computed one after another in increasing order, so later columns overwrite
//! earlier ones exactly as in the scalar loop. Nothing panics.

use super::common::{ByteDot, Maddubs, StreamRows};
use super::decode_q32::DecodePair;
use super::dot_float::FloatW;
use super::dot_k::{KPairs, Q4K, Q5K, Q6K};
use super::dot_q32::{Q32Pair, Q4_0Q8_0, Q4_1Q8_1, Q5_0Q8_0, Q8_0Q8_0};
use crate::quant::*;
use core::marker::PhantomData;
use half::f16;

/// A register tile kernel: `out[r][c] = dot(w[r][..nb], x[c][..nb])`.
pub(in crate::arch::x86_64) trait Tile {
    /// Weight block.
    type W;
    /// Activation block.
    type X;
    /// Computes one `R × C` tile.
    ///
    /// # Safety
    /// Every `w[r]` / `x[c]` must point to `nb` readable blocks; the CPU must support AVX2, FMA
    /// and F16C.
    unsafe fn tile<const R: usize, const C: usize>(
        w: [*const Self::W; R],
        x: [*const Self::X; C],
        nb: usize,
    ) -> [[f32; C]; R];

    /// A dedicated one-column path: `out[r] = dot(w_r, x)` for `rows` rows, or `false`
    /// (nothing written) when the format has none or the rows are too long for it.
    ///
    /// # Safety
    /// `w` must point to `rows · bpr` readable blocks, `x` to `bpr`; `out` must hold `rows`
    /// values; the CPU must support AVX2, FMA and F16C.
    #[inline(always)]
    unsafe fn decode(
        _w: *const Self::W,
        _x: *const Self::X,
        _bpr: usize,
        _rows: usize,
        _out: &mut [f32],
    ) -> bool {
        false
    }

    /// A dedicated multi-column path for `cols` whole, fitting columns with
    /// `stride >= rows`: computes the first `n` rows of every column and returns `n` (0 when
    /// the format has none or declines; the driver's general path does the rest).
    ///
    /// # Safety
    /// `w` must point to `rows · bpr` readable blocks, `x` to `cols · bpr`; `out` must hold
    /// `(cols − 1) · stride + rows` values; the CPU must support AVX2, FMA and F16C.
    #[inline(always)]
    unsafe fn gemm_fast(
        _w: *const Self::W,
        _x: *const Self::X,
        _bpr: usize,
        _rows: usize,
        _cols: usize,
        _out: &mut [f32],
        _stride: usize,
    ) -> usize {
        0
    }
}

/// Tiles of a 32-element format pair.
struct Q32<P>(PhantomData<P>);
/// Tiles of a maddubs 32-element format pair, with the one-column path of
/// [`super::decode_q32`] and the multi-column row octets of [`super::octet_q32`], whose
/// byte products use `D` (`maddubs` here; `vpdpbusd` in the AVX-VNNI tier).
pub(in crate::arch::x86_64) struct Q32D<P, D>(PhantomData<(P, D)>);
/// Tiles of a K format.
struct K<F>(PhantomData<F>);
/// Tiles of a float format.
struct Float<W>(PhantomData<W>);

impl<P: Q32Pair> Tile for Q32<P> {
    type W = P::W;
    type X = P::X;
    #[inline(always)]
    unsafe fn tile<const R: usize, const C: usize>(
        w: [*const P::W; R],
        x: [*const P::X; C],
        nb: usize,
    ) -> [[f32; C]; R] {
        // SAFETY: forwarded caller contract.
        unsafe { super::dot_q32::tile::<P, R, C>(w, x, nb) }
    }
}

impl<P: DecodePair, D: ByteDot> Tile for Q32D<P, D> {
    type W = P::W;
    type X = P::X;
    #[inline(always)]
    unsafe fn tile<const R: usize, const C: usize>(
        w: [*const P::W; R],
        x: [*const P::X; C],
        nb: usize,
    ) -> [[f32; C]; R] {
        // SAFETY: forwarded caller contract.
        unsafe { super::dot_q32::tile::<P, R, C>(w, x, nb) }
    }
    #[inline(always)]
    unsafe fn decode(
        w: *const P::W,
        x: *const P::X,
        bpr: usize,
        rows: usize,
        out: &mut [f32],
    ) -> bool {
        // SAFETY: forwarded caller contract.
        unsafe { super::decode_q32::decode::<P>(w, x, bpr, rows, out) }
    }
    #[inline(always)]
    unsafe fn gemm_fast(
        w: *const P::W,
        x: *const P::X,
        bpr: usize,
        rows: usize,
        cols: usize,
        out: &mut [f32],
        stride: usize,
    ) -> usize {
        // SAFETY: forwarded caller contract (`stride >= rows`, `out` long enough: the driver
        // checked both); the remaining rows start `done` rows further in `w` and `out`.
        unsafe {
            let done = P::row_groups::<D>(w, x, bpr, rows, cols, out, stride);
            if done < rows
                && super::decode_q32::gemm::<P, 4>(
                    w.add(done * bpr),
                    x,
                    bpr,
                    rows - done,
                    cols,
                    out.get_unchecked_mut(done..),
                    stride,
                )
            {
                return rows;
            }
            done
        }
    }
}

impl<F: KPairs> Tile for K<F> {
    type W = F::W;
    type X = BlockQ8K;
    #[inline(always)]
    unsafe fn tile<const R: usize, const C: usize>(
        w: [*const F::W; R],
        x: [*const BlockQ8K; C],
        nb: usize,
    ) -> [[f32; C]; R] {
        if C == 1 {
            // One column (decode): super-blocks in pairs, one shared reduction per pair.
            // SAFETY: forwarded caller contract; `C == 1`, so `x[0]` exists.
            let v = unsafe { super::dot_k::tile_pairs::<F, R>(w, x[0], nb) };
            let mut out = [[0.0f32; C]; R];
            for (o, &s) in out.iter_mut().zip(v.iter()) {
                o[0] = s;
            }
            return out;
        }
        // SAFETY: forwarded caller contract.
        unsafe { super::dot_k::tile::<F, R, C>(w, x, nb) }
    }
    #[inline(always)]
    unsafe fn decode(
        w: *const F::W,
        x: *const BlockQ8K,
        bpr: usize,
        rows: usize,
        out: &mut [f32],
    ) -> bool {
        // SAFETY: forwarded caller contract.
        unsafe { F::decode(w, x, bpr, rows, out) }
    }
    #[inline(always)]
    unsafe fn gemm_fast(
        w: *const F::W,
        x: *const BlockQ8K,
        bpr: usize,
        rows: usize,
        cols: usize,
        out: &mut [f32],
        stride: usize,
    ) -> usize {
        // SAFETY: forwarded caller contract.
        unsafe { F::quads(w, x, bpr, rows, cols, out, stride) }
    }
}

impl<W: FloatW> Tile for Float<W> {
    type W = W;
    type X = f32;
    #[inline(always)]
    unsafe fn tile<const R: usize, const C: usize>(
        w: [*const W; R],
        x: [*const f32; C],
        nb: usize,
    ) -> [[f32; C]; R] {
        // SAFETY: forwarded caller contract.
        unsafe { super::dot_float::tile::<W, R, C>(w, x, nb) }
    }
}

/// Runs the rows `r0..rows` of one column range with `R`-row tiles of width `C`, then 1-row
/// tiles, writing `out[(c0 + c) · stride + r]`.
///
/// # Safety
/// Rows `< rows` and columns `c0..c0 + C` must be readable (`bpr` blocks each); the CPU must
/// support AVX2, FMA and F16C.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn col_tile<T: Tile, const R: usize, const C: usize>(
    w: *const T::W,
    x: *const T::X,
    bpr: usize,
    rows: usize,
    r0: usize,
    c0: usize,
    out: &mut [f32],
    stride: usize,
) {
    // SAFETY: rows `< rows` and columns `c0 .. c0 + C` are readable (caller contract), so every
    // pointer below points to `bpr` readable blocks.
    unsafe {
        let xs: [*const T::X; C] = core::array::from_fn(|c| x.add((c0 + c) * bpr));
        let vals = if r0 + R <= rows {
            let ws: [*const T::W; R] = core::array::from_fn(|r| w.add((r0 + r) * bpr));
            T::tile::<R, C>(ws, xs, bpr)
        } else {
            let mut v = [[0.0f32; C]; R];
            for (r, vr) in v.iter_mut().enumerate().take(rows - r0) {
                let [row] = T::tile::<1, C>([w.add((r0 + r) * bpr)], xs, bpr);
                *vr = row;
            }
            v
        };
        let n_rows = R.min(rows - r0);
        for (r, vr) in vals.iter().enumerate().take(n_rows) {
            for (c, &v) in vr.iter().enumerate() {
                if let Some(o) = out.get_mut((c0 + c) * stride + r0 + r) {
                    *o = v;
                }
            }
        }
    }
}

/// The gemm driver (module docs).
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn gemm<
    T: Tile,
    const RD: usize,
    const R: usize,
    const C: usize,
>(
    w: &[T::W],
    x: &[T::X],
    bpr: usize,
    out: &mut [f32],
    stride: usize,
) {
    if bpr == 0 {
        return;
    }
    let rows = w.len() / bpr;
    let cols = x.len() / bpr;
    // Any shape is accepted (the table's contract, `crate::kernels::gemm`): the columns that
    // do not fit `out` are skipped, overlapping columns are written in column order below.
    if rows == 0 || cols == 0 {
        return;
    }
    let (wp, xp) = (w.as_ptr(), x.as_ptr());
    if cols == 1 {
        // Decode: `RD`-row tiles sharing each activation block.
        if rows > out.len() {
            return;
        }
        // SAFETY: `rows · bpr` weight blocks, one column of `bpr`, `rows <= out.len()`.
        if unsafe { T::decode(wp, xp, bpr, rows, out) } {
            return;
        }
        // The rows' ranges read in step, as concurrent sequential streams ([`StreamRows`]).
        for r0 in StreamRows::new(rows, RD) {
            // SAFETY: `r0 < rows`, column 0 is whole.
            unsafe { col_tile::<T, RD, 1>(wp, xp, bpr, rows, r0, 0, out, stride) };
        }
        return;
    }
    if stride < rows {
        // Overlapping columns: one column at a time, in order, like the scalar loop.
        for c in 0..cols {
            match c.checked_mul(stride).and_then(|s| s.checked_add(rows)) {
                Some(end) if end <= out.len() => {}
                _ => return,
            }
            let mut r0 = 0;
            while r0 < rows {
                // SAFETY: `r0 < rows`, `c < cols`: whole rows and columns of the slices.
                unsafe { col_tile::<T, R, 1>(wp, xp, bpr, rows, r0, c, out, stride) };
                r0 += R;
            }
        }
        return;
    }
    // `stride >= rows >= 1`: column `c` fits iff `c · stride + rows <= out.len()`.
    let cols_fit = match out.len().checked_sub(rows) {
        None => 0,
        Some(room) => (room / stride).saturating_add(1).min(cols),
    };
    if cols_fit == 0 {
        // `out` shorter than one column: nothing to write (and `gemm_fast` needs
        // `out.len() >= rows`: its row groups index `out` up to `rows`).
        return;
    }
    // SAFETY: `cols_fit` whole columns whose outputs fit `out`; `stride >= rows`.
    let done = unsafe { T::gemm_fast(wp, xp, bpr, rows, cols_fit, out, stride) };
    // Row panels: within a panel, each column tile (a few KiB of activations, in L1) passes
    // over the panel's rows (their weights in L2), instead of every row streaming all the
    // columns from L2.
    let panel = PANEL_ROWS.div_ceil(R) * R;
    let mut p0 = done;
    while p0 < rows {
        let p1 = (p0 + panel).min(rows);
        let mut c0 = 0;
        while c0 + C <= cols_fit {
            let mut r0 = p0;
            while r0 < p1 {
                // SAFETY: rows `< rows` and columns `c0 .. c0 + C <= cols` are whole.
                unsafe { col_tile::<T, R, C>(wp, xp, bpr, rows, r0, c0, out, stride) };
                r0 += R;
            }
            c0 += C;
        }
        while c0 < cols_fit {
            let mut r0 = p0;
            while r0 < p1 {
                // SAFETY: as above, one column.
                unsafe { col_tile::<T, R, 1>(wp, xp, bpr, rows, r0, c0, out, stride) };
                r0 += R;
            }
            c0 += 1;
        }
        p0 = p1;
    }
}

/// Rows per panel of the general multi-column path (a multiple of the tile height is used).
const PANEL_ROWS: usize = 16;

macro_rules! avx2_gemm {
    ($($name:ident, $inner:ident: $tile:ty, $w:ty, $x:ty, RD = $rd:literal, R = $r:literal, C = $c:literal;)+) => {$(
        #[target_feature(enable = "avx2,fma,f16c")]
        fn $inner(w: &[$w], x: &[$x], bpr: usize, out: &mut [f32], stride: usize) {
            // SAFETY: the features are enabled in this function.
            unsafe { gemm::<$tile, $rd, $r, $c>(w, x, bpr, out, stride) }
        }

        #[doc = concat!("AVX2 [`crate::kernels::gemm::", stringify!($name), "`] (module docs).")]
        pub(crate) fn $name(w: &[$w], x: &[$x], bpr: usize, out: &mut [f32], stride: usize) {
            // SAFETY: reachable only through `avx2::kernels()` (CPU features checked).
            unsafe { $inner(w, x, bpr, out, stride) }
        }
    )+};
}

avx2_gemm! {
    gemm_q4_0_q8_0, gemm_q4_0_q8_0_avx2: Q32D<Q4_0Q8_0, Maddubs>, BlockQ4_0, BlockQ8_0, RD = 1, R = 1, C = 4;
    gemm_q4_1_q8_1, gemm_q4_1_q8_1_avx2: Q32D<Q4_1Q8_1, Maddubs>, BlockQ4_1, BlockQ8_1, RD = 1, R = 1, C = 4;
    gemm_q5_0_q8_0, gemm_q5_0_q8_0_avx2: Q32D<Q5_0Q8_0, Maddubs>, BlockQ5_0, BlockQ8_0, RD = 1, R = 1, C = 4;
    gemm_q8_0_q8_0, gemm_q8_0_q8_0_avx2: Q32<Q8_0Q8_0>, BlockQ8_0, BlockQ8_0, RD = 2, R = 2, C = 2;
    gemm_q4_k_q8_k, gemm_q4_k_q8_k_avx2: K<Q4K>, BlockQ4K, BlockQ8K, RD = 1, R = 1, C = 4;
    gemm_q5_k_q8_k, gemm_q5_k_q8_k_avx2: K<Q5K>, BlockQ5K, BlockQ8K, RD = 1, R = 1, C = 4;
    gemm_q6_k_q8_k, gemm_q6_k_q8_k_avx2: K<Q6K>, BlockQ6K, BlockQ8K, RD = 1, R = 1, C = 4;
    gemm_f16_f32, gemm_f16_f32_avx2: Float<f16>, f16, f32, RD = 1, R = 1, C = 2;
    gemm_f32_f32, gemm_f32_f32_avx2: Float<f32>, f32, f32, RD = 1, R = 1, C = 2;
}
