//! The three commands: flags validated into library types, the library called, results
//! written on stdout.

use super::args::{CommonArgs, EvalArgs, LabelArgs, OnDivergence, PredictArgs, TrainArgs};
use super::progress::{MetricsFile, Reporter};
use bp_par::data::{self, Dataset, LabelCol, LoadOptions, Normalization, Targets};
use bp_par::error::{Error, Result};
use bp_par::infer::{evaluate, outputs};
use bp_par::model_io::{self, Checkpoint, DataIdentity, Model, ModelRef, Rollback, Task};
use bp_par::network::{Arch, Network, argmax};
use bp_par::train::{TrainConfig, TrainState, Trainer};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// The shipped digits, built into the binary so `bp-par train` works from any folder.
const DIGITS_CSV: &[u8] = data::BUILTIN_DIGITS;
const DIGITS_NAME: &str = "datasets/digits.csv";

fn stdout_error(e: std::io::Error) -> Error {
    Error::io(Path::new("<stdout>"), "write to", e)
}

/// Prints `text` on stdout.
pub fn emit(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|_| out.flush()).map_err(stdout_error)
}

fn load_options(labels: &LabelArgs, classes: Option<usize>, targets: Option<usize>) -> LoadOptions {
    LoadOptions {
        label_col: labels.label_col.clone().unwrap_or_default(),
        targets,
        classes,
        labels: labels.labels.clone(),
        unlabeled_width: None,
    }
}

/// Loads DATA, or the built-in digits when DATA is absent (or names the shipped file that
/// is not present in the current folder).
fn load_train_data(path: Option<&Path>, opts: &LoadOptions) -> Result<Dataset> {
    match path {
        Some(p) if p.exists() || p != Path::new(DIGITS_NAME) => data::load(p, opts),
        _ => data::parse_csv(Path::new(concat!("datasets/digits.csv", " (built in)")), DIGITS_CSV, opts),
    }
}

fn apply_norm(norm: &Normalization, d: &mut Dataset) {
    norm.apply(&mut d.features, d.n_features);
}

/// Checks the options that stand alone, before any file is read.
fn validate_train_args(args: &TrainArgs) -> Result<()> {
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
    if let Some(f) = args.val_split {
        if !(0.0..1.0).contains(&f) {
            return bad(format!("--val-split must be in [0, 1), got {f}"));
        }
        if f > 0.0 && args.test.is_some() {
            return bad("--val-split and --test both hold data out; give one of them".into());
        }
    }
    Ok(())
}

/// With `--init`, the model fixes the architecture: options that contradict it are errors.
fn check_init_conflicts(args: &TrainArgs, m: &Model) -> Result<()> {
    let arch = &m.net.arch;
    let sizes = arch.sizes();
    let what = |s: &str| {
        Err(Error::config(format!(
            "{s} conflicts with the --init model ({} {}/{}); leave it out to keep the model's",
            sizes.iter().map(ToString::to_string).collect::<Vec<_>>().join("-"),
            arch.activation,
            arch.loss
        )))
    };
    if let Some(h) = &args.hidden
        && h[..] != sizes[1..sizes.len() - 1]
    {
        return what(&format!(
            "--hidden {}",
            h.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
        ));
    }
    if let Some(a) = args.activation.filter(|&a| a != arch.activation) {
        return what(&format!("--activation {a}"));
    }
    if let Some(l) = args.loss.filter(|&l| l != arch.loss) {
        return what(&format!("--loss {l}"));
    }
    if args.normalize.is_some() {
        return what("--normalize (the model's normalisation is re-applied)");
    }
    match (m.task, args.targets) {
        (Task::Regress, None) => Err(Error::config(format!(
            "the --init model predicts {} real-valued targets: give --targets {}",
            arch.n_out(),
            arch.n_out()
        ))),
        (Task::Regress, Some(k)) if k != arch.n_out() => Err(Error::config(format!(
            "--targets {k} does not match the --init model's {} outputs",
            arch.n_out()
        ))),
        (Task::Classify, Some(_)) => {
            Err(Error::config("--targets conflicts with the --init model, a classifier".to_string()))
        }
        _ => Ok(()),
    }
}

