//! RoPE through the dispatch table: [`RopeLayout`] names how a model pairs the rotated
//! dimensions and [`RopeLayout::apply`] runs that layout's table entry. The math, the tables
//! ([`crate::kernels::rope::rope_cos_sin`]) and the scalar references are in
//! [`crate::kernels::rope`].

use crate::kernels::Kernels;

/// How the rotated dimensions of a head are paired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RopeLayout {
    /// GPT-NeoX layout: element `i` pairs with `i + n_rot / 2` (llama.cpp `phi3`).
    Neox,
    /// Original (interleaved) layout: element `2i` pairs with `2i + 1` (llama.cpp `llama`).
    Norm,
}

impl RopeLayout {
    /// Rotates `x` in place with the kernel of `k` for this layout (`k.rope_neox` or
    /// `k.rope_norm`; same arguments and contract as [`crate::kernels::rope::rope_neox`]: any arguments are
    /// accepted, invalid shapes leave `x` unchanged, nothing panics).
    pub fn apply(self, k: &Kernels, x: &mut [f32], head_dim: usize, cos: &[f32], sin: &[f32]) {
        match self {
            RopeLayout::Neox => (k.rope_neox)(x, head_dim, cos, sin),
            RopeLayout::Norm => (k.rope_norm)(x, head_dim, cos, sin),
        }
    }
}
