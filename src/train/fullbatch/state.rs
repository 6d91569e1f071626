//! The state of a full-batch run between two iterations, everything its next iteration
//! reads: [`FullBatchState`] (iterations and evaluations so far, and the method's own state),
//! taken after an iteration for a checkpoint and given back to continue the run bit for bit.
//! Scratch buffers a method overwrites before reading (the line search's saved point, its new
//! gradient, the two-loop recursion's coefficients) are not part of it.

use super::FullBatchMethod;
use crate::error::{Error, Result};

/// A full-batch method's state after an iteration. Parameter-sized vectors are in the
/// network's flat layout ([`crate::network::Network::params`]).
#[derive(Clone, Debug, PartialEq)]
pub enum FullBatchMethodState {
    /// Conjugate gradient.
    Cg {
        /// The next search direction s.
        direction: Vec<f32>,
        /// ∇f at the current point.
        grad: Vec<f32>,
        /// f at the current point.
        loss: f64,
        /// Training rows classified correctly at the current point.
        correct: usize,
        /// The slope ∇f·s along the direction.
        slope: f64,
        /// The next line search's initial step.
        next_step: f64,
        /// Whether the last line search failed (a second failure in a row ends the run).
        failed: bool,
    },
    /// L-BFGS.
    Lbfgs {
        /// The stored steps sₖ = xₖ₊₁ − xₖ, oldest first (at most `memory`).
        steps: Vec<Vec<f32>>,
        /// The gradient changes yₖ = gₖ₊₁ − gₖ of the same steps.
        changes: Vec<Vec<f32>>,
        /// ρₖ = 1 / (yₖ·sₖ) of the same steps.
        rho: Vec<f64>,
        /// ∇f at the current point.
        grad: Vec<f32>,
        /// f at the current point.
        loss: f64,
        /// Training rows classified correctly at the current point.
        correct: usize,
        /// Whether the last line search failed.
        failed: bool,
    },
    /// iRprop−.
    Rprop {
        /// Every parameter's step size Δ.
        delta: Vec<f32>,
        /// Every parameter's previous gradient (0 after a sign change: its sign is forgotten).
        prev: Vec<f32>,
    },
}

/// Where a full-batch run stands after an iteration: what [`super::train_full_batch_from`]
/// needs to continue it exactly as if it had not stopped.
#[derive(Clone, Debug, PartialEq)]
pub struct FullBatchState {
    /// Iterations completed.
    pub iterations: usize,
    /// Objective and gradient evaluations over the whole training set so far.
    pub evaluations: usize,
    /// The method's state.
    pub method: FullBatchMethodState,
}

impl FullBatchMethodState {
    /// The method's name, as in [`FullBatchMethod`]'s field names (`cg`, `lbfgs`, `rprop`).
    pub fn name(&self) -> &'static str {
        match self {
            FullBatchMethodState::Cg { .. } => "cg",
            FullBatchMethodState::Lbfgs { .. } => "lbfgs",
            FullBatchMethodState::Rprop { .. } => "rprop",
        }
    }

    /// The parameter-sized vectors, named.
    pub(crate) fn vectors(&self) -> Vec<(&'static str, &[f32])> {
        match self {
            FullBatchMethodState::Cg { direction, grad, .. } => {
                vec![("direction", direction), ("grad", grad)]
            }
            FullBatchMethodState::Lbfgs { steps, changes, grad, .. } => {
                let mut v: Vec<(&str, &[f32])> = vec![("grad", grad)];
                v.extend(steps.iter().map(|s| ("steps", s.as_slice())));
                v.extend(changes.iter().map(|y| ("changes", y.as_slice())));
                v
            }
            FullBatchMethodState::Rprop { delta, prev } => vec![("delta", delta), ("prev", prev)],
        }
    }
}

impl FullBatchState {
    /// Checks that the state is of `method` and that its vectors have `n_params` values.
    pub fn check(&self, method: FullBatchMethod, n_params: usize) -> Result<()> {
        let ours = match method {
            FullBatchMethod::Cg => "cg",
            FullBatchMethod::Lbfgs { .. } => "lbfgs",
            FullBatchMethod::Rprop => "rprop",
        };
        if self.method.name() != ours {
            return Err(Error::config(format!(
                "the full-batch state is of the method {}, the configuration's is {ours}",
                self.method.name()
            )));
        }
        if let (FullBatchMethodState::Lbfgs { steps, changes, rho, .. }, FullBatchMethod::Lbfgs { memory }) =
            (&self.method, method)
        {
            if steps.len() != changes.len() || steps.len() != rho.len() {
                return Err(Error::config(format!(
                    "the full-batch state has {} steps, {} changes and {} rho: they must be pairs",
                    steps.len(),
                    changes.len(),
                    rho.len()
                )));
            }
            if steps.len() > memory.max(1) {
                return Err(Error::config(format!(
                    "the full-batch state holds {} step pairs, more than `lbfgs_memory` {memory}",
                    steps.len()
                )));
            }
        }
        match self.method.vectors().into_iter().find(|(_, v)| v.len() != n_params) {
            Some((name, v)) => Err(Error::config(format!(
                "the full-batch state's {name} vector has {} values for a network of {n_params} parameters",
                v.len()
            ))),
            None => Ok(()),
        }
    }
}
