//! The AVX2 + FMA + F16C tier.
//!
//! Every kernel here has the signature of its scalar reference in [`crate::kernels`] /
//! [`crate::quant`]. The public-in-crate entry points are safe `fn`s (so they fit the
//! [`Kernels`] table) that call `#[target_feature]` bodies; their soundness rests on
//! [`kernels`] being reachable only through [`Kernels::for_tier`], which checks the CPU
//! features first.

use crate::cpu::Tier;
use crate::kernels::Kernels;

/// The AVX2 kernel table: scalar entries replaced by AVX2 ones as they are implemented.
///
/// # Safety
/// The CPU must implement AVX2, FMA and F16C (checked by [`Kernels::for_tier`]).
pub(crate) unsafe fn kernels() -> Kernels {
    Kernels {
        tier: Tier::Avx2,
        ..Kernels::scalar()
    }
}
