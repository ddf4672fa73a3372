//! Element-wise activations: SwiGLU and softmax.
//!
//! # Math
//!
//! - SwiGLU: `out_i = silu(gate_i) · up_i` with `silu(g) = g / (1 + e^(−g))`, computed in `f32`
//!   as `(g / (1.0 + exp(−g))) · u` (ggml's `ggml_silu_f32`, then the product).
//! - Softmax: `x_i ← e^(x_i − m) / Σ_j e^(x_j − m)` with `m = max_j x_j`; see [`softmax`] for the
//!   exact order and the treatment of `−∞` (masked) entries.
//!
//! # Layout and tails
//!
//! Plain `f32` slices. The exponential is the float order's [`exp`] (a fixed polynomial, the
//! same bits on every tier); the softmax denominator is a float-order sum
//! ([`super::float::sum_lanes`]). Every tier gives the same bits.

use super::float::{exp, sum_lanes};

/// SwiGLU: `out_i = (gate_i / (1 + exp(−gate_i))) · up_i` ([`exp`]) for
/// `i < n = min(gate.len(), up.len(), out.len())` (every tier, every build: mismatched lengths
/// use the common prefix and leave the rest of `out` untouched; nothing panics). Very negative gates give `−0.0 · up_i`; NaN propagates.
pub fn swiglu(gate: &[f32], up: &[f32], out: &mut [f32]) {
    for ((o, &g), &u) in out.iter_mut().zip(gate).zip(up) {
        *o = (g / (1.0 + exp(-g))) * u;
    }
}

/// Softmax in place: `x_i ← e^(x_i − m) / Σ_j e^(x_j − m)`, `m = max_j x_j`.
///
/// Order of operations (all `f32`): `m` = the maximum of the non-NaN entries; `e_i =
/// exp(x_i − m)` ([`exp`]) stored in `x`; `sum = Σ_i e_i` in the float order
/// ([`sum_lanes`]: 16 lanes, zero-padded, folded in halves); then `x_i ← e_i · (1.0 / sum)`
/// (one reciprocal, then products, as ggml).
///
/// - `−∞` entries (masked positions) become exactly `0.0`.
/// - If no entry is finite-or-`+∞` (empty, all `−∞`, or all NaN), every entry becomes `0.0`: a
///   fully masked row attends to nothing.
/// - Any NaN or `+∞` entry (with at least one other entry not `−∞`/NaN) makes every output NaN;
///   the function still makes its two passes and returns (it never loops or panics).
pub fn softmax(x: &mut [f32]) {
    let m = x.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    if m == f32::NEG_INFINITY {
        x.fill(0.0);
        return;
    }
    for v in x.iter_mut() {
        *v = exp(*v - m);
    }
    let sum = sum_lanes(x);
    let inv = 1.0 / sum;
    for v in x.iter_mut() {
        *v *= inv;
    }
}
