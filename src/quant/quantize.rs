//! Scalar quantization (placeholder signatures; bodies filled by the quant work).
use super::blocks::*;

/// f32 → Q8_0.
pub fn quantize_q8_0(x: &[f32], out: &mut [BlockQ8_0]) {
    let _ = (x, out);
    unimplemented!()
}
/// f32 → Q8_1.
pub fn quantize_q8_1(x: &[f32], out: &mut [BlockQ8_1]) {
    let _ = (x, out);
    unimplemented!()
}
/// f32 → Q8_K.
pub fn quantize_q8_k(x: &[f32], out: &mut [BlockQ8K]) {
    let _ = (x, out);
    unimplemented!()
}
/// f32 → Q4_0.
pub fn quantize_q4_0(x: &[f32], out: &mut [BlockQ4_0]) {
    let _ = (x, out);
    unimplemented!()
}
/// f32 → Q4_1.
pub fn quantize_q4_1(x: &[f32], out: &mut [BlockQ4_1]) {
    let _ = (x, out);
    unimplemented!()
}
/// f32 → Q4_K.
pub fn quantize_q4_k(x: &[f32], out: &mut [BlockQ4K]) {
    let _ = (x, out);
    unimplemented!()
}
/// f32 → Q6_K.
pub fn quantize_q6_k(x: &[f32], out: &mut [BlockQ6K]) {
    let _ = (x, out);
    unimplemented!()
}
