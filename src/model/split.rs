//! How a forward pass's steps are cut into tasks for a [`Parallel`] executor, and why that is
//! sound whatever the executor does.
//!
//! # Tasks are claimed, never assigned
//!
//! [`Parallel`] is a safe trait: a caller's implementation may run an index twice, on two
//! threads at once, run indices that were never asked for, or run nothing at all. The session
//! therefore never derives an exclusive output range from the index the executor passes.
//! [`run_claimed`] wraps the work in a closure that ignores that index and instead claims
//!
//! - a *slot* (per-invocation scratch) from one atomic counter, once per invocation — an
//!   invocation that finds every slot taken returns without doing anything;
//! - *task numbers* from a second atomic counter, until they run out.
//!
//! `fetch_add` hands every number to exactly one claimant, so every task runs exactly once
//! and every slot has at most one user, for any executor. After [`Parallel::run`] returns, no
//! invocation is still running — the closure is borrowed only for the duration of the call,
//! so safe code cannot keep it (scoped threads are joined before the call returns; `'static`
//! threads cannot take the borrow) — and the calling thread runs any tasks the executor left
//! unclaimed itself, with slot 0. A misbehaving executor can only waste work or serialise it;
//! the result is the same bits as with [`crate::parallel::Sequential`].
//!
//! The output buffers are shared between tasks through [`SharedOut`]: each task forms
//! `&mut` views only of the ranges its claimed task number (or slot) owns, and those are
//! pairwise disjoint by construction.
//!
//! # Matmul splits (see the session's module docs, *Parallelism*)
//!
//! - one column (decode): rows cut into [`ROW_TASKS_PER_WORKER`] ranges per planned worker;
//! - several columns on several workers: rows cut into chunks of whole octets, each task
//!   writing its rows of every column into its own range of a scratch buffer, then copying
//!   each column's segment into place;
//! - otherwise (one worker, or the output head): columns cut into groups.

use super::weights::Projection;
use crate::error::{Error, ShapeError};
use crate::kernels::Kernels;
use crate::ops::{matmul, quantize_into, Activations, Matrix};
use crate::parallel::Parallel;
use core::ops::Range;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Row tasks per planned worker for a one-column matmul: more tasks than workers so that a
/// slow or busy core takes fewer of them (dynamic hand-out) instead of holding the others up.
pub const ROW_TASKS_PER_WORKER: usize = 4;

/// An out-of-range slice inside the session's own buffers (the plan makes this impossible;
/// reported as an error rather than a panic).
pub(super) const INTERNAL: Error = Error::Shape(ShapeError::Overflow);

/// How a step's work is split: `workers` planned workers (the arena's scratch) on `par`.
#[derive(Clone, Copy)]
pub(super) struct Split<'p> {
    pub workers: usize,
    pub par: &'p dyn Parallel,
}

/// Runs `work(slot, task)` exactly once for every `task < tasks`, on `par` (module docs),
/// with `slot < slots` naming scratch that no other concurrent call uses. At most `slots`
/// invocations of the executor do work; `slots == 0` is treated as 1.
pub(super) fn run_claimed(
    par: &dyn Parallel,
    tasks: usize,
    slots: usize,
    work: &(dyn Fn(usize, usize) + Sync),
) {
    if tasks == 0 {
        return;
    }
    let slots = slots.max(1);
    let next_slot = AtomicUsize::new(0);
    let next_task = AtomicUsize::new(0);
    let drain = |slot: usize| loop {
        let task = next_task.fetch_add(1, Ordering::Relaxed);
        if task >= tasks {
            return;
        }
        work(slot, task);
    };
    par.run(tasks.min(slots), &|_index| {
        // The executor's index is ignored: it may repeat or skip indices.
        let slot = next_slot.fetch_add(1, Ordering::Relaxed);
        if slot < slots {
            drain(slot);
        }
    });
    // No invocation outlives `run` (module docs), so every slot is free again: the tasks the
    // executor left (all of them, if it ran nothing) run here.
    // (`fetch_add` past `tasks` cannot wrap: each claimant adds 1 at most once after the
    // counter reached `tasks`, and there are far fewer claimants than `usize::MAX − tasks`.)
    drain(0);
}

