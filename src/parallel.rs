//! [`Parallel`]: the caller's workers. The model splits its work into independent tasks (row
//! ranges of a matmul, groups of attention heads) and hands them to a `Parallel`
//! implementation, which may run them on any threads it likes and returns when all are done.
//!
//! - [`Sequential`] runs every task on the calling thread (no_std, no threads);
//! - [`ThreadPool`] (feature `std`) is a persistent pool: its threads are spawned once by
//!   [`ThreadPool::new`] (which allocates) and then [`Parallel::run`] neither allocates nor
//!   spawns. A firmware RTOS can implement the trait over its own tasks.
//!
//! Tasks never depend on each other's results and each writes its own disjoint output, so the
//! results are bitwise identical for any number of workers and any schedule.
//!
//! # The pool's protocol
//!
//! A `state` counter is odd while a job is open. `run` publishes the task (a pointer to the
//! caller's `&dyn Fn`), the task count and a fresh task cursor, then makes `state` odd and
//! wakes parked workers. Workers spin on `state` for a while (about the gap between two
//! matmuls), then yield, then park on a condition variable. A worker that sees a new open
//! job registers in `active` and re-checks `state` (Dekker-style, `SeqCst` on both sides)
//! before touching the task. Every thread, the caller included, takes task indices from the
//! shared cursor (`fetch_add`) until they run out — dynamic hand-out, so a slow or busy core
//! takes fewer tasks — and adds the number it completed to `done`. `run` waits until
//! `done == n_tasks`, closes the job (`state` even again) and waits for `active == 0`: a worker
//! that was descheduled or parked through the whole job never delays it, and no thread
//! touches the task after `run` returns.
//!
//! ## Why this is sound
//!
//! Every access to the protocol's shared words (`state`, `active`, `task`, `n_tasks`, `next`,
//! `done`) is atomic, and those that order the task's lifetime are `SeqCst`, so they all lie
//! in one total order *S*. The task slot is an `AtomicPtr` to `run`'s `&dyn Fn` argument: it
//! cannot be torn or raced, and the only thing to prove is that no worker dereferences it
//! after `run` returns (when the closure and the `&dyn Fn` on `run`'s stack die).
//!
//! 1. A worker dereferences the slot only between its increment of `active` (*A⁺*) and its
//!    decrement (*A⁻*), and only if its re-load of `state` after *A⁺* (*R*) still shows the
//!    odd value of the job it saw (job *j*).
//! 2. `run` for job *j* closes the job (`state` += 1, *C*) and then loads `active` until it
//!    reads 0 (*W*), before it clears the slot and returns.
//! 3. If *R* shows job *j* open, *R* precedes *C* in *S*, so *A⁺* (before *R* in program
//!    order, hence in *S*) precedes *W*. *W* reads 0 only from a modification after *A⁺*
//!    that brings the count back to 0, which needs this worker's *A⁻* — issued after its
//!    last use of the task. So `run` returns after every dereference.
//! 4. If *R* shows another value, the worker leaves without touching the slot.
//! 5. The slot, `n_tasks`, `next` and `done` are written by `run` before it opens the job
//!    (`state` += 1, `SeqCst`), and a worker reads them after *R* saw that opening, so it
//!    sees this job's values; `done` counts finished tasks with `Release` and `run` waits
//!    for it with `Acquire`, so every task's writes happen before `run` returns.
//!
//! `scripts/miri` runs the pool's tests under Miri's weak-memory and data-race checks with
//! many scheduler seeds.

/// Runs independent tasks, possibly concurrently (see the module docs).
pub trait Parallel {
    /// How many tasks may run at the same time (at least 1).
    fn workers(&self) -> usize;

    /// Calls `task(i)` exactly once for every `i < n_tasks`, possibly concurrently and in any
    /// order, and returns when all calls have returned.
    ///
    /// This is what an implementation should do, not what soundness rests on: the crate's
    /// own callers ([`crate::model::Session::forward_with`]) claim their work from atomic
    /// counters and ignore `i`, so an implementation that repeats, skips or invents indices,
    /// or runs nothing, only wastes work — the results stay bit for bit `Sequential`'s.
    fn run(&self, n_tasks: usize, task: &(dyn Fn(usize) + Sync));
}

