//! Full-batch training: every iteration sees the whole training set. The objective (mean
//! loss plus (λ/2n)·ΣW², and its gradient) is computed data-parallel over fixed shards and
//! summed in the trainer's fixed tree, so it is bit-identical for any number of threads; the
//! methods are those that need the exact gradient of the whole set:
//! - [`FullBatchMethod::Cg`]: Polak-Ribière conjugate gradient with the Wolfe-Powell line
//!   search of Rasmussen's `minimize` / `fmincg` (the optimiser of Ng's ex4);
//! - [`FullBatchMethod::Lbfgs`]: limited-memory BFGS with the same line search;
//! - [`FullBatchMethod::Rprop`]: iRprop− (FANN's default), one step per iteration.
//!
//! Each iteration is reported to the [`Observer`] as an epoch (`epoch` = iteration,
//! [`EpochMetrics::lr`] = 0) and through [`Observer::iteration_end`] with the evaluations
//! so far. The run stops after `max_iter` iterations, when a line search fails twice in a
//! row, or when the observer asks.
//!
//! [`train_full_batch_from`] checkpoints and resumes: it hands the observer the run's
//! [`FullBatchState`] ([`Observer::full_batch_checkpoint`]) every `checkpoint_every`
//! iterations and after the last, and always when the observer stopped the run; given such a
//! state back, it continues the run bit for bit as if it had not stopped.
//!
//! ```
//! use bp_par::{activation::Activation, loss::Loss, network::{Arch, Network}};
//! use bp_par::data::Dataset;
//! use bp_par::train::{FullBatchConfig, FullBatchMethod, Silent, train_full_batch};
//! let data = Dataset::classes(&[0f32, 0., 0., 1., 1., 0., 1., 1.], 2, &[0, 1, 1, 0], None).unwrap();
//! let mut net = Network::init(Arch::new(vec![2, 8, 2], Activation::Tanh, Loss::Xent).unwrap(), 3);
//! let cfg = FullBatchConfig { method: FullBatchMethod::Cg, max_iter: 100, ..FullBatchConfig::default() };
//! let out = train_full_batch(&mut net, &data, None, &cfg, &mut Silent).unwrap();
//! assert!(out.history.last().unwrap().loss < 0.05);
//! ```

mod cg;
mod lbfgs;
mod linesearch;
mod objective;
mod rprop;
mod state;

use super::{DEFAULT_SHARD, EpochMetrics, Observer, check_fit};
use crate::data::{Dataset, Targets};
use crate::error::{Error, Result};
use crate::infer::{Evaluation, evaluate};
use crate::network::Network;
use objective::{Eval, FullGradient, Objective};
#[cfg(test)]
pub(super) use objective::{FullGradient as TestGradient, Objective as TestObjective};
use std::time::Instant;

pub use rprop::{DELTA_0, DELTA_MAX, DELTA_MIN, ETA_MINUS, ETA_PLUS};
pub use state::{FullBatchMethodState, FullBatchState};

/// A full-batch optimiser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FullBatchMethod {
    /// Polak-Ribière conjugate gradient with a Wolfe-Powell line search (as `fmincg`).
    Cg,
    /// L-BFGS keeping the last `memory` step pairs, with the same line search.
    Lbfgs {
        /// Step pairs kept (m).
        memory: usize,
    },
    /// iRprop−: per-parameter step sizes from gradient signs, one step per iteration.
    Rprop,
}

/// The settings of a full-batch run.
#[derive(Clone, Debug, PartialEq)]
pub struct FullBatchConfig {
    /// The method.
    pub method: FullBatchMethod,
    /// Iterations (line searches for cg and lbfgs, steps for rprop).
    pub max_iter: usize,
    /// λ of the L2 term (λ/2n)·ΣW², n = training-set size; weights only.
    pub l2: f32,
    /// Rows per shard of the gradient: fixes the arithmetic, not the threads.
    pub shard: usize,
    /// Each class's weight on its rows' loss and gradient (None: unweighted); see
    /// [`TrainConfig::class_weight`](super::TrainConfig::class_weight).
    pub class_weight: Option<Vec<f32>>,
}

impl Default for FullBatchConfig {
    fn default() -> Self {
        FullBatchConfig {
            method: FullBatchMethod::Cg,
            max_iter: 100,
            l2: 0.0,
            shard: DEFAULT_SHARD,
            class_weight: None,
        }
    }
}

impl FullBatchConfig {
    /// Checks every setting's range; the message names the field in backticks.
    pub fn validate(&self) -> Result<()> {
        if self.max_iter == 0 {
            return Err(Error::config("`max_iter` must be at least 1"));
        }
        if let FullBatchMethod::Lbfgs { memory: 0 } = self.method {
            return Err(Error::config("`lbfgs_memory` must be at least 1"));
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return Err(Error::config(format!("`l2` must be a non-negative number, got {}", self.l2)));
        }
        if self.shard == 0 {
            return Err(Error::config("`shard` must be at least 1"));
        }
        if let Some(w) = &self.class_weight {
            super::class_weight::validate(w)?;
        }
        Ok(())
    }
}

