//! Scalar quantization: f32 → Q8_0 / Q8_1 / Q8_K (activations, once per matmul input) and
//! Q4_0 / Q4_1 / Q4_K / Q6_K (weights, for building test models), reproducing ggml's *reference*
//! quantizers (`quantize_row_*_ref`, what `ggml_quantize_chunk` runs without an importance
//! matrix) bit for bit.
//!
//! # Math
//!
//! | type | scale | quant of element `x` |
//! |---|---|---|
//! | Q8_0, Q8_1 | `d = amax / 127` | `roundf(x / d)` (half away from zero); Q8_1 adds `s = d · Σq` |
//! | Q8_K | `d = max / −127` (`max` = the signed value of largest magnitude) | `min(127, nearest_int(x · (−127 / max)))` |
//! | Q4_0 | `d = max / −8` | `min(15, trunc(x / d + 8.5))` |
//! | Q4_1 | `d = (max − min) / 15`, `m = min` | `min(15, trunc((x − min) / d + 0.5))` |
//! | Q4_K | per 32-element sub-block: a weighted least-squares fit `x ≈ s · q − m` (ggml's `make_qkx2_quants`), then `s`, `m` quantized to 6 bits against `d = max s / 63`, `dmin = max m / 63` | `clamp(nearest_int((x + dmin · m_j) / (d · s_j)), 0, 15)` |
//! | Q6_K | per 16-element sub-block: a signed fit `x ≈ s · q` (ggml's `make_qx_quants`, weights `x²`), then `s` quantized to int8 against `d = max s / −128` | `clamp(nearest_int(x / (d · s_j)), −32, 31) + 32` |
//!
//! Everything is computed in f32 in ggml's operation order with no fused multiply-add; "`/ d`" in
//! the table is a multiplication by `id = 1 / d` computed in f32 before `d` is rounded to f16
//! (for the 32-element formats), exactly as ggml does. Two rounding rules are in play and both
//! are reproduced: Q8_0 / Q8_1 use C's `roundf` (ties away from zero), the K formats use ggml's
//! `nearest_int` (add 1.5·2²³ and read the mantissa: ties to even, valid for |v| < 2²²); Q4_0 /
//! Q4_1 add 8.5 / 0.5 and truncate toward zero (a C cast to `int8_t`). Where C would have
//! undefined behaviour (NaN or infinite input), Rust's saturating casts make the result
//! deterministic but meaningless.
//!
//! # Memory layout
//!
//! Output block layouts are in [`super::blocks`]; each function's doc says how quants are packed.
//!
//! # Lengths and tails
//!
//! Each function quantizes `min(x.len() / ELEMS, out.len())` blocks (the intended use has
//! `x.len() == out.len() · ELEMS`, but any lengths are accepted, in every build and on every
//! tier of the `Kernels` table); trailing input shorter than a block and surplus output blocks
//! are left alone. Nothing panics and nothing allocates; the K quantizers use a few hundred bytes
//! of stack for the per-super-block quants.
// Indices here are loop counters below the fixed block sizes (`QK`, `QK_K`) into fixed-size
// block arrays and `chunks_exact` chunks of exactly one block: in bounds by construction.
#![allow(clippy::indexing_slicing)]

use super::blocks::*;
use super::dequant::scale_min_k4;
use half::f16;

/// ggml's `GROUP_MAX_EPS`: a sub-block whose largest magnitude is below this is all zeros.
const GROUP_MAX_EPS: f32 = 1e-15;

/// Splits `x` into fixed-size arrays of `N` elements (a trailing partial chunk is skipped).
#[inline(always)]
fn in_blocks<const N: usize>(x: &[f32]) -> impl Iterator<Item = &[f32; N]> {
    x.chunks_exact(N).filter_map(|c| c.try_into().ok())
}

/// ggml's `nearest_int`: round to nearest, ties to even, via the 1.5·2²³ magic constant.
///
/// Exact for `|v| ≤ 4194303`; outside that range it returns the same (meaningless) value as the
/// C code, which only checks the range in debug builds.
#[inline(always)]
fn nearest_int(v: f32) -> i32 {
    let bits = (v + 12_582_912.0).to_bits() as i32;
    (bits & 0x007f_ffff) - 0x0040_0000
}

