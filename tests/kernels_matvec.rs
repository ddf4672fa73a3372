//! `ops::matvec`: shape checks (every error path), the format pairing, row ranges, that the
//! dispatch table's pointers are what runs, `quantize_into` buffers (size, alignment), and an
//! end-to-end comparison with an f64 product.

// The naive references index on purpose: plain loops, independent of the kernels' iterators.
#![allow(clippy::needless_range_loop)]

mod common;

use common::Rng;
use half::f16;
use phi3_kernels::kernels::dot::*;
use phi3_kernels::kernels::Kernels;
use phi3_kernels::ops::{
    matmul, matvec, quantize_into, ActivationFormat, Activations, Matrix, WeightData,
};
use phi3_kernels::quant::*;
use phi3_kernels::ShapeError;
use proptest::prelude::*;

fn cases() -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = 48;
    }
    c
}

/// Random blocks with finite scales in [-1, 1).
fn rand_blocks<T: bytemuck::Pod>(
    rng: &mut Rng,
    n: usize,
    fix: impl Fn(&mut T, &mut Rng),
) -> Vec<T> {
    let size = core::mem::size_of::<T>();
    let bytes = rng.bytes(n * size);
    bytes
        .chunks_exact(size)
        .map(|c| {
            let mut b: T = bytemuck::pod_read_unaligned(c);
            fix(&mut b, rng);
            b
        })
        .collect()
}

/// Owned weights of every supported type.
enum Owned {
    F32(Vec<f32>),
    F16(Vec<f16>),
    Q4_0(Vec<BlockQ4_0>),
    Q4_1(Vec<BlockQ4_1>),
    Q5_0(Vec<BlockQ5_0>),
    Q8_0(Vec<BlockQ8_0>),
    Q4K(Vec<BlockQ4K>),
    Q5K(Vec<BlockQ5K>),
    Q6K(Vec<BlockQ6K>),
}

const N_TYPES: usize = 9;

fn hf(rng: &mut Rng) -> f16 {
    f16::from_f32(rng.f32())
}

impl Owned {
    /// Weights of type number `t` (0..N_TYPES), `n` blocks.
    fn random(t: usize, n: usize, rng: &mut Rng) -> Owned {
        match t {
            0 => Owned::F32((0..n).map(|_| rng.f32()).collect()),
            1 => Owned::F16((0..n).map(|_| hf(rng)).collect()),
            2 => Owned::Q4_0(rand_blocks(rng, n, |b: &mut BlockQ4_0, r| b.d = hf(r))),
            3 => Owned::Q4_1(rand_blocks(rng, n, |b: &mut BlockQ4_1, r| {
                b.d = hf(r);
                b.m = hf(r);
            })),
            4 => Owned::Q5_0(rand_blocks(rng, n, |b: &mut BlockQ5_0, r| b.d = hf(r))),
            5 => Owned::Q8_0(rand_blocks(rng, n, |b: &mut BlockQ8_0, r| b.d = hf(r))),
            6 => Owned::Q4K(rand_blocks(rng, n, |b: &mut BlockQ4K, r| {
                b.d = hf(r);
                b.dmin = hf(r);
            })),
            7 => Owned::Q5K(rand_blocks(rng, n, |b: &mut BlockQ5K, r| {
                b.d = hf(r);
                b.dmin = hf(r);
            })),
            _ => Owned::Q6K(rand_blocks(rng, n, |b: &mut BlockQ6K, r| b.d = hf(r))),
        }
    }

