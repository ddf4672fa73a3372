//! NEON element-wise activations: SwiGLU and softmax, with the float order's `exp` in vectors.
//!
//! # Math and order of operations
//!
//! The reference's steps ([`crate::kernels::activation`]) exactly, so every tier gives the same
//! bits:
//! - SwiGLU: `out_i = (g_i / (1.0 + exp(−g_i))) · u_i` (`fneg`, [`exp4`], `fadd`, `fdiv`,
//!   `fmul`).
//! - Softmax: `m = max` of the non-NaN entries (`fmaxnm`, as the reference's `f32::max`), all
//!   `−∞` (or empty / all NaN) → all zeros; else `e_i = exp(x_i − m)` stored back, `sum = Σ e_i`
//!   in the float order (16 lanes in four `float32x4_t` accumulators with `fadd`, the last chunk
//!   zero-padded, then [`super::simd::fold16`]), `inv = 1.0 / sum`, `x_i = e_i · inv`.
//!
//! `exp` ([`exp4`]) is [`crate::kernels::float::exp`] step by step, lane-wise: clamp with
//! `fmin` / `fmax` (which propagate NaN: NaN in gives NaN out), `n = (x · log2e + ROUND) −
//! ROUND`, `r = x − n·C1` then `r − n·C2` (`fmls`, fused), Horner with `fmla`,
//! `y = fma(p, r·r, r) + 1`, then `(y · 2^(k>>1)) · 2^(k − (k>>1))` with the two powers built
//! in the exponent field from `k = n` (`fcvtzs`, exact).
//!
//! # Layout and tails
//!
//! SwiGLU: 8 elements per step (two vectors), then at most one more vector; the last `n % 4`
//! are loaded into a zero-padded vector and only their lanes are stored back. Softmax: 16 elements per step (four vectors); the last partial
//! chunk as whole vectors, one zero-padded vector whose padding is cleared before the sum, and
//! zero vectors.

use super::simd::fold16;
use crate::kernels::float::{EXP_C1, EXP_C2, EXP_HI, EXP_LO, EXP_LOG2E, EXP_P, EXP_ROUND};
use core::arch::aarch64::*;

/// Vector `exp` (module docs; [`crate::kernels::float::exp`] lane for lane).
///
/// # Safety
/// The CPU must have NEON.
#[inline(always)]
pub(super) unsafe fn exp4(x: float32x4_t) -> float32x4_t {
    // SAFETY: register-only NEON operations.
    unsafe {
        let c = vdupq_n_f32;
        let x = vmaxq_f32(vminq_f32(x, c(EXP_HI)), c(EXP_LO));
        let round = c(EXP_ROUND);
        let n = vsubq_f32(vaddq_f32(vmulq_f32(x, c(EXP_LOG2E)), round), round);
        let r = vfmsq_f32(x, n, c(EXP_C1));
        let r = vfmsq_f32(r, n, c(EXP_C2));
        let mut p = c(EXP_P[0]);
        for &k in &EXP_P[1..] {
            p = vfmaq_f32(c(k), p, r);
        }
        let y = vaddq_f32(vfmaq_f32(r, p, vmulq_f32(r, r)), c(1.0));
        let k = vcvtq_s32_f32(n);
        let k1 = vshrq_n_s32::<1>(k);
        let k2 = vsubq_s32(k, k1);
        let bias = vdupq_n_s32(127);
        let s1 = vreinterpretq_f32_s32(vshlq_n_s32::<23>(vaddq_s32(k1, bias)));
        let s2 = vreinterpretq_f32_s32(vshlq_n_s32::<23>(vaddq_s32(k2, bias)));
        vmulq_f32(vmulq_f32(y, s1), s2)
    }
}

/// Loads up to 4 values (`len ≤ 4`) into a zero-padded vector.
///
/// # Safety
/// The CPU must have NEON.
#[inline(always)]
unsafe fn load_partial(s: &[f32]) -> float32x4_t {
    let mut a = [0.0f32; 4];
    for (d, v) in a.iter_mut().zip(s) {
        *d = *v;
    }
    // SAFETY: `a` has 4 readable f32.
    unsafe { vld1q_f32(a.as_ptr()) }
}

/// Stores the first `d.len() ≤ 4` lanes of `v`.
///
/// # Safety
/// The CPU must have NEON.
#[inline(always)]
unsafe fn store_partial(d: &mut [f32], v: float32x4_t) {
    let mut a = [0.0f32; 4];
    // SAFETY: `a` has 4 writable f32.
    unsafe { vst1q_f32(a.as_mut_ptr(), v) };
    for (d, v) in d.iter_mut().zip(a) {
        *d = v;
    }
}

/// `silu(g) · u` for 4 lanes.
///
/// # Safety
/// The CPU must have NEON.
#[inline(always)]
unsafe fn swiglu4(g: float32x4_t, u: float32x4_t) -> float32x4_t {
    // SAFETY: register-only NEON operations.
    unsafe {
        let e = exp4(vnegq_f32(g));
        vmulq_f32(vdivq_f32(g, vaddq_f32(vdupq_n_f32(1.0), e)), u)
    }
}

