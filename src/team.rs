//! A persistent team of threads for the many short parallel phases of a training step.
//!
//! A training step at batch 64 is a chain of 5-10 parallel phases of 5-100 µs each. rayon
//! hands each phase to threads that have gone idle, and waking one costs 10-30 µs on the
//! virtual machines we measured (a two-task region of 2 x 12 µs took 21-35 µs: slower than one
//! thread). A [`Team`] keeps its threads awake between the phases of a step instead: they
//! spin on a generation counter for a while (~50 µs, yielding the CPU in between when others
//! want it), then sleep until the next phase, so a region costs ~1 µs while training runs and
//! nothing when it does not. A team larger than the machine's core count (oversubscribed)
//! never spins: its threads sleep at once, as a polling thread would only delay one with work.
//!
//! [`Team::run`] runs one closure on every thread of the team (the caller is thread 0) and
//! returns when all have finished; [`Team::for_each`] hands out the items of an iterator (for
//! example disjoint `chunks_mut` of a buffer) to whichever thread is free. Results must not
//! depend on which thread runs what: the trainer's tasks each write their own block.
//!
//! ```text
//! let team = Team::new(3);
//! let mut out = vec![0u64; 1000];
//! team.for_each(out.chunks_mut(100).enumerate(), |_thread, (i, chunk)| {
//!     chunk.iter_mut().enumerate().for_each(|(j, v)| *v = (i * 100 + j) as u64 * 2);
//! });
//! assert!(out.iter().enumerate().all(|(i, &v)| v == 2 * i as u64));
//! ```
//!
//! Besides the GEMM wrapper (with the kernel calls that `Scalar` forwards) and the run-time
//! CPU dispatch of `simd`, this module holds the crate's only `unsafe`: the job closure
//! borrows the caller's stack, and the team's threads outlive the call, so its lifetime is
//! erased while it is shared. It is sound because [`Team::run`] does not return, or unwind,
//! before every thread has reported that it is done with the closure (a panicking task is
//! caught on its thread and re-raised on the caller afterwards), and a thread never touches a
//! job after reporting.
//!
//! The file stays whole, a little over the crate's ~400 lines: the `unsafe` lifetime erasure,
//! the protocol that makes it sound (generation, pending count, sleepers) and the tests that
//! try to break it (panics on the caller and on workers, a payload whose drop panics, nested
//! runs, borrowed buffers freed right after the call) are meant to be read together.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, TryLockError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The job of the current generation: `f(thread index)`, lifetime erased (see the module docs).
type Job = &'static (dyn Fn(usize) + Sync);

/// How long an idle thread keeps polling before it sleeps.
const SPIN_FOR: Duration = Duration::from_micros(50);
/// Polls between clock reads and yields while spinning.
const SPIN_POLLS: u32 = 64;

struct Shared {
    /// Incremented for every job; a thread runs each generation once.
    generation: AtomicUsize,
    /// The job of the current generation (written only while no thread runs one).
    job: Mutex<Option<Job>>,
    /// Threads (besides the caller) not yet done with the current job.
    pending: AtomicUsize,
    /// A task panicked on one of the team's threads.
    panicked: AtomicBool,
    stop: AtomicBool,
    /// Whether waiting threads poll before they sleep: only when the team has no more threads
    /// than the machine has cores (oversubscribed, a polling thread would take the core from
    /// one with work).
    spin: bool,
    /// Threads asleep or about to sleep (the caller wakes them only when there are any).
    sleepers: AtomicUsize,
    /// Sleeping threads wait here for a new generation or the stop flag.
    sleep: Mutex<()>,
    wake: Condvar,
}

/// The size of a team for `threads` requested threads on this machine: at most one thread per
/// core, since an oversubscribed team would wait for the operating system at every phase.
pub fn size_for(threads: usize) -> usize {
    threads.clamp(1, cores())
}

/// The machine's logical cores (1 if unknown).
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A persistent team of `size` threads (the caller of [`Team::run`] and `size − 1` others).
pub struct Team {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    /// Held while a job runs: jobs never overlap, and a nested [`Team::run`] is refused.
    running: Mutex<()>,
}

impl Team {
    /// A team of `size` threads (at least 1: the caller alone). Panics if the operating
    /// system cannot start a thread.
    pub fn new(size: usize) -> Team {
        let shared = Arc::new(Shared {
            spin: size <= cores(),
            sleepers: AtomicUsize::new(0),
            generation: AtomicUsize::new(0),
            job: Mutex::new(None),
            pending: AtomicUsize::new(0),
            panicked: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            sleep: Mutex::new(()),
            wake: Condvar::new(),
        });
        let mut team = Team { shared, threads: Vec::new(), running: Mutex::new(()) };
        for index in 1..size.max(1) {
            let shared = Arc::clone(&team.shared);
            let spawned = std::thread::Builder::new()
                .name(format!("bp-par-team-{index}"))
                .spawn(move || worker(&shared, index));
            match spawned {
                Ok(handle) => team.threads.push(handle),
                Err(e) => {
                    drop(team); // stops the threads already started
                    panic!("cannot start a thread of the training team: {e}");
                }
            }
        }
        team
    }

