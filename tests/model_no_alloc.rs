//! Zero allocations: a counting global allocator shows that parsing a GGUF, binding the model,
//! creating a session and many `forward` calls (prefill, decode, all-position logits, a
//! LongRoPE boundary crossing with its cache recomputation, truncate, reset) allocate nothing,
//! with an f16 and with a Q8_0 KV cache —
//! on the calling thread alone (`Sequential`) and on a `ThreadPool` of 2 workers created
//! beforehand, whose worker thread counts its allocations too.
//! One test per file: the allocator is global to the test binary.

mod model_support;

use std::sync::atomic::{AtomicUsize, Ordering};

use model_support::*;
use phi3_kernels::gguf::Gguf;
use phi3_kernels::kernels::Kernels;
use phi3_kernels::model::{ArenaPlan, Config, KvType, Limits, Model, Session};
use phi3_kernels::parallel::{Parallel, Sequential, ThreadPool};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{Counting, ALLOCATIONS, COUNTING};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Sums the logits so the work cannot be optimised away.
fn checksum(v: &[f32]) -> f32 {
    v.iter().sum()
}

#[test]
fn no_allocation_in_parse_bind_session_forward() {
    let kernels = Kernels::detect();
    let names: &[&str] = if quick() {
        &["phi3-tiny-longrope-q4_0"]
    } else {
        &[
            "phi3-tiny-q4_k_m",
            "phi3-tiny-longrope-q4_0",
            "phi4-tiny-q8_0",
        ]
    };
    // Quick mode (aarch64 under qemu) stays below the LongRoPE boundary.
    let n_prefill = if quick() { 16 } else { 240 };
    let n_decode = if quick() { 4 } else { 30 };
    let files: Vec<(&str, AlignedBytes)> =
        names.iter().copied().map(|m| (m, model_bytes(m))).collect();
    let limits = Limits {
        max_context: 300,
        max_batch: 16,
        workers: 2,
        // Past 256 positions on the 256-context fixtures: opted in (this test is about
        // allocation, not output quality).
        allow_beyond_trained_context: true,
        kv: phi3_kernels::model::KvType::F16,
    };
    // Arenas are the caller's memory: sized from the metadata before counting starts.
    let mut arenas: Vec<ArenaBuf> = files
        .iter()
        .map(|(_, b)| {
            let gguf = Gguf::parse(b.bytes()).unwrap();
            let config = Config::from_gguf(&gguf).unwrap();
            // Large enough for every KV type the loop runs.
            let plan = |kv| ArenaPlan::new(&config, &limits.with_kv(kv)).unwrap();
            ArenaBuf::new(
                plan(KvType::F16)
                    .bytes_needed()
                    .max(plan(KvType::Q8_0).bytes_needed()),
            )
        })
        .collect();
    let tokens: Vec<u32> = (0..280u32).map(|i| (i * 37 + 11) % 1024).collect();
    // Threads are spawned (and allocate) here, before counting.
    let pool = ThreadPool::new(2);
    // Sets this thread's counting flag on every thread of the pool: two tasks that wait for
    // each other must run on both threads.
    let set_counting_on_pool = |on: bool| {
        let arrived = AtomicUsize::new(0);
        pool.run(2, &|_| {
            COUNTING.with(|c| c.set(on));
            arrived.fetch_add(1, Ordering::SeqCst);
            while arrived.load(Ordering::SeqCst) < 2 {
                std::hint::spin_loop();
            }
        });
    };

    let mut total = 0.0f32;
    let mut forwards = 0;
    let pars: [&dyn Parallel; 2] = [&Sequential, &pool];
    let kvs = [KvType::F16, KvType::Q8_0];
    let mut jobs = Vec::new();
    for &p in &pars {
        for &kv in &kvs {
            for f in files.iter().enumerate() {
                jobs.push((p, kv, f));
            }
        }
    }
    set_counting_on_pool(true);
    COUNTING.with(|c| c.set(true));
    for (par, kv, (i, (_, bytes))) in jobs {
        let limits = limits.with_kv(kv);
        let arena = &mut arenas[i];
        let gguf = Gguf::parse(bytes.bytes()).unwrap();
        let model = Model::from_gguf(&gguf).unwrap();
        let mut s = Session::new(&model, arena.bytes(), limits, kernels).unwrap();
        // Prefill in batches, then decode (in full mode across 256: the LongRoPE model
        // recomputes its cache there), all-position logits, truncate, reset.
        for chunk in tokens[..n_prefill].chunks(16) {
            total += checksum(s.forward_with(chunk, false, par).unwrap());
            forwards += 1;
        }
        let end = n_prefill + n_decode;
        for &t in &tokens[n_prefill..end] {
            total += checksum(s.forward_with(&[t], false, par).unwrap());
            forwards += 1;
        }
        total += checksum(s.forward_with(&tokens[end..end + 10], true, par).unwrap());
        s.truncate(n_prefill / 2).unwrap();
        total += checksum(
            s.forward_with(&tokens[n_prefill / 2..][..10], false, par)
                .unwrap(),
        );
        s.reset();
        total += checksum(s.forward_with(&tokens[..3], true, par).unwrap());
        forwards += 3;
        assert!(s.forward_with(&[], false, par).is_err());
    }
    COUNTING.with(|c| c.set(false));
    set_counting_on_pool(false);

    assert!(total.is_finite());
    assert_eq!(
        forwards,
        2 * kvs.len() * names.len() * (n_prefill.div_ceil(16) + n_decode + 3)
    );
    assert_eq!(
        ALLOCATIONS.load(Ordering::Relaxed),
        0,
        "the library allocated during parse / bind / session / forward"
    );
    // The counter does count this thread's allocations.
    COUNTING.with(|c| c.set(true));
    let boxed = std::hint::black_box(Box::new(1u64));
    COUNTING.with(|c| c.set(false));
    drop(boxed);
    assert_eq!(ALLOCATIONS.load(Ordering::Relaxed), 1);
}
