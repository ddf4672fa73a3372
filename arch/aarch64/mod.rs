//! aarch64: feature detection; NEON (+dotprod, +i8mm) and SVE tiers land here.
#[cfg(feature = "std")]
pub mod detect;
