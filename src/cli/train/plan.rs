//! `train`'s flags turned into one checked [`Plan`] before any data is read: every range,
//! every contradiction between flags, the `--init` model's and the `--resume` checkpoint's
//! constraints, and whether the output paths can be written. What follows (load, run, report)
//! reads the plan, never the flags.

use super::super::args::{OnDivergence as DivergenceFlag, OptimizerName, TrainArgs};
use super::super::common::{check_writable, load_options};
use super::conflicts::{check_init_conflicts, check_resume_conflicts};
use bp_par::activation::Activation;
use bp_par::checkpoint::{self, Checkpoint};
use bp_par::data::{LoadOptions, Missing, NormalizeMode};
use bp_par::error::{Error, Result};
use bp_par::loss::{Loss, Output};
use bp_par::model::{self, Model, Task};
use bp_par::network::Init;
use bp_par::train::{FullBatchConfig, OnDivergence, RunPolicy, TrainConfig};
use std::path::{Path, PathBuf};

/// Everything `train` does, decided.
pub struct Plan {
    /// Training data; `None`: the built-in digits.
    pub data: Option<PathBuf>,
    /// How to read it (classes or targets fixed by an `--init` model or a checkpoint).
    pub load: LoadOptions,
    /// The `--test` file, and how to read it (classifiers: with the training data's class
    /// count, set when that is read). Alone, it is the held-out data evaluated after every
    /// epoch; with a validation split, the split is that and the test file is only reported.
    pub test: Option<(PathBuf, LoadOptions)>,
    /// Train on the first N rows only.
    pub train_rows: Option<usize>,
    /// Fraction of the training rows held out for validation.
    pub val_split: f64,
    /// `--image-shape`: the features' picture shape, checked against them once read.
    pub image_shape: Option<[usize; 2]>,
    /// The network to build when not starting from a model.
    pub fresh: Fresh,
    /// The `--init` model, or the `--resume` checkpoint's model (taken when the fit is
    /// prepared).
    pub model: Option<Model>,
    /// Whether the run starts from a model (`--init` or `--resume`): its normalisation then.
    pub from_model: bool,
    /// No `--lr` for SGD on a new run: the rate is chosen from the training rows' count.
    pub lr_from_data: bool,
    /// The `--init` model's file.
    pub init: Option<PathBuf>,
    /// The checkpoint being resumed.
    pub resume: Option<(PathBuf, Checkpoint)>,
    /// The hyperparameters (a resumed run's, with `--epochs` possibly extended).
    pub cfg: TrainConfig,
    /// Checkpoint cadence and divergence handling.
    pub policy: RunPolicy,
    /// `--class-weight balanced` on a new run: the weights are computed from the training
    /// labels once they are read (into `cfg` and `full_batch`).
    pub balance_classes: bool,
    /// A full-batch optimiser (`--optimizer cg|lbfgs|rprop`) instead of mini-batch SGD; `cfg`
    /// then holds its iterations as `epochs` (for the progress display) and its `l2` and seed.
    pub full_batch: Option<FullBatchConfig>,
    /// Where checkpoints go, and whether the user named the path.
    pub checkpoint: PathBuf,
    /// True when `--checkpoint` was given (periodic checkpoints are then written).
    pub checkpoint_given: bool,
    /// The model file to save.
    pub save: Option<PathBuf>,
    /// The per-epoch metrics file.
    pub metrics: Option<PathBuf>,
    /// Worker threads.
    pub threads: usize,
    /// MPI ranks of the run (1 alone), and how many of them share this machine.
    pub ranks: (usize, usize),
    /// No progress on stderr.
    pub quiet: bool,
    /// Results as JSON.
    pub json: bool,
}

/// The architecture of a network built from scratch (input and output sizes come from the
/// data).
pub struct Fresh {
    /// Hidden layer sizes.
    pub hidden: Vec<usize>,
    /// Hidden-unit activation.
    pub activation: Activation,
    /// Loss.
    pub loss: Loss,
    /// Output units (the loss's own unless `--output` chose linear).
    pub output: Output,
    /// How to normalise the features.
    pub normalize: NormalizeMode,
    /// How the weights are drawn.
    pub init: Init,
}

