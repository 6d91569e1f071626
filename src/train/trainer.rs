//! The [`Trainer`]'s life: building it (every buffer allocated once), running mini-batches
//! and epochs, and saving and restoring its state.

use super::diverged::{exploded, know_nothing_loss};
use super::step::{UPDATE_CHUNK, Workspace, gather_block, shards_side_by_side};
use super::{
    EpochMetrics, Observer, OptimizerState, Partial, PhaseTimes, RunPolicy, RunState, TrainConfig,
    TrainState, Trainer, check_fit,
};
use crate::data::{Dataset, Targets};
use crate::distributed::Collective;
use crate::error::{Error, Result};
use crate::infer::{Evaluation, evaluate};
use crate::network::{Arch, Network, feature_block, phase_tasks};
use crate::split::{Busy, Split};
use crate::team::Team;
use crate::threads::Threads;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

impl<'a> Trainer<'a> {
    /// Checks that `data` fits `net` and allocates every buffer the run needs
    /// ([`Trainer::memory_needed`] bytes besides the network). The team has one thread per
    /// core ([`Threads::all`]); [`Trainer::with_threads`] takes a count.
    pub fn new(net: &'a mut Network<f32>, data: &Dataset, cfg: TrainConfig) -> Result<Self> {
        Trainer::with_threads(net, data, cfg, Threads::all())
    }

    /// [`Trainer::new`] with a team of `threads` threads, up to one per core
    /// ([`Threads::team_size`]). The results are the same for every count.
    pub fn with_threads(
        net: &'a mut Network<f32>,
        data: &Dataset,
        cfg: TrainConfig,
        threads: Threads,
    ) -> Result<Self> {
        Trainer::with_team(net, data, cfg, threads.team_size())
    }

    /// [`Trainer::new`] with a team of exactly `team_size` threads, even beyond the cores (for
    /// tests of larger teams on small machines: the results are the same for every size).
    pub fn with_team(
        net: &'a mut Network<f32>,
        data: &Dataset,
        cfg: TrainConfig,
        team_size: usize,
    ) -> Result<Self> {
        Trainer::build(net, data, cfg, team_size, None)
    }

    pub(super) fn build(
        net: &'a mut Network<f32>,
        data: &Dataset,
        cfg: TrainConfig,
        team_size: usize,
        group: Option<&'a dyn Collective>,
    ) -> Result<Self> {
        cfg.validate()?;
        check_fit(net, data)?;
        super::class_weight::check_fits(cfg.class_weight.as_deref(), data)?;
        let n = data.n_samples();
        if n == 0 {
            return Err(Error::data(&data.path, "has no rows to train on"));
        }
        let arch = &net.arch;
        let (shard, n_shards) = super::shards_per_batch(cfg.batch, cfg.shard, n);
        let team_size = team_size.max(1);
        let ranks = match group.filter(|g| g.size() > 1) {
            Some(g) => {
                crate::distributed::check_ranks(g.size(), n, cfg.batch, cfg.shard)?;
                let counts = super::ranks::shard_counts(n, cfg.batch, shard);
                Some(super::ranks::Ranks::new(g, arch.n_params(), &counts)?)
            }
            None => None,
        };
        // The shards this process computes: its share on ranks.
        let n_local = ranks.as_ref().map_or(n_shards, super::ranks::Ranks::most_owned);
        let n_work = if shards_side_by_side(n_local, team_size) { n_local } else { 1 };
        let decay = cfg.l2 / n as f32;
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        rng.set_stream(2);
        let segments = (0..arch.n_layers())
            .flat_map(|l| [(arch.weight_range(l), decay), (arch.bias_range(l), 0.0)])
            .collect();
        Ok(Trainer {
            know_nothing: know_nothing_loss(arch, data),
            max_abs_input: data.max_abs(),
            opt_state: vec![0.0; arch.n_params() * cfg.optimizer.state_per_param()],
            opt_steps: 0,
            clip: cfg.clip_norm.map(|_| super::step::ClipBuffers::new(arch.n_params())),
            work: (0..n_work)
                .map(|_| Workspace::new(arch, shard).weighted(cfg.class_weight.as_deref()))
                .collect(),
            segments,
            grads: vec![vec![0.0; arch.n_params()]; n_local],
            team: Team::new(team_size),
            busy: Busy::new(team_size),
            net,
            cfg: TrainConfig { shard, ..cfg },
            order: (0..n).collect(),
            rng,
            n_train: n,
            epoch: 0,
            next_batch: 0,
            partial: Partial::default(),
            time: PhaseTimes::default(),
            run: RunState::new(cfg.lr),
            ranks,
        })
    }
    /// Runs the next mini-batch of the current epoch (shuffling at the epoch's start).
    /// Returns true when it completed the epoch. On a non-finite loss the batch's update is
    /// not applied and the weights stay as they were.
    fn next(&mut self, data: &Dataset) -> Result<bool> {
        let t = Instant::now();
        let (batch, n) = (self.cfg.batch, self.n_train);
        if self.next_batch == 0 {
            if self.cfg.shuffle {
                self.order.shuffle(&mut self.rng);
            }
            self.partial = Partial::default();
        }
        let start = self.next_batch * batch;
        let end = (start + batch).min(n);
        let order = std::mem::take(&mut self.order);
        let (loss, ok) = self.step(data, &order[start..end]);
        self.order = order;
        if exploded(self.know_nothing, loss, end - start) {
            return Err(Error::Diverged {
                epoch: self.epoch + 1,
                batch: self.next_batch + 1,
                lr: self.cfg.lr,
            });
        }
        let p = &mut self.partial;
        p.loss_sum += loss;
        p.correct += ok;
        p.done += end - start;
        p.seconds += t.elapsed().as_secs_f64();
        self.next_batch += 1;
        if end == n {
            self.next_batch = 0;
            self.epoch += 1;
            return Ok(true);
        }
        Ok(false)
    }

