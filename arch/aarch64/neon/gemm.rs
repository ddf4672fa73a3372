//! NEON multi-column products of the 32-element formats (`gemm_q4_0_q8_0`, `gemm_q4_1_q8_1`,
//! `gemm_q5_0_q8_0`, `gemm_q8_0_q8_0`): every output **bit-identical** to the row dot product
//! (and hence to the scalar reference).
//!
//! # Math and layout
//!
//! `out[c · out_stride + r] = dot(w_r, x_c)` with `w_r`, `x_c` runs of `bpr` blocks (see
//! [`crate::kernels::gemm`]). The float part of each output follows the dot contract: per block
//! `(d_w · d_x) · f32(isum)` (Q4_1: `+ m_w · s_x`), added to accumulator lane `b % 8`, folded by
//! `((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7))`.
//!
//! # Tiling and accumulators
//!
//! Several columns (prefill): register tiles of 4 rows × 8 columns (× 4 for a last group of at
//! most four), made of 2 × 2 sub-tiles. For each block index `b`, the four rows' weight blocks
//! are unpacked once and serve every column, each column pair's activations once and serve
//! every row pair. Each sub-tile produces one `int32x4_t` of exact block sums in the order
//! `[r0·cA, r0·cB, r1·cA, r1·cB]`:
//! - dot tiers ([`DotTile`]): four [`IntDot`] block sums (`sdot` or `smull`) folded with two
//!   `addp`;
//! - i8mm tier ([`MmlaTile`]): the two rows' 32 bytes are interleaved 8 bytes at a time
//!   (`zip1`/`zip2` on 64-bit lanes: `[r0 k0..8 | r1 k0..8]`, …), likewise the two columns, and
//!   four `smmla` produce the 2 × 2 block of sums directly.
//!
//! The float terms of a sub-tile's 4 outputs are computed lane-wise (scale vectors
//! `[dw0, dw0, dw1, dw1] · [dxA, dxB, dxA, dxB]`, each product exact) and added to the
//! accumulator of lane `b % 8`. The tile runs **lane-major**: one pass over the blocks
//! `j, j + 8, …` per lane `j`, holding one accumulator per sub-tile (8 · 16 would not fit in
//! registers), then the 8 lanes are folded lane-wise in the contract's order.
//!
//! One column (decode): a 4-row × 1-column tile ([`tile_rows4`]) whose accumulator `j` holds
//! the four rows' lane `j` (8 vectors, unrolled), `sdot` (or `smull`) on every tier; Q4_0 keeps
//! its raw nibbles and starts each row's sum from a shared `−8 · Σx`.
//!
//! # Tails
//!
//! Row / column counts that are not multiples of the tile repeat the last row / column (the
//! extra outputs are discarded). The decode tile copies the last `bpr % 8` blocks into zeroed
//! arrays (a zero block adds `+0.0`, which never changes an accumulator); the lane-major tile
//! needs no padding. Columns whose outputs do not fit in `out`
//! are skipped like the reference does; nothing is read or written out of bounds.

use super::dot_q32::{padded8, Q32};
use super::simd::*;
use core::arch::aarch64::*;
use core::marker::PhantomData;

/// How a 2 × 2 tile of block sums is formed.
pub(super) trait Tile {
    /// Prepares two rows' unpacked weight blocks `(lo16, hi16)` for [`Tile::pair`].
    ///
    /// # Safety
    /// The CPU must have the tile's instructions.
    unsafe fn prep(w0: (int8x16_t, int8x16_t), w1: (int8x16_t, int8x16_t)) -> [int8x16_t; 4];
    /// `[r0·a, r0·b, r1·a, r1·b]` exact block sums against columns `a`, `b` prepared by
    /// [`Tile::prep`] like the rows; `small` as [`IntDot::dot32_small`].
    ///
    /// # Safety
    /// The CPU must have the tile's instructions.
    unsafe fn pair(w: &[int8x16_t; 4], x: &[int8x16_t; 4], small: bool) -> int32x4_t;
}

/// Tile of four independent block sums ([`IntDot`]).
pub(super) struct DotTile<D>(PhantomData<D>);

