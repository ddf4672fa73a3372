//! Scalar row dot products (`kernels::dot`) against independent references:
//! - a test-local decoding of every block format (written from the layout table in
//!   `quant::blocks`), summed exactly in f64 — checked within a rounding-error bound;
//! - the documented per-block float order, re-implemented here on the test-local integers —
//!   checked bit for bit (this is the contract SIMD tiers must reproduce);
//! - hand-computed tiny cases, and one-hot activations that pin each element's position.

// The naive references index on purpose: plain loops, independent of the kernels' iterators.
#![allow(clippy::needless_range_loop)]

use half::f16;
use phi3_kernels::kernels::dot::*;
use phi3_kernels::quant::*;
use proptest::prelude::*;

/// Unit roundoff of f32 (round to nearest).
const U: f64 = f32::EPSILON as f64 / 2.0;
/// Roundings per block term beyond the running sum: scale product, `isum as f32`, the product,
/// and (K-quants) the `d·isum − dmin·summs` subtraction.
const ROUNDINGS_PER_BLOCK: f64 = 4.0;
/// Absolute slack for f32 underflow when tiny scales multiply (subnormal products).
const ABS_SLACK: f64 = 1e-30;
/// Q8_1's `s = d·Σq` is stored as f16: relative rounding of at most 2^-11.
const F16_REL_ROUNDING: f64 = 1.0 / 2048.0;

/// The error bound of an f32 sum of `n_terms` block (or element) terms, each of ~4 roundings,
/// whose absolute values sum to `mass`.
fn tol(n_terms: usize, mass: f64) -> f64 {
    1.01 * (n_terms as f64 + ROUNDINGS_PER_BLOCK) * U * mass + ABS_SLACK
}

fn cases() -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = 64;
    }
    c
}

fn h(v: f32) -> f16 {
    f16::from_f32(v)
}

// ---------------------------------------------------------------------------------------------
// Test-local decoding of the block formats (integers per element, plus scales).

fn ints_q4_0(b: &BlockQ4_0) -> [i32; 32] {
    let mut q = [0; 32];
    for j in 0..16 {
        q[j] = (b.qs[j] & 0xF) as i32 - 8;
        q[j + 16] = (b.qs[j] >> 4) as i32 - 8;
    }
    q
}

fn ints_q4_1(b: &BlockQ4_1) -> [i32; 32] {
    let mut q = [0; 32];
    for j in 0..16 {
        q[j] = (b.qs[j] & 0xF) as i32;
        q[j + 16] = (b.qs[j] >> 4) as i32;
    }
    q
}

fn ints_q5_0(b: &BlockQ5_0) -> [i32; 32] {
    let qh = u32::from_le_bytes(b.qh);
    let mut q = [0; 32];
    for j in 0..16 {
        q[j] = ((b.qs[j] & 0xF) as u32 | ((qh >> j) & 1) << 4) as i32 - 16;
        q[j + 16] = ((b.qs[j] >> 4) as u32 | ((qh >> (j + 16)) & 1) << 4) as i32 - 16;
    }
    q
}

/// ggml's `get_scale_min_k4`, indexed form.
fn scale_min_k4(j: usize, s: &[u8; 12]) -> (i32, i32) {
    if j < 4 {
        ((s[j] & 63) as i32, (s[j + 4] & 63) as i32)
    } else {
        (
            ((s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4)) as i32,
            ((s[j + 4] >> 4) | ((s[j] >> 6) << 4)) as i32,
        )
    }
}

/// Inverse of `scale_min_k4`: packs 8 six-bit scales and mins.
fn pack_scales_k4(sc: [u8; 8], m: [u8; 8]) -> [u8; 12] {
    let mut s = [0u8; 12];
    for j in 0..4 {
        s[j] = (sc[j] & 63) | ((sc[j + 4] >> 4) << 6);
        s[j + 4] = (m[j] & 63) | ((m[j + 4] >> 4) << 6);
        s[j + 8] = (sc[j + 4] & 0xF) | ((m[j + 4] & 0xF) << 4);
    }
    s
}

/// Unsigned quants of Q4_K (0..16) or Q5_K (0..32, with `qh`).
fn ints_k4(qs: &[u8; 128], qh: Option<&[u8; 32]>) -> [i32; 256] {
    let mut q = [0; 256];
    for g in 0..4 {
        for l in 0..32 {
            let b = qs[32 * g + l];
            let (h0, h1) = match qh {
                Some(qh) => (
                    ((qh[l] >> (2 * g)) & 1) as i32,
                    ((qh[l] >> (2 * g + 1)) & 1) as i32,
                ),
                None => (0, 0),
            };
            q[64 * g + l] = (b & 0xF) as i32 + 16 * h0;
            q[64 * g + 32 + l] = (b >> 4) as i32 + 16 * h1;
        }
    }
    q
}

