//! Training across processes (MPI ranks), bit-identical to one process.
//!
//! Every rank holds the whole data set and the same network, and takes a fixed, contiguous
//! share of every mini-batch's shards: of `S` shards, rank `r` of `R` owns
//! `[r·S/R, (r+1)·S/R)` ([`owned_shards`]). It computes those shards' gradients with its own
//! threads, and the ranks then combine them so that every parameter's sum over the shards runs
//! over **the same fixed tree as on one machine** (`((g0+g1)+(g2+g3))+…`, split at the largest
//! power of two below the count). A plain MPI all-reduce would not do: its order of additions
//! depends on the number of ranks and on the algorithm the library picks.
//!
//! ```text
//! rank r: its shards' gradients ─► the sums of its frontier: the largest subtrees of the
//!         fixed tree that lie inside its shards (one node when R divides S into powers of two)
//! all-to-all: chunk c of every frontier sum goes to rank c   (the parameters cut into R chunks)
//! rank c: the top of the tree over all frontier sums, for chunk c only
//! all-gather: every rank gets the whole summed gradient, and applies the same update
//! ```
//! A frontier node's sum is computed by the same recursion as the one-machine tree, and the
//! top of the tree takes the frontier sums where the one-machine tree would have computed
//! them, so every parameter's additions happen in the same order with the same operands: the
//! bits cannot depend on the number of ranks. With one frontier node per rank the bytes moved
//! per step are those of a bandwidth-optimal all-reduce (`2·P·(R−1)/R` floats per rank).
//! The per-shard losses and correct counts travel too (an all-gather), summed in shard order.
//!
//! The transport is the [`Collective`] trait: MPI behind the `mpi` feature
//! (`mpi::MpiGroup`), and any other group (the tests run ranks as threads).

#[cfg(feature = "mpi")]
pub mod mpi;

use std::ops::Range;

/// The collective operations a group of ranks gives the trainer. Every rank calls the same
/// operations in the same order; each call returns when this rank's part is done. Counts and
/// data are in elements; a rank's parts lie one after another in rank order. (`Sync`, so that a
/// trainer holding a group can be built in one thread pool and run from another.)
pub trait Collective: Sync {
    /// This process's rank, `0..size()`.
    fn rank(&self) -> usize;
    /// The number of ranks.
    fn size(&self) -> usize;
    /// Personalised exchange: `send`'s part r (`send_counts[r]` elements) goes to rank r;
    /// `recv`'s part q (`recv_counts[q]` elements) comes from rank q.
    fn all_to_all(&self, send: &[f32], send_counts: &[usize], recv: &mut [f32], recv_counts: &[usize]);
    /// Every rank's `send` (`counts[rank]` elements), one after another in rank order, into
    /// every rank's `recv`.
    fn all_gather(&self, send: &[f32], recv: &mut [f32], counts: &[usize]);
    /// [`Collective::all_gather`] for f64 values.
    fn all_gather_f64(&self, send: &[f64], recv: &mut [f64], counts: &[usize]);
    /// The most elements one call may move (MPI counts are 32-bit); the trainer checks its
    /// buffers against it before a run.
    fn max_count(&self) -> usize {
        usize::MAX
    }
    /// Whether `flag` is true on any rank.
    fn any(&self, flag: bool) -> bool;
    /// Every rank's `value`, in rank order (for checks before a run, not per step).
    fn all_values(&self, value: u64) -> Vec<u64>;
}

/// The shards (of `n_shards` in a mini-batch) that rank `rank` of `ranks` owns.
pub fn owned_shards(n_shards: usize, ranks: usize, rank: usize) -> Range<usize> {
    let ranks = ranks.max(1);
    rank * n_shards / ranks..(rank + 1) * n_shards / ranks
}

/// Checks that `ranks` ranks can share the mini-batches of a run on `n_samples` rows with
/// `batch` and `shard` (as [`crate::train::TrainConfig`] has them): every rank must own at
/// least one shard of a full mini-batch. The message names the largest `shard` that works.
pub fn check_ranks(ranks: usize, n_samples: usize, batch: usize, shard: usize) -> crate::Result<()> {
    let (shard, n_shards) = crate::split::shards_per_batch(batch, shard, n_samples);
    let batch = batch.min(n_samples).max(1);
    if n_shards < ranks {
        return Err(crate::Error::config(format!(
            "{ranks} ranks share each mini-batch's shards, but a mini-batch of {batch} rows has {} of \
             `shard` {shard} rows: use a `shard` of at most {} (or a larger `batch`, or fewer ranks)",
            crate::error::count(n_shards, "shard"),
            (batch / ranks).max(1)
        )));
    }
    Ok(())
}

