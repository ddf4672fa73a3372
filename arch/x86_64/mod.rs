//! x86_64: feature detection and the AVX2 tier (AVX-512 lands here when it can be tested).
pub mod avx2;
#[cfg(feature = "std")]
pub mod detect;