/// Signed quants `q − 32` of Q6_K.
fn ints_q6_k(b: &BlockQ6K) -> [i32; 256] {
    let mut q = [0; 256];
    for half in 0..2 {
        let (ql, qh, y) = (&b.ql[64 * half..], &b.qh[32 * half..], 128 * half);
        for l in 0..32 {
            q[y + l] = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) as i32 - 32;
            q[y + l + 32] = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) as i32 - 32;
            q[y + l + 64] = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i32 - 32;
            q[y + l + 96] = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i32 - 32;
        }
    }
    q
}

fn f(v: f16) -> f64 {
    v.to_f64()
}

// ---------------------------------------------------------------------------------------------
// f64 references: exact value of the row dot product, and the "mass" Σ|terms| for the bound.

/// (exact, mass) for the 32-element formats given per-block (d_w, ints_w, m_w) and Q8 activations.
fn exact_32(w: &[(f64, [i32; 32], f64)], x: &[(f64, [i8; 32])]) -> (f64, f64) {
    let (mut exact, mut mass) = (0.0, 0.0);
    for ((dw, qw, mw), (dx, qx)) in w.iter().zip(x) {
        for l in 0..32 {
            let wv = dw * qw[l] as f64 + mw;
            let xv = dx * qx[l] as f64;
            exact += wv * xv;
            mass += (dw * qw[l] as f64).abs() * xv.abs() + mw.abs() * xv.abs();
        }
    }
    (exact, mass)
}

/// (exact, mass) for Q4_K / Q5_K: `w = d·sc·q − dmin·m`.
fn exact_k4(w: &[(f64, f64, [u8; 12], [i32; 256])], x: &[BlockQ8K]) -> (f64, f64) {
    let (mut exact, mut mass) = (0.0, 0.0);
    for ((d, dmin, s, q), bx) in w.iter().zip(x) {
        for i in 0..256 {
            let (sc, m) = scale_min_k4(i / 32, s);
            let a = d * sc as f64 * q[i] as f64;
            let b = dmin * m as f64;
            let xv = bx.d as f64 * bx.qs[i] as f64;
            exact += (a - b) * xv;
            mass += (a.abs() + b.abs()) * xv.abs();
        }
    }
    (exact, mass)
}

// ---------------------------------------------------------------------------------------------
// Documented block order, re-implemented on the test-local integers (must match bit for bit).

fn isum(a: &[i32], b: &[i8]) -> i32 {
    a.iter().zip(b).map(|(&p, &q)| p * q as i32).sum()
}

/// The documented 8-lane order: block `b` goes to accumulator `b % 8`, then
/// `((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7))` — written out independently of the crate.
fn lanes8(terms: Vec<f32>) -> f32 {
    let mut a = [0.0f32; 8];
    for (b, t) in terms.into_iter().enumerate() {
        a[b % 8] += t;
    }
    ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]))
}

fn doc_q4_0(w: &[BlockQ4_0], x: &[BlockQ8_0]) -> f32 {
    lanes8(
        w.iter()
            .zip(x)
            .map(|(a, b)| (a.d.to_f32() * b.d.to_f32()) * isum(&ints_q4_0(a), &b.qs) as f32)
            .collect(),
    )
}

fn doc_q4_1(w: &[BlockQ4_1], x: &[BlockQ8_1]) -> f32 {
    lanes8(
        w.iter()
            .zip(x)
            .map(|(a, b)| {
                let t = (a.d.to_f32() * b.d.to_f32()) * isum(&ints_q4_1(a), &b.qs) as f32;
                t + a.m.to_f32() * b.s.to_f32()
            })
            .collect(),
    )
}

fn doc_q5_0(w: &[BlockQ5_0], x: &[BlockQ8_0]) -> f32 {
    lanes8(
        w.iter()
            .zip(x)
            .map(|(a, b)| (a.d.to_f32() * b.d.to_f32()) * isum(&ints_q5_0(a), &b.qs) as f32)
            .collect(),
    )
}

fn doc_q8_0(w: &[BlockQ8_0], x: &[BlockQ8_0]) -> f32 {
    lanes8(
        w.iter()
            .zip(x)
            .map(|(a, b)| {
                let qa: Vec<i32> = a.qs.iter().map(|&v| v as i32).collect();
                (a.d.to_f32() * b.d.to_f32()) * isum(&qa, &b.qs) as f32
            })
            .collect(),
    )
}