/// Refuses targets the loss cannot fit: bce needs values in [0, 1], xent rows of
/// probabilities summing to 1.
fn check_targets(d: &Dataset, loss: bp_par::loss::Loss) -> Result<()> {
    let Targets::Values { values, n_outputs } = &d.targets else { return Ok(()) };
    use bp_par::loss::Loss;
    for (i, row) in values.chunks_exact(*n_outputs).enumerate() {
        let in_unit = row.iter().all(|v| (0.0..=1.0).contains(v));
        let sum: f32 = row.iter().sum();
        let problem = match loss {
            Loss::Bce if !in_unit => Some("bce needs targets in [0, 1]"),
            Loss::Xent if !in_unit || (sum - 1.0).abs() > 1e-3 => {
                Some("xent (softmax) needs each row of targets to be probabilities summing to 1")
            }
            _ => None,
        };
        if let Some(p) = problem {
            let shown: Vec<String> = row.iter().map(ToString::to_string).collect();
            return Err(Error::data(
                &d.path,
                format!(
                    "data row {} has targets ({}): {p}; use --loss mse for other real-valued targets",
                    i + 1,
                    shown.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Checks that `path` can be written (its folder exists, it is not a folder) before a long
/// run, so a typo does not cost the run.
fn check_writable(path: &Path, what: &str) -> Result<()> {
    if path.is_dir() {
        return Err(Error::config(format!("{what} {} is a folder; give a file name", path.display())));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(Error::config(format!(
            "{what} {}: the folder {} does not exist",
            path.display(),
            dir.display()
        )));
    }
    tempfile::NamedTempFile::new_in(dir).map(drop).map_err(|e| {
        Error::config(format!("{what} {}: cannot write in {} ({})", path.display(), dir.display(), e.kind()))
    })
}

/// With `--resume`, the checkpoint fixes the configuration: options typed on the command
/// line must agree with it (only `--epochs` may grow).
fn check_resume_conflicts(args: &TrainArgs, m: &Model, ck: &Checkpoint) -> Result<()> {
    let given = |id: &str| args.explicit.iter().any(|e| e == id);
    let c = &ck.config;
    let arch = &m.net.arch;
    let sizes = arch.sizes();
    let differ = |id: &str, flag: &str, ours: String, theirs: String| {
        (given(id) && ours != theirs).then(|| format!("{flag} {ours} (the checkpoint has {theirs})"))
    };
    let join = |v: &[usize]| v.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
    let mut diffs: Vec<String> = [
        differ("batch", "--batch", args.batch.to_string(), c.batch.to_string()),
        // The checkpoint stores the shard size in effect (never above the batch size).
        differ(
            "shard_size",
            "--shard-size",
            args.shard_size.min(c.batch).min(ck.data.n_samples).to_string(),
            c.shard.to_string(),
        ),
        // --on-divergence halve-lr may have lowered the rate since: compare with the one given.
        differ("lr", "--lr", args.lr.to_string(), ck.lr_given.to_string()),
        differ("momentum", "--momentum", args.momentum.to_string(), c.momentum.to_string()),
        differ("l2", "--l2", args.l2.to_string(), c.l2.to_string()),
        differ("seed", "--seed", args.seed.to_string(), c.seed.to_string()),
        differ(
            "val_split",
            "--val-split",
            args.val_split.unwrap_or(0.0).to_string(),
            ck.data.val_split.to_string(),
        ),
        differ(
            "hidden",
            "--hidden",
            join(args.hidden.as_deref().unwrap_or(&[])),
            join(&sizes[1..sizes.len() - 1]),
        ),
        differ(
            "activation",
            "--activation",
            args.activation.map_or(String::new(), |a| a.to_string()),
            arch.activation.to_string(),
        ),
        differ("loss", "--loss", args.loss.map_or(String::new(), |l| l.to_string()), arch.loss.to_string()),
    ]
    .into_iter()
    .flatten()
    .collect();
    if given("no_shuffle") && c.shuffle {
        diffs.push("--no-shuffle (the checkpoint's run reshuffles every epoch)".into());
    }
    match (m.task, args.targets) {
        (Task::Classify, Some(k)) => diffs.push(format!("--targets {k} (the checkpoint is a classifier)")),
        (Task::Regress, Some(k)) if k != arch.n_out() => {
            diffs.push(format!("--targets {k} (the checkpoint has {})", arch.n_out()))
        }
        _ => {}
    }
    let done = ck.state.epoch + usize::from(ck.state.next_batch > 0);
    if given("epochs") && args.epochs < done {
        let at = if ck.state.next_batch > 0 {
            format!("has already begun epoch {done}")
        } else {
            format!("has completed {done} epoch{}", if done == 1 { "" } else { "s" })
        };
        diffs.push(format!("--epochs {} (the checkpoint {at})", args.epochs));
    }
    if let Some(mode) = args.normalize {
        use bp_par::data::NormalizeMode as M;
        let same = matches!(
            (mode, &m.norm),
            (M::Auto, _)
                | (M::None, Normalization::None)
                | (M::Scale, Normalization::Scale(_))
                | (M::Zscore, Normalization::ZScore { .. })
        );
        if !same {
            diffs
                .push(format!("--normalize (the checkpoint's inputs are normalised: {})", m.norm.describe()));
        }
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        let (verb, them) = if diffs.len() == 1 { ("differs", "it") } else { ("differ", "them") };
        Err(Error::config(format!(
            "--resume: {} {verb} from the checkpoint; leave {them} out to continue it as it was",
            diffs.join(", ")
        )))
    }
}

/// `arg` as a POSIX shell reads it back: as is when it holds only safe characters, else in
/// single quotes.
pub fn shell_quote(arg: &str) -> String {
    if !arg.is_empty() && arg.chars().all(|c| c.is_ascii_alphanumeric() || "-_./,=:+@%".contains(c)) {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

/// The command line that continues this run: the original arguments without `--resume`
/// and `--init`, with `--resume CHECKPOINT` (and `--checkpoint` when it was defaulted).
fn resume_command(checkpoint: &Path, defaulted: bool) -> String {
    let mut out = vec!["bp-par".to_string()];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--resume" || a == "--init" {
            args.next();
            continue;
        }
        if a.starts_with("--resume=") || a.starts_with("--init=") {
            continue;
        }
        out.push(shell_quote(&a));
    }
    out.push("--resume".into());
    out.push(shell_quote(&checkpoint.display().to_string()));
    if defaulted {
        out.push("--checkpoint".into());
        out.push(shell_quote(&checkpoint.display().to_string()));
    }
    out.join(" ")
}

/// Where an interrupted run writes its checkpoint when `--checkpoint` was not given.
fn default_checkpoint(args: &TrainArgs) -> PathBuf {
    match &args.save {
        Some(p) => p.with_extension("ckpt.safetensors"),
        None => PathBuf::from("bp-par.ckpt.safetensors"),
    }
}

/// The trainer's configuration the flags ask for (a resumed run takes its checkpoint's).
pub fn train_config(args: &TrainArgs) -> TrainConfig {
    TrainConfig {
        epochs: args.epochs,
        batch: args.batch,
        shard: args.shard_size,
        lr: args.lr,
        momentum: args.momentum,
        l2: args.l2,
        seed: args.seed,
        shuffle: !args.no_shuffle,
    }
}

/// The fraction of DATA held out: `--val-split`, else 0.2 without `--test` and 0 with it
/// (a resumed run takes its checkpoint's).
pub fn val_split(args: &TrainArgs) -> f64 {
    args.val_split.unwrap_or(if args.test.is_some() { 0.0 } else { 0.2 })
}

pub fn train(args: TrainArgs, threads: usize) -> Result<()> {
    let common = &args.common;
    validate_train_args(&args)?;
    let resume: Option<(Model, Checkpoint)> =
        args.resume.as_deref().map(model_io::load_checkpoint).transpose()?;
    if let Some((m, ck)) = &resume {
        check_resume_conflicts(&args, m, ck)?;
    }
    let mut cfg = train_config(&args);
    if let Some((_, ck)) = &resume {
        let epochs = if args.explicit.iter().any(|e| e == "epochs") { args.epochs } else { ck.config.epochs };
        cfg = TrainConfig { epochs, ..ck.config.clone() };
    }
    cfg.validate()?;
    if let Some(p) = &args.save {
        check_writable(p, "--save")?;
    }
    if let Some(p) = &args.metrics {
        check_writable(p, "--metrics")?;
    }
    let checkpoint_path = args.checkpoint.clone().unwrap_or_else(|| default_checkpoint(&args));
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
    if args.checkpoint_every == 0 {
        return Err(Error::config("--checkpoint-every must be at least 1"));
    }
    let (init, resume) = match resume {
        Some((m, ck)) => (Some(m), Some(ck)),
        None => {
            let init: Option<Model> = args.init.as_deref().map(model_io::load).transpose()?;
            if let Some(m) = &init {
                check_init_conflicts(&args, m)?;
            }
            (init, None)
        }
    };

    // With --init, the model fixes the outputs: its class count or its target count.
    let (classes, targets) = match &init {
        Some(m) if m.task == Task::Regress => (None, Some(m.net.arch.n_out())),
        Some(m) => (Some(args.classes.unwrap_or(m.net.arch.n_out())), None),
        None => (args.classes, args.targets),
    };
    let opts = load_options(&args.labels, classes, targets);
    let t0 = Instant::now();
    let mut full = load_train_data(args.data.as_deref(), &opts)?;
    if let Some(n) = args.train_rows {
        if n == 0 {
            return Err(Error::config("--train-rows must be at least 1"));
        }
        if n < full.n_samples() {
            full = full.subset(&(0..n).collect::<Vec<_>>());
        }
    }
    if let Targets::Classes { labels, .. } = &full.targets
        && args.classes.is_none()
        && init.is_none()
        && labels.iter().all(|&l| l == labels[0])
    {
        let col = match &opts.label_col {
            LabelCol::Auto => "the label column (by name, else the first column)".to_string(),
            c => format!("--label-col {c:?}"),
        };
        return Err(Error::data(
            &full.path,
            format!(
                "has a single class (every label is {}) in {col}: nothing to learn; \
                 is the label column right? (--label-col)",
                labels.first().copied().unwrap_or(0)
            ),
        ));
    }
    let mut test = match &args.test {
        Some(p) => {
            let labels =
                LabelArgs { label_col: args.labels.label_col.clone(), labels: args.test_labels.clone() };
            Some(data::load(
                p,
                &load_options(&labels, Some(full.n_outputs()).filter(|_| targets.is_none()), targets),
            )?)
        }
        None => None,
    };
    let load_s = t0.elapsed().as_secs_f64();

    // Normalisation: the --init model's, else fitted on the training rows only (after the split).
    let val_split = match &resume {
        Some(ck) => ck.data.val_split,
        None => val_split(&args),
    };
    let (mut train_set, held) = if val_split > 0.0 {
        let (t, v) = full.split(val_split, cfg.seed)?;
        (t, Some(v))
    } else {
        (full, None)
    };
    let held_out_name = if test.is_some() { "test" } else { "val" };
    let mut held_out = test.take().or(held);
    let norm = match &init {
        Some(m) => m.norm.clone(),
        None => {
            Normalization::fit(args.normalize.unwrap_or_default(), &train_set.features, train_set.n_features)
        }
    };
    apply_norm(&norm, &mut train_set);
    if let Some(h) = held_out.as_mut() {
        apply_norm(&norm, h);
    }

    let (task, n_out) = match &train_set.targets {
        Targets::Values { n_outputs, .. } => (Task::Regress, *n_outputs),
        _ => (Task::Classify, train_set.n_outputs()),
    };
    let mut model = match init {
        Some(m) => m,
        None => {
            let mut sizes = vec![train_set.n_features];
            sizes.extend(args.hidden.as_deref().unwrap_or(&[128]));
            sizes.push(n_out);
            let arch = Arch::new(
                sizes,
                args.activation.unwrap_or(bp_par::activation::Activation::Relu),
                args.loss.unwrap_or(bp_par::loss::Loss::Xent),
            )
            .map_err(Error::config)?;
            Model {
                net: Network::init(arch, args.seed),
                norm: norm.clone(),
                task,
                input_shape: train_set.image_shape,
            }
        }
    };
    check_targets(&train_set, model.net.arch.loss)?;
    let identity = DataIdentity {
        path: train_set.path.display().to_string(),
        n_samples: train_set.n_samples(),
        n_features: train_set.n_features,
        fingerprint: train_set.fingerprint(),
        val_split,
    };
    if let Some(ck) = &resume
        && (ck.data.fingerprint != identity.fingerprint || ck.data.n_samples != identity.n_samples)
    {
        return Err(Error::data(
            &train_set.path,
            format!(
                "is not the checkpoint's training data: it gives {} training rows of {} features \
                 (fingerprint {:016x}), the checkpoint was trained on {} rows of {} from {} (fingerprint {:016x}); \
                 if it is the same file, give the original --label-col, --classes, --labels and --train-rows",
                identity.n_samples,
                identity.n_features,
                identity.fingerprint,
                ck.data.n_samples,
                ck.data.n_features,
                ck.data.path,
                ck.data.fingerprint
            ),
        ));
    }

    let metrics = args.metrics.as_deref().map(|p| MetricsFile::create(p, resume.is_some())).transpose()?;
    let mut reporter = Reporter::new(common.quiet, cfg.epochs, train_set.n_samples(), held_out_name, metrics);
    let arch = &model.net.arch;
    let sizes: Vec<String> = arch.sizes().iter().map(ToString::to_string).collect();
    reporter.log(&format!(
        "bp-par: {} {}/{} on {}: {} training samples{}, loaded in {:.2}s; normalize {}",
        sizes.join("-"),
        arch.activation,
        arch.loss,
        train_set.path.display(),
        train_set.n_samples(),
        held_out.as_ref().map_or(String::new(), |h| format!(", {} {held_out_name} samples", h.n_samples())),
        load_s,
        norm.describe(),
    ));
    // From here on a Ctrl-C is honoured after the current mini-batch (the line below says so
    // to anyone waiting for training to start).
    let signals = Signals::install()?;
    reporter.log(&format!(
        "bp-par: seed {}, {} threads, batch {}, shard {}, lr {}, momentum {}, l2 {}, {} epochs",
        cfg.seed,
        threads,
        cfg.batch,
        cfg.shard,
        bp_par::error::short(cfg.lr),
        cfg.momentum,
        bp_par::error::short(cfg.l2),
        cfg.epochs
    ));

    let resume_lr_given = resume.as_ref().map(|ck| ck.lr_given);
    let resume_rollback = resume.as_ref().and_then(|ck| ck.rollback.clone());
    if let Some(ck) = &resume {
        reporter.log(&format!(
            "bp-par: resuming after epoch {} batch {} from {}",
            ck.state.epoch,
            ck.state.next_batch,
            args.resume.as_deref().unwrap_or(Path::new("")).display()
        ));
    }

    let t_train = Instant::now();
    let history = {
        let mut trainer = Trainer::new(&mut model.net, &train_set, cfg.clone())?;
        if let Some(ck) = resume {
            trainer.restore(ck.state)?;
        }
        let run = RunCtx {
            args: &args,
            norm: &model.norm,
            task: model.task,
            input_shape: model.input_shape,
            identity: &identity,
            checkpoint: &checkpoint_path,
            lr_given: resume_lr_given.unwrap_or(cfg.lr),
            signals: &signals,
            rollback: resume_rollback,
        };
        drive(&mut trainer, &train_set, held_out.as_ref(), &mut reporter, &run)
    };
    reporter.finish();
    let history = history?;
    if let Some(e) = reporter.error.take() {
        return Err(e);
    }
    let train_s = t_train.elapsed().as_secs_f64();
    if let Some(path) = &args.save {
        model_io::save(path, &model)?;
    }

    // Final figures: a full pass over the training set with the final weights.
    let l2 = (cfg.l2 > 0.0).then_some((cfg.l2 as f64, train_set.n_samples()));
    let final_train = evaluate(&model.net, &train_set, l2);
    let final_held = held_out.as_ref().map(|h| evaluate(&model.net, h, None));
    let epoch_s: Vec<f64> = history.iter().map(|m| m.seconds).collect();
    let mean_epoch_s = epoch_s.iter().sum::<f64>() / epoch_s.len().max(1) as f64 + 0.0;
    if common.json {
        let out = json!({
            "layers": model.net.arch.sizes(),
            "seed": cfg.seed,
            "threads": threads,
            "epochs": cfg.epochs,
            "train_samples": train_set.n_samples(),
            "train_loss": final_train.loss + final_train.l2_term,
            "train_acc": final_train.accuracy(),
            "held_out": held_out_name,
            "held_out_samples": final_held.as_ref().map(|e| e.n_samples),
            "held_out_loss": final_held.as_ref().map(|e| e.loss),
            "held_out_acc": final_held.as_ref().and_then(|e| e.accuracy()),
            "seconds": train_s,
            "mean_epoch_seconds": mean_epoch_s,
            "model": args.save.as_ref().map(|p| p.display().to_string()),
        });
        emit(&format!("{out}\n"))
    } else {
        let mut s = format!(
            "trained {} in {:.2}s ({:.3}s per epoch, {} thread{}, seed {})\n",
            model.net.arch.sizes().iter().map(ToString::to_string).collect::<Vec<_>>().join("-"),
            train_s,
            mean_epoch_s,
            threads,
            if threads == 1 { "" } else { "s" },
            cfg.seed
        );
        s += &format!("train: loss {:.4}", final_train.loss + final_train.l2_term);
        if let Some(a) = final_train.accuracy() {
            s += &format!("  accuracy {:.2}%", 100.0 * a);
        }
        s += &format!("  ({} samples)\n", final_train.n_samples);
        if let Some(e) = &final_held {
            s += &format!("{held_out_name}: loss {:.4}", e.loss);
            if let Some(a) = e.accuracy() {
                s += &format!("  accuracy {:.2}%", 100.0 * a);
            }
            s += &format!("  ({} samples)\n", e.n_samples);
        }
        if let Some(p) = &args.save {
            s += &format!("model saved to {}\n", p.display());
        }
        emit(&s)
    }
}

/// Flags raised by SIGINT/SIGTERM: `stop` by either, `by_int` by SIGINT.
struct Signals {
    stop: Arc<AtomicBool>,
    by_int: Arc<AtomicBool>,
}

impl Signals {
    /// Installs the handlers: the first signal raises the flags (the run stops after its
    /// mini-batch and saves), a second one exits at once (130 or 143).
    fn install() -> Result<Self> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        use signal_hook::flag;
        let stop = Arc::new(AtomicBool::new(false));
        let by_int = Arc::new(AtomicBool::new(false));
        let register = || -> std::io::Result<()> {
            // The conditional exit first: it fires only once `stop` is already set.
            flag::register_conditional_shutdown(SIGINT, 130, Arc::clone(&stop))?;
            flag::register_conditional_shutdown(SIGTERM, 143, Arc::clone(&stop))?;
            flag::register(SIGINT, Arc::clone(&by_int))?;
            flag::register(SIGINT, Arc::clone(&stop))?;
            flag::register(SIGTERM, Arc::clone(&stop))?;
            Ok(())
        };
        register().map_err(|e| Error::other(format!("cannot install the signal handlers: {e}")))?;
        Ok(Signals { stop, by_int })
    }
}

/// What the epoch loop needs besides the trainer.
struct RunCtx<'a> {
    args: &'a TrainArgs,
    norm: &'a Normalization,
    task: Task,
    input_shape: Option<[usize; 2]>,
    identity: &'a DataIdentity,
    checkpoint: &'a Path,
    /// The learning rate the run was started with (halve-lr may lower the current one).
    lr_given: f32,
    signals: &'a Signals,
    /// The halve-lr rollback point carried over from a resumed checkpoint.
    rollback: Option<Rollback>,
}

impl RunCtx<'_> {
    fn model<'n>(&'n self, net: &'n Network<f32>) -> ModelRef<'n> {
        ModelRef { net, norm: self.norm, task: self.task, input_shape: self.input_shape }
    }

    fn write_checkpoint(&self, trainer: &Trainer, rollback: Option<Rollback>) -> Result<()> {
        let ck = Checkpoint {
            config: trainer.config().clone(),
            state: trainer.state(),
            data: self.identity.clone(),
            lr_given: self.lr_given,
            rollback,
        };
        model_io::save_checkpoint(self.checkpoint, self.model(trainer.net), &ck)
    }
}

/// The epoch loop of `train`: periodic checkpoints, SIGINT/SIGTERM (finish the mini-batch,
/// save, exit 130/143; a second signal exits at once), and `--on-divergence halve-lr`.
fn drive(
    trainer: &mut Trainer,
    data: &Dataset,
    test: Option<&Dataset>,
    reporter: &mut Reporter,
    ctx: &RunCtx,
) -> Result<Vec<bp_par::train::EpochMetrics>> {
    use std::sync::atomic::Ordering;
    let args = ctx.args;
    let Signals { stop, by_int } = ctx.signals;

    // A resumed halve-lr run stays one unless --on-divergence says otherwise.
    let given = args.explicit.iter().any(|e| e == "on_divergence");
    let halve = args.on_divergence == OnDivergence::HalveLr || (!given && ctx.rollback.is_some());
    let mut history = Vec::new();
    // The state to roll back to: the start of the epoch, carried over a resume in the middle
    // of one by the checkpoint.
    let mut snapshot: Option<(Vec<f32>, TrainState)> = halve.then(|| match &ctx.rollback {
        Some(r) => (r.params.clone(), r.state.clone()),
        None => (trainer.net.params.clone(), trainer.state()),
    });
    let mut retries = ctx.rollback.as_ref().map_or(0, |r| r.retries);
    let rollback = |snapshot: &Option<(Vec<f32>, TrainState)>, retries: usize| {
        snapshot.as_ref().map(|(params, state)| Rollback {
            params: params.clone(),
            state: state.clone(),
            retries,
        })
    };
    while trainer.epochs_done() < trainer.config().epochs {
        if halve && trainer.batches_done() == 0 {
            snapshot = Some((trainer.net.params.clone(), trainer.state()));
        }
        let outcome = match trainer.run_epoch(data, test, reporter, &|| stop.load(Ordering::Relaxed)) {
            Ok(Some(m)) => {
                let e = m.epoch;
                history.push(m);
                let last = e == trainer.config().epochs;
                if args.checkpoint.is_some() && (e % args.checkpoint_every == 0 || last) {
                    ctx.write_checkpoint(trainer, rollback(&snapshot, retries))?;
                }
                // A signal during an epoch's last mini-batch stops the run at the boundary.
                if stop.load(Ordering::Relaxed) && !last { Ok(None) } else { Ok(Some(())) }
            }
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        match outcome {
            Ok(Some(())) => {}
            Ok(None) => {
                reporter.finish();
                ctx.write_checkpoint(trainer, rollback(&snapshot, retries))?;
                let mut saved = String::new();
                if let Some(p) = &args.save {
                    model_io::save_view(p, ctx.model(trainer.net))?;
                    saved = format!(" and the model to {}", p.display());
                }
                let (code, name) =
                    if by_int.load(Ordering::Relaxed) { (130, "SIGINT") } else { (143, "SIGTERM") };
                let position = if trainer.batches_done() == 0 {
                    format!("after epoch {}", trainer.epochs_done())
                } else {
                    format!("in epoch {} after batch {}", trainer.epochs_done() + 1, trainer.batches_done())
                };
                return Err(Error::Interrupted {
                    code,
                    message: format!(
                        "interrupted by {name} {position}; wrote the checkpoint to {}{saved}; continue with: {}",
                        ctx.checkpoint.display(),
                        resume_command(ctx.checkpoint, args.checkpoint.is_none())
                    ),
                });
            }
            Err(Error::Diverged { epoch, batch, lr }) if halve && retries < 10 => {
                let Some((params, state)) = snapshot.clone() else {
                    return Err(Error::Diverged { epoch, batch, lr });
                };
                trainer.net.params.copy_from_slice(&params);
                trainer.restore(state)?;
                trainer.set_lr(lr / 2.0);
                retries += 1;
                reporter.log(&format!(
                    "bp-par: the loss became non-finite in epoch {epoch}, batch {batch}: retrying the epoch with --lr {}",
                    bp_par::error::short(lr / 2.0)
                ));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(history)
}

/// Loads a model and a data set prepared for it (its normalisation applied).
pub fn model_and_data(
    model: &Path,
    data: &Path,
    labels: &LabelArgs,
    unlabeled_ok: bool,
) -> Result<(Model, Dataset)> {
    let model_data = model_io::load(model)?;
    let n_out = model_data.net.arch.n_out();
    let targets = (model_data.task == Task::Regress).then_some(n_out);
    let mut opts = load_options(labels, None, targets);
    if unlabeled_ok {
        opts.unlabeled_width = Some(model_data.net.arch.n_in());
    }
    // Labels are checked against the model's classes after the width (a wrong file is then
    // reported as such); predict ignores labels and does not check them at all.
    let mut d = data::load(data, &opts)?;
    let n_in = model_data.net.arch.n_in();
    if d.n_features != n_in {
        let hint = if !unlabeled_ok && d.n_features + 1 == n_in {
            " (eval needs a label column beside the features; predict takes unlabeled rows)"
        } else {
            ""
        };
        return Err(Error::model(
            model,
            format!(
                "expects {n_in} input features but {} has {} per row{hint}",
                data.display(),
                d.n_features
            ),
        ));
    }
    if let Targets::Classes { n_classes, .. } = &d.targets
        && !unlabeled_ok
        && model_data.task == Task::Classify
        && *n_classes > n_out
    {
        // Read it again against the model's classes for the line and column of the culprit.
        data::load(data, &LoadOptions { classes: Some(n_out), ..opts })?;
    }
    apply_norm(&model_data.norm, &mut d);
    Ok((model_data, d))
}

pub fn eval(args: EvalArgs) -> Result<()> {
    if args.l2.is_some_and(|l| !(l.is_finite() && l >= 0.0)) {
        return Err(Error::config(format!(
            "--l2 must be a non-negative number, got {}",
            args.l2.unwrap_or(0.0)
        )));
    }
    let (model, data) = model_and_data(&args.model, &args.data, &args.labels, false)?;
    bp_par::train::check_fit(&model.net, &data)?;
    let n = data.n_samples();
    let e = evaluate(&model.net, &data, args.l2.map(|l| (l, n)));
    let loss_name = model.net.arch.loss.name();
    if args.common.json {
        let confusion = e.confusion.as_ref().map(|c| c.rows().map(|r| r.to_vec()).collect::<Vec<_>>());
        let per_class = e.confusion.as_ref().map(|c| {
            (0..c.n_classes())
                .map(|k| json!({"class": k, "precision": c.precision(k), "recall": c.recall(k)}))
                .collect::<Vec<_>>()
        });
        let out = json!({
            "model": args.model.display().to_string(),
            "data": args.data.display().to_string(),
            "samples": n,
            "loss_function": loss_name,
            "loss": e.loss,
            "l2_term": args.l2.map(|_| e.l2_term),
            "cost": e.loss + e.l2_term,
            "accuracy": e.accuracy(),
            "confusion": confusion,
            "per_class": per_class,
        });
        return emit(&format!("{out}\n"));
    }
    let mut s = format!("{} on {}: {} samples\n", args.model.display(), args.data.display(), n);
    if let (Some(a), Some(c)) = (e.accuracy(), e.correct) {
        s += &format!("accuracy {:.2}% ({c}/{n})\n", 100.0 * a);
    }
    s += &format!("loss {:.6} (mean {loss_name} per sample)\n", e.loss);
    if let Some(l) = args.l2 {
        s += &format!(
            "l2 term {:.6} ((λ/2n)·ΣW², λ = {l}, n = {n}); cost {:.6}\n",
            e.l2_term,
            e.loss + e.l2_term
        );
    }
    if let Some(c) = &e.confusion {
        s += "\nconfusion matrix (rows: true class, columns: predicted)\n";
        s += &c.render();
    }
    emit(&s)
}

pub fn predict(args: PredictArgs) -> Result<()> {
    let (model, data) = model_and_data(&args.model, &args.data, &args.labels, true)?;
    let k = model.net.arch.n_out();
    let out = outputs(&model.net, &data);
    let mut text = String::with_capacity(out.len() * 12);
    let classify = model.task == Task::Classify;
    if args.common.json {
        for row in out.chunks_exact(k) {
            let line = if classify {
                json!({"prediction": argmax(row), "probabilities": row})
            } else {
                json!({"outputs": row})
            };
            text += &line.to_string();
            text.push('\n');
        }
    } else {
        let head: Vec<String> = if classify {
            std::iter::once("prediction".to_string()).chain((0..k).map(|c| format!("p{c}"))).collect()
        } else {
            (0..k).map(|c| format!("y{c}")).collect()
        };
        text += &head.join(",");
        text.push('\n');
        for row in out.chunks_exact(k) {
            if classify {
                text += &argmax(row).to_string();
                text.push(',');
            }
            let vals: Vec<String> = row.iter().map(|&v| bp_par::error::short(v)).collect();
            text += &vals.join(",");
            text.push('\n');
        }
    }
    match &args.output {
        Some(p) => {
            model_io::write_atomic(p, text.as_bytes())?;
            if !args.common.quiet {
                eprintln!("bp-par: wrote {} predictions to {}", data.n_samples(), p.display());
            }
            Ok(())
        }
        None => emit(&text),
    }
}

/// The thread count: `--threads` or all cores.
pub fn threads(common: &CommonArgs) -> Result<usize> {
    match common.threads {
        Some(n) => check_threads(n),
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

/// The most worker threads a command may start: far beyond any useful count, low enough
/// that a typo cannot exhaust the machine.
pub const MAX_THREADS: usize = 256;

/// Checks a `--threads` value.
pub fn check_threads(n: usize) -> Result<usize> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match n {
        0 => Err(Error::config("--threads must be at least 1")),
        n if n > MAX_THREADS => Err(Error::config(format!(
            "--threads {n} is more than the {MAX_THREADS} bp-par allows (this machine has {cores} cores)"
        ))),
        n => Ok(n),
    }
}