/// Runs every task on the calling thread, in order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sequential;

impl Parallel for Sequential {
    fn workers(&self) -> usize {
        1
    }

    fn run(&self, n_tasks: usize, task: &(dyn Fn(usize) + Sync)) {
        for i in 0..n_tasks {
            task(i);
        }
    }
}

impl<P: Parallel + ?Sized> Parallel for &P {
    fn workers(&self) -> usize {
        (**self).workers()
    }

    fn run(&self, n_tasks: usize, task: &(dyn Fn(usize) + Sync)) {
        (**self).run(n_tasks, task)
    }
}

#[cfg(feature = "std")]
pub use pool::ThreadPool;

#[cfg(feature = "std")]
mod pool {
    use super::Parallel;
    use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
    use std::sync::{Arc, Condvar, Mutex};
    use std::thread::JoinHandle;
    use std::vec::Vec;

    /// Spin iterations a worker waits for the next job before yielding.
    const SPIN_BEFORE_YIELD: u32 = 1 << 14;
    /// `yield_now` calls a worker makes before parking.
    const YIELDS_BEFORE_PARK: u32 = 64;
    /// Spin iterations `run` waits for other threads' tasks before yielding its time slice.
    const RUN_SPIN_BEFORE_YIELD: u32 = 1 << 12;

    /// The task of the current job: a lifetime-erased pointer to `run`'s `&dyn Fn` argument
    /// (a thin pointer, so it fits an `AtomicPtr`).
    type Task<'t> = &'t (dyn Fn(usize) + Sync + 't);

    struct Shared {
        /// Odd while a job is open; bumped twice per job.
        state: AtomicU64,
        /// Set by `run` only while no job is open and `active == 0`; null between jobs.
        task: AtomicPtr<Task<'static>>,
        n_tasks: AtomicUsize,
        next: AtomicUsize,
        done: AtomicUsize,
        active: AtomicUsize,
        panicked: AtomicBool,
        shutdown: AtomicBool,
        sleepers: AtomicUsize,
        lock: Mutex<()>,
        wake: Condvar,
    }

    // SAFETY: `task` is the only field that is not `Send + Sync` by itself (a raw pointer
    // inside the atomic). It points at `run`'s `&(dyn Fn + Sync)` argument, whose pointee may
    // be called from any thread (`Sync`); it is dereferenced only by a worker registered in
    // `active` for the open job, and `run` keeps the pointee alive until `active == 0` after
    // closing the job (module docs, *Why this is sound*).
    unsafe impl Sync for Shared {}
    // SAFETY: as above.
    unsafe impl Send for Shared {}

    /// A persistent pool of worker threads implementing [`Parallel`] (see the module docs).
    ///
    /// `ThreadPool::new(n)` spawns `n − 1` threads (the thread calling [`Parallel::run`] is
    /// the n-th worker); this allocates. After that, `run` does not allocate. Dropping the
    /// pool stops and joins its threads. A `run` that starts while another `run` of the same
    /// pool is in progress (a task calling `run`, or a second thread) runs its tasks on its
    /// own thread, in order, instead of waiting.
    ///
    /// If a task panics, the other tasks still run and `run` then panics on the calling
    /// thread (the pool stays usable).
    pub struct ThreadPool {
        shared: Arc<Shared>,
        threads: Vec<JoinHandle<()>>,
        /// Serialises concurrent callers of `run` (each job has one publisher).
        publish: Mutex<()>,
    }

    impl core::fmt::Debug for ThreadPool {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.debug_struct("ThreadPool")
                .field("workers", &self.workers())
                .finish()
        }
    }