impl<D: IntDot> Tile for DotTile<D> {
    #[inline(always)]
    unsafe fn prep(w0: (int8x16_t, int8x16_t), w1: (int8x16_t, int8x16_t)) -> [int8x16_t; 4] {
        [w0.0, w0.1, w1.0, w1.1]
    }
    #[inline(always)]
    unsafe fn pair(w: &[int8x16_t; 4], x: &[int8x16_t; 4], small: bool) -> int32x4_t {
        // SAFETY: forwarded contract.
        unsafe {
            let (a, b) = ((x[0], x[1]), (x[2], x[3]));
            hsum4(
                block_sum::<D>(w[0], w[1], a, small),
                block_sum::<D>(w[0], w[1], b, small),
                block_sum::<D>(w[2], w[3], a, small),
                block_sum::<D>(w[2], w[3], b, small),
            )
        }
    }
}

/// One block's partial sums (a function, not a closure: `sdot` must be inlined into a
/// `dotprod` body even in unoptimised builds).
///
/// # Safety
/// The CPU must have the instructions of `D`.
#[inline(always)]
unsafe fn block_sum<D: IntDot>(
    w0: int8x16_t,
    w1: int8x16_t,
    x: (int8x16_t, int8x16_t),
    small: bool,
) -> int32x4_t {
    // SAFETY: forwarded contract.
    unsafe {
        if small {
            D::dot32_small(w0, w1, x.0, x.1)
        } else {
            D::dot32(w0, w1, x.0, x.1)
        }
    }
}

/// Tile formed by `smmla` on 8-byte-interleaved rows and columns.
pub(super) struct MmlaTile;

/// Interleaves two 32-byte vectors pairs 8 bytes at a time: `[p k0..8 | q k0..8]`,
/// `[p k8..16 | q k8..16]`, `[p k16..24 | q k16..24]`, `[p k24..32 | q k24..32]`.
///
/// # Safety
/// The CPU must have NEON.
#[inline(always)]
unsafe fn interleave(p: (int8x16_t, int8x16_t), q: (int8x16_t, int8x16_t)) -> [int8x16_t; 4] {
    // SAFETY: register-only NEON operations.
    unsafe {
        let z = |a: int8x16_t, b: int8x16_t| {
            let (a, b) = (vreinterpretq_s64_s8(a), vreinterpretq_s64_s8(b));
            (
                vreinterpretq_s8_s64(vzip1q_s64(a, b)),
                vreinterpretq_s8_s64(vzip2q_s64(a, b)),
            )
        };
        let (a0, a1) = z(p.0, q.0);
        let (b0, b1) = z(p.1, q.1);
        [a0, a1, b0, b1]
    }
}

impl Tile for MmlaTile {
    #[inline(always)]
    unsafe fn prep(w0: (int8x16_t, int8x16_t), w1: (int8x16_t, int8x16_t)) -> [int8x16_t; 4] {
        // SAFETY: forwarded contract.
        unsafe { interleave(w0, w1) }
    }
    #[inline(always)]
    unsafe fn pair(w: &[int8x16_t; 4], x: &[int8x16_t; 4], _small: bool) -> int32x4_t {
        // SAFETY: forwarded contract (i8mm).
        unsafe {
            let s = smmla(vdupq_n_s32(0), w[0], x[0]);
            let s = smmla(s, w[1], x[1]);
            let s = smmla(s, w[2], x[2]);
            smmla(s, w[3], x[3])
        }
    }
}

/// Adds one block of a 4-row × `C`-column tile (`C` = 4 or 8) to `acc`: sub-tile
/// `rp · C/2 + cp` (row pair `rp`, column pair `cp`) gains `(d_w · d_x) · f32(isum)`
/// (+ `m_w · s_x`) of `[r0·c0, r0·c1, r1·c0, r1·c1]` of that pair.
///
/// # Safety
/// The CPU must have the instructions of `T` (and NEON).
#[inline(always)]
unsafe fn block_4xc<F: Q32, T: Tile, const C: usize>(
    w: [&F::W; 4],
    x: [&F::X; C],
    acc: &mut [float32x4_t; C],
) {
    // SAFETY: forwarded contract; reads of the blocks and register operations only.
    unsafe {
        let wp = [
            T::prep(F::weights(w[0]), F::weights(w[1])),
            T::prep(F::weights(w[2]), F::weights(w[3])),
        ];
        // The four rows' scales in one vector, then each row pair's `[d0, d0, d1, d1]`.
        let d4 = f16_refs_to_f32x4(F::d_w(w[0]), F::d_w(w[1]), F::d_w(w[2]), F::d_w(w[3]));
        let dw = [vzip1q_f32(d4, d4), vzip2q_f32(d4, d4)];
        for cp in 0..C / 2 {
            let (x0, x1) = (x[2 * cp], x[2 * cp + 1]);
            let xp = T::prep(F::acts(x0), F::acts(x1));
            let dx = f16_refs_to_f32x4(F::d_x(x0), F::d_x(x1), F::d_x(x0), F::d_x(x1));
            for rp in 0..2 {
                let isum = T::pair(&wp[rp], &xp, F::SMALL);
                let mut t = vmulq_f32(vmulq_f32(dw[rp], dx), vcvtq_f32_s32(isum));
                if F::HAS_MIN {
                    let (w0, w1) = (w[2 * rp], w[2 * rp + 1]);
                    let mw = f16_refs_to_f32x4(F::m_w(w0), F::m_w(w0), F::m_w(w1), F::m_w(w1));
                    let sx = f16_refs_to_f32x4(F::s_x(x0), F::s_x(x1), F::s_x(x0), F::s_x(x1));
                    t = vaddq_f32(t, vmulq_f32(mw, sx));
                }
                let a = &mut acc[rp * (C / 2) + cp];
                *a = vaddq_f32(*a, t);
            }
        }
    }
}

