//! x86_64: feature detection and the AVX2 tier (AVX-512 lands here when it can be tested).
// Soft-float targets such as `x86_64-unknown-none` (kernels, firmware) have SSE switched off:
// SIMD code is neither allowed nor compilable there, so only the scalar tier exists.
#[cfg(target_feature = "sse2")]
pub mod avx2;
#[cfg(feature = "std")]
pub mod detect;