    /// Runs `n_batches` mini-batches, continuing through epochs (for benchmarks: no
    /// metrics, no evaluation).
    pub fn steps(&mut self, data: &Dataset, n_batches: usize) -> Result<()> {
        self.check_same_rows(data)?;
        for _ in 0..n_batches {
            self.next(data)?;
        }
        Ok(())
    }

    /// Bytes a trainer for `arch` and `cfg` on `n_samples` rows allocates on a team of
    /// `team_size` threads: the optimiser's state, one gradient per shard (and with clipping
    /// their sum), and the shard workspaces' rows, targets, activations and deltas (the
    /// network's own parameters not counted).
    /// Check it against the memory available before a large run.
    pub fn memory_needed(arch: &Arch, cfg: &TrainConfig, n_samples: usize, team_size: usize) -> u64 {
        let n = n_samples.max(1);
        let (d, k) = (arch.n_in(), arch.n_out());
        let (shard, n_shards) = super::shards_per_batch(cfg.batch, cfg.shard, n);
        let n_work = if shards_side_by_side(n_shards, team_size.max(1)) { n_shards } else { 1 };
        // Every layer's outputs and deltas, and a copy of the last hidden layer's (or the input).
        let units: usize = arch.sizes().iter().sum::<usize>() * 2 + arch.sizes()[arch.n_layers() - 1];
        // The optimiser's state, one gradient per shard, the clipping sum, and the epoch's
        // start (weights and state) that a diverged run goes back to.
        let per_param =
            2 * cfg.optimizer.state_per_param() + 1 + n_shards + usize::from(cfg.clip_norm.is_some());
        4u64.saturating_mul(arch.n_params() as u64)
            .saturating_mul(per_param as u64)
            .saturating_add(4 * (shard * n_work) as u64 * (units + d + k) as u64)
    }

    /// The network being trained.
    pub fn net(&self) -> &Network<f32> {
        self.net
    }

    /// Epochs completed so far.
    pub fn epochs_done(&self) -> usize {
        self.epoch
    }

    /// Mini-batches done in the current epoch.
    pub fn batches_done(&self) -> usize {
        self.next_batch
    }

    /// The run's settings (the shard size as in effect: never above the batch or the rows).
    pub fn config(&self) -> &TrainConfig {
        &self.cfg
    }

    /// Changes the learning rate: the current epoch's, and the base rate the schedule
    /// computes the next epochs' from ([`RunState::base_lr`]).
    ///
    /// # Errors
    /// [`Error::Config`] for a rate that is not a finite number ≥ 0 (the trainer keeps its rate).
    pub fn set_lr(&mut self, lr: f32) -> Result<()> {
        if !(lr.is_finite() && lr >= 0.0) {
            return Err(Error::config(format!("`lr` must be a non-negative number, got {lr}")));
        }
        self.cfg.lr = lr;
        self.run.base_lr = lr;
        Ok(())
    }