fn doc_k4(d: f16, dmin: f16, scales: &[u8; 12], q: &[i32; 256], b: &BlockQ8K) -> f32 {
    let mut is = 0i32;
    let mut summs = 0i32;
    for j in 0..8 {
        let (sc, m) = scale_min_k4(j, scales);
        is += sc * isum(&q[32 * j..32 * j + 32], &b.qs[32 * j..32 * j + 32]);
        summs += m * (b.bsums[2 * j] as i32 + b.bsums[2 * j + 1] as i32);
    }
    let dd = d.to_f32() * b.d;
    let dm = dmin.to_f32() * b.d;
    dd * is as f32 - dm * summs as f32
}

fn doc_q4_k(w: &[BlockQ4K], x: &[BlockQ8K]) -> f32 {
    let mut s = 0.0f32;
    for (a, b) in w.iter().zip(x) {
        s += doc_k4(a.d, a.dmin, &a.scales, &ints_k4(&a.qs, None), b);
    }
    s
}

fn doc_q5_k(w: &[BlockQ5K], x: &[BlockQ8K]) -> f32 {
    let mut s = 0.0f32;
    for (a, b) in w.iter().zip(x) {
        s += doc_k4(a.d, a.dmin, &a.scales, &ints_k4(&a.qs, Some(&a.qh)), b);
    }
    s
}

fn doc_q6_k(w: &[BlockQ6K], x: &[BlockQ8K]) -> f32 {
    let mut s = 0.0f32;
    for (a, b) in w.iter().zip(x) {
        let q = ints_q6_k(a);
        let mut is = 0i32;
        for j in 0..16 {
            is += a.scales[j] as i32 * isum(&q[16 * j..16 * j + 16], &b.qs[16 * j..16 * j + 16]);
        }
        s += (a.d.to_f32() * b.d) * is as f32;
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Block generators from raw bytes (shrinkable) and chosen scales.

/// `n` blocks of `T` from `bytes` (at least `n · size_of::<T>()` long).
fn blocks<T: bytemuck::Pod>(bytes: &[u8], n: usize) -> Vec<T> {
    bytes
        .chunks_exact(core::mem::size_of::<T>())
        .take(n)
        .map(bytemuck::pod_read_unaligned)
        .collect()
}

fn q8_0_blocks(bytes: &[u8], scales: &[f32]) -> Vec<BlockQ8_0> {
    let mut v: Vec<BlockQ8_0> = blocks(bytes, scales.len());
    for (b, &d) in v.iter_mut().zip(scales) {
        b.d = h(d);
    }
    v
}

fn q8_1_blocks(bytes: &[u8], scales: &[f32]) -> Vec<BlockQ8_1> {
    let mut v: Vec<BlockQ8_1> = blocks(bytes, scales.len());
    for (b, &d) in v.iter_mut().zip(scales) {
        b.d = h(d);
        let sum: i32 = b.qs.iter().map(|&q| q as i32).sum();
        b.s = h(b.d.to_f32() * sum as f32);
    }
    v
}

fn q8_k_blocks(bytes: &[u8], scales: &[f32]) -> Vec<BlockQ8K> {
    let mut v: Vec<BlockQ8K> = blocks(bytes, scales.len());
    for (b, &d) in v.iter_mut().zip(scales) {
        b.d = d;
        for g in 0..16 {
            b.bsums[g] = b.qs[16 * g..16 * g + 16].iter().map(|&q| q as i16).sum();
        }
    }
    v
}

fn q8_0_view(x: &[BlockQ8_0]) -> Vec<(f64, [i8; 32])> {
    x.iter().map(|b| (f(b.d), b.qs)).collect()
}

fn q8_1_view(x: &[BlockQ8_1]) -> Vec<(f64, [i8; 32])> {
    x.iter().map(|b| (f(b.d), b.qs)).collect()
}

/// Scales: finite, both signs, including exact zero.
fn scale() -> impl Strategy<Value = f32> {
    prop_oneof![Just(0.0f32), -2.0f32..2.0, -1e-3f32..1e-3]
}

fn bytes_for<T>(max_blocks: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), max_blocks * core::mem::size_of::<T>())
}

const MAX_32: usize = 12;
const MAX_K: usize = 4;

