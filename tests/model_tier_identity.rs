//! The same answer on every chip: whole-forward logits of every available tier equal the scalar
//! tier's bit for bit (any two NaNs equal), on the five golden fixture models and on SmolLM2's
//! real weights.
//!
//! Every kernel follows one defined order (`src/kernels/float.rs` for the float kernels, exact
//! integer sums for the quantized ones), so a tier may differ from another only by a bug. Each
//! run is a batched prefill of a prompt with all logits, then greedy decode steps one token at
//! a time (the scalar tier's argmax drives every tier, so all tiers see the same tokens), and
//! a second prefill split into uneven chunks. The multi-worker pool is part of the check: SIMD
//! tiers run with 2 workers, the scalar reference with 1 (results are bit-identical for any
//! worker count).
//!
//! Under qemu (aarch64) every fixture runs its first case only and SmolLM2 a short prompt;
//! `scripts/test` runs this file at SVE 128/256/512/2048 and on a Cortex-A57 (NEON only).
//! SmolLM2 is read from `models/SmolLM2-135M-Instruct.Q4_1.gguf` (`PHI3_SMOLLM2` overrides;
//! `scripts/fetch-smollm2` downloads it). When it is missing the SmolLM2 half fails if `CI` is
//! set or `PHI3_REQUIRE_SMOLLM2=1`, and otherwise prints a loud SKIPPED line.

mod common;
mod model_support;

use std::path::PathBuf;

use model_support::{AlignedBytes, ArenaBuf, Golden, MODELS};
use phi3_kernels::cpu::Tier;
use phi3_kernels::kernels::Kernels;
use phi3_kernels::model::{Limits, Model, Session};
use phi3_kernels::parallel::ThreadPool;

/// Bit equality, any two NaNs equal.
fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Every logit of a run: the prompt prefill (all positions), each decode step, then the prompt
/// again in uneven chunks on a fresh session.
fn run(model: &Model, kernels: Kernels, workers: usize, prompt: &[u32], steps: &[u32]) -> Vec<f32> {
    let limits = Limits {
        max_context: prompt.len() + steps.len() + 1,
        max_batch: prompt.len().max(1),
        workers,
        allow_beyond_trained_context: false,
        kv: phi3_kernels::model::KvType::F16,
    };
    let pool = ThreadPool::new(workers);
    let mut out = Vec::new();
    let mut arena = ArenaBuf::for_plan(model, &limits);
    {
        let mut s = Session::new(model, arena.bytes(), limits, kernels).expect("session");
        out.extend_from_slice(s.forward_with(prompt, true, &pool).expect("prefill"));
        for &t in steps {
            out.extend_from_slice(s.forward_with(&[t], false, &pool).expect("decode"));
        }
    }
    let mut s = Session::new(model, arena.bytes(), limits, kernels).expect("session");
    let mut rest = prompt;
    let mut chunk = 3;
    while !rest.is_empty() {
        let (now, later) = rest.split_at(chunk.min(rest.len()));
        out.extend_from_slice(s.forward_with(now, true, &pool).expect("chunk"));
        rest = later;
        chunk = chunk % 5 + 2;
    }
    out
}

/// The scalar tier's greedy continuation of `prompt` for `n` steps (the tokens every tier is fed).
fn greedy_steps(model: &Model, prompt: &[u32], n: usize) -> Vec<u32> {
    let limits = Limits {
        max_context: prompt.len() + n + 1,
        max_batch: prompt.len().max(1),
        workers: 1,
        allow_beyond_trained_context: false,
        kv: phi3_kernels::model::KvType::F16,
    };
    let mut arena = ArenaBuf::for_plan(model, &limits);
    let mut s = Session::new(model, arena.bytes(), limits, Kernels::scalar()).expect("session");
    let mut logits = s.forward(prompt, false).expect("prefill").to_vec();
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        let id = logits
            .iter()
            .enumerate()
            .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &v)| {
                if v > bv {
                    (i, v)
                } else {
                    (bi, bv)
                }
            })
            .0 as u32;
        ids.push(id);
        logits = s.forward(&[id], false).expect("decode").to_vec();
    }
    ids
}

