//! One mini-batch on one rank of a group ([`crate::distributed`]): this rank's shards (side by
//! side or one after another, as on one machine), the exchange of their losses and
//! gradients, and the same update on every rank, so every rank holds the same weights.

use super::TrainConfig;
use super::Trainer;
use super::exchange::Exchange;
use super::step::{next_rule, shards_side_by_side, update_from, whole_shards};
use crate::data::Dataset;
use crate::distributed::Collective;
use crate::error::{Error, Result};
use crate::network::Network;
use crate::network::{Params, backward_from_deltas};
use crate::split::Split;
use std::time::Instant;

/// The group of a trainer that runs across ranks, and its exchange buffers.
pub(super) struct Ranks<'a> {
    pub(super) group: &'a dyn Collective,
    pub(super) exchange: Exchange,
    /// This rank's shards' (loss, correct count) of the current batch.
    local: Vec<(f64, usize)>,
}

/// The shard counts of a run's mini-batches: a full batch, and the epoch's last when shorter.
pub(super) fn shard_counts(n_train: usize, batch: usize, shard: usize) -> Vec<usize> {
    let full = batch.min(n_train).div_ceil(shard);
    let last = (n_train % batch.min(n_train)).div_ceil(shard);
    if last == 0 || last == full { vec![full] } else { vec![full, last] }
}

impl<'a> Ranks<'a> {
    pub(super) fn new(group: &'a dyn Collective, n_params: usize, counts: &[usize]) -> Result<Self> {
        let exchange = Exchange::new(group, n_params, counts);
        if exchange.largest_call() > group.max_count() {
            return Err(Error::config(format!(
                "a network of {n_params} parameters is too large to exchange between ranks in one call \
                 ({} values, at most {}): use fewer ranks, or a `shard` that gives each rank a power of two \
                 of a mini-batch's shards",
                exchange.largest_call(),
                group.max_count()
            )));
        }
        let most = counts.iter().map(|&n| exchange.owned(n).len()).max().unwrap_or(0);
        Ok(Ranks { group, exchange, local: vec![(0.0, 0); most] })
    }

    /// The most shards this rank owns in a mini-batch.
    pub(super) fn most_owned(&self) -> usize {
        self.local.len()
    }
}

/// Refuses ranks whose CPUs pick different kernels (every rank takes part in this exchange):
/// matrixmultiply's products and so the weights would drift apart in their last bits.
fn same_vector_instructions(group: &dyn Collective) -> Result<()> {
    if group.size() <= 1 {
        return Ok(());
    }
    let ours = crate::simd::vector_instructions();
    // FNV-1a: the same in every process, whatever the build.
    let hash =
        ours.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    let all = group.all_values(hash);
    match all.iter().position(|&h| h != all[0]) {
        None => Ok(()),
        Some(r) => Err(Error::config(format!(
            "rank {r} and rank 0 run on CPUs with different vector instructions (rank {} has: {ours}): \
             the ranks would pick different product kernels and their weights would drift apart; \
             run every rank on machines of one kind",
            group.rank()
        ))),
    }
}

impl<'a> Trainer<'a> {
    /// [`Trainer::new`] for one rank of `group` ([`crate::distributed`]): every rank builds its
    /// trainer from the same network, data and settings, and each computes its share of every
    /// mini-batch's shards (on a team of `threads`, as [`Trainer::with_threads`]);
    /// the ranks exchange the gradients and apply the same update, so the weights after every
    /// step are, bit for bit, those of a one-process run with the same `shard` size. Every
    /// rank must own a shard of a full mini-batch (refused otherwise), and every rank must run
    /// the same calls (a stop request on any rank stops all after the same mini-batch).
    pub fn on_ranks(
        net: &'a mut Network<f32>,
        data: &Dataset,
        cfg: TrainConfig,
        group: &'a dyn Collective,
        threads: crate::Threads,
    ) -> Result<Self> {
        Trainer::check_group(group, data, &cfg)?;
        Trainer::build(net, data, cfg, threads.team_size(), Some(group))
    }

