//! The ranks' exchange of one mini-batch (see [`crate::distributed`]): the per-shard losses
//! and correct counts, and the gradient summed over every rank's shards in the one-machine
//! tree order. All buffers are allocated once, for the batch sizes a run has (a full batch
//! and the epoch's shorter last one).

use super::step::UPDATE_CHUNK;
use super::tree::{TREE_BLOCK, TreeOverNodes, tree_sum};
use crate::distributed::{Collective, owned_shards, param_chunk, rank_frontier};
use crate::split::Split;
use std::ops::Range;
use std::time::Instant;

/// How the shards of a mini-batch of `n_shards` shards lie over the ranks.
struct Layout {
    n_shards: usize,
    /// Each rank's shards.
    owned: Vec<Range<usize>>,
    /// Each rank's frontier nodes `(first, n)`, in shard order.
    nodes_of: Vec<Vec<(usize, usize)>>,
    /// All ranks' frontier nodes, in rank order (so in shard order).
    all_nodes: Vec<(usize, usize)>,
    /// The tree over all shards from the frontier nodes' sums.
    top: TreeOverNodes,
}

impl Layout {
    fn new(n_shards: usize, ranks: usize) -> Self {
        let owned: Vec<Range<usize>> = (0..ranks).map(|r| owned_shards(n_shards, ranks, r)).collect();
        let nodes_of: Vec<Vec<(usize, usize)>> =
            (0..ranks).map(|r| rank_frontier(n_shards, ranks, r)).collect();
        let all_nodes = nodes_of.concat();
        let top = TreeOverNodes::new(&all_nodes, 0, n_shards);
        Layout { n_shards, owned, nodes_of, all_nodes, top }
    }
}

/// The exchange buffers of one rank.
pub(super) struct Exchange {
    rank: usize,
    ranks: usize,
    n_params: usize,
    layouts: Vec<Layout>,
    /// This rank's frontier sums of more than one shard (a one-shard node is its gradient).
    nodes: Vec<Vec<f32>>,
    send: Vec<f32>,
    recv: Vec<f32>,
    /// The top of the tree over this rank's parameter chunk.
    mine: Vec<f32>,
    /// The whole summed gradient, after [`Exchange::reduce`].
    pub(super) reduced: Vec<f32>,
    chunk_lens: Vec<usize>,
    send_counts: Vec<usize>,
    recv_counts: Vec<usize>,
    stats_send: Vec<f64>,
    stats_recv: Vec<f64>,
    stats_counts: Vec<usize>,
}

impl Exchange {
    /// Buffers for `group` and a network of `n_params` parameters, for mini-batches of each
    /// of `shard_counts` shards.
    pub(super) fn new(group: &dyn Collective, n_params: usize, shard_counts: &[usize]) -> Self {
        let (rank, ranks) = (group.rank(), group.size());
        let layouts: Vec<Layout> = shard_counts.iter().map(|&n| Layout::new(n, ranks)).collect();
        let most = |f: &dyn Fn(&Layout) -> usize| layouts.iter().map(f).max().unwrap_or(0);
        let own_nodes = most(&|l| l.nodes_of[rank].len());
        let own_big_nodes = most(&|l| l.nodes_of[rank].iter().filter(|(_, n)| *n > 1).count());
        let all_nodes = most(&|l| l.all_nodes.len());
        let own_shards = most(&|l| l.owned[rank].len());
        let chunk_lens: Vec<usize> = (0..ranks).map(|c| param_chunk(n_params, ranks, c).len()).collect();
        let my_len = chunk_lens[rank];
        Exchange {
            rank,
            ranks,
            n_params,
            nodes: vec![vec![0.0; n_params]; own_big_nodes],
            send: vec![0.0; own_nodes * n_params],
            recv: vec![0.0; all_nodes * my_len],
            mine: vec![0.0; my_len],
            reduced: vec![0.0; n_params],
            chunk_lens,
            send_counts: vec![0; ranks],
            recv_counts: vec![0; ranks],
            stats_send: vec![0.0; 2 * own_shards],
            stats_recv: vec![0.0; 2 * most(&|l| l.n_shards)],
            stats_counts: vec![0; ranks],
            layouts,
        }
    }

    /// The most elements one collective call of the exchange moves on any rank (the same
    /// figure on every rank, so that every rank reaches the same verdict on it).
    pub(super) fn largest_call(&self) -> usize {
        let p = self.n_params;
        let per_rank = |l: &Layout, r: usize| {
            let chunk = param_chunk(p, self.ranks, r).len();
            (l.nodes_of[r].len() * p).max(l.all_nodes.len() * chunk)
        };
        let calls = self.layouts.iter().flat_map(|l| (0..self.ranks).map(move |r| per_rank(l, r)));
        calls.chain([p, self.stats_recv.len()]).max().unwrap_or(0)
    }

