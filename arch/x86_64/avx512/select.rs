//! The AVX-512 tier's path table: which kernels a gemm call runs, from the weight format, the
//! number of activation columns and the row length in blocks. The gemm entries
//! ([`super::gemm`]) ask [`gemm_path`] and the frame's driver runs the answer.
//!
//! Why each choice is the one it is: `docs/performance.md` (per-tier design notes) and
//! `docs/avx512.md`:
//!
//! - Q4_0 / Q4_1, several columns (prefill): groups of sixteen rows
//!   ([`super::q32_sixteens`]: the frame's row octets widened to 512-bit `vpdpbusd`), then one
//!   group of eight (the frame's octets with the EVEX 256-bit `vpdpbusd`) for the rows left.
//!   Both beat this tier's VNNI tiles in 32-row panels.
//! - Q4_0 / Q4_1 / Q5_0, rows that fit the per-column tables (at most 20480 elements): one
//!   column (decode) and the rows the groups leave (and Q5_0's 32-row panels) run the frame's
//!   256-bit per-column-table kernels, compiled here with this tier's features: they stream and
//!   prefill faster than this tier's VNNI tiles, and a VNNI decode with a longer prefetch
//!   distance lost on several threads.
//! - Longer rows, Q8_0, and the leftovers: this tier's VNNI tiles.
//! - K formats: this tier's 512-bit integer parts in the frame's tile loop, which stream closer
//!   to the bandwidth than the 256-bit ones (so no Q4_K column table here). For several
//!   columns, Q4_K and Q5_K take the frame's 256-bit row quads, faster than this tier's tiles;
//!   Q6_K keeps this tier's tiles, which beat the quads there.

use crate::arch::x86_64::frame::driver::{Format, GemmPath, Rest, RowGroups};
use crate::arch::x86_64::frame::q32_table;

/// The path of a gemm of `format` weights with `cols` activation columns of `bpr` blocks.
#[inline(always)]
pub(super) fn gemm_path(format: Format, cols: usize, bpr: usize) -> GemmPath {
    use Format::*;
    use GemmPath::{ColumnTable, Columns, Tiles};
    let q32_table = q32_table::fits(bpr);
    let q32_rest = if q32_table {
        Rest::TablePanels
    } else {
        Rest::TilePanels
    };
    match (format, cols) {
        (Q4_0 | Q4_1 | Q5_0, 1) if q32_table => ColumnTable,
        (_, 1) => Tiles,
        (Q4_0 | Q4_1, _) => Columns {
            groups: RowGroups::SixteensThenOctets,
            rest: q32_rest,
        },
        (Q5_0, _) if q32_table => Columns {
            groups: RowGroups::None,
            rest: Rest::TablePanels,
        },
        (Q4K | Q5K, _) => Columns {
            groups: RowGroups::Quads,
            rest: Rest::TilePanels,
        },
        (Q5_0 | Q8_0 | Q6K | F16 | F32, _) => Tiles,
    }
}

#[cfg(test)]
mod tests {
    use super::gemm_path;
    use crate::arch::x86_64::frame::driver::{Format, GemmPath, Rest, RowGroups};

    #[test]
    fn table_rows() {
        use Format::*;
        assert_eq!(gemm_path(Q4_0, 1, 640), GemmPath::ColumnTable);
        assert_eq!(gemm_path(Q4_0, 1, 641), GemmPath::Tiles);
        assert_eq!(
            gemm_path(Q4_1, 64, 96),
            GemmPath::Columns {
                groups: RowGroups::SixteensThenOctets,
                rest: Rest::TablePanels
            }
        );
        assert_eq!(
            gemm_path(Q4_0, 64, 641),
            GemmPath::Columns {
                groups: RowGroups::SixteensThenOctets,
                rest: Rest::TilePanels
            }
        );
        assert_eq!(
            gemm_path(Q5_0, 2, 96),
            GemmPath::Columns {
                groups: RowGroups::None,
                rest: Rest::TablePanels
            }
        );
        // No Q4_K column table on this tier: its 512-bit tiles stream the rows.
        assert_eq!(gemm_path(Q4K, 1, 12), GemmPath::Tiles);
        assert_eq!(
            gemm_path(Q5K, 64, 12),
            GemmPath::Columns {
                groups: RowGroups::Quads,
                rest: Rest::TilePanels
            }
        );
        assert_eq!(gemm_path(Q6K, 64, 12), GemmPath::Tiles);
        assert_eq!(gemm_path(Q8_0, 64, 96), GemmPath::Tiles);
    }
}
