//! Dequantization and reference quantization against the GGUF goldens in `tests/data/quant/`
//! (made with gguf-py 0.19.0, bitwise identical to libggml; see that folder's README).
//!
//! Every comparison is bit-exact: f32 outputs are compared by `to_bits()` (two NaNs count as
//! equal, though the goldens hold none), quantized blocks byte for byte.

use bytemuck::{Pod, Zeroable};
use half::{bf16, f16};
use phi3_kernels::quant::dequant::{self, dequantize};
use phi3_kernels::quant::quantize;
use phi3_kernels::quant::*;
use phi3_kernels::ShapeError;

/// Names of the hand-made edge-case blocks 0–15 of `quant_*.input.f32`.
const EDGE_CASES: [&str; 16] = [
    "all zeros",
    "one value 1000",
    "one value -1000 among ±1e-3 noise",
    "negative extreme -7.9 dominating",
    "+2.0 then -2.0 (|max| tie, positive first)",
    "-2.0 then +2.0 (|max| tie, negative first)",
    "exact .5 steps for Q8_0 (round half away from zero)",
    "exact steps for Q4_0",
    "values ~1e-6 (f16 scale underflows to 0)",
    "values up to ±6e4 (near f16 max)",
    "constant 3.3 (Q4_1 d = 0)",
    "constant -0.7",
    "alternating signs of growing magnitude",
    "a single -1e-30",
    "all positive",
    "all negative",
];

fn block_name(i: usize) -> &'static str {
    EDGE_CASES
        .get(i)
        .copied()
        .unwrap_or("random N(0,1)·10^U(-4,3)")
}

fn read(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/quant/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

fn read_f32(name: &str) -> Vec<f32> {
    let bytes = read(name);
    assert_eq!(bytes.len() % 4, 0, "{name}: not a whole number of f32");
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// Reads `bytes` as blocks of `B` (copying, so the file's alignment does not matter).
fn blocks<B: Pod>(bytes: &[u8]) -> Vec<B> {
    let size = std::mem::size_of::<B>();
    assert_eq!(bytes.len() % size, 0, "not a whole number of blocks");
    bytes
        .chunks_exact(size)
        .map(bytemuck::pod_read_unaligned)
        .collect()
}

/// A copy of `bytes` at an address that is 4-aligned (`offset = 0`) or misaligned by `offset`.
fn copy_at(bytes: &[u8], offset: usize, storage: &mut Vec<u32>) -> std::ops::Range<usize> {
    *storage = vec![0u32; bytes.len() / 4 + 2];
    let buf: &mut [u8] = bytemuck::cast_slice_mut(storage);
    buf[offset..offset + bytes.len()].copy_from_slice(bytes);
    offset..offset + bytes.len()
}

/// Asserts `got == want` bit for bit, reporting the first differing element and its block.
fn assert_bits_eq(what: &str, got: &[f32], want: &[f32], block_elems: usize) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let same = g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan());
        assert!(
            same,
            "{what}: element {i} (block {}) is {g:e} ({:#010x}), expected {w:e} ({:#010x})",
            i / block_elems,
            g.to_bits(),
            w.to_bits()
        );
    }
}

/// Dequantizes `<name>.bin` with the typed function, then with [`dequantize`] from an aligned
/// and from a misaligned copy, and compares all three with `<name>.f32`.
fn check_dequant<B: GgmlBlock>(name: &str, typed: fn(&[B], &mut [f32])) {
    let bytes = read(&format!("{name}.bin"));
    let want = read_f32(&format!("{name}.f32"));
    assert_eq!(B::TYPE.name(), name);
    let bl: Vec<B> = blocks(&bytes);
    assert_eq!(bl.len() * B::ELEMS, want.len(), "{name}: golden sizes");

    let mut got = vec![f32::NAN; want.len()];
    typed(&bl, &mut got);
    assert_bits_eq(&format!("{name} typed"), &got, &want, B::ELEMS);

    for offset in [0, 1, 3] {
        let mut storage = Vec::new();
        let range = copy_at(&bytes, offset, &mut storage);
        let buf: &[u8] = bytemuck::cast_slice(&storage);
        let mut got = vec![f32::NAN; want.len()];
        dequantize(B::TYPE, &buf[range], &mut got).unwrap();
        assert_bits_eq(
            &format!("{name} dequantize(), byte offset {offset}"),
            &got,
            &want,
            B::ELEMS,
        );
    }
}

#[test]
fn dequant_f16() {
    check_dequant::<f16>("F16", dequant::dequantize_f16);
}

