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

#[cfg(test)]
mod tests {
    use super::gemm_path;
    use crate::arch::x86_64::frame::driver::{Format, GemmPath, Rest, RowGroups};

    const ALL: [Format; 9] = [
        Format::Q4_0,
        Format::Q4_1,
        Format::Q5_0,
        Format::Q8_0,
        Format::Q4K,
        Format::Q5K,
        Format::Q6K,
        Format::F16,
        Format::F32,
    ];

    #[test]
    fn table_rows() {
        use Format::*;
        let octets = |rest| GemmPath::Columns {
            groups: RowGroups::Octets,
            rest,
        };
        assert_eq!(gemm_path(Q4_0, 1, 640), GemmPath::ColumnTable);
        assert_eq!(gemm_path(Q4_0, 1, 641), GemmPath::Tiles);
        assert_eq!(gemm_path(Q4_1, 64, 96), octets(Rest::TablePanels));
        assert_eq!(gemm_path(Q4_1, 64, 641), octets(Rest::TilePanels));
        assert_eq!(
            gemm_path(Q5_0, 2, 96),
            GemmPath::Columns {
                groups: RowGroups::None,
                rest: Rest::TablePanels
            }
        );
        assert_eq!(gemm_path(Q5_0, 2, 641), GemmPath::Tiles);
        assert_eq!(gemm_path(Q4K, 1, 81), GemmPath::ColumnTable);
        assert_eq!(gemm_path(Q4K, 1, 82), GemmPath::Tiles);
        assert_eq!(gemm_path(Q5K, 1, 12), GemmPath::Tiles);
        assert_eq!(
            gemm_path(Q6K, 3, 12),
            GemmPath::Columns {
                groups: RowGroups::Quads,
                rest: Rest::TilePanels
            }
        );
        assert_eq!(gemm_path(Q8_0, 64, 96), GemmPath::Tiles);
    }

    /// The entries' `Stages` types have only the kernels below: the table never asks for
    /// another (the driver would fall back to tiles, or do nothing for a row group).
    #[test]
    fn paths_use_only_kernels_the_format_has() {
        for format in ALL {
            for cols in [1, 2, 7, 64] {
                for bpr in [1, 8, 96, 640, 641, 2000] {
                    match gemm_path(format, cols, bpr) {
                        GemmPath::Tiles => {}
                        GemmPath::ColumnTable => assert!(matches!(
                            format,
                            Format::Q4_0 | Format::Q4_1 | Format::Q5_0 | Format::Q4K
                        )),
                        GemmPath::Columns { groups, rest } => {
                            assert!(cols > 1);
                            match groups {
                                RowGroups::None => {}
                                RowGroups::Octets => {
                                    assert!(matches!(format, Format::Q4_0 | Format::Q4_1))
                                }
                                RowGroups::Quads => assert!(matches!(
                                    format,
                                    Format::Q4K | Format::Q5K | Format::Q6K
                                )),
                                RowGroups::SixteensThenOctets => panic!("AVX-512 only"),
                            }
                            if rest == Rest::TablePanels {
                                assert!(matches!(
                                    format,
                                    Format::Q4_0 | Format::Q4_1 | Format::Q5_0
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
}