/// One 4-row × `C`-column tile (`C` = 4 or 8) over whole rows / columns of `bpr` blocks:
/// `res[rp · C/2 + cp]` is `[r0·c0, r0·c1, r1·c0, r1·c1]` of row pair `rp` and column pair
/// `cp`.
///
/// Lane-major: accumulator lane `j` (blocks `b ≡ j mod 8`) is summed in its own pass over the
/// blocks `j, j + 8, …`, so a pass holds `C` accumulators (one per sub-tile) instead of
/// `8 · C`. Each lane still adds its blocks in increasing order, and the lanes are folded in
/// the dot product's order: every output has the dot product's bits. (A block a lane lacks is
/// simply not there: no padding.)
///
/// # Safety
/// The CPU must have the instructions of `T` (and NEON).
#[inline(always)]
unsafe fn tile_4xc<F: Q32, T: Tile, const C: usize>(
    w: [&[F::W]; 4],
    x: [&[F::X]; C],
    bpr: usize,
) -> [[f32; 4]; C] {
    let n = w
        .iter()
        .map(|s| s.len())
        .chain(x.iter().map(|s| s.len()))
        .fold(bpr, usize::min);
    // SAFETY: forwarded contract; every index `b < n` is in bounds of all the slices.
    unsafe {
        let mut lanes = [[vdupq_n_f32(0.0); C]; 8];
        for (j, lane) in lanes.iter_mut().enumerate() {
            let mut acc = [vdupq_n_f32(0.0); C];
            let mut b = j;
            while b < n {
                let wb = [
                    w[0].get_unchecked(b),
                    w[1].get_unchecked(b),
                    w[2].get_unchecked(b),
                    w[3].get_unchecked(b),
                ];
                let xb: [&F::X; C] = core::array::from_fn(|k| x[k].get_unchecked(b));
                block_4xc::<F, T, C>(wb, xb, &mut acc);
                b += 8;
            }
            *lane = acc;
        }
        let mut res = [[0.0f32; 4]; C];
        for (s, r) in res.iter_mut().enumerate() {
            let l = |j: usize| lanes[j][s];
            let v = vaddq_f32(
                vaddq_f32(vaddq_f32(l(0), l(4)), vaddq_f32(l(2), l(6))),
                vaddq_f32(vaddq_f32(l(1), l(5)), vaddq_f32(l(3), l(7))),
            );
            vst1q_f32(r.as_mut_ptr(), v);
        }
        res
    }
}

/// The outputs of one 4-row × `C`-column tile into `out` (rows `r0..r0 + nr`, columns
/// `c0..c0 + nc`); outputs that do not fit are skipped.
fn store_4xc<const C: usize>(
    res: &[[f32; 4]; C],
    out: &mut [f32],
    out_stride: usize,
    (r0, nr): (usize, usize),
    (c0, nc): (usize, usize),
) {
    for k in 0..nc.min(C) {
        for i in 0..nr.min(4) {
            let v = res[(i / 2) * (C / 2) + k / 2][2 * (i % 2) + k % 2];
            if let Some(o) = out.get_mut((c0 + k) * out_stride + r0 + i) {
                *o = v;
            }
        }
    }
}

