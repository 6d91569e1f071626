//! Learning-rate schedules: the rate of each epoch, computed from the run's base rate η
//! (`lr`) at the epoch's start by the run policy ([`super::Trainer::run_policy`]).
//!
//! | schedule | rate of epoch e (1-based) of a run of E epochs |
//! |---|---|
//! | constant | η |
//! | step | η·G^⌊(e−1)/N⌋ |
//! | inv-scaling | η / e^T (scikit-learn's `invscaling`, counted in epochs) |
//! | cosine | m + (η − m)·(1 + cos(π·(e−1)/(E−1)))/2: η in the first epoch, m in the last |
//! | plateau | η·F^k, k the reductions so far (Keras' `ReduceLROnPlateau`) |
//!
//! Every rate is computed in f64 from the base rate and the epoch alone (and, for plateau,
//! the count of reductions), then rounded to f32 once, so no rounding accumulates and a
//! resumed run computes the same rates. A halve-lr retry of a diverged epoch halves the base
//! rate η, and the epoch's rate is computed again from it: a schedule keeps its shape at half
//! the height.
//!
//! ```
//! use bp_par::train::Schedule;
//! let step = Schedule::Step { every: 2, gamma: 0.5 };
//! let rates: Vec<f32> = (1..=5).map(|e| step.rate(0.8, e, 5, 0)).collect();
//! assert_eq!(rates, [0.8, 0.8, 0.4, 0.4, 0.2]);
//! ```

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// How the learning rate changes from epoch to epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Schedule {
    /// The base rate every epoch.
    #[default]
    Constant,
    /// Multiply by `gamma` every `every` epochs.
    Step {
        /// Epochs between reductions (`lr_step`), at least 1.
        every: usize,
        /// The factor (`lr_gamma`), in (0, 1].
        gamma: f32,
    },
    /// Divide the base rate by e^`power`.
    InvScaling {
        /// The exponent T (`lr_power`), non-negative.
        power: f32,
    },
    /// Half a cosine from the base rate down to `min` over the run's epochs.
    Cosine {
        /// The rate of the last epoch (`lr_min`), in [0, η].
        min: f32,
    },
    /// Multiply by `factor` when the monitored loss (held-out if any, else training) has not
    /// improved for `patience` epochs in a row; the count of bad epochs then starts again.
    /// An epoch improves when its loss is strictly below the best so far. This is Keras'
    /// rule with `min_delta` 0 and no cooldown; PyTorch's patience P reduces one epoch
    /// later, as this patience P + 1 does.
    Plateau {
        /// Epochs without improvement before a reduction (`lr_patience`), at least 1.
        patience: usize,
        /// The factor (`lr_factor`), in (0, 1).
        factor: f32,
    },
}

/// The state of a plateau schedule: what it has seen so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PlateauState {
    /// The lowest monitored loss so far (none before the first epoch).
    pub best: Option<f64>,
    /// Epochs since the last improvement or reduction.
    pub bad_epochs: usize,
    /// Reductions so far: the rate is η·F^reductions.
    pub reductions: u32,
}

impl Schedule {
    /// The schedule after a halve-lr retry halved the base rate: cosine's floor halves with
    /// it, so the curve keeps its shape at half the height; the others scale with the base.
    pub fn halved(self) -> Schedule {
        match self {
            Schedule::Cosine { min } => Schedule::Cosine { min: min / 2.0 },
            other => other,
        }
    }