/// The float order of `kernels::float` restated: element `i` goes to lane `i % 16` with a fused
/// multiply-add, the tail padded with zeros through the same fma, then the lanes are folded in
/// halves (`i + 8`, `i + 4`, `i + 2`, `i + 1`).
fn float_order_dot(w: &[f32], x: &[f32]) -> f32 {
    let n = w.len().min(x.len());
    let mut lanes = [0.0f32; 16];
    for i in 0..n.div_ceil(16) * 16 {
        let (a, b) = if i < n { (w[i], x[i]) } else { (0.0, 0.0) };
        lanes[i % 16] = a.mul_add(b, lanes[i % 16]);
    }
    let mut half = 8;
    while half > 0 {
        for i in 0..half {
            lanes[i] += lanes[i + half];
        }
        half /= 2;
    }
    lanes[0]
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn q4_0_matches(n in 0..=MAX_32, wb in bytes_for::<BlockQ4_0>(MAX_32),
                    xb in bytes_for::<BlockQ8_0>(MAX_32),
                    ws in prop::collection::vec(scale(), MAX_32),
                    xs in prop::collection::vec(scale(), MAX_32)) {
        let mut w: Vec<BlockQ4_0> = blocks(&wb, n);
        for (b, &d) in w.iter_mut().zip(&ws) { b.d = h(d); }
        let x = q8_0_blocks(&xb, &xs[..n]);
        let got = dot_q4_0_q8_0(&w, &x);
        prop_assert_eq!(got.to_bits(), doc_q4_0(&w, &x).to_bits());
        let wv: Vec<_> = w.iter().map(|b| (f(b.d), ints_q4_0(b), 0.0)).collect();
        let (exact, mass) = exact_32(&wv, &q8_0_view(&x));
        prop_assert!((got as f64 - exact).abs() <= tol(n, mass), "{} vs {}", got, exact);
    }

    #[test]
    fn q4_1_matches(n in 0..=MAX_32, wb in bytes_for::<BlockQ4_1>(MAX_32),
                    xb in bytes_for::<BlockQ8_1>(MAX_32),
                    ws in prop::collection::vec((scale(), scale()), MAX_32),
                    xs in prop::collection::vec(scale(), MAX_32)) {
        let mut w: Vec<BlockQ4_1> = blocks(&wb, n);
        for (b, &(d, m)) in w.iter_mut().zip(&ws) { b.d = h(d); b.m = h(m); }
        let x = q8_1_blocks(&xb, &xs[..n]);
        let got = dot_q4_1_q8_1(&w, &x);
        prop_assert_eq!(got.to_bits(), doc_q4_1(&w, &x).to_bits());
        let wv: Vec<_> = w.iter().map(|b| (f(b.d), ints_q4_1(b), f(b.m))).collect();
        let (exact, mass) = exact_32(&wv, &q8_1_view(&x));
        // The kernel uses the stored f16 `s` for the `m` term: add its rounding.
        let s_err: f64 = w.iter().zip(&x).map(|(a, b)| f(a.m).abs() * f(b.s).abs()).sum::<f64>()
            * F16_REL_ROUNDING;
        prop_assert!((got as f64 - exact).abs() <= tol(n, mass) + s_err, "{} vs {}", got, exact);
    }

    #[test]
    fn q5_0_matches(n in 0..=MAX_32, wb in bytes_for::<BlockQ5_0>(MAX_32),
                    xb in bytes_for::<BlockQ8_0>(MAX_32),
                    ws in prop::collection::vec(scale(), MAX_32),
                    xs in prop::collection::vec(scale(), MAX_32)) {
        let mut w: Vec<BlockQ5_0> = blocks(&wb, n);
        for (b, &d) in w.iter_mut().zip(&ws) { b.d = h(d); }
        let x = q8_0_blocks(&xb, &xs[..n]);
        let got = dot_q5_0_q8_0(&w, &x);
        prop_assert_eq!(got.to_bits(), doc_q5_0(&w, &x).to_bits());
        let wv: Vec<_> = w.iter().map(|b| (f(b.d), ints_q5_0(b), 0.0)).collect();
        let (exact, mass) = exact_32(&wv, &q8_0_view(&x));
        prop_assert!((got as f64 - exact).abs() <= tol(n, mass), "{} vs {}", got, exact);
    }

    #[test]
    fn q8_0_matches(n in 0..=MAX_32, wb in bytes_for::<BlockQ8_0>(MAX_32),
                    xb in bytes_for::<BlockQ8_0>(MAX_32),
                    ws in prop::collection::vec(scale(), MAX_32),
                    xs in prop::collection::vec(scale(), MAX_32)) {
        let w = q8_0_blocks(&wb, &ws[..n]);
        let x = q8_0_blocks(&xb, &xs[..n]);
        let got = dot_q8_0_q8_0(&w, &x);
        prop_assert_eq!(got.to_bits(), doc_q8_0(&w, &x).to_bits());
        let wv: Vec<_> = w.iter().map(|b| {
            let mut q = [0i32; 32];
            for (d, &s) in q.iter_mut().zip(&b.qs) { *d = s as i32; }
            (f(b.d), q, 0.0)
        }).collect();
        let (exact, mass) = exact_32(&wv, &q8_0_view(&x));
        prop_assert!((got as f64 - exact).abs() <= tol(n, mass), "{} vs {}", got, exact);
    }

    #[test]
    fn q4_k_matches(n in 0..=MAX_K, wb in bytes_for::<BlockQ4K>(MAX_K),
                    xb in bytes_for::<BlockQ8K>(MAX_K),
                    ws in prop::collection::vec((scale(), scale()), MAX_K),
                    xs in prop::collection::vec(scale(), MAX_K)) {
        let mut w: Vec<BlockQ4K> = blocks(&wb, n);
        for (b, &(d, m)) in w.iter_mut().zip(&ws) { b.d = h(d); b.dmin = h(m); }
        let x = q8_k_blocks(&xb, &xs[..n]);
        let got = dot_q4_k_q8_k(&w, &x);
        prop_assert_eq!(got.to_bits(), doc_q4_k(&w, &x).to_bits());
        let wv: Vec<_> = w.iter().map(|b| (f(b.d), f(b.dmin), b.scales, ints_k4(&b.qs, None)))
            .collect();
        let (exact, mass) = exact_k4(&wv, &x);
        prop_assert!((got as f64 - exact).abs() <= tol(n, mass), "{} vs {}", got, exact);
    }

    #[test]
    fn q5_k_matches(n in 0..=MAX_K, wb in bytes_for::<BlockQ5K>(MAX_K),
                    xb in bytes_for::<BlockQ8K>(MAX_K),
                    ws in prop::collection::vec((scale(), scale()), MAX_K),
                    xs in prop::collection::vec(scale(), MAX_K)) {
        let mut w: Vec<BlockQ5K> = blocks(&wb, n);
        for (b, &(d, m)) in w.iter_mut().zip(&ws) { b.d = h(d); b.dmin = h(m); }
        let x = q8_k_blocks(&xb, &xs[..n]);
        let got = dot_q5_k_q8_k(&w, &x);
        prop_assert_eq!(got.to_bits(), doc_q5_k(&w, &x).to_bits());
        let wv: Vec<_> = w.iter()
            .map(|b| (f(b.d), f(b.dmin), b.scales, ints_k4(&b.qs, Some(&b.qh))))
            .collect();
        let (exact, mass) = exact_k4(&wv, &x);
        prop_assert!((got as f64 - exact).abs() <= tol(n, mass), "{} vs {}", got, exact);
    }

    #[test]
    fn q6_k_matches(n in 0..=MAX_K, wb in bytes_for::<BlockQ6K>(MAX_K),
                    xb in bytes_for::<BlockQ8K>(MAX_K),
                    ws in prop::collection::vec(scale(), MAX_K),
                    xs in prop::collection::vec(scale(), MAX_K)) {
        let mut w: Vec<BlockQ6K> = blocks(&wb, n);
        for (b, &d) in w.iter_mut().zip(&ws) { b.d = h(d); }
        let x = q8_k_blocks(&xb, &xs[..n]);
        let got = dot_q6_k_q8_k(&w, &x);
        prop_assert_eq!(got.to_bits(), doc_q6_k(&w, &x).to_bits());
        let (mut exact, mut mass) = (0.0, 0.0);
        for (a, b) in w.iter().zip(&x) {
            let q = ints_q6_k(a);
            for i in 0..256 {
                let t = f(a.d) * a.scales[i / 16] as f64 * q[i] as f64 * b.d as f64 * b.qs[i] as f64;
                exact += t;
                mass += t.abs();
            }
        }
        prop_assert!((got as f64 - exact).abs() <= tol(n, mass), "{} vs {}", got, exact);
    }

    #[test]
    fn f16_f32_matches(pairs in prop::collection::vec((-4.0f32..4.0, -4.0f32..4.0), 0..200)) {
        let w: Vec<f16> = pairs.iter().map(|p| h(p.0)).collect();
        let x: Vec<f32> = pairs.iter().map(|p| p.1).collect();
        let got = dot_f16_f32(&w, &x);
        let xw: Vec<f32> = w.iter().map(|a| a.to_f32()).collect();
        prop_assert_eq!(got.to_bits(), float_order_dot(&xw, &x).to_bits(), "float-order sum");
        let exact: f64 = w.iter().zip(&x).map(|(a, b)| f(*a) * *b as f64).sum();
        let mass: f64 = w.iter().zip(&x).map(|(a, b)| (f(*a) * *b as f64).abs()).sum();
        prop_assert!((got as f64 - exact).abs() <= tol(w.len(), mass));
    }

    #[test]
    fn f32_f32_matches(pairs in prop::collection::vec((-4.0f32..4.0, -4.0f32..4.0), 0..200)) {
        let w: Vec<f32> = pairs.iter().map(|p| p.0).collect();
        let x: Vec<f32> = pairs.iter().map(|p| p.1).collect();
        let got = dot_f32_f32(&w, &x);
        prop_assert_eq!(got.to_bits(), float_order_dot(&w, &x).to_bits(), "float-order sum");
        let exact: f64 = w.iter().zip(&x).map(|(a, b)| *a as f64 * *b as f64).sum();
        let mass: f64 = w.iter().zip(&x).map(|(a, b)| (*a as f64 * *b as f64).abs()).sum();
        prop_assert!((got as f64 - exact).abs() <= tol(w.len(), mass));
    }
}