/// C's `MAX(a, b)` (`a > b ? a : b`), which differs from [`f32::max`] when `b` is NaN.
#[inline(always)]
fn c_max(a: f32, b: f32) -> f32 {
    if a > b {
        a
    } else {
        b
    }
}

/// Largest `|x|` of a block (C `MAX` semantics, starting from 0).
#[inline(always)]
fn abs_max(x: &[f32]) -> f32 {
    x.iter().fold(0.0, |amax, &v| c_max(amax, libm::fabsf(v)))
}

/// The first element of largest magnitude and that magnitude, `(max, amax)` (both 0 when every
/// element is ±0).
#[inline(always)]
fn signed_abs_max(x: &[f32]) -> (f32, f32) {
    let (mut max, mut amax) = (0.0f32, 0.0f32);
    for &v in x {
        let ax = libm::fabsf(v);
        if ax > amax {
            amax = ax;
            max = v;
        }
    }
    (max, amax)
}

/// f32 → Q8_0 (ggml `quantize_row_q8_0_ref`).
///
/// Per block of 32: `amax = max |x|`, `d = amax / 127`, `id = d ≠ 0 ? 1 / d : 0`,
/// `qs[i] = roundf(x[i] · id)` (ties away from zero), stored `d = f16(d)`.
pub fn quantize_q8_0(x: &[f32], out: &mut [BlockQ8_0]) {
    for (xb, yb) in in_blocks::<QK>(x).zip(out.iter_mut()) {
        let d = abs_max(xb) / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        yb.d = f16::from_f32(d);
        for (q, &v) in yb.qs.iter_mut().zip(xb) {
            *q = libm::roundf(v * id) as i8;
        }
    }
}

/// f32 → Q8_1 (ggml `quantize_row_q8_1_ref`).
///
/// As [`quantize_q8_0`], plus `s = f16(d · Σ qs)` with `d` the unrounded f32 scale and the sum
/// taken in integers.
pub fn quantize_q8_1(x: &[f32], out: &mut [BlockQ8_1]) {
    for (xb, yb) in in_blocks::<QK>(x).zip(out.iter_mut()) {
        let d = abs_max(xb) / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        yb.d = f16::from_f32(d);
        let mut sum = 0i32;
        for (q, &v) in yb.qs.iter_mut().zip(xb) {
            *q = libm::roundf(v * id) as i8;
            sum += i32::from(*q);
        }
        yb.s = f16::from_f32(sum as f32 * d);
    }
}

/// f32 → Q8_K (ggml `quantize_row_q8_K_ref`).
///
/// Per super-block of 256: `max` = the first element of largest magnitude; if it is 0 the block
/// is all zeros. Otherwise `iscale = −127 / max`, `qs[i] = min(127, nearest_int(iscale · x[i]))`,
/// `d = 1 / iscale` (kept in f32), and `bsums[g] = Σ qs[16g .. 16g + 16]`. (ggml leaves `bsums`
/// untouched for an all-zero block; here they are zeroed.)
pub fn quantize_q8_k(x: &[f32], out: &mut [BlockQ8K]) {
    for (xb, yb) in in_blocks::<QK_K>(x).zip(out.iter_mut()) {
        let (max, amax) = signed_abs_max(xb);
        if amax == 0.0 {
            yb.d = 0.0;
            yb.qs = [0; QK_K];
            yb.bsums = [0; QK_K / 16];
            continue;
        }
        let iscale = -127.0 / max;
        for (q, &v) in yb.qs.iter_mut().zip(xb) {
            *q = nearest_int(iscale * v).min(127) as i8;
        }
        for (s, qs) in yb.bsums.iter_mut().zip(yb.qs.chunks_exact(16)) {
            *s = qs.iter().map(|&q| i16::from(q)).sum();
        }
        yb.d = 1.0 / iscale;
    }
}