    fn view(&self) -> WeightData<'_> {
        match self {
            Owned::F32(v) => WeightData::F32(v),
            Owned::F16(v) => WeightData::F16(v),
            Owned::Q4_0(v) => WeightData::Q4_0(v),
            Owned::Q4_1(v) => WeightData::Q4_1(v),
            Owned::Q5_0(v) => WeightData::Q5_0(v),
            Owned::Q8_0(v) => WeightData::Q8_0(v),
            Owned::Q4K(v) => WeightData::Q4K(v),
            Owned::Q5K(v) => WeightData::Q5K(v),
            Owned::Q6K(v) => WeightData::Q6K(v),
        }
    }

    /// The reference: the row dot product called directly on row `r` (`bpr` blocks per row).
    fn row_dot(&self, r: usize, bpr: usize, x: Activations) -> f32 {
        let rows = r * bpr..(r + 1) * bpr;
        match (self, x) {
            (Owned::F32(w), Activations::F32(a)) => dot_f32_f32(&w[rows], a),
            (Owned::F16(w), Activations::F32(a)) => dot_f16_f32(&w[rows], a),
            (Owned::Q4_0(w), Activations::Q8_0(a)) => dot_q4_0_q8_0(&w[rows], a),
            (Owned::Q4_1(w), Activations::Q8_1(a)) => dot_q4_1_q8_1(&w[rows], a),
            (Owned::Q5_0(w), Activations::Q8_0(a)) => dot_q5_0_q8_0(&w[rows], a),
            (Owned::Q8_0(w), Activations::Q8_0(a)) => dot_q8_0_q8_0(&w[rows], a),
            (Owned::Q4K(w), Activations::Q8K(a)) => dot_q4_k_q8_k(&w[rows], a),
            (Owned::Q5K(w), Activations::Q8K(a)) => dot_q5_k_q8_k(&w[rows], a),
            (Owned::Q6K(w), Activations::Q8K(a)) => dot_q6_k_q8_k(&w[rows], a),
            _ => panic!("format pairing"),
        }
    }
}

/// An aligned scratch buffer of at least `n` bytes, as u64s.
fn scratch(n: usize) -> Vec<u64> {
    vec![0u64; n.div_ceil(8) + 1]
}

#[test]
fn format_pairing() {
    use ActivationFormat as A;
    let expected = [
        A::F32,
        A::F32,
        A::Q8_0,
        A::Q8_1,
        A::Q8_0,
        A::Q8_0,
        A::Q8K,
        A::Q8K,
        A::Q8K,
    ];
    let mut rng = Rng(1);
    for (t, &want) in expected.iter().enumerate() {
        let w = Owned::random(t, 0, &mut rng);
        let m = Matrix::new(w.view(), 0, 0).unwrap();
        assert_eq!(m.activation_format(), want);
        assert_eq!(ActivationFormat::for_weights(m.ggml_type()), Some(want));
    }
    assert_eq!(ActivationFormat::for_weights(GgmlType::Q2_K), None);
    assert_eq!(ActivationFormat::for_weights(GgmlType::BF16), None);
}

#[test]
fn matrix_new_checks_shape() {
    let blocks = [BlockQ4_0 {
        d: f16::ONE,
        qs: [0; 16],
    }; 6];
    let m = Matrix::new(WeightData::Q4_0(&blocks), 3, 64).unwrap();
    assert_eq!(
        (m.rows(), m.cols(), m.blocks_per_row(), m.row_bytes()),
        (3, 64, 2, 36)
    );
    assert_eq!(
        Matrix::new(WeightData::Q4_0(&blocks), 3, 65).unwrap_err(),
        ShapeError::NotBlockMultiple {
            what: "cols",
            value: 65,
            block: 32
        }
    );
    assert_eq!(
        Matrix::new(WeightData::Q4_0(&blocks), 2, 64).unwrap_err(),
        ShapeError::Length {
            what: "weights",
            expected: 4,
            actual: 6
        }
    );
    assert_eq!(
        Matrix::new(WeightData::Q4_0(&blocks), usize::MAX / 16, 64).unwrap_err(),
        ShapeError::Overflow
    );
    assert_eq!(
        Matrix::new(WeightData::F32(&[]), usize::MAX, usize::MAX).unwrap_err(),
        ShapeError::Overflow
    );
    let k_blocks: [BlockQ6K; 0] = [];
    assert_eq!(
        Matrix::new(WeightData::Q6K(&k_blocks), 1, 128).unwrap_err(),
        ShapeError::NotBlockMultiple {
            what: "cols",
            value: 128,
            block: 256
        }
    );
}