    /// The schedule's name on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Schedule::Constant => "constant",
            Schedule::Step { .. } => "step",
            Schedule::InvScaling { .. } => "inv-scaling",
            Schedule::Cosine { .. } => "cosine",
            Schedule::Plateau { .. } => "plateau",
        }
    }

    /// Checks the parameters' ranges (`lr` is the base rate); the message names the field.
    pub fn validate(&self, lr: f32) -> Result<()> {
        let bad = |m: String| Err(Error::config(m));
        match *self {
            Schedule::Constant => Ok(()),
            Schedule::Step { every: 0, .. } => bad("`lr_step` must be at least 1".into()),
            Schedule::Step { gamma, .. } if !(gamma > 0.0 && gamma <= 1.0) => {
                bad(format!("`lr_gamma` must be in (0, 1], got {gamma}"))
            }
            Schedule::InvScaling { power } if !(power.is_finite() && power >= 0.0) => {
                bad(format!("`lr_power` must be a non-negative number, got {power}"))
            }
            Schedule::Cosine { min } if !(min >= 0.0 && min <= lr) => {
                bad(format!("`lr_min` must be in [0, `lr`] = [0, {lr}], got {min}"))
            }
            Schedule::Plateau { patience: 0, .. } => bad("`lr_patience` must be at least 1".into()),
            Schedule::Plateau { factor, .. } if !(factor > 0.0 && factor < 1.0) => {
                bad(format!("`lr_factor` must be in (0, 1), got {factor}"))
            }
            _ => Ok(()),
        }
    }

    /// The rate of epoch `epoch` (1-based) of a run of `epochs` epochs from the base rate
    /// `lr`, after `reductions` plateau reductions (ignored by the other schedules).
    pub fn rate(&self, lr: f32, epoch: usize, epochs: usize, reductions: u32) -> f32 {
        let (lr, e) = (f64::from(lr), epoch.max(1));
        let rate = match *self {
            Schedule::Constant => lr,
            Schedule::Step { every, gamma } => {
                let k = i32::try_from((e - 1) / every.max(1)).unwrap_or(i32::MAX);
                lr * f64::from(gamma).powi(k)
            }
            Schedule::InvScaling { power } => lr / (e as f64).powf(f64::from(power)),
            Schedule::Cosine { min } => {
                let t = if epochs > 1 { (e - 1).min(epochs - 1) as f64 / (epochs - 1) as f64 } else { 0.0 };
                let min = f64::from(min);
                min + (lr - min) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
            }
            Schedule::Plateau { factor, .. } => {
                lr * f64::from(factor).powi(i32::try_from(reductions).unwrap_or(i32::MAX))
            }
        };
        rate as f32
    }
}

impl PlateauState {
    /// Records an epoch's monitored loss under `schedule` (only a plateau schedule reacts):
    /// a new best resets the count of bad epochs; `patience` bad epochs in a row make one
    /// reduction and start the count again.
    pub fn observe(&mut self, schedule: &Schedule, loss: f64) {
        let Schedule::Plateau { patience, .. } = *schedule else { return };
        if self.best.is_none_or(|b| loss < b) {
            self.best = Some(loss);
            self.bad_epochs = 0;
            return;
        }
        self.bad_epochs += 1;
        if self.bad_epochs >= patience {
            self.reductions += 1;
            self.bad_epochs = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_halved_schedule_runs_at_half_the_rate_in_every_epoch() {
        let schedules = [
            Schedule::Constant,
            Schedule::Step { every: 2, gamma: 0.5 },
            Schedule::InvScaling { power: 0.5 },
            Schedule::Cosine { min: 0.01 },
            Schedule::Plateau { patience: 2, factor: 0.5 },
        ];
        for s in schedules {
            for epoch in 1..=10 {
                let full = f64::from(s.rate(0.4, epoch, 10, 1));
                let half = f64::from(s.halved().rate(0.2, epoch, 10, 1));
                assert!((half - full / 2.0).abs() <= 1e-7 * full, "{s:?} epoch {epoch}: {half} vs {full}");
            }
        }
        // Unchanged, cosine would climb back to its floor above the halved base.
        let cosine = Schedule::Cosine { min: 0.3 };
        assert!(cosine.rate(0.2, 10, 10, 0) > 0.2 && cosine.halved().rate(0.2, 10, 10, 0) <= 0.2);
    }
}