/// SwiGLU (table entry).
pub(super) fn swiglu(gate: &[f32], up: &[f32], out: &mut [f32]) {
    // SAFETY: reachable only through `kernels(tier)`, whose caller checked NEON.
    unsafe { swiglu_body(gate, up, out) }
}

/// The `#[target_feature]` body of the entry above.
///
/// # Safety
/// The CPU must implement NEON.
#[target_feature(enable = "neon")]
unsafe fn swiglu_body(gate: &[f32], up: &[f32], out: &mut [f32]) {
    let n = gate.len().min(up.len()).min(out.len());
    let (gp, up_, op) = (gate.as_ptr(), up.as_ptr(), out.as_mut_ptr());
    let mut i = 0;
    // SAFETY: indices `< n`, within all three slices.
    unsafe {
        while i + 8 <= n {
            let r0 = swiglu4(vld1q_f32(gp.add(i)), vld1q_f32(up_.add(i)));
            let r1 = swiglu4(vld1q_f32(gp.add(i + 4)), vld1q_f32(up_.add(i + 4)));
            vst1q_f32(op.add(i), r0);
            vst1q_f32(op.add(i + 4), r1);
            i += 8;
        }
        if i + 4 <= n {
            let r = swiglu4(vld1q_f32(gp.add(i)), vld1q_f32(up_.add(i)));
            vst1q_f32(op.add(i), r);
            i += 4;
        }
    }
    if i < n {
        let (g, u) = (gate.get(i..n).unwrap_or(&[]), up.get(i..n).unwrap_or(&[]));
        // SAFETY: NEON enabled; partial loads / stores stay in the sub-slices.
        unsafe {
            let r = swiglu4(load_partial(g), load_partial(u));
            store_partial(out.get_mut(i..n).unwrap_or(&mut []), r);
        }
    }
}

/// Softmax in place (table entry).
pub(super) fn softmax(x: &mut [f32]) {
    // SAFETY: reachable only through `kernels(tier)`, whose caller checked NEON.
    unsafe { softmax_body(x) }
}

/// The `#[target_feature]` body of the entry above.
///
/// # Safety
/// The CPU must implement NEON.
#[target_feature(enable = "neon")]
unsafe fn softmax_body(x: &mut [f32]) {
    let n = x.len();
    let p = x.as_mut_ptr();
    // SAFETY: every vector access is at `i + 4 ≤ n`; the tail uses the sub-slice.
    unsafe {
        let mut mv = vdupq_n_f32(f32::NEG_INFINITY);
        let mut i = 0;
        while i + 4 <= n {
            mv = vmaxnmq_f32(mv, vld1q_f32(p.add(i)));
            i += 4;
        }
        let mut m = vmaxnmvq_f32(mv);
        for &v in x.get(i..).unwrap_or(&[]) {
            m = m.max(v);
        }
        if m == f32::NEG_INFINITY {
            x.fill(0.0);
            return;
        }
        let p = x.as_mut_ptr();
        let mvec = vdupq_n_f32(m);
        let zero = vdupq_n_f32(0.0);
        let mut acc = [zero; 4];
        let mut i = 0;
        while i + 16 <= n {
            for (k, a) in acc.iter_mut().enumerate() {
                let e = exp4(vsubq_f32(vld1q_f32(p.add(i + 4 * k)), mvec));
                vst1q_f32(p.add(i + 4 * k), e);
                *a = vaddq_f32(*a, e);
            }
            i += 16;
        }
        if i < n {
            // The zero-padded last chunk: vector `k` holds elements `i + 4k ..`.
            for (k, a) in acc.iter_mut().enumerate() {
                let at = i + 4 * k;
                let e = if at + 4 <= n {
                    let e = exp4(vsubq_f32(vld1q_f32(p.add(at)), mvec));
                    vst1q_f32(p.add(at), e);
                    e
                } else if at < n {
                    let tail = x.get_mut(at..).unwrap_or(&mut []);
                    store_partial(tail, exp4(vsubq_f32(load_partial(tail), mvec)));
                    // Reloaded zero-padded: the padding lanes add `+0.0`.
                    load_partial(tail)
                } else {
                    zero
                };
                *a = vaddq_f32(*a, e);
            }
        }
        let sum = fold16(acc);
        let inv = vdupq_n_f32(1.0 / sum);
        let p = x.as_mut_ptr();
        let mut i = 0;
        while i + 4 <= n {
            vst1q_f32(p.add(i), vmulq_f32(vld1q_f32(p.add(i)), inv));
            i += 4;
        }
        let inv = 1.0 / sum;
        for v in x.get_mut(i..).unwrap_or(&mut []) {
            *v *= inv;
        }
    }
}
