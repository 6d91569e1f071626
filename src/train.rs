//! The training loop: seeded epoch permutation, mini-batches split into fixed shards,
//! parallel forward/backward per shard, a fixed-order reduction fused with the momentum
//! update.
//!
//! ```text
//! epoch permutation (seeded) ─► mini-batch of B rows ─► shards of `shard` rows (last shorter)
//!   rayon, per shard, in its own workspace: gather ─► forward ─► loss ─► backward ─► grad_s
//!   per parameter block, in parallel: g = pairwise tree over grad_0..grad_S ; momentum step
//! ```
//! The shards depend on B and `shard` only, each shard's gradient is computed by one task
//! into its own accumulator, and every parameter's sum runs over the same tree whatever the
//! chunking. So the result is **bit-identical for any number of threads**. All of the
//! trainer's buffers are allocated in [`Trainer::new`]; the batch loop allocates nothing of its
//! own (matrixmultiply allocates its packing buffers inside each GEMM call).
//!
//! The library reports progress through [`Progress`] and knows nothing of terminals; run it
//! inside a `rayon::ThreadPool::install` to choose the thread count.

use crate::data::{Dataset, Targets};
use crate::error::{Error, Result};
use crate::fpenv::FlushGuard;
use crate::infer::{Evaluation, evaluate};
use crate::network::{Buffers, Network, argmax};
use crate::optim::Sgd;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::ops::Range;
use std::time::Instant;

/// Hyperparameters of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    pub epochs: usize,
    /// Mini-batch size B.
    pub batch: usize,
    /// Rows per shard (the unit of parallel work); fixes the arithmetic, not the threads.
    pub shard: usize,
    pub lr: f32,
    pub momentum: f32,
    /// λ of the L2 term (λ/2n)·ΣW², n = training-set size; weights only.
    pub l2: f32,
    pub seed: u64,
    /// Reshuffle the rows every epoch (else keep file order).
    pub shuffle: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 20,
            batch: 64,
            shard: 32,
            lr: 0.1,
            momentum: 0.9,
            l2: 0.0,
            seed: 1,
            shuffle: true,
        }
    }
}

impl TrainConfig {
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::config(m));
        if self.batch == 0 {
            return bad("--batch must be at least 1".into());
        }
        if self.shard == 0 {
            return bad("--shard-size must be at least 1".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!("--lr must be a positive number, got {}", self.lr));
        }
        if !(self.momentum.is_finite() && (0.0..1.0).contains(&self.momentum)) {
            return bad(format!("--momentum must be in [0, 1), got {}", self.momentum));
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return bad(format!("--l2 must be a non-negative number, got {}", self.l2));
        }
        Ok(())
    }
}

/// One epoch's figures.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochMetrics {
    /// 1-based.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches, plus the L2 term at the epoch's end.
    pub loss: f64,
    /// Fraction of training samples classified correctly as they were trained on (running).
    pub train_acc: Option<f64>,
    pub test_loss: Option<f64>,
    pub test_acc: Option<f64>,
    pub lr: f32,
    /// Training time of the epoch (without the test evaluation).
    pub seconds: f64,
    pub samples_per_s: f64,
}

/// Observer of a run; every method has a do-nothing default.
pub trait Progress {
    fn epoch_start(&mut self, _epoch: usize, _n_batches: usize) {}
    /// After each mini-batch: samples done this epoch and the running mean loss.
    fn batch_end(&mut self, _samples_done: usize, _running_loss: f64) {}
    fn epoch_end(&mut self, _metrics: &EpochMetrics) {}
}

/// A [`Progress`] that ignores everything.
pub struct Silent;
impl Progress for Silent {}

/// One shard's workspace: gathered rows, targets, activations and its gradient accumulator.
struct ShardWork {
    x: Vec<f32>,
    y: Vec<f32>,
    buf: Buffers<f32>,
    grad: Vec<f32>,
    loss: f64,
    correct: usize,
    /// Seconds spent in each phase, summed over calls.
    time: PhaseTimes,
}

impl ShardWork {
    fn run(&mut self, net: &Network<f32>, data: &Dataset, rows: &[usize]) {
        let t0 = Instant::now();
        let (d, k) = (data.n_features, net.arch.n_out());
        let n = rows.len();
        for (i, &r) in rows.iter().enumerate() {
            self.x[i * d..(i + 1) * d].copy_from_slice(data.row(r));
            data.write_target(r, &mut self.y[i * k..(i + 1) * k]);
        }
        let (x, y) = (&self.x[..n * d], &self.y[..n * k]);
        let t1 = Instant::now();
        self.loss = net.forward(x, n, Some(y), &mut self.buf);
        self.correct = match &data.targets {
            Targets::Classes { labels, .. } => self
                .buf
                .output(n)
                .chunks_exact(k)
                .zip(rows)
                .filter(|(out, r)| argmax(out) == labels[**r] as usize)
                .count(),
            _ => 0,
        };
        let t2 = Instant::now();
        net.backward(x, n, y, &mut self.buf, &mut self.grad);
        let t3 = Instant::now();
        self.time.gather += (t1 - t0).as_secs_f64();
        self.time.forward += (t2 - t1).as_secs_f64();
        self.time.backward += (t3 - t2).as_secs_f64();
    }
}

