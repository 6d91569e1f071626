//! `bp-par train`: plan → load → run → report, each in its own file. The [`plan`] turns the
//! flags into one checked configuration before any data is read; [`load`] reads the files and
//! hands them to the library's front door (`Mlp::prepare`: split, fills, class weights,
//! normalisation, the model); [`run`] runs the prepared fit (`Session::run`, which writes the
//! checkpoints) with the CLI's progress and signals; [`report`] prints the final figures.

mod class_weight;
mod conflicts;
mod fullbatch;
mod load;
mod optimizer;
mod plan;

#[cfg(test)]
pub use fullbatch::full_batch_config;
#[cfg(test)]
pub use plan::{train_config, val_split};
pub use run::Early;
mod report;
mod run;
mod same;
mod schedule;

use super::args::TrainArgs;
use super::metrics_file::MetricsFile;
use super::progress::Reporter;
use super::ranks::Ranks;
use bp_par::error::{Error, Result, count, short};
use bp_par::model;
use bp_par::train::StopReason;
use std::time::Instant;

/// Runs `bp-par train` with `threads` worker threads, on `ranks` (every rank runs this), its
/// signal handlers `early` installed before anything else.
pub fn train(args: TrainArgs, threads: usize, ranks: Ranks<'_>, early: run::Early) -> Result<()> {
    // Every rank sets up on its own; then they agree that all could (or all stop).
    let (plan, mut prepared, metrics) = ranks.agree(set_up(args, threads, ranks))?;
    if ranks.size() > 1 {
        ranks.check_same(&same::parts(&plan, &prepared)).map_err(|e| ranks.everyone(e))?;
        // Refused here, before the run's first lines (every rank reaches the same verdict).
        let (n, cfg) = (prepared.session.train().n_samples(), &plan.cfg);
        bp_par::distributed::check_ranks(ranks.size(), n, cfg.batch, cfg.shard)
            .map_err(|e| ranks.everyone(e))?;
    }
    let n = prepared.session.train().n_samples();
    let mut reporter = Reporter::new(plan.quiet, plan.cfg.epochs, n, plan.held_out_name(), metrics);
    log_start(&plan, &prepared, &reporter);
    // From here on a Ctrl-C is honoured after the current mini-batch (the line below says so
    // to anyone waiting for training to start).
    let unit = if plan.full_batch.is_some() { "iteration" } else { "mini-batch" };
    if let Some((code, name)) = early.came().filter(|_| ranks.size() == 1) {
        // Before the first step: nothing to save, nothing written.
        return Err(Error::Interrupted {
            code,
            message: format!("interrupted by {name} before training began; nothing was written"),
        });
    }
    let signals = run::Signals::watch(early, reporter.interrupt_notice(), unit)?;
    log_settings(&plan, &prepared, &reporter);
    let t_train = Instant::now();
    let (history, reason, times) = run::run(&plan, &mut prepared, &mut reporter, &signals, ranks)?;
    if !ranks.is_root() {
        return Ok(());
    }
    if let Some(e) = reporter.error.take() {
        return Err(e);
    }
    let train_s = t_train.elapsed().as_secs_f64();
    // A rule's stop is recorded in the model's metadata; a run that ran its epochs writes
    // the same file as before stopping rules existed.
    let record = reason
        .filter(|r| !matches!(r, StopReason::EpochsDone { .. } | StopReason::IterationsDone { .. }))
        .map(|r| model::StopRecord { rule: r.rule().to_string(), epoch: r.epoch(), reason: r.to_string() });
    if let Some(path) = &plan.save {
        model::save_with_stop(path, prepared.session.model(), record.as_ref())?;
    }
    report::report(&plan, &prepared, &history, train_s, reason.as_ref(), times.as_ref())?;
    if plan.save.is_none() {
        reporter.log("bp-par: the model was not saved: give --save model.st to keep it");
    }
    // The process ends next: the data's pages (hundreds of MB for MNIST, tens of ms to unmap)
    // go back to the system with it, not one by one. (Nothing in them is written anywhere.)
    std::mem::forget(prepared);
    Ok(())
}