    /// Number of threads, the caller included.
    pub fn size(&self) -> usize {
        self.threads.len() + 1
    }

    /// Runs `f(t)` on every thread t of the team at once, `f(0)` on the caller, and returns
    /// when all have returned. If any call panics, this panics after all have finished.
    /// Panics if called from inside a job of the same team.
    pub fn run(&self, f: &(dyn Fn(usize) + Sync)) {
        let _running = match self.running.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => {
                panic!("Team::run called while the team runs another job (nested, or from another thread)")
            }
        };
        if self.threads.is_empty() {
            return f(0);
        }
        let s = &*self.shared;
        // SAFETY: the reference is shared with the team's threads only until `pending` is back
        // at 0, which this function waits for below before it returns or unwinds (the caller's
        // own call is wrapped in catch_unwind); a thread decrements `pending` only after its
        // last use of the job, and no thread reads the slot again before the next generation.
        // So the erased lifetime never outlives the borrow of `f`.
        let job: Job = unsafe { std::mem::transmute::<&(dyn Fn(usize) + Sync), Job>(f) };
        *lock(&s.job) = Some(job);
        s.pending.store(self.threads.len(), Ordering::Relaxed);
        // SeqCst with the sleepers' count (a Dekker pair): either a thread going to sleep sees
        // the new generation when it re-checks, or this sees it counted and wakes it.
        s.generation.fetch_add(1, Ordering::SeqCst);
        if s.sleepers.load(Ordering::SeqCst) > 0 {
            // Taken after the new generation is published: a thread that checked the
            // generation under this lock before it changed is waiting, and hears this.
            let _sleep = lock(&s.sleep);
            s.wake.notify_all();
        }
        let mine = catch_unwind(AssertUnwindSafe(|| f(0)));
        wait_until(s.spin, || s.pending.load(Ordering::Acquire) == 0);
        *lock(&s.job) = None;
        let others_panicked = s.panicked.swap(false, Ordering::Relaxed);
        if let Err(payload) = mine {
            resume_unwind(payload);
        }
        if others_panicked {
            panic!("a task of the training team panicked (its message is above)");
        }
    }

    /// Runs `task(thread, item)` for every item of `items`, each item once, and returns when
    /// all are done. The first [`STATIC_ITEMS`] items are dealt round-robin (item i to thread
    /// i mod size), so that the same block of a buffer goes to the same thread (and stays in
    /// its cache) from one call to the next; a thread that has finished its own takes what
    /// another has not started yet, and items beyond those are taken by whichever thread is free.
    pub fn for_each<I>(&self, items: I, task: impl Fn(usize, I::Item) + Sync)
    where
        I: Iterator + Send,
        I::Item: Send,
    {
        let mut items = items.fuse();
        let mut n_dealt = 0;
        let dealt: [Mutex<Option<I::Item>>; STATIC_ITEMS] = std::array::from_fn(|_| {
            let item = items.next();
            n_dealt += usize::from(item.is_some());
            Mutex::new(item)
        });
        let rest = Mutex::new(items);
        let size = self.size();
        self.run(&|thread| {
            let own = (thread..n_dealt).step_by(size);
            for i in own.chain(0..n_dealt) {
                let item = lock(&dealt[i]).take();
                if let Some(item) = item {
                    task(thread, item);
                }
            }
            loop {
                let next = lock(&rest).next();
                match next {
                    Some(item) => task(thread, item),
                    None => break,
                }
            }
        });
    }
}

/// Items per [`Team::for_each`] call dealt to fixed threads.
pub const STATIC_ITEMS: usize = 40;

