//! Architecture-specific code: CPU feature detection now, hand-written SIMD tiers as they land.
//!
//! One folder per architecture, mounted here by `cfg(target_arch)` only; [`crate::dispatch`]
//! picks among the tiers at run time. The run-time side of [`CpuFeatures`] (`detect`, and
//! `from_id_registers` on aarch64) is implemented here, next to the detection code, so that
//! [`crate::cpu`] names nothing above it.

use crate::cpu::CpuFeatures;

#[cfg(target_arch = "aarch64")]
pub mod aarch64;
#[cfg(target_arch = "x86_64")]
pub mod x86_64;

#[cfg(test)]
#[allow(dead_code)] // (each architecture's tests use part of it)
pub(crate) mod test_util;

impl CpuFeatures {
    /// The features of the CPU this runs on, detected at run time (`std` only). Under Miri,
    /// [`CpuFeatures::none`] (Miri cannot run SIMD intrinsics).
    #[cfg(feature = "std")]
    pub fn detect() -> Self {
        if cfg!(miri) {
            return Self::none();
        }
        detect_running()
    }

    /// The best features known without `std`: compile-time target features. On aarch64,
    /// firmware that runs at EL1 or higher learns the CPU's real features (a Cortex-A76's
    /// dotprod, a Neoverse V1's i8mm and SVE) from `CpuFeatures::from_id_registers`.
    #[cfg(not(feature = "std"))]
    pub const fn detect() -> Self {
        Self::from_target_features()
    }
}

/// Detects the running CPU's features (`std` only: uses the std detection macros).
#[cfg(feature = "std")]
fn detect_running() -> CpuFeatures {
    #[cfg(target_arch = "x86_64")]
    {
        x86_64::detect::detect()
    }
    #[cfg(target_arch = "aarch64")]
    {
        aarch64::detect::detect()
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        CpuFeatures::from_target_features()
    }
}
