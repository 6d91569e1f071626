//! The training loop: seeded epoch permutation, mini-batches split into fixed shards, each
//! shard's passes split over the threads by blocks of units, and a fixed-order reduction
//! fused with the momentum update.
//!
//! ```text
//! epoch permutation (seeded) ─► mini-batch of B rows ─► shards of `shard` rows (last shorter)
//!   per shard, one after another, in the one workspace:
//!     gather (blocks of rows) ─► forward (per layer: blocks of units; output: blocks of rows)
//!     ─► loss and output delta ─► backward (per layer: blocks of input units) ─► grad_s
//!   the last shard's backward, per finished gradient block: g = pairwise tree over
//!   grad_0..grad_S ; momentum step on that block while it is in cache
//! ```
//! The shards depend on B and `shard` only. Every task writes its own block of outputs, and
//! each output element is one dot product in the GEMM's fixed k order, whatever the blocks;
//! every parameter's sum over the shards runs over the same tree. So the result is
//! **bit-identical for any number of threads** (the tests compare model files for 1 to 16).
//! With one shard per mini-batch (the default for batches of up to 128 rows) there is no
//! reduction at all. All of the trainer's buffers are allocated in [`Trainer::new`]; the batch
//! loop allocates nothing of its own (matrixmultiply allocates its packing buffers inside
//! each GEMM call).
//!
//! The passes run on a [`Team`] of as many threads as the rayon pool the trainer is built in,
//! up to the number of cores (its threads stay awake between the phases of a step and sleep
//! between runs); the blocks are cut for the team's size (every extra block re-packs the
//! shared GEMM operand, ~10 µs for a 64 x 784 input block). The library
//! reports progress through [`Progress`] and knows nothing of terminals; build and run the
//! trainer inside a `rayon::ThreadPool::install` to choose the thread count.

use crate::data::{Dataset, Targets};
use crate::error::{Error, Result};
use crate::infer::{Evaluation, evaluate};
use crate::network::{Arch, Buffers, Network, Params, argmax, backward_from_deltas, phase_tasks};
use crate::optim::Sgd;
use crate::split::{Busy, Split};
use crate::team::Team;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use std::ops::Range;
use std::time::Instant;

/// The default shard size: a whole mini-batch of up to 128 rows is one shard (no reduction),
/// larger batches are cut into shards of 128. Measured on 2 cores (784-128-10, `bp-par bench
/// --threads 1,2 --batch 64,128,256 --shard-size 32,64,128,256`, two runs): one shard of 64
/// split over the threads beat two shards of 32 (335k against 286k samples/s); shards of 128
/// matched or beat shards of 64 at batch 128 and 256 on 1 thread (200-229k against 175-205k)
/// and on 2 (350-378k against 286-373k at batch 128, 383-411k against 344-394k at 256), while
/// one shard of 256 split over 2 threads gained nothing over 1 (its GEMMs re-pack a 784 x 256
/// input per block).
pub const DEFAULT_SHARD: usize = 128;

/// Hyperparameters of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    pub epochs: usize,
    /// Mini-batch size B.
    pub batch: usize,
    /// Rows per shard, the unit of sample splitting: each shard's gradient is summed over its
    /// rows by the GEMMs, and the shards' gradients by a fixed tree. Fixes the arithmetic (and
    /// the memory of the activations), not the threads.
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
            shard: DEFAULT_SHARD,
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

/// Where the training time goes: wall seconds of each phase of the steps, summed, and of
/// whole steps. Layer-parallel steps fill `forward` (gather included) and `backward` (the
/// momentum update runs inside it, block by block); shard-parallel steps fill `shards` (whole
/// shards on their threads) and `update` (the tree reduction and the update).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PhaseTimes {
    pub forward: f64,
    pub backward: f64,
    pub shards: f64,
    pub update: f64,
    pub steps: f64,
    pub batches: u64,
}

/// One shard's working memory: gathered rows, their targets, activations and deltas, and the
/// shard's summed loss and correct count.
struct Workspace {
    x: Vec<f32>,
    y: Vec<f32>,
    buf: Buffers<f32>,
    loss: f64,
    correct: usize,
}

impl Workspace {
    fn new(arch: &Arch, rows: usize) -> Self {
        let (d, k) = (arch.n_in(), arch.n_out());
        Workspace {
            x: vec![0.0; rows * d],
            y: vec![0.0; rows * k],
            buf: Buffers::new(arch, rows),
            loss: 0.0,
            correct: 0,
        }
    }

