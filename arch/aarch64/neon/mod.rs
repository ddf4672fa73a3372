//! The NEON tiers: baseline Advanced SIMD, + dotprod (`sdot`), + i8mm (`smmla`).
//!
//! Every kernel here has the signature of its scalar reference in [`crate::kernels`] /
//! [`crate::quant`]. Entry points are safe `fn`s (so they fit the [`Kernels`] table) that call
//! `#[target_feature]` bodies; their soundness rests on [`kernels`] being reachable only through
//! [`Kernels::for_tier`], which checks the CPU features first.

use crate::cpu::Tier;
use crate::kernels::Kernels;

/// The kernel table of `tier` (one of `Neon`, `NeonDotprod`, `NeonI8mm`): scalar entries
/// replaced by NEON ones as they are implemented.
///
/// # Safety
/// The CPU must implement the features of `tier` (checked by [`Kernels::for_tier`]).
pub(crate) unsafe fn kernels(tier: Tier) -> Kernels {
    Kernels {
        tier,
        ..Kernels::scalar()
    }
}