/// Compares every available SIMD tier with the scalar tier on one prompt; returns how many tiers
/// were compared.
fn check_model(what: &str, model: &Model, prompt: &[u32], steps: usize) -> usize {
    let ids = greedy_steps(model, prompt, steps);
    let want = run(model, Kernels::scalar(), 1, prompt, &ids);
    let mut compared = 0;
    for (tier, kernels) in common::simd_tiers_under_test() {
        let got = run(model, kernels, 2, prompt, &ids);
        assert_eq!(got.len(), want.len(), "{what} {tier}: logit count");
        if let Some(i) = (0..want.len()).find(|&i| !same(got[i], want[i])) {
            let differing = (0..want.len()).filter(|&i| !same(got[i], want[i])).count();
            panic!(
                "{what}: tier {tier} differs from scalar at logit {i} ({:e} vs {:e}; {differing} of {} differ)",
                got[i],
                want[i],
                want.len()
            );
        }
        println!("{what}: {tier} = scalar, {} logits bit for bit", want.len());
        compared += 1;
    }
    compared
}

#[test]
fn fixture_models_give_scalar_bits_on_every_tier() {
    let quick = model_support::quick();
    for name in MODELS {
        let golden = Golden::load(name);
        let bytes = model_support::model_bytes(name);
        let (_gguf, model) = model_support::parse(&bytes);
        let cases = if quick {
            &golden.cases[..1]
        } else {
            &golden.cases[..]
        };
        for case in cases {
            let steps = if quick { 3 } else { 8 };
            check_model(&format!("{name}/{}", case.id), &model, &case.tokens, steps);
        }
    }
}

fn smollm2_path() -> PathBuf {
    match std::env::var_os("PHI3_SMOLLM2") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/SmolLM2-135M-Instruct.Q4_1.gguf")
        }
    }
}

/// The demo's chat prompt ("What is the capital of France?" under the GGUF template), from the
/// llama.cpp golden (`tests/data/smollm2/cases.txt`, case `p0_jinja_default`).
fn smollm2_prompt() -> Vec<u32> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/smollm2");
    let text = std::fs::read_to_string(dir.join("cases.txt")).expect("tests/data/smollm2");
    let mut in_case = false;
    for line in text.lines() {
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "case" => in_case = value == "p0_jinja_default",
            "prompt_ids" if in_case => {
                return value.split(',').map(|v| v.parse().expect("id")).collect()
            }
            _ => {}
        }
    }
    panic!("cases.txt: no prompt_ids for p0_jinja_default");
}

#[test]
fn smollm2_gives_scalar_bits_on_every_tier() {
    let path = smollm2_path();
    if !path.exists() {
        let required = std::env::var_os("CI").is_some_and(|v| !v.is_empty())
            || std::env::var("PHI3_REQUIRE_SMOLLM2").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "{}: missing (scripts/fetch-smollm2 downloads it)",
            path.display()
        );
        eprintln!(
            "!!! SKIPPED smollm2_gives_scalar_bits_on_every_tier: {} is missing",
            path.display()
        );
        return;
    }
    let bytes = AlignedBytes::read(&path);
    let (_gguf, model) = model_support::parse(&bytes);
    let mut prompt = smollm2_prompt();
    // Under qemu: the prompt's last 6 tokens (the user turn and the assistant header) and 2
    // steps; natively the whole demo prompt and the first 12 answer tokens.
    let steps = if model_support::quick() {
        prompt.drain(..prompt.len().saturating_sub(6));
        2
    } else {
        12
    };
    let tiers = check_model("SmolLM2", &model, &prompt, steps);
    let all = common::tiers_under_test();
    assert_eq!(tiers + 1, all.len());
    assert!(all.iter().any(|(t, _)| *t == Tier::Scalar));
}
