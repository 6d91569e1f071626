//! The state of a run's schedule and stopping rules ([`RunState`]), kept by the [`Trainer`]
//! beside its own, checkpointed with it, and the steps the run policy takes with it at each
//! epoch's start (the epoch's rate, the weights a `min_change` rule compares with) and end
//! (the plateau's and early stopping's bookkeeping, the rules' verdict).

use super::schedule::{PlateauState, Schedule};
use super::stopping::{EarlyState, Monitor, StopReason, StopRules};
use super::{EpochMetrics, RunPolicy, Trainer};
use crate::data::{Dataset, Targets};
use crate::error::{Error, Result};

/// Everything about a run's schedule and stopping rules that a resumed run needs to continue
/// bit for bit: their settings, the base learning rate, their state, and the weights they
/// keep. [`Trainer::run_state`] gives it for a checkpoint, [`Trainer::restore_run_state`]
/// takes it back.
#[derive(Clone, Debug, PartialEq)]
pub struct RunState {
    /// The schedule in effect.
    pub schedule: Schedule,
    /// The stopping rules in effect.
    pub stop_rules: StopRules,
    /// The base learning rate η the schedule starts from (a halve-lr retry halves it).
    pub base_lr: f32,
    /// The plateau schedule's state.
    pub plateau: PlateauState,
    /// Early stopping's state.
    pub early: EarlyState,
    /// With `restore_best`: the best epoch's parameters (the network's flat layout);
    /// empty otherwise.
    pub best_params: Vec<f32>,
    /// With `min_change`: the parameters at the start of the current epoch; empty otherwise.
    pub epoch_start_params: Vec<f32>,
    /// The rule that stopped the run, once one has (a resumed run that a rule stopped stays
    /// stopped, whatever its epoch count).
    pub stopped: Option<StopReason>,
}

impl RunState {
    /// The state of a run that has not begun, with base learning rate `lr`, a constant rate
    /// and no stopping rule.
    pub fn new(lr: f32) -> Self {
        RunState {
            schedule: Schedule::Constant,
            stop_rules: StopRules::default(),
            base_lr: lr,
            plateau: PlateauState::default(),
            early: EarlyState::default(),
            best_params: Vec::new(),
            epoch_start_params: Vec::new(),
            stopped: None,
        }
    }

    /// Whether the best epoch's weights are kept.
    pub fn keeps_best(&self) -> bool {
        self.stop_rules.early_stopping.is_some_and(|e| e.restore_best)
    }
}

impl Trainer<'_> {
    /// The schedule's and stopping rules' state, to checkpoint with [`Trainer::state`].
    pub fn run_state(&self) -> &RunState {
        &self.run
    }

    /// Continues with a checkpointed schedule and stopping-rule state.
    pub fn restore_run_state(&mut self, s: RunState) -> Result<()> {
        let n = self.net.params.len();
        if [&s.best_params, &s.epoch_start_params].iter().any(|v| !v.is_empty() && v.len() != n) {
            return Err(Error::other(format!(
                "the checkpoint's schedule and stopping-rule state does not fit this network of {n} parameters"
            )));
        }
        self.run = s;
        Ok(())
    }

    /// Takes `policy`'s schedule and rules, checks them against the data, and sizes the
    /// buffers they keep (once per run, outside the batch loop).
    pub(super) fn begin_run(
        &mut self,
        policy: &RunPolicy,
        data: &Dataset,
        test: Option<&Dataset>,
    ) -> Result<()> {
        policy.schedule.validate(self.run.base_lr)?;
        policy.stop_rules.validate()?;
        if let Some(e) = policy.stop_rules.early_stopping {
            let Some(test) = test else {
                return Err(Error::config("`early_stopping` needs held-out data to watch".to_string()));
            };
            let classes = |d: &Dataset| matches!(d.targets, Targets::Classes { .. });
            if e.monitor == Monitor::Accuracy && !(classes(data) && classes(test)) {
                return Err(Error::config(
                    "`monitor` accuracy needs a classifier; watch the loss instead".to_string(),
                ));
            }
        }
        self.run.schedule = policy.schedule;
        self.run.stop_rules = policy.stop_rules;
        let n = self.net.params.len();
        for (on, v) in [
            (self.run.keeps_best(), &mut self.run.best_params),
            (policy.stop_rules.min_change.is_some(), &mut self.run.epoch_start_params),
        ] {
            if !on {
                v.clear();
            } else if v.len() != n {
                *v = self.net.params.clone();
            }
        }
        Ok(())
    }

    /// At an epoch's start: its rate from the schedule, and the weights `min_change`
    /// compares with.
    pub(super) fn start_epoch(&mut self) {
        let r = &mut self.run;
        self.cfg.lr = r.schedule.rate(r.base_lr, self.epoch + 1, self.cfg.epochs, r.plateau.reductions);
        if !r.epoch_start_params.is_empty() {
            r.epoch_start_params.copy_from_slice(&self.net.params);
        }
    }

    /// After an epoch: the plateau's and early stopping's bookkeeping, then the rules in
    /// order; the first that holds is recorded and returned.
    pub(super) fn end_epoch(&mut self, m: &EpochMetrics) -> Option<StopReason> {
        let r = &mut self.run;
        r.plateau.observe(&r.schedule, m.test_loss.unwrap_or(m.loss));
        let rules = r.stop_rules;
        let mut reason = None;
        if let Some(target) = rules.target_loss.filter(|&t| m.loss < t) {
            reason = Some(StopReason::TargetLoss { epoch: m.epoch, loss: m.loss, target });
        }
        if let Some(min_change) = rules.min_change.filter(|_| reason.is_none()) {
            let change = self
                .net
                .params
                .iter()
                .zip(&r.epoch_start_params)
                .fold(0.0f32, |max, (a, b)| max.max((a - b).abs()));
            if change < min_change {
                reason = Some(StopReason::MinChange { epoch: m.epoch, change, min_change });
            }
        }
        if let Some(e) = rules.early_stopping {
            let value = match e.monitor {
                Monitor::Loss => m.test_loss,
                Monitor::Accuracy => m.test_acc,
            };
            if let Some(v) = value
                && r.early.observe(e.monitor, m.epoch, v)
                && e.restore_best
            {
                r.best_params.copy_from_slice(&self.net.params);
            }
            if reason.is_none() && r.early.bad_epochs >= e.patience {
                let (best_epoch, best) = (r.early.best_epoch, r.early.best.unwrap_or(f64::NAN));
                let restored = e.restore_best;
                reason = Some(StopReason::EarlyStopping {
                    epoch: m.epoch,
                    best_epoch,
                    best,
                    monitor: e.monitor,
                    restored,
                });
            }
        }
        r.stopped = reason;
        reason
    }

    /// At the run's end: with `restore_best`, the best epoch's weights become the network's.
    pub(super) fn finish_run(&mut self) {
        if self.run.keeps_best() && self.run.early.best_epoch > 0 {
            self.net.params.copy_from_slice(&self.run.best_params);
        }
    }
}