#[test]
fn matvec_error_paths() {
    let k = Kernels::scalar();
    let w = [0.5f32; 12];
    let m = Matrix::new(WeightData::F32(&w), 3, 4).unwrap();
    let x = [1.0f32; 4];
    let mut out = [0.0f32; 3];
    let x_act = Activations::F32(&x);
    assert_eq!(
        matvec(&k, &m, x_act, 0..4, &mut [0.0; 4]).unwrap_err(),
        ShapeError::RowRange { end: 4, rows: 3 }
    );
    #[allow(clippy::reversed_empty_ranges)]
    let reversed = 2..1;
    assert_eq!(
        matvec(&k, &m, x_act, reversed, &mut []).unwrap_err(),
        ShapeError::RowRange { end: 1, rows: 3 }
    );
    assert_eq!(
        matvec(&k, &m, x_act, 0..3, &mut out[..2]).unwrap_err(),
        ShapeError::Length {
            what: "out",
            expected: 3,
            actual: 2
        }
    );
    assert_eq!(
        matvec(&k, &m, Activations::F32(&x[..3]), 0..3, &mut out).unwrap_err(),
        ShapeError::Length {
            what: "activations",
            expected: 4,
            actual: 3
        }
    );
    let q8 = [BlockQ8_0 {
        d: f16::ONE,
        qs: [0; 32],
    }];
    assert_eq!(
        matvec(&k, &m, Activations::Q8_0(&q8), 0..3, &mut out).unwrap_err(),
        ShapeError::FormatMismatch {
            weights: GgmlType::F32
        }
    );
    // A Q4_K matrix given Q8_0 activations of the right length is still a mismatch.
    let q4k = [BlockQ4K {
        d: f16::ONE,
        dmin: f16::ONE,
        scales: [0; 12],
        qs: [0; 128],
    }];
    let mk = Matrix::new(WeightData::Q4K(&q4k), 1, 256).unwrap();
    let q8s = [q8[0]; 8];
    assert_eq!(
        matvec(&k, &mk, Activations::Q8_0(&q8s), 0..1, &mut out[..1]).unwrap_err(),
        ShapeError::FormatMismatch {
            weights: GgmlType::Q4_K
        }
    );
    // Nothing was written by the failed calls.
    assert_eq!(out, [0.0; 3]);
    // Empty ranges are fine anywhere inside the matrix.
    matvec(&k, &m, x_act, 3..3, &mut []).unwrap();
    matvec(&k, &m, x_act, 0..3, &mut out).unwrap();
    assert_eq!(out, [2.0; 3]);
}

#[test]
fn zero_column_matrix_gives_zeros() {
    let k = Kernels::scalar();
    let m = Matrix::new(WeightData::Q4_0(&[]), 3, 0).unwrap();
    let mut out = [9.0f32; 2];
    matvec(&k, &m, Activations::Q8_0(&[]), 1..3, &mut out).unwrap();
    assert_eq!(out, [0.0; 2]);
}

/// The table's pointer is what runs, so any tier plugs in.
#[test]
fn uses_the_dispatch_table() {
    let mut k = Kernels::scalar();
    k.gemm_q4_0_q8_0 = |w, _, bpr, out, _| out.fill(w.len() as f32 / bpr as f32 * 100.0);
    let blocks = [BlockQ4_0 {
        d: f16::ONE,
        qs: [0; 16],
    }; 4];
    let m = Matrix::new(WeightData::Q4_0(&blocks), 2, 64).unwrap();
    let x = [BlockQ8_0 {
        d: f16::ONE,
        qs: [1; 32],
    }; 2];
    let mut out = [0.0f32; 2];
    matvec(&k, &m, Activations::Q8_0(&x), 0..2, &mut out).unwrap();
    assert_eq!(out, [200.0; 2]);
}

/// `matmul` over several columns equals `matvec` per column, bit for bit, for any row range and
/// output stride, and it leaves the padding between columns untouched.
#[test]
fn matmul_columns_equal_matvec() {
    let k = Kernels::scalar();
    let (rows, cols, n_cols) = (5usize, 64usize, 3usize);
    let mut w = Vec::new();
    for i in 0..rows * cols / 32 {
        let mut qs = [0u8; 16];
        for (j, q) in qs.iter_mut().enumerate() {
            *q = ((i * 7 + j * 13) % 256) as u8;
        }
        w.push(BlockQ4_0 {
            d: f16::from_f32(0.01 * (i as f32 + 1.0)),
            qs,
        });
    }
    let mut x = Vec::new();
    for i in 0..n_cols * cols / 32 {
        let mut qs = [0i8; 32];
        for (j, q) in qs.iter_mut().enumerate() {
            *q = ((i * 31 + j * 17) % 255) as i8;
        }
        x.push(BlockQ8_0 {
            d: f16::from_f32(0.02 * (i as f32 + 1.0)),
            qs,
        });
    }
    let m = Matrix::new(WeightData::Q4_0(&w), rows, cols).unwrap();
    let stride = 7;
    let mut out = vec![f32::NAN; (n_cols - 1) * stride + 3];
    matmul(&k, &m, Activations::Q8_0(&x), 1..4, &mut out, stride).unwrap();
    for c in 0..n_cols {
        let mut one = [0.0f32; 3];
        let xc = &x[c * cols / 32..(c + 1) * cols / 32];
        matvec(&k, &m, Activations::Q8_0(xc), 1..4, &mut one).unwrap();
        for r in 0..3 {
            assert_eq!(
                out[c * stride + r].to_bits(),
                one[r].to_bits(),
                "col {c} row {r}"
            );
        }
        if c + 1 < n_cols {
            assert!(out[c * stride + 3..(c + 1) * stride]
                .iter()
                .all(|v| v.is_nan()));
        }
    }
    // A partial column and a short output are errors, and nothing is written.
    let mut short = vec![1.0f32; (n_cols - 1) * stride + 2];
    assert!(matmul(&k, &m, Activations::Q8_0(&x), 1..4, &mut short, stride).is_err());
    assert!(short.iter().all(|&v| v == 1.0));
    assert!(matmul(&k, &m, Activations::Q8_0(&x[..3]), 1..4, &mut out, stride).is_err());
    assert!(matmul(&k, &m, Activations::Q8_0(&x), 1..4, &mut out, 2).is_err());
}