/// One rank's (or the one process's) plan, data and metrics file.
fn set_up(
    mut args: TrainArgs,
    threads: usize,
    ranks: Ranks<'_>,
) -> Result<(plan::Plan, load::Prepared, Option<MetricsFile>)> {
    if !ranks.is_root() {
        // Rank 0 alone writes files: the others neither check nor touch their paths.
        (args.save, args.metrics, args.checkpoint) = (None, None, None);
    }
    let mut plan = plan::Plan::new(args, threads)?;
    if ranks.size() > 1 {
        if plan.full_batch.is_some() {
            return Err(Error::config(
                "the full-batch optimizers (cg, lbfgs, rprop) run on one machine; across MPI ranks use \
                 --optimizer sgd or adam",
            ));
        }
        plan.ranks = (ranks.size(), ranks.local);
        if !ranks.is_root() {
            // Rank 0 alone prints.
            (plan.quiet, plan.json) = (true, false);
        }
    }
    let prepared = load::prepare(&mut plan)?;
    let metrics = plan
        .metrics
        .as_deref()
        .map(|p| MetricsFile::create(p, plan.resume.is_some(), plan.separate_test()))
        .transpose()?;
    Ok((plan, prepared, metrics))
}

/// The network, the data and the normalisation, on stderr.
fn log_start(plan: &plan::Plan, p: &load::Prepared, reporter: &Reporter) {
    let s = &p.session;
    let arch = &s.model().net.arch();
    let sizes: Vec<String> = arch.sizes().iter().map(ToString::to_string).collect();
    let mut held = s.held_out().map_or(String::new(), |h| {
        format!(", {}", count(h.n_samples(), &format!("{} sample", plan.held_out_name())))
    });
    if let Some(t) = s.test() {
        held += &format!(", {} (reported, not watched)", count(t.n_samples(), "test sample"));
    }
    reporter.log(&format!(
        "bp-par: {} {}/{} on {}: {}{held}, loaded in {:.2}s; normalize {}",
        sizes.join("-"),
        arch.activation,
        arch.loss,
        s.train().path().display(),
        count(s.train().n_samples(), "training sample"),
        p.load_s,
        s.model().norm.describe(),
    ));
}

/// The run's settings (and where a resumed run continues), on stderr.
fn log_settings(plan: &plan::Plan, p: &load::Prepared, reporter: &Reporter) {
    let cfg = p.session.mlp().config();
    if let Some(fb) = p.session.mlp().full_batch_config() {
        reporter.log(&fullbatch::settings_line(fb, cfg.seed, plan.threads));
        if let Some(line) = class_weight::describe(fb.class_weight.as_deref()) {
            reporter.log(&line);
        }
        if let Some((path, ck)) = &plan.resume {
            let done = ck.full_batch.as_ref().map_or(0, |f| f.state.iterations);
            reporter.log(&format!("bp-par: resuming after iteration {done} from {}", path.display()));
        }
        return;
    }
    // The team that runs: no more threads than cores, and shards no larger than a batch.
    let team = bp_par::Threads::new(plan.threads).map_or(plan.threads, bp_par::Threads::team_size);
    let mut threads = count(team, "thread");
    if team < plan.threads {
        threads += &format!(" (--threads {} on {})", plan.threads, count(team, "core"));
    }
    if plan.ranks.0 > 1 {
        threads = format!("{} MPI ranks of {threads} each", plan.ranks.0);
    }
    let n = p.session.train().n_samples();
    let (shard, _) = bp_par::train::shards_per_batch(cfg.batch, cfg.shard, n);
    reporter.log(&format!(
        "bp-par: seed {}, {threads}, batch {}, shard {shard}, {}, l2 {}, {}",
        cfg.seed,
        cfg.batch,
        optimizer::describe(cfg),
        short(cfg.l2),
        count(cfg.epochs, "epoch")
    ));
    if plan.lr_from_data {
        let batches = n.div_ceil(cfg.batch.max(1));
        reporter.log(&format!(
            "bp-par: lr {} chosen for {} an epoch (0.2·√(50/B), at most 0.2; --lr sets another)",
            short(cfg.lr),
            count(batches, "mini-batch")
        ));
    }
    if let Some(line) = class_weight::describe(cfg.class_weight.as_deref()) {
        reporter.log(&line);
    }
    let policy = p.session.mlp().policy();
    let (schedule, rules) = (&policy.schedule, &policy.stop_rules);
    if *schedule != bp_par::train::Schedule::Constant || *rules != bp_par::train::StopRules::default() {
        let text = schedule::describe_schedule(schedule) + &schedule::describe_rules(rules);
        reporter.log(&format!("bp-par: schedule and stopping rules:{text}"));
    }
    if let Some((path, ck)) = &plan.resume {
        reporter.log(&format!(
            "bp-par: resuming after epoch {} batch {} from {}",
            ck.state.epoch,
            ck.state.next_batch,
            path.display()
        ));
    }
}
