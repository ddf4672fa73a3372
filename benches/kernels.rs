//! Kernel benchmarks: one criterion group per operation, one id per tier and shape.
//!
//! Matrix products use the Phi-3-mini shapes (3072→9216 qkv, 3072→3072 o, 3072→16384 gate_up,
//! 8192→3072 down, 3072→32064 output) and report **weight bytes per second** (criterion's
//! `Throughput::Bytes` = the bytes of the weight matrix streamed once per call), which is what
//! decode is bound by; compare it with the machine's memory bandwidth. `matmul8` is the prefill
//! case: 8 activation columns per weight pass (weight bytes per second again; tokens/s =
//! 8 × calls/s). Element-wise kernels report bytes of f32 input.
//!
//! Run: `cargo bench --bench kernels` (all), or filter, e.g.
//! `cargo bench --bench kernels -- 'matvec_q4_0/avx2'`. `PHI3_BENCH_SHAPES=qkv,o` limits the
//! matrix shapes (default: all five).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use half::f16;
use phi3_kernels::cpu::{CpuFeatures, Tier};
use phi3_kernels::kernels::Kernels;
use phi3_kernels::ops::{quantize_into, Activations, Matrix, WeightData};
use phi3_kernels::quant::*;
use std::hint::black_box;
use std::time::Duration;

/// (name, n_in, n_out) of Phi-3-mini's matrices.
const SHAPES: [(&str, usize, usize); 5] = [
    ("qkv_3072x9216", 3072, 9216),
    ("o_3072x3072", 3072, 3072),
    ("gate_up_3072x16384", 3072, 16384),
    ("down_8192x3072", 8192, 3072),
    ("output_3072x32064", 3072, 32064),
];

fn shapes() -> Vec<(&'static str, usize, usize)> {
    let filter = std::env::var("PHI3_BENCH_SHAPES").unwrap_or_default();
    SHAPES
        .into_iter()
        .filter(|(name, _, _)| {
            filter.is_empty() || filter.split(',').any(|f| name.starts_with(f.trim()))
        })
        .collect()
}

fn tiers() -> Vec<Kernels> {
    let features = CpuFeatures::detect();
    Tier::ALL
        .into_iter()
        .filter_map(|t| Kernels::for_tier(t, &features))
        .collect()
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn f32(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }
}

/// Random weight bytes of `ty` for an `n_out × n_in` matrix (valid finite scales).
fn weight_bytes(ty: GgmlType, n_in: usize, n_out: usize, rng: &mut Rng) -> Vec<u8> {
    let n_blocks = n_in / ty.block_elems() * n_out;
    let block = ty.block_bytes();
    let mut bytes: Vec<u8> = (0..n_blocks * block).map(|_| rng.next() as u8).collect();
    // Overwrite the f16 scale fields with small finite values.
    let scale = f16::from_f32(0.01).to_bits().to_le_bytes();
    let fields: &[usize] = match ty {
        GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 => &[0],
        GgmlType::Q4_1 | GgmlType::Q4_K | GgmlType::Q5_K => &[0, 2],
        GgmlType::Q6_K => &[208],
        GgmlType::F16 => {
            for c in bytes.chunks_exact_mut(2) {
                c.copy_from_slice(&f16::from_f32(rng.f32()).to_bits().to_le_bytes());
            }
            &[]
        }
        _ => &[],
    };
    for b in bytes.chunks_exact_mut(block) {
        for &f in fields {
            b[f..f + 2].copy_from_slice(&scale);
        }
    }
    bytes
}

