//! What watches a fit from Python: Ctrl-C (Python's signal handlers, polled at most every
//! 100 ms from the thread that called `fit`, so a run stops after the current mini-batch),
//! scikit-learn's convergence rule on the training loss, and with `verbose` the command
//! line's epoch lines on Python's `sys.stderr` (where a notebook shows them).

use crate::settings::LossRule;
use bp_par::train::{EpochMetrics, Observer, StopReason};
use pyo3::prelude::*;
use std::time::{Duration, Instant};

/// Under `learning_rate` adaptive, the rate at which a run has converged (scikit-learn's).
const ADAPTIVE_FLOOR: f32 = 1e-6;

/// The longest time between two looks at Python's signal handlers.
const POLL: Duration = Duration::from_millis(100);

/// A fit's observer.
pub struct Watch {
    /// The epochs of the run, when the epoch lines are shown.
    verbose: Option<usize>,
    rule: Option<LossRule>,
    /// A full-batch solver's budget of loss evaluations, and the iteration that spent it.
    max_fun: Option<usize>,
    budget_spent: Option<(usize, usize)>,
    /// The lowest training loss so far, and the epochs since it fell by `tol`.
    best: f64,
    bad_epochs: usize,
    /// The epoch at which the convergence rule stopped the run.
    converged_at: Option<usize>,
    /// The rate of the last epoch, when the adaptive rule stopped the run.
    final_lr: f32,
    interrupted: bool,
    last_poll: Instant,
}

impl Watch {
    pub fn new(verbose: Option<usize>, rule: Option<LossRule>, max_fun: Option<usize>) -> Watch {
        Watch {
            verbose,
            rule,
            max_fun,
            budget_spent: None,
            best: f64::INFINITY,
            bad_epochs: 0,
            converged_at: None,
            final_lr: 0.0,
            interrupted: false,
            last_poll: Instant::now(),
        }
    }

    /// Whether the training-loss rule stopped the run.
    pub fn converged(&self) -> bool {
        self.converged_at.is_some()
    }

    /// Why the training-loss rule stopped the run, in words.
    pub fn convergence_message(&self) -> String {
        if self.rule.is_some_and(|r| r.adaptive) {
            return format!(
                "the learning rate fell to {:e} after epoch {} (learning_rate='adaptive' divides it by 5 \
                 whenever the loss stalls and stops at 1e-6)",
                self.final_lr,
                self.converged_at.unwrap_or(0)
            );
        }
        let (tol, patience) = self.rule.map_or((0.0, 0), |r| (r.tol, r.patience));
        format!(
            "the training loss did not improve by more than tol={tol} for {} consecutive epochs \
             (stopped after epoch {})",
            patience + 1,
            self.converged_at.unwrap_or(0)
        )
    }

    /// Why the evaluation budget stopped a full-batch run, if it did.
    pub fn budget_message(&self) -> Option<String> {
        self.budget_spent.map(|(iteration, evaluations)| {
            format!(
                "max_fun={} loss evaluations reached ({evaluations} after iteration {iteration})",
                self.max_fun.unwrap_or(0)
            )
        })
    }

    /// Whether Ctrl-C stopped the run.
    pub fn interrupted(&self) -> bool {
        self.interrupted
    }

    /// Writes a line to Python's `sys.stderr`.
    fn say(line: &str) {
        Python::attach(|py| {
            if let Ok(err) = py.import("sys").and_then(|sys| sys.getattr("stderr")) {
                // (A closed or missing stderr drops the line; the run goes on.)
                let _ = err.call_method1("write", (format!("{line}\n"),));
                let _ = err.call_method0("flush");
            }
        });
    }
}

impl Observer for Watch {
    fn epoch_end(&mut self, m: &EpochMetrics) {
        if let Some(epochs) = self.verbose {
            let pct = |a: Option<f64>| a.map_or_else(|| "-".to_string(), |a| format!("{:.2}%", 100.0 * a));
            let mut line = format!("epoch {:>3}/{epochs} loss {:.4}", m.epoch, m.loss);
            if m.train_acc.is_some() {
                line += &format!(" acc {}", pct(m.train_acc));
            }
            if let Some(tl) = m.test_loss {
                line += &format!(" | val loss {tl:.4}");
                if m.test_acc.is_some() {
                    line += &format!(" acc {}", pct(m.test_acc));
                }
            }
            line += &format!(" | {:.2}s {:.0} samples/s", m.seconds, m.samples_per_s);
            Watch::say(&line);
        }
        if self.rule.is_some_and(|r| r.adaptive) {
            if m.lr <= ADAPTIVE_FLOOR {
                self.converged_at = Some(m.epoch);
                self.final_lr = m.lr;
            }
        } else if let Some(rule) = self.rule {
            // scikit-learn's `_update_no_improvement_count` (without early stopping).
            if m.loss > self.best - rule.tol {
                self.bad_epochs += 1;
            } else {
                self.bad_epochs = 0;
            }
            self.best = self.best.min(m.loss);
            if self.bad_epochs > rule.patience {
                self.converged_at = Some(m.epoch);
                if self.verbose.is_some() {
                    Watch::say(&format!("bp-par: stopped: {}", self.convergence_message()));
                }
            }
        }
    }

    fn iteration_end(&mut self, iteration: usize, _loss: f64, evaluations: usize) {
        if self.max_fun.is_some_and(|m| evaluations >= m) && self.budget_spent.is_none() {
            self.budget_spent = Some((iteration, evaluations));
        }
    }

    fn stop_requested(&mut self) -> bool {
        if self.converged_at.is_some() || self.budget_spent.is_some() || self.interrupted {
            return true;
        }
        if self.last_poll.elapsed() >= POLL {
            self.last_poll = Instant::now();
            // (Python runs its handlers on the main thread only; elsewhere this finds none.)
            self.interrupted = Python::attach(|py| py.check_signals().is_err());
        }
        self.interrupted
    }

    fn stopped(&mut self, reason: &StopReason) {
        if self.verbose.is_some() {
            Watch::say(&format!("bp-par: stopped: {reason}"));
        }
    }
}
