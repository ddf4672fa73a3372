//! RMSNorm (placeholder).
/// out_i = x_i / sqrt(mean(x²) + eps) · weight_i.
pub fn rms_norm(x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
    let _ = (x, weight, eps, out);
    unimplemented!()
}