/// f32 → Q4_0 (ggml `quantize_row_q4_0_ref`).
///
/// Per block of 32: `max` = the first element of largest magnitude, `d = max / −8`,
/// `id = d ≠ 0 ? 1 / d : 0`, `q = min(15, trunc(x · id + 8.5))`; element `j` goes to the low
/// nibble of `qs[j]`, element `j + 16` to the high nibble. Stored `d = f16(d)`. An all-zero
/// block therefore stores `d = −0` and nibbles 8 (as ggml does), not zero bytes.
pub fn quantize_q4_0(x: &[f32], out: &mut [BlockQ4_0]) {
    for (xb, yb) in in_blocks::<QK>(x).zip(out.iter_mut()) {
        let (mut max, mut amax) = (0.0f32, 0.0f32);
        for &v in xb {
            if amax < libm::fabsf(v) {
                amax = libm::fabsf(v);
                max = v;
            }
        }
        let d = max / -8.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        yb.d = f16::from_f32(d);
        let (lo, hi) = xb.split_at(QK / 2);
        for ((q, &a), &b) in yb.qs.iter_mut().zip(lo).zip(hi) {
            let q0 = ((a * id + 8.5) as i8).min(15) as u8;
            let q1 = ((b * id + 8.5) as i8).min(15) as u8;
            *q = q0 | (q1 << 4);
        }
    }
}

/// f32 → Q4_1 (ggml `quantize_row_q4_1_ref`).
///
/// Per block of 32: `d = (max − min) / 15`, `id = d ≠ 0 ? 1 / d : 0`,
/// `q = min(15, trunc((x − min) · id + 0.5))`, packed as Q4_0. Stored `d = f16(d)`,
/// `m = f16(min)`.
pub fn quantize_q4_1(x: &[f32], out: &mut [BlockQ4_1]) {
    for (xb, yb) in in_blocks::<QK>(x).zip(out.iter_mut()) {
        let (mut min, mut max) = (f32::MAX, -f32::MAX);
        for &v in xb {
            if v < min {
                min = v;
            }
            if v > max {
                max = v;
            }
        }
        let d = (max - min) / 15.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        yb.d = f16::from_f32(d);
        yb.m = f16::from_f32(min);
        let (lo, hi) = xb.split_at(QK / 2);
        for ((q, &a), &b) in yb.qs.iter_mut().zip(lo).zip(hi) {
            let q0 = (((a - min) * id + 0.5) as i8).min(15) as u8;
            let q1 = (((b - min) * id + 0.5) as i8).min(15) as u8;
            *q = q0 | (q1 << 4);
        }
    }
}