    /// The checks [`Trainer::on_ranks`] makes before anything else, each with the same verdict
    /// on every rank (given the same data and settings): the settings, a shard for every rank
    /// ([`crate::distributed::check_ranks`]), and CPUs that pick the same kernels (an exchange
    /// every rank takes part in). A caller that must tell errors every rank meets from one
    /// rank's own calls it first.
    ///
    /// # Errors
    /// [`Error::Config`] naming the check.
    pub fn check_group(group: &dyn Collective, data: &Dataset, cfg: &TrainConfig) -> Result<()> {
        // Checks every rank reaches alone come first: a rank that stopped in them would leave
        // the others waiting in the exchange.
        cfg.validate()?;
        crate::distributed::check_ranks(group.size(), data.n_samples(), cfg.batch, cfg.shard)?;
        same_vector_instructions(group)
    }

    /// Whether the run stops after this mini-batch: `local` on any rank (so every rank stops
    /// after the same one).
    pub(super) fn agree(&mut self, local: bool) -> bool {
        match &self.ranks {
            Some(r) => {
                let t = Instant::now();
                let any = r.group.any(local);
                // Part of the step: the ranks' step ends when they agree to go on.
                let dt = t.elapsed().as_secs_f64();
                self.time.exchange += dt;
                self.time.steps += dt;
                any
            }
            None => local,
        }
    }

    /// One mini-batch across the ranks: see the module's description. Returns the batch's
    /// summed loss and correct count (over all ranks, in shard order).
    pub(super) fn step_on_ranks(&mut self, data: &Dataset, batch: &[usize]) -> (f64, usize) {
        let t_step = Instant::now();
        let shard = self.cfg.shard;
        let n_sh = batch.len().div_ceil(shard);
        let split = Split { busy: Some(&self.busy), ..Split::team(&self.team) };
        let ranks = self.ranks.as_mut().expect("a trainer on ranks");
        let owned = ranks.exchange.owned(n_sh);
        let m = owned.len();
        let rows = batch.chunks(shard).skip(owned.start).take(m);
        let net = &*self.net;
        if shards_side_by_side(m, self.team.size()) {
            let shards = self.work[..m].iter_mut().zip(self.grads[..m].iter_mut()).zip(rows);
            whole_shards(net, data, shards, split);
            for (local, w) in ranks.local.iter_mut().zip(&self.work[..m]) {
                *local = (w.loss, w.correct());
            }
        } else {
            let work = &mut self.work[0];
            for ((rows, grad), local) in rows.zip(&mut self.grads[..m]).zip(&mut ranks.local) {
                let n = rows.len();
                let loss = work.forward(net, data, rows, split);
                let x = super::step::first_input(&work.x, work.gathers, data, rows);
                backward_from_deltas(&net.arch, Params::Read(&net.params), x, n, &mut work.buf, grad, split);
                *local = (loss, work.correct());
            }
        }
        let t1 = Instant::now();
        self.time.shards += (t1 - t_step).as_secs_f64();
        self.time.batches += 1;
        let group = ranks.group;
        // The first collective call after the compute: it waits for the slowest rank.
        let (loss, correct) = ranks.exchange.stats(group, n_sh, ranks.local[..m].iter().copied());
        let stats_s = t1.elapsed().as_secs_f64();
        self.time.exchange += stats_s;
        if super::diverged::exploded(self.know_nothing, loss, batch.len()) {
            self.time.steps += t_step.elapsed().as_secs_f64();
            return (loss, correct);
        }
        let comm = ranks.exchange.reduce(group, n_sh, &self.grads[..m], split);
        self.time.exchange += comm;
        let t2 = Instant::now();
        let rule = next_rule(&self.cfg, &mut self.opt_steps);
        let scale = 1.0 / batch.len() as f32;
        // One gradient, the reduced one: used as it is (no tree over one leaf).
        let one = std::slice::from_ref(&ranks.exchange.reduced);
        let clip = self.clip.as_mut().zip(self.cfg.clip_norm);
        let ws = (&mut self.net.params[..], &mut self.opt_state[..]);
        update_from(clip, one, &self.segments, ws, rule, scale, split);
        let t3 = Instant::now();
        self.time.update += (t3 - t2).as_secs_f64() + ((t2 - t1).as_secs_f64() - stats_s - comm);
        self.time.steps += t_step.elapsed().as_secs_f64();
        (loss, correct)
    }
}
