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
    /// Stop the run with [`Error::Diverged`]; the network holds the weights it had at the
    /// start of the epoch in which the loss diverged (or where a resumed run began).
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
        if policy.checkpoint_every == Some(0) {
            return Err(Error::config("`checkpoint_every` must be at least 1"));
        }
        if let Some(r) = &policy.rollback
            && r.params.len() != self.net.params.len()
        {
            return Err(Error::other(format!(
                "the rollback point has {} parameters, the network {}",
                r.params.len(),
                self.net.params.len()
            )));
        }
        self.begin_run(policy, data, test)?;
        let max_retries = match policy.on_divergence {
            OnDivergence::HalveLr { max_retries } => Some(max_retries),
            OnDivergence::Stop => None,
        };
        // The state to roll back to: the start of the epoch, carried over a resume in the
        // middle of one by the checkpoint. Kept under either policy: a run that stops on
        // divergence leaves the weights of the epoch's start (finite, exact); only a halve-lr
        // run's checkpoints carry it.
        let mut start = match &policy.rollback {
            Some(r) => r.clone(),
            None => Rollback { params: self.net.params.clone(), state: self.state(), retries: 0 },
        };
        let halve = max_retries.is_some();
        let mut history = Vec::new();
        if let Some(reason) = self.run.stopped {
            return Ok(self.finish(observer, history, reason));
        }
        while self.epochs_done() < self.cfg.epochs {
            if self.batches_done() == 0 {
                self.start_epoch();
                start.params.copy_from_slice(&self.net.params);
                start.state = self.state();
            }
            match self.run_epoch(data, test, observer) {
                Ok(Some(m)) => {
                    let e = m.epoch;
                    let rule = self.end_epoch(&m);
                    history.push(m);
                    let last = e == self.cfg.epochs || rule.is_some();
                    if policy.checkpoint_every.is_some_and(|n| e % n.max(1) == 0 || last) {
                        observer.checkpoint(self, halve.then_some(&start))?;
                    }
                    if let Some(reason) = rule {
                        return Ok(self.finish(observer, history, reason));
                    }
                    // A stop during an epoch's last mini-batch stops the run at the boundary.
                    if !last && self.agree(observer.stop_requested()) {
                        return self.stop(observer, halve.then_some(&start), history);
                    }
                }
                Ok(None) => return self.stop(observer, halve.then_some(&start), history),
                Err(Error::Diverged { epoch, batch, .. })
                    if max_retries.is_some_and(|max| start.retries < max) =>
                {
                    let r = &mut start;
                    self.net.params.copy_from_slice(&r.params);
                    self.restore(r.state.clone())?;
                    // Halve the base rate; the epoch's rate follows from it at the loop's top.
                    self.run.base_lr /= 2.0;
                    self.run.schedule = self.run.schedule.halved();
                    r.retries += 1;
                    self.start_epoch();
                    observer.retrying(epoch, batch, self.cfg.lr);
                }
                Err(e @ Error::Diverged { .. }) => {
                    // The weights and state of the epoch's start, never a diverged step's.
                    self.net.params.copy_from_slice(&start.params);
                    self.restore(start.state.clone())?;
                    return Err(e);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::Activation;
    use crate::loss::Loss;
    use crate::network::{Arch, Network};
    use crate::train::TrainConfig;

    /// Records what the run policy asks of its observer; asks to stop after `stop_after`
    /// polls.
    #[derive(Default)]
    struct Recorder {
        checkpoints: Vec<(usize, usize, Option<usize>)>,
        retries: Vec<f32>,
        polls: usize,
        stop_after: Option<usize>,
    }

    impl Observer for Recorder {
        fn stop_requested(&mut self) -> bool {
            self.polls += 1;
            self.stop_after.is_some_and(|n| self.polls >= n)
        }
        fn retrying(&mut self, _epoch: usize, _batch: usize, lr: f32) {
            self.retries.push(lr);
        }
        fn checkpoint(&mut self, t: &Trainer, rollback: Option<&Rollback>) -> Result<()> {
            self.checkpoints.push((t.epochs_done(), t.batches_done(), rollback.map(|r| r.retries)));
            Ok(())
        }
    }

    fn setup(lr: f32, epochs: usize, batch: usize) -> (crate::data::Dataset, Network<f32>, TrainConfig) {
        let data = crate::data::synthetic(60, 5, 3, 2);
        let net = Network::init(Arch::new(vec![5, 4, 3], Activation::Relu, Loss::Xent).unwrap(), 3);
        (data, net, TrainConfig { epochs, batch, lr, ..TrainConfig::default() })
    }

    #[test]
    fn checkpoints_come_every_n_epochs_and_after_the_last() {
        let (data, mut net, cfg) = setup(0.1, 5, 16);
        let mut rec = Recorder::default();
        let policy = RunPolicy { checkpoint_every: Some(2), ..RunPolicy::default() };
        let out =
            Trainer::new(&mut net, &data, cfg).unwrap().run_policy(&data, None, &policy, &mut rec).unwrap();
        assert!(!out.stopped);
        assert_eq!(out.history.len(), 5);
        assert_eq!(rec.checkpoints, [(2, 0, None), (4, 0, None), (5, 0, None)]);
        let zero = RunPolicy { checkpoint_every: Some(0), ..RunPolicy::default() };
        let (data, mut net, cfg) = setup(0.1, 5, 16);
        let err = Trainer::new(&mut net, &data, cfg).unwrap().run_policy(&data, None, &zero, &mut rec);
        assert!(matches!(err, Err(Error::Config(m)) if m.contains("`checkpoint_every`")));
    }

    #[test]
    fn a_stop_mid_epoch_checkpoints_there_and_one_in_the_last_batch_waits_for_the_boundary() {
        // 60 rows in batches of 16: 4 batches an epoch, polled after batches 1-3.
        let (data, mut net, cfg) = setup(0.1, 5, 16);
        let mut rec = Recorder { stop_after: Some(5), ..Recorder::default() };
        let mut t = Trainer::new(&mut net, &data, cfg).unwrap();
        let out = t.run_policy(&data, None, &RunPolicy::default(), &mut rec).unwrap();
        assert!(out.stopped);
        // Polls 1-3 in epoch 1, then at its boundary (4), then after batch 1 of epoch 2 (5).
        assert_eq!((out.history.len(), t.epochs_done(), t.batches_done()), (1, 1, 1));
        assert_eq!(rec.checkpoints, [(1, 1, None)]);
        // Full-batch epochs: the poll at the boundary stops the run there.
        let (data, mut net, cfg) = setup(0.1, 5, 64);
        let mut rec = Recorder { stop_after: Some(1), ..Recorder::default() };
        let mut t = Trainer::new(&mut net, &data, cfg).unwrap();
        let out = t.run_policy(&data, None, &RunPolicy::default(), &mut rec).unwrap();
        assert!(out.stopped);
        assert_eq!((t.epochs_done(), t.batches_done()), (1, 0));
        assert_eq!(rec.checkpoints, [(1, 0, None)]);
    }

    #[test]
    fn halve_lr_retries_from_the_epochs_start_as_often_as_allowed_then_fails() {
        // Inputs so large that every forward pass overflows: every attempt diverges.
        let (mut data, mut net, cfg) = setup(0.1, 2, 16);
        data.features.iter_mut().for_each(|x| *x = 3e38);
        let start = net.params.clone();
        let mut rec = Recorder::default();
        let policy =
            RunPolicy { on_divergence: OnDivergence::HalveLr { max_retries: 2 }, ..RunPolicy::default() };
        let mut t = Trainer::new(&mut net, &data, cfg).unwrap();
        let err = t.run_policy(&data, None, &policy, &mut rec);
        assert_eq!(rec.retries, [0.05, 0.025]);
        assert!(matches!(err, Err(Error::Diverged { lr, .. }) if lr == 0.025), "{err:?}");
        assert_eq!((t.epochs_done(), t.batches_done()), (0, 0));
        drop(t);
        // A diverging batch updates nothing, and every attempt diverged in its first batch.
        assert_eq!(net.params, start);
        // A rollback that does not fit is refused, not a panic.
        let (data, mut net, cfg) = setup(0.1, 2, 16);
        let mut t = Trainer::new(&mut net, &data, cfg).unwrap();
        let bad = Rollback { params: vec![0.0; 3], state: t.state(), retries: 0 };
        let policy =
            RunPolicy { rollback: Some(bad), on_divergence: OnDivergence::HALVE_LR, ..RunPolicy::default() };
        assert!(matches!(t.run_policy(&data, None, &policy, &mut rec), Err(Error::Other(_))));
    }

    #[test]
    fn a_retry_restores_the_weights_and_state_of_the_epochs_start() {
        // Epoch 1 at a sane rate; epoch 2 at 1e38 diverges, and the first batch that a retry
        // gets through is stopped after: it must be exactly the batch a trainer restored to
        // the end of epoch 1 runs at the retry's rate.
        let (data, mut net, cfg) = setup(0.1, 1, 16);
        let mut t = Trainer::new(&mut net, &data, cfg.clone()).unwrap();
        t.run(&data, None, &mut Recorder::default()).unwrap();
        let state = t.state();
        drop(t);
        let after_one = net.params.clone();
        let mut reference = net.clone();

        /// Stops at the first poll after a retry; keeps the checkpoint's weights and rollback.
        struct Capture(Vec<f32>, Option<Rollback>, bool);
        impl Observer for Capture {
            fn stop_requested(&mut self) -> bool {
                self.2
            }
            fn retrying(&mut self, _: usize, _: usize, _: f32) {
                self.2 = true;
            }
            fn checkpoint(&mut self, t: &Trainer, rollback: Option<&Rollback>) -> Result<()> {
                (self.0, self.1) = (t.net().params.clone(), rollback.cloned());
                Ok(())
            }
        }
        let wild = TrainConfig { epochs: 2, lr: 1e38, ..cfg.clone() };
        let mut t = Trainer::new(&mut net, &data, wild).unwrap();
        t.restore(state.clone()).unwrap();
        let mut cap = Capture(Vec::new(), None, false);
        let policy = RunPolicy { on_divergence: OnDivergence::HALVE_LR, ..RunPolicy::default() };
        let out = t.run_policy(&data, None, &policy, &mut cap).unwrap();
        let lr = t.config().lr;
        assert!(out.stopped && lr < 1e38);
        assert_eq!((t.epochs_done(), t.batches_done()), (1, 1));
        drop(t);

        let mut r = Trainer::new(&mut reference, &data, TrainConfig { epochs: 2, lr, ..cfg }).unwrap();
        r.restore(state).unwrap();
        r.steps(&data, 1).unwrap();
        drop(r);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(&cap.0),
            bits(&reference.params),
            "the retried batch did not start from the epoch's start"
        );
        let rollback = cap.1.expect("a halve-lr run's checkpoint carries its rollback point");
        assert_eq!(bits(&rollback.params), bits(&after_one));
        assert!(rollback.retries >= 1);
    }
}