/// Q4_K sub-block fit (ggml `make_qkx2_quants` with `n = 32`, `nmax = 15`, `rmin = −1`,
/// `rdelta = 0.1`, `nstep = 20`, squared error).
///
/// Fits `x ≈ scale · L + min` with `L` in `0..=15` and `min ≤ 0`, minimising `Σ w (scale·L + min − x)²`:
/// starting from `iscale = 15 / (max − min)`, it tries `iscale = (−1 + 0.1·k + 15) / (max − min)`
/// for `k = 0..=20`, solves the weighted two-by-two least-squares problem for each rounding, and keeps
/// the best. Writes the quants to `l` and returns `(scale, −min)`.
fn make_qkx2_quants(
    x: &[f32; 32],
    weights: &[f32; 32],
    l: &mut [u8; 32],
    laux: &mut [u8; 32],
) -> (f32, f32) {
    const NMAX: i32 = 15;
    const RMIN: f32 = -1.0;
    const RDELTA: f32 = 0.1;
    const NSTEP: i32 = 20;

    let mut min = x[0];
    let mut max = x[0];
    let mut sum_w = weights[0];
    let mut sum_x = sum_w * x[0];
    for (&xi, &w) in x.iter().zip(weights).skip(1) {
        if xi < min {
            min = xi;
        }
        if xi > max {
            max = xi;
        }
        sum_w += w;
        sum_x += w * xi;
    }
    if min > 0.0 {
        min = 0.0;
    }
    if max == min {
        *l = [0; 32];
        return (0.0, -min);
    }
    let mut iscale = NMAX as f32 / (max - min);
    let mut scale = 1.0 / iscale;
    let mut best_error = 0.0f32;
    for ((li, &xi), &w) in l.iter_mut().zip(x).zip(weights) {
        *li = nearest_int(iscale * (xi - min)).clamp(0, NMAX) as u8;
        let diff = scale * f32::from(*li) + min - xi;
        best_error += w * (diff * diff);
    }
    for is in 0..=NSTEP {
        iscale = (RMIN + RDELTA * is as f32 + NMAX as f32) / (max - min);
        let (mut sum_l, mut sum_l2, mut sum_xl) = (0.0f32, 0.0f32, 0.0f32);
        for ((la, &xi), &w) in laux.iter_mut().zip(x).zip(weights) {
            let q = nearest_int(iscale * (xi - min)).clamp(0, NMAX);
            *la = q as u8;
            let q = q as f32;
            sum_l += w * q;
            sum_l2 += w * q * q;
            sum_xl += w * q * xi;
        }
        let det = sum_w * sum_l2 - sum_l * sum_l;
        if det > 0.0 {
            let mut this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
            let mut this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
            if this_min > 0.0 {
                this_min = 0.0;
                this_scale = sum_xl / sum_l2;
            }
            let mut cur_error = 0.0f32;
            for ((&la, &xi), &w) in laux.iter().zip(x).zip(weights) {
                let diff = this_scale * f32::from(la) + this_min - xi;
                cur_error += w * (diff * diff);
            }
            if cur_error < best_error {
                *l = *laux;
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    (scale, -min)
}

/// f32 → Q4_K (ggml `quantize_row_q4_K_ref`).
///
/// Per super-block of 256, for each sub-block `j` of 32: weights `w = sqrt(Σx²/32) + |x|`, and
/// ggml's `make_qkx2_quants` fit `x ≈ s_j · q − m_j` (`q` in 0..=15, `m_j ≥ 0`): start from
/// `iscale = 15 / (max − min)` (`min` clamped to ≤ 0), try `iscale = (14 + 0.1·k) / (max − min)`
/// for `k = 0..=20`, solve the weighted least-squares `(s, m)` for each rounding and keep the one
/// with the smallest `Σ w (s·q − m − x)²`. Then
/// `d = f16(max s / 63)`, `dmin = f16(max m / 63)`, the 6-bit sub-scales are
/// `min(63, nearest_int(63 / max s · s_j))` (and likewise for mins), packed as ggml's
/// `get_scale_min_k4` expects. Finally every sub-block with a non-zero `d · sc_j` is requantized
/// against the rounded scales: `q = clamp(nearest_int((x + dmin · m_j) / (d · sc_j)), 0, 15)`.
/// Sub-blocks `2r` / `2r + 1` go to the low / high nibbles of `qs[32r .. 32r + 32]`.
pub fn quantize_q4_k(x: &[f32], out: &mut [BlockQ4K]) {
    for (xb, yb) in in_blocks::<QK_K>(x).zip(out.iter_mut()) {
        let mut l = [[0u8; 32]; QK_K / 32];
        let mut laux = [0u8; 32];
        let mut scales = [0.0f32; QK_K / 32];
        let mut mins = [0.0f32; QK_K / 32];
        let (mut max_scale, mut max_min) = (0.0f32, 0.0f32);
        let subs = xb
            .chunks_exact(32)
            .filter_map(|c| <&[f32; 32]>::try_from(c).ok());
        for (((xs, ls), s), m) in subs.zip(&mut l).zip(&mut scales).zip(&mut mins) {
            let sum_x2 = xs.iter().fold(0.0f32, |acc, &v| acc + v * v);
            let av_x = libm::sqrtf(sum_x2 / 32.0);
            let weights = xs.map(|v| av_x + libm::fabsf(v));
            (*s, *m) = make_qkx2_quants(xs, &weights, ls, &mut laux);
            if *s > max_scale {
                max_scale = *s;
            }
            if *m > max_min {
                max_min = *m;
            }
        }

        let inv_scale = if max_scale > 0.0 {
            63.0 / max_scale
        } else {
            0.0
        };
        let inv_min = if max_min > 0.0 { 63.0 / max_min } else { 0.0 };
        let mut packed = [0u8; K_SCALE_SIZE];
        for j in 0..QK_K / 32 {
            let ls = (nearest_int(inv_scale * scales[j]) as u8).min(63);
            let lm = (nearest_int(inv_min * mins[j]) as u8).min(63);
            if j < 4 {
                packed[j] = ls;
                packed[j + 4] = lm;
            } else {
                packed[j + 4] = (ls & 0x0F) | ((lm & 0x0F) << 4);
                packed[j - 4] |= (ls >> 4) << 6;
                packed[j] |= (lm >> 4) << 6;
            }
        }
        yb.scales = packed;
        yb.d = f16::from_f32(max_scale / 63.0);
        yb.dmin = f16::from_f32(max_min / 63.0);

        let (d_all, dmin_all) = (yb.d.to_f32(), yb.dmin.to_f32());
        let subs = xb.chunks_exact(32);
        for (j, (xs, ls)) in subs.zip(&mut l).enumerate() {
            let (sc, m) = scale_min_k4(j, &packed);
            let d = d_all * f32::from(sc);
            if d == 0.0 {
                continue;
            }
            let dm = dmin_all * f32::from(m);
            for (q, &v) in ls.iter_mut().zip(xs) {
                *q = nearest_int((v + dm) / d).clamp(0, 15) as u8;
            }
        }

        for (qs, pair) in yb.qs.chunks_exact_mut(32).zip(l.chunks_exact(2)) {
            if let [lo, hi] = pair {
                for ((q, &a), &b) in qs.iter_mut().zip(lo).zip(hi) {
                    *q = a | (b << 4);
                }
            }
        }
    }
}

/// Q6_K sub-block fit (ggml `make_qx_quants` with `n = 16`, `nmax = 32`, `rmse_type = 1`, no
/// importance weights).
///
/// With `max` the first element of largest magnitude: an all-(near-)zero sub-block
/// (`|max| < 1e-15`) gives `L = 0`, scale 0. Otherwise for `iscale = −32 / max` it rounds
/// `l = clamp(nearest_int(iscale · x), −32, 31)` and takes the weighted least-squares scale
/// `Σ w x l / Σ w l²` with `w = x²`; it then tries `iscale = −(32 + 0.1·k) / max` for
/// `k = ±1..=±9` and keeps the rounding that maximises `(Σ w x l)² / Σ w l²`. Writes `l + 32` to
/// `out` and returns the scale.
fn make_qx_quants(x: &[f32; 16], out: &mut [u8; 16]) -> f32 {
    const NMAX: i32 = 32;
    let (max, amax) = signed_abs_max(x);
    if amax < GROUP_MAX_EPS {
        *out = [0; 16];
        return 0.0;
    }
    let quant = |iscale: f32, v: f32| nearest_int(iscale * v).clamp(-NMAX, NMAX - 1);

    let iscale = -(NMAX as f32) / max;
    let (mut sumlx, mut suml2) = (0.0f32, 0.0f32);
    for (o, &v) in out.iter_mut().zip(x) {
        let l = quant(iscale, v);
        *o = (l + NMAX) as u8;
        let w = v * v;
        let l = l as f32;
        sumlx += w * v * l;
        suml2 += w * l * l;
    }
    let mut scale = if suml2 != 0.0 { sumlx / suml2 } else { 0.0 };
    let mut best = scale * sumlx;
    for is in (-9..=9).filter(|&is| is != 0) {
        let iscale = -(NMAX as f32 + 0.1 * is as f32) / max;
        let (mut sumlx, mut suml2) = (0.0f32, 0.0f32);
        for &v in x {
            let l = quant(iscale, v) as f32;
            let w = v * v;
            sumlx += w * v * l;
            suml2 += w * l * l;
        }
        if suml2 > 0.0 && sumlx * sumlx > best * suml2 {
            for (o, &v) in out.iter_mut().zip(x) {
                *o = (quant(iscale, v) + NMAX) as u8;
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    scale
}

/// f32 → Q6_K (ggml `quantize_row_q6_K_ref`).
///
/// Per super-block of 256: each sub-block `j` of 16 gets a signed scale `s_j` from ggml's
/// `make_qx_quants` fit (`l = clamp(nearest_int(x · iscale), −32, 31)` for
/// `iscale = −(32 + 0.1·k) / max`, `k` in −9..=9, keeping the `l` that maximises
/// `(Σ x³ l)² / Σ x² l²`; `s_j = Σ x³ l / Σ x² l²`); with `max_s` the `s_j` of largest magnitude (an all-zero
/// block if `|max_s| < 1e-15`), `iscale = −128 / max_s`, `d = f16(1 / iscale)`,
/// `scales[j] = min(127, nearest_int(iscale · s_j))`. Every sub-block with a non-zero
/// `d · scales[j]` is requantized: `q = clamp(nearest_int(x / (d · scales[j])), −32, 31) + 32`.
/// Packing, per half `h` of 128 elements and `l` in 0..32 (`L(r) = q[128h + 32r + l]`):
/// `ql[64h + l] = L(0) & 0xF | (L(2) & 0xF) << 4`, `ql[64h + 32 + l] = L(1) & 0xF | (L(3) & 0xF) << 4`,
/// `qh[32h + l] = Σ_r (L(r) >> 4) << 2r`.
pub fn quantize_q6_k(x: &[f32], out: &mut [BlockQ6K]) {
    for (xb, yb) in in_blocks::<QK_K>(x).zip(out.iter_mut()) {
        let mut l = [[0u8; 16]; QK_K / 16];
        let mut scales = [0.0f32; QK_K / 16];
        let (mut max_scale, mut max_abs_scale) = (0.0f32, 0.0f32);
        let subs = xb
            .chunks_exact(16)
            .filter_map(|c| <&[f32; 16]>::try_from(c).ok());
        for ((xs, ls), s) in subs.zip(&mut l).zip(&mut scales) {
            *s = make_qx_quants(xs, ls);
            if libm::fabsf(*s) > max_abs_scale {
                max_abs_scale = libm::fabsf(*s);
                max_scale = *s;
            }
        }
        if max_abs_scale < GROUP_MAX_EPS {
            *yb = bytemuck::Zeroable::zeroed();
            continue;
        }

        let iscale = -128.0 / max_scale;
        yb.d = f16::from_f32(1.0 / iscale);
        for (q, &s) in yb.scales.iter_mut().zip(&scales) {
            *q = nearest_int(iscale * s).min(127) as i8;
        }

        let d_all = yb.d.to_f32();
        for ((xs, ls), &sc) in xb.chunks_exact(16).zip(&mut l).zip(&yb.scales) {
            let d = d_all * f32::from(sc);
            if d == 0.0 {
                continue;
            }
            for (q, &v) in ls.iter_mut().zip(xs) {
                *q = (nearest_int(v / d).clamp(-32, 31) + 32) as u8;
            }
        }

        let flat: &[u8; QK_K] = bytemuck::cast_ref(&l);
        for h in 0..2 {
            for i in 0..32 {
                let q = |r: usize| flat[128 * h + 32 * r + i];
                yb.ql[64 * h + i] = (q(0) & 0x0F) | ((q(2) & 0x0F) << 4);
                yb.ql[64 * h + 32 + i] = (q(1) & 0x0F) | ((q(3) & 0x0F) << 4);
                yb.qh[32 * h + i] =
                    (q(0) >> 4) | ((q(1) >> 4) << 2) | ((q(2) >> 4) << 4) | ((q(3) >> 4) << 6);
            }
        }
    }
}
