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
//! chunking. So the result is **bit-identical for any number of threads**. All buffers are
//! allocated in [`Trainer::new`]; the batch loop allocates nothing.
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
            batch: 32,
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
    pub lr: f64,
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
}

impl ShardWork {
    fn run(&mut self, net: &Network<f32>, data: &Dataset, rows: &[usize]) {
        let (d, k) = (data.n_features, net.arch.n_out());
        let n = rows.len();
        for (i, &r) in rows.iter().enumerate() {
            self.x[i * d..(i + 1) * d].copy_from_slice(data.row(r));
            data.write_target(r, &mut self.y[i * k..(i + 1) * k]);
        }
        let (x, y) = (&self.x[..n * d], &self.y[..n * k]);
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
        net.backward(x, n, y, &mut self.buf, &mut self.grad);
    }
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
}

impl<'a> Trainer<'a> {
    /// Checks that `data` fits `net` and allocates every buffer the run needs.
    pub fn new(net: &'a mut Network<f32>, data: &Dataset, cfg: TrainConfig) -> Result<Self> {
        cfg.validate()?;
        check_fit(net, data)?;
        let n = data.n_samples();
        let arch = &net.arch;
        let (d, k) = (arch.n_in(), arch.n_out());
        let shard = cfg.shard.min(cfg.batch);
        let n_shards = cfg.batch.min(n).div_ceil(shard);
        let shards = (0..n_shards)
            .map(|_| ShardWork {
                x: vec![0.0; shard * d],
                y: vec![0.0; shard * k],
                buf: Buffers::new(arch, shard),
                grad: vec![0.0; arch.n_params()],
                loss: 0.0,
                correct: 0,
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
        })
    }

    /// One mini-batch: parallel shards, then the fused reduction and update.
    /// Returns the summed loss and correct count of the batch.
    fn step(&mut self, data: &Dataset, batch: &[usize]) -> (f64, usize) {
        let shard = self.cfg.shard;
        let n_sh = batch.len().div_ceil(shard);
        let net = &*self.net;
        self.shards[..n_sh]
            .par_iter_mut()
            .zip(batch.par_chunks(shard))
            .for_each(|(work, rows)| work.run(net, data, rows));
        let loss: f64 = self.shards[..n_sh].iter().map(|s| s.loss).sum();
        let correct = self.shards[..n_sh].iter().map(|s| s.correct).sum();
        if !loss.is_finite() {
            return (loss, correct);
        }

        let sgd = Sgd { lr: self.cfg.lr, momentum: self.cfg.momentum };
        let scale = 1.0 / batch.len() as f32;
        let shards = &self.shards[..n_sh];
        for (range, decay) in &self.segments {
            let start = range.start;
            self.net.params[range.clone()]
                .par_chunks_mut(UPDATE_CHUNK)
                .zip(self.velocity[range.clone()].par_chunks_mut(UPDATE_CHUNK))
                .enumerate()
                .for_each(|(c, (w, v))| {
                    let base = start + c * UPDATE_CHUNK;
                    let mut g = [0.0f32; TREE_BLOCK];
                    for (b, (w, v)) in w.chunks_mut(TREE_BLOCK).zip(v.chunks_mut(TREE_BLOCK)).enumerate() {
                        let lo = base + b * TREE_BLOCK;
                        let g = &mut g[..w.len()];
                        tree_sum(shards, lo..lo + w.len(), g);
                        sgd.step(w, v, g, scale, *decay);
                    }
                });
        }
        (loss, correct)
    }

    /// Trains `cfg.epochs` epochs, evaluating `test` after each when given.
    pub fn run(
        &mut self,
        data: &Dataset,
        test: Option<&Dataset>,
        progress: &mut dyn Progress,
    ) -> Result<Vec<EpochMetrics>> {
        check_fit(self.net, data)?;
        if let Some(t) = test {
            check_fit(self.net, t)?;
        }
        let batch = self.cfg.batch;
        let n = self.n_train;
        let classify = matches!(data.targets, Targets::Classes { .. });
        let _flush = FlushGuard::on_current_pool();
        let mut history = Vec::with_capacity(self.cfg.epochs);
        for epoch in 1..=self.cfg.epochs {
            let start = Instant::now();
            if self.cfg.shuffle {
                self.order.shuffle(&mut self.rng);
            }
            let order = std::mem::take(&mut self.order);
            progress.epoch_start(epoch, n.div_ceil(batch));
            let (mut loss_sum, mut correct, mut done) = (0.0f64, 0usize, 0usize);
            for (b, rows) in order.chunks(batch).enumerate() {
                let (loss, ok) = self.step(data, rows);
                if !loss.is_finite() {
                    self.order = order;
                    return Err(Error::Diverged { epoch, batch: b + 1, lr: self.cfg.lr as f64 });
                }
                loss_sum += loss;
                correct += ok;
                done += rows.len();
                progress.batch_end(done, loss_sum / done as f64);
            }
            self.order = order;
            let seconds = start.elapsed().as_secs_f64();
            let l2_term = self.cfg.l2 as f64 / n as f64 * self.net.half_sum_sq_weights();
            let test_eval: Option<Evaluation> = test.map(|t| evaluate(self.net, t, None));
            let m = EpochMetrics {
                epoch,
                loss: loss_sum / n as f64 + l2_term,
                train_acc: classify.then(|| correct as f64 / n as f64),
                test_loss: test_eval.as_ref().map(|e| e.loss + l2_term),
                test_acc: test_eval.as_ref().and_then(Evaluation::accuracy),
                lr: self.cfg.lr as f64,
                seconds,
                samples_per_s: n as f64 / seconds.max(1e-9),
            };
            progress.epoch_end(&m);
            history.push(m);
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
