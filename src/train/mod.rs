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
//! loop allocates nothing of its own (where matrixmultiply runs a product, it allocates its
//! packing buffers inside the call; bp-par's own kernels pack nothing).
//!
//! The passes run on a team of as many threads as the rayon pool the trainer is built in,
//! up to the number of cores (its threads stay awake between the phases of a step and sleep
//! between runs); the blocks are cut for the team's size (every extra block re-packs the
//! shared GEMM operand, ~10 µs for a 64 x 784 input block). The library
//! reports progress through an [`Observer`] and knows nothing of terminals; build and run the
//! trainer inside a `rayon::ThreadPool::install` to choose the thread count.

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::network::Network;
use crate::split::Busy;
use crate::team::Team;
use rand_chacha::ChaCha8Rng;
use std::ops::Range;

mod class_weight;
mod clip;
mod config;
mod diverged;
mod exchange;
mod fullbatch;
mod ranks;
#[cfg(test)]
mod ranks_tests;
mod run;
mod run_state;
mod schedule;
mod step;
mod stopping;
mod trainer;
mod tree;

use step::Workspace;

pub use crate::optim::{Adam, Optimizer};
pub use crate::split::shards_per_batch;
pub use class_weight::balanced_class_weights;
pub(crate) use class_weight::{check_fits as check_class_weights_fit, validate as validate_class_weights};
pub use config::{DEFAULT_SHARD, TrainConfig};
pub use diverged::EXPLODED;
pub use fullbatch::{
    DELTA_0, DELTA_MAX, DELTA_MIN, ETA_MINUS, ETA_PLUS, FullBatchConfig, FullBatchMethod,
    FullBatchMethodState, FullBatchOutcome, FullBatchState, FullBatchStop, train_full_batch,
    train_full_batch_from, train_full_batch_on,
};
pub use run::{OnDivergence, Rollback, RunOutcome, RunPolicy};
pub use run_state::RunState;
pub use schedule::{PlateauState, Schedule};
pub use stopping::{EarlyState, EarlyStopping, Monitor, StopReason, StopRules};

/// One epoch's figures.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochMetrics {
    /// 1-based.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches, plus the L2 term at the epoch's end.
    pub loss: f64,
    /// Fraction of training samples classified correctly as they were trained on (running).
    pub train_acc: Option<f64>,
    /// Mean loss on the held-out data, when given.
    pub test_loss: Option<f64>,
    /// Accuracy on the held-out data, for classifiers.
    pub test_acc: Option<f64>,
    /// The learning rate of the epoch (from the schedule; halve-lr retries lower it).
    pub lr: f32,
    /// Training time of the epoch (without the test evaluation).
    pub seconds: f64,
    /// Training samples per second of the epoch.
    pub samples_per_s: f64,
}

/// Observer of a run: progress, stop requests, retries and checkpoints. Every method has a
/// do-nothing default, so an observer implements only what it needs.
pub trait Observer {
    /// An epoch (1-based) of `n_batches` mini-batches begins (or resumes).
    fn epoch_start(&mut self, _epoch: usize, _n_batches: usize) {}
    /// After each mini-batch: samples done this epoch and the running mean loss.
    fn batch_end(&mut self, _samples_done: usize, _running_loss: f64) {}
    /// An epoch (1-based; a full-batch run: an iteration) completed and `net` holds its
    /// weights: called just before [`Observer::epoch_end`], so that an observer can measure
    /// them on data the run itself does not watch (the CLI evaluates a test file here while a
    /// validation split drives the stopping rules). Outside the epoch's timed seconds.
    fn epoch_weights(&mut self, _epoch: usize, _net: &Network<f32>) {}
    /// An epoch completed, with its figures.
    fn epoch_end(&mut self, _metrics: &EpochMetrics) {}
    /// A full-batch iteration (1-based) completed ([`train_full_batch`]): the objective at
    /// its point and the evaluations of the whole training set so far (called before
    /// [`Observer::epoch_end`] with the same iteration as its epoch).
    fn iteration_end(&mut self, _iteration: usize, _loss: f64, _evaluations: usize) {}
    /// Polled after every mini-batch: true stops the run after it (e.g. on Ctrl-C).
    fn stop_requested(&mut self) -> bool {
        false
    }
    /// The loss exploded or became non-finite in `epoch`, mini-batch `batch`; the run rolled
    /// back to the epoch's start and retries it with learning rate `lr`
    /// ([`OnDivergence::HalveLr`]).
    fn retrying(&mut self, _epoch: usize, _batch: usize, _lr: f32) {}
    /// A checkpoint is due ([`RunPolicy::checkpoint_every`], or the run stops early): save
    /// `trainer`'s network, [`Trainer::config`], [`Trainer::state`] and [`Trainer::run_state`]
    /// (the schedule's and stopping rules' state), and `rollback`, the halve-lr rollback point,
    /// if there is one ([`crate::checkpoint::save`] takes all of them). An error ends the run.
    fn checkpoint(&mut self, _trainer: &Trainer, _rollback: Option<&Rollback>) -> Result<()> {
        Ok(())
    }
    /// A full-batch checkpoint is due ([`train_full_batch_from`]'s cadence, or the run stops
    /// on request): save `net` (at the run's current point) and `state`. An error ends the run.
    fn full_batch_checkpoint(&mut self, _net: &Network<f32>, _state: &FullBatchState) -> Result<()> {
        Ok(())
    }
    /// The run ended: its epochs are done or a stopping rule held ([`StopReason`]); called
    /// after the last checkpoint and, with `restore_best`, after the best weights are back.
    fn stopped(&mut self, _reason: &StopReason) {}
}

/// An [`Observer`] that ignores everything.
pub struct Silent;
impl Observer for Silent {}

