//! Quantization block formats and their scalar dequantizers / quantizers.
//!
//! [`blocks`] defines the byte layouts; [`dequant`] turns every supported format back into f32;
//! [`quantize`] produces Q8_0 / Q8_1 / Q8_K (activations) and Q4_0 / Q4_1 / Q4_K / Q6_K (weights,
//! for building test models). These scalar functions are the reference that SIMD tiers are
//! tested against, and they reproduce ggml's reference quantizers bit for bit.

pub mod blocks;
pub mod dequant;
pub mod quantize;

pub use blocks::*;
