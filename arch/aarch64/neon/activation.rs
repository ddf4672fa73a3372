//! NEON element-wise activations: SwiGLU and softmax, with a vectorised `expf`.
//!
//! # Math
//!
//! - SwiGLU: `out_i = (g_i / (1 + exp(−g_i))) · u_i` (`fdiv`, as the reference).
//! - Softmax: `m = max` of the non-NaN entries (`fmaxnm`, as the reference's `f32::max`), all
//!   `−∞` (or empty / all NaN) → all zeros; else `e_i = exp(x_i − m)`, `sum = Σ e_i` (4 lanes,
//!   then across), `x_i = e_i · (1 / sum)`.
//!
//! `exp` ([`exp4`]): `x` clamped to `[−104, 89]` (NaN propagates through `fmin`/`fmax`),
//! `n = round(x / ln 2)`, `r = x − n·ln2_hi − n·ln2_lo` (Cody–Waite, `fmla`), `exp(r) ≈ 1 + P(r)`
//! with the degree-5 minimax polynomial of Arm's optimized-routines `v_expf` (|r| ≤ ln2/2), and
//! `2^n` applied as two normal powers of two `2^(n>>1) · 2^(n − (n>>1))`, so results that are
//! subnormal, zero (x ≤ −104) or infinite (x ≥ 88.73) come out right. Accuracy: ≤ 2 ulp for
//! normal results (measured against `libm::expf` in the unit tests).
//!
//! # Tolerance
//!
//! SwiGLU and softmax outputs are within 16 ulp relative (one `exp` within a few ulp, one
//! division / reciprocal) of the reference, plus for softmax the sum-order bound of the
//! denominator.
//!
//! # Layout and tails
//!
//! 4 elements per step; the last `n % 4` are loaded into a zero-padded vector and only their
//! lanes are stored back (no scalar `expf`, so every element sees the same approximation).

use core::arch::aarch64::*;

/// Vector `exp` (module docs).
///
/// # Safety
/// The CPU must have NEON.
#[inline(always)]
pub(super) unsafe fn exp4(x: float32x4_t) -> float32x4_t {
    // SAFETY: register-only NEON operations.
    unsafe {
        let c = |bits: u32| vdupq_n_f32(f32::from_bits(bits));
        let x = vmaxq_f32(vminq_f32(x, vdupq_n_f32(89.0)), vdupq_n_f32(-104.0));
        let n = vrndnq_f32(vmulq_f32(x, c(0x3fb8_aa3b)));
        let r = vfmsq_f32(x, n, c(0x3f31_7200));
        let r = vfmsq_f32(r, n, c(0x35bf_be8e));
        let r2 = vmulq_f32(r, r);
        let p = vfmaq_f32(c(0x3d2b_9f17), c(0x3c07_2010), r);
        let q = vfmaq_f32(c(0x3eff_fedb), c(0x3e2a_af33), r);
        let q = vfmaq_f32(q, p, r2);
        let poly = vfmaq_f32(vmulq_f32(c(0x3f7f_fff6), r), q, r2);
        let ni = vcvtq_s32_f32(n);
        let n1 = vshrq_n_s32::<1>(ni);
        let n2 = vsubq_s32(ni, n1);
        let bias = vdupq_n_s32(127);
        let s1 = vreinterpretq_f32_s32(vshlq_n_s32::<23>(vaddq_s32(n1, bias)));
        let s2 = vreinterpretq_f32_s32(vshlq_n_s32::<23>(vaddq_s32(n2, bias)));
        vmulq_f32(vfmaq_f32(s1, poly, s1), s2)
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
        while i + 4 <= n {
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
        let mut sv = vdupq_n_f32(0.0);
        let mut i = 0;
        while i + 4 <= n {
            let e = exp4(vsubq_f32(vld1q_f32(p.add(i)), mvec));
            vst1q_f32(p.add(i), e);
            sv = vaddq_f32(sv, e);
            i += 4;
        }
        let mut sum = vaddvq_f32(sv);
        if i < n {
            let tail = x.get_mut(i..).unwrap_or(&mut []);
            // Padding lanes hold exp(0 − m) but are neither stored nor summed.
            let e = exp4(vsubq_f32(load_partial(tail), mvec));
            store_partial(tail, e);
            for &v in tail.iter() {
                sum += v;
            }
        }
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
