//! SwiGLU and softmax (placeholder).
/// out_i = silu(gate_i) · up_i.
pub fn swiglu(gate: &[f32], up: &[f32], out: &mut [f32]) {
    let _ = (gate, up, out);
    unimplemented!()
}
/// In-place softmax.
pub fn softmax(x: &mut [f32]) {
    let _ = x;
    unimplemented!()
}