/// Range `i` of `0..len` cut into `parts` contiguous pieces whose sizes differ by at most one
/// (empty when `i` is past the last one).
pub(super) fn part(len: usize, parts: usize, i: usize) -> Range<usize> {
    let parts = parts.max(1);
    let (base, extra) = (len / parts, len % parts);
    let start = i.saturating_mul(base).saturating_add(i.min(extra)).min(len);
    let end = start.saturating_add(base + usize::from(i < extra)).min(len);
    start..end
}

/// An `f32` output buffer shared by tasks that each write a disjoint range of it.
#[derive(Clone, Copy)]
pub(super) struct SharedOut {
    ptr: *mut f32,
    len: usize,
}

// SAFETY: tasks only form `&mut` views of pairwise disjoint ranges (see `SharedOut::range`'s
// callers: ranges are derived from task numbers and slots claimed through `run_claimed`, each
// held by one claimant), so sharing the pointer between threads cannot create aliasing
// mutable access.
unsafe impl Send for SharedOut {}
// SAFETY: as above.
unsafe impl Sync for SharedOut {}

impl SharedOut {
    pub(super) fn new(out: &mut [f32]) -> Self {
        SharedOut {
            ptr: out.as_mut_ptr(),
            len: out.len(),
        }
    }

    /// Copies `src` to `out[start .. start + src.len()]` (nothing if that does not fit).
    ///
    /// # Safety
    /// No other thread may access those elements meanwhile, no reference to them may exist,
    /// and the buffer `new` was given must outlive the call and not be used otherwise.
    pub(super) unsafe fn copy_in(self, start: usize, src: &[f32]) {
        if start
            .checked_add(src.len())
            .is_some_and(|end| end <= self.len)
        {
            // SAFETY: `start + src.len() <= len`: inside the buffer; `src` is another buffer
            // (the caller's scratch); exclusivity is the caller's contract.
            unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), self.ptr.add(start), src.len()) };
        }
    }

    /// `out[start..end]` (clamped to the buffer).
    ///
    /// # Safety
    /// While the returned slice lives, no other view of any element of `start..end` may
    /// exist, and the buffer `new` was given must outlive it and not be used otherwise.
    pub(super) unsafe fn range<'o>(self, start: usize, end: usize) -> &'o mut [f32] {
        let end = end.min(self.len);
        let start = start.min(end);
        // SAFETY: `start <= end <= len`, so the range lies inside the buffer; exclusivity is
        // the caller's contract.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.add(start), end - start) }
    }
}

/// The scratch of a multi-column matmul split by rows (see [`project_matrix`]): `rows ·
/// n_cols` values of `scratch` when there are several workers and it is long enough, else
/// `None` (the matmul then splits its columns).
fn row_split_scratch(
    workers: usize,
    rows: usize,
    n_cols: usize,
    scratch: &mut [f32],
) -> Option<&mut [f32]> {
    if workers < 2 || n_cols < 2 || rows < 16 {
        return None;
    }
    scratch.get_mut(..rows.checked_mul(n_cols)?)
}

