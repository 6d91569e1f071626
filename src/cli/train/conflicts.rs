//! What `--init` and `--resume` forbid: a model fixes the architecture, a checkpoint the
//! whole configuration (only `--epochs` may grow); each contradiction is named with both
//! values.

use super::super::args::TrainArgs;
use bp_par::checkpoint::Checkpoint;
use bp_par::data::Normalization;
use bp_par::error::{Error, Result};
use bp_par::model::{Model, Task};

/// With `--init`, the model fixes the architecture: options that contradict it are errors.
pub fn check_init_conflicts(args: &TrainArgs, m: &Model) -> Result<()> {
    let arch = &m.net.arch();
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
    if let Some(o) = args.output.filter(|&o| o != arch.output()) {
        return what(&format!("--output {o} (the model's outputs are {})", arch.output()));
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

/// With `--resume`, the checkpoint fixes the configuration: options typed on the command
/// line must agree with it (only `--epochs` may grow).
pub fn check_resume_conflicts(args: &TrainArgs, m: &Model, ck: &Checkpoint) -> Result<()> {
    let mut diffs = setting_diffs(args, m, ck);
    // A full-batch checkpoint's method is checked by `fullbatch::resumed_config`.
    if ck.full_batch.is_none() {
        diffs.extend(super::optimizer::resume_diffs(args, ck));
    }
    diffs.extend(super::class_weight::resume_diffs(args, ck));
    diffs.extend(other_diffs(args, m, ck));
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

/// The typed options whose value differs from the checkpoint's, as "--flag ours (the
/// checkpoint has theirs)".
fn setting_diffs(args: &TrainArgs, m: &Model, ck: &Checkpoint) -> Vec<String> {
    let given = |id: &str| args.explicit.iter().any(|e| e == id);
    let c = &ck.config;
    let arch = &m.net.arch();
    let sizes = arch.sizes();
    let differ = |id: &str, flag: &str, ours: String, theirs: String| {
        (given(id) && ours != theirs).then(|| format!("{flag} {ours} (the checkpoint has {theirs})"))
    };
    let join = |v: &[usize]| v.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
    [
        differ("batch", "--batch", args.batch.to_string(), c.batch.to_string()),
        // The checkpoint stores the shard size in effect (never above the batch size).
        differ(
            "shard_size",
            "--shard-size",
            args.shard_size.min(c.batch).min(ck.data.n_samples).to_string(),
            c.shard.to_string(),
        ),
        // --on-divergence halve-lr may have lowered the rate since: compare with the one given.
        differ("lr", "--lr", super::plan::learning_rate(args).to_string(), ck.lr_given.to_string()),
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
        differ(
            "output",
            "--output",
            args.output.map_or(String::new(), |o| o.to_string()),
            arch.output().to_string(),
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The contradictions that are not a plain value comparison: shuffling, targets, epochs
/// already done, normalisation.
fn other_diffs(args: &TrainArgs, m: &Model, ck: &Checkpoint) -> Vec<String> {
    let given = |id: &str| args.explicit.iter().any(|e| e == id);
    let arch = &m.net.arch();
    let mut diffs = Vec::new();
    if given("no_shuffle") && ck.config.shuffle {
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
    diffs
}
