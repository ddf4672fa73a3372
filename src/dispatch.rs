//! Tier selection: which [`Kernels`] table runs on this CPU.
//!
//! [`Kernels::for_tier`] builds a named tier's table (`None` when it cannot run here — tests use
//! this to cover every tier, and fail when a tier that `PHI3_REQUIRE_TIERS` names is missing),
//! [`Kernels::best`] the best tier some [`CpuFeatures`] support, [`Kernels::detect`] the best for
//! the running CPU. The table type and the scalar tier live in [`crate::kernels`], the SIMD
//! tiers' constructors in [`crate::arch`]; this module is the one place that names both.
//!
//! ```
//! use phi3_kernels::cpu::{CpuFeatures, Tier};
//! use phi3_kernels::kernels::Kernels;
//!
//! let k = Kernels::for_tier(Tier::Scalar, &CpuFeatures::none()).unwrap();
//! assert_eq!(k.tier, Tier::Scalar);
//! let best = Kernels::detect();
//! assert!(CpuFeatures::detect().supports(best.tier));
//! ```

use crate::cpu::{CpuFeatures, Tier};
use crate::kernels::Kernels;

impl Kernels {
    /// The kernels of `tier`, or `None` when `features` cannot run it or it is not compiled
    /// into this build.
    pub fn for_tier(tier: Tier, features: &CpuFeatures) -> Option<Self> {
        if !features.supports(tier) {
            return None;
        }
        match tier {
            Tier::Scalar => Some(Self::scalar()),
            // SAFETY: `features.supports(Tier::Avx2)` checked AVX2 + FMA + F16C just above, and
            // features can only claim what the CPU has (`CpuFeatures::with` is unsafe).
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Tier::Avx2 => Some(unsafe { crate::arch::x86_64::avx2::kernels() }),
            // SAFETY: `features.supports(Tier::AvxVnni)` checked AVX2 + FMA + F16C and AVX-VNNI
            // just above.
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Tier::AvxVnni => Some(unsafe { crate::arch::x86_64::avxvnni::kernels() }),
            // SAFETY: `features.supports(Tier::Avx512)` checked AVX2 + FMA + F16C and AVX-512
            // F/BW/VL/VNNI just above.
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Tier::Avx512 => Some(unsafe { crate::arch::x86_64::avx512::kernels() }),
            #[cfg(target_arch = "aarch64")]
            Tier::Neon | Tier::NeonDotprod | Tier::NeonI8mm => {
                // SAFETY: `features.supports(tier)` checked the tier's features just above.
                Some(unsafe { crate::arch::aarch64::neon::kernels(tier) })
            }
            // SAFETY: `features.supports(Tier::Sve)` checked NEON + SVE just above, and
            // features can only claim what the CPU has.
            #[cfg(target_arch = "aarch64")]
            Tier::Sve => Some(unsafe { crate::arch::aarch64::sve::kernels(features) }),
            _ => None,
        }
    }

    /// The best tier `features` support.
    pub fn best(features: &CpuFeatures) -> Self {
        Self::for_tier(features.best_tier(), features).unwrap_or_else(Self::scalar)
    }

    /// The best tier for the running CPU ([`CpuFeatures::detect`]).
    pub fn detect() -> Self {
        Self::best(&CpuFeatures::detect())
    }
}

impl Default for Kernels {
    fn default() -> Self {
        Self::detect()
    }
}