    /// Gathers `rows`, runs the forward pass (with output deltas) and counts the correct
    /// predictions, cut by `split`. Returns the rows' summed loss.
    fn forward(&mut self, net: &Network<f32>, data: &Dataset, rows: &[usize], split: Split<'_>) -> f64 {
        let (d, k, n) = (data.n_features, net.arch.n_out(), rows.len());
        gather(data, rows, &mut self.x, &mut self.y, k, split);
        self.loss = net.forward_with(&self.x[..n * d], n, Some(&self.y[..n * k]), &mut self.buf, split, true);
        self.correct = match &data.targets {
            Targets::Classes { labels, .. } => {
                let out = self.buf.output(n).chunks_exact(k);
                out.zip(rows).filter(|(o, r)| argmax(o) == labels[**r] as usize).count()
            }
            _ => 0,
        };
        self.loss
    }
}

/// Parameters per task of the separate reduction + update (shard-parallel steps).
const UPDATE_CHUNK: usize = 4096;

/// Parameters summed at once on the stack in the reduction.
const TREE_BLOCK: usize = 64;

/// `out ← Σ_{i<n} leaf(i)` summed as a fixed pairwise tree, ((l0+l1)+(l2+l3))+...: the split
/// is at the largest power of two below the count, so every element's order of additions
/// depends on the number of shards only. `out` has at most [`TREE_BLOCK`] elements.
fn tree_sum<'g>(leaf: &dyn Fn(usize) -> &'g [f32], first: usize, n: usize, out: &mut [f32]) {
    match n {
        0 => out.fill(0.0),
        1 => out.copy_from_slice(leaf(first)),
        2 => {
            let (a, b) = (leaf(first), leaf(first + 1));
            sum_into(out, a, b);
        }
        n => {
            let half = n.next_power_of_two() / 2;
            tree_sum(leaf, first, half, out);
            let mut right = [0.0f32; TREE_BLOCK];
            let right = &mut right[..out.len()];
            tree_sum(leaf, first + half, n - half, right);
            add_into(out, right);
        }
    }
}

crate::multiversion! {
    /// `out ← a + b` element by element.
    fn sum_into(out: &mut [f32], a: &[f32], b: &[f32]) {
        out.iter_mut().zip(a.iter().zip(b)).for_each(|(o, (a, b))| *o = a + b);
    }
}

crate::multiversion! {
    /// `out ← out + b` element by element.
    fn add_into(out: &mut [f32], b: &[f32]) {
        out.iter_mut().zip(b).for_each(|(o, b)| *o += b);
    }
}

/// Copies the rows `rows` of `data` and their targets into `x` and `y`, in parallel blocks.
fn gather(data: &Dataset, rows: &[usize], x: &mut [f32], y: &mut [f32], k: usize, split: Split<'_>) {
    let (d, n) = (data.n_features, rows.len());
    let copy = |rows: &[usize], x: &mut [f32], y: &mut [f32]| {
        for ((&r, x), y) in rows.iter().zip(x.chunks_exact_mut(d)).zip(y.chunks_exact_mut(k)) {
            x.copy_from_slice(data.row(r));
            data.write_target(r, y);
        }
    };
    let block = gather_block(split, n, d, k);
    let blocks =
        x[..n * d].chunks_mut(block * d).zip(y[..n * k].chunks_mut(block * k)).zip(rows.chunks(block));
    split.for_each(blocks, |((x, y), rows)| copy(rows, x, y));
}

/// Rows per block of [`gather`]: a row read from memory costs about as much per value as 8
/// multiply-adds in cache.
fn gather_block(split: Split<'_>, rows: usize, d: usize, k: usize) -> usize {
    split.block_len(rows, 8 * (d + k), 1)
}

/// Whether `n_shards` shards run side by side on a team of `team` threads (each thread whole
/// shards) rather than one after another with each pass split over the threads.
fn shards_side_by_side(n_shards: usize, team: usize) -> bool {
    team > 1 && n_shards >= team
}

