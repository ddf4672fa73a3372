//! Runtime feature detection on x86_64 via `is_x86_feature_detected!` (CPUID + XGETBV, so
//! AVX state that the OS does not save is reported as absent).
use crate::cpu::CpuFeatures;

/// The running CPU's features.
pub fn detect() -> CpuFeatures {
    let mut f = CpuFeatures::none();
    f.avx2 = std::is_x86_feature_detected!("avx2");
    f.fma = std::is_x86_feature_detected!("fma");
    f.f16c = std::is_x86_feature_detected!("f16c");
    f.avx512f = std::is_x86_feature_detected!("avx512f");
    f.avx512bw = std::is_x86_feature_detected!("avx512bw");
    f.avx512vl = std::is_x86_feature_detected!("avx512vl");
    f.avx512vnni = std::is_x86_feature_detected!("avx512vnni");
    f.avxvnni = std::is_x86_feature_detected!("avxvnni");
    f
}
