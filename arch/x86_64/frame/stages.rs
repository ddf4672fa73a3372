//! The frame's [`Tile`] and [`Stages`] implementations: the 256-bit tiles and the dedicated
//! row-group and per-column-table kernels that the x86 tiers share. Each is a thin forward to
//! its kernel; which one runs for which call is the tier's `gemm_path` table, not decided here.

use super::common::ByteDot;
use super::driver::{RowGroups, Stages, Tile};
use super::k_pairs::{tile_pairs, KPairs};
use super::k_quads::{gemm_k4, K4Block};
use super::kformat::KFormat;
use super::q32::Q32Pair;
use super::q32_octets::OctetPair;
use super::q32_table::TablePair;
use super::q6k_quads::gemm_q6_k;
use crate::quant::{BlockQ4K, BlockQ6K, BlockQ8K};
use core::marker::PhantomData;

/// The 256-bit tiles of a 32-element format pair ([`super::q32::tile`]).
pub(in crate::arch::x86_64) struct Q32Tile<P>(PhantomData<P>);

impl<P: Q32Pair> Tile for Q32Tile<P> {
    type W = P::W;
    type X = P::X;
    #[inline(always)]
    unsafe fn tile<const R: usize, const C: usize>(
        w: [*const P::W; R],
        x: [*const P::X; C],
        nb: usize,
    ) -> [[f32; C]; R] {
        // SAFETY: forwarded caller contract.
        unsafe { super::q32::tile::<P, R, C>(w, x, nb) }
    }
}

/// The tiles of a K format `F` ([`super::kformat::tile`]; `F`'s integer parts may be 256- or
/// 512-bit).
pub(in crate::arch::x86_64) struct KTile<F>(PhantomData<F>);

impl<F: KFormat> Tile for KTile<F> {
    type W = F::W;
    type X = BlockQ8K;
    #[inline(always)]
    unsafe fn tile<const R: usize, const C: usize>(
        w: [*const F::W; R],
        x: [*const BlockQ8K; C],
        nb: usize,
    ) -> [[f32; C]; R] {
        // SAFETY: forwarded caller contract.
        unsafe { super::kformat::tile::<F, R, C>(w, x, nb) }
    }
}

/// The tiles of a K format `F` whose one-column tile takes super-blocks in pairs
/// ([`tile_pairs`]: one shared reduction per pair).
pub(in crate::arch::x86_64) struct KPairTile<F>(PhantomData<F>);

impl<F: KPairs> Tile for KPairTile<F> {
    type W = F::W;
    type X = BlockQ8K;
    #[inline(always)]
    unsafe fn tile<const R: usize, const C: usize>(
        w: [*const F::W; R],
        x: [*const BlockQ8K; C],
        nb: usize,
    ) -> [[f32; C]; R] {
        if C == 1 {
            // SAFETY: forwarded caller contract; `C == 1`, so `x[0]` exists.
            let v = unsafe { tile_pairs::<F, R>(w, x[0], nb) };
            let mut out = [[0.0f32; C]; R];
            for (o, &s) in out.iter_mut().zip(v.iter()) {
                o[0] = s;
            }
            return out;
        }
        // SAFETY: forwarded caller contract.
        unsafe { super::kformat::tile::<F, R, C>(w, x, nb) }
    }
}

/// Q4_0 / Q4_1 / Q5_0: the per-column-table kernels of [`super::q32_table`] (one column, and
/// panels for several).
pub(in crate::arch::x86_64) struct Q32Tables<P>(PhantomData<P>);

impl<P: TablePair> Stages for Q32Tables<P> {
    type W = P::W;
    type X = P::X;
    #[inline(always)]
    unsafe fn column_table(
        w: *const P::W,
        x: *const P::X,
        bpr: usize,
        rows: usize,
        out: &mut [f32],
    ) -> bool {
        // SAFETY: forwarded caller contract.
        unsafe { super::q32_table::decode::<P>(w, x, bpr, rows, out) }
    }
    #[inline(always)]
    unsafe fn row_groups(
        _: RowGroups,
        _: *const P::W,
        _: *const P::X,
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
        w: *const P::W,
        x: *const P::X,
        bpr: usize,
        rows: usize,
        cols: usize,
        out: &mut [f32],
        stride: usize,
    ) -> bool {
        // SAFETY: forwarded caller contract.
        unsafe { super::q32_table::gemm::<P, 4>(w, x, bpr, rows, cols, out, stride) }
    }
}

/// Q4_0 / Q4_1: [`Q32Tables`] plus the row octets of [`super::q32_octets`], whose byte
/// products use `D` (`maddubs` in the AVX2 tier, `vpdpbusd` in the VNNI tiers).
pub(in crate::arch::x86_64) struct Q32Octets<P, D>(PhantomData<(P, D)>);

