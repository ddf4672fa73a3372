//! Runtime feature detection on x86_64 via `is_x86_feature_detected!` (CPUID + XGETBV, so
//! AVX state that the OS does not save is reported as absent).
use crate::cpu::{CpuFeatures, Feature};

/// The running CPU's features.
pub fn detect() -> CpuFeatures {
    let found = [
        (Feature::Avx2, std::is_x86_feature_detected!("avx2")),
        (Feature::Fma, std::is_x86_feature_detected!("fma")),
        (Feature::F16c, std::is_x86_feature_detected!("f16c")),
        (Feature::Avx512f, std::is_x86_feature_detected!("avx512f")),
        (Feature::Avx512bw, std::is_x86_feature_detected!("avx512bw")),
        (Feature::Avx512vl, std::is_x86_feature_detected!("avx512vl")),
        (
            Feature::Avx512vnni,
            std::is_x86_feature_detected!("avx512vnni"),
        ),
        (Feature::AvxVnni, std::is_x86_feature_detected!("avxvnni")),
    ];
    found
        .into_iter()
        .filter(|&(_, present)| present)
        // SAFETY: each feature was just detected on this CPU (with OS support, per the macro).
        .fold(CpuFeatures::none(), |f, (feature, _)| unsafe {
            f.with(feature)
        })
}
