//! The SVE tier: vector-length agnostic kernels in `core::arch::asm!` (SVE intrinsics are
//! nightly-only), each loop whole inside one `asm!` block with a `whilelo`-predicated tail.
//!
//! Entry points are safe `fn`s (so they fit the [`Kernels`] table) that call
//! `#[target_feature(enable = "sve")]` bodies; their soundness rests on [`kernels`] being
//! reachable only through [`Kernels::for_tier`], which checks the CPU features first.

use crate::cpu::Tier;
use crate::kernels::Kernels;

/// The SVE kernel table: NEON (dotprod where present) / scalar entries replaced by SVE ones as
/// they are implemented.
///
/// # Safety
/// The CPU must implement NEON and SVE (checked by [`Kernels::for_tier`]).
pub(crate) unsafe fn kernels() -> Kernels {
    Kernels {
        tier: Tier::Sve,
        ..Kernels::scalar()
    }
}