    /// The state to checkpoint (with the weights).
    pub fn state(&self) -> TrainState {
        let p = self.partial;
        TrainState {
            epoch: self.epoch,
            next_batch: self.next_batch,
            order: self.order.clone(),
            rng_word_pos: self.rng.get_word_pos(),
            optimizer: self.optimizer_state(),
            loss_sum: p.loss_sum,
            correct: p.correct,
            done: p.done,
            seconds: p.seconds,
        }
    }

    /// Continues from a checkpointed state (the weights are the network's).
    pub fn restore(&mut self, s: TrainState) -> Result<()> {
        let n = self.n_train;
        let mut seen = vec![false; n];
        let is_permutation =
            s.order.len() == n && s.order.iter().all(|&i| i < n && !std::mem::replace(&mut seen[i], true));
        if !is_permutation
            || !s.optimizer.is_for(&self.cfg.optimizer)
            || s.optimizer.buffers().iter().any(|(_, b)| b.len() != self.net.arch.n_params())
            || s.next_batch.checked_mul(self.cfg.batch).is_none_or(|done| done >= n.max(1))
        {
            return Err(Error::other(format!(
                "the checkpoint's trainer state does not fit this run ({} rows, {} parameters, batch {}, \
                 optimizer {})",
                n,
                self.net.arch.n_params(),
                self.cfg.batch,
                self.cfg.optimizer.name()
            )));
        }
        self.epoch = s.epoch;
        self.next_batch = s.next_batch;
        self.order = s.order;
        self.rng = ChaCha8Rng::seed_from_u64(self.cfg.seed);
        self.rng.set_stream(2);
        self.rng.set_word_pos(s.rng_word_pos);
        self.set_optimizer_state(s.optimizer);
        self.partial = Partial { loss_sum: s.loss_sum, correct: s.correct, done: s.done, seconds: s.seconds };
        Ok(())
    }

    /// The optimiser's state in the parameters' layout (Adam's moments de-interleaved).
    fn optimizer_state(&self) -> OptimizerState {
        match self.cfg.optimizer.state_per_param() {
            1 => OptimizerState::Momentum { velocity: self.opt_state.clone() },
            _ => OptimizerState::Adam {
                m: self.opt_state.iter().step_by(2).copied().collect(),
                v: self.opt_state.iter().skip(1).step_by(2).copied().collect(),
                t: self.opt_steps,
            },
        }
    }

    /// Takes over `s` (of this trainer's optimiser and size, checked by the caller).
    fn set_optimizer_state(&mut self, s: OptimizerState) {
        match s {
            OptimizerState::Momentum { velocity } => {
                self.opt_state = velocity;
                self.opt_steps = 0;
            }
            OptimizerState::Adam { m, v, t } => {
                let pairs = self.opt_state.chunks_exact_mut(2).zip(m.iter().zip(&v));
                pairs.for_each(|(mv, (&m, &v))| mv.copy_from_slice(&[m, v]));
                self.opt_steps = t;
            }
        }
    }

    /// Phase timings accumulated since the trainer was built (or last reset).
    pub fn phase_times(&self) -> PhaseTimes {
        self.time
    }

    /// Busy seconds of each thread of the team over the same period.
    pub fn thread_busy(&self) -> Vec<f64> {
        self.busy.seconds()
    }

    /// Zeroes the phase timings and busy times.
    pub fn reset_phase_times(&mut self) {
        self.time = PhaseTimes::default();
        self.busy.reset();
    }

    /// Checks that `data` fits the network and has the rows the trainer was built for.
    fn check_same_rows(&self, data: &Dataset) -> Result<()> {
        check_fit(self.net, data)?;
        if data.n_samples() != self.n_train {
            return Err(Error::data(
                &data.path,
                format!("has {} rows but the trainer was built for {}", data.n_samples(), self.n_train),
            ));
        }
        Ok(())
    }

    /// Threads of the team that runs the steps: the rayon pool's, up to one per core.
    pub fn team_size(&self) -> usize {
        self.team.size()
    }