impl Plan {
    /// Checks the flags and reads the `--init` model or `--resume` checkpoint; no data yet.
    pub fn new(args: TrainArgs, threads: usize) -> Result<Plan> {
        check_ranges(&args)?;
        check_output(&args)?;
        super::optimizer::check_optimizer_flags(&args)?;
        let full_batch = super::fullbatch::checked_config(&args)?;
        let resume = args.resume.as_deref().map(checkpoint::load).transpose()?;
        let full_batch = super::fullbatch::with_resume(&args, resume.as_ref().map(|(_, ck)| ck), full_batch)?;
        if let Some((m, ck)) = &resume {
            check_resume_conflicts(&args, m, ck)?;
            check_not_stopped(ck)?;
        }
        let cfg = config(&args, resume.as_ref().map(|(_, ck)| ck))?;
        let cfg = match &full_batch {
            Some(fb) => TrainConfig { epochs: fb.max_iter, ..cfg },
            None => cfg,
        };
        let (checkpoint, checkpoint_given) = check_outputs(&args)?;
        let (model, resume) = start_from(&args, resume)?;
        // With --init, the model fixes the outputs: its class count or its target count.
        let (classes, targets) = match &model {
            Some(m) if m.task == Task::Regress => (None, Some(m.net.arch().n_out())),
            Some(m) => (Some(args.classes.unwrap_or(m.net.arch().n_out())), None),
            None => (args.classes, args.targets),
        };
        let balance_classes = super::class_weight::checked(&args, model.as_ref())?;
        let mut load = load_options(&args.labels, classes, targets);
        load.keep_cols = args.keep_cols.clone();
        if let Some(m) = &model {
            // Read as the --init model's file was: its class names, one-hot, fill values.
            load = m.schema.read_options(load)?;
        }
        let test = args.test.clone().map(|p| {
            let labels =
                super::super::args::LabelArgs { labels: args.test_labels.clone(), ..args.labels.clone() };
            // The classes are the training data's (set once it is read).
            (p, load_options(&labels, None, targets))
        });
        let val_split = match &resume {
            Some((_, ck)) => ck.data.val_split,
            None => val_split(&args),
        };
        if val_split > 0.0 && load.missing == Missing::Mean {
            // The means are taken after the split, over the training rows only (load.rs).
            load.missing = Missing::Keep;
        }
        let mut policy = policy(&args, resume.as_ref().map(|(_, ck)| ck));
        let activation = args.activation.unwrap_or(Activation::Relu);
        let (held_out, resumed) = (args.test.is_some() || val_split > 0.0, resume.as_ref().map(|(_, ck)| ck));
        let lr_from_data = args.lr.is_none() && args.optimizer == OptimizerName::Sgd && resume.is_none();
        // A rate chosen from the data is not known yet, only its largest value.
        let lr = if lr_from_data { bp_par::fit::data_rate(1) } else { cfg.lr };
        (policy.schedule, policy.stop_rules) =
            super::schedule::schedule_and_rules(&args, resumed, held_out, lr)?;
        Ok(Plan {
            fresh: Fresh {
                hidden: args.hidden.clone().unwrap_or_else(|| vec![128]),
                activation,
                loss: args.loss.unwrap_or(Loss::Xent),
                output: args.output.unwrap_or(args.loss.unwrap_or(Loss::Xent).default_output()),
                normalize: args.normalize.unwrap_or_default(),
                init: args.init_weights.unwrap_or(Init::default_for(activation)),
            },
            data: args.data,
            load,
            test,
            train_rows: args.train_rows,
            val_split,
            image_shape: args.image_shape,
            from_model: model.is_some(),
            lr_from_data,
            init: args.init.clone(),
            model,
            resume,
            cfg,
            policy,
            balance_classes,
            full_batch,
            checkpoint,
            checkpoint_given,
            save: args.save,
            metrics: args.metrics,
            threads,
            ranks: (1, 1),
            quiet: args.common.quiet,
            json: args.common.json,
        })
    }