/// Column `c0 .. c1` of activations with `per_col` blocks per column.
fn columns(a: Activations<'_>, per_col: usize, c0: usize, c1: usize) -> Option<Activations<'_>> {
    let r = c0.checked_mul(per_col)?..c1.checked_mul(per_col)?;
    Some(match a {
        Activations::F32(s) => Activations::F32(s.get(r)?),
        Activations::Q8_0(s) => Activations::Q8_0(s.get(r)?),
        Activations::Q8_1(s) => Activations::Q8_1(s.get(r)?),
        Activations::Q8K(s) => Activations::Q8K(s.get(r)?),
    })
}

/// `out[t · stride + r] = (M · input_t)[r]` for every token `t` of `input` (columns of
/// `m.cols()` values): quantize once, then [`matmul`] tasks on `split.par` (module docs:
/// row ranges for one column, row chunks or column groups for several).
#[allow(clippy::too_many_arguments)]
pub(super) fn project_matrix(
    k: &Kernels,
    m: &Matrix,
    input: &[f32],
    quant: &mut [u8],
    out: &mut [f32],
    stride: usize,
    split: Split,
    scratch: &mut [f32],
) -> Result<(), Error> {
    let acts: Activations = quantize_into(k, m.activation_format(), input, quant)?;
    let rows = m.rows();
    let n_cols = match m.cols() {
        0 => 1,
        c => input.len() / c,
    };
    if n_cols == 0 || rows == 0 {
        return Ok(());
    }
    // Everything the tasks touch is checked here, so they cannot fail on a valid plan.
    let needed = (n_cols - 1)
        .checked_mul(stride)
        .and_then(|v| v.checked_add(rows))
        .ok_or(INTERNAL)?;
    if stride < rows || out.len() < needed {
        return Err(INTERNAL);
    }
    let workers = split.workers.max(1);
    let failed = AtomicBool::new(false);
    let shared = SharedOut::new(out.get_mut(..needed).ok_or(INTERNAL)?);
    if n_cols == 1 {
        let tasks = workers * ROW_TASKS_PER_WORKER;
        let tasks = if workers == 1 { 1 } else { tasks.min(rows) };
        run_claimed(split.par, tasks, tasks, &|_slot, i| {
            let r = part(rows, tasks, i);
            // SAFETY: task `i` is claimed once (`run_claimed`) and the ranges
            // `part(rows, tasks, i)` of distinct tasks are disjoint; `out` is borrowed
            // mutably by this function until `run_claimed` returns.
            let o = unsafe { shared.range(r.start, r.end) };
            let len = r.len();
            if len > 0 && matmul(k, m, acts, r, o, len).is_err() {
                failed.store(true, Ordering::Relaxed);
            }
        });
    } else if let Some(scratch) = row_split_scratch(workers, rows, n_cols, scratch) {
        // Row chunks (whole octets of rows), handed out dynamically so that a slower core
        // takes fewer of them; each task computes its rows for every column into its own
        // range of `scratch` (`[column][row of the chunk]`), then copies each column's
        // segment into place. Every weight is read once per matmul, by one task.
        let octets = rows.div_ceil(8);
        let tasks = (workers * ROW_TASKS_PER_WORKER).min(octets);
        let scratch = SharedOut::new(scratch);
        run_claimed(split.par, tasks, tasks, &|_slot, i| {
            let o = part(octets, tasks, i);
            let r = (8 * o.start).min(rows)..(8 * o.end).min(rows);
            let len = r.len();
            if len == 0 {
                return;
            }
            // SAFETY: task `i` is claimed once and the chunks `r` of distinct tasks are
            // disjoint, hence so are their scratch ranges `r.start · n_cols .. r.end · n_cols`
            // (within `rows · n_cols <= scratch.len`, checked by `row_split_scratch`);
            // `scratch` is borrowed mutably until `run_claimed` returns.
            let s = unsafe { scratch.range(r.start * n_cols, r.end * n_cols) };
            if matmul(k, m, acts, r.clone(), s, len).is_err() {
                failed.store(true, Ordering::Relaxed);
                return;
            }
            for (c, seg) in s.chunks_exact(len).enumerate() {
                // SAFETY: elements `c · stride + r.start .. c · stride + r.end` lie below
                // `(n_cols − 1) · stride + rows = needed` (`c < n_cols`, `r.end <= rows`),
                // and only this task writes them (its rows); no reference to `out`'s
                // elements exists while the tasks run.
                unsafe { shared.copy_in(c * stride + r.start, seg) };
            }
        });
    } else {
        let per_col = m.blocks_per_row();
        let tasks = workers.min(n_cols);
        run_claimed(split.par, tasks, tasks, &|_slot, i| {
            let c = part(n_cols, tasks, i);
            let (start, end) = (c.start * stride, (c.end * stride).min(needed));
            // SAFETY: task `i` is claimed once and owns columns `c`, i.e. elements
            // `c.start · stride .. c.end · stride` (clamped to `needed`): disjoint from every
            // other task's since the column groups are; `out` is borrowed mutably until
            // `run_claimed` returns.
            let o = unsafe { shared.range(start, end) };
            if c.is_empty() {
                return;
            }
            let ok = columns(acts, per_col, c.start, c.end)
                .is_some_and(|a| matmul(k, m, a, 0..rows, o, stride).is_ok());
            if !ok {
                failed.store(true, Ordering::Relaxed);
            }
        });
    }
    if failed.load(Ordering::Relaxed) {
        return Err(INTERNAL);
    }
    Ok(())
}

/// A fused projection: the parts' outputs are concatenated along the rows of `out`.
#[allow(clippy::too_many_arguments)]
pub(super) fn project(
    k: &Kernels,
    p: &Projection,
    input: &[f32],
    quant: &mut [u8],
    out: &mut [f32],
    stride: usize,
    split: Split,
    scratch: &mut [f32],
) -> Result<(), Error> {
    let mut offset = 0;
    for m in p.parts() {
        let o = out.get_mut(offset..).ok_or(INTERNAL)?;
        project_matrix(k, m, input, quant, o, stride, split, scratch)?;
        offset += m.rows();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parallel::Sequential;

    /// Runs each index `repeat` times, sometimes skipping or inventing indices.
    struct Wrong {
        repeat: usize,
        skip_all: bool,
    }

    impl Parallel for Wrong {
        fn workers(&self) -> usize {
            0
        }
        fn run(&self, n_tasks: usize, task: &(dyn Fn(usize) + Sync)) {
            if self.skip_all {
                return;
            }
            for _ in 0..self.repeat {
                for i in 0..n_tasks.saturating_add(2) {
                    task(i);
                    task(0);
                }
            }
        }
    }

    fn counts(par: &dyn Parallel, tasks: usize, slots: usize) -> [usize; 16] {
        let hits: [AtomicUsize; 16] = core::array::from_fn(|_| AtomicUsize::new(0));
        let slot_max = AtomicUsize::new(0);
        run_claimed(par, tasks, slots, &|slot, t| {
            hits[t].fetch_add(1, Ordering::Relaxed);
            slot_max.fetch_max(slot, Ordering::Relaxed);
        });
        assert!(slot_max.load(Ordering::Relaxed) < slots.max(1));
        hits.map(|h| h.into_inner())
    }

    #[test]
    fn every_task_once_whatever_the_executor() {
        let execs: [&dyn Parallel; 4] = [
            &Sequential,
            &Wrong {
                repeat: 1,
                skip_all: false,
            },
            &Wrong {
                repeat: 3,
                skip_all: false,
            },
            &Wrong {
                repeat: 0,
                skip_all: true,
            },
        ];
        for par in execs {
            for (tasks, slots) in [(0, 1), (1, 1), (5, 2), (16, 3), (7, 0)] {
                let c = counts(par, tasks, slots);
                for (t, &n) in c.iter().enumerate() {
                    assert_eq!(n, usize::from(t < tasks), "task {t} of {tasks}");
                }
            }
        }
    }

    #[test]
    fn parts_cover_in_order() {
        for len in [0usize, 1, 7, 64, 1000] {
            for parts in [0usize, 1, 3, 8, 2000] {
                let mut next = 0;
                for i in 0..parts.max(1) + 2 {
                    let r = part(len, parts, i);
                    assert!(r.is_empty() || r.start == next);
                    next = next.max(r.end);
                }
                assert_eq!(next, len);
            }
        }
        assert!(part(10, 3, usize::MAX).is_empty());
    }
}
