//! Every SIMD tier against the scalar reference, entry by entry of the `Kernels` table.
//!
//! For each tier available here (`common::simd_tiers_under_test`, which fails the run when
//! `PHI3_REQUIRE_TIERS` names a missing tier) and each kernel, proptest draws shapes (lengths
//! that are not multiples of any vector width or of 8 blocks, empty inputs, sub-slices at odd
//! element offsets so nothing is 32-byte aligned) and a seed for the data, which mixes random
//! values with extremes (zero blocks, large and tiny scales, ±127 quants, rounding ties).
//!
//! - Quantizers, integer dot products and integer gemms must be **bit-exact** (the scalar
//!   reference defines the float order; see `src/kernels/dot.rs`).
//! - Float kernels are **bit-exact** as well: every tier evaluates the float order of
//!   `src/kernels/float.rs` (NaN outputs compare equal whatever their payload).
//!
//! Inputs follow the kernels' domains: weight blocks are arbitrary bytes with finite scales;
//! activation blocks come from the scalar quantizers (so Q8_0/Q8_1 quants are in −127..=127 and
//! Q8_K `bsums` are consistent), exactly as the graph produces them.

mod common;

use common::Rng;
use half::f16;
use phi3_kernels::kernels::Kernels;
use phi3_kernels::quant::quantize::{quantize_q8_0, quantize_q8_1, quantize_q8_k};
use phi3_kernels::quant::*;
use phi3_kernels::Tier;
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Data generation: a small seeded generator (proptest draws the seed and the shapes).

/// Data shaped for these tests, on the shared generator.
trait TestData {
    fn scale(&mut self) -> f16;
    fn activations(&mut self, n: usize) -> Vec<f32>;
}

impl TestData for Rng {
    /// A finite f16 scale: mostly ordinary magnitudes, sometimes zero, tiny, subnormal or huge.
    fn scale(&mut self) -> f16 {
        let v = match self.below(16) {
            0 => 0.0,
            1 => 6.0e-8, // smallest subnormal
            2 => 1.0e-5,
            3 => 65504.0,
            4 => 1000.0,
            _ => 1e-3 * (1.0 + 99.0 * self.unit()),
        };
        let v = if self.below(3) == 0 { -v } else { v };
        f16::from_f32(v)
    }
    /// Activation values: normal, with occasional zero runs, outliers and huge values.
    fn activations(&mut self, n: usize) -> Vec<f32> {
        let style = self.below(8);
        (0..n)
            .map(|i| match style {
                0 => 0.0,
                1 => {
                    if i % 32 == 5 {
                        1000.0
                    } else {
                        1e-3 * self.normal()
                    }
                }
                2 => 6.0e4 * self.normal(),
                // Rounding ties for d = 1 (max 127, others at .5 steps).
                3 => {
                    if i % 32 == 0 {
                        127.0
                    } else {
                        (self.below(254) as f32 - 127.0) + 0.5
                    }
                }
                4 => -7.9 * self.unit(),
                _ => self.normal() * 10f32.powi(self.below(5) as i32 - 2),
            })
            .collect()
    }
}

fn q4_0(r: &mut Rng) -> BlockQ4_0 {
    BlockQ4_0 {
        d: r.scale(),
        qs: r.array(),
    }
}
fn q4_1(r: &mut Rng) -> BlockQ4_1 {
    BlockQ4_1 {
        d: r.scale(),
        m: r.scale(),
        qs: r.array(),
    }
}
fn q5_0(r: &mut Rng) -> BlockQ5_0 {
    BlockQ5_0 {
        d: r.scale(),
        qh: r.array(),
        qs: r.array(),
    }
}
fn q8_0_weight(r: &mut Rng) -> BlockQ8_0 {
    let extreme = r.below(6) == 0;
    BlockQ8_0 {
        d: r.scale(),
        qs: core::array::from_fn(|i| {
            if extreme {
                if i % 2 == 0 {
                    127
                } else {
                    -127
                }
            } else {
                r.next() as i8
            }
        }),
    }
}
fn q4_k(r: &mut Rng) -> BlockQ4K {
    BlockQ4K {
        d: r.scale(),
        dmin: r.scale(),
        scales: r.array(),
        qs: r.array(),
    }
}
fn q5_k(r: &mut Rng) -> BlockQ5K {
    BlockQ5K {
        d: r.scale(),
        dmin: r.scale(),
        scales: r.array(),
        qh: r.array(),
        qs: r.array(),
    }
}
fn q6_k(r: &mut Rng) -> BlockQ6K {
    BlockQ6K {
        ql: r.array(),
        qh: r.array(),
        scales: core::array::from_fn(|_| r.next() as i8),
        d: r.scale(),
    }
}

/// `n` blocks made by `f`, returned inside a longer vector with `pad` blocks in front, so the
/// slice the kernel sees starts at an arbitrary address.
fn padded<T: Clone>(n: usize, pad: usize, mut f: impl FnMut() -> T) -> (Vec<T>, usize) {
    let v: Vec<T> = (0..n + pad).map(|_| f()).collect();
    (v, pad)
}

