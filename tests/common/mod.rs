//! Shared test support: which kernel tiers to exercise.
#![allow(dead_code)]

use phi3_kernels::cpu::{check_required_tiers, CpuFeatures, Tier};
use phi3_kernels::kernels::Kernels;

/// The environment variable that names tiers a run must cover (comma-separated).
pub const REQUIRE_TIERS_VAR: &str = "PHI3_REQUIRE_TIERS";

/// Every tier available here, as (tier, kernels). Panics — failing the test — when
/// `PHI3_REQUIRE_TIERS` names a tier that is unknown or unavailable, so a qemu job meant to test
/// SVE can never pass by testing only scalar code.
pub fn tiers_under_test() -> Vec<(Tier, Kernels)> {
    let features = CpuFeatures::detect();
    let required = std::env::var(REQUIRE_TIERS_VAR).unwrap_or_default();
    if let Err(e) = check_required_tiers(&required, &features) {
        panic!("{REQUIRE_TIERS_VAR}={required:?}: {e}; detected features: {features:?}");
    }
    Tier::ALL
        .into_iter()
        .filter_map(|t| Kernels::for_tier(t, &features).map(|k| (t, k)))
        .collect()
}

/// Every available tier except the scalar reference (what a SIMD-vs-scalar test compares).
pub fn simd_tiers_under_test() -> Vec<(Tier, Kernels)> {
    tiers_under_test()
        .into_iter()
        .filter(|(t, _)| *t != Tier::Scalar)
        .collect()
}
