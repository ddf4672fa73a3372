//! Shared support for the unit tests in `arch/`: the missing-tier policy and one deterministic
//! generator (the integration tests have the same pair in `tests/common`).
//!
//! Missing-tier policy ([`tier_or_skip`]): a tier the CPU cannot run fails the test when
//! `PHI3_REQUIRE_TIERS` names it (so a qemu job meant to cover SVE can never pass by testing
//! nothing), and is otherwise skipped with a printed line.

extern crate std;

use crate::cpu::{check_required_tiers, CpuFeatures, Tier};
use crate::kernels::Kernels;
use half::f16;
use std::vec::Vec;

/// The environment variable that names tiers a run must cover (comma-separated).
pub(crate) const REQUIRE_TIERS_VAR: &str = "PHI3_REQUIRE_TIERS";

/// The table of `tier` when this CPU runs it. Otherwise panics if `PHI3_REQUIRE_TIERS` names a
/// tier that cannot run here, else prints that `tier` was skipped and returns `None`.
pub(crate) fn tier_or_skip(tier: Tier) -> Option<Kernels> {
    let features = CpuFeatures::detect();
    if let Some(k) = Kernels::for_tier(tier, &features) {
        return Some(k);
    }
    let required = std::env::var(REQUIRE_TIERS_VAR).unwrap_or_default();
    if let Err(e) = check_required_tiers(&required, &features) {
        panic!("{REQUIRE_TIERS_VAR}={required:?}: {e}; detected features: {features:?}");
    }
    std::println!("tier `{tier}` unavailable here: skipped");
    None
}

/// splitmix64: deterministic test data from a seed.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[-1, 1)`.
    pub(crate) fn f32(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    /// `n` values uniform in `[-scale, scale)`.
    pub(crate) fn f32s(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.f32() * scale).collect()
    }

    /// `n` random bytes.
    pub(crate) fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }

    /// `n` blocks of random bytes whose f16 fields (at the byte offsets `f16_at`) are set to
    /// `scale(rng)`: random bytes elsewhere.
    pub(crate) fn blocks<T: bytemuck::Pod>(
        &mut self,
        n: usize,
        f16_at: &[usize],
        scale: fn(&mut Rng) -> f32,
    ) -> Vec<T> {
        let mut v: Vec<T> = std::vec![bytemuck::Zeroable::zeroed(); n];
        for b in v.iter_mut() {
            let bytes = bytemuck::bytes_of_mut(b);
            bytes.iter_mut().for_each(|x| *x = self.next() as u8);
            for &at in f16_at {
                let s = f16::from_f32(scale(self)).to_le_bytes();
                bytes[at..at + 2].copy_from_slice(&s);
            }
        }
        v
    }
}
