//! The gemm driver shared by the x86 tiers: `out[c · stride + r] = dot(w_r, x_c)` for every
//! weight row `r` and activation column `c` (see [`crate::kernels::gemm`] for the contract),
//! run along the [`GemmPath`] that the tier's `gemm_path` picked.
//!
//! # Why one driver
//!
//! Every tier's gemm entry checks the same shapes, visits rows and columns in the same orders
//! and falls back to the same register tiles; only the instructions inside a tile and the
//! dedicated row-group kernels differ. The driver is generic over both ([`Tile`] and
//! [`Stages`]) and `#[inline(always)]`, so each tier's `#[target_feature]` entry compiles its
//! own copy with its own features.
//!
//! # Math and bit-exactness
//!
//! Every output is computed by the same per-`(row, column)` code as the tier's row dot product
//! (the `R × C` tiles, whose `1 × 1` instance *is* the dot), or by a stage kernel that
//! computes the same per-block integer sums and float terms in the same order; so each value
//! is bit-identical to the tier's `dot` of that row and column, and for the integer formats
//! to the scalar reference's.
//!
//! # Layout and tiling scheme
//!
//! `w` holds `rows = w.len() / bpr` rows and `x` holds `cols = x.len() / bpr` columns of `bpr`
//! blocks.
//!
//! - One column (decode), [`GemmPath::ColumnTable`]: the format's per-column-table kernel
//!   ([`Stages::column_table`]). Otherwise `RD × 1` tiles down the rows, streaming the weights
//!   once: the rows' two halves in step, each in order (two concurrent streams draw more DRAM
//!   bandwidth than one: [`StreamRows`]).
//! - Several columns, [`GemmPath::Columns`]: first the row-group kernels
//!   ([`Stages::row_groups`]: sixteens, octets or quads of rows sharing every instruction),
//!   which do the whole groups; the rows left over run in per-column-table panels
//!   ([`Rest::TablePanels`], [`Stages::table_panels`]) or in tile panels ([`Rest::TilePanels`]).
//! - Tile panels ([`GemmPath::Tiles`] and the rest of the above): row panels of
//!   [`PANEL_ROWS`]; per panel, column tiles of `C` pass over the panel's `R`-row tiles (the
//!   tile's activations stay in L1, the panel's weights in L2). Within a tile each weight block
//!   is unpacked once for `C` columns and each activation block prepared once for `R` rows.
//!   Leftover columns run `R × 1` tiles, leftover rows `1 × C` / `1 × 1` tiles.
//!
//! # Tails and lengths
//!
//! As the scalar reference: `bpr == 0`, no rows or no columns write nothing; trailing blocks
//! that do not make a whole row / column are ignored; columns whose `rows` outputs do not fit
//! in `out` are skipped. If `out_stride < rows` (a contract violation: columns overlap), the
//! columns are computed one after another in increasing order with tiles, whatever the path,
//! so later columns overwrite earlier ones exactly as in the scalar loop. Nothing panics.

use super::common::StreamRows;

/// The weight formats of the gemm table, as the tiers' `gemm_path` tables name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::arch::x86_64) enum Format {
    Q4_0,
    Q4_1,
    Q5_0,
    Q8_0,
    Q4K,
    Q5K,
    Q6K,
    F16,
    F32,
}

/// The kernels one gemm call runs, chosen by the tier's `gemm_path` from the format, the
/// column count and the row length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::arch::x86_64) enum GemmPath {
    /// Register tiles only: `RD × 1` tiles in [`StreamRows`] order for one column, `R × C`
    /// tiles in row panels for several.
    Tiles,
    /// One column through the format's per-column table ([`Stages::column_table`]).
    ColumnTable,
    /// Several columns: the whole row groups first, then the rows left over.
    Columns {
        /// The row-group kernels, in order, each on the rows the previous left.
        groups: RowGroups,
        /// What runs the rows no group took.
        rest: Rest,
    },
}

/// The row-group kernels of a multi-column path ([`Stages::row_groups`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::arch::x86_64) enum RowGroups {
    /// None: every row is left to [`Rest`].
    None,
    /// Q4_0 / Q4_1: eight rows per byte-dot instruction ([`super::q32_octets`]).
    Octets,
    /// Q4_0 / Q4_1 on AVX-512: sixteen rows per 512-bit `vpdpbusd`, then octets.
    SixteensThenOctets,
    /// K formats: four rows per `maddubs` ([`super::k_quads`]).
    Quads,
}

/// What runs the rows of a multi-column path that no row group took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::arch::x86_64) enum Rest {
    /// Q4_0 / Q4_1 / Q5_0 rows that fit the per-column tables: 32-row panels, each 4-column
    /// tile with its table ([`super::q32_table::gemm`]).
    TablePanels,
    /// `R × C` register tiles in row panels.
    TilePanels,
}

/// A register tile kernel: `out[r][c] = dot(w[r][..nb], x[c][..nb])`.
pub(in crate::arch::x86_64) trait Tile {
    /// Weight block.
    type W;
    /// Activation block.
    type X;
    /// Computes one `R × C` tile.
    ///
    /// # Safety
    /// Every `w[r]` / `x[c]` must point to `nb` readable blocks; the CPU must support the
    /// features of the tier that instantiates it.
    unsafe fn tile<const R: usize, const C: usize>(
        w: [*const Self::W; R],
        x: [*const Self::X; C],
        nb: usize,
    ) -> [[f32; C]; R];
}