// ---------------------------------------------------------------------------------------------
// Hand-computed cases.

#[test]
fn q4_0_hand_computed() {
    // Every byte 0xA9: low nibble 9 (→ +1) for elements 0..16, high nibble 10 (→ +2) for 16..32.
    let w = BlockQ4_0 {
        d: h(1.0),
        qs: [0xA9; 16],
    };
    let mut qs = [0i8; 32];
    for (j, q) in qs.iter_mut().enumerate() {
        *q = if j < 16 { j as i8 } else { -1 };
    }
    let x = BlockQ8_0 { d: h(0.5), qs };
    // isum = Σ_{j<16} 1·j + Σ 2·(−1) = 120 − 32 = 88; result = 1 · 0.5 · 88.
    assert_eq!(dot_q4_0_q8_0(&[w], &[x]), 44.0);
    // Two blocks accumulate: the second, with d_w = −2, gives −2 · 0.5 · 88 = −88.
    let w2 = BlockQ4_0 { d: h(-2.0), ..w };
    assert_eq!(dot_q4_0_q8_0(&[w, w2], &[x, x]), 44.0 - 88.0);
}

#[test]
fn q4_1_hand_computed() {
    // q = 3 everywhere, d = 0.5, m = −1 → w = 0.5; x = 2 everywhere (d = 1, q = 2, s = 64).
    let w = BlockQ4_1 {
        d: h(0.5),
        m: h(-1.0),
        qs: [0x33; 16],
    };
    let x = BlockQ8_1 {
        d: h(1.0),
        s: h(64.0),
        qs: [2; 32],
    };
    // (0.5·1)·(3·2·32) + (−1)·64 = 96 − 64 = 32 = Σ 0.5 · 2.
    assert_eq!(dot_q4_1_q8_1(&[w], &[x]), 32.0);
}