    /// The layout of a mini-batch of `n_shards` shards (by index: the callers borrow the
    /// buffers mutably beside it).
    fn layout_index(&self, n_shards: usize) -> usize {
        // Built for every batch size of the run (a full and the last batch).
        let found = self.layouts.iter().position(|l| l.n_shards == n_shards);
        found.expect("an exchange layout for each of the run's batch sizes")
    }

    /// This rank's shards of a mini-batch of `n_shards` shards.
    pub(super) fn owned(&self, n_shards: usize) -> Range<usize> {
        self.layouts[self.layout_index(n_shards)].owned[self.rank].clone()
    }

    /// Every rank's shards' losses and correct counts (`local`, this rank's, in shard order)
    /// gathered, and summed in shard order: the batch's loss and correct count, as one
    /// machine sums them.
    pub(super) fn stats(
        &mut self,
        group: &dyn Collective,
        n_shards: usize,
        local: impl Iterator<Item = (f64, usize)>,
    ) -> (f64, usize) {
        let li = self.layout_index(n_shards);
        let layout = &self.layouts[li];
        let mine = layout.owned[self.rank].len();
        for (i, (loss, correct)) in local.take(mine).enumerate() {
            self.stats_send[i] = loss;
            self.stats_send[mine + i] = correct as f64;
        }
        for (c, o) in self.stats_counts.iter_mut().zip(&layout.owned) {
            *c = 2 * o.len();
        }
        group.all_gather_f64(
            &self.stats_send[..2 * mine],
            &mut self.stats_recv[..2 * n_shards],
            &self.stats_counts,
        );
        let (mut loss, mut correct, mut at) = (0.0f64, 0usize, 0);
        for o in &layout.owned {
            let part = &self.stats_recv[at..at + 2 * o.len()];
            part[..o.len()].iter().for_each(|l| loss += l);
            correct += part[o.len()..].iter().map(|&c| c as usize).sum::<usize>();
            at += part.len();
        }
        (loss, correct)
    }

    /// Sums the gradients of a mini-batch of `n_shards` shards over the ranks into
    /// [`Exchange::reduced`], in the one-machine tree order; `grads` holds this rank's shards'
    /// gradients in order. Returns the seconds spent in the collective calls.
    pub(super) fn reduce(
        &mut self,
        group: &dyn Collective,
        n_shards: usize,
        grads: &[Vec<f32>],
        split: Split<'_>,
    ) -> f64 {
        let li = self.layout_index(n_shards);
        let layout = &self.layouts[li];
        let (rank, p) = (self.rank, self.n_params);
        let lo = layout.owned[rank].start;
        let own = &layout.nodes_of[rank];
        // This rank's frontier sums, each by the one-machine recursion over its shards.
        let mut big = self.nodes.iter_mut();
        for &(first, n) in own.iter().filter(|(_, n)| *n > 1) {
            let out = big.next().expect("a buffer per node");
            let leaves = &grads[first - lo..first - lo + n];
            split.for_each(out.chunks_mut(UPDATE_CHUNK).enumerate(), |(c, out)| {
                for (i, out) in out.chunks_mut(TREE_BLOCK).enumerate() {
                    let (from, len) = (c * UPDATE_CHUNK + i * TREE_BLOCK, out.len());
                    tree_sum(&|s| &leaves[s][from..from + len], 0, n, out);
                }
            });
        }
        // Chunk c of every frontier sum goes to rank c.
        let mut at = 0;
        for c in 0..self.ranks {
            let chunk = param_chunk(p, self.ranks, c);
            let mut big = 0;
            for &(first, n) in own {
                let sum: &[f32] = if n == 1 {
                    &grads[first - lo]
                } else {
                    big += 1;
                    &self.nodes[big - 1]
                };
                self.send[at..at + chunk.len()].copy_from_slice(&sum[chunk.clone()]);
                at += chunk.len();
            }
            self.send_counts[c] = own.len() * chunk.len();
        }
        let my_len = self.chunk_lens[rank];
        for (c, nodes) in self.recv_counts.iter_mut().zip(&layout.nodes_of) {
            *c = nodes.len() * my_len;
        }
        let t = Instant::now();
        let total = layout.all_nodes.len() * my_len;
        group.all_to_all(&self.send[..at], &self.send_counts, &mut self.recv[..total], &self.recv_counts);
        let mut comm = t.elapsed().as_secs_f64();
        // The top of the tree over this rank's chunk: node g's part of it is recv[g·len..].
        let (recv, top) = (&self.recv[..total], &layout.top);
        split.for_each(self.mine.chunks_mut(UPDATE_CHUNK).enumerate(), |(c, out)| {
            for (i, out) in out.chunks_mut(TREE_BLOCK).enumerate() {
                let (from, len) = (c * UPDATE_CHUNK + i * TREE_BLOCK, out.len());
                top.sum(&|g| &recv[g * my_len + from..g * my_len + from + len], out);
            }
        });
        let t = Instant::now();
        group.all_gather(&self.mine, &mut self.reduced, &self.chunk_lens);
        comm += t.elapsed().as_secs_f64();
        comm
    }
}
