//! How the work of one pass is cut into parallel tasks, and who did how much of it.
//!
//! Every parallel phase of a training step splits one GEMM (or a row-wise pass) over the
//! **output** dimension only: units (rows of `Zᵀ`, of `Dᵀ`, of `gW`) or samples (rows of the
//! output layer's `Z`). A block is a contiguous run of output rows, so each output element is
//! still one dot product in the GEMM's fixed k order, and the result does not depend on
//! how the rows are cut or on which thread runs a block. The cut itself depends on the thread
//! count only to make enough tasks, never on anything that could change a bit.
//!
//! ```text
//! // The 128 units of a hidden layer over 16 threads: 16 blocks of 8.
//! assert_eq!(block_len(128, 16, 64 * 784, 8), 8);
//! // 784 units over 16 threads: blocks of 56 (14 tasks: a block per thread at most).
//! assert_eq!(block_len(784, 16, 64 * 128, 8), 56);
//! // Over 2 threads: two blocks of 392.
//! assert_eq!(block_len(784, 2, 64 * 128, 8), 392);
//! // A task must be worth scheduling: 10 items of 100 multiply-adds stay one block.
//! assert_eq!(block_len(10, 16, 100, 1), 10);
//! ```

use crate::team::Team;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The fewest multiply-adds (or element operations) a task should carry, ~1 µs of work: a
/// task costs the team a lock and two clock reads to hand out and a phase a few µs to start
/// and finish, so smaller tasks would cost more than they save.
pub const MIN_TASK_WORK: usize = 32 * 1024;

/// Blocks of GEMM rows are multiples of 8 (matrixmultiply's 8-row micro-kernel; bp-par's own
/// kernels take 6 rows at a time, so a block of 8k rows leaves one short tile).
pub const GEMM_ALIGN: usize = 8;

/// Length of the blocks that split `n` items, each worth `work_per_item` operations, over
/// `threads` threads: `n / threads` rounded up to a multiple of `align` (so at most `threads`
/// blocks, and exactly `threads` when the share divides evenly), longer when a block would
/// carry less than `min_work` ([`MIN_TASK_WORK`] but in tests that cut tiny layers);
/// `n` (one block) for one thread. All blocks have this length but the last, which may be
/// shorter.
pub fn block_len_min(n: usize, threads: usize, work_per_item: usize, align: usize, min_work: usize) -> usize {
    let align = align.max(1);
    if threads <= 1 || n <= align {
        return n.max(1);
    }
    // As few blocks as give every thread one (each block re-packs the GEMM operand that all
    // blocks share), rounded up to the alignment.
    let by_threads = n.div_ceil(threads).checked_next_multiple_of(align).unwrap_or(n);
    let by_work =
        min_work.max(1).div_ceil(work_per_item.max(1)).min(n).checked_next_multiple_of(align).unwrap_or(n);
    by_threads.max(by_work).max(align).min(n)
}

/// How a pass runs: the team that runs its blocks (none: the calling thread runs them one
/// after another), the thread count its blocks are cut for (results never depend on either),
/// the least work per task, and, optionally, where tasks record their busy time.
#[derive(Clone, Copy, Debug)]
pub struct Split<'a> {
    pub team: Option<&'a Team>,
    pub threads: usize,
    /// Least work per task ([`MIN_TASK_WORK`] unless a test wants every block it can get).
    pub min_work: usize,
    pub busy: Option<&'a Busy>,
}

impl<'a> Split<'a> {
    /// Blocks cut for `team`'s threads and run on them.
    pub fn team(team: &'a Team) -> Self {
        Split { team: Some(team), ..Split::threads(team.size()) }
    }
    /// Blocks cut for `threads` threads, run on the calling thread.
    pub fn threads(threads: usize) -> Self {
        Split { team: None, threads, min_work: MIN_TASK_WORK, busy: None }
    }
    /// One block per phase: the pass runs on the calling thread.
    pub fn serial() -> Self {
        Split::threads(1)
    }
    /// [`block_len_min`] for this split.
    pub fn block_len(&self, n: usize, work_per_item: usize, align: usize) -> usize {
        block_len_min(n, self.threads, work_per_item, align, self.min_work)
    }

    /// Runs `task` on every item of `items` (each a task), on the team when there is one and
    /// more than one item, charging each task's time to the thread that ran it.
    pub fn for_each<I>(&self, items: I, task: impl Fn(I::Item) + Sync)
    where
        I: Iterator + Send,
        I::Item: Send,
    {
        let busy = self.busy;
        // A single task runs on the caller without waking the team.
        let several = items.size_hint().1.is_none_or(|most| most > 1);
        match self.team {
            Some(team) if team.size() > 1 && several => {
                team.for_each(items, |t, item| Busy::time(busy, t, || task(item)))
            }
            _ => items.for_each(|item| Busy::time(busy, 0, || task(item))),
        }
    }
}

/// Busy time per worker thread (nanoseconds), for the balance report of `bp-par bench`.
/// Tasks add their own duration to the slot of the thread that ran them.
#[derive(Debug, Default)]
pub struct Busy {
    nanos: Vec<AtomicU64>,
}

impl Busy {
    /// Slots for threads `0..threads`.
    pub fn new(threads: usize) -> Self {
        Busy { nanos: (0..threads).map(|_| AtomicU64::new(0)).collect() }
    }

