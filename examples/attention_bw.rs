//! Decode attention over an f16 KV cache in the two layouts the session could use, timed in
//! one run: row-major (per layer: position, KV head, dim — one head's rows `n_head_kv ·
//! head_dim` values apart) and head-major (per layer: KV head, position, dim — one head's rows
//! contiguous, the layout `Session` uses).
//!
//! ```text
//! cargo run --release --example attention_bw -- [--positions 560] [--rounds 5] [--prefill 64]
//! ```
//!
//! Phi-3-mini's shape: 32 layers, 32 heads, head_dim 96, a cache of 4096 positions (the
//! caches far exceed the last-level cache, as in decode). Per round and layout it runs, for
//! every layer and head, `attention_head` (a one-query causal block: scores, softmax, values) over the first
//! `--positions` positions with the best kernel tier, and prints milliseconds per token and
//! the KV bytes read per second. The last lines are machine-readable:
//! `attention_bw layout=head positions=560 ms=… gbs=…`.
//!
//! With `--prefill B` it times instead the attention of a prefill batch of `B` tokens whose
//! first sits at `--positions` (token `t` attends `positions + t` rows), head-major, every
//! layer and head: one query at a time (`attention_head`) against causal blocks of
//! `ATTENTION_BLOCK` queries (`attention_causal_block`, the session's path), alternating, and
//! prints milliseconds per batch and their ratio:
//! `attention_bw prefill=64 positions=448 per_query_ms=… block_ms=… speedup=…`.
//!
//! With `--kv f16,q8_0,q4_0` (any comma-separated list of KV types; default `f16`) decode runs
//! the head-major layout once per type in every round, alternating, the quantized types with
//! the session's attention over a quantized cache
//! (`phi3_kernels::model::kv::attention_head_quantized`: the query quantized to Q8_0, integer
//! dot products, values dequantized in the weighted sum), and prints each type's best time and
//! its speed-up over the first type listed:
//! `attention_bw kv=q8_0 positions=2048 ms=… gbs=… speedup_vs_f16=…`.

use half::f16;
use phi3_kernels::cpu::CpuFeatures;
use phi3_kernels::kernels::attention::CausalBlock;
use phi3_kernels::kernels::Kernels;
use phi3_kernels::model::kv::attention_head_quantized;
use phi3_kernels::model::{KvType, ATTENTION_BLOCK};
use phi3_kernels::ops::{attention_causal_block, attention_head};
use phi3_kernels::quant::BlockQ8_0;
use std::time::Instant;

#[path = "common/args.rs"]
mod args;

use args::CliError;

const USAGE: &str = "usage: attention_bw [--positions 560] [--rounds 5] [--prefill B] [--kv f16|q8_0|q4_0[,...]]\n  --kv LIST  KV cache element types to time in decode, alternating (default f16)";

/// Positions of the cache (Phi-3-mini-4k's context).
const CAP: usize = 4096;