/// Why a full-batch run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FullBatchStop {
    /// `max_iter` iterations done.
    MaxIter,
    /// Two line searches in a row failed (no further progress along any direction tried), or
    /// the loss became non-finite (rprop).
    NoProgress,
    /// [`Observer::stop_requested`].
    Requested,
}

/// The result of [`train_full_batch`].
#[derive(Clone, Debug, PartialEq)]
pub struct FullBatchOutcome {
    /// One entry per iteration completed.
    pub history: Vec<EpochMetrics>,
    /// Why the run stopped.
    pub stop: FullBatchStop,
    /// Objective and gradient evaluations over the whole training set.
    pub evaluations: usize,
}

/// One iteration of a method: x moves, the method keeps its own state.
trait Method {
    /// The objective at the current point.
    fn current(&self) -> Eval;
    /// One iteration from `x`; false when the method can make no further progress.
    fn iterate(&mut self, obj: &mut dyn Objective, x: &mut [f32]) -> bool;
    /// The state the next iteration reads (a copy).
    fn state(&self) -> FullBatchMethodState;
}

/// Trains `net` on the whole of `data` with `cfg`, evaluating `test` after each iteration
/// when given. The team that computes the gradient has one thread per core
/// ([`crate::Threads::all`]; [`train_full_batch_from`] takes a count). The network ends at the
/// last accepted point.
pub fn train_full_batch(
    net: &mut Network<f32>,
    data: &Dataset,
    test: Option<&Dataset>,
    cfg: &FullBatchConfig,
    observer: &mut dyn Observer,
) -> Result<FullBatchOutcome> {
    train_full_batch_from(net, data, test, cfg, None, None, observer, crate::Threads::all())
}

/// [`train_full_batch`] on a team of exactly `team_size` threads (the results are the same
/// for every size).
pub fn train_full_batch_on(
    net: &mut Network<f32>,
    data: &Dataset,
    test: Option<&Dataset>,
    cfg: &FullBatchConfig,
    observer: &mut dyn Observer,
    team_size: usize,
) -> Result<FullBatchOutcome> {
    let run = Resumable { start: None, checkpoint_every: None };
    run_full_batch(net, data, test, cfg, run, observer, team_size)
}

/// [`train_full_batch`], checkpointed and resumable. With `start` (a checkpoint's state,
/// taken at `net`'s parameters) the run continues after `start.iterations` iterations, up to
/// `cfg.max_iter` in all, exactly as the run that wrote it would have. With
/// `checkpoint_every` = N the observer's [`Observer::full_batch_checkpoint`] is called after
/// every N-th iteration and after the last (also when the run ends without progress); it is
/// called whenever [`Observer::stop_requested`] stops the run. The outcome's history holds
/// this call's iterations. The gradient is computed on a team of `threads` (up to one per
/// core); the results are the same for every count.
///
/// # Errors
/// [`Error::Config`] for a state of another method or size (or `checkpoint_every` 0), and
/// whatever the observer's checkpoint returns.
#[allow(clippy::too_many_arguments)] // (the run's inputs, its start and cadence, its threads)
pub fn train_full_batch_from(
    net: &mut Network<f32>,
    data: &Dataset,
    test: Option<&Dataset>,
    cfg: &FullBatchConfig,
    start: Option<FullBatchState>,
    checkpoint_every: Option<usize>,
    observer: &mut dyn Observer,
    threads: crate::Threads,
) -> Result<FullBatchOutcome> {
    let team = threads.team_size();
    run_full_batch(net, data, test, cfg, Resumable { start, checkpoint_every }, observer, team)
}

/// Where a run starts and when it checkpoints.
struct Resumable {
    start: Option<FullBatchState>,
    checkpoint_every: Option<usize>,
}

/// The method of `cfg` from the objective at `x`, or from a checked `start` state.
fn method_for(
    cfg: &FullBatchConfig,
    obj: &mut FullGradient,
    x: &[f32],
    start: Option<FullBatchMethodState>,
) -> Box<dyn Method> {
    use FullBatchMethodState as S;
    match (cfg.method, start) {
        (_, Some(S::Cg { direction, grad, loss, correct, slope, next_step, failed })) => {
            Box::new(cg::Cg::restore(direction, grad, Eval { loss, correct }, slope, next_step, failed))
        }
        (
            FullBatchMethod::Lbfgs { memory },
            Some(S::Lbfgs { steps, changes, rho, grad, loss, correct, failed }),
        ) => {
            let f1 = Eval { loss, correct };
            Box::new(lbfgs::Lbfgs::restore((steps, changes, rho), grad, f1, failed, memory))
        }
        (_, Some(S::Rprop { delta, prev })) => Box::new(rprop::Rprop::restore(delta, prev)),
        (FullBatchMethod::Cg, _) => Box::new(cg::Cg::new(obj, x)),
        (FullBatchMethod::Lbfgs { memory }, _) => Box::new(lbfgs::Lbfgs::new(obj, x, memory)),
        (FullBatchMethod::Rprop, _) => Box::new(rprop::Rprop::new(x.len())),
    }
}

