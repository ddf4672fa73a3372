//! A caller's `Parallel` may be wrong, and safe code must still not reach undefined behaviour.
//!
//! `Session::forward_with` claims its task numbers and scratch slots from atomic counters
//! (`src/model/split.rs`), so an executor that runs an index twice (concurrently), invents
//! indices, or runs nothing at all can only waste work: the logits stay bit for bit those of
//! `Sequential`. `scripts/miri` runs this file under Miri with many scheduler seeds, which
//! also checks `ThreadPool`'s protocol (data races, weak memory, use after free).
//!
//! Before the claiming, `Twice` made two threads share one attention scratch slot and write
//! the same output ranges through aliased `&mut`: natively the logits differed from
//! `Sequential`'s (most runs), and Miri reported the aliasing.

use phi3_kernels::gguf::Gguf;
use phi3_kernels::kernels::Kernels;
use phi3_kernels::model::{Limits, Model, Session, ARENA_ALIGN};
use phi3_kernels::parallel::{Parallel, Sequential, ThreadPool};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs every index on two threads at once.
struct Twice;

impl Parallel for Twice {
    fn workers(&self) -> usize {
        2
    }
    fn run(&self, n_tasks: usize, task: &(dyn Fn(usize) + Sync)) {
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| (0..n_tasks).for_each(task));
            }
        });
    }
}

/// Runs only index 0, three times, on three threads, plus indices past the end.
struct Skewed;

impl Parallel for Skewed {
    fn workers(&self) -> usize {
        usize::MAX
    }
    fn run(&self, n_tasks: usize, task: &(dyn Fn(usize) + Sync)) {
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| task(0));
            }
            s.spawn(|| task(n_tasks.saturating_add(5)));
        });
    }
}

/// Runs nothing.
struct Idle;

impl Parallel for Idle {
    fn workers(&self) -> usize {
        0
    }
    fn run(&self, _n_tasks: usize, _task: &(dyn Fn(usize) + Sync)) {}
}

/// The `gguf_model` fuzz seed: a 2-layer Phi-3 of 32 tokens in 7 KiB (Miri-sized).
fn tiny_model_bytes() -> Vec<u64> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus/gguf_model/seed-phi3-q4_0");
    let raw = std::fs::read(path).unwrap();
    let file = &raw[1..];
    let mut words = vec![0u64; file.len().div_ceil(8)];
    bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..file.len()].copy_from_slice(file);
    words.push(file.len() as u64);
    words
}

/// The bits of every logit of a prefill (all positions) and two decode steps on `par`.
fn logits_bits(model: &Model, par: &dyn Parallel) -> Vec<u32> {
    let limits = Limits::new(8, 4, 3);
    let needed = phi3_kernels::model::ArenaPlan::new(model.config(), &limits)
        .unwrap()
        .bytes_needed();
    assert_eq!(ARENA_ALIGN % 8, 0);
    let mut words = vec![0u64; needed.div_ceil(8) + ARENA_ALIGN / 8];
    let bytes = bytemuck::cast_slice_mut::<u64, u8>(&mut words);
    let skip = bytes.as_ptr().align_offset(ARENA_ALIGN);
    let arena = &mut bytes[skip..skip + needed];
    let mut s = Session::new(model, arena, limits, Kernels::detect()).unwrap();
    let mut bits = Vec::new();
    let logits = s.forward_with(&[1, 5, 31, 2], true, par).unwrap();
    bits.extend(logits.iter().map(|v| v.to_bits()));
    for t in [7, 9] {
        let logits = s.forward_with(&[t], false, par).unwrap();
        bits.extend(logits.iter().map(|v| v.to_bits()));
    }
    bits
}

