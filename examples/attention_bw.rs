//! Decode attention over an f16 KV cache in the two layouts the session could use, timed in
//! one run: row-major (per layer: position, KV head, dim — one head's rows `n_head_kv ·
//! head_dim` values apart) and head-major (per layer: KV head, position, dim — one head's rows
//! contiguous, the layout `Session` uses).
//!
//! ```text
//! cargo run --release --example attention_bw -- [--positions 560] [--rounds 5]
//! ```
//!
//! Phi-3-mini's shape: 32 layers, 32 heads, head_dim 96, a cache of 4096 positions (the
//! caches far exceed the last-level cache, as in decode). Per round and layout it runs, for
//! every layer and head, `attn_scores_f16`, `softmax` and `attn_values_f16` over the first
//! `--positions` positions with the best kernel tier, and prints milliseconds per token and
//! the KV bytes read per second. The last lines are machine-readable:
//! `attention_bw layout=head positions=560 ms=… gbs=…`.

use half::f16;
use phi3_kernels::cpu::CpuFeatures;
use phi3_kernels::kernels::Kernels;
use std::time::Instant;

const USAGE: &str = "usage: attention_bw [--positions 560] [--rounds 5]";

fn run() -> Result<(), String> {
    let mut positions = 560usize;
    let mut rounds = 5usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || -> Result<usize, String> {
            args.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{a}: expected a number\n{USAGE}"))
        };
        match a.as_str() {
            "--positions" => positions = value()?,
            "--rounds" => rounds = value()?,
            _ => return Err(USAGE.into()),
        }
    }
    let (layers, heads, hd, cap) = (32usize, 32usize, 96usize, 4096usize);
    if positions == 0 || positions > cap || rounds == 0 {
        return Err(format!("--positions must be 1..={cap}, --rounds positive"));
    }
    let features = CpuFeatures::detect();
    let k = Kernels::for_tier(features.best_tier(), &features).ok_or("no kernel tier")?;
    let kv_layer = cap * heads * hd;
    let keys: Vec<f16> = (0..layers * kv_layer)
        .map(|i| f16::from_f32(((i % 97) as f32 - 48.0) / 64.0))
        .collect();
    let values: Vec<f16> = (0..layers * kv_layer)
        .map(|i| f16::from_f32(((i % 89) as f32 - 44.0) / 64.0))
        .collect();
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
                    (k.attn_scores_f16)(&q, &keys[off..], stride, 0.1, &mut scores);
                    (k.softmax)(&mut scores);
                    (k.attn_values_f16)(&scores, &values[off..], stride, &mut out);
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

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("attention_bw: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