    /// The parallel phases of a full mini-batch and their task counts on a team of `threads`
    /// threads ([`Trainer::team_size`] for this machine; more shows what a machine with that
    /// many cores would run): with fewer shards than threads, gather and each layer's forward
    /// and backward passes of one shard; with at least as many, whole shards side by side,
    /// then the reduction and update by parameter chunks.
    pub fn phase_tasks(&self, threads: usize) -> Vec<(String, usize)> {
        let split = Split { threads, ..Split::team(&self.team) };
        let (rows, n_shards) = super::shards_per_batch(self.cfg.batch, self.cfg.shard, self.n_train);
        if shards_side_by_side(n_shards, threads) {
            let chunks = self.net.arch.n_params().div_ceil(UPDATE_CHUNK);
            return vec![("shards".to_string(), n_shards), ("reduce+update".to_string(), chunks)];
        }
        let (d, k) = (self.net.arch.n_in(), self.net.arch.n_out());
        // The gather copies blocks of rows and transposes blocks of features for the first layer.
        let transposed =
            if self.net.arch.n_layers() > 1 { d.div_ceil(feature_block(split, d, rows)) } else { 0 };
        let gathered = rows.div_ceil(gather_block(split, rows, d, k)) + transposed;
        let mut phases = vec![("gather".to_string(), gathered)];
        phases.extend(phase_tasks(&self.net.arch, rows, split));
        phases
    }

    /// Runs the rest of the current epoch, or stops after the mini-batch after which
    /// [`Observer::stop_requested`] says so. Returns the epoch's metrics when it completed
    /// (evaluating `test` when given), None when stopped. [`Trainer::run_policy`] runs whole
    /// runs with checkpoints and divergence handling.
    pub fn run_epoch(
        &mut self,
        data: &Dataset,
        test: Option<&Dataset>,
        observer: &mut dyn Observer,
    ) -> Result<Option<EpochMetrics>> {
        self.check_same_rows(data)?;
        if let Some(t) = test {
            check_fit(self.net, t)?;
        }
        let n = self.n_train;
        observer.epoch_start(self.epoch + 1, n.div_ceil(self.cfg.batch));
        loop {
            let finished = self.next(data)?;
            if finished {
                break;
            }
            observer.batch_end(self.partial.done, self.partial.loss_sum / self.partial.done as f64);
            if self.agree(observer.stop_requested()) {
                return Ok(None);
            }
        }
        let epoch = self.epoch;
        let p = self.partial;
        observer.batch_end(p.done, p.loss_sum / p.done as f64);
        if self.net.params.iter().any(|v| !v.is_finite()) {
            return Err(Error::Diverged { epoch, batch: n.div_ceil(self.cfg.batch), lr: self.cfg.lr });
        }
        let l2_term = self.cfg.l2 as f64 / n as f64 * self.net.half_sum_sq_weights();
        let threads = Threads::clamped(self.team.size());
        let test_eval: Option<Evaluation> =
            test.map(|t| threads.install(|| evaluate(self.net, t, None))).transpose()?.transpose()?;
        if let (Some(e), Some(t), Some(row)) =
            (&test_eval, test, test_eval.as_ref().and_then(|e| e.first_non_finite))
        {
            // Inputs no larger than the training rows': the weights, finite but huge, diverged.
            // Larger ones: extreme held-out inputs (a NaN figure would be silently wrong).
            let largest = t.row(row).iter().fold(0.0f32, |m, v| m.max(v.abs()));
            if largest <= self.max_abs_input {
                return Err(Error::Diverged { epoch, batch: n.div_ceil(self.cfg.batch), lr: self.cfg.lr });
            }
            e.check_finite(t, "held-out")?;
        }
        let classify = matches!(data.targets, Targets::Classes { .. });
        let m = EpochMetrics {
            epoch,
            loss: p.loss_sum / n as f64 + l2_term,
            train_acc: classify.then(|| p.correct as f64 / n as f64),
            test_loss: test_eval.as_ref().map(|e| e.loss),
            test_acc: test_eval.as_ref().and_then(Evaluation::accuracy),
            lr: self.cfg.lr,
            seconds: p.seconds,
            samples_per_s: n as f64 / p.seconds.max(1e-9),
        };
        observer.epoch_weights(epoch, self.net);
        observer.epoch_end(&m);
        Ok(Some(m))
    }

    /// Trains until the configured epochs are done, or `observer` asks to stop, evaluating
    /// `test` after each epoch when given ([`Trainer::run_policy`] with the default policy:
    /// no checkpoints, stop on divergence). Returns the completed epochs' metrics; compare
    /// [`Trainer::epochs_done`] with the configured epochs to tell a stopped run.
    pub fn run(
        &mut self,
        data: &Dataset,
        test: Option<&Dataset>,
        observer: &mut dyn Observer,
    ) -> Result<Vec<EpochMetrics>> {
        Ok(self.run_policy(data, test, &RunPolicy::default(), observer)?.history)
    }
}