/// Where the training time goes: wall seconds of each phase of the steps, summed, and of
/// whole steps. Layer-parallel steps fill `forward` (gather included) and `backward` (the
/// momentum update runs inside it, block by block); shard-parallel steps fill `shards` (whole
/// shards on their threads) and `update` (the tree reduction and the update).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PhaseTimes {
    /// Layer-parallel steps: gather and forward passes.
    pub forward: f64,
    /// Layer-parallel steps: backward passes, with the reduction and update.
    pub backward: f64,
    /// Shard-parallel steps: whole shards side by side.
    pub shards: f64,
    /// Shard-parallel steps: the tree reduction and the update (on ranks: the frontier and
    /// top-of-tree sums and the update).
    pub update: f64,
    /// On ranks: the collective calls (the per-shard figures, the all-to-all and all-gather
    /// of the gradient, the vote on stopping), waiting for the slowest rank included.
    pub exchange: f64,
    /// Whole steps (on ranks with the vote on stopping that follows each).
    pub steps: f64,
    /// Mini-batches timed.
    pub batches: u64,
}

/// A training run in progress: the network, its optimiser state and the shard workspaces.
pub struct Trainer<'a> {
    net: &'a mut Network<f32>,
    cfg: TrainConfig,
    /// A know-nothing network's mean loss on the training data, the reference of the
    /// exploding-loss check (`diverged::exploded`).
    know_nothing: f64,
    /// The optimiser's state, [`Optimizer::state_per_param`] values per parameter in the
    /// parameters' order (the velocities, or Adam's moments interleaved).
    opt_state: Vec<f32>,
    /// Optimiser steps taken (Adam's t).
    opt_steps: u64,
    /// With gradient clipping: the reduced gradient, and each update chunk's sum of squares.
    clip: Option<step::ClipBuffers>,
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
    /// The schedule's and stopping rules' state.
    run: RunState,
    /// The largest magnitude of a training feature: held-out rows no larger whose outputs are
    /// not finite mean diverged weights, not extreme inputs.
    max_abs_input: f32,
    /// The group, when the run's mini-batches are shared over ranks ([`Trainer::on_ranks`]).
    ranks: Option<ranks::Ranks<'a>>,
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
    /// The optimiser's state (the network's parameter layout).
    pub optimizer: OptimizerState,
    /// Running loss sum of the current epoch.
    pub loss_sum: f64,
    /// Samples classified correctly so far this epoch.
    pub correct: usize,
    /// Samples done this epoch.
    pub done: usize,
    /// Training seconds this epoch.
    pub seconds: f64,
}

/// The optimiser's state, each buffer in the network's parameter layout.
#[derive(Clone, Debug, PartialEq)]
pub enum OptimizerState {
    /// Momentum SGD (classical or Nesterov).
    Momentum {
        /// The velocities.
        velocity: Vec<f32>,
    },
    /// Adam.
    Adam {
        /// The first moments m.
        m: Vec<f32>,
        /// The second moments v.
        v: Vec<f32>,
        /// Steps taken (t of the last step; the next is t + 1).
        t: u64,
    },
}

impl OptimizerState {
    /// The initial state of `optimizer` for `n_params` parameters: all zero.
    pub fn new(optimizer: &Optimizer, n_params: usize) -> Self {
        match optimizer {
            Optimizer::Sgd { .. } => OptimizerState::Momentum { velocity: vec![0.0; n_params] },
            Optimizer::Adam(_) => {
                OptimizerState::Adam { m: vec![0.0; n_params], v: vec![0.0; n_params], t: 0 }
            }
        }
    }

    /// The buffers with their names in checkpoints: `velocity`, or `adam_m` and `adam_v`.
    pub fn buffers(&self) -> Vec<(&'static str, &[f32])> {
        match self {
            OptimizerState::Momentum { velocity } => vec![("velocity", velocity)],
            OptimizerState::Adam { m, v, .. } => vec![("adam_m", m), ("adam_v", v)],
        }
    }

    /// Whether this is the state of `optimizer` (the same kind).
    pub fn is_for(&self, optimizer: &Optimizer) -> bool {
        matches!(
            (self, optimizer),
            (OptimizerState::Momentum { .. }, Optimizer::Sgd { .. })
                | (OptimizerState::Adam { .. }, Optimizer::Adam(_))
        )
    }
}

/// Checks that a data set's width and targets fit the network, that the network's parameter
/// vector is whole, and that every feature is a finite number (a NaN, a missing value, would
/// turn the weights into NaN without changing the loss a ReLU network reports).
pub fn check_fit(net: &Network<f32>, data: &Dataset) -> Result<()> {
    let arch = &net.arch;
    if net.params.len() != arch.n_params() {
        return Err(Error::config(format!(
            "the network has {} parameters, but layers {:?} take {}",
            net.params.len(),
            arch.sizes(),
            arch.n_params()
        )));
    }
    if let Some(i) = data.features.scan().first_non_finite {
        let (row, j) = (i / data.n_features.max(1), i % data.n_features.max(1));
        let what = if data.features[i].is_nan() { "missing (NaN)" } else { "not a finite number" };
        return Err(Error::data(
            &data.path,
            format!(
                "row {row}, feature {j} is {what}; fill missing values before training (`missing` mean or zero)"
            ),
        ));
    }
    // Widths, labels and targets, as an evaluation checks them.
    crate::infer::check_rows(net, data, true)
}

/// Trains `net` on `data` with `cfg` (a convenience over [`Trainer`]).
pub fn train(
    net: &mut Network<f32>,
    data: &Dataset,
    test: Option<&Dataset>,
    cfg: TrainConfig,
    observer: &mut dyn Observer,
) -> Result<Vec<EpochMetrics>> {
    Trainer::new(net, data, cfg)?.run(data, test, observer)
}