#[test]
fn dequant_bf16() {
    check_dequant::<bf16>("BF16", dequant::dequantize_bf16);
}

#[test]
fn dequant_q4_0() {
    check_dequant::<BlockQ4_0>("Q4_0", dequant::dequantize_q4_0);
}

#[test]
fn dequant_q4_1() {
    check_dequant::<BlockQ4_1>("Q4_1", dequant::dequantize_q4_1);
}

#[test]
fn dequant_q5_0() {
    check_dequant::<BlockQ5_0>("Q5_0", dequant::dequantize_q5_0);
}

#[test]
fn dequant_q8_0() {
    check_dequant::<BlockQ8_0>("Q8_0", dequant::dequantize_q8_0);
}

#[test]
fn dequant_q4_k() {
    check_dequant::<BlockQ4K>("Q4_K", dequant::dequantize_q4_k);
}

#[test]
fn dequant_q5_k() {
    check_dequant::<BlockQ5K>("Q5_K", dequant::dequantize_q5_k);
}

#[test]
fn dequant_q6_k() {
    check_dequant::<BlockQ6K>("Q6_K", dequant::dequantize_q6_k);
}

/// The golden F16 / BF16 files viewed as F32 (their raw bytes reinterpreted) decode as LE f32.
#[test]
fn dequant_f32_is_little_endian() {
    let bytes = read("F16.bin");
    let want: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let mut storage = Vec::new();
    let range = copy_at(&bytes, 1, &mut storage);
    let buf: &[u8] = bytemuck::cast_slice(&storage);
    let mut got = vec![0.0; want.len()];
    dequantize(GgmlType::F32, &buf[range], &mut got).unwrap();
    assert_bits_eq("F32", &got, &want, 1);
}

/// Quantizes `quant_<name>.input.f32`, compares with `quant_<name>.expected.bin` block by block,
/// then dequantizes the result and compares with `quant_<name>.roundtrip.f32`.
fn check_quant<B: GgmlBlock + std::fmt::Debug>(
    name: &str,
    quant: fn(&[f32], &mut [B]),
    deq: fn(&[B], &mut [f32]),
) {
    let input = read_f32(&format!("quant_{name}.input.f32"));
    let expected = read(&format!("quant_{name}.expected.bin"));
    let roundtrip = read_f32(&format!("quant_{name}.roundtrip.f32"));
    let size = std::mem::size_of::<B>();
    assert_eq!(
        input.len() / B::ELEMS * size,
        expected.len(),
        "{name}: golden sizes"
    );

    let mut got: Vec<B> = vec![B::zeroed(); input.len() / B::ELEMS];
    quant(&input, &mut got);
    let got_bytes: &[u8] = bytemuck::cast_slice(&got);
    for (i, (g, w)) in got_bytes
        .chunks_exact(size)
        .zip(expected.chunks_exact(size))
        .enumerate()
    {
        if g != w {
            let byte = g.iter().zip(w).position(|(a, b)| a != b).unwrap_or(0);
            let want: B = bytemuck::pod_read_unaligned(w);
            panic!(
                "{name}: block {i} ({}) differs from ggml at byte {byte}\n  input: {:?}\n  got:  {:?}\n  want: {:?}",
                block_name(i),
                &input[i * B::ELEMS..(i + 1) * B::ELEMS],
                got[i],
                want
            );
        }
    }

    let mut deq_out = vec![f32::NAN; input.len()];
    deq(&got, &mut deq_out);
    assert_bits_eq(&format!("{name} roundtrip"), &deq_out, &roundtrip, B::ELEMS);
}

#[test]
fn quant_q8_0() {
    check_quant::<BlockQ8_0>("Q8_0", quantize::quantize_q8_0, dequant::dequantize_q8_0);
}

#[test]
fn quant_q4_0() {
    check_quant::<BlockQ4_0>("Q4_0", quantize::quantize_q4_0, dequant::dequantize_q4_0);
}

#[test]
fn quant_q4_1() {
    check_quant::<BlockQ4_1>("Q4_1", quantize::quantize_q4_1, dequant::dequantize_q4_1);
}

