//! The AVX-VNNI tier: AVX2 + FMA + F16C + AVX-VNNI, for CPUs with the 256-bit VEX `vpdpbusd`
//! and no AVX-512 (Intel clients from Alder Lake on).
//!
//! Every kernel is the AVX2 tier's ([`super::avx2`]: its table is this tier's base), except the
//! multi-column products (prefill) of Q4_0 and Q4_1: their row octets
//! (`frame/q32_octets.rs`) sum each block's
//! eight 4-byte products with `vpdpbusd` straight into `i32` (two chains per column, even and
//! odd steps) instead of `maddubs`, seven `i16` adds and a `madd` with ones. The integer block
//! sums are exact either way, so every output is bit for bit the AVX2 tier's and the scalar
//! reference's; the one-column decode path is the AVX2 tier's (memory-bound, and its paired
//! block-sum tree gains nothing from `vpdpbusd`).
//!
//! The public-in-crate entry points are safe `fn`s calling
//! `#[target_feature(enable = "avx2,fma,f16c,avxvnni")]` bodies; their soundness rests on
//! `kernels()` being reachable only through [`Kernels::for_tier`], which checks those features
//! first.
//!
//! This project's development machine has no AVX-VNNI and QEMU 7.2 does not emulate
//! it: the tier is tested on a borrowed machine (`scripts/avx512-check`, which requires this
//! tier too). Here, the unit tests of `frame::q32_octets` run the same `i32`
//! accumulation with an AVX2 stand-in for `vpdpbusd`.

use super::frame::common::ByteDot;
use super::frame::driver::{gemm, Format, GemmPath, Rest, RowGroups};
use super::frame::q32::{Q4_0Q8_0, Q4_1Q8_1};
use super::frame::q32_table;
use super::frame::stages::{Q32Octets, Q32Tile};
use crate::cpu::Tier;
use crate::kernels::Kernels;
use crate::quant::{BlockQ4_0, BlockQ4_1, BlockQ8_0, BlockQ8_1};
use core::arch::x86_64::*;

/// AVX-VNNI: the VEX-encoded 256-bit `vpdpbusd` (Alder Lake and later clients, Sapphire Rapids
/// and later servers, Zen 5).
struct VexVnni;

impl ByteDot for VexVnni {
    const FUSED: bool = true;
    #[inline(always)]
    unsafe fn dpbusd(acc: __m256i, u: __m256i, s: __m256i) -> __m256i {
        // SAFETY: AVX-VNNI (caller contract: the AVX-VNNI tier's functions enable it);
        // register-only.
        unsafe { _mm256_dpbusd_avx_epi32(acc, u, s) }
    }
}

/// The path of a gemm of `format` weights with `cols` activation columns of `bpr` blocks, for
/// the two entries this tier replaces (Q4_0, Q4_1): the AVX2 tier's table for them, with the
/// row octets' byte products in `vpdpbusd` ([`VexVnni`]). Every other format's entry is the
/// AVX2 tier's, with its own `gemm_path`.
#[inline(always)]
fn gemm_path(format: Format, cols: usize, bpr: usize) -> GemmPath {
    let q32_table = q32_table::fits(bpr);
    match (format, cols) {
        (Format::Q4_0 | Format::Q4_1, 1) if q32_table => GemmPath::ColumnTable,
        (_, 1) => GemmPath::Tiles,
        (Format::Q4_0 | Format::Q4_1, _) => GemmPath::Columns {
            groups: RowGroups::Octets,
            rest: if q32_table {
                Rest::TablePanels
            } else {
                Rest::TilePanels
            },
        },
        _ => GemmPath::Tiles,
    }
}

macro_rules! vnni_gemm {
    ($($name:ident, $body:ident: $format:ident, $pair:ty, $w:ty, $x:ty;)+) => {$(
        /// # Safety
        /// The CPU must support AVX2, FMA, F16C and AVX-VNNI.
        #[target_feature(enable = "avx2,fma,f16c,avxvnni")]
        unsafe fn $body(w: &[$w], x: &[$x], bpr: usize, out: &mut [f32], stride: usize) {
            let path = gemm_path(Format::$format, x.len().checked_div(bpr).unwrap_or(0), bpr);
            // SAFETY: the features are enabled in this function (the driver needs AVX2 + FMA +
            // F16C, the row octets' `vpdpbusd` AVX-VNNI). Tile sizes as the AVX2 tier's.
            unsafe { gemm::<Q32Tile<$pair>, Q32Octets<$pair, VexVnni>, 1, 1, 4>(path, w, x, bpr, out, stride) }
        }

        #[doc = concat!("AVX-VNNI [`crate::kernels::gemm::", stringify!($name), "`] (module docs).")]
        pub(crate) fn $name(w: &[$w], x: &[$x], bpr: usize, out: &mut [f32], stride: usize) {
            // SAFETY: reachable only through `avxvnni::kernels()` (CPU features checked).
            unsafe { $body(w, x, bpr, out, stride) }
        }
    )+};
}

vnni_gemm! {
    gemm_q4_0_q8_0, gemm_q4_0_q8_0_body: Q4_0, Q4_0Q8_0, BlockQ4_0, BlockQ8_0;
    gemm_q4_1_q8_1, gemm_q4_1_q8_1_body: Q4_1, Q4_1Q8_1, BlockQ4_1, BlockQ8_1;
}

/// The AVX-VNNI kernel table: the AVX2 tier's, with the `vpdpbusd` Q4_0 / Q4_1 gemms.
///
/// # Safety
/// The CPU must implement AVX2, FMA, F16C and AVX-VNNI (checked by [`Kernels::for_tier`]).
pub(crate) unsafe fn kernels() -> Kernels {
    Kernels {
        tier: Tier::AvxVnni,
        gemm_q4_0_q8_0,
        gemm_q4_1_q8_1,
        // SAFETY: AVX2 + FMA + F16C are part of this tier's features (caller contract).
        ..unsafe { super::avx2::kernels() }
    }
}