    /// "val" or "test": what the held-out figures (those the run watches) are called.
    pub fn held_out_name(&self) -> &'static str {
        if self.test.is_some() && !self.separate_test() { "test" } else { "val" }
    }

    /// Whether the run has both a validation split (watched during training) and a test file
    /// (only reported).
    pub fn separate_test(&self) -> bool {
        self.test.is_some() && self.val_split > 0.0
    }
}

/// A run a stopping rule ended stays ended: resuming it would train nothing.
fn check_not_stopped(ck: &Checkpoint) -> Result<()> {
    match &ck.run.stopped {
        Some(reason) => Err(Error::config(format!(
            "--resume: the checkpoint's run was stopped by its rule ({reason}); there is nothing to \
             continue (its model is the result; start a new run with --init)"
        ))),
        None => Ok(()),
    }
}

/// Checks the options that stand alone.
fn check_ranges(args: &TrainArgs) -> Result<()> {
    let bad = |m: String| Err(Error::config(m));
    if args.epochs == 0 {
        return bad("--epochs must be at least 1".into());
    }
    if let Some(h) = &args.hidden
        && h.contains(&0)
    {
        return bad("--hidden sizes must be positive, e.g. --hidden 128,64".into());
    }
    if args.classes.is_some_and(|k| k < 2) {
        return bad("--classes must be at least 2".into());
    }
    if args.targets == Some(0) {
        return bad("--targets must be at least 1".into());
    }
    if args.train_rows == Some(0) {
        return bad("--train-rows must be at least 1".into());
    }
    let lr = learning_rate(args);
    if args.resume.is_none() && !(lr.is_finite() && lr > 0.0) {
        return bad(format!("--lr must be a positive number, got {lr}"));
    }
    if args.checkpoint_every == 0 {
        return bad("--checkpoint-every must be at least 1".into());
    }
    if let Some(f) = args.val_split
        && !(0.0..1.0).contains(&f)
    {
        return bad(format!("--val-split must be in [0, 1), got {f}"));
    }
    Ok(())
}

/// `--output` must be a unit the loss can train, and linear outputs are for `--targets`. With
/// `--init` or `--resume` the model's units are compared instead (`conflicts`).
fn check_output(args: &TrainArgs) -> Result<()> {
    let Some(output) = args.output else { return Ok(()) };
    if args.init.is_some() || args.resume.is_some() {
        return Ok(());
    }
    let loss = args.loss.unwrap_or(Loss::Xent);
    if !loss.outputs().contains(&output) {
        let given = if args.loss.is_some() { "" } else { " (the default)" };
        return Err(Error::config(if output == Output::Linear {
            format!("--output linear needs --loss mse, not --loss {loss}{given}")
        } else {
            format!(
                "--output {output} does not go with --loss {loss}{given}, whose outputs are {}",
                loss.default_output()
            )
        }));
    }
    if output == Output::Linear && args.targets.is_none() {
        return Err(Error::config(
            "--output linear fits real-valued targets: give --targets K (the last K columns of the file)",
        ));
    }
    Ok(())
}

/// The hyperparameters: the flags', or the checkpoint's with `--epochs` possibly extended.
fn config(args: &TrainArgs, resume: Option<&Checkpoint>) -> Result<TrainConfig> {
    let cfg = match resume {
        Some(ck) => {
            let given = args.explicit.iter().any(|e| e == "epochs");
            TrainConfig { epochs: if given { args.epochs } else { ck.config.epochs }, ..ck.config.clone() }
        }
        None => train_config(args),
    };
    cfg.validate()?;
    Ok(cfg)
}

