//! `train --optimizer cg|lbfgs|rprop`: the flags of a full-batch run checked into a
//! [`FullBatchConfig`] (the plan calls [`checked_config`] before any data is read) and its
//! settings line. The run is the library's prepared fit (`run.rs`): one progress line per
//! iteration, checkpoints every `--checkpoint-every` iterations with `--checkpoint`, after the
//! last and when SIGINT/SIGTERM stops the run, and `--resume`, which continues the run bit for
//! bit ([`resumed_config`] checks the flags against the checkpoint's).

use super::super::args::{OptimizerName, TrainArgs};
use bp_par::checkpoint::{Checkpoint, FullBatchCheckpoint};
use bp_par::error::{Error, Result, count};
use bp_par::train::{DEFAULT_SHARD, FullBatchConfig, FullBatchMethod};

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
        // With --resume, the checkpoint says whether the run is a full-batch one.
        if args.resume.is_none() {
            refuse_full_batch_flags(args)?;
        }
        return Ok(None);
    };
    refuse_other_flags(fb.method, &given)?;
    fb.validate().map_err(|e| Error::config(crate::cli::flags::to_flags(&e.to_string())))?;
    Ok(Some(fb))
}

/// Refuses the flags that only the full-batch optimisers read, for a mini-batch run.
fn refuse_full_batch_flags(args: &TrainArgs) -> Result<()> {
    let given = |id: &str| args.explicit.iter().any(|e| e == id);
    for (id, flag) in [("max_iter", "--max-iter"), ("lbfgs_memory", "--lbfgs-memory")] {
        if given(id) {
            return Err(Error::config(format!(
                "{flag} applies to the full-batch optimisers; give --optimizer cg or lbfgs with it"
            )));
        }
    }
    Ok(())
}

/// Refuses the flags that only mini-batch SGD reads, and those only the other full-batch
/// methods read, given with `method`.
fn refuse_other_flags(method: FullBatchMethod, given: &dyn Fn(&str) -> bool) -> Result<()> {
    let opt = name(method);
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
    if let Some((_, flag)) = sgd_only.iter().find(|(id, _)| given(id)) {
        return Err(Error::config(format!(
            "{flag} does not apply to --optimizer {opt}: it computes the gradient over the whole \
             training set (leave {flag} out, or use --optimizer sgd or adam)"
        )));
    }
    // The learning-rate schedules and stopping rules drive the mini-batch run policy.
    if let Some(id) = super::schedule::IDS.iter().find(|id| given(id)) {
        let flag = format!("--{}", id.replace('_', "-"));
        return Err(Error::config(format!(
            "{flag} does not apply to --optimizer {opt}: schedules and stopping rules belong to the \
             mini-batch optimisers (--optimizer sgd or adam); --max-iter bounds a full-batch run"
        )));
    }
    let wrong = match method {
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
    Ok(())
}

/// The full-batch configuration of a run: `fresh` (from [`checked_config`]) or, resuming a
/// full-batch checkpoint, [`resumed_config`] (the checkpoint fixes the method and its
/// settings; only its limit may grow). Resuming a mini-batch run, the full-batch flags are
/// refused.
pub fn with_resume(
    args: &TrainArgs,
    resume: Option<&Checkpoint>,
    fresh: Option<FullBatchConfig>,
) -> Result<Option<FullBatchConfig>> {
    match resume {
        Some(Checkpoint { full_batch: Some(fb), .. }) => resumed_config(args, fb).map(Some),
        Some(_) if fresh.is_none() => refuse_full_batch_flags(args).map(|()| None),
        _ => Ok(fresh),
    }
}

/// The configuration of a resumed full-batch run: the checkpoint's, with its iteration limit
/// (`--max-iter`, or `--epochs` for rprop) possibly raised. A flag that contradicts the
/// checkpoint, or that the method does not read, is an error.
fn resumed_config(args: &TrainArgs, fb: &FullBatchCheckpoint) -> Result<FullBatchConfig> {
    let given = |id: &str| args.explicit.iter().any(|e| e == id);
    let (method, done) = (fb.config.method, fb.state.iterations);
    let ours = match args.optimizer {
        OptimizerName::Sgd => "sgd",
        OptimizerName::Adam => "adam",
        OptimizerName::Cg => "cg",
        OptimizerName::Lbfgs => "lbfgs",
        OptimizerName::Rprop => "rprop",
    };
    let differs = |what: String| {
        Err(Error::config(format!(
            "--resume: {what} differs from the checkpoint; leave it out to continue it as it was"
        )))
    };
    if given("optimizer") && ours != name(method) {
        return differs(format!("--optimizer {ours} (the checkpoint has {})", name(method)));
    }
    refuse_other_flags(method, &given)?;
    if let FullBatchMethod::Lbfgs { memory } = method
        && given("lbfgs_memory")
        && args.lbfgs_memory != memory
    {
        return differs(format!("--lbfgs-memory {} (the checkpoint has {memory})", args.lbfgs_memory));
    }
    let (id, flag, value) = match method {
        FullBatchMethod::Rprop => ("epochs", "--epochs", args.epochs),
        _ => ("max_iter", "--max-iter", args.max_iter),
    };
    let max_iter = if given(id) { value } else { fb.config.max_iter };
    if max_iter < done {
        return Err(Error::config(format!(
            "--resume: {flag} {max_iter} is below the {done} iterations the checkpoint has completed"
        )));
    }
    let cfg = FullBatchConfig { max_iter, ..fb.config.clone() };
    cfg.validate().map_err(|e| Error::config(crate::cli::flags::to_flags(&e.to_string())))?;
    Ok(cfg)
}

/// The settings line of a full-batch run.
pub fn settings_line(fb: &FullBatchConfig, seed: u64, threads: usize) -> String {
    let what = match fb.method {
        FullBatchMethod::Cg => format!("conjugate gradient, {}", count(fb.max_iter, "line search")),
        FullBatchMethod::Lbfgs { memory } => {
            format!("L-BFGS (m = {memory}), {}", count(fb.max_iter, "line search"))
        }
        FullBatchMethod::Rprop => format!("iRprop-, {}", count(fb.max_iter, "epoch")),
    };
    format!(
        "bp-par: seed {seed}, {}, full-batch {what}, shard {}, l2 {}",
        count(threads, "thread"),
        fb.shard,
        bp_par::error::short(fb.l2)
    )
}