/// Q8_1 must quantize exactly like Q8_0 (same `d` and `qs`), with `s = f16(d · Σ qs)` from the
/// unrounded f32 `d`. Checked on the Q8_0 golden input, so the quants are ggml's.
#[test]
fn quant_q8_1_matches_q8_0_golden() {
    let input = read_f32("quant_Q8_0.input.f32");
    let expected: Vec<BlockQ8_0> = blocks(&read("quant_Q8_0.expected.bin"));
    let mut got = vec![BlockQ8_1::zeroed(); expected.len()];
    quantize::quantize_q8_1(&input, &mut got);
    for (i, ((g, w), x)) in got
        .iter()
        .zip(&expected)
        .zip(input.chunks_exact(QK))
        .enumerate()
    {
        assert_eq!(
            g.d.to_bits(),
            w.d.to_bits(),
            "block {i} ({}): d",
            block_name(i)
        );
        assert_eq!(g.qs, w.qs, "block {i} ({}): qs", block_name(i));
        let amax = x.iter().fold(0.0f32, |a, v| a.max(v.abs()));
        let d = amax / 127.0;
        let sum: i32 = g.qs.iter().map(|&q| i32::from(q)).sum();
        let s = f16::from_f32(sum as f32 * d);
        assert_eq!(
            g.s.to_bits(),
            s.to_bits(),
            "block {i} ({}): s",
            block_name(i)
        );
    }
    // Q8_1 decodes as d · q, like Q8_0.
    let mut a = vec![0.0; input.len()];
    let mut b = vec![0.0; input.len()];
    dequant::dequantize_q8_1(&got, &mut a);
    dequant::dequantize_q8_0(&expected, &mut b);
    assert_bits_eq("Q8_1 vs Q8_0 dequant", &a, &b, QK);
}

#[test]
fn dequantize_errors() {
    let bytes = read("Q4_0.bin");
    let mut out = vec![7.0f32; 64 * QK];

    // Unsupported types.
    for ty in [
        GgmlType::Q5_1,
        GgmlType::Q2_K,
        GgmlType::IQ4_XS,
        GgmlType::I8,
    ] {
        assert_eq!(
            dequantize(ty, &bytes[..ty.block_bytes()], &mut out[..ty.block_elems()]),
            Err(ShapeError::FormatMismatch { weights: ty })
        );
    }
    // Not a whole number of blocks.
    assert_eq!(
        dequantize(GgmlType::Q4_0, &bytes[..19], &mut out[..QK]),
        Err(ShapeError::NotBlockMultiple {
            what: "bytes",
            value: 19,
            block: 18
        })
    );
    assert_eq!(
        dequantize(GgmlType::F32, &bytes[..6], &mut out[..1]),
        Err(ShapeError::NotBlockMultiple {
            what: "bytes",
            value: 6,
            block: 4
        })
    );
    // Output of the wrong length, both ways.
    assert_eq!(
        dequantize(GgmlType::Q4_0, &bytes[..36], &mut out[..63]),
        Err(ShapeError::Length {
            what: "out",
            expected: 64,
            actual: 63
        })
    );
    assert_eq!(
        dequantize(GgmlType::Q4_0, &bytes[..36], &mut out[..65]),
        Err(ShapeError::Length {
            what: "out",
            expected: 64,
            actual: 65
        })
    );
    assert!(out.iter().all(|&v| v == 7.0), "nothing is written on error");

    // Empty input is fine.
    assert_eq!(dequantize(GgmlType::Q6_K, &[], &mut []), Ok(()));
}

/// Q8_K and Q8_1 round-trip through the generic entry point, at odd alignments too.
#[test]
fn dequantize_generic_q8_k_q8_1() {
    let input = read_f32("quant_Q4_0.input.f32");
    let mut q8k = vec![BlockQ8K::zeroed(); input.len() / QK_K];
    quantize::quantize_q8_k(&input, &mut q8k);
    let mut want = vec![0.0; input.len()];
    dequant::dequantize_q8_k(&q8k, &mut want);
    for offset in [0, 1, 2] {
        let mut storage = Vec::new();
        let range = copy_at(bytemuck::cast_slice(&q8k), offset, &mut storage);
        let buf: &[u8] = bytemuck::cast_slice(&storage);
        let mut got = vec![f32::NAN; input.len()];
        dequantize(GgmlType::Q8_K, &buf[range], &mut got).unwrap();
        assert_bits_eq("Q8_K dequantize()", &got, &want, QK_K);
    }

    let mut q81 = vec![BlockQ8_1::zeroed(); input.len() / QK];
    quantize::quantize_q8_1(&input, &mut q81);
    dequant::dequantize_q8_1(&q81, &mut want);
    let mut storage = Vec::new();
    let range = copy_at(bytemuck::cast_slice(&q81), 1, &mut storage);
    let buf: &[u8] = bytemuck::cast_slice(&storage);
    let mut got = vec![f32::NAN; input.len()];
    dequantize(GgmlType::Q8_1, &buf[range], &mut got).unwrap();
    assert_bits_eq("Q8_1 dequantize()", &got, &want, QK);
}

