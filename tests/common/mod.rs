//! Shared test support: which kernel tiers to exercise, and deterministic test data.
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

/// splitmix64: deterministic test data from a seed. The one generator of the integration
/// tests (the unit tests in `arch/` have the same one in `arch/test_util.rs`); data shaped for
/// one test file (block scales, activation styles) is built on it there.
pub struct Rng(pub u64);

impl Rng {
    /// A generator whose state is `seed` mixed with a constant, so that small seeds (0, 1, 2,
    /// as proptest draws them) start far apart.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    pub fn f32(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Roughly normal around 0 (a sum of four uniforms minus 2): plenty for test data.
    pub fn normal(&mut self) -> f32 {
        (0..4).map(|_| self.unit()).sum::<f32>() - 2.0
    }

    /// Uniform in `0..n` (`0` when `n == 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// `n` random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }

    /// `N` random bytes.
    pub fn array<const N: usize>(&mut self) -> [u8; N] {
        core::array::from_fn(|_| self.next() as u8)
    }

    pub fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.f32()).collect()
    }

    pub fn f16s(&mut self, n: usize) -> Vec<half::f16> {
        (0..n).map(|_| half::f16::from_f32(self.f32())).collect()
    }

    /// `n` blocks of random bytes, then `fix` makes their scales finite.
    pub fn blocks<T: bytemuck::Pod>(&mut self, n: usize, fix: fn(&mut T)) -> Vec<T> {
        let mut v = vec![T::zeroed(); n];
        for b in bytemuck::cast_slice_mut::<T, u8>(&mut v) {
            *b = self.next() as u8;
        }
        v.iter_mut().for_each(fix);
        v
    }
}