impl Drop for Team {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        {
            let _sleep = lock(&self.shared.sleep);
            self.shared.wake.notify_all();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl std::fmt::Debug for Team {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Team").field("size", &self.size()).finish()
    }
}

/// A lock that ignores poisoning: the data behind every lock here stays consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Polls `done` until it holds: spinning and yielding the CPU now and then, or (without
/// `spin`) yielding it between every two polls.
fn wait_until(spin: bool, done: impl Fn() -> bool) {
    let mut polls = 0u32;
    while !done() {
        polls = polls.wrapping_add(1);
        if !spin || polls.is_multiple_of(SPIN_POLLS) {
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

fn worker(s: &Shared, index: usize) {
    let mut seen = 0usize;
    loop {
        // Wait for a new generation: poll for a while, then sleep.
        let start = Instant::now();
        let mut polls = 0u32;
        loop {
            if s.stop.load(Ordering::Acquire) {
                return;
            }
            if s.generation.load(Ordering::Acquire) != seen {
                break;
            }
            polls = polls.wrapping_add(1);
            if !polls.is_multiple_of(SPIN_POLLS) {
                std::hint::spin_loop();
                continue;
            }
            if s.spin && start.elapsed() < SPIN_FOR {
                std::thread::yield_now();
                continue;
            }
            let mut guard = lock(&s.sleep);
            s.sleepers.fetch_add(1, Ordering::SeqCst);
            while s.generation.load(Ordering::SeqCst) == seen && !s.stop.load(Ordering::Acquire) {
                guard = s.wake.wait(guard).unwrap_or_else(|p| p.into_inner());
            }
            s.sleepers.fetch_sub(1, Ordering::SeqCst);
        }
        seen = s.generation.load(Ordering::Acquire);
        let job = *lock(&s.job);
        if let Some(job) = job
            && let Err(payload) = catch_unwind(AssertUnwindSafe(|| job(index)))
        {
            s.panicked.store(true, Ordering::Relaxed);
            // A payload whose drop panics must not take the thread down before it reports.
            if catch_unwind(AssertUnwindSafe(move || drop(payload))).is_err() {
                s.panicked.store(true, Ordering::Relaxed);
            }
        }
        // Done with the job: after this the caller may return and free what it borrows.
        s.pending.fetch_sub(1, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_opening_comments_example_holds() {
        let team = Team::new(3);
        let mut out = vec![0u64; 1000];
        team.for_each(out.chunks_mut(100).enumerate(), |_thread, (i, chunk)| {
            chunk.iter_mut().enumerate().for_each(|(j, v)| *v = (i * 100 + j) as u64 * 2);
        });
        assert!(out.iter().enumerate().all(|(i, &v)| v == 2 * i as u64));
    }
    use std::sync::atomic::AtomicU64;

    #[test]
    fn every_thread_runs_each_job_once() {
        for size in [1, 2, 3, 16] {
            let team = Team::new(size);
            assert_eq!(team.size(), size);
            for round in 0..200u64 {
                let counts: Vec<AtomicU64> = (0..size).map(|_| AtomicU64::new(0)).collect();
                team.run(&|t| {
                    counts[t].fetch_add(round + 1, Ordering::Relaxed);
                });
                assert!(counts.iter().all(|c| c.load(Ordering::Relaxed) == round + 1));
            }
        }
    }

    #[test]
    fn items_are_each_done_once_over_borrowed_buffers() {
        let team = Team::new(4);
        for n in [0usize, 1, 5, 1000] {
            // A fresh borrowed buffer every time: freed right after the call returns.
            let mut v = vec![0u32; n];
            team.for_each(v.chunks_mut(7).enumerate(), |_, (i, c)| {
                c.iter_mut().for_each(|x| *x += i as u32 + 1)
            });
            assert!(v.iter().enumerate().all(|(j, &x)| x == (j / 7) as u32 + 1));
        }
    }

    #[test]
    fn a_panicking_task_panics_the_caller_after_every_thread_is_done_and_the_team_survives() {
        let team = Team::new(3);
        for panic_on in [0usize, 1, 2] {
            let finished = AtomicU64::new(0);
            let data = vec![1u8; 1 << 16];
            let r = catch_unwind(AssertUnwindSafe(|| {
                team.run(&|t| {
                    if t == panic_on {
                        panic!("task {t} fails on purpose");
                    }
                    // The others keep reading the borrowed data for a while.
                    std::thread::sleep(Duration::from_millis(5));
                    assert_eq!(data.iter().map(|&b| b as u64).sum::<u64>(), 1 << 16);
                    finished.fetch_add(1, Ordering::Relaxed);
                })
            }));
            assert!(r.is_err(), "the panic of task {panic_on} must reach the caller");
            // Every thread that did not panic had finished before run() unwound.
            assert_eq!(finished.load(Ordering::Relaxed), 2);
            drop(data);
        }
        let ran = AtomicU64::new(0);
        team.run(&|_| {
            ran.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(ran.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn a_panic_of_the_caller_and_a_worker_leaves_no_stale_flag() {
        let team = Team::new(2);
        let r = catch_unwind(AssertUnwindSafe(|| team.run(&|_| panic!("both fail"))));
        assert!(r.is_err());
        // The next job has nothing to do with the last one's panics.
        team.run(&|_| {});
    }

    #[test]
    fn a_payload_that_panics_when_dropped_does_not_hang_the_team() {
        struct Bomb;
        impl Drop for Bomb {
            fn drop(&mut self) {
                if !std::thread::panicking() {
                    panic!("the payload's drop panics");
                }
            }
        }
        let team = Team::new(2);
        let r = catch_unwind(AssertUnwindSafe(|| {
            team.run(&|t| {
                if t == 1 {
                    std::panic::panic_any(Bomb);
                }
            })
        }));
        assert!(r.is_err());
        team.run(&|_| {});
    }

    #[test]
    fn a_nested_run_is_refused_not_deadlocked() {
        let team = Team::new(2);
        let r = catch_unwind(AssertUnwindSafe(|| {
            team.run(&|t| {
                if t == 0 {
                    team.run(&|_| {})
                }
            })
        }));
        assert!(r.is_err());
        team.run(&|_| {});
    }

    #[test]
    fn sleeping_threads_wake_for_the_next_job() {
        let team = Team::new(3);
        for _ in 0..3 {
            std::thread::sleep(Duration::from_millis(20)); // well past the spinning time
            let n = AtomicU64::new(0);
            team.run(&|_| {
                n.fetch_add(1, Ordering::Relaxed);
            });
            assert_eq!(n.load(Ordering::Relaxed), 3);
        }
    }
}
