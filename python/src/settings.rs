//! The estimator's parameters, as the Python side hands them over (scikit-learn's names
//! already mapped to bp-par's: `logistic` is `sigmoid`, `alpha` stays scikit-learn's), turned
//! into the front door's [`Mlp`].

use bp_par::activation::Activation;
use bp_par::data::{Missing, NormalizeMode};
use bp_par::fit::Mlp;
use bp_par::loss::{Loss, Output};
use bp_par::optim::{Adam, Optimizer};
use bp_par::train::{EarlyStopping, FullBatchConfig, FullBatchMethod, Monitor, Schedule, StopRules};
use bp_par::{Error, Result, Threads};
use pyo3::prelude::*;

/// Every setting of one fit (a dict with these keys).
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
pub struct Settings {
    /// "classify" or "regress".
    pub task: String,
    pub hidden: Vec<usize>,
    pub activation: String,
    /// sgd, adam, lbfgs, cg or rprop.
    pub solver: String,
    /// scikit-learn's L2 penalty per mini-batch.
    pub alpha: f32,
    pub batch: usize,
    pub lr: f32,
    /// constant, invscaling or adaptive.
    pub schedule: String,
    pub power_t: f32,
    pub momentum: f32,
    pub nesterov: bool,
    /// Epochs (full-batch solvers: iterations).
    pub epochs: usize,
    pub seed: u64,
    pub shuffle: bool,
    pub beta_1: f32,
    pub beta_2: f32,
    pub epsilon: f32,
    pub early_stopping: bool,
    pub validation_fraction: f64,
    pub n_iter_no_change: usize,
    pub tol: f64,
    /// The most loss evaluations of a full-batch solver (scikit-learn's `max_fun`).
    pub max_fun: usize,
    pub normalize: String,
    pub missing: String,
    pub n_jobs: Option<i64>,
    pub verbose: bool,
}

/// scikit-learn's convergence rule on the training loss (without early stopping): the run
/// stops once the loss has failed to fall below its best by `tol` in more than `patience`
/// epochs in a row.
#[derive(Clone, Copy, Debug)]
pub struct LossRule {
    pub tol: f64,
    pub patience: usize,
    /// `learning_rate` adaptive: the rate is divided by 5 when the loss stalls (the
    /// schedule), and the run stops once it is at most 1e-6, instead of the rule above.
    pub adaptive: bool,
}

impl Settings {
    /// Whether the solver runs mini-batches (sgd, adam) rather than the whole set at once.
    fn mini_batch(&self) -> bool {
        matches!(self.solver.as_str(), "sgd" | "adam")
    }

    /// The evaluation budget the run's observer holds a full-batch solver to.
    pub fn max_fun(&self) -> Option<usize> {
        (!self.mini_batch()).then_some(self.max_fun)
    }

    /// The training-loss rule the run's observer applies (mini-batch solvers without early
    /// stopping, as scikit-learn's).
    pub fn stop_rule(&self) -> Option<LossRule> {
        (self.mini_batch() && !self.early_stopping).then_some(LossRule {
            tol: self.tol,
            patience: self.n_iter_no_change,
            adaptive: self.solver == "sgd" && self.schedule == "adaptive",
        })
    }

    /// The front door's configuration.
    pub fn mlp(&self) -> Result<Mlp> {
        let name = |what: &str, e: String| Error::config(format!("{what}: {e}"));
        let activation: Activation = self.activation.parse().map_err(|e| name("activation", e))?;
        let normalize: NormalizeMode = self.normalize.parse().map_err(|e| name("normalize", e))?;
        let missing: Missing = self.missing.parse().map_err(|e| name("missing", e))?;
        let classify = match self.task.as_str() {
            "classify" => true,
            "regress" => false,
            t => return Err(Error::config(format!("unknown task {t:?}"))),
        };
        let mut mlp = Mlp::new()
            .hidden(&self.hidden)
            .activation(activation)
            .normalize(normalize)
            .missing(missing)
            .seed(self.seed)
            .shuffle(self.shuffle)
            .epochs(self.epochs)
            .batch(self.batch)
            .lr(self.lr)
            .momentum(self.momentum)
            .alpha(self.alpha)
            .schedule(Schedule::Constant)
            .threads(threads(self.n_jobs)?);
        if !classify {
            mlp = mlp.loss(Loss::Mse).output(Output::Linear);
        }
        let full_batch =
            |method| FullBatchConfig { method, max_iter: self.epochs, ..FullBatchConfig::default() };
        mlp = match self.solver.as_str() {
            "sgd" => mlp.optimizer(Optimizer::Sgd { nesterov: self.nesterov && self.momentum > 0.0 }),
            "adam" => mlp.optimizer(Optimizer::Adam(Adam {
                beta1: self.beta_1,
                beta2: self.beta_2,
                eps: self.epsilon,
                decoupled_decay: false,
            })),
            "lbfgs" => mlp.full_batch(full_batch(FullBatchMethod::Lbfgs { memory: 10 })),
            "cg" => mlp.full_batch(full_batch(FullBatchMethod::Cg)),
            "rprop" => mlp.full_batch(full_batch(FullBatchMethod::Rprop)),
            s => return Err(Error::config(format!("unknown solver {s:?}"))),
        };
        if !self.mini_batch() {
            return Ok(mlp.val_split(0.0));
        }
        if self.solver == "sgd" {
            mlp = mlp.schedule(match self.schedule.as_str() {
                "constant" => Schedule::Constant,
                "invscaling" => Schedule::InvScaling { power: self.power_t },
                // Divided by 5 once the loss has not improved in more than `n_iter_no_change`
                // epochs in a row (scikit-learn's count, where the run would otherwise stop).
                "adaptive" => Schedule::Plateau { patience: self.n_iter_no_change + 1, factor: 0.2 },
                s => return Err(Error::config(format!("unknown learning_rate {s:?}"))),
            });
        }
        if !self.early_stopping {
            return Ok(mlp.val_split(0.0));
        }
        let monitor = if classify { Monitor::Accuracy } else { Monitor::Loss };
        let early = EarlyStopping { patience: self.n_iter_no_change.max(1), monitor, restore_best: true };
        Ok(mlp
            .val_split(self.validation_fraction)
            .stop_rules(StopRules { early_stopping: Some(early), ..StopRules::default() }))
    }
}

/// The threads `n_jobs` asks for: None and -1 every core, -2 all but one (joblib's
/// convention), a positive count as given.
pub fn threads(n_jobs: Option<i64>) -> Result<Threads> {
    let all = Threads::all().get() as i64;
    let n = match n_jobs {
        None => all,
        Some(0) => {
            return Err(Error::config(
                "n_jobs == 0 has no meaning: give a positive count, or -1 for every core",
            ));
        }
        Some(n) if n < 0 => (all + 1 + n).max(1),
        Some(n) => n,
    };
    // (Its message names `threads`, which the error conversion calls n_jobs.)
    Threads::new(usize::try_from(n).unwrap_or(usize::MAX))
}