/// `(positions, rounds, prefill, kv types)` from the command line.
fn parse_args() -> Result<(usize, usize, usize, Vec<KvType>), CliError> {
    let mut kv = vec![KvType::F16];
    let mut positions = 560usize;
    let mut rounds = 5usize;
    let mut prefill = 0usize;
    let mut args = args::args()?.into_iter();
    while let Some(a) = args.next() {
        let mut value = || -> Result<usize, String> {
            args.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{a}: expected a number\n{USAGE}"))
        };
        match a.as_str() {
            "--kv" => {
                let list = args
                    .next()
                    .ok_or_else(|| format!("--kv: expected a list\n{USAGE}"))?;
                kv = list
                    .split(',')
                    .map(|n| {
                        KvType::from_name(n)
                            .ok_or_else(|| format!("--kv: unknown KV type {n:?}\n{USAGE}"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--positions" => positions = value()?,
            "--rounds" => rounds = value()?,
            "--prefill" => prefill = value()?,
            "-h" | "--help" => return Err(CliError::Help),
            other => return Err(format!("unknown argument {other}\n{USAGE}").into()),
        }
    }
    if positions == 0 || positions.saturating_add(prefill) > CAP || rounds == 0 {
        return Err(format!(
            "--positions must be 1..={CAP} (with --prefill B: positions + B <= {CAP}), \
             --rounds positive\n{USAGE}"
        )
        .into());
    }
    Ok((positions, rounds, prefill, kv))
}

fn run(positions: usize, rounds: usize, prefill: usize, kv: &[KvType]) -> Result<(), String> {
    let (layers, heads, hd, cap) = (32usize, 32usize, 96usize, CAP);
    let features = CpuFeatures::detect();
    let k = Kernels::for_tier(features.best_tier(), &features).ok_or("no kernel tier")?;
    let kv_layer = cap * heads * hd;
    let keys: Vec<f16> = (0..layers * kv_layer)
        .map(|i| f16::from_f32(((i % 97) as f32 - 48.0) / 64.0))
        .collect();
    let values: Vec<f16> = (0..layers * kv_layer)
        .map(|i| f16::from_f32(((i % 89) as f32 - 44.0) / 64.0))
        .collect();
    if prefill > 0 {
        return prefill_attention(&k, &keys, &values, prefill, positions, rounds);
    }
    if kv != [KvType::F16] {
        return decode_kv_types(&k, &keys, &values, positions, rounds, kv);
    }
    let q: Vec<f32> = (0..hd).map(|i| i as f32 / 100.0).collect();
    let mut scores = vec![0.0f32; positions];
    let mut out = vec![0.0f32; hd];
    let bytes = (2 * layers * heads * positions * hd * 2) as f64;
    println!(
        "attention_bw: {layers} layers x {heads} heads x {positions} positions, head_dim {hd}, tier {:?}, {:.0} MiB of K and V per token",
        k.tier,
        bytes / (1 << 20) as f64
    );
    let mut best = [f64::MAX; 2];
    for _ in 0..rounds {
        for (li, layout) in ["row", "head"].iter().enumerate() {
            let t = Instant::now();
            for l in 0..layers {
                for h in 0..heads {
                    let (off, stride) = if li == 0 {
                        (l * kv_layer + h * hd, heads * hd)
                    } else {
                        (l * kv_layer + h * cap * hd, hd)
                    };
                    let (keys, values) = (&keys[off..], &values[off..]);
                    attention_head(
                        &k,
                        &q,
                        keys,
                        values,
                        stride,
                        positions,
                        0.1,
                        &mut scores,
                        &mut out,
                    )
                    .expect("the cache holds every row");
                }
            }
            let dt = t.elapsed().as_secs_f64();
            best[li] = best[li].min(dt);
            println!("attention_bw: {layout:4} {:7.2} ms per token", dt * 1e3);
        }
    }
    std::hint::black_box(&out);
    for (li, layout) in ["row", "head"].iter().enumerate() {
        println!(
            "attention_bw layout={layout} positions={positions} ms={:.3} gbs={:.2}",
            best[li] * 1e3,
            bytes / best[li] / 1e9
        );
    }
    Ok(())
}

/// `--prefill`: a batch of `batch` queries per head (token `t` attends `positions + t` rows)
/// over every layer and head, per query and by causal blocks, alternating.
fn prefill_attention(
    k: &Kernels,
    keys: &[f16],
    values: &[f16],
    batch: usize,
    positions: usize,
    rounds: usize,
) -> Result<(), String> {
    let (layers, heads, hd, cap) = (32usize, 32usize, 96usize, 4096usize);
    let kv_layer = cap * heads * hd;
    let scale = 1.0 / (hd as f32).sqrt();
    // Queries laid out as the session's qkv rows: token-major, `heads · hd` per token.
    let q: Vec<f32> = (0..batch * heads * hd)
        .map(|i| ((i % 101) as f32 - 50.0) / 40.0)
        .collect();
    let last = positions + batch - 1;
    let mut scores = vec![0.0f32; ATTENTION_BLOCK * last];
    let mut out = vec![0.0f32; batch * heads * hd];
    let mut check = vec![0.0f32; batch * heads * hd];
    println!(
        "attention_bw: prefill of {batch} tokens at positions {positions}..{}, {layers} layers x {heads} heads, head_dim {hd}, tier {:?}, blocks of {ATTENTION_BLOCK}",
        positions + batch,
        k.tier
    );
    let mut best = [f64::MAX; 2];
    for _ in 0..rounds {
        for (mode, dst) in [(0usize, &mut check), (1, &mut out)] {
            let t = Instant::now();
            for l in 0..layers {
                for h in 0..heads {
                    let off = l * kv_layer + h * cap * hd;
                    let (kh, vh) = (&keys[off..], &values[off..]);
                    let mut t0 = 0;
                    while t0 < batch {
                        let m = ATTENTION_BLOCK.min(batch - t0);
                        let qb = &q[(t0 * heads + h) * hd..];
                        let ob = &mut dst[(t0 * heads + h) * hd..];
                        if mode == 0 {
                            for j in 0..m {
                                let n = positions + t0 + j;
                                attention_head(
                                    k,
                                    &qb[j * heads * hd..][..hd],
                                    kh,
                                    vh,
                                    hd,
                                    n,
                                    scale,
                                    &mut scores,
                                    &mut ob[j * heads * hd..][..hd],
                                )
                                .map_err(|e| e.to_string())?;
                            }
                        } else {
                            let b = CausalBlock {
                                queries: m,
                                first: positions + t0,
                                dim: hd,
                                q_pitch: heads * hd,
                                kv_stride: hd,
                                out_pitch: heads * hd,
                            };
                            attention_causal_block(k, &b, qb, kh, vh, scale, &mut scores, ob)
                                .map_err(|e| e.to_string())?;
                        }
                        t0 += m;
                    }
                }
            }
            let dt = t.elapsed().as_secs_f64();
            best[mode] = best[mode].min(dt);
            let name = ["per query", "blocks"][mode];
            println!("attention_bw: {name:9} {:8.2} ms per batch", dt * 1e3);
        }
    }
    if out
        .iter()
        .zip(&check)
        .any(|(a, b)| a.to_bits() != b.to_bits())
    {
        return Err("block and per-query outputs differ".into());
    }
    println!(
        "attention_bw prefill={batch} positions={positions} per_query_ms={:.3} block_ms={:.3} speedup={:.3}",
        best[0] * 1e3,
        best[1] * 1e3,
        best[0] / best[1]
    );
    Ok(())
}

/// `--kv`: decode attention, head-major, over a cache of each type in `kv`, alternating.
fn decode_kv_types(
    k: &Kernels,
    keys: &[f16],
    values: &[f16],
    positions: usize,
    rounds: usize,
    kv: &[KvType],
) -> Result<(), String> {
    let (layers, heads, hd, cap) = (32usize, 32usize, 96usize, CAP);
    let scale = 1.0 / (hd as f32).sqrt();
    let q: Vec<f32> = (0..hd).map(|i| ((i % 13) as f32 - 6.0) / 10.0).collect();
    // The same values quantized per row, for each quantized type.
    let quantize = |t: KvType, src: &[f16]| -> Result<Vec<u8>, String> {
        let row = t.row_bytes(hd).ok_or("head_dim")?;
        let mut out = vec![0u8; src.len() / hd * row];
        let mut f = vec![0.0f32; hd];
        let mut blocks = vec![
            BlockQ8_0 {
                d: f16::ZERO,
                qs: [0; 32]
            };
            hd / 32
        ];
        let mut nib = vec![
            phi3_kernels::quant::BlockQ4_0 {
                d: f16::ZERO,
                qs: [0; 16]
            };
            hd / 32
        ];
        for (r, dst) in src.chunks_exact(hd).zip(out.chunks_exact_mut(row)) {
            for (a, b) in f.iter_mut().zip(r) {
                *a = b.to_f32();
            }
            match t {
                KvType::Q8_0 => {
                    phi3_kernels::quant::quantize::quantize_q8_0(&f, &mut blocks);
                    dst.copy_from_slice(bytemuck::cast_slice(&blocks));
                }
                _ => {
                    phi3_kernels::quant::quantize::quantize_q4_0(&f, &mut nib);
                    dst.copy_from_slice(bytemuck::cast_slice(&nib));
                }
            }
        }
        Ok(out)
    };
    let mut caches = Vec::new();
    for &t in kv {
        caches.push(if t.is_quantized() {
            Some((quantize(t, keys)?, quantize(t, values)?))
        } else {
            None
        });
    }
    let mut scores = vec![0.0f32; positions];
    let mut out = vec![0.0f32; hd];
    let mut q8 = vec![
        BlockQ8_0 {
            d: f16::ZERO,
            qs: [0; 32]
        };
        hd / 32
    ];
    println!(
        "attention_bw: {layers} layers x {heads} heads x {positions} positions, head_dim {hd}, tier {:?}, KV types {}",
        k.tier,
        kv.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
    );
    let mut best = vec![f64::MAX; kv.len()];
    for _ in 0..rounds {
        for (i, &t) in kv.iter().enumerate() {
            let start = Instant::now();
            for l in 0..layers {
                for h in 0..heads {
                    let head = (l * heads + h) * cap;
                    match &caches[i] {
                        None => {
                            let off = head * hd;
                            attention_head(
                                k,
                                &q,
                                &keys[off..],
                                &values[off..],
                                hd,
                                positions,
                                scale,
                                &mut scores,
                                &mut out,
                            )
                            .map_err(|e| e.to_string())?;
                        }
                        Some((kq, vq)) => {
                            let off = head * t.row_bytes(hd).ok_or("head_dim")?;
                            attention_head_quantized(
                                k,
                                t,
                                &q,
                                &kq[off..],
                                &vq[off..],
                                positions,
                                scale,
                                &mut q8,
                                &mut scores,
                                &mut out,
                            )
                            .map_err(|e| e.to_string())?;
                        }
                    }
                }
            }
            let dt = start.elapsed().as_secs_f64();
            best[i] = best[i].min(dt);
            println!("attention_bw: {:5} {:7.2} ms per token", t.name(), dt * 1e3);
        }
    }
    std::hint::black_box(&out);
    for (i, &t) in kv.iter().enumerate() {
        let row = t.row_bytes(hd).ok_or("head_dim")?;
        let bytes = (2 * layers * heads * positions * row) as f64;
        println!(
            "attention_bw kv={} positions={positions} ms={:.3} gbs={:.2} speedup_vs_{}={:.3}",
            t.name(),
            best[i] * 1e3,
            bytes / best[i] / 1e9,
            kv[0].name(),
            best[0] / best[i]
        );
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let (positions, rounds, prefill, kv) = match parse_args() {
        Ok(a) => a,
        Err(e) => return args::exit("attention_bw", USAGE, e),
    };
    match run(positions, rounds, prefill, &kv) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("attention_bw: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