/// One block of a 4-row × 1-column tile: `(d_w · d_x) · f32(isum)` (+ `m_w · s_x` for Q4_1)
/// for the four rows, in lanes 0–3.
///
/// # Safety
/// The CPU must have the instructions of `D` (and NEON).
#[inline(always)]
unsafe fn block_rows4<F: Q32, D: IntDot>(w: [&F::W; 4], xb: &F::X) -> float32x4_t {
    // SAFETY: forwarded contract; reads of the blocks and register operations only.
    unsafe {
        let a = F::acts(xb);
        // No closures here: `sdot` must inline into the `dotprod` body (see `block_sum`).
        let isum = if F::OFFSET != 0 {
            // Every row starts from `−OFFSET · Σx` (partial sums), then adds its raw values'
            // products: the same exact integer as the offset-subtracted weights give.
            let m = vdupq_n_s8(F::OFFSET.wrapping_neg());
            let c = D::dot32_small(m, m, a.0, a.1);
            let (w0, w1, w2, w3) = (
                F::weights_raw(w[0]),
                F::weights_raw(w[1]),
                F::weights_raw(w[2]),
                F::weights_raw(w[3]),
            );
            hsum4(
                D::dot32_small_acc(c, w0.0, w0.1, a.0, a.1),
                D::dot32_small_acc(c, w1.0, w1.1, a.0, a.1),
                D::dot32_small_acc(c, w2.0, w2.1, a.0, a.1),
                D::dot32_small_acc(c, w3.0, w3.1, a.0, a.1),
            )
        } else {
            let (w0, w1, w2, w3) = (
                F::weights(w[0]),
                F::weights(w[1]),
                F::weights(w[2]),
                F::weights(w[3]),
            );
            hsum4(
                block_sum::<D>(w0.0, w0.1, a, F::SMALL),
                block_sum::<D>(w1.0, w1.1, a, F::SMALL),
                block_sum::<D>(w2.0, w2.1, a, F::SMALL),
                block_sum::<D>(w3.0, w3.1, a, F::SMALL),
            )
        };
        let dw = f16_refs_to_f32x4(F::d_w(w[0]), F::d_w(w[1]), F::d_w(w[2]), F::d_w(w[3]));
        let dx = f16_ref_dup_f32x4(F::d_x(xb));
        let t = vmulq_f32(vmulq_f32(dw, dx), vcvtq_f32_s32(isum));
        if F::HAS_MIN {
            let mw = f16_refs_to_f32x4(F::m_w(w[0]), F::m_w(w[1]), F::m_w(w[2]), F::m_w(w[3]));
            vaddq_f32(t, vmulq_f32(mw, f16_ref_dup_f32x4(F::s_x(xb))))
        } else {
            t
        }
    }
}

/// Adds 8 blocks (starting at a multiple of 8) of a 4-row × 1-column tile to `acc`: lane `p`
/// of `acc[j]` is row `p`'s accumulator for lane `b % 8 = j`, so the final fold is the same
/// lane-wise one as the 2 × 4 tile's and every row gets the dot product's bits. Unrolled by
/// hand so the accumulators stay in registers and every load has a constant offset.
///
/// # Safety
/// The CPU must have the instructions of `D` (and NEON).
#[inline(always)]
unsafe fn eight_blocks_rows4<F: Q32, D: IntDot>(
    w: [&[F::W; 8]; 4],
    x: &[F::X; 8],
    acc: &mut [float32x4_t; 8],
) {
    macro_rules! blocks {
        ($($j:literal)*) => {$(
            // SAFETY: forwarded contract.
            let t = unsafe { block_rows4::<F, D>([&w[0][$j], &w[1][$j], &w[2][$j], &w[3][$j]], &x[$j]) };
            // SAFETY: NEON per the contract.
            acc[$j] = unsafe { vaddq_f32(acc[$j], t) };
        )*};
    }
    blocks!(0 1 2 3 4 5 6 7);
}