/// The parameters (of `n_params`) whose top of the reduction tree rank `rank` of `ranks`
/// computes.
pub fn param_chunk(n_params: usize, ranks: usize, rank: usize) -> Range<usize> {
    let ranks = ranks.max(1);
    rank * n_params / ranks..(rank + 1) * n_params / ranks
}

/// Where the fixed reduction tree over `n` shards from `first` splits: the left subtree has
/// the largest power of two below `n` (the one-machine trainer's `tree_sum`).
pub(crate) fn tree_split(n: usize) -> usize {
    n.next_power_of_two() / 2
}

/// The frontier of `owned` in the tree over the shards `first..first + n`: the largest subtrees
/// (as `(first, n)`) that lie wholly inside `owned`, in shard order.
pub(crate) fn frontier(first: usize, n: usize, owned: &Range<usize>, out: &mut Vec<(usize, usize)>) {
    let end = first + n;
    if n == 0 || end <= owned.start || first >= owned.end {
        return;
    }
    if owned.start <= first && end <= owned.end {
        out.push((first, n));
        return;
    }
    let half = tree_split(n);
    frontier(first, half, owned, out);
    frontier(first + half, n - half, owned, out);
}

/// The frontier of rank `rank` of `ranks` in a mini-batch of `n_shards` shards: the largest
/// subtrees of the fixed tree inside its shards, in shard order.
pub(crate) fn rank_frontier(n_shards: usize, ranks: usize, rank: usize) -> Vec<(usize, usize)> {
    let mut nodes = Vec::new();
    frontier(0, n_shards, &owned_shards(n_shards, ranks, rank), &mut nodes);
    nodes
}

/// The floats that rank `rank` of `ranks` holds for a run's exchange, for mini-batches of
/// `n_shards` shards (a full batch): its shards' gradients, its frontier sums of several
/// shards, the send and receive buffers, the summed gradient and its chunk. Also the largest
/// single call's element count is within this figure.
pub fn rank_floats(n_params: usize, n_shards: usize, ranks: usize, rank: usize) -> usize {
    let owned = owned_shards(n_shards, ranks, rank);
    let nodes = rank_frontier(n_shards, ranks, rank);
    let all: usize = (0..ranks).map(|r| rank_frontier(n_shards, ranks, r).len()).sum();
    let big = nodes.iter().filter(|(_, n)| *n > 1).count();
    let chunk = param_chunk(n_params, ranks, rank).len();
    n_params.saturating_mul(owned.len() + big + nodes.len() + 1).saturating_add(chunk.saturating_mul(all + 1))
}

/// Bytes each rank sends per step of a mini-batch of `n_shards` shards on `ranks` ranks with
/// `n_params` parameters (all-to-all and all-gather; the per-shard figures not counted): the
/// figure `bp-par train` reports on ranks.
pub fn bytes_sent_per_step(n_params: usize, n_shards: usize, ranks: usize) -> Vec<u64> {
    (0..ranks)
        .map(|r| {
            let nodes = rank_frontier(n_shards, ranks, r);
            let own = param_chunk(n_params, ranks, r).len();
            // Every frontier sum minus the rank's own chunk, then its chunk to every other rank.
            let to_others = nodes.len() * (n_params - own) + own * (ranks - 1);
            4 * to_others as u64
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ownership_covers_the_shards_in_order_and_frontiers_are_the_largest_subtrees() {
        for n in 0..20 {
            for ranks in 1..6 {
                let parts: Vec<_> = (0..ranks).map(|r| owned_shards(n, ranks, r)).collect();
                assert_eq!(parts.first().unwrap().start, 0);
                assert_eq!(parts.last().unwrap().end, n);
                assert!(parts.windows(2).all(|w| w[0].end == w[1].start));
            }
        }
        let mut nodes = Vec::new();
        frontier(0, 8, &(0..4), &mut nodes);
        assert_eq!(nodes, [(0, 4)]);
        nodes.clear();
        // 6 shards split (0..4)(4..6); 0..3 is (0..2) and shard 2.
        frontier(0, 6, &(0..3), &mut nodes);
        assert_eq!(nodes, [(0, 2), (2, 1)]);
        nodes.clear();
        frontier(0, 6, &(3..6), &mut nodes);
        assert_eq!(nodes, [(3, 1), (4, 2)]);
        // A power-of-two share of a power-of-two count moves 2·P·(R−1)/R floats per rank.
        assert_eq!(bytes_sent_per_step(1000, 8, 4), vec![4 * 1500; 4]);
        assert_eq!(bytes_sent_per_step(1000, 8, 2), vec![4 * 1000; 2]);
    }
}