#[test]
fn bytes_for_and_alignment() {
    use ActivationFormat as A;
    assert_eq!(A::F32.bytes_for(7), Ok(28));
    assert_eq!(A::Q8_0.bytes_for(64), Ok(68));
    assert_eq!(A::Q8_1.bytes_for(96), Ok(108));
    assert_eq!(A::Q8K.bytes_for(512), Ok(584));
    assert_eq!(A::Q8K.bytes_for(0), Ok(0));
    assert_eq!(
        A::Q8_0.bytes_for(33),
        Err(ShapeError::NotBlockMultiple {
            what: "activations",
            value: 33,
            block: 32
        })
    );
    assert_eq!(A::F32.bytes_for(usize::MAX), Err(ShapeError::Overflow));
    assert_eq!(
        (
            A::F32.align(),
            A::Q8_0.align(),
            A::Q8_1.align(),
            A::Q8K.align()
        ),
        (4, 2, 2, 4)
    );
}

#[test]
fn quantize_into_matches_direct_quantization() {
    let k = Kernels::scalar();
    let mut rng = Rng(7);
    let x: Vec<f32> = (0..512).map(|_| rng.f32() * 3.0).collect();
    for offset in 0..4 {
        let mut buf = scratch(2048);
        let bytes = &mut bytemuck::cast_slice_mut::<u64, u8>(&mut buf)[offset..];

        let a = quantize_into(&k, ActivationFormat::Q8_0, &x, bytes).unwrap();
        let mut direct = vec![
            BlockQ8_0 {
                d: f16::ZERO,
                qs: [0; 32]
            };
            16
        ];
        quantize::quantize_q8_0(&x, &mut direct);
        assert!(matches!(a, Activations::Q8_0(b) if b == &direct[..]));
        assert_eq!(a.len(), 512);

        let a = quantize_into(&k, ActivationFormat::Q8_1, &x, bytes).unwrap();
        let mut direct = vec![
            BlockQ8_1 {
                d: f16::ZERO,
                s: f16::ZERO,
                qs: [0; 32]
            };
            16
        ];
        quantize::quantize_q8_1(&x, &mut direct);
        assert!(matches!(a, Activations::Q8_1(b) if b == &direct[..]));

        let a = quantize_into(&k, ActivationFormat::Q8K, &x, bytes).unwrap();
        let mut direct = vec![
            BlockQ8K {
                d: 0.0,
                qs: [0; 256],
                bsums: [0; 16]
            };
            2
        ];
        quantize::quantize_q8_k(&x, &mut direct);
        assert!(matches!(a, Activations::Q8K(b) if b == &direct[..]));

        let a = quantize_into(&k, ActivationFormat::F32, &x, bytes).unwrap();
        assert!(matches!(a, Activations::F32(b) if b == &x[..]));
        assert_eq!(a.format(), ActivationFormat::F32);
    }
}