/// The reduction fused with the momentum update for the parameters `w` (flat indices from
/// `start`), velocities `v`: each element's gradient is the sum of `n` shard gradients in the
/// fixed tree order, `leaf(s, range)` giving shard s's gradient over a flat range.
#[allow(clippy::too_many_arguments)]
fn reduce_and_step<'g>(
    leaf: &dyn Fn(usize, Range<usize>) -> &'g [f32],
    n: usize,
    start: usize,
    w: &mut [f32],
    v: &mut [f32],
    sgd: Sgd,
    scale: f32,
    decay: f32,
) {
    if n == 1 {
        return sgd.step(w, v, leaf(0, start..start + w.len()), scale, decay);
    }
    let mut sum = [0.0f32; TREE_BLOCK];
    for (i, (w, v)) in w.chunks_mut(TREE_BLOCK).zip(v.chunks_mut(TREE_BLOCK)).enumerate() {
        let from = start + i * TREE_BLOCK;
        let sum = &mut sum[..w.len()];
        tree_sum(&|s| leaf(s, from..from + w.len()), 0, n, sum);
        sgd.step(w, v, sum, scale, decay);
    }
}

/// A training run in progress: the network, its velocities and the shard workspaces.
pub struct Trainer<'a> {
    pub net: &'a mut Network<f32>,
    cfg: TrainConfig,
    velocity: Vec<f32>,
    /// Shard workspaces: one when the shards run one after another, each split over the
    /// threads; one per shard when a full mini-batch has at least as many shards as the team
    /// has threads, and each thread runs whole shards (see [`Trainer::step`]).
    work: Vec<Workspace>,
    /// Parameter ranges with their L2 coefficient (λ/n for weights, 0 for biases).
    segments: Vec<(Range<usize>, f32)>,
    /// One gradient accumulator per shard of a full mini-batch.
    grads: Vec<Vec<f32>>,
    /// The threads that run the blocks of every phase: as many as the rayon pool the trainer
    /// was built in has, but no more than the machine has cores (an oversubscribed team would
    /// wait for the operating system to wake its threads at every phase).
    team: Team,
    busy: Busy,
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
    /// Checks that `data` fits `net` and allocates every buffer the run needs. The team has
    /// as many threads as the current rayon pool, up to one per core.
    pub fn new(net: &'a mut Network<f32>, data: &Dataset, cfg: TrainConfig) -> Result<Self> {
        Trainer::with_team(net, data, cfg, crate::team::size_for(rayon::current_num_threads()))
    }

    /// [`Trainer::new`] with a team of exactly `team_size` threads, even beyond the cores (for
    /// tests of larger teams on small machines: the results are the same for every size).
    #[doc(hidden)]
    pub fn with_team(
        net: &'a mut Network<f32>,
        data: &Dataset,
        cfg: TrainConfig,
        team_size: usize,
    ) -> Result<Self> {
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
        let team_size = team_size.max(1);
        let n_work = if shards_side_by_side(n_shards, team_size) { n_shards } else { 1 };
        // Parameters, velocities and one gradient per shard, plus the workspaces' rows,
        // targets, activations and deltas.
        let units: usize = arch.sizes().iter().sum::<usize>() * 2;
        let need = 4u64
            .saturating_mul(arch.n_params() as u64)
            .saturating_mul(2 + n_shards as u64)
            .saturating_add(4 * (shard * n_work) as u64 * (units + d + k) as u64);
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
        let decay = cfg.l2 / n as f32;
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        rng.set_stream(2);
        let segments = (0..arch.n_layers())
            .flat_map(|l| [(arch.weight_range(l), decay), (arch.bias_range(l), 0.0)])
            .collect();
        Ok(Trainer {
            velocity: vec![0.0; arch.n_params()],
            work: (0..n_work).map(|_| Workspace::new(arch, shard)).collect(),
            segments,
            grads: vec![vec![0.0; arch.n_params()]; n_shards],
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
        })
    }

    /// One mini-batch. Returns the summed loss and correct count of the batch; on a non-finite
    /// loss nothing is updated. Two ways to run it, with the same bits (every shard's sums are
    /// cut-independent, see [`crate::split`]):
    /// - **layer-parallel** (fewer shards than the team has threads; the default's one shard
    ///   per batch of up to 128):
    ///   the shards one after another, each pass split over the threads; the last shard's
    ///   backward sums each finished gradient block over the shards in the fixed tree order and
    ///   applies the momentum update to it at once;
    /// - **shard-parallel** (at least as many shards as the team has threads): each thread runs whole
    ///   shards on its own workspace (two synchronisations per batch, every GEMM whole), then
    ///   the tree reduction and update run in parallel over parameter chunks.
    fn step(&mut self, data: &Dataset, batch: &[usize]) -> (f64, usize) {
        let n_sh = batch.len().div_ceil(self.cfg.shard);
        // (The workspaces were made for a full batch, whose shards run side by side if these do.)
        if shards_side_by_side(n_sh, self.team.size()) {
            self.step_by_shards(data, batch)
        } else {
            self.step_by_layers(data, batch)
        }
    }

    fn step_by_layers(&mut self, data: &Dataset, batch: &[usize]) -> (f64, usize) {
        let t_step = Instant::now();
        let shard = self.cfg.shard;
        let n_sh = batch.len().div_ceil(shard);
        let split = Split { busy: Some(&self.busy), ..Split::team(&self.team) };
        let d = data.n_features;
        let (mut loss, mut correct) = (0.0, 0);
        let mut last_rows = 0;
        let work = &mut self.work[0];
        for (s, rows) in batch.chunks(shard).enumerate() {
            let n = rows.len();
            let t1 = Instant::now();
            loss += work.forward(self.net, data, rows, split);
            correct += work.correct;
            let t2 = Instant::now();
            self.time.forward += (t2 - t1).as_secs_f64();
            if s + 1 < n_sh {
                let grad = &mut self.grads[s];
                let params = Params::Read(&self.net.params);
                backward_from_deltas(&self.net.arch, params, &work.x[..n * d], n, &mut work.buf, grad, split);
                self.time.backward += t2.elapsed().as_secs_f64();
            }
            last_rows = n;
        }
        self.time.batches += 1;
        if !loss.is_finite() {
            self.time.steps += t_step.elapsed().as_secs_f64();
            return (loss, correct);
        }
        let t2 = Instant::now();
        let sgd = Sgd { lr: self.cfg.lr, momentum: self.cfg.momentum };
        let (scale, decay) = (1.0 / batch.len() as f32, self.cfg.l2 / self.n_train as f32);
        let (done, last) = self.grads.split_at_mut(n_sh - 1);
        let done: &[Vec<f32>] = done;
        // `g` is the last shard's gradient over `range`, the others' are in `done`.
        let update = |range: Range<usize>, is_weight: bool, w: &mut [f32], v: &mut [f32], g: &[f32]| {
            let leaf = |s: usize, r: Range<usize>| {
                if s < done.len() { &done[s][r] } else { &g[r.start - range.start..r.end - range.start] }
            };
            reduce_and_step(&leaf, n_sh, range.start, w, v, sgd, scale, if is_weight { decay } else { 0.0 });
        };
        let x = &work.x[..last_rows * d];
        let params =
            Params::Update { params: &mut self.net.params, state: &mut self.velocity, update: &update };
        backward_from_deltas(&self.net.arch, params, x, last_rows, &mut work.buf, &mut last[0], split);
        self.time.backward += t2.elapsed().as_secs_f64();
        self.time.steps += t_step.elapsed().as_secs_f64();
        (loss, correct)
    }

    fn step_by_shards(&mut self, data: &Dataset, batch: &[usize]) -> (f64, usize) {
        let t_step = Instant::now();
        let shard = self.cfg.shard;
        let n_sh = batch.len().div_ceil(shard);
        let split = Split { busy: Some(&self.busy), ..Split::team(&self.team) };
        let d = data.n_features;
        let net = &*self.net;
        let shards = self.work[..n_sh].iter_mut().zip(self.grads[..n_sh].iter_mut()).zip(batch.chunks(shard));
        split.for_each(shards, |((work, grad), rows)| {
            let n = rows.len();
            work.forward(net, data, rows, Split::serial());
            let x = &work.x[..n * d];
            backward_from_deltas(
                &net.arch,
                Params::Read(&net.params),
                x,
                n,
                &mut work.buf,
                grad,
                Split::serial(),
            );
        });
        let loss: f64 = self.work[..n_sh].iter().map(|w| w.loss).sum();
        let correct = self.work[..n_sh].iter().map(|w| w.correct).sum();
        let t1 = Instant::now();
        self.time.shards += (t1 - t_step).as_secs_f64();
        self.time.batches += 1;
        if !loss.is_finite() {
            self.time.steps += t_step.elapsed().as_secs_f64();
            return (loss, correct);
        }
        // The reduction fused with the update, in parallel over parameter chunks: each
        // element's sum runs over the same tree as in the layer-parallel step.
        let sgd = Sgd { lr: self.cfg.lr, momentum: self.cfg.momentum };
        let scale = 1.0 / batch.len() as f32;
        let (grads, segments) = (&self.grads[..n_sh], &self.segments);
        let chunks =
            self.net.params.chunks_mut(UPDATE_CHUNK).zip(self.velocity.chunks_mut(UPDATE_CHUNK)).enumerate();
        let leaf = |s: usize, r: Range<usize>| &grads[s][r];
        split.for_each(chunks, |(c, (w, v))| {
            let (lo, hi) = (c * UPDATE_CHUNK, c * UPDATE_CHUNK + w.len());
            for (range, decay) in segments.iter().filter(|(r, _)| r.start < hi && r.end > lo) {
                let (a, b) = (range.start.max(lo), range.end.min(hi));
                let (w, v) = (&mut w[a - lo..b - lo], &mut v[a - lo..b - lo]);
                reduce_and_step(&leaf, n_sh, a, w, v, sgd, scale, *decay);
            }
        });
        self.time.update += t1.elapsed().as_secs_f64();
        self.time.steps += t_step.elapsed().as_secs_f64();
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
        self.check_same_rows(data)?;
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
    /// many cores would run): with fewer shards than threads, gather and the passes of
    /// [`phase_tasks`] of one shard; with at least as many, whole shards side by side, then the
    /// reduction and update by parameter chunks.
    pub fn phase_tasks(&self, threads: usize) -> Vec<(String, usize)> {
        let split = Split { threads, ..Split::team(&self.team) };
        let rows = self.cfg.shard.min(self.cfg.batch);
        let n_shards = self.cfg.batch.min(self.n_train).div_ceil(rows);
        if shards_side_by_side(n_shards, threads) {
            let chunks = self.net.arch.n_params().div_ceil(UPDATE_CHUNK);
            return vec![("shards".to_string(), n_shards), ("reduce+update".to_string(), chunks)];
        }
        let (d, k) = (self.net.arch.n_in(), self.net.arch.n_out());
        let mut phases = vec![("gather".to_string(), rows.div_ceil(gather_block(split, rows, d, k)))];
        phases.extend(phase_tasks(&self.net.arch, rows, split));
        phases
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
        self.check_same_rows(data)?;
        if let Some(t) = test {
            check_fit(self.net, t)?;
        }
        let n = self.n_train;
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn tree_sum_of_1_to_9_shards_matches_an_f64_sum_and_the_fixed_tree() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for n in 1..=9usize {
            let len = 37;
            let leaves: Vec<Vec<f32>> =
                (0..n).map(|_| (0..len).map(|_| rng.random_range(-1e3f32..1e3)).collect()).collect();
            let leaf = |i: usize| leaves[i].as_slice();
            let mut out = vec![f32::NAN; len];
            tree_sum(&leaf, 0, n, &mut out);
            for j in 0..len {
                // Against a plain f64 sum: within f32 rounding of the partial sums.
                let exact: f64 = leaves.iter().map(|l| l[j] as f64).sum();
                let bound: f64 =
                    leaves.iter().map(|l| l[j].abs() as f64).sum::<f64>() * 4.0 * f32::EPSILON as f64;
                assert!((out[j] as f64 - exact).abs() <= bound, "{n} shards: {} vs {exact}", out[j]);
                // And exactly the documented tree: split at the largest power of two below n.
                fn tree(v: &[f32]) -> f32 {
                    match v.len() {
                        1 => v[0],
                        2 => v[0] + v[1],
                        n => {
                            let half = n.next_power_of_two() / 2;
                            tree(&v[..half]) + tree(&v[half..])
                        }
                    }
                }
                let column: Vec<f32> = leaves.iter().map(|l| l[j]).collect();
                assert_eq!(out[j].to_bits(), tree(&column).to_bits(), "{n} shards, element {j}");
            }
        }
        // The shape for 5 shards: ((0+1)+(2+3))+4, not (((0+1)+2)+3)+4.
        let leaves = [[1e8f32], [1.0], [-1e8], [1.0], [0.5]];
        let mut out = [0.0f32];
        tree_sum(&|i| leaves[i].as_slice(), 0, 5, &mut out);
        assert_eq!(out[0], ((1e8f32 + 1.0) + (-1e8 + 1.0)) + 0.5);
    }
}
