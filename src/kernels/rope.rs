//! RoPE (placeholder).
/// Apply NEOX-layout rotation to every head of `x`.
pub fn rope_neox(x: &mut [f32], head_dim: usize, cos: &[f32], sin: &[f32]) {
    let _ = (x, head_dim, cos, sin);
    unimplemented!()
}
/// Apply NORM-layout (interleaved) rotation to every head of `x`.
pub fn rope_norm(x: &mut [f32], head_dim: usize, cos: &[f32], sin: &[f32]) {
    let _ = (x, head_dim, cos, sin);
    unimplemented!()
}
