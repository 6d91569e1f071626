//! `train --optimizer cg|lbfgs|rprop`: the flags of a full-batch run checked into a
//! [`FullBatchConfig`] (the plan calls [`checked_config`] before any data is read), and the
//! run itself: the library's [`train_full_batch`] with the progress display and metrics
//! file (one line per iteration), and SIGINT/SIGTERM honoured after the current iteration.
//! Full-batch runs are not checkpointed, so `--checkpoint` and `--resume` are refused.

use super::super::args::{OptimizerName, TrainArgs};
use super::load::Prepared;
use super::plan::Plan;
use super::run::Signals;
use crate::cli::progress::Reporter;
use bp_par::error::{Error, Result};
use bp_par::model;
use bp_par::train::{
    DEFAULT_SHARD, EpochMetrics, FullBatchConfig, FullBatchMethod, FullBatchStop, Observer, train_full_batch,
};

/// The full-batch configuration the flags ask for, unchecked; `None` for `--optimizer sgd`.
pub fn full_batch_config(args: &TrainArgs) -> Option<FullBatchConfig> {
    let (method, max_iter) = match args.optimizer {
        OptimizerName::Sgd | OptimizerName::Adam => return None,
        OptimizerName::Cg => (FullBatchMethod::Cg, args.max_iter),
        OptimizerName::Lbfgs => (FullBatchMethod::Lbfgs { memory: args.lbfgs_memory }, args.max_iter),
        OptimizerName::Rprop => (FullBatchMethod::Rprop, args.epochs),
    };
    // The class weights come from the training labels, once they are read (`load::prepare`).
    Some(FullBatchConfig { method, max_iter, l2: args.l2, shard: DEFAULT_SHARD, class_weight: None })
}

/// The `--optimizer` value of a method.
fn name(method: FullBatchMethod) -> &'static str {
    match method {
        FullBatchMethod::Cg => "cg",
        FullBatchMethod::Lbfgs { .. } => "lbfgs",
        FullBatchMethod::Rprop => "rprop",
    }
}

/// [`full_batch_config`], checked: its ranges, and no flag that only mini-batch SGD reads
/// (and none only the other methods read).
pub fn checked_config(args: &TrainArgs) -> Result<Option<FullBatchConfig>> {
    let given = |id: &str| args.explicit.iter().any(|e| e == id);
    let Some(fb) = full_batch_config(args) else {
        for (id, flag) in [("max_iter", "--max-iter"), ("lbfgs_memory", "--lbfgs-memory")] {
            if given(id) {
                return Err(Error::config(format!(
                    "{flag} applies to the full-batch optimisers; give --optimizer cg or lbfgs with it"
                )));
            }
        }
        return Ok(None);
    };
    let opt = name(fb.method);
    let sgd_only = [
        ("lr", "--lr"),
        ("momentum", "--momentum"),
        ("batch", "--batch"),
        ("shard_size", "--shard-size"),
        ("no_shuffle", "--no-shuffle"),
        ("on_divergence", "--on-divergence"),
        ("nesterov", "--nesterov"),
        ("beta1", "--beta1"),
        ("beta2", "--beta2"),
        ("eps", "--eps"),
        ("decoupled_decay", "--decoupled-decay"),
        ("clip_norm", "--clip-norm"),
    ];
    for (id, flag) in sgd_only {
        if given(id) {
            return Err(Error::config(format!(
                "{flag} does not apply to --optimizer {opt}: it computes the gradient over the whole \
                 training set (leave {flag} out, or use --optimizer sgd or adam)"
            )));
        }
    }
    // The learning-rate schedules and stopping rules drive the mini-batch run policy.
    if let Some(id) = super::schedule::IDS.iter().find(|id| given(id)) {
        let flag = format!("--{}", id.replace('_', "-"));
        return Err(Error::config(format!(
            "{flag} does not apply to --optimizer {opt}: schedules and stopping rules belong to the \
             mini-batch optimisers (--optimizer sgd or adam); --max-iter bounds a full-batch run"
        )));
    }
    for (id, flag) in [("checkpoint", "--checkpoint"), ("resume", "--resume")] {
        if given(id) {
            return Err(Error::config(format!(
                "{flag} is not supported with --optimizer {opt}: full-batch runs are not checkpointed \
                 (their line-search state is not saved); use --save, or --optimizer sgd"
            )));
        }
    }
    let wrong = match fb.method {
        FullBatchMethod::Rprop => {
            [("max_iter", "--max-iter", "--epochs"), ("lbfgs_memory", "--lbfgs-memory", "")]
        }
        FullBatchMethod::Cg => [("epochs", "--epochs", "--max-iter"), ("lbfgs_memory", "--lbfgs-memory", "")],
        FullBatchMethod::Lbfgs { .. } => [("epochs", "--epochs", "--max-iter"), ("", "", "")],
    };
    if let Some((_, flag, instead)) = wrong.into_iter().find(|(id, ..)| !id.is_empty() && given(id)) {
        let hint = if instead.is_empty() { String::new() } else { format!("; its iterations are {instead}") };
        return Err(Error::config(format!("{flag} does not apply to --optimizer {opt}{hint}")));
    }
    fb.validate().map_err(|e| Error::config(crate::cli::flags::to_flags(&e.to_string())))?;
    Ok(Some(fb))
}

