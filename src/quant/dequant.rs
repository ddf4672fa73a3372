//! Scalar dequantization (placeholder signatures; bodies filled by the quant work).
use super::blocks::*;
use half::{bf16, f16};

/// Q4_0 → f32.
pub fn dequantize_q4_0(blocks: &[BlockQ4_0], out: &mut [f32]) {
    let _ = (blocks, out);
    unimplemented!()
}
/// Q4_1 → f32.
pub fn dequantize_q4_1(blocks: &[BlockQ4_1], out: &mut [f32]) {
    let _ = (blocks, out);
    unimplemented!()
}
/// Q5_0 → f32.
pub fn dequantize_q5_0(blocks: &[BlockQ5_0], out: &mut [f32]) {
    let _ = (blocks, out);
    unimplemented!()
}
/// Q8_0 → f32.
pub fn dequantize_q8_0(blocks: &[BlockQ8_0], out: &mut [f32]) {
    let _ = (blocks, out);
    unimplemented!()
}
/// Q8_1 → f32.
pub fn dequantize_q8_1(blocks: &[BlockQ8_1], out: &mut [f32]) {
    let _ = (blocks, out);
    unimplemented!()
}
/// Q4_K → f32.
pub fn dequantize_q4_k(blocks: &[BlockQ4K], out: &mut [f32]) {
    let _ = (blocks, out);
    unimplemented!()
}
/// Q5_K → f32.
pub fn dequantize_q5_k(blocks: &[BlockQ5K], out: &mut [f32]) {
    let _ = (blocks, out);
    unimplemented!()
}
/// Q6_K → f32.
pub fn dequantize_q6_k(blocks: &[BlockQ6K], out: &mut [f32]) {
    let _ = (blocks, out);
    unimplemented!()
}
/// Q8_K → f32.
pub fn dequantize_q8_k(blocks: &[BlockQ8K], out: &mut [f32]) {
    let _ = (blocks, out);
    unimplemented!()
}
/// F16 → f32.
pub fn dequantize_f16(x: &[f16], out: &mut [f32]) {
    let _ = (x, out);
    unimplemented!()
}
/// BF16 → f32.
pub fn dequantize_bf16(x: &[bf16], out: &mut [f32]) {
    let _ = (x, out);
    unimplemented!()
}