#[test]
fn q5_0_hand_computed() {
    // Nibbles 0 with all high bits set → q = 16 → value 0; clear bit 3 → element 3 is −16;
    // element 20 has nibble 5 and its high bit → 21 − 16 = 5.
    let mut qs = [0u8; 16];
    qs[4] = 0x50;
    let qh = (!(1u32 << 3)).to_le_bytes();
    let w = BlockQ5_0 { d: h(1.0), qh, qs };
    let mut xq = [0i8; 32];
    xq[3] = 2;
    xq[20] = 3;
    let x = BlockQ8_0 { d: h(1.0), qs: xq };
    assert_eq!(dot_q5_0_q8_0(&[w], &[x]), -16.0 * 2.0 + 5.0 * 3.0);
}

#[test]
fn q8_0_hand_computed() {
    let w = BlockQ8_0 {
        d: h(0.25),
        qs: [-128; 32],
    };
    let x = BlockQ8_0 {
        d: h(2.0),
        qs: [127; 32],
    };
    assert_eq!(dot_q8_0_q8_0(&[w], &[x]), 0.5 * (-128.0 * 127.0 * 32.0));
}

fn q8k_const(d: f32, q: i8) -> BlockQ8K {
    BlockQ8K {
        d,
        qs: [q; 256],
        bsums: [16 * q as i16; 16],
    }
}

#[test]
fn q4_k_hand_computed() {
    // Scales and mins that use the high bits of the packed 6-bit fields.
    let sc = [1u8, 63, 17, 32, 5, 48, 33, 60];
    let m = [0u8, 7, 63, 16, 31, 1, 40, 2];
    let w = BlockQ4K {
        d: h(1.0),
        dmin: h(0.5),
        scales: pack_scales_k4(sc, m),
        qs: [0x11; 128],
    };
    for j in 0..8 {
        assert_eq!(scale_min_k4(j, &w.scales), (sc[j] as i32, m[j] as i32));
    }
    // x = 1 everywhere: Σ_j 32·(1·sc_j·1 − 0.5·m_j).
    let sum_sc: u32 = sc.iter().map(|&v| v as u32).sum();
    let sum_m: u32 = m.iter().map(|&v| v as u32).sum();
    let expected = 32.0 * sum_sc as f32 - 0.5 * 32.0 * sum_m as f32;
    assert_eq!(dot_q4_k_q8_k(&[w], &[q8k_const(1.0, 1)]), expected);
}