    impl ThreadPool {
        /// A pool of up to `workers` workers (`workers − 1` spawned threads plus the caller;
        /// 0 is treated as 1). Allocates the threads and their shared state.
        ///
        /// A thread the operating system refuses to spawn is simply absent, and so are all
        /// after it: the pool stops at the first refusal, and before a thread when less than
        /// 160 MiB of address space (or fewer than four mappings) would be left — a thread
        /// spawned into the last of it could not map its signal stack when it starts, and std
        /// aborts the process then. [`Parallel::workers`] tells how many it got; tasks are
        /// handed out dynamically, so a smaller pool only runs slower.
        pub fn new(workers: usize) -> Self {
            let shared = Arc::new(Shared {
                state: AtomicU64::new(0),
                task: AtomicPtr::new(core::ptr::null_mut()),
                n_tasks: AtomicUsize::new(0),
                next: AtomicUsize::new(0),
                done: AtomicUsize::new(0),
                active: AtomicUsize::new(0),
                panicked: AtomicBool::new(false),
                shutdown: AtomicBool::new(false),
                sleepers: AtomicUsize::new(0),
                lock: Mutex::new(()),
                wake: Condvar::new(),
            });
            let mut threads = Vec::new();
            if threads
                .try_reserve_exact(workers.saturating_sub(1))
                .is_err()
            {
                // Not even the handles fit: a pool of the calling thread alone.
                threads = Vec::new();
            }
            for i in 1..workers.max(1).min(threads.capacity().saturating_add(1)) {
                if !room_for_another_thread() {
                    break;
                }
                let s = Arc::clone(&shared);
                match std::thread::Builder::new()
                    .name(std::format!("phi3-worker-{i}"))
                    .spawn(move || worker_loop(&s))
                {
                    Ok(handle) => threads.push(handle),
                    Err(_) => break,
                }
            }
            ThreadPool {
                shared,
                threads,
                publish: Mutex::new(()),
            }
        }
    }

    /// Bytes of each address-space probe: above glibc's largest mmap threshold (32 MiB), so
    /// each probe is a fresh mapping, returned to the system when freed.
    const PROBE_BYTES: usize = 40 << 20;
    /// Probes held at once: a new thread needs several mappings (its stack and guard, and
    /// the signal stack std maps when the thread starts), so as many map slots must be free.
    const PROBES: usize = 4;

    /// Whether the process can still map `PROBES` × `PROBE_BYTES` (taken and released at once).
    ///
    /// A thread whose stack could be mapped may still fail to map its signal stack when it
    /// starts, and std aborts the process then ("failed to allocate an alternative stack").
    /// Spawning only while this much address space (and as many mappings) is free leaves that
    /// room for every thread already spawned. A best effort: the limits are checked at the
    /// moment of the probe, and an allocator that keeps large blocks makes it optimistic.
    fn room_for_another_thread() -> bool {
        let mut probes: [Vec<u8>; PROBES] = Default::default();
        probes
            .iter_mut()
            .all(|p| p.try_reserve_exact(PROBE_BYTES).is_ok())
    }