/// Where the training time goes. `gather`, `forward` and `backward` are summed over all
/// shards (thread time); `shards` and `update` are wall time of the two parallel phases of
/// each mini-batch (shard work; reduction fused with the momentum update).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PhaseTimes {
    pub gather: f64,
    pub forward: f64,
    pub backward: f64,
    pub shards: f64,
    pub update: f64,
    pub batches: u64,
}

/// Parameters per parallel task in the reduction + update.
const UPDATE_CHUNK: usize = 4096;
/// Parameters summed at once on the stack inside a task.
const TREE_BLOCK: usize = 64;

/// `out ← Σ_s shards[s].grad[range]` summed as a fixed pairwise tree:
/// ((g0+g1)+(g2+g3))+... ; the split is at the largest power of two below the count.
fn tree_sum(shards: &[ShardWork], range: Range<usize>, out: &mut [f32]) {
    match shards.len() {
        0 => out.fill(0.0),
        1 => out.copy_from_slice(&shards[0].grad[range]),
        2 => {
            let (a, b) = (&shards[0].grad[range.clone()], &shards[1].grad[range]);
            out.iter_mut().zip(a.iter().zip(b)).for_each(|(o, (a, b))| *o = a + b);
        }
        n => {
            let half = n.next_power_of_two() / 2;
            tree_sum(&shards[..half], range.clone(), out);
            let mut right = [0.0f32; TREE_BLOCK];
            let right = &mut right[..out.len()];
            tree_sum(&shards[half..], range, right);
            out.iter_mut().zip(right.iter()).for_each(|(a, b)| *a += b);
        }
    }
}

/// A training run in progress: the network, its velocities and the shard workspaces.
pub struct Trainer<'a> {
    pub net: &'a mut Network<f32>,
    cfg: TrainConfig,
    velocity: Vec<f32>,
    shards: Vec<ShardWork>,
    /// Parameter ranges with their L2 coefficient λ/n (0 for biases).
    segments: Vec<(Range<usize>, f32)>,
    order: Vec<usize>,
    rng: ChaCha8Rng,
    n_train: usize,
    /// Epochs completed.
    epoch: usize,
    /// Mini-batches done in the current epoch (0: at an epoch boundary, not yet shuffled).
    next_batch: usize,
    /// Running sums of the current epoch.
    partial: Partial,
    time: PhaseTimes,
}

/// Running sums of the epoch in progress.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Partial {
    loss_sum: f64,
    correct: usize,
    done: usize,
    seconds: f64,
}

/// Everything besides the weights that determines how a run continues: with the weights,
/// a [`Trainer`] restored from it continues bit for bit as the original would have.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainState {
    /// Epochs completed.
    pub epoch: usize,
    /// Mini-batches done in the current epoch.
    pub next_batch: usize,
    /// The current epoch's row order.
    pub order: Vec<usize>,
    /// Position of the shuffling stream (ChaCha8, seeded by the config's seed, stream 2).
    pub rng_word_pos: u128,
    pub velocity: Vec<f32>,
    /// Running loss sum, correct count, samples and seconds of the current epoch.
    pub loss_sum: f64,
    pub correct: usize,
    pub done: usize,
    pub seconds: f64,
}