#[test]
fn wrong_executors_give_the_sequential_logits() {
    let mut words = tiny_model_bytes();
    let len = words.pop().unwrap() as usize;
    let bytes = &bytemuck::cast_slice::<u64, u8>(&words)[..len];
    let gguf = Gguf::parse(bytes).unwrap();
    let model = Model::from_gguf(&gguf).unwrap();
    let want = logits_bits(&model, &Sequential);
    assert!(want.iter().all(|&b| f32::from_bits(b).is_finite()));
    let rounds = if cfg!(miri) { 1 } else { 20 };
    for round in 0..rounds {
        assert!(logits_bits(&model, &Twice) == want, "Twice, round {round}");
        assert!(
            logits_bits(&model, &Skewed) == want,
            "Skewed, round {round}"
        );
    }
    assert!(logits_bits(&model, &Idle) == want, "Idle");
    let pool = ThreadPool::new(3);
    assert!(logits_bits(&model, &pool) == want, "ThreadPool");
}

/// Many short jobs on one pool: every index exactly once per job, results visible to the
/// caller when `run` returns, nested and concurrent `run`s served inline.
#[test]
fn thread_pool_runs_each_index_once() {
    let pool = ThreadPool::new(3);
    let jobs = if cfg!(miri) { 12 } else { 2000 };
    for job in 0..jobs {
        let n = 1 + job % 7;
        let hits: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
        let mut plain = vec![0usize; n];
        let cells: Vec<std::sync::Mutex<&mut usize>> =
            plain.iter_mut().map(std::sync::Mutex::new).collect();
        pool.run(n, &|i| {
            hits[i].fetch_add(1, Ordering::Relaxed);
            **cells[i].lock().unwrap() += i + 1;
            if job % 5 == 0 {
                // A nested run executes inline on this thread.
                pool.run(2, &|_| {});
            }
        });
        drop(cells);
        for (i, h) in hits.iter().enumerate() {
            assert_eq!(h.load(Ordering::Relaxed), 1, "job {job} index {i}");
        }
        assert!(plain.iter().enumerate().all(|(i, &v)| v == i + 1));
    }
    // Two threads sharing the pool: the one that finds it busy runs its tasks inline.
    let total = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..if cfg!(miri) { 3 } else { 200 } {
                    pool.run(4, &|i| {
                        total.fetch_add(i, Ordering::Relaxed);
                    });
                }
            });
        }
    });
    let per_run = 1 + 2 + 3;
    assert_eq!(
        total.load(Ordering::Relaxed),
        2 * per_run * if cfg!(miri) { 3 } else { 200 }
    );
}

/// `ThreadPool::new` with far more workers than the address space allows: the threads that
/// cannot be spawned are absent, and the process neither aborts nor panics. Runs the test
/// binary again in a child process whose address space `ulimit -v` caps at 2 GiB. (Before
/// the pool kept address space in reserve, a worker spawned into the last of it aborted the
/// process when std could not map its signal stack: "failed to allocate an alternative
/// stack", SIGABRT.)
#[test]
#[cfg(all(target_os = "linux", target_arch = "x86_64", not(miri)))]
fn thread_pool_under_an_address_space_limit() {
    const CHILD: &str = "PHI3_POOL_LIMIT_CHILD";
    if std::env::var_os(CHILD).is_some() {
        // Several pools in turn: the abort this guards against (a thread spawned into the
        // last of the address space cannot map its signal stack) came in some runs only.
        for _ in 0..10 {
            let pool = ThreadPool::new(100_000);
            assert!(pool.workers() >= 1 && pool.workers() < 100_000);
            let hits = AtomicUsize::new(0);
            pool.run(64, &|_| {
                hits.fetch_add(1, Ordering::Relaxed);
            });
            assert_eq!(hits.load(Ordering::Relaxed), 64);
            println!("pool workers under the limit: {}", pool.workers());
        }
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 2097152 && exec \"$0\" --exact thread_pool_under_an_address_space_limit --nocapture --test-threads=1")
        .arg(&exe)
        .env(CHILD, "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("pool workers under the limit"),
        "child failed: {:?}\n{text}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