/// The trainer's configuration the flags ask for (a resumed run takes its checkpoint's).
/// The optimiser flags are checked by [`super::optimizer::check_optimizer_flags`].
pub fn train_config(args: &TrainArgs) -> TrainConfig {
    TrainConfig {
        epochs: args.epochs,
        batch: args.batch,
        shard: args.shard_size,
        lr: learning_rate(args),
        momentum: args.momentum,
        l2: args.l2,
        seed: args.seed,
        shuffle: !args.no_shuffle,
        optimizer: super::optimizer::optimizer(args),
        clip_norm: args.clip_norm,
        // Computed from the training labels once they are read (`class_weight::apply`).
        class_weight: None,
    }
}

/// The learning rate: `--lr`, else 0.1 (0.001 for Adam, its customary default).
pub fn learning_rate(args: &TrainArgs) -> f32 {
    args.lr.unwrap_or(if args.optimizer == OptimizerName::Adam { 0.001 } else { 0.1 })
}

/// The fraction of DATA held out: `--val-split`, else 0.2 without `--test` and 0 with it
/// (a resumed run takes its checkpoint's).
pub fn val_split(args: &TrainArgs) -> f64 {
    args.val_split.unwrap_or(if args.test.is_some() { 0.0 } else { 0.2 })
}

/// Checkpoint cadence and divergence handling. A resumed halve-lr run stays one unless
/// `--on-divergence` says otherwise.
fn policy(args: &TrainArgs, resume: Option<&Checkpoint>) -> RunPolicy {
    let rollback = resume.and_then(|ck| ck.rollback.clone());
    let given = args.explicit.iter().any(|e| e == "on_divergence");
    let halve = args.on_divergence == DivergenceFlag::HalveLr || (!given && rollback.is_some());
    RunPolicy {
        checkpoint_every: args.checkpoint.as_ref().map(|_| args.checkpoint_every),
        on_divergence: if halve { OnDivergence::HALVE_LR } else { OnDivergence::Stop },
        rollback,
        ..RunPolicy::default()
    }
}

/// Checks that the output files can be written and do not collide; returns the checkpoint
/// path (the default one when `--checkpoint` was not given) and whether it was given.
fn check_outputs(args: &TrainArgs) -> Result<(PathBuf, bool)> {
    if let Some(p) = &args.save {
        check_writable(p, "--save")?;
    }
    if let Some(p) = &args.metrics {
        check_writable(p, "--metrics")?;
    }
    if let Some(mp) = &args.metrics
        && (args.save.as_ref() == Some(mp) || args.checkpoint.as_ref() == Some(mp))
    {
        return Err(Error::config(format!(
            "--metrics {} is also the model or checkpoint path",
            mp.display()
        )));
    }
    if let Some(c) = &args.checkpoint {
        check_writable(c, "--checkpoint")?;
        if args.save.as_ref() == Some(c) {
            return Err(Error::config(format!(
                "--save and --checkpoint both name {}: the model would overwrite the checkpoint",
                c.display()
            )));
        }
    }
    Ok(match &args.checkpoint {
        Some(c) => (c.clone(), true),
        None => (default_checkpoint(args.save.as_deref()), false),
    })
}

/// Where an interrupted run writes its checkpoint when `--checkpoint` was not given.
fn default_checkpoint(save: Option<&Path>) -> PathBuf {
    match save {
        Some(p) => p.with_extension("ckpt.safetensors"),
        None => PathBuf::from("bp-par.ckpt.safetensors"),
    }
}

/// A `--resume` checkpoint with the path it was read from.
type Resumed = (PathBuf, Checkpoint);

/// The model the run starts from: the `--resume` checkpoint's (with its path), or the
/// `--init` model (checked against the flags), or none (a new network).
fn start_from(
    args: &TrainArgs,
    resume: Option<(Model, Checkpoint)>,
) -> Result<(Option<Model>, Option<Resumed>)> {
    Ok(match resume {
        Some((m, ck)) => (Some(m), Some((args.resume.clone().unwrap_or_default(), ck))),
        None => {
            let init = args.init.as_deref().map(model::load).transpose()?;
            if let Some(m) = &init {
                check_init_conflicts(args, m)?;
            }
            (init, None)
        }
    })
}