/// One 4-row × 1-column tile over whole rows of `bpr` blocks (decode's matrix-vector product):
/// the four rows' dot products with `x`.
///
/// # Safety
/// The CPU must have the instructions of `D` (and NEON).
#[inline(always)]
unsafe fn tile_rows4<F: Q32, D: IntDot>(w: [&[F::W]; 4], x: &[F::X], bpr: usize) -> [f32; 4] {
    // SAFETY: forwarded contract; every block array is built from in-bounds sub-slices.
    unsafe {
        let mut acc = [vdupq_n_f32(0.0); 8];
        let full = bpr / 8;
        for g in 0..full {
            let w8 = [arr8(w[0], g), arr8(w[1], g), arr8(w[2], g), arr8(w[3], g)];
            if let ([Some(w0), Some(w1), Some(w2), Some(w3)], Some(x8)) = (w8, arr8(x, g)) {
                eight_blocks_rows4::<F, D>([w0, w1, w2, w3], x8, &mut acc);
            }
        }
        if !bpr.is_multiple_of(8) {
            let w8 = [
                tail8(w[0], full),
                tail8(w[1], full),
                tail8(w[2], full),
                tail8(w[3], full),
            ];
            let x8 = tail8(x, full);
            eight_blocks_rows4::<F, D>([&w8[0], &w8[1], &w8[2], &w8[3]], &x8, &mut acc);
        }
        let a = &acc;
        let v = vaddq_f32(
            vaddq_f32(vaddq_f32(a[0], a[4]), vaddq_f32(a[2], a[6])),
            vaddq_f32(vaddq_f32(a[1], a[5]), vaddq_f32(a[3], a[7])),
        );
        let mut res = [0.0f32; 4];
        vst1q_f32(res.as_mut_ptr(), v);
        res
    }
}

/// Blocks `8g .. 8g + 8` of `s` as an array, if all are there.
#[inline(always)]
fn arr8<T>(s: &[T], g: usize) -> Option<&[T; 8]> {
    s.get(8 * g..8 * g + 8).and_then(|c| c.try_into().ok())
}

/// Blocks from `8 · full` on, zero-padded to 8.
#[inline(always)]
fn tail8<T: bytemuck::Pod>(s: &[T], full: usize) -> [T; 8] {
    padded8(s.get(8 * full..).unwrap_or(&[]))
}

/// Run `i` of `bpr` blocks of `s` (empty if out of range).
#[inline(always)]
fn run<T>(s: &[T], i: usize, bpr: usize) -> &[T] {
    s.get(i * bpr..(i + 1) * bpr).unwrap_or(&[])
}

/// The number of leading columns whose `rows` outputs fit in `out` (the reference writes
/// exactly these and stops at the first that does not fit).
pub(super) fn columns_that_fit(cols: usize, rows: usize, out_len: usize, stride: usize) -> usize {
    (0..cols)
        .find(|&c| {
            c.checked_mul(stride)
                .and_then(|s| s.checked_add(rows))
                .is_none_or(|end| end > out_len)
        })
        .unwrap_or(cols)
}

/// The gemm of a 32-element format with tile strategy `T` (module docs).
///
/// # Safety
/// The CPU must have the instructions of `T` (and NEON).
#[inline(always)]
pub(super) unsafe fn gemm_q32<F: Q32, T: Tile, D: IntDot>(
    w: &[F::W],
    x: &[F::X],
    bpr: usize,
    out: &mut [f32],
    out_stride: usize,
) {
    if bpr == 0 {
        return;
    }
    let (rows, cols) = (w.len() / bpr, x.len() / bpr);
    // Only the columns whose outputs fit `out` (module docs of `crate::kernels::gemm`).
    let cols = columns_that_fit(cols, rows, out.len(), out_stride);
    // Overlapping columns (`out_stride < rows`): one column per tile, so the columns are
    // written in order, each overwriting the overlap as in the scalar loop.
    let group = if out_stride < rows { 1 } else { 8 };
    for c0 in (0..cols).step_by(group) {
        let nc = (cols - c0).min(group);
        if nc == 1 {
            // One column (decode): 4 rows share each activation load and scale conversion
            // instead of a 2 × 4 tile computing three copies of the column.
            let xc = run(x, c0, bpr);
            for r0 in (0..rows).step_by(4) {
                let nr = (rows - r0).min(4);
                let ws: [&[F::W]; 4] = core::array::from_fn(|i| run(w, r0 + i.min(nr - 1), bpr));
                // SAFETY: forwarded contract.
                let res = unsafe { tile_rows4::<F, D>(ws, xc, bpr) };
                for (i, &v) in res.iter().enumerate().take(nr) {
                    if let Some(o) = out.get_mut(c0 * out_stride + r0 + i) {
                        *o = v;
                    }
                }
            }
            continue;
        }
        for r0 in (0..rows).step_by(4) {
            let nr = (rows - r0).min(4);
            let ws: [&[F::W]; 4] = core::array::from_fn(|i| run(w, r0 + i.min(nr - 1), bpr));
            // Missing columns of a last partial tile repeat the last one (outputs dropped).
            if nc > 4 {
                let xs: [&[F::X]; 8] = core::array::from_fn(|k| run(x, c0 + k.min(nc - 1), bpr));
                // SAFETY: forwarded contract.
                let res = unsafe { tile_4xc::<F, T, 8>(ws, xs, bpr) };
                store_4xc(&res, out, out_stride, (r0, nr), (c0, nc));
            } else {
                let xs: [&[F::X]; 4] = core::array::from_fn(|k| run(x, c0 + k.min(nc - 1), bpr));
                // SAFETY: forwarded contract.
                let res = unsafe { tile_4xc::<F, T, 4>(ws, xs, bpr) };
                store_4xc(&res, out, out_stride, (r0, nr), (c0, nc));
            }
        }
    }
}

