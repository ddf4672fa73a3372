//! Scalar row dot products (placeholder signatures; bodies filled by the kernels work).
use crate::quant::*;
use half::f16;

/// Σ over blocks of d_w·d_x·Σ (q_w − 8)·q_x.
pub fn dot_q4_0_q8_0(w: &[BlockQ4_0], x: &[BlockQ8_0]) -> f32 {
    let _ = (w, x);
    unimplemented!()
}
/// Q4_1 · Q8_1.
pub fn dot_q4_1_q8_1(w: &[BlockQ4_1], x: &[BlockQ8_1]) -> f32 {
    let _ = (w, x);
    unimplemented!()
}
/// Q5_0 · Q8_0.
pub fn dot_q5_0_q8_0(w: &[BlockQ5_0], x: &[BlockQ8_0]) -> f32 {
    let _ = (w, x);
    unimplemented!()
}
/// Q8_0 · Q8_0.
pub fn dot_q8_0_q8_0(w: &[BlockQ8_0], x: &[BlockQ8_0]) -> f32 {
    let _ = (w, x);
    unimplemented!()
}
/// Q4_K · Q8_K.
pub fn dot_q4_k_q8_k(w: &[BlockQ4K], x: &[BlockQ8K]) -> f32 {
    let _ = (w, x);
    unimplemented!()
}
/// Q5_K · Q8_K.
pub fn dot_q5_k_q8_k(w: &[BlockQ5K], x: &[BlockQ8K]) -> f32 {
    let _ = (w, x);
    unimplemented!()
}
/// Q6_K · Q8_K.
pub fn dot_q6_k_q8_k(w: &[BlockQ6K], x: &[BlockQ8K]) -> f32 {
    let _ = (w, x);
    unimplemented!()
}
/// f16 · f32.
pub fn dot_f16_f32(w: &[f16], x: &[f32]) -> f32 {
    let _ = (w, x);
    unimplemented!()
}
/// f32 · f32.
pub fn dot_f32_f32(w: &[f32], x: &[f32]) -> f32 {
    let _ = (w, x);
    unimplemented!()
}