impl<'a> Trainer<'a> {
    /// Checks that `data` fits `net` and allocates every buffer the run needs.
    pub fn new(net: &'a mut Network<f32>, data: &Dataset, cfg: TrainConfig) -> Result<Self> {
        cfg.validate()?;
        check_fit(net, data)?;
        let n = data.n_samples();
        if n == 0 {
            return Err(Error::data(&data.path, "has no rows to train on"));
        }
        let arch = &net.arch;
        let (d, k) = (arch.n_in(), arch.n_out());
        let shard = cfg.shard.min(cfg.batch).min(n);
        let n_shards = cfg.batch.min(n).div_ceil(shard);
        // Parameters, velocities and one gradient per shard, plus each shard's activations.
        let widest: usize = arch.sizes().iter().sum::<usize>() + arch.sizes().iter().max().unwrap_or(&0) * 2;
        let need = 4u64
            .saturating_mul(arch.n_params() as u64)
            .saturating_mul(2 + n_shards as u64)
            .saturating_add(4 * (n_shards * shard) as u64 * (widest + k) as u64);
        if let Some(avail) = crate::sys::available_memory_bytes()
            && need > avail
        {
            return Err(Error::config(format!(
                "training {} parameters in {n_shards} shards of {shard} rows needs {} of memory, {} is available; \
                 use fewer or smaller layers, or a smaller --batch",
                arch.n_params(),
                crate::sys::human_bytes(need),
                crate::sys::human_bytes(avail)
            )));
        }
        let shards = (0..n_shards)
            .map(|_| ShardWork {
                x: vec![0.0; shard * d],
                y: vec![0.0; shard * k],
                buf: Buffers::new(arch, shard),
                grad: vec![0.0; arch.n_params()],
                loss: 0.0,
                correct: 0,
                time: PhaseTimes::default(),
            })
            .collect();
        let decay = cfg.l2 / n as f32;
        let segments = (0..arch.n_layers())
            .flat_map(|l| [(arch.weight_range(l), decay), (arch.bias_range(l), 0.0)])
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        rng.set_stream(2);
        Ok(Trainer {
            velocity: vec![0.0; arch.n_params()],
            net,
            cfg: TrainConfig { shard, ..cfg },
            shards,
            segments,
            order: (0..n).collect(),
            rng,
            n_train: n,
            epoch: 0,
            next_batch: 0,
            partial: Partial::default(),
            time: PhaseTimes::default(),
        })
    }