/// The dedicated kernels of one format in one tier, beside its tiles. The driver calls only
/// those the path names; which exist per format is the tier's `gemm_path` table.
pub(in crate::arch::x86_64) trait Stages {
    /// Weight block.
    type W;
    /// Activation block.
    type X;

    /// [`GemmPath::ColumnTable`]: `out[r] = dot(w_r, x)` for `rows` rows of one column.
    /// Returns `false` (nothing written) if the format has no such kernel or the row is
    /// longer than its table (the driver then runs tiles; `gemm_path` never asks for either).
    ///
    /// # Safety
    /// `w` must point to `rows · bpr` readable blocks, `x` to `bpr`; `out` must hold `rows`
    /// values; the CPU must support the features of the tier that instantiates it.
    unsafe fn column_table(
        w: *const Self::W,
        x: *const Self::X,
        bpr: usize,
        rows: usize,
        out: &mut [f32],
    ) -> bool;

    /// The row groups `groups` of a multi-column product: computes the first `n` rows of
    /// every column and returns `n` (0 for [`RowGroups::None`] and for groups the format does
    /// not have).
    ///
    /// # Safety
    /// `w` must point to `rows · bpr` readable blocks, `x` to `cols · bpr`; `stride >= rows`
    /// and `out` must hold `(cols − 1) · stride + rows` values; the CPU must support the
    /// features of the tier that instantiates it.
    #[allow(clippy::too_many_arguments)]
    unsafe fn row_groups(
        groups: RowGroups,
        w: *const Self::W,
        x: *const Self::X,
        bpr: usize,
        rows: usize,
        cols: usize,
        out: &mut [f32],
        stride: usize,
    ) -> usize;

    /// [`Rest::TablePanels`]: all `rows` rows of the `cols` columns. Returns `false` (nothing
    /// written) if the format has no table or the row is longer than it holds.
    ///
    /// # Safety
    /// As [`Stages::row_groups`].
    unsafe fn table_panels(
        w: *const Self::W,
        x: *const Self::X,
        bpr: usize,
        rows: usize,
        cols: usize,
        out: &mut [f32],
        stride: usize,
    ) -> bool;
}

/// The [`Stages`] of a format that has only tiles.
pub(in crate::arch::x86_64) struct TilesOnly<W, X>(core::marker::PhantomData<(W, X)>);

impl<W, X> Stages for TilesOnly<W, X> {
    type W = W;
    type X = X;
    #[inline(always)]
    unsafe fn column_table(_: *const W, _: *const X, _: usize, _: usize, _: &mut [f32]) -> bool {
        false
    }
    #[inline(always)]
    unsafe fn row_groups(
        _: RowGroups,
        _: *const W,
        _: *const X,
        _: usize,
        _: usize,
        _: usize,
        _: &mut [f32],
        _: usize,
    ) -> usize {
        0
    }
    #[inline(always)]
    unsafe fn table_panels(
        _: *const W,
        _: *const X,
        _: usize,
        _: usize,
        _: usize,
        _: &mut [f32],
        _: usize,
    ) -> bool {
        false
    }
}

/// Runs the rows `r0..rows` of one column range with `R`-row tiles of width `C`, then 1-row
/// tiles, writing `out[(c0 + c) · stride + r]`.
///
/// # Safety
/// Rows `< rows` and columns `c0..c0 + C` must be readable (`bpr` blocks each); the CPU must
/// support `T`'s features.
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

/// The gemm driver (module docs): runs `path` with the tiles `T` (`RD`-row tiles for one
/// column, `R × C` for several) and the stage kernels `S`.
///
/// # Safety
/// The CPU must support the features of the tier whose `T` and `S` these are.
#[inline(always)]
pub(in crate::arch::x86_64) unsafe fn gemm<
    T: Tile,
    S: Stages<W = T::W, X = T::X>,
    const RD: usize,
    const R: usize,
    const C: usize,
>(
    path: GemmPath,
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
        if rows > out.len() {
            return;
        }
        // SAFETY: `rows · bpr` weight blocks, one column of `bpr`, `rows <= out.len()`.
        if path == GemmPath::ColumnTable && unsafe { S::column_table(wp, xp, bpr, rows, out) } {
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
        // `out` shorter than one column: nothing to write (and the stages need
        // `out.len() >= rows`: their row groups index `out` up to `rows`).
        return;
    }
    let mut done = 0;
    if let GemmPath::Columns { groups, rest } = path {
        // SAFETY: `cols_fit` whole columns whose outputs fit `out`; `stride >= rows`; the
        // rows after the groups start `done` rows further in `w` and `out`.
        unsafe {
            done = S::row_groups(groups, wp, xp, bpr, rows, cols_fit, out, stride);
            if rest == Rest::TablePanels
                && done < rows
                && S::table_panels(
                    wp.add(done * bpr),
                    xp,
                    bpr,
                    rows - done,
                    cols_fit,
                    out.get_unchecked_mut(done..),
                    stride,
                )
            {
                return;
            }
        }
    }
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
