//! The AVX2 tier's path table: which kernels a gemm call runs, from the weight format, the
//! number of activation columns and the row length in blocks. The gemm entries
//! ([`super::gemm`]) ask [`gemm_path`] and the frame's driver runs the answer.
//!
//! Why these paths: one column (decode) is bound by the weight stream, and the per-column
//! tables ([`crate::arch::x86_64::frame::q32_table`], [`crate::arch::x86_64::frame::k4_table`])
//! take the activation work out of the row loop; several columns (prefill) are bound by the
//! integer products, and the row groups (octets for Q4_0/Q4_1, quads for the K formats) share
//! each instruction between rows. Rows longer than a table holds fall back to the tiles.

use crate::arch::x86_64::frame::driver::{Format, GemmPath, Rest, RowGroups};
use crate::arch::x86_64::frame::{k4_table, q32_table};

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
        (Q4K, 1) if k4_table::fits(bpr) => ColumnTable,
        (_, 1) => Tiles,
        (Q4_0 | Q4_1, _) => Columns {
            groups: RowGroups::Octets,
            rest: q32_rest,
        },
        (Q5_0, _) if q32_table => Columns {
            groups: RowGroups::None,
            rest: Rest::TablePanels,
        },
        (Q4K | Q5K | Q6K, _) => Columns {
            groups: RowGroups::Quads,
            rest: Rest::TilePanels,
        },
        (Q5_0 | Q8_0 | F16 | F32, _) => Tiles,
    }
}
