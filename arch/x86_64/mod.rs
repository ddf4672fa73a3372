//! x86_64: feature detection, the AVX2 tier, the AVX-VNNI tier and the AVX-512 (F/BW/VL/VNNI)
//! tier, and the frame they share (`frame`: the gemm driver, the formats' 256-bit kernels and
//! the common helpers; a tier imports from the frame, never from another tier).
// Soft-float targets such as `x86_64-unknown-none` (kernels, firmware) have SSE switched off:
// SIMD code is neither allowed nor compilable there, so only the scalar tier exists.
#[cfg(target_feature = "sse2")]
pub mod avx2;
#[cfg(target_feature = "sse2")]
pub mod avx512;
#[cfg(target_feature = "sse2")]
pub mod avxvnni;
#[cfg(feature = "std")]
pub mod detect;
#[cfg(target_feature = "sse2")]
mod frame;
