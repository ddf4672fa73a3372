//! The AVX-VNNI tier: AVX2 + FMA + F16C + AVX-VNNI, for CPUs with the 256-bit VEX `vpdpbusd`
//! and no AVX-512 (Intel clients from Alder Lake on).
//!
//! Every kernel is the AVX2 tier's ([`super::avx2`]), except the multi-column products
//! (prefill) of Q4_0 and Q4_1: their row octets (`avx2::octet_q32`) sum each block's
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
//! tier too). Here, the unit tests of `avx2::octet_q32` run the same `i32`
//! accumulation with an AVX2 stand-in for `vpdpbusd`.

use super::avx2::common::VexVnni;
use super::avx2::dot_q32::{Q4_0Q8_0, Q4_1Q8_1};
use super::avx2::gemm::{gemm, Q32D};
use crate::cpu::Tier;
use crate::kernels::Kernels;
use crate::quant::{BlockQ4_0, BlockQ4_1, BlockQ8_0, BlockQ8_1};

macro_rules! vnni_gemm {
    ($($name:ident, $inner:ident: $tile:ty, $w:ty, $x:ty;)+) => {$(
        #[target_feature(enable = "avx2,fma,f16c,avxvnni")]
        fn $inner(w: &[$w], x: &[$x], bpr: usize, out: &mut [f32], stride: usize) {
            // SAFETY: the features are enabled in this function (the driver needs AVX2 + FMA +
            // F16C, the row octets' `vpdpbusd` AVX-VNNI). Tile sizes as the AVX2 tier's.
            unsafe { gemm::<$tile, 1, 1, 4>(w, x, bpr, out, stride) }
        }

        #[doc = concat!("AVX-VNNI [`crate::kernels::gemm::", stringify!($name), "`] (module docs).")]
        pub(crate) fn $name(w: &[$w], x: &[$x], bpr: usize, out: &mut [f32], stride: usize) {
            // SAFETY: reachable only through `avxvnni::kernels()` (CPU features checked).
            unsafe { $inner(w, x, bpr, out, stride) }
        }
    )+};
}

vnni_gemm! {
    gemm_q4_0_q8_0, gemm_q4_0_q8_0_vnni: Q32D<Q4_0Q8_0, VexVnni>, BlockQ4_0, BlockQ8_0;
    gemm_q4_1_q8_1, gemm_q4_1_q8_1_vnni: Q32D<Q4_1Q8_1, VexVnni>, BlockQ4_1, BlockQ8_1;
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
