//! A prepared fit, run: the mini-batch trainer under its run policy (or a full-batch
//! optimiser), resumed from a checkpoint where there is one, on MPI ranks where a group is
//! given, writing checkpoint files where asked, with the caller's observer watching.

use super::Session;
use super::prepare::Start;
use super::settings::Mlp;
use crate::checkpoint::{self, Checkpoint, DataIdentity, FullBatchCheckpoint};
use crate::data::{Dataset, Normalization, Schema};
use crate::distributed::Collective;
use crate::error::Result;
use crate::model::{Model, ModelRef, Task};
use crate::network::Network;
use crate::train::{
    EpochMetrics, FullBatchConfig, FullBatchState, FullBatchStop, Observer, PhaseTimes, Rollback, RunState,
    Silent, StopReason, TrainConfig, Trainer, train_full_batch_from,
};
use std::path::PathBuf;

/// Where a run writes its checkpoints: after every `every` epochs (or iterations) and after
/// the last, and whenever a stop request ends it (with `every` None: only then).
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoints {
    /// The checkpoint file (written atomically, replaced each time).
    pub path: PathBuf,
    /// The cadence, in epochs (full-batch: iterations).
    pub every: Option<usize>,
}

/// How a fit's run went; the trained model is the session's ([`Session::model`]: the weights
/// at the end of the run, the best epoch's with early stopping's `restore_best`).
#[derive(Clone, Debug)]
pub struct Fitted {
    /// The epochs (full-batch: iterations) run by this call.
    pub history: Vec<EpochMetrics>,
    /// Why the run ended; `None` when a stop request ended it early (see `stopped_at`).
    pub reason: Option<StopReason>,
    /// Where a stop request ended the run: (epochs completed, mini-batches of the next done;
    /// full-batch: iterations completed, 0). The checkpoint, if asked for, was written there.
    pub stopped_at: Option<(usize, usize)>,
    /// Where the time went (on ranks, the exchange's share).
    pub times: PhaseTimes,
}

impl Mlp {
    /// Fits a new network to `data` (raw rows, as read or built) and returns the model,
    /// which applies the fitted normalisation and fills to the rows it is given.
    ///
    /// With a validation split (`val_split`, 0.2 by default) the held-out rows are watched
    /// (for early stopping and the schedule's plateau rule) and the model is trained on the
    /// rest; `val_split(0.0)` trains on every row.
    ///
    /// # Errors
    /// As [`Mlp::prepare`], and [`crate::Error::Diverged`] when the loss diverges (with
    /// `on_divergence` stop, or after the halve-lr retries).
    pub fn fit(&self, data: &Dataset) -> Result<Model> {
        let mut session = self.prepare(data.clone(), None, Start::New)?;
        session.run(&mut Silent, None, None)?;
        Ok(session.into_model())
    }
}

impl Session {
    /// Runs the prepared fit, once: `observer` sees every mini-batch and epoch (and may ask to
    /// stop); `checkpoints` writes checkpoint files; `group` shares the mini-batches over MPI
    /// ranks (every rank runs this with the same data and settings; rank 0 alone writes).
    ///
    /// # Errors
    /// [`crate::Error::Diverged`], a checkpoint that cannot be written, the ranks' errors; a
    /// second call ([`crate::Error::Config`]: prepare the fit again, or resume a checkpoint).
    pub fn run(
        &mut self,
        observer: &mut dyn Observer,
        checkpoints: Option<&Checkpoints>,
        group: Option<&dyn Collective>,
    ) -> Result<Fitted> {
        if std::mem::replace(&mut self.ran, true) {
            return Err(crate::Error::config(
                "a prepared fit runs once: prepare it again, or resume its checkpoint",
            ));
        }
        let Session { mlp, train, held_out, test: _, model, identity, resume, .. } = self;
        let train: &Dataset = train;
        if mlp.full_batch.is_some() && group.is_some_and(|g| g.size() > 1) {
            return Err(crate::Error::config(
                "the full-batch optimizers run on one machine; across ranks use a mini-batch optimizer",
            ));
        }
        let writes = group.is_none_or(|g| g.rank() == 0);
        let every = checkpoints.and_then(|c| c.every);
        let threads = mlp.threads;
        let Model { net, norm, task, input_shape, schema, .. } = model;
        let mut obs = Watch {
            inner: observer,
            path: checkpoints.filter(|_| writes).map(|c| c.path.clone()),
            identity: Identity { cell: identity, train, val_split: mlp.val_split },
            cfg: &mlp.cfg,
            lr_given: resume.as_ref().map_or(mlp.cfg.lr, |ck| ck.lr_given),
            full_batch: mlp.full_batch.as_ref(),
            parts: Parts { norm, task: *task, input_shape: *input_shape, schema },
        };
        let fitted = match &mlp.full_batch {
            Some(fb) => {
                let start = resume.as_ref().and_then(|ck| ck.full_batch.as_ref()).map(|f| f.state.clone());
                let resumed_at = start.as_ref().map_or(0, |s| s.iterations);
                let outcome = train_full_batch_from(
                    net,
                    train,
                    held_out.as_ref(),
                    fb,
                    start,
                    every,
                    &mut obs,
                    threads,
                )?;
                let done = outcome.history.last().map_or(resumed_at, |m| m.epoch);
                let evaluations = outcome.evaluations;
                let (reason, stopped_at) = match outcome.stop {
                    FullBatchStop::MaxIter => {
                        (Some(StopReason::IterationsDone { iterations: done, evaluations }), None)
                    }
                    FullBatchStop::NoProgress => {
                        (Some(StopReason::NoProgress { iterations: done, evaluations }), None)
                    }
                    FullBatchStop::Requested => (None, Some((done, 0))),
                };
                if let Some(r) = &reason {
                    obs.inner.stopped(r);
                }
                (outcome.history, reason, stopped_at, PhaseTimes::default())
            }
            None => {
                let mut trainer = match group {
                    Some(g) => Trainer::on_ranks(net, train, mlp.cfg.clone(), g, threads)?,
                    None => Trainer::with_threads(net, train, mlp.cfg.clone(), threads)?,
                };
                let mut policy = mlp.policy.clone();
                policy.checkpoint_every = every;
                if let Some(ck) = &resume {
                    trainer.restore(ck.state.clone())?;
                    trainer.restore_run_state(ck.run.clone())?;
                    if policy.rollback.is_none() {
                        policy.rollback.clone_from(&ck.rollback);
                    }
                }
                let outcome = trainer.run_policy(train, held_out.as_ref(), &policy, &mut obs)?;
                let stopped_at = outcome.stopped.then(|| (trainer.epochs_done(), trainer.batches_done()));
                (outcome.history, outcome.reason, stopped_at, trainer.phase_times())
            }
        };
        let (history, reason, stopped_at, times) = fitted;
        Ok(Fitted { history, reason, stopped_at, times })
    }
}

