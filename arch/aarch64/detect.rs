//! Runtime feature detection on aarch64 via `is_aarch64_feature_detected!` (HWCAP on Linux).
use crate::cpu::CpuFeatures;

/// The running CPU's features.
pub fn detect() -> CpuFeatures {
    let mut f = CpuFeatures::none();
    f.neon = std::arch::is_aarch64_feature_detected!("neon");
    f.dotprod = std::arch::is_aarch64_feature_detected!("dotprod");
    f.i8mm = std::arch::is_aarch64_feature_detected!("i8mm");
    f.fp16 = std::arch::is_aarch64_feature_detected!("fp16");
    f.sve = std::arch::is_aarch64_feature_detected!("sve");
    f.sve2 = std::arch::is_aarch64_feature_detected!("sve2");
    f
}
