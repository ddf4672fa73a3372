//! Runtime feature detection on aarch64 via `is_aarch64_feature_detected!` (HWCAP on Linux).
use crate::cpu::{CpuFeatures, Feature};

/// The running CPU's features.
pub fn detect() -> CpuFeatures {
    let found = [
        (
            Feature::Neon,
            std::arch::is_aarch64_feature_detected!("neon"),
        ),
        (
            Feature::Dotprod,
            std::arch::is_aarch64_feature_detected!("dotprod"),
        ),
        (
            Feature::I8mm,
            std::arch::is_aarch64_feature_detected!("i8mm"),
        ),
        (
            Feature::Fp16,
            std::arch::is_aarch64_feature_detected!("fp16"),
        ),
        (Feature::Sve, std::arch::is_aarch64_feature_detected!("sve")),
        (
            Feature::Sve2,
            std::arch::is_aarch64_feature_detected!("sve2"),
        ),
    ];
    found
        .into_iter()
        .filter(|&(_, present)| present)
        // SAFETY: each feature was just detected on this CPU by the kernel's HWCAP report.
        .fold(CpuFeatures::none(), |f, (feature, _)| unsafe {
            f.with(feature)
        })
}