/// The settings line of a full-batch run.
pub fn settings_line(fb: &FullBatchConfig, seed: u64, threads: usize) -> String {
    let what = match fb.method {
        FullBatchMethod::Cg => format!("conjugate gradient, {} line searches", fb.max_iter),
        FullBatchMethod::Lbfgs { memory } => format!("L-BFGS (m = {memory}), {} line searches", fb.max_iter),
        FullBatchMethod::Rprop => format!("iRprop-, {} epochs", fb.max_iter),
    };
    format!(
        "bp-par: seed {seed}, {threads} threads, full-batch {what}, shard {}, l2 {}",
        fb.shard,
        bp_par::error::short(fb.l2)
    )
}

/// The CLI's observer of a full-batch run.
struct FullObserver<'a> {
    reporter: &'a mut Reporter,
    signals: &'a Signals,
}

impl Observer for FullObserver<'_> {
    fn epoch_start(&mut self, epoch: usize, n_batches: usize) {
        self.reporter.epoch_start(epoch, n_batches);
    }

    fn batch_end(&mut self, samples_done: usize, running_loss: f64) {
        self.reporter.batch_end(samples_done, running_loss);
    }

    fn epoch_end(&mut self, metrics: &EpochMetrics) {
        self.reporter.epoch_end(metrics);
    }

    fn stop_requested(&mut self) -> bool {
        self.signals.stop_requested()
    }
}

/// Trains the prepared model with `fb`. Returns the iterations' metrics, or
/// [`Error::Interrupted`] (after saving the model with `--save`) when a signal stopped it.
pub fn run(
    plan: &Plan,
    fb: &FullBatchConfig,
    p: &mut Prepared,
    reporter: &mut Reporter,
    signals: &Signals,
) -> Result<Vec<EpochMetrics>> {
    let Prepared { train, held_out, model, .. } = p;
    let outcome = {
        let mut observer = FullObserver { reporter: &mut *reporter, signals };
        train_full_batch(&mut model.net, train, held_out.as_ref(), fb, &mut observer)
    };
    reporter.finish();
    let outcome = outcome?;
    let done = outcome.history.len();
    let evals = outcome.evaluations;
    match outcome.stop {
        FullBatchStop::MaxIter => {
            reporter
                .log(&format!("bp-par: stopped after {done} iterations (the limit), {evals} evaluations"));
        }
        FullBatchStop::NoProgress => reporter.log(&format!(
            "bp-par: stopped after {done} iterations, {evals} evaluations: no further progress (two line \
             searches in a row failed, or the loss became non-finite)"
        )),
        FullBatchStop::Requested => {
            let mut saved = String::new();
            if let Some(path) = &plan.save {
                model::save(path, model)?;
                saved = format!("; wrote the model to {}", path.display());
            }
            let (code, signal) = signals.code_and_name();
            return Err(Error::Interrupted {
                code,
                message: format!(
                    "interrupted by {signal} after iteration {done}{saved} (full-batch runs are not \
                     checkpointed; start again, e.g. with --init MODEL)"
                ),
            });
        }
    }
    Ok(outcome.history)
}