#[test]
fn q6_k_hand_computed() {
    // All quants 0 → value −32; scales 1..=16; d = 0.5; x = 1 everywhere (d_x = 2).
    let mut scales = [0i8; 16];
    for (j, s) in scales.iter_mut().enumerate() {
        *s = j as i8 + 1;
    }
    let w = BlockQ6K {
        ql: [0; 128],
        qh: [0; 64],
        scales,
        d: h(0.5),
    };
    // isum = Σ_j (j+1)·16·(−32) = −512·136; result = (0.5·2)·isum.
    assert_eq!(dot_q6_k_q8_k(&[w], &[q8k_const(2.0, 1)]), -512.0 * 136.0);
}

#[test]
fn float_dots_hand_computed() {
    let w = [h(1.0), h(-2.0), h(0.5)];
    assert_eq!(dot_f16_f32(&w, &[3.0, 1.0, 4.0]), 3.0);
    assert_eq!(dot_f32_f32(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]), 32.0);
    assert_eq!(dot_f32_f32(&[], &[]), 0.0);
    assert_eq!(dot_q4_0_q8_0(&[], &[]), 0.0);
}

/// A one-hot Q8_K activation (value 1 at element `i`, d = 1) with consistent bsums.
fn q8k_one_hot(i: usize) -> BlockQ8K {
    let mut b = BlockQ8K {
        d: 1.0,
        qs: [0; 256],
        bsums: [0; 16],
    };
    b.qs[i] = 1;
    b.bsums[i / 16] = 1;
    b
}