/// The run of [`train_full_batch_from`] on a team of `team_size` threads.
/// Checks the settings, the data and a start state against the network.
fn check_run(
    net: &Network<f32>,
    data: &Dataset,
    test: Option<&Dataset>,
    cfg: &FullBatchConfig,
    run: &Resumable,
) -> Result<()> {
    cfg.validate()?;
    check_fit(net, data)?;
    super::class_weight::check_fits(cfg.class_weight.as_deref(), data)?;
    if let Some(t) = test {
        check_fit(net, t)?;
    }
    if data.n_samples() == 0 {
        return Err(Error::data(&data.path, "has no rows to train on"));
    }
    if run.checkpoint_every == Some(0) {
        return Err(Error::config("`checkpoint_every` must be at least 1"));
    }
    if let Some(st) = &run.start {
        st.check(cfg.method, net.arch.n_params())?;
    }
    Ok(())
}

fn run_full_batch(
    net: &mut Network<f32>,
    data: &Dataset,
    test: Option<&Dataset>,
    cfg: &FullBatchConfig,
    run: Resumable,
    observer: &mut dyn Observer,
    team_size: usize,
) -> Result<FullBatchOutcome> {
    check_run(net, data, test, cfg, &run)?;
    let n = data.n_samples();
    let (done, evals_done) = run.start.as_ref().map_or((0, 0), |st| (st.iterations, st.evaluations));
    let mut x = net.params.clone();
    let mut obj = FullGradient::new(net, data, (cfg.l2, cfg.class_weight.as_deref()), cfg.shard, team_size);
    obj.evaluations = evals_done;
    let t = Instant::now();
    let mut method = method_for(cfg, &mut obj, &x, run.start.map(|st| st.method));
    let mut seconds = t.elapsed().as_secs_f64();
    let classify = matches!(data.targets, Targets::Classes { .. });
    let mut history = Vec::new();
    let mut stop = FullBatchStop::MaxIter;
    // Evaluations before the iteration (the first iteration's include the start's).
    let mut evals_before = evals_done;
    let save = |obj: &FullGradient, method: &dyn Method, iterations: usize, observer: &mut dyn Observer| {
        let state = FullBatchState { iterations, evaluations: obj.evaluations, method: method.state() };
        observer.full_batch_checkpoint(obj.net(), &state)
    };
    let cadence =
        |i: usize| run.checkpoint_every.is_some_and(|every| i.is_multiple_of(every) || i == cfg.max_iter);
    for iteration in done + 1..=cfg.max_iter {
        observer.epoch_start(iteration, 1);
        let t = Instant::now();
        let progressed = method.iterate(&mut obj, &mut x);
        seconds += t.elapsed().as_secs_f64();
        let now = method.current();
        obj.set_params(&x);
        if !progressed {
            stop = FullBatchStop::NoProgress;
            if run.checkpoint_every.is_some() {
                save(&obj, method.as_ref(), iteration - 1, observer)?;
            }
            break;
        }
        let threads = crate::Threads::clamped(team_size);
        let test_eval: Option<Evaluation> =
            test.map(|t| threads.install(|| evaluate(obj.net(), t, None))).transpose()?.transpose()?;
        let m = EpochMetrics {
            epoch: iteration,
            loss: now.loss,
            train_acc: classify.then(|| now.correct as f64 / n as f64),
            test_loss: test_eval.as_ref().map(|e| e.loss),
            test_acc: test_eval.as_ref().and_then(Evaluation::accuracy),
            lr: 0.0,
            seconds,
            samples_per_s: (n * (obj.evaluations - evals_before)) as f64 / seconds.max(1e-9),
        };
        (seconds, evals_before) = (0.0, obj.evaluations);
        observer.batch_end(n, now.loss);
        observer.iteration_end(iteration, now.loss, obj.evaluations);
        observer.epoch_weights(iteration, obj.net());
        observer.epoch_end(&m);
        history.push(m);
        let saved = cadence(iteration);
        if saved {
            save(&obj, method.as_ref(), iteration, observer)?;
        }
        if iteration < cfg.max_iter && observer.stop_requested() {
            if !saved {
                save(&obj, method.as_ref(), iteration, observer)?;
            }
            stop = FullBatchStop::Requested;
            break;
        }
    }
    obj.set_params(&x);
    let evaluations = obj.evaluations;
    Ok(FullBatchOutcome { history, stop, evaluations })
}

#[cfg(test)]
mod tests;
