//! The vector `exp` shared by the SVE SwiGLU and softmax kernels (no kernel of its own).
//!
//! # Math
//!
//! [`crate::kernels::float::exp`] step by step, lane-wise (so every tier gives the same bits):
//! 1. clamp `x` to `[EXP_LO, EXP_HI]` with `fmin` / `fmax` (which propagate NaN: NaN in gives
//!    NaN out, whatever the later steps do with it);
//! 2. `n = (x · log2e + ROUND) − ROUND` (`fmul`, `fadd`, `fsub`: round to nearest, ties to
//!    even);
//! 3. `r = x − n·C1`, then `r − n·C2` (`fmls`, fused);
//! 4. Horner `p = fma(p, r, P_k)` from `P0` (`fmad`);
//! 5. `y = fma(p, r·r, r) + 1` (`fmul`, `fmla`, `fadd`);
//! 6. `k = n` as an integer (`fcvtzs`, exact) and `e^x = fscale(y, k)`, the correctly rounded
//!    `y · 2^k`. This is bit for bit the reference's `(y · 2^k1) · 2^k2` (`k1 = k >> 1`,
//!    `k2 = k − k1`, both powers normal `f32`s): for the `y` of step 5 (`0.7 < y < 1.5`) and
//!    `−80 ≤ k1 ≤ 64` the first product is exact, so the second is `y · 2^k` rounded once —
//!    overflow to `+∞` and gradual underflow through the subnormals to `+0.0` included —
//!    which is what `fscale` returns. (The reference splits `k` only so that each power is a
//!    representable `f32`.) A NaN `y` stays NaN.
//!
//! # Registers (the contract of [`exp_z0!`])
//!
//! Input and output `z0` (all lanes, governed by the all-true `p7`; inactive lanes compute
//! garbage that callers never store), scratch `z1..z3`, constants `z20..z31` loaded by
//! [`exp_load_consts!`] from [`EXP_CONSTS`] through a pointer operand named `consts`.

use crate::kernels::float::{EXP_C1, EXP_C2, EXP_HI, EXP_LO, EXP_LOG2E, EXP_P, EXP_ROUND};

/// `[EXP_HI, EXP_LO, log2 e, ROUND, C1, C2, P0, P1, P2, P3, P4, P5]`, loaded with `ld1rw`.
pub(super) static EXP_CONSTS: [f32; 12] = [
    EXP_HI, EXP_LO, EXP_LOG2E, EXP_ROUND, EXP_C1, EXP_C2, EXP_P[0], EXP_P[1], EXP_P[2], EXP_P[3],
    EXP_P[4], EXP_P[5],
];

/// asm text: broadcast [`EXP_CONSTS`] (pointer operand `consts`) into `z20..z31` (`p7` must be
/// all-true `.s`).
macro_rules! exp_load_consts {
    () => {
        concat!(
            "ld1rw z20.s, p7/z, [{consts}]\n",
            "ld1rw z21.s, p7/z, [{consts}, #4]\n",
            "ld1rw z22.s, p7/z, [{consts}, #8]\n",
            "ld1rw z23.s, p7/z, [{consts}, #12]\n",
            "ld1rw z24.s, p7/z, [{consts}, #16]\n",
            "ld1rw z25.s, p7/z, [{consts}, #20]\n",
            "ld1rw z26.s, p7/z, [{consts}, #24]\n",
            "ld1rw z27.s, p7/z, [{consts}, #28]\n",
            "ld1rw z28.s, p7/z, [{consts}, #32]\n",
            "ld1rw z29.s, p7/z, [{consts}, #36]\n",
            "ld1rw z30.s, p7/z, [{consts}, #40]\n",
            "ld1rw z31.s, p7/z, [{consts}, #44]\n",
        )
    };
}

/// asm text: `z0 ← e^z0` lane-wise (module docs); scratch `z1..z3`, constants `z20..z31`.
macro_rules! exp_z0 {
    () => {
        concat!(
            // 1. clamp (NaN propagates)
            "fmin z0.s, p7/m, z0.s, z20.s\n",
            "fmax z0.s, p7/m, z0.s, z21.s\n",
            // 2. n = (x · log2e + ROUND) − ROUND
            "fmul z1.s, z0.s, z22.s\n",
            "fadd z1.s, z1.s, z23.s\n",
            "fsub z1.s, z1.s, z23.s\n",
            // 3. r = fma(−n, C1, x), then fma(−n, C2, r)
            "fmls z0.s, p7/m, z1.s, z24.s\n",
            "fmls z0.s, p7/m, z1.s, z25.s\n",
            // 4. p = fma(p, r, P_k)
            "mov z2.d, z26.d\n",
            "fmad z2.s, p7/m, z0.s, z27.s\n",
            "fmad z2.s, p7/m, z0.s, z28.s\n",
            "fmad z2.s, p7/m, z0.s, z29.s\n",
            "fmad z2.s, p7/m, z0.s, z30.s\n",
            "fmad z2.s, p7/m, z0.s, z31.s\n",
            // 5. y = fma(p, r·r, r) + 1
            "fmul z3.s, z0.s, z0.s\n",
            "fmla z0.s, p7/m, z2.s, z3.s\n",
            "fadd z0.s, p7/m, z0.s, #1.0\n",
            // 6. (y · 2^k1) · 2^k2 = y · 2^k rounded once (module docs)
            "fcvtzs z1.s, p7/m, z1.s\n",
            "fscale z0.s, p7/m, z0.s, z1.s\n",
        )
    };
}

pub(super) use {exp_load_consts, exp_z0};