/// One-hot activations read each weight element back: this pins the element order of every
/// format (the test-local decoding must agree with the kernel at every position).
#[test]
fn one_hot_reads_each_element() {
    let bytes: Vec<u8> = (0..2048u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let mut q4: BlockQ4_0 = bytemuck::pod_read_unaligned(&bytes[..18]);
    q4.d = h(1.0);
    let mut q41: BlockQ4_1 = bytemuck::pod_read_unaligned(&bytes[..20]);
    q41.d = h(1.0);
    q41.m = h(0.0);
    let mut q5: BlockQ5_0 = bytemuck::pod_read_unaligned(&bytes[..22]);
    q5.d = h(1.0);
    for i in 0..32 {
        let mut qs = [0i8; 32];
        qs[i] = 1;
        let x = BlockQ8_0 { d: h(1.0), qs };
        let x1 = BlockQ8_1 {
            d: h(1.0),
            s: h(1.0),
            qs,
        };
        assert_eq!(
            dot_q4_0_q8_0(&[q4], &[x]),
            ints_q4_0(&q4)[i] as f32,
            "q4_0 {i}"
        );
        assert_eq!(
            dot_q4_1_q8_1(&[q41], &[x1]),
            ints_q4_1(&q41)[i] as f32,
            "q4_1 {i}"
        );
        assert_eq!(
            dot_q5_0_q8_0(&[q5], &[x]),
            ints_q5_0(&q5)[i] as f32,
            "q5_0 {i}"
        );
    }
    let mut q4k: BlockQ4K = bytemuck::pod_read_unaligned(&bytes[..144]);
    q4k.d = h(1.0);
    q4k.dmin = h(1.0);
    let mut q5k: BlockQ5K = bytemuck::pod_read_unaligned(&bytes[..176]);
    q5k.d = h(1.0);
    q5k.dmin = h(1.0);
    let mut q6k: BlockQ6K = bytemuck::pod_read_unaligned(&bytes[..210]);
    q6k.d = h(1.0);
    let (i4, i5, i6) = (
        ints_k4(&q4k.qs, None),
        ints_k4(&q5k.qs, Some(&q5k.qh)),
        ints_q6_k(&q6k),
    );
    for i in 0..256 {
        let x = q8k_one_hot(i);
        let (sc, m) = scale_min_k4(i / 32, &q4k.scales);
        assert_eq!(
            dot_q4_k_q8_k(&[q4k], &[x]),
            (sc * i4[i] - m) as f32,
            "q4_k {i}"
        );
        let (sc, m) = scale_min_k4(i / 32, &q5k.scales);
        assert_eq!(
            dot_q5_k_q8_k(&[q5k], &[x]),
            (sc * i5[i] - m) as f32,
            "q5_k {i}"
        );
        let want = q6k.scales[i / 16] as i32 * i6[i];
        assert_eq!(dot_q6_k_q8_k(&[q6k], &[x]), want as f32, "q6_k {i}");
    }
}

/// Extreme quants and scales stay exact in i32 (no overflow panic in debug builds).
#[test]
fn extreme_values_do_not_overflow() {
    let q6 = BlockQ6K {
        ql: [0; 128],
        qh: [0; 64],
        scales: [-128; 16],
        d: h(1.0),
    };
    let x = q8k_const(1.0, -128);
    // Σ_j (−128)·16·(−32)·(−128) = −2^27.
    assert_eq!(dot_q6_k_q8_k(&[q6], &[x]), -134217728.0);
    let q5k = BlockQ5K {
        d: h(1.0),
        dmin: h(1.0),
        scales: [0xFF; 12],
        qh: [0xFF; 32],
        qs: [0xFF; 128],
    };
    let mut x = q8k_const(1.0, -128);
    x.bsums = [i16::MIN; 16];
    let got = dot_q5_k_q8_k(&[q5k], &[x]);
    // isum = 8·63·32·31·(−128), summs = 8·63·2·(−32768).
    let want = (8 * 63 * 32 * 31 * -128) as f32 - (8 * 63 * 2 * -32768) as f32;
    assert_eq!(got, want);
}

/// Mismatched lengths use the common prefix, in every build (debug builds used to assert).
#[test]
fn mismatched_lengths_use_common_prefix() {
    let w = [1.0f32, 2.0, 3.0];
    assert_eq!(dot_f32_f32(&w, &[1.0, 1.0]), 3.0);
}

/// A one-hot Q8_0 activation block: `q_i = 1`, all else 0, scale 1.
fn q8_0_one_hot(i: usize) -> BlockQ8_0 {
    let mut qs = [0i8; 32];
    qs[i] = 1;
    BlockQ8_0 { d: h(1.0), qs }
}

proptest! {
    #![proptest_config(cases())]

    /// Cross-check against the crate's own dequantizers (written independently, from ggml):
    /// a one-hot activation reads back exactly the dequantized weight, for every format (each
    /// side rounds the same exact product once; only the sign of a zero may differ, since the
    /// kernel adds its block term to `+0.0`).
    #[test]
    fn one_hot_matches_crate_dequant(bytes in prop::collection::vec(any::<u8>(), 210),
                                     d in scale(), dmin in scale()) {
        use phi3_kernels::quant::dequant::*;
        let mut q4: BlockQ4_0 = bytemuck::pod_read_unaligned(&bytes[..18]);
        q4.d = h(d);
        let mut q41: BlockQ4_1 = bytemuck::pod_read_unaligned(&bytes[..20]);
        q41.d = h(d);
        q41.m = h(dmin);
        let mut q5: BlockQ5_0 = bytemuck::pod_read_unaligned(&bytes[..22]);
        q5.d = h(d);
        let mut q8: BlockQ8_0 = bytemuck::pod_read_unaligned(&bytes[..34]);
        q8.d = h(d);
        let mut deq = [[0f32; 32]; 4];
        dequantize_q4_0(&[q4], &mut deq[0]);
        dequantize_q4_1(&[q41], &mut deq[1]);
        dequantize_q5_0(&[q5], &mut deq[2]);
        dequantize_q8_0(&[q8], &mut deq[3]);
        for i in 0..32 {
            let x = q8_0_one_hot(i);
            let x1 = BlockQ8_1 { d: x.d, s: h(1.0), qs: x.qs };
            prop_assert_eq!(dot_q4_0_q8_0(&[q4], &[x]), deq[0][i], "q4_0 {}", i);
            prop_assert_eq!(dot_q4_1_q8_1(&[q41], &[x1]), deq[1][i], "q4_1 {}", i);
            prop_assert_eq!(dot_q5_0_q8_0(&[q5], &[x]), deq[2][i], "q5_0 {}", i);
            prop_assert_eq!(dot_q8_0_q8_0(&[q8], &[x]), deq[3][i], "q8_0 {}", i);
        }
        let mut q4k: BlockQ4K = bytemuck::pod_read_unaligned(&bytes[..144]);
        q4k.d = h(d);
        q4k.dmin = h(dmin);
        let mut q5k: BlockQ5K = bytemuck::pod_read_unaligned(&bytes[..176]);
        q5k.d = h(d);
        q5k.dmin = h(dmin);
        let mut q6k: BlockQ6K = bytemuck::pod_read_unaligned(&bytes[..210]);
        q6k.d = h(d);
        let mut deq = [[0f32; 256]; 3];
        dequantize_q4_k(&[q4k], &mut deq[0]);
        dequantize_q5_k(&[q5k], &mut deq[1]);
        dequantize_q6_k(&[q6k], &mut deq[2]);
        for i in 0..256 {
            let x = q8k_one_hot(i);
            prop_assert_eq!(dot_q4_k_q8_k(&[q4k], &[x]), deq[0][i], "q4_k {}", i);
            prop_assert_eq!(dot_q5_k_q8_k(&[q5k], &[x]), deq[1][i], "q5_k {}", i);
            prop_assert_eq!(dot_q6_k_q8_k(&[q6k], &[x]), deq[2][i], "q6_k {}", i);
        }
    }
}
