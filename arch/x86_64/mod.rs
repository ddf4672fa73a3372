//! x86_64: feature detection; AVX2 and AVX-512 tiers land here.
#[cfg(feature = "std")]
pub mod detect;