/// The typed functions process the common prefix of mismatched buffers without panicking
/// (only checkable without debug assertions, which flag the mismatch).
#[cfg(not(debug_assertions))]
#[test]
fn typed_functions_take_common_prefix() {
    let bl: Vec<BlockQ4_0> = blocks(&read("Q4_0.bin"));
    let want = read_f32("Q4_0.f32");
    let mut short = vec![f32::NAN; 2 * QK + 5];
    dequant::dequantize_q4_0(&bl, &mut short);
    assert_bits_eq("prefix", &short[..2 * QK], &want[..2 * QK], QK);
    assert!(short[2 * QK..].iter().all(|v| v.is_nan()));

    let input = read_f32("quant_Q8_0.input.f32");
    let mut q = vec![BlockQ8_0::zeroed(); 3];
    quantize::quantize_q8_0(&input[..2 * QK + 7], &mut q);
    assert_eq!(q[2], BlockQ8_0::zeroed());
    let mut q = vec![BlockQ6K::zeroed(); 3];
    quantize::quantize_q6_k(&input[..QK_K], &mut q);
    assert_eq!(q[1], BlockQ6K::zeroed());
}

/// Names of the super-blocks of `ref_input.f32` (0–7 are the 64 blocks of the gguf-py input).
fn ref_block_name(superblock: usize) -> &'static str {
    const EXTRA: [&str; 14] = [
        "all zeros",
        "constant 3.3",
        "constant -0.7",
        "one spike 1000 among zeros",
        "one spike -1000 among 1e-3 noise",
        "values ~1e-6 (f16 scales underflow)",
        "values up to ±6e4",
        "alternate all-zero sub-blocks",
        "all positive",
        "all negative",
        "exact integer steps",
        "alternating signs, growing",
        "a single -1e-30",
        "values ~1e-14 (just above GROUP_MAX_EPS)",
    ];
    match superblock {
        0..=7 => "gguf-py quant input (edge cases in 0–1)",
        8..=21 => EXTRA[superblock - 8],
        22..=31 => "random, scale 10^U(-4,3) per 16 elements",
        _ => "exact .5 ties at scale 1 (Q8_K / Q8_1 rounding rule)",
    }
}

/// Quantizes `ref_input.f32` and compares with `ref_<name>.bin` (ggml's reference quantizer
/// compiled without FMA contraction; see the README) block by block.
fn check_ref_quant<B: GgmlBlock + std::fmt::Debug>(name: &str, quant: fn(&[f32], &mut [B])) {
    let input = read_f32("ref_input.f32");
    let expected = read(&format!("ref_{name}.bin"));
    let size = std::mem::size_of::<B>();
    assert_eq!(
        input.len() / B::ELEMS * size,
        expected.len(),
        "{name}: golden sizes"
    );
    // Start from garbage so that fields the quantizer forgets to write are caught.
    let mut got: Vec<B> = blocks(&vec![0xA5u8; expected.len()]);
    quant(&input, &mut got);
    let got_bytes: &[u8] = bytemuck::cast_slice(&got);
    let mut bad = Vec::new();
    for (i, (g, w)) in got_bytes
        .chunks_exact(size)
        .zip(expected.chunks_exact(size))
        .enumerate()
    {
        if g != w {
            let byte = g.iter().zip(w).position(|(a, b)| a != b).unwrap_or(0);
            let sb = i * B::ELEMS / QK_K;
            bad.push(format!(
                "block {i} (super-block {sb}: {}) at byte {byte}",
                ref_block_name(sb)
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{name}: {} blocks differ from ggml:\n  {}",
        bad.len(),
        bad.join("\n  ")
    );
}

#[test]
fn ref_quant_q4_k() {
    check_ref_quant::<BlockQ4K>("Q4_K", quantize::quantize_q4_k);
}

#[test]
fn ref_quant_q6_k() {
    check_ref_quant::<BlockQ6K>("Q6_K", quantize::quantize_q6_k);
}

#[test]
fn ref_quant_q8_k() {
    check_ref_quant::<BlockQ8K>("Q8_K", quantize::quantize_q8_k);
}

#[test]
fn ref_quant_q8_1() {
    check_ref_quant::<BlockQ8_1>("Q8_1", quantize::quantize_q8_1);
}