    /// Takes task indices from the cursor until none are left, counting each finished task
    /// in `done` (a panicking task counts as finished and sets `panicked`).
    fn drain(s: &Shared, task: &(dyn Fn(usize) + Sync), n_tasks: usize) {
        loop {
            let i = s.next.fetch_add(1, Ordering::Relaxed);
            if i >= n_tasks {
                return;
            }
            let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| task(i)));
            if ok.is_err() {
                s.panicked.store(true, Ordering::Relaxed);
            }
            s.done.fetch_add(1, Ordering::Release);
        }
    }

    /// Whether `state` holds a job this worker has not joined yet.
    fn is_new_job(state: u64, last: u64) -> bool {
        state & 1 == 1 && state != last
    }

    fn worker_loop(s: &Shared) {
        let mut last = 0u64;
        loop {
            // Wait for a new open job: spin, yield, then park.
            let (mut spins, mut yields) = (0u32, 0u32);
            let mut state = s.state.load(Ordering::Acquire);
            while !is_new_job(state, last) {
                if spins < SPIN_BEFORE_YIELD {
                    spins += 1;
                    core::hint::spin_loop();
                } else if yields < YIELDS_BEFORE_PARK {
                    yields += 1;
                    std::thread::yield_now();
                } else {
                    let mut guard = s.lock.lock().unwrap_or_else(|e| e.into_inner());
                    s.sleepers.fetch_add(1, Ordering::SeqCst);
                    while !is_new_job(s.state.load(Ordering::SeqCst), last) {
                        guard = s.wake.wait(guard).unwrap_or_else(|e| e.into_inner());
                    }
                    s.sleepers.fetch_sub(1, Ordering::SeqCst);
                    drop(guard);
                }
                state = s.state.load(Ordering::Acquire);
            }
            last = state;
            if s.shutdown.load(Ordering::Acquire) {
                return;
            }
            // Register, then make sure the job is still open (module docs).
            s.active.fetch_add(1, Ordering::SeqCst);
            if s.state.load(Ordering::SeqCst) != state {
                s.active.fetch_sub(1, Ordering::SeqCst);
                continue;
            }
            let task = s.task.load(Ordering::SeqCst);
            let n_tasks = s.n_tasks.load(Ordering::SeqCst);
            if !task.is_null() {
                // SAFETY: this thread is registered in `active` and saw the job still open
                // after registering, so `run` published `task` before opening the job and
                // keeps `*task` (its argument, a `&dyn Fn` on its stack) and the closure it
                // points to alive until `active == 0`, which needs this thread's decrement
                // below, after the last use (module docs, *Why this is sound*).
                let task: Task<'_> = unsafe { *task };
                drain(s, task, n_tasks);
            }
            s.active.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Spins, then yields, until `done()` holds.
    fn wait_until(mut done: impl FnMut() -> bool) {
        let mut spins = 0u32;
        while !done() {
            if spins < RUN_SPIN_BEFORE_YIELD {
                spins += 1;
                core::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }

    impl Parallel for ThreadPool {
        fn workers(&self) -> usize {
            self.threads.len() + 1
        }

        fn run(&self, n_tasks: usize, task: &(dyn Fn(usize) + Sync)) {
            if n_tasks == 0 {
                return;
            }
            if n_tasks == 1 || self.threads.is_empty() {
                for i in 0..n_tasks {
                    task(i);
                }
                return;
            }
            let _publisher = match self.publish.try_lock() {
                Ok(guard) => guard,
                Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => {
                    // Busy (nested or concurrent `run`): waiting could deadlock; run inline.
                    for i in 0..n_tasks {
                        task(i);
                    }
                    return;
                }
            };
            let s = &*self.shared;
            let task_ref: Task<'_> = task;
            let ptr: *const Task<'_> = &task_ref;
            // Only the lifetime is erased: workers dereference the pointer only while
            // registered in `active` for this job, and this function waits for `active == 0`
            // after closing the job, so `task_ref` and the closure outlive every use.
            let ptr = ptr.cast_mut().cast::<Task<'static>>();
            s.task.store(ptr, Ordering::SeqCst);
            s.n_tasks.store(n_tasks, Ordering::SeqCst);
            s.next.store(0, Ordering::SeqCst);
            s.done.store(0, Ordering::SeqCst);
            // Open the job (odd).
            s.state.fetch_add(1, Ordering::SeqCst);
            if s.sleepers.load(Ordering::SeqCst) > 0 {
                // Taking the lock orders this notify after a parking worker's re-check.
                drop(s.lock.lock().unwrap_or_else(|e| e.into_inner()));
                s.wake.notify_all();
            }
            drain(s, task, n_tasks);
            wait_until(|| s.done.load(Ordering::Acquire) >= n_tasks);
            // Close the job (even), then wait for registered workers to leave.
            s.state.fetch_add(1, Ordering::SeqCst);
            wait_until(|| s.active.load(Ordering::SeqCst) == 0);
            // The job is closed and no worker is registered: nobody uses `task` any more.
            s.task.store(core::ptr::null_mut(), Ordering::SeqCst);
            if s.panicked.swap(false, Ordering::Relaxed) {
                // Re-raises a panic of the caller's own task (as `std::thread::scope` does);
                // no input reaches this.
                #[allow(clippy::panic)]
                {
                    panic!("a ThreadPool task panicked");
                }
            }
        }
    }

    impl Drop for ThreadPool {
        fn drop(&mut self) {
            let s = &*self.shared;
            s.shutdown.store(true, Ordering::SeqCst);
            {
                let _guard = s.lock.lock().unwrap_or_else(|e| e.into_inner());
                // Open a job with no task: every worker wakes, sees `shutdown` and exits.
                s.state.fetch_add(1, Ordering::SeqCst);
            }
            s.wake.notify_all();
            for t in self.threads.drain(..) {
                let _ = t.join();
            }
        }
    }
}
