//! Stopping rules checked by the run policy after every epoch, and why a run stopped:
//! - `target_loss` E: the epoch's training loss fell below E (FANN's desired error);
//! - `min_change` D: the largest absolute change of any parameter over the epoch is below D;
//! - early stopping (Keras' `EarlyStopping` with `min_delta` 0): the held-out loss (or
//!   accuracy) has not improved on its best for `patience` epochs in a row; with
//!   `restore_best` the best epoch's weights are the run's result (whether the rule stopped
//!   the run or its epochs ran out).
//!
//! Rules are checked in that order after each epoch; the first that holds stops the run.

use crate::error::{Error, Result, count};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What early stopping watches on the held-out data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Monitor {
    /// The held-out loss (lower is better).
    #[default]
    Loss,
    /// The held-out accuracy (higher is better; classifiers only).
    Accuracy,
}

impl fmt::Display for Monitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Monitor::Loss => "loss",
            Monitor::Accuracy => "accuracy",
        })
    }
}

/// Early stopping on the held-out data.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    /// Epochs without a new best before the run stops (`patience`), at least 1.
    pub patience: usize,
    /// What is watched.
    pub monitor: Monitor,
    /// Make the best epoch's weights the result.
    pub restore_best: bool,
}

/// The stopping rules of a run besides its epoch count (none by default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StopRules {
    /// Stop when an epoch's training loss is below this.
    pub target_loss: Option<f64>,
    /// Stop when no parameter changed by this much or more over an epoch.
    pub min_change: Option<f32>,
    /// Stop when the held-out figure stops improving.
    pub early_stopping: Option<EarlyStopping>,
}

impl StopRules {
    /// Checks the ranges; the message names the field.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::config(m));
        if let Some(t) = self.target_loss.filter(|t| !(t.is_finite() && *t > 0.0)) {
            return bad(format!("`target_loss` must be a positive number, got {t}"));
        }
        if let Some(d) = self.min_change.filter(|d| !(d.is_finite() && *d > 0.0)) {
            return bad(format!("`min_change` must be a positive number, got {d}"));
        }
        if self.early_stopping.is_some_and(|e| e.patience == 0) {
            return bad("`patience` must be at least 1".into());
        }
        Ok(())
    }
}

/// The state of early stopping: the best epoch so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EarlyState {
    /// The best held-out figure so far (none before the first epoch).
    pub best: Option<f64>,
    /// The epoch that reached it (0: none yet).
    pub best_epoch: usize,
    /// Epochs since it.
    pub bad_epochs: usize,
}

impl EarlyState {
    /// Records an epoch's held-out figure; true when it is a new best.
    pub fn observe(&mut self, monitor: Monitor, epoch: usize, value: f64) -> bool {
        let better = match (self.best, monitor) {
            (None, _) => true,
            (Some(b), Monitor::Loss) => value < b,
            (Some(b), Monitor::Accuracy) => value > b,
        };
        if better {
            *self = EarlyState { best: Some(value), best_epoch: epoch, bad_epochs: 0 };
        } else {
            self.bad_epochs += 1;
        }
        better
    }
}

/// Why a run ended (besides an interruption or an error).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "kebab-case")]
pub enum StopReason {
    /// The configured epochs are done.
    EpochsDone {
        /// Epochs done.
        epochs: usize,
    },
    /// The training loss fell below the target.
    TargetLoss {
        /// The epoch it happened in.
        epoch: usize,
        /// The epoch's training loss.
        loss: f64,
        /// The target.
        target: f64,
    },
    /// No parameter changed by `min_change` or more over an epoch.
    MinChange {
        /// The epoch.
        epoch: usize,
        /// The largest absolute change of a parameter over it.
        change: f32,
        /// The threshold.
        min_change: f32,
    },
    /// The held-out figure did not improve for `patience` epochs.
    EarlyStopping {
        /// The epoch after which the run stopped.
        epoch: usize,
        /// The best epoch.
        best_epoch: usize,
        /// Its held-out figure.
        best: f64,
        /// What was watched.
        monitor: Monitor,
        /// Whether the best epoch's weights are the result.
        restored: bool,
    },
    /// A full-batch run did its `max_iter` iterations.
    IterationsDone {
        /// Iterations done.
        iterations: usize,
        /// Evaluations of the loss and gradient over the whole set.
        evaluations: usize,
    },
    /// A full-batch run found no further progress: two line searches in a row failed, or the
    /// loss became non-finite (rprop).
    NoProgress {
        /// Iterations done.
        iterations: usize,
        /// Evaluations of the loss and gradient over the whole set.
        evaluations: usize,
    },
}

impl StopReason {
    /// The rule's name: `epochs`, `target-loss`, `min-change`, `early-stopping`, `max-iter` or
    /// `no-progress`.
    pub fn rule(&self) -> &'static str {
        match self {
            StopReason::EpochsDone { .. } => "epochs",
            StopReason::TargetLoss { .. } => "target-loss",
            StopReason::MinChange { .. } => "min-change",
            StopReason::EarlyStopping { .. } => "early-stopping",
            StopReason::IterationsDone { .. } => "max-iter",
            StopReason::NoProgress { .. } => "no-progress",
        }
    }

    /// The epoch (a full-batch run: the iteration) the run stopped after.
    pub fn epoch(&self) -> usize {
        match *self {
            StopReason::EpochsDone { epochs: epoch }
            | StopReason::TargetLoss { epoch, .. }
            | StopReason::MinChange { epoch, .. }
            | StopReason::EarlyStopping { epoch, .. }
            | StopReason::IterationsDone { iterations: epoch, .. }
            | StopReason::NoProgress { iterations: epoch, .. } => epoch,
        }
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            StopReason::EpochsDone { epochs: 1 } => write!(f, "1 epoch done"),
            StopReason::EpochsDone { epochs } => write!(f, "all {epochs} epochs done"),
            StopReason::TargetLoss { epoch, loss, target } => {
                write!(f, "target loss reached at epoch {epoch}: training loss {loss:.6} < {target}")
            }
            StopReason::MinChange { epoch, change, min_change } => write!(
                f,
                "min change reached at epoch {epoch}: largest weight change {change:.3e} < {min_change}"
            ),
            StopReason::EarlyStopping { epoch, best_epoch, best, monitor, restored } => write!(
                f,
                "early stopping at epoch {epoch}, best epoch {best_epoch} (held-out {monitor} {best:.6}){}",
                if restored { ", its weights restored" } else { "" }
            ),
            StopReason::IterationsDone { iterations, evaluations } => {
                let all = if iterations == 1 { "" } else { "all " };
                let (iterations, evaluations) =
                    (count(iterations, "iteration"), count(evaluations, "evaluation"));
                write!(f, "{all}{iterations} done ({evaluations})")
            }
            StopReason::NoProgress { iterations, evaluations } => write!(
                f,
                "no further progress after {} ({}): two line searches in a row failed, or the loss \
                 became non-finite",
                count(iterations, "iteration"),
                count(evaluations, "evaluation")
            ),
        }
    }
}