impl<P: OctetPair, D: ByteDot> Stages for Q32Octets<P, D> {
    type W = P::W;
    type X = P::X;
    #[inline(always)]
    unsafe fn column_table(
        w: *const P::W,
        x: *const P::X,
        bpr: usize,
        rows: usize,
        out: &mut [f32],
    ) -> bool {
        // SAFETY: forwarded caller contract.
        unsafe { Q32Tables::<P>::column_table(w, x, bpr, rows, out) }
    }
    #[inline(always)]
    unsafe fn row_groups(
        groups: RowGroups,
        w: *const P::W,
        x: *const P::X,
        bpr: usize,
        rows: usize,
        cols: usize,
        out: &mut [f32],
        stride: usize,
    ) -> usize {
        match groups {
            // SAFETY: forwarded caller contract.
            RowGroups::Octets => unsafe {
                super::q32_octets::gemm::<P, D>(w, x, bpr, rows, cols, out, stride)
            },
            _ => 0,
        }
    }
    #[inline(always)]
    unsafe fn table_panels(
        w: *const P::W,
        x: *const P::X,
        bpr: usize,
        rows: usize,
        cols: usize,
        out: &mut [f32],
        stride: usize,
    ) -> bool {
        // SAFETY: forwarded caller contract.
        unsafe { Q32Tables::<P>::table_panels(w, x, bpr, rows, cols, out, stride) }
    }
}

/// Q4_K / Q5_K (block `B`): the row quads of [`super::k_quads`].
pub(in crate::arch::x86_64) struct K4Quads<B>(PhantomData<B>);

/// Q4_K: [`K4Quads`] plus the per-column table of [`super::k4_table`].
pub(in crate::arch::x86_64) struct Q4KStages;

/// Q6_K: the row quads of [`super::q6k_quads`].
pub(in crate::arch::x86_64) struct Q6KStages;

impl<B: K4Block> Stages for K4Quads<B> {
    type W = B;
    type X = BlockQ8K;
    #[inline(always)]
    unsafe fn column_table(
        _: *const B,
        _: *const BlockQ8K,
        _: usize,
        _: usize,
        _: &mut [f32],
    ) -> bool {
        false
    }
    #[inline(always)]
    unsafe fn row_groups(
        groups: RowGroups,
        w: *const B,
        x: *const BlockQ8K,
        bpr: usize,
        rows: usize,
        cols: usize,
        out: &mut [f32],
        stride: usize,
    ) -> usize {
        match groups {
            // SAFETY: forwarded caller contract.
            RowGroups::Quads => unsafe { gemm_k4::<B>(w, x, bpr, rows, cols, out, stride) },
            _ => 0,
        }
    }
    #[inline(always)]
    unsafe fn table_panels(
        _: *const B,
        _: *const BlockQ8K,
        _: usize,
        _: usize,
        _: usize,
        _: &mut [f32],
        _: usize,
    ) -> bool {
        false
    }
}

impl Stages for Q4KStages {
    type W = BlockQ4K;
    type X = BlockQ8K;
    #[inline(always)]
    unsafe fn column_table(
        w: *const BlockQ4K,
        x: *const BlockQ8K,
        bpr: usize,
        rows: usize,
        out: &mut [f32],
    ) -> bool {
        // SAFETY: forwarded caller contract.
        unsafe { super::k4_table::decode_q4_k(w, x, bpr, rows, out) }
    }
    #[inline(always)]
    unsafe fn row_groups(
        groups: RowGroups,
        w: *const BlockQ4K,
        x: *const BlockQ8K,
        bpr: usize,
        rows: usize,
        cols: usize,
        out: &mut [f32],
        stride: usize,
    ) -> usize {
        // SAFETY: forwarded caller contract.
        unsafe { K4Quads::<BlockQ4K>::row_groups(groups, w, x, bpr, rows, cols, out, stride) }
    }
    #[inline(always)]
    unsafe fn table_panels(
        _: *const BlockQ4K,
        _: *const BlockQ8K,
        _: usize,
        _: usize,
        _: usize,
        _: &mut [f32],
        _: usize,
    ) -> bool {
        false
    }
}

impl Stages for Q6KStages {
    type W = BlockQ6K;
    type X = BlockQ8K;
    #[inline(always)]
    unsafe fn column_table(
        _: *const BlockQ6K,
        _: *const BlockQ8K,
        _: usize,
        _: usize,
        _: &mut [f32],
    ) -> bool {
        false
    }
    #[inline(always)]
    unsafe fn row_groups(
        groups: RowGroups,
        w: *const BlockQ6K,
        x: *const BlockQ8K,
        bpr: usize,
        rows: usize,
        cols: usize,
        out: &mut [f32],
        stride: usize,
    ) -> usize {
        match groups {
            // SAFETY: forwarded caller contract.
            RowGroups::Quads => unsafe { gemm_q6_k(w, x, bpr, rows, cols, out, stride) },
            _ => 0,
        }
    }
    #[inline(always)]
    unsafe fn table_panels(
        _: *const BlockQ6K,
        _: *const BlockQ8K,
        _: usize,
        _: usize,
        _: usize,
        _: &mut [f32],
        _: usize,
    ) -> bool {
        false
    }
}
