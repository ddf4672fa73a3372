//! Architecture-specific code: CPU feature detection now, hand-written SIMD tiers as they land.
//!
//! One folder per architecture, mounted here by `cfg(target_arch)` only; the dispatch table in
//! [`crate::kernels::Kernels`] picks among the tiers at run time.

#[cfg(target_arch = "aarch64")]
pub mod aarch64;
#[cfg(target_arch = "x86_64")]
pub mod x86_64;

/// Detects the running CPU's features (`std` only: uses the std detection macros).
#[cfg(feature = "std")]
pub fn detect() -> crate::cpu::CpuFeatures {
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
        crate::cpu::CpuFeatures::from_target_features()
    }
}
