//! The vector `expf` shared by the SVE SwiGLU and softmax kernels (no kernel of its own).
//!
//! # Math
//!
//! Cephes `expf`: clamp `x` to `[−128, 128]` (`fmin`/`fmax`, which propagate NaN), then
//! `n = round_even(x · log2 e)`, `r = (x − n·C1) − n·C2` with `C1 + C2 = ln 2` (`C1` has few
//! bits so `n·C1` is exact), `p(r) = ((((((P0·r + P1)·r + P2)·r + P3)·r + P4)·r + P5)·r² + r) + 1`
//! on `|r| ≤ ln2/2`, and `e^x = p(r) · 2^n` with `fscale`, which rounds once and overflows to
//! `+∞` / underflows through the subnormals to `+0` exactly like the true function. The clamp
//! keeps `r` finite for `±∞` inputs (`e^{+∞} → +∞`, `e^{−∞} → +0` exactly, as the reference's
//! masked softmax entries need); NaN stays NaN (`fcvtzs` makes `n = 0`, `fscale` keeps NaN).
//! Accuracy: within 2 ulp of `libm::expf` on the whole range (normal results).
//!
//! # Registers (the contract of [`exp_z0!`])
//!
//! Input and output `z0` (all lanes, governed by the all-true `p7`; inactive lanes compute
//! garbage that callers never store), scratch `z1..z3`, constants `z21..z31` loaded by
//! [`exp_load_consts!`] from [`EXP_CONSTS`] through a pointer operand named `consts`.

/// `[hi clamp, lo clamp, log2 e, C1, C2, P0, P1, P2, P3, P4, P5]`, loaded with `ld1rw`.
pub(super) static EXP_CONSTS: [f32; 11] = [
    128.0,
    -128.0,
    core::f32::consts::LOG2_E,
    355.0 / 512.0, // C1 = 0.693359375, 9 significant bits
    -2.121_944_4e-4,
    1.987_569_1e-4,
    1.398_199_9e-3,
    8.333_452e-3,
    4.166_579_6e-2,
    1.666_666_5e-1,
    0.5, // Cephes' 5.0000001201e-1 rounds to 0.5 in f32
];

/// asm text: broadcast [`EXP_CONSTS`] (pointer operand `consts`) into `z21..z31` (`p7` must be
/// all-true `.s`).
macro_rules! exp_load_consts {
    () => {
        concat!(
            "ld1rw z21.s, p7/z, [{consts}]\n",
            "ld1rw z22.s, p7/z, [{consts}, #4]\n",
            "ld1rw z23.s, p7/z, [{consts}, #8]\n",
            "ld1rw z24.s, p7/z, [{consts}, #12]\n",
            "ld1rw z25.s, p7/z, [{consts}, #16]\n",
            "ld1rw z26.s, p7/z, [{consts}, #20]\n",
            "ld1rw z27.s, p7/z, [{consts}, #24]\n",
            "ld1rw z28.s, p7/z, [{consts}, #28]\n",
            "ld1rw z29.s, p7/z, [{consts}, #32]\n",
            "ld1rw z30.s, p7/z, [{consts}, #36]\n",
            "ld1rw z31.s, p7/z, [{consts}, #40]\n",
        )
    };
}

/// asm text: `z0 ← e^z0` lane-wise (module docs); scratch `z1..z3`, constants `z21..z31`.
macro_rules! exp_z0 {
    () => {
        concat!(
            "fmin z0.s, p7/m, z0.s, z21.s\n",
            "fmax z0.s, p7/m, z0.s, z22.s\n",
            // n = round_even(x · log2 e)
            "fmul z1.s, z0.s, z23.s\n",
            "frintn z1.s, p7/m, z1.s\n",
            // r = (x − n·C1) − n·C2
            "fmls z0.s, p7/m, z1.s, z24.s\n",
            "fmls z0.s, p7/m, z1.s, z25.s\n",
            // p = ((((P0·r + P1)·r + P2)·r + P3)·r + P4)·r + P5
            "mov z2.d, z26.d\n",
            "fmad z2.s, p7/m, z0.s, z27.s\n",
            "fmad z2.s, p7/m, z0.s, z28.s\n",
            "fmad z2.s, p7/m, z0.s, z29.s\n",
            "fmad z2.s, p7/m, z0.s, z30.s\n",
            "fmad z2.s, p7/m, z0.s, z31.s\n",
            // y = p·r² + r + 1
            "fmul z3.s, z0.s, z0.s\n",
            "fmla z0.s, p7/m, z2.s, z3.s\n",
            "fadd z0.s, p7/m, z0.s, #1.0\n",
            // · 2^n
            "fcvtzs z1.s, p7/m, z1.s\n",
            "fscale z0.s, p7/m, z0.s, z1.s\n",
        )
    };
}

pub(super) use {exp_load_consts, exp_z0};
