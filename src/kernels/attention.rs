//! Attention inner loops over an f16 KV cache (placeholder).
use half::f16;
/// scores[p] = scale · Σ_i q_i · k[p·stride + i].
pub fn attn_scores_f16(q: &[f32], keys: &[f16], stride: usize, scale: f32, scores: &mut [f32]) {
    let _ = (q, keys, stride, scale, scores);
    unimplemented!()
}
/// out_i = Σ_p w_p · v[p·stride + i].
pub fn attn_values_f16(weights: &[f32], values: &[f16], stride: usize, out: &mut [f32]) {
    let _ = (weights, values, stride, out);
    unimplemented!()
}