/// The model's parts besides the network (borrowed while the trainer holds the network).
struct Parts<'a> {
    norm: &'a Normalization,
    task: Task,
    input_shape: Option<[usize; 2]>,
    schema: &'a Schema,
}

impl Parts<'_> {
    fn with<'n>(&'n self, net: &'n Network<f32>) -> ModelRef<'n> {
        ModelRef { net, norm: self.norm, task: self.task, input_shape: self.input_shape, schema: self.schema }
    }
}

/// The training data's identity, hashed when a checkpoint first needs it (a run that writes
/// none never reads every value for it).
struct Identity<'a> {
    cell: &'a std::sync::OnceLock<DataIdentity>,
    train: &'a Dataset,
    val_split: f64,
}

impl Identity<'_> {
    fn get(&self) -> &DataIdentity {
        self.cell.get_or_init(|| DataIdentity::of(self.train, self.val_split))
    }
}

/// The caller's observer, with the checkpoints written on its behalf: what a checkpoint
/// records besides the trainer's state, and where it goes.
struct Watch<'a> {
    inner: &'a mut dyn Observer,
    /// None: no checkpoint files (or not this rank's to write).
    path: Option<PathBuf>,
    /// What they record of the data (computed when the first is written).
    identity: Identity<'a>,
    cfg: &'a TrainConfig,
    lr_given: f32,
    full_batch: Option<&'a FullBatchConfig>,
    parts: Parts<'a>,
}

impl Observer for Watch<'_> {
    fn epoch_start(&mut self, epoch: usize, n_batches: usize) {
        self.inner.epoch_start(epoch, n_batches);
    }
    fn batch_end(&mut self, samples_done: usize, running_loss: f64) {
        self.inner.batch_end(samples_done, running_loss);
    }
    fn epoch_weights(&mut self, epoch: usize, net: &Network<f32>) {
        self.inner.epoch_weights(epoch, net);
    }
    fn epoch_end(&mut self, metrics: &EpochMetrics) {
        self.inner.epoch_end(metrics);
    }
    fn iteration_end(&mut self, iteration: usize, loss: f64, evaluations: usize) {
        self.inner.iteration_end(iteration, loss, evaluations);
    }
    fn stop_requested(&mut self) -> bool {
        self.inner.stop_requested()
    }
    fn retrying(&mut self, epoch: usize, batch: usize, lr: f32) {
        self.inner.retrying(epoch, batch, lr);
    }
    fn checkpoint(&mut self, trainer: &Trainer, rollback: Option<&Rollback>) -> Result<()> {
        self.inner.checkpoint(trainer, rollback)?;
        let Some(path) = &self.path else { return Ok(()) };
        let identity = self.identity.get();
        let ck = Checkpoint {
            config: trainer.config().clone(),
            state: trainer.state(),
            data: identity.clone(),
            lr_given: self.lr_given,
            rollback: rollback.cloned(),
            run: trainer.run_state().clone(),
            full_batch: None,
        };
        checkpoint::save(path, self.parts.with(trainer.net()), &ck)
    }
    fn full_batch_checkpoint(&mut self, net: &Network<f32>, state: &FullBatchState) -> Result<()> {
        self.inner.full_batch_checkpoint(net, state)?;
        let (Some(path), Some(fb)) = (&self.path, self.full_batch) else { return Ok(()) };
        let identity = self.identity.get();
        let cfg = self.cfg;
        let ck = Checkpoint {
            config: cfg.clone(),
            state: Checkpoint::full_batch_train_state(state.iterations),
            data: identity.clone(),
            lr_given: cfg.lr,
            rollback: None,
            run: RunState::new(cfg.lr),
            full_batch: Some(FullBatchCheckpoint { config: fb.clone(), state: state.clone() }),
        };
        checkpoint::save(path, self.parts.with(net), &ck)
    }
    fn stopped(&mut self, reason: &StopReason) {
        self.inner.stopped(reason);
    }
}