    /// Runs `f`, charging its duration to thread `thread` (not at all if it has no slot).
    #[inline]
    pub fn time<R>(busy: Option<&Busy>, thread: usize, f: impl FnOnce() -> R) -> R {
        let Some(slot) = busy.and_then(|b| b.nanos.get(thread)) else { return f() };
        let t = Instant::now();
        let r = f();
        slot.fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
        r
    }

    /// Seconds of work per thread.
    pub fn seconds(&self) -> Vec<f64> {
        self.nanos.iter().map(|n| n.load(Ordering::Relaxed) as f64 * 1e-9).collect()
    }

    /// Zeroes every slot.
    pub fn reset(&self) {
        self.nanos.iter().for_each(|n| n.store(0, Ordering::Relaxed));
    }
}

/// The shards of a run on `n_samples` rows: the shard size in effect (`shard`, but never
/// above a full mini-batch or below 1) and the shards of a full mini-batch. The one place this
/// arithmetic lives: the trainer, its memory estimate, the ranks' check and reports read it.
///
/// ```
/// use bp_par::train::shards_per_batch;
/// assert_eq!(shards_per_batch(64, 128, 60_000), (64, 1));
/// assert_eq!(shards_per_batch(256, 128, 60_000), (128, 2));
/// assert_eq!(shards_per_batch(256, 100, 250), (100, 3)); // a batch of all 250 rows
/// assert_eq!(shards_per_batch(64, 0, 0), (1, 1));
/// ```
pub fn shards_per_batch(batch: usize, shard: usize, n_samples: usize) -> (usize, usize) {
    let full = batch.min(n_samples).max(1);
    let shard = shard.clamp(1, full);
    (shard, full.div_ceil(shard))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_len(n: usize, threads: usize, work_per_item: usize, align: usize) -> usize {
        block_len_min(n, threads, work_per_item, align, MIN_TASK_WORK)
    }

    #[test]
    fn the_opening_comments_examples_hold() {
        assert_eq!(block_len(128, 16, 64 * 784, 8), 8);
        assert_eq!(block_len(784, 16, 64 * 128, 8), 56);
        assert_eq!(block_len(784, 2, 64 * 128, 8), 392);
        assert_eq!(block_len(10, 16, 100, 1), 10);
    }

    #[test]
    fn blocks_share_the_layers_that_matter_evenly_over_the_threads() {
        // Batch ≥ 32 and layers ≥ 64 wide: no thread gets more than one block, and no block
        // exceeds an even share by more than the alignment; T blocks when the share is a
        // multiple of 8 (the 128 units of 784-128-10 over 16 threads).
        for threads in [2, 3, 4, 8, 16] {
            for batch in [32, 64, 200] {
                for (n_in, n) in [(784, 128), (128, 64), (256, 128), (64, 64), (784, 800), (128, 784)] {
                    let len = block_len(n, threads, n_in * batch, GEMM_ALIGN);
                    let blocks = n.div_ceil(len);
                    let ctx = format!("{n_in}x{n} batch {batch} threads {threads}: blocks of {len}");
                    assert!(blocks <= threads, "{ctx}");
                    // Longer only where an even share carries less than MIN_TASK_WORK.
                    let share = n.div_ceil(threads);
                    assert!(len < share + GEMM_ALIGN || share * n_in * batch < MIN_TASK_WORK, "{ctx}");
                    let even = (n / threads).is_multiple_of(GEMM_ALIGN) && n.is_multiple_of(threads);
                    if even && share * n_in * batch >= MIN_TASK_WORK {
                        assert_eq!(blocks, threads, "{ctx}");
                    }
                }
            }
        }
        assert_eq!(128usize.div_ceil(block_len(128, 16, 784 * 64, GEMM_ALIGN)), 16);
    }

    #[test]
    fn blocks_cover_the_items_and_respect_alignment_and_size() {
        for n in 1..300 {
            for threads in 1..20 {
                for work in [1, 100, 5000, 100_000] {
                    let len = block_len(n, threads, work, 8);
                    assert!(len >= 1 && len <= n);
                    if threads == 1 {
                        assert_eq!(len, n);
                    }
                    if len < n {
                        assert_eq!(len % 8, 0, "n {n} t {threads} w {work}");
                        assert!(len * work >= MIN_TASK_WORK || len == 8);
                    }
                }
            }
        }
    }

    #[test]
    fn huge_least_work_gives_one_block_without_overflow() {
        assert_eq!(block_len_min(100, 4, 1, 8, usize::MAX), 100);
        assert_eq!(block_len_min(100, 4, usize::MAX, 8, usize::MAX), 32);
        assert_eq!(block_len_min(0, 4, 10, 8, 10), 1);
    }

    #[test]
    fn busy_time_goes_to_the_running_thread() {
        let team = Team::new(2);
        let busy = Busy::new(2);
        let split = Split { busy: Some(&busy), ..Split::team(&team) };
        split.for_each(0..2, |_| std::thread::sleep(std::time::Duration::from_millis(2)));
        let s = busy.seconds();
        assert_eq!(s.len(), 2);
        assert!(s.iter().sum::<f64>() >= 0.004, "{s:?}");
        busy.reset();
        assert!(busy.seconds().iter().all(|&x| x == 0.0));
    }
}