fn act_q8_0(r: &mut Rng, blocks: usize) -> Vec<BlockQ8_0> {
    let x = r.activations(blocks * QK);
    let mut q = vec![
        BlockQ8_0 {
            d: f16::ZERO,
            qs: [0; QK]
        };
        blocks
    ];
    quantize_q8_0(&x, &mut q);
    q
}
fn act_q8_1(r: &mut Rng, blocks: usize) -> Vec<BlockQ8_1> {
    let x = r.activations(blocks * QK);
    let mut q = vec![
        BlockQ8_1 {
            d: f16::ZERO,
            s: f16::ZERO,
            qs: [0; QK]
        };
        blocks
    ];
    quantize_q8_1(&x, &mut q);
    q
}
fn act_q8_k(r: &mut Rng, blocks: usize) -> Vec<BlockQ8K> {
    let x = r.activations(blocks * QK_K);
    let mut q = vec![
        BlockQ8K {
            d: 0.0,
            qs: [0; QK_K],
            bsums: [0; 16]
        };
        blocks
    ];
    quantize_q8_k(&x, &mut q);
    q
}

/// Bitwise equality that treats every NaN as equal (payloads may differ between tiers).
fn same_bits(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn tiers() -> Vec<(Tier, Kernels)> {
    common::simd_tiers_under_test()
}

// ---------------------------------------------------------------------------------------------
// Quantizers: bit-exact.

macro_rules! quantizer_test {
    ($name:ident, $field:ident, $block:ty, $elems:expr, $max_blocks:expr, $zero:expr) => {
        proptest! {
            #[test]
            fn $name(seed: u64, blocks in 0usize..=$max_blocks, pad in 0usize..4) {
                let scalar = Kernels::scalar();
                let mut r = Rng::new(seed);
                let x = r.activations(blocks * $elems + pad);
                let x = &x[pad..];
                let mut want: Vec<$block> = vec![$zero; blocks];
                (scalar.$field)(x, &mut want);
                for (tier, k) in tiers() {
                    let mut got: Vec<$block> = vec![$zero; blocks + 1];
                    // Sentinel after the output: must stay untouched.
                    let sentinel = bytemuck::bytes_of(&got[blocks]).to_vec();
                    (k.$field)(x, &mut got[..blocks]);
                    for (b, (g, w)) in got.iter().zip(&want).enumerate() {
                        prop_assert!(
                            bytemuck::bytes_of(g) == bytemuck::bytes_of(w),
                            "{tier}: block {b} differs: {g:?} vs {w:?}"
                        );
                    }
                    prop_assert_eq!(bytemuck::bytes_of(&got[blocks]), &sentinel[..]);
                }
            }
        }
    };
}

quantizer_test!(
    quantize_q8_0_bit_exact,
    quantize_q8_0,
    BlockQ8_0,
    QK,
    40,
    BlockQ8_0 {
        d: f16::ZERO,
        qs: [0; QK]
    }
);
quantizer_test!(
    quantize_q8_1_bit_exact,
    quantize_q8_1,
    BlockQ8_1,
    QK,
    40,
    BlockQ8_1 {
        d: f16::ZERO,
        s: f16::ZERO,
        qs: [0; QK]
    }
);
quantizer_test!(
    quantize_q8_k_bit_exact,
    quantize_q8_k,
    BlockQ8K,
    QK_K,
    6,
    BlockQ8K {
        d: 0.0,
        qs: [0; QK_K],
        bsums: [0; 16]
    }
);

// ---------------------------------------------------------------------------------------------
// Integer dot products and gemms: bit-exact.

macro_rules! int_dot_test {
    ($dot_test:ident, $gemm_test:ident, $dot:ident, $gemm:ident, $wgen:expr, $xgen:expr, $max_blocks:expr) => {
        proptest! {
            #[test]
            fn $dot_test(seed: u64, blocks in 0usize..=$max_blocks, pad in 0usize..3) {
                let scalar = Kernels::scalar();
                let mut r = Rng::new(seed);
                let (w, off) = padded(blocks, pad, || $wgen(&mut r));
                let w = &w[off..];
                let x = $xgen(&mut r, blocks);
                let want = (scalar.$dot)(w, &x);
                for (tier, k) in tiers() {
                    let got = (k.$dot)(w, &x);
                    prop_assert!(same_bits(got, want), "{tier}: {got:e} vs scalar {want:e}");
                }
            }

            #[test]
            fn $gemm_test(
                seed: u64,
                bpr in 0usize..=($max_blocks / 3 + 1),
                rows in 0usize..=7,
                cols in 0usize..=10,
                extra_stride in 0usize..3,
            ) {
                let scalar = Kernels::scalar();
                let mut r = Rng::new(seed);
                let w: Vec<_> = (0..rows * bpr).map(|_| $wgen(&mut r)).collect();
                let x = $xgen(&mut r, cols * bpr);
                let stride = rows + extra_stride;
                let len = if cols == 0 { 0 } else { (cols - 1) * stride + rows };
                let mut want = vec![f32::from_bits(0x7fc0_dead); len];
                (scalar.$gemm)(&w, &x, bpr, &mut want, stride);
                // Every column equals the scalar dot product of that row and column.
                for c in 0..cols {
                    for rr in 0..rows {
                        let d = (scalar.$dot)(&w[rr * bpr..(rr + 1) * bpr], &x[c * bpr..(c + 1) * bpr]);
                        prop_assert!(same_bits(want[c * stride + rr], d) || bpr == 0);
                    }
                }
                for (tier, k) in tiers() {
                    let mut got = vec![f32::from_bits(0x7fc0_dead); len];
                    (k.$gemm)(&w, &x, bpr, &mut got, stride);
                    for (i, (g, s)) in got.iter().zip(&want).enumerate() {
                        prop_assert!(
                            g.to_bits() == s.to_bits() || (g.is_nan() && s.is_nan() && bpr > 0),
                            "{tier}: out[{i}] (col {}, row {}) = {g:e}, scalar {s:e}",
                            i / stride.max(1), i % stride.max(1)
                        );
                    }
                }
            }
        }
    };
}

// One column (decode) with long rows: tiers may run a dedicated one-column path with a bounded
// table of per-column data (AVX2: 80 groups of 8 blocks), so rows run from a few blocks past
// that bound, and every row length mod 8 occurs.
macro_rules! decode_test {
    ($name:ident, $dot:ident, $gemm:ident, $wgen:expr, $xgen:expr, $max_blocks:expr) => {
        proptest! {
            #[test]
            fn $name(seed: u64, bpr in 1usize..=$max_blocks, rows in 1usize..=3) {
                let scalar = Kernels::scalar();
                let mut r = Rng::new(seed);
                let w: Vec<_> = (0..rows * bpr).map(|_| $wgen(&mut r)).collect();
                let x = $xgen(&mut r, bpr);
                let want: Vec<f32> =
                    (0..rows).map(|rr| (scalar.$dot)(&w[rr * bpr..(rr + 1) * bpr], &x)).collect();
                for (tier, k) in tiers() {
                    let mut got = vec![f32::from_bits(0x7fc0_dead); rows];
                    (k.$gemm)(&w, &x, bpr, &mut got, rows);
                    for (rr, (g, s)) in got.iter().zip(&want).enumerate() {
                        prop_assert!(
                            g.to_bits() == s.to_bits() || (g.is_nan() && s.is_nan() && bpr > 0),
                            "{tier}: bpr {bpr}, row {rr}: {g:e}, scalar {s:e}"
                        );
                    }
                }
            }
        }
    };
}

// Multi-column products with enough rows and columns to cross tiers' row panels and column
// tiles (AVX2: panels of 32 rows or 192 KiB, row quads, tiles of 4, 8 or 16 columns) and rows past
// their per-column tables.
macro_rules! gemm_large_test {
    ($name:ident, $dot:ident, $gemm:ident, $wgen:expr, $xgen:expr, $max_blocks:expr) => {
        gemm_large_test!(
            $name,
            $dot,
            $gemm,
            $wgen,
            $xgen,
            1usize..=$max_blocks,
            1usize..=70
        );
    };
    ($name:ident, $dot:ident, $gemm:ident, $wgen:expr, $xgen:expr, $blocks:expr, $rows:expr) => {
        gemm_large_test!($name, $dot, $gemm, $wgen, $xgen, $blocks, $rows, 1usize..=9);
    };
    (
        $name:ident,
        $dot:ident,
        $gemm:ident,
        $wgen:expr,
        $xgen:expr,
        $blocks:expr,
        $rows:expr,
        $cols:expr
    ) => {
        proptest! {
            #[test]
            fn $name(
                seed: u64,
                bpr in $blocks,
                rows in $rows,
                cols in $cols,
                extra_stride in 0usize..2,
            ) {
                let scalar = Kernels::scalar();
                let mut r = Rng::new(seed);
                let w: Vec<_> = (0..rows * bpr).map(|_| $wgen(&mut r)).collect();
                let x = $xgen(&mut r, cols * bpr);
                let stride = rows + extra_stride;
                let len = (cols - 1) * stride + rows;
                let mut want = vec![f32::from_bits(0x7fc0_dead); len];
                for c in 0..cols {
                    for rr in 0..rows {
                        want[c * stride + rr] =
                            (scalar.$dot)(&w[rr * bpr..(rr + 1) * bpr], &x[c * bpr..(c + 1) * bpr]);
                    }
                }
                for (tier, k) in tiers() {
                    let mut got = vec![f32::from_bits(0x7fc0_dead); len];
                    (k.$gemm)(&w, &x, bpr, &mut got, stride);
                    for (i, (g, s)) in got.iter().zip(&want).enumerate() {
                        prop_assert!(
                            g.to_bits() == s.to_bits() || (g.is_nan() && s.is_nan()),
                            "{tier}: bpr {bpr}, out[{i}] (col {}, row {}) = {g:e}, scalar {s:e}",
                            i / stride, i % stride
                        );
                    }
                }
            }
        }
    };
}

gemm_large_test!(
    gemm_large_q4_0_q8_0_bit_exact,
    dot_q4_0_q8_0,
    gemm_q4_0_q8_0,
    q4_0,
    act_q8_0,
    40
);
gemm_large_test!(
    gemm_large_q4_1_q8_1_bit_exact,
    dot_q4_1_q8_1,
    gemm_q4_1_q8_1,
    q4_1,
    act_q8_1,
    40
);
// Rows around the AVX2 per-column tables' bound (640 blocks), several columns and row quads.
gemm_large_test!(
    gemm_long_q4_0_q8_0_bit_exact,
    dot_q4_0_q8_0,
    gemm_q4_0_q8_0,
    q4_0,
    act_q8_0,
    636usize..=644,
    1usize..=40
);
gemm_large_test!(
    gemm_long_q4_1_q8_1_bit_exact,
    dot_q4_1_q8_1,
    gemm_q4_1_q8_1,
    q4_1,
    act_q8_1,
    636usize..=644,
    1usize..=40
);
// Many columns on at least 16 rows: whole and partial 16-column tiles of the row octets (AVX2,
// AVX-VNNI) and of the AVX-512 tier's groups of sixteen rows, with the rows they leave over.
gemm_large_test!(
    gemm_tall_wide_q4_0_q8_0_bit_exact,
    dot_q4_0_q8_0,
    gemm_q4_0_q8_0,
    q4_0,
    act_q8_0,
    1usize..=10,
    16usize..=40,
    1usize..=36
);
gemm_large_test!(
    gemm_tall_wide_q4_1_q8_1_bit_exact,
    dot_q4_1_q8_1,
    gemm_q4_1_q8_1,
    q4_1,
    act_q8_1,
    1usize..=10,
    16usize..=40,
    1usize..=36
);
gemm_large_test!(
    gemm_large_q5_0_q8_0_bit_exact,
    dot_q5_0_q8_0,
    gemm_q5_0_q8_0,
    q5_0,
    act_q8_0,
    40
);
gemm_large_test!(
    gemm_large_q4_k_q8_k_bit_exact,
    dot_q4_k_q8_k,
    gemm_q4_k_q8_k,
    q4_k,
    act_q8_k,
    6
);
gemm_large_test!(
    gemm_large_q5_k_q8_k_bit_exact,
    dot_q5_k_q8_k,
    gemm_q5_k_q8_k,
    q5_k,
    act_q8_k,
    6
);
// K-format rows long enough that an AVX2 row panel (192 KiB) holds only a few quads.
gemm_large_test!(
    gemm_long_q4_k_q8_k_bit_exact,
    dot_q4_k_q8_k,
    gemm_q4_k_q8_k,
    q4_k,
    act_q8_k,
    60usize..=72,
    1usize..=40
);
gemm_large_test!(
    gemm_long_q6_k_q8_k_bit_exact,
    dot_q6_k_q8_k,
    gemm_q6_k_q8_k,
    q6_k,
    act_q8_k,
    60usize..=72,
    1usize..=40
);
gemm_large_test!(
    gemm_large_q6_k_q8_k_bit_exact,
    dot_q6_k_q8_k,
    gemm_q6_k_q8_k,
    q6_k,
    act_q8_k,
    6
);

// Many columns (prefill batches): whole and partial column tiles of every width (AVX2: 4 for
// Q4_0 / Q4_1, 8 for Q4_K / Q5_K, 16 for Q6_K), on few short rows to keep emulated runs short.
gemm_large_test!(
    gemm_wide_q4_0_q8_0_bit_exact,
    dot_q4_0_q8_0,
    gemm_q4_0_q8_0,
    q4_0,
    act_q8_0,
    1usize..=9,
    1usize..=12,
    1usize..=36
);
gemm_large_test!(
    gemm_wide_q4_1_q8_1_bit_exact,
    dot_q4_1_q8_1,
    gemm_q4_1_q8_1,
    q4_1,
    act_q8_1,
    1usize..=9,
    1usize..=12,
    1usize..=36
);
gemm_large_test!(
    gemm_wide_q4_k_q8_k_bit_exact,
    dot_q4_k_q8_k,
    gemm_q4_k_q8_k,
    q4_k,
    act_q8_k,
    1usize..=2,
    1usize..=12,
    1usize..=36
);
gemm_large_test!(
    gemm_wide_q5_k_q8_k_bit_exact,
    dot_q5_k_q8_k,
    gemm_q5_k_q8_k,
    q5_k,
    act_q8_k,
    1usize..=2,
    1usize..=12,
    1usize..=36
);
gemm_large_test!(
    gemm_wide_q6_k_q8_k_bit_exact,
    dot_q6_k_q8_k,
    gemm_q6_k_q8_k,
    q6_k,
    act_q8_k,
    1usize..=2,
    1usize..=12,
    1usize..=36
);

/// `act_q8_k` with every `bsums` entry replaced by an arbitrary `i16` (inconsistent with the
/// quants, extremes included): the Q4_K / Q5_K reference applies the mins through the stored
/// `bsums` in exact `i32`, and so must every tier's multi-column path. (Not Q6_K: its reference
/// never reads `bsums`, while the SIMD tiers apply its `−32` offset through them, so Q6_K agrees
/// only for consistent `bsums` — what the quantizer writes and `dot.rs` documents as trusted.)
fn act_q8_k_any_bsums(r: &mut Rng, blocks: usize) -> Vec<BlockQ8K> {
    let mut q = act_q8_k(r, blocks);
    for b in &mut q {
        for s in &mut b.bsums {
            *s = match r.below(4) {
                0 => i16::MIN,
                1 => i16::MAX,
                _ => r.next() as i16,
            };
        }
    }
    q
}

gemm_large_test!(
    gemm_any_bsums_q4_k_q8_k_bit_exact,
    dot_q4_k_q8_k,
    gemm_q4_k_q8_k,
    q4_k,
    act_q8_k_any_bsums,
    1usize..=3,
    1usize..=12,
    1usize..=20
);
gemm_large_test!(
    gemm_any_bsums_q5_k_q8_k_bit_exact,
    dot_q5_k_q8_k,
    gemm_q5_k_q8_k,
    q5_k,
    act_q8_k_any_bsums,
    1usize..=3,
    1usize..=12,
    1usize..=20
);

decode_test!(
    decode_q4_0_q8_0_bit_exact,
    dot_q4_0_q8_0,
    gemm_q4_0_q8_0,
    q4_0,
    act_q8_0,
    700
);
decode_test!(
    decode_q4_1_q8_1_bit_exact,
    dot_q4_1_q8_1,
    gemm_q4_1_q8_1,
    q4_1,
    act_q8_1,
    700
);
decode_test!(
    decode_q5_0_q8_0_bit_exact,
    dot_q5_0_q8_0,
    gemm_q5_0_q8_0,
    q5_0,
    act_q8_0,
    700
);
decode_test!(
    decode_q8_0_q8_0_bit_exact,
    dot_q8_0_q8_0,
    gemm_q8_0_q8_0,
    q8_0_weight,
    act_q8_0,
    700
);
decode_test!(
    decode_q4_k_q8_k_bit_exact,
    dot_q4_k_q8_k,
    gemm_q4_k_q8_k,
    q4_k,
    act_q8_k,
    90
);
decode_test!(
    decode_q5_k_q8_k_bit_exact,
    dot_q5_k_q8_k,
    gemm_q5_k_q8_k,
    q5_k,
    act_q8_k,
    90
);
decode_test!(
    decode_q6_k_q8_k_bit_exact,
    dot_q6_k_q8_k,
    gemm_q6_k_q8_k,
    q6_k,
    act_q8_k,
    90
);

int_dot_test!(
    dot_q4_0_q8_0_bit_exact,
    gemm_q4_0_q8_0_bit_exact,
    dot_q4_0_q8_0,
    gemm_q4_0_q8_0,
    q4_0,
    act_q8_0,
    40
);
int_dot_test!(
    dot_q4_1_q8_1_bit_exact,
    gemm_q4_1_q8_1_bit_exact,
    dot_q4_1_q8_1,
    gemm_q4_1_q8_1,
    q4_1,
    act_q8_1,
    40
);
int_dot_test!(
    dot_q5_0_q8_0_bit_exact,
    gemm_q5_0_q8_0_bit_exact,
    dot_q5_0_q8_0,
    gemm_q5_0_q8_0,
    q5_0,
    act_q8_0,
    40
);
int_dot_test!(
    dot_q8_0_q8_0_bit_exact,
    gemm_q8_0_q8_0_bit_exact,
    dot_q8_0_q8_0,
    gemm_q8_0_q8_0,
    q8_0_weight,
    act_q8_0,
    40
);
int_dot_test!(
    dot_q4_k_q8_k_bit_exact,
    gemm_q4_k_q8_k_bit_exact,
    dot_q4_k_q8_k,
    gemm_q4_k_q8_k,
    q4_k,
    act_q8_k,
    6
);
int_dot_test!(
    dot_q5_k_q8_k_bit_exact,
    gemm_q5_k_q8_k_bit_exact,
    dot_q5_k_q8_k,
    gemm_q5_k_q8_k,
    q5_k,
    act_q8_k,
    6
);
int_dot_test!(
    dot_q6_k_q8_k_bit_exact,
    gemm_q6_k_q8_k_bit_exact,
    dot_q6_k_q8_k,
    gemm_q6_k_q8_k,
    q6_k,
    act_q8_k,
    6
);

// ---------------------------------------------------------------------------------------------
// Float kernels: bit-exact too (the float order of `src/kernels/float.rs`).

/// Float test data: normal values at one of three scales, sometimes with zeros, signed zeros,
/// subnormals, huge values and lengths of zero runs mixed in.
fn float_vec(r: &mut Rng, n: usize) -> Vec<f32> {
    let scale = [1e-3f32, 1.0, 30.0][r.below(3)];
    let wild = r.below(4) == 0;
    (0..n)
        .map(|_| {
            if wild {
                match r.below(12) {
                    0 => return 0.0,
                    1 => return -0.0,
                    2 => return 1e-41 * r.normal(),
                    3 => return 3e4 * r.normal(),
                    _ => {}
                }
            }
            r.normal() * scale
        })
        .collect()
}

/// Bit equality, any two NaNs equal (the NaN payload is not part of the float order).
fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

proptest! {
    #[test]
    fn dot_f32_f32_bit_exact(seed: u64, n in 0usize..300, pad in 0usize..5) {
        let mut r = Rng::new(seed);
        let w = float_vec(&mut r, n + pad);
        let x = float_vec(&mut r, n + pad);
        let (w, x) = (&w[pad..], &x[..n]);
        let want = (Kernels::scalar().dot_f32_f32)(w, x);
        for (tier, k) in tiers() {
            let got = (k.dot_f32_f32)(w, x);
            prop_assert!(same(got, want), "{tier}: {got:e} vs {want:e}");
        }
    }

    #[test]
    fn dot_f16_f32_bit_exact(seed: u64, n in 0usize..300, pad in 0usize..5) {
        let mut r = Rng::new(seed);
        let w: Vec<f16> = float_vec(&mut r, n + pad).into_iter().map(f16::from_f32).collect();
        let x = float_vec(&mut r, n + pad);
        let (w, x) = (&w[pad..], &x[..n]);
        let want = (Kernels::scalar().dot_f16_f32)(w, x);
        for (tier, k) in tiers() {
            let got = (k.dot_f16_f32)(w, x);
            prop_assert!(same(got, want), "{tier}: {got:e} vs {want:e}");
        }
    }

    #[test]
    fn gemm_float_bit_exact(
        seed: u64,
        n in 0usize..80,
        rows in 0usize..=6,
        cols in 0usize..=5,
        extra_stride in 0usize..3,
    ) {
        let mut r = Rng::new(seed);
        let w32 = float_vec(&mut r, rows * n);
        let w16: Vec<f16> = w32.iter().map(|&v| f16::from_f32(v)).collect();
        let x = float_vec(&mut r, cols * n);
        let stride = rows + extra_stride;
        let len = if cols == 0 { 0 } else { (cols - 1) * stride + rows };
        let scalar = Kernels::scalar();
        let mut want32 = vec![-7.0f32; len];
        let mut want16 = vec![-7.0f32; len];
        (scalar.gemm_f32_f32)(&w32, &x, n, &mut want32, stride);
        (scalar.gemm_f16_f32)(&w16, &x, n, &mut want16, stride);
        for (tier, k) in tiers() {
            let mut got32 = vec![-7.0f32; len];
            let mut got16 = vec![-7.0f32; len];
            (k.gemm_f32_f32)(&w32, &x, n, &mut got32, stride);
            (k.gemm_f16_f32)(&w16, &x, n, &mut got16, stride);
            for i in 0..len {
                prop_assert!(same(got32[i], want32[i]), "{tier} f32 out[{i}]: {:e} vs {:e}", got32[i], want32[i]);
                prop_assert!(same(got16[i], want16[i]), "{tier} f16 out[{i}]: {:e} vs {:e}", got16[i], want16[i]);
            }
        }
    }

    #[test]
    fn rms_norm_bit_exact(seed: u64, n in 0usize..600, pad in 0usize..5) {
        let mut r = Rng::new(seed);
        let x = float_vec(&mut r, n + pad);
        let w: Vec<f32> = (0..n).map(|_| 1.0 + 0.1 * r.normal()).collect();
        let x = &x[pad..];
        let mut want = vec![0.0f32; n];
        (Kernels::scalar().rms_norm)(x, &w, 1e-5, &mut want);
        for (tier, k) in tiers() {
            let mut got = vec![0.0f32; n + 1];
            got[n] = 42.0;
            (k.rms_norm)(x, &w, 1e-5, &mut got[..n]);
            prop_assert_eq!(got[n], 42.0);
            for i in 0..n {
                prop_assert!(same(got[i], want[i]), "{tier}: out[{i}] {:e} vs {:e}", got[i], want[i]);
            }
        }
    }

    #[test]
    fn swiglu_bit_exact(seed: u64, n in 0usize..300, pad in 0usize..5) {
        let mut r = Rng::new(seed);
        let mut gate = float_vec(&mut r, n + pad);
        // Extremes: exp overflow / underflow in both directions, infinities, NaN.
        for (i, g) in gate.iter_mut().enumerate() {
            match i % 37 {
                3 => *g = 90.0,
                4 => *g = -90.0,
                5 => *g = -1e4,
                6 => *g = 0.0,
                7 => *g = -0.0,
                8 => *g = 88.5,
                9 => *g = -103.9,
                10 => *g = f32::INFINITY,
                11 => *g = f32::NEG_INFINITY,
                12 => *g = f32::NAN,
                _ => {}
            }
        }
        let up = float_vec(&mut r, n);
        let gate = &gate[pad..];
        let mut want = vec![0.0f32; n];
        (Kernels::scalar().swiglu)(gate, &up, &mut want);
        for (tier, k) in tiers() {
            let mut got = vec![0.0f32; n];
            (k.swiglu)(gate, &up, &mut got);
            for i in 0..n {
                prop_assert!(
                    same(got[i], want[i]),
                    "{tier}: swiglu({:e}, {:e}) = {:e} vs {:e}", gate[i], up[i], got[i], want[i]
                );
            }
        }
    }

    #[test]
    fn softmax_bit_exact(seed: u64, n in 0usize..300, masked in 0usize..4, special in 0usize..8) {
        let mut r = Rng::new(seed);
        let mut x = float_vec(&mut r, n);
        for v in x.iter_mut().take(masked.min(n)) {
            *v = f32::NEG_INFINITY;
        }
        // Sometimes one special entry: +∞ or NaN make every output NaN; −∞ everywhere gives 0.
        if n > 0 {
            let at = seed as usize % n;
            match special {
                0 => x[at] = f32::INFINITY,
                1 => x[at] = f32::NAN,
                2 => x.iter_mut().for_each(|v| *v = f32::NEG_INFINITY),
                3 => x[at] = 80.0,
                _ => {}
            }
        }
        let mut want = x.clone();
        (Kernels::scalar().softmax)(&mut want);
        for (tier, k) in tiers() {
            let mut got = x.clone();
            (k.softmax)(&mut got);
            for i in 0..n {
                prop_assert!(same(got[i], want[i]), "{tier}: p[{i}] {:e} vs {:e}", got[i], want[i]);
            }
        }
    }

    #[test]
    fn rope_bit_exact(
        seed: u64,
        heads in 0usize..5,
        half_head in 1usize..70,
        rot_frac in 1usize..=4,
        pos in 0usize..200_000,
    ) {
        let head_dim = 2 * half_head;
        let n_rot = (2 * ((half_head * rot_frac).div_ceil(4))).min(head_dim);
        let mut r = Rng::new(seed);
        let x = float_vec(&mut r, heads * head_dim);
        let factors: Vec<f32> = (0..n_rot / 2).map(|_| 1.0 + 7.0 * r.unit()).collect();
        let p = phi3_kernels::kernels::rope::RopeParams {
            n_rot,
            freq_base: 10000.0,
            freq_factors: Some(&factors),
            attn_factor: 1.118034,
        };
        let mut cos = vec![0.0f32; n_rot / 2];
        let mut sin = vec![0.0f32; n_rot / 2];
        phi3_kernels::kernels::rope::rope_cos_sin(pos, &p, &mut cos, &mut sin);
        let scalar = Kernels::scalar();
        for name in ["neox", "norm"] {
            let mut want = x.clone();
            if name == "neox" {
                (scalar.rope_neox)(&mut want, head_dim, &cos, &sin);
            } else {
                (scalar.rope_norm)(&mut want, head_dim, &cos, &sin);
            }
            for (tier, k) in tiers() {
                let mut got = x.clone();
                if name == "neox" {
                    (k.rope_neox)(&mut got, head_dim, &cos, &sin);
                } else {
                    (k.rope_norm)(&mut got, head_dim, &cos, &sin);
                }
                for i in 0..x.len() {
                    prop_assert!(same(got[i], want[i]), "{tier} {name}: x[{i}] {:e} vs {:e}", got[i], want[i]);
                }
            }
        }
    }

    #[test]
    fn attention_loops_bit_exact(
        seed: u64,
        head_dim in 1usize..140,
        n_pos in 0usize..40,
        extra_stride in 0usize..3,
        kv_offset in 0usize..3,
    ) {
        let mut r = Rng::new(seed);
        let stride = head_dim * (1 + extra_stride);
        let cache_len = kv_offset + n_pos * stride;
        let keys: Vec<f16> = float_vec(&mut r, cache_len).into_iter().map(f16::from_f32).collect();
        let values: Vec<f16> = float_vec(&mut r, cache_len).into_iter().map(f16::from_f32).collect();
        // A view starting at a kv-head offset, as GQA uses it.
        let (keys, values) = (&keys[kv_offset.min(cache_len)..], &values[kv_offset.min(cache_len)..]);
        let q = float_vec(&mut r, head_dim);
        let scale = 1.0 / (head_dim as f32).sqrt();
        // One query attending `n_pos` positions: the causal-block entries as decode runs them.
        let one = phi3_kernels::kernels::attention::CausalBlock {
            queries: 1, first: n_pos, dim: head_dim, q_pitch: head_dim, kv_stride: stride, out_pitch: head_dim,
        };
        let scalar = Kernels::scalar();
        let mut want_scores = vec![0.5f32; n_pos];
        (scalar.attn_scores_causal_f16)(&one, &q, keys, scale, &mut want_scores);
        let mut weights: Vec<f32> = (0..n_pos).map(|_| r.unit()).collect();
        let total: f32 = weights.iter().sum();
        weights.iter_mut().for_each(|w| *w /= total.max(1e-6));
        let mut want_out = vec![0.0f32; head_dim];
        (scalar.attn_values_causal_f16)(&one, &weights, values, &mut want_out);
        for (tier, k) in tiers() {
            let mut scores = vec![0.5f32; n_pos];
            (k.attn_scores_causal_f16)(&one, &q, keys, scale, &mut scores);
            for p in 0..n_pos {
                prop_assert!(same(scores[p], want_scores[p]), "{tier}: score[{p}] {:e} vs {:e}", scores[p], want_scores[p]);
            }
            let mut out = vec![0.0f32; head_dim];
            (k.attn_values_causal_f16)(&one, &weights, values, &mut out);
            for i in 0..head_dim {
                prop_assert!(same(out[i], want_out[i]), "{tier}: out[{i}] {:e} vs {:e}", out[i], want_out[i]);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Causal query blocks (batched prefill): per query, bit for bit the same tier's one-query block
// (what decode runs) — the property that keeps a batched prefill bit-identical to
// token-by-token decode.

proptest! {
    #[test]
    fn causal_blocks_equal_one_query_blocks_bitwise(
        seed: u64,
        queries in 0usize..11,
        first in 0usize..40,
        dim in prop_oneof![Just(96usize), 1usize..140],
        q_extra in 0usize..3,
        kv_extra in 0usize..3,
        out_extra in 0usize..3,
    ) {
        use phi3_kernels::kernels::attention::CausalBlock;
        use phi3_kernels::ops::{attention_causal_block, attention_head};
        let mut r = Rng::new(seed);
        let b = CausalBlock {
            queries,
            first,
            dim,
            q_pitch: dim + q_extra,
            kv_stride: dim + kv_extra,
            out_pitch: dim + out_extra,
        };
        let pos = b.positions().unwrap();
        let kv_len = if pos == 0 { 0 } else { (pos - 1) * b.kv_stride + dim };
        let keys: Vec<f16> = float_vec(&mut r, kv_len).into_iter().map(f16::from_f32).collect();
        let values: Vec<f16> = float_vec(&mut r, kv_len).into_iter().map(f16::from_f32).collect();
        let q_len = if queries == 0 { 0 } else { (queries - 1) * b.q_pitch + dim };
        let q = float_vec(&mut r, q_len);
        let out_len = if queries == 0 { 0 } else { (queries - 1) * b.out_pitch + dim };
        let scale = 1.0 / (dim as f32).sqrt();
        let weights: Vec<f32> = (0..queries * pos).map(|_| r.unit()).collect();
        let mut all = tiers();
        all.push((Tier::Scalar, Kernels::scalar()));
        for (tier, k) in all {
            // Scores: the rows past each query's `first + j` positions keep their sentinel.
            let mut scores = vec![-3.5f32; queries * pos];
            (k.attn_scores_causal_f16)(&b, &q, &keys, scale, &mut scores);
            // Values: the gaps between outputs keep their sentinel.
            let mut out = vec![-3.5f32; out_len];
            (k.attn_values_causal_f16)(&b, &weights, &values, &mut out);
            // The composed block against the composed one-query head.
            let mut bs = vec![0.0f32; queries * pos];
            let mut bo = vec![0.0f32; out_len];
            attention_causal_block(&k, &b, &q, &keys, &values, scale, &mut bs, &mut bo).unwrap();
            for j in 0..queries {
                let n = first + j;
                let qj = &q[j * b.q_pitch..][..dim];
                // Query `j` alone: a one-query block attending `first + j` positions.
                let one = CausalBlock { queries: 1, first: n, dim, q_pitch: dim, kv_stride: b.kv_stride, out_pitch: dim };
                let mut want = vec![0.0f32; n];
                (k.attn_scores_causal_f16)(&one, qj, &keys, scale, &mut want);
                let row = &scores[j * pos..][..pos];
                for p in 0..pos {
                    if p < n {
                        prop_assert!(same_bits(row[p], want[p]), "{tier}: score q{j} p{p} {} vs {}", row[p], want[p]);
                    } else {
                        prop_assert_eq!(row[p], -3.5, "{}: score q{} p{} written past the query", tier, j, p);
                    }
                }
                let mut want = vec![0.0f32; dim];
                (k.attn_values_causal_f16)(&one, &weights[j * pos..][..n], &values, &mut want);
                let oj = &out[j * b.out_pitch..][..dim];
                for i in 0..dim {
                    prop_assert!(same_bits(oj[i], want[i]), "{tier}: out q{j}[{i}] {} vs {}", oj[i], want[i]);
                }
                if j + 1 < queries {
                    prop_assert!(out[j * b.out_pitch + dim..(j + 1) * b.out_pitch].iter().all(|&v| v == -3.5),
                                 "{}: gap after output {} written", tier, j);
                }
                let (mut hs, mut ho) = (vec![0.0f32; n], vec![0.0f32; dim]);
                attention_head(&k, qj, &keys, &values, b.kv_stride, n, scale, &mut hs, &mut ho).unwrap();
                prop_assert!(bs[j * pos..][..n].iter().zip(&hs).all(|(a, b)| same_bits(*a, *b)), "{}: block weights of q{}", tier, j);
                prop_assert!(bo[j * b.out_pitch..][..dim].iter().zip(&ho).all(|(a, b)| same_bits(*a, *b)), "{}: block output of q{}", tier, j);
            }
        }
    }
}