    /// One mini-batch: parallel shards, then the fused reduction and update.
    /// Returns the summed loss and correct count of the batch.
    fn step(&mut self, data: &Dataset, batch: &[usize]) -> (f64, usize) {
        let t0 = Instant::now();
        let shard = self.cfg.shard;
        let n_sh = batch.len().div_ceil(shard);
        let net = &*self.net;
        self.shards[..n_sh]
            .par_iter_mut()
            .zip(batch.par_chunks(shard))
            .for_each(|(work, rows)| work.run(net, data, rows));
        let loss: f64 = self.shards[..n_sh].iter().map(|s| s.loss).sum();
        let correct = self.shards[..n_sh].iter().map(|s| s.correct).sum();
        let t1 = Instant::now();
        self.time.shards += (t1 - t0).as_secs_f64();
        self.time.batches += 1;
        if !loss.is_finite() {
            return (loss, correct);
        }

        // One parallel pass over the flat parameters: each chunk sums its slice of the
        // shard gradients in the fixed tree order and applies the momentum update, with the
        // L2 coefficient of the segment (weights or bias) each element belongs to.
        let sgd = Sgd { lr: self.cfg.lr, momentum: self.cfg.momentum };
        let scale = 1.0 / batch.len() as f32;
        let shards = &self.shards[..n_sh];
        let segments = &self.segments;
        self.net
            .params
            .par_chunks_mut(UPDATE_CHUNK)
            .zip(self.velocity.par_chunks_mut(UPDATE_CHUNK))
            .enumerate()
            .for_each(|(c, (w, v))| {
                let (lo, hi) = (c * UPDATE_CHUNK, c * UPDATE_CHUNK + w.len());
                let mut g = [0.0f32; TREE_BLOCK];
                for (range, decay) in segments.iter().filter(|(r, _)| r.start < hi && r.end > lo) {
                    let (a, b) = (range.start.max(lo), range.end.min(hi));
                    let (w, v) = (&mut w[a - lo..b - lo], &mut v[a - lo..b - lo]);
                    for (i, (w, v)) in w.chunks_mut(TREE_BLOCK).zip(v.chunks_mut(TREE_BLOCK)).enumerate() {
                        let start = a + i * TREE_BLOCK;
                        let g = &mut g[..w.len()];
                        tree_sum(shards, start..start + w.len(), g);
                        sgd.step(w, v, g, scale, *decay);
                    }
                }
            });
        self.time.update += t1.elapsed().as_secs_f64();
        (loss, correct)
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
        if !loss.is_finite() {
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
        check_fit(self.net, data)?;
        let _flush = FlushGuard::on_current_pool();
        for _ in 0..n_batches {
            self.next(data)?;
        }
        Ok(())
    }

    /// Epochs completed so far.
    pub fn epochs_done(&self) -> usize {
        self.epoch
    }

    /// Mini-batches done in the current epoch.
    pub fn batches_done(&self) -> usize {
        self.next_batch
    }

    pub fn config(&self) -> &TrainConfig {
        &self.cfg
    }

    /// Changes the learning rate (used to retry a diverged epoch with a smaller one).
    pub fn set_lr(&mut self, lr: f32) {
        self.cfg.lr = lr;
    }

    /// The state to checkpoint (with the weights).
    pub fn state(&self) -> TrainState {
        let p = self.partial;
        TrainState {
            epoch: self.epoch,
            next_batch: self.next_batch,
            order: self.order.clone(),
            rng_word_pos: self.rng.get_word_pos(),
            velocity: self.velocity.clone(),
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
            || s.velocity.len() != self.velocity.len()
            || s.next_batch.checked_mul(self.cfg.batch).is_none_or(|done| done >= n.max(1))
        {
            return Err(Error::other(format!(
                "the checkpoint's trainer state does not fit this run ({} rows, {} parameters, batch {})",
                n,
                self.velocity.len(),
                self.cfg.batch
            )));
        }
        self.epoch = s.epoch;
        self.next_batch = s.next_batch;
        self.order = s.order;
        self.rng = ChaCha8Rng::seed_from_u64(self.cfg.seed);
        self.rng.set_stream(2);
        self.rng.set_word_pos(s.rng_word_pos);
        self.velocity = s.velocity;
        self.partial = Partial { loss_sum: s.loss_sum, correct: s.correct, done: s.done, seconds: s.seconds };
        Ok(())
    }

    /// Phase timings accumulated since the trainer was built (or last reset).
    pub fn phase_times(&self) -> PhaseTimes {
        let mut t = self.time;
        for s in &self.shards {
            t.gather += s.time.gather;
            t.forward += s.time.forward;
            t.backward += s.time.backward;
        }
        t
    }

    /// Zeroes the phase timings.
    pub fn reset_phase_times(&mut self) {
        self.time = PhaseTimes::default();
        self.shards.iter_mut().for_each(|s| s.time = PhaseTimes::default());
    }

    /// Runs the rest of the current epoch, or stops after the mini-batch during which
    /// `stop()` turns true. Returns the epoch's metrics when it completed (evaluating `test`
    /// when given), None when stopped.
    pub fn run_epoch(
        &mut self,
        data: &Dataset,
        test: Option<&Dataset>,
        progress: &mut dyn Progress,
        stop: &dyn Fn() -> bool,
    ) -> Result<Option<EpochMetrics>> {
        check_fit(self.net, data)?;
        if let Some(t) = test {
            check_fit(self.net, t)?;
        }
        let n = self.n_train;
        let _flush = FlushGuard::on_current_pool();
        progress.epoch_start(self.epoch + 1, n.div_ceil(self.cfg.batch));
        loop {
            let finished = self.next(data)?;
            if finished {
                break;
            }
            progress.batch_end(self.partial.done, self.partial.loss_sum / self.partial.done as f64);
            if stop() {
                return Ok(None);
            }
        }
        let epoch = self.epoch;
        let p = self.partial;
        progress.batch_end(p.done, p.loss_sum / p.done as f64);
        if self.net.params.iter().any(|v| !v.is_finite()) {
            return Err(Error::Diverged { epoch, batch: n.div_ceil(self.cfg.batch), lr: self.cfg.lr });
        }
        let l2_term = self.cfg.l2 as f64 / n as f64 * self.net.half_sum_sq_weights();
        let test_eval: Option<Evaluation> = test.map(|t| evaluate(self.net, t, None));
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
        progress.epoch_end(&m);
        Ok(Some(m))
    }

    /// Trains until `cfg.epochs` epochs are done, evaluating `test` after each when given.
    pub fn run(
        &mut self,
        data: &Dataset,
        test: Option<&Dataset>,
        progress: &mut dyn Progress,
    ) -> Result<Vec<EpochMetrics>> {
        let mut history = Vec::with_capacity(self.cfg.epochs);
        while self.epoch < self.cfg.epochs {
            if let Some(m) = self.run_epoch(data, test, progress, &|| false)? {
                history.push(m);
            }
        }
        Ok(history)
    }
}

/// Checks that a data set's width and targets fit the network.
pub fn check_fit(net: &Network<f32>, data: &Dataset) -> Result<()> {
    let arch = &net.arch;
    if data.n_features != arch.n_in() {
        return Err(Error::data(
            &data.path,
            format!("has {} input features but the network expects {}", data.n_features, arch.n_in()),
        ));
    }
    match &data.targets {
        Targets::Classes { n_classes, .. } if *n_classes > arch.n_out() => Err(Error::data(
            &data.path,
            format!("has labels up to {} but the network has {} outputs", n_classes - 1, arch.n_out()),
        )),
        Targets::Values { n_outputs, .. } if *n_outputs != arch.n_out() => Err(Error::data(
            &data.path,
            format!("has {n_outputs} target columns but the network has {} outputs", arch.n_out()),
        )),
        Targets::None => Err(Error::data(&data.path, "has no labels or targets to train or evaluate on")),
        _ => Ok(()),
    }
}

/// Trains `net` on `data` with `cfg` (a convenience over [`Trainer`]).
pub fn train(
    net: &mut Network<f32>,
    data: &Dataset,
    test: Option<&Dataset>,
    cfg: TrainConfig,
    progress: &mut dyn Progress,
) -> Result<Vec<EpochMetrics>> {
    Trainer::new(net, data, cfg)?.run(data, test, progress)
}