fn weight_data(ty: GgmlType, bytes: &[u8]) -> WeightData<'_> {
    match ty {
        GgmlType::Q4_0 => WeightData::Q4_0(bytemuck::cast_slice(bytes)),
        GgmlType::Q4_1 => WeightData::Q4_1(bytemuck::cast_slice(bytes)),
        GgmlType::Q5_0 => WeightData::Q5_0(bytemuck::cast_slice(bytes)),
        GgmlType::Q8_0 => WeightData::Q8_0(bytemuck::cast_slice(bytes)),
        GgmlType::Q4_K => WeightData::Q4K(bytemuck::cast_slice(bytes)),
        GgmlType::Q5_K => WeightData::Q5K(bytemuck::cast_slice(bytes)),
        GgmlType::Q6_K => WeightData::Q6K(bytemuck::cast_slice(bytes)),
        GgmlType::F16 => WeightData::F16(bytemuck::cast_slice(bytes)),
        _ => unreachable!("not benchmarked"),
    }
}

/// A byte buffer aligned for every block type (Vec<u64> storage).
fn aligned_bytes(n: usize) -> Vec<u64> {
    vec![0u64; n.div_ceil(8) + 8]
}

fn matrix_benches(c: &mut Criterion) {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    for ty in [
        GgmlType::Q4_0,
        GgmlType::Q4_K,
        GgmlType::Q6_K,
        GgmlType::Q8_0,
        GgmlType::Q4_1,
        GgmlType::Q5_K,
        GgmlType::Q5_0,
        GgmlType::F16,
    ] {
        for cols in [1usize, 8] {
            let group_name = if cols == 1 {
                format!("matvec_{}", ty.name().to_lowercase())
            } else {
                format!("matmul{cols}_{}", ty.name().to_lowercase())
            };
            let mut group = c.benchmark_group(group_name);
            group
                .sample_size(10)
                .warm_up_time(Duration::from_millis(500))
                .measurement_time(Duration::from_secs(2));
            for (name, n_in, n_out) in shapes() {
                // Storage is u64 so every block type's alignment holds.
                let raw = weight_bytes(ty, n_in, n_out, &mut rng);
                let mut store = aligned_bytes(raw.len());
                let bytes = &mut bytemuck::cast_slice_mut::<u64, u8>(&mut store)[..raw.len()];
                bytes.copy_from_slice(&raw);
                let m = Matrix::new(weight_data(ty, bytes), n_out, n_in).expect("shape");
                let x: Vec<f32> = (0..n_in * cols).map(|_| rng.f32()).collect();
                let format = m.activation_format();
                let mut act_store =
                    aligned_bytes(format.bytes_for(n_in * cols).expect("size") + 64);
                let act_bytes = bytemuck::cast_slice_mut::<u64, u8>(&mut act_store);
                let kernels0 = Kernels::scalar();
                let acts: Activations = quantize_into(&kernels0, format, &x, act_bytes).expect("q");
                let mut out = vec![0.0f32; n_out * cols];
                group.throughput(Throughput::Bytes(raw.len() as u64));
                for k in tiers() {
                    group.bench_with_input(BenchmarkId::new(k.tier.name(), name), &(), |b, _| {
                        b.iter(|| {
                            phi3_kernels::ops::matmul(
                                &k,
                                &m,
                                black_box(acts),
                                0..n_out,
                                &mut out,
                                n_out,
                            )
                            .expect("matmul")
                        })
                    });
                }
            }
            group.finish();
        }
    }
}