#[test]
fn quantize_into_buffer_sizes() {
    let k = Kernels::scalar();
    let x = vec![0.25f32; 256];
    for fmt in [
        ActivationFormat::F32,
        ActivationFormat::Q8_0,
        ActivationFormat::Q8_1,
        ActivationFormat::Q8K,
    ] {
        let need = fmt.bytes_for(256).unwrap();
        let mut buf = scratch(need + 8);
        let all = bytemuck::cast_slice_mut::<u64, u8>(&mut buf);
        // Aligned: exactly `bytes_for` suffices, one byte less does not.
        assert!(quantize_into(&k, fmt, &x, &mut all[..need]).is_ok());
        assert_eq!(
            quantize_into(&k, fmt, &x, &mut all[..need - 1]).unwrap_err(),
            ShapeError::Length {
                what: "activation buffer",
                expected: need,
                actual: need - 1
            }
        );
        // Misaligned by one byte: the start moves to the next aligned address.
        let skip = fmt.align() - 1;
        if skip > 0 {
            let err = quantize_into(&k, fmt, &x, &mut all[1..1 + need]).unwrap_err();
            assert_eq!(
                err,
                ShapeError::Length {
                    what: "activation buffer",
                    expected: need + skip,
                    actual: need
                }
            );
            assert!(quantize_into(&k, fmt, &x, &mut all[1..1 + need + skip]).is_ok());
        }
    }
    assert_eq!(
        quantize_into(&k, ActivationFormat::Q8K, &x[..255], &mut [0u8; 1024]).unwrap_err(),
        ShapeError::NotBlockMultiple {
            what: "activations",
            value: 255,
            block: 256
        }
    );
}

proptest! {
    #![proptest_config(cases())]

    /// Every format: each output element equals the row kernel's result bit for bit, for any row
    /// range, and two sub-ranges give the same bits as the whole.
    #[test]
    fn matvec_equals_row_dots(t in 0..N_TYPES, rows in 0usize..9, col_blocks in 0usize..4,
                              seed in any::<u64>(), a in 0usize..10, b in 0usize..10) {
        let k = Kernels::scalar();
        let mut rng = Rng(seed);
        let fmt_block = [1, 1, 32, 32, 32, 32, 256, 256, 256][t];
        // F32 / F16: use a non-trivial element count per "block".
        let cols = col_blocks * if fmt_block == 1 { 13 } else { fmt_block };
        let bpr = cols / fmt_block;
        let w = Owned::random(t, rows * bpr, &mut rng);
        let m = Matrix::new(w.view(), rows, cols).unwrap();
        let x: Vec<f32> = (0..cols).map(|_| rng.f32()).collect();
        let fmt = m.activation_format();
        let mut buf = scratch(fmt.bytes_for(cols).unwrap());
        let act = quantize_into(&k, fmt, &x, bytemuck::cast_slice_mut(&mut buf)).unwrap();

        let (lo, hi) = (a.min(b).min(rows), a.max(b).min(rows));
        let mut out = vec![f32::NAN; hi - lo];
        matvec(&k, &m, act, lo..hi, &mut out).unwrap();
        for (r, o) in (lo..hi).zip(&out) {
            prop_assert_eq!(o.to_bits(), w.row_dot(r, bpr, act).to_bits());
        }
        let mut whole = vec![0.0f32; rows];
        matvec(&k, &m, act, 0..rows, &mut whole).unwrap();
        let mut split = vec![0.0f32; rows];
        let mid = lo.min(rows);
        matvec(&k, &m, act, 0..mid, &mut split[..mid]).unwrap();
        matvec(&k, &m, act, mid..rows, &mut split[mid..]).unwrap();
        prop_assert_eq!(
            whole.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            split.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }

    /// F32 weights against an f64 product: the only error is the f32 accumulation.
    #[test]
    fn f32_matvec_close_to_f64(rows in 1usize..6, cols in 0usize..80, seed in any::<u64>()) {
        /// Unit roundoff of f32; the index-order sum of `cols` products errs by at most
        /// `(cols + 1)·u·Σ|w·x|`.
        const U: f64 = f32::EPSILON as f64 / 2.0;
        let k = Kernels::scalar();
        let mut rng = Rng(seed);
        let w: Vec<f32> = (0..rows * cols).map(|_| rng.f32()).collect();
        let x: Vec<f32> = (0..cols).map(|_| rng.f32()).collect();
        let m = Matrix::new(WeightData::F32(&w), rows, cols).unwrap();
        let mut out = vec![0.0f32; rows];
        matvec(&k, &m, Activations::F32(&x), 0..rows, &mut out).unwrap();
        for r in 0..rows {
            let row = &w[r * cols..(r + 1) * cols];
            let exact: f64 = row.iter().zip(&x).map(|(a, b)| *a as f64 * *b as f64).sum();
            let mass: f64 = row.iter().zip(&x).map(|(a, b)| (*a as f64 * *b as f64).abs()).sum();
            prop_assert!((out[r] as f64 - exact).abs() <= (cols as f64 + 1.0) * U * mass);
        }
    }
}