/// Defines, per format, a module with the table entries `neon`, `dotprod` and `i8mm`.
macro_rules! gemm_q32_entries {
    ($($name:ident: $fmt:ty, $w:ty, $x:ty;)+) => {$(
        pub(super) mod $name {
            use super::*;
            use super::super::dot_q32::*;
            use crate::quant::*;

            /// Baseline NEON entry.
            pub(in super::super) fn neon(w: &[$w], x: &[$x], bpr: usize, out: &mut [f32], s: usize) {
                // SAFETY: reachable only through `kernels(tier)`, whose caller checked NEON.
                unsafe { neon_body(w, x, bpr, out, s) }
            }

            /// NEON + dotprod entry.
            pub(in super::super) fn dotprod(w: &[$w], x: &[$x], bpr: usize, out: &mut [f32], s: usize) {
                // SAFETY: reachable only through `kernels(NeonDotprod | NeonI8mm)`, whose
                // caller checked NEON and dotprod.
                unsafe { dotprod_body(w, x, bpr, out, s) }
            }

            /// NEON + dotprod + i8mm entry. One column (decode) takes the `sdot` entry: the
            /// decode tile is the same, compiled without the `smmla` tile around it.
            pub(in super::super) fn i8mm(w: &[$w], x: &[$x], bpr: usize, out: &mut [f32], s: usize) {
                if x.len() / bpr.max(1) <= 1 {
                    return dotprod(w, x, bpr, out, s);
                }
                // SAFETY: reachable only through `kernels(NeonI8mm)`, whose caller checked
                // NEON, dotprod and i8mm.
                unsafe { i8mm_body(w, x, bpr, out, s) }
            }

            /// The `#[target_feature]` body of the entry above.
            ///
            /// # Safety
            /// The CPU must implement NEON.
            #[target_feature(enable = "neon")]
            unsafe fn neon_body(w: &[$w], x: &[$x], bpr: usize, out: &mut [f32], s: usize) {
                // SAFETY: NEON enabled and guaranteed by the caller.
                unsafe { gemm_q32::<$fmt, DotTile<Mull>, Mull>(w, x, bpr, out, s) }
            }

            /// The `#[target_feature]` body of the entry above.
            ///
            /// # Safety
            /// The CPU must implement NEON and dotprod.
            #[target_feature(enable = "neon,dotprod")]
            unsafe fn dotprod_body(w: &[$w], x: &[$x], bpr: usize, out: &mut [f32], s: usize) {
                // SAFETY: NEON + dotprod enabled and guaranteed by the caller.
                unsafe { gemm_q32::<$fmt, DotTile<Sdot>, Sdot>(w, x, bpr, out, s) }
            }

            /// The `#[target_feature]` body of the entry above.
            ///
            /// # Safety
            /// The CPU must implement NEON, dotprod and i8mm.
            #[target_feature(enable = "neon,dotprod,i8mm")]
            unsafe fn i8mm_body(w: &[$w], x: &[$x], bpr: usize, out: &mut [f32], s: usize) {
                // SAFETY: NEON + dotprod + i8mm enabled and guaranteed by the caller.
                unsafe { gemm_q32::<$fmt, MmlaTile, Sdot>(w, x, bpr, out, s) }
            }
        }
    )+};
}

gemm_q32_entries! {
    q4_0_q8_0: Q4_0, BlockQ4_0, BlockQ8_0;
    q4_1_q8_1: Q4_1, BlockQ4_1, BlockQ8_1;
    q5_0_q8_0: Q5_0, BlockQ5_0, BlockQ8_0;
    q8_0_q8_0: Q8_0, BlockQ8_0, BlockQ8_0;
}