fn elementwise_benches(c: &mut Criterion) {
    let mut rng = Rng(0xfeed_beef_1234_5678);
    let d = 3072usize;
    let ff = 8192usize;
    let x: Vec<f32> = (0..ff).map(|_| rng.f32()).collect();
    let y: Vec<f32> = (0..ff).map(|_| rng.f32()).collect();
    let w: Vec<f32> = (0..d).map(|_| 1.0 + rng.f32()).collect();
    let mut out = vec![0.0f32; ff];

    let mut group = c.benchmark_group("quantize_q8_0");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(1));
    group.throughput(Throughput::Bytes((d * 4) as u64));
    let mut q8 = vec![
        BlockQ8_0 {
            d: f16::ZERO,
            qs: [0; QK]
        };
        d / QK
    ];
    for k in tiers() {
        group.bench_function(BenchmarkId::new(k.tier.name(), d), |b| {
            b.iter(|| (k.quantize_q8_0)(black_box(&x[..d]), &mut q8))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("quantize_q8_k");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(1));
    group.throughput(Throughput::Bytes((d * 4) as u64));
    let mut q8k = vec![
        BlockQ8K {
            d: 0.0,
            qs: [0; QK_K],
            bsums: [0; 16]
        };
        d / QK_K
    ];
    for k in tiers() {
        group.bench_function(BenchmarkId::new(k.tier.name(), d), |b| {
            b.iter(|| (k.quantize_q8_k)(black_box(&x[..d]), &mut q8k))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("rms_norm");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(1));
    group.throughput(Throughput::Bytes((d * 4) as u64));
    for k in tiers() {
        group.bench_function(BenchmarkId::new(k.tier.name(), d), |b| {
            b.iter(|| (k.rms_norm)(black_box(&x[..d]), &w, 1e-5, &mut out[..d]))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("swiglu");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(1));
    group.throughput(Throughput::Bytes((ff * 8) as u64));
    for k in tiers() {
        group.bench_function(BenchmarkId::new(k.tier.name(), ff), |b| {
            b.iter(|| (k.swiglu)(black_box(&x), &y, &mut out))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("softmax");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(1));
    group.throughput(Throughput::Bytes((4096 * 4) as u64));
    for k in tiers() {
        group.bench_function(BenchmarkId::new(k.tier.name(), 4096), |b| {
            b.iter(|| {
                out[..4096].copy_from_slice(&x[..4096]);
                (k.softmax)(black_box(&mut out[..4096]))
            })
        });
    }
    group.finish();

    // RoPE over all 32 heads of Phi-3-mini's q (head_dim 96).
    let mut group = c.benchmark_group("rope_neox");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(1));
    group.throughput(Throughput::Bytes((d * 4) as u64));
    let cos: Vec<f32> = (0..48).map(|i| (i as f32).cos()).collect();
    let sin: Vec<f32> = (0..48).map(|i| (i as f32).sin()).collect();
    for k in tiers() {
        group.bench_function(BenchmarkId::new(k.tier.name(), "32x96"), |b| {
            b.iter(|| (k.rope_neox)(black_box(&mut out[..d]), 96, &cos, &sin))
        });
    }
    group.finish();

    // Attention inner loops: one head (96) over 1024 cached positions, f16 K/V.
    let n_pos = 1024usize;
    let hd = 96usize;
    let kv: Vec<f16> = (0..n_pos * hd).map(|_| f16::from_f32(rng.f32())).collect();
    let mut scores = vec![0.0f32; n_pos];
    // One query attending every position: the decode path.
    let one = phi3_kernels::kernels::attention::CausalBlock {
        queries: 1,
        first: n_pos,
        dim: hd,
        q_pitch: hd,
        kv_stride: hd,
        out_pitch: hd,
    };
    let mut group = c.benchmark_group("attention_f16");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(1));
    group.throughput(Throughput::Bytes((n_pos * hd * 2) as u64));
    for k in tiers() {
        group.bench_function(
            BenchmarkId::new(format!("{}/scores", k.tier.name()), n_pos),
            |b| {
                b.iter(|| {
                    (k.attn_scores_causal_f16)(&one, black_box(&x[..hd]), &kv, 0.1, &mut scores)
                })
            },
        );
        group.bench_function(
            BenchmarkId::new(format!("{}/values", k.tier.name()), n_pos),
            |b| {
                b.iter(|| (k.attn_values_causal_f16)(&one, black_box(&scores), &kv, &mut out[..hd]))
            },
        );
    }
    group.finish();
}

criterion_group!(benches, elementwise_benches, matrix_benches);
criterion_main!(benches);
