//! The run policy: the epoch loop around [`Trainer::run_epoch`] with the decisions a long run
//! needs, so that every user of the library gets them, not only the CLI:
//! - **checkpoint cadence**: the observer is asked to save a checkpoint every N epochs, after
//!   the last one, and whenever the run stops early (a stop never loses the run);
//! - **stop requests**: [`Observer::stop_requested`] is polled after every mini-batch (a
//!   Ctrl-C handler, a time limit); a request during an epoch's last mini-batch stops at the
//!   epoch boundary;
//! - **divergence**: on a non-finite loss either stop with [`Error::Diverged`], or roll back to
//!   the start of the epoch and retry it with half the learning rate, up to a limit. The
//!   rollback point travels in checkpoints ([`Rollback`]), so a resumed run retries exactly
//!   as the uninterrupted one would have;
//! - **schedule**: each epoch's learning rate is computed at its start from the base rate
//!   ([`Schedule`]); a halve-lr retry halves the base rate and recomputes the epoch's;
//! - **stopping rules** ([`StopRules`]), checked after each epoch; a rule that holds ends the
//!   run as its last epoch would (a checkpoint with a cadence), and [`RunOutcome::reason`]
//!   says which. With `restore_best` the best epoch's weights are the network's at the end.

use super::{EpochMetrics, Observer, Schedule, StopReason, StopRules, TrainState, Trainer};
use crate::data::Dataset;
use crate::error::{Error, Result};

/// What to do when the loss becomes non-finite.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnDivergence {
    /// Stop the run with [`Error::Diverged`] (the weights are those before the bad batch).
    #[default]
    Stop,
    /// Roll back to the start of the epoch and retry it with half the learning rate, at most
    /// `max_retries` times over the run; then stop as [`OnDivergence::Stop`] does.
    HalveLr {
        /// Retries allowed over the whole run.
        max_retries: usize,
    },
}

impl OnDivergence {
    /// Halve the learning rate up to 10 times (the CLI's `halve-lr`).
    pub const HALVE_LR: OnDivergence = OnDivergence::HalveLr { max_retries: 10 };
}

/// The point a halve-lr run rolls back to: the weights and trainer state at the start of the
/// current epoch, and the retries spent so far.
#[derive(Clone, Debug, PartialEq)]
pub struct Rollback {
    /// The network's parameters at the start of the epoch (the network's flat layout).
    pub params: Vec<f32>,
    /// The trainer's state at the start of the epoch.
    pub state: TrainState,
    /// Retries spent so far in the run.
    pub retries: usize,
}

/// How [`Trainer::run_policy`] runs: checkpoint cadence, divergence handling, the learning-rate
/// schedule and the stopping rules.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunPolicy {
    /// Ask the observer for a checkpoint after every this many epochs and after the last;
    /// `None`: only when the run stops early.
    pub checkpoint_every: Option<usize>,
    /// What a non-finite loss does.
    pub on_divergence: OnDivergence,
    /// The rollback point of a resumed halve-lr run (from its checkpoint).
    pub rollback: Option<Rollback>,
    /// The learning rate of each epoch.
    pub schedule: Schedule,
    /// Stopping rules besides the epoch count.
    pub stop_rules: StopRules,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq)]
pub struct RunOutcome {
    /// The metrics of the epochs completed in this call.
    pub history: Vec<EpochMetrics>,
    /// True when [`Observer::stop_requested`] ended the run before its last epoch (the
    /// observer has been asked for a checkpoint).
    pub stopped: bool,
    /// Why the run ended when it was not stopped: its epochs were done, or a rule held.
    pub reason: Option<StopReason>,
}

impl Trainer<'_> {
    /// Trains until the configured epochs are done, or the observer asks to stop, following
    /// `policy` (checkpoints through [`Observer::checkpoint`], divergence handling), and
    /// evaluating `test` after each epoch when given.
    pub fn run_policy(
        &mut self,
        data: &Dataset,
        test: Option<&Dataset>,
        policy: &RunPolicy,
        observer: &mut dyn Observer,
    ) -> Result<RunOutcome> {
        self.begin_run(policy, data, test)?;
        let max_retries = match policy.on_divergence {
            OnDivergence::HalveLr { max_retries } => Some(max_retries),
            OnDivergence::Stop => None,
        };
        // The state to roll back to: the start of the epoch, carried over a resume in the
        // middle of one by the checkpoint.
        let mut rollback: Option<Rollback> = max_retries.map(|_| match &policy.rollback {
            Some(r) => r.clone(),
            None => Rollback { params: self.net.params.clone(), state: self.state(), retries: 0 },
        });
        let mut history = Vec::new();
        if let Some(reason) = self.run.stopped {
            return Ok(self.finish(observer, history, reason));
        }
        while self.epochs_done() < self.cfg.epochs {
            if self.batches_done() == 0 {
                self.start_epoch();
                if let Some(r) = rollback.as_mut() {
                    r.params.copy_from_slice(&self.net.params);
                    r.state = self.state();
                }
            }
            match self.run_epoch(data, test, observer) {
                Ok(Some(m)) => {
                    let e = m.epoch;
                    let rule = self.end_epoch(&m);
                    history.push(m);
                    let last = e == self.cfg.epochs || rule.is_some();
                    if policy.checkpoint_every.is_some_and(|n| e % n.max(1) == 0 || last) {
                        observer.checkpoint(self, rollback.as_ref())?;
                    }
                    if let Some(reason) = rule {
                        return Ok(self.finish(observer, history, reason));
                    }
                    // A stop during an epoch's last mini-batch stops the run at the boundary.
                    if !last && observer.stop_requested() {
                        return self.stop(observer, rollback.as_ref(), history);
                    }
                }
                Ok(None) => return self.stop(observer, rollback.as_ref(), history),
                Err(Error::Diverged { epoch, batch, .. })
                    if rollback.as_ref().zip(max_retries).is_some_and(|(r, max)| r.retries < max) =>
                {
                    let r = rollback.as_mut().expect("checked above");
                    self.net.params.copy_from_slice(&r.params);
                    self.restore(r.state.clone())?;
                    // Halve the base rate; the epoch's rate follows from it at the loop's top.
                    self.run.base_lr /= 2.0;
                    r.retries += 1;
                    self.start_epoch();
                    observer.retrying(epoch, batch, self.cfg.lr);
                }
                Err(e) => return Err(e),
            }
        }
        let reason = StopReason::EpochsDone { epochs: self.epochs_done() };
        Ok(self.finish(observer, history, reason))
    }

    /// A run that ended by its epochs or a rule: the best weights back (`restore_best`), the
    /// observer told.
    fn finish(
        &mut self,
        observer: &mut dyn Observer,
        history: Vec<EpochMetrics>,
        reason: StopReason,
    ) -> RunOutcome {
        self.finish_run();
        observer.stopped(&reason);
        RunOutcome { history, stopped: false, reason: Some(reason) }
    }

    fn stop(
        &self,
        observer: &mut dyn Observer,
        rollback: Option<&Rollback>,
        history: Vec<EpochMetrics>,
    ) -> Result<RunOutcome> {
        observer.checkpoint(self, rollback)?;
        Ok(RunOutcome { history, stopped: true, reason: None })
    }
}
