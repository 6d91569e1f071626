//! `train`'s run: the library's run policy (checkpoint cadence, divergence handling) driven
//! with the CLI's observer: progress display and metrics file, SIGINT/SIGTERM/SIGUSR1 (say so,
//! finish the mini-batch, save, exit 130/143/138; a second signal says so and exits at once),
//! checkpoint files.

use super::load::Prepared;
use super::plan::Plan;
use crate::cli::common::shell_quote;
use crate::cli::progress::Reporter;
use crate::cli::ranks::Ranks;
use bp_par::checkpoint::{self, Checkpoint, DataIdentity};
use bp_par::data::{Dataset, Normalization, Schema};
use bp_par::error::{Error, Result, short};
use bp_par::model::{self, Model, ModelRef, Task};
use bp_par::network::Network;
use bp_par::train::Rollback;
use bp_par::train::{EpochMetrics, Observer, PhaseTimes, StopReason, Trainer};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Flags raised by SIGINT, SIGTERM and SIGUSR1: `stop` by any, `last` the signal's number.
/// SIGUSR1 is the stop for a run under `mpirun`, which passes it on to the ranks and waits,
/// where it follows a SIGINT or SIGTERM with SIGKILL after a second.
pub struct Signals {
    stop: Arc<AtomicBool>,
    last: Arc<AtomicUsize>,
}

/// The exit code, name and the words for "again" of a stop signal.
fn described(sig: i32) -> (u8, &'static str, &'static str) {
    use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};
    match sig {
        SIGINT => (130, "SIGINT", "Ctrl-C"),
        SIGUSR1 => (138, "SIGUSR1", "the signal"),
        SIGTERM => (143, "SIGTERM", "the signal"),
        // On MPI ranks: no signal here, the run stopped because another rank got one.
        _ => (143, "a stop signal to another rank", "the signal"),
    }
}

impl Signals {
    /// Installs the handlers: the first signal raises the flags (the run stops after its
    /// current `unit`, "mini-batch" or "iteration", and saves) and says so through `notice`;
    /// a second one says it exits, and exits at once (130, 143 or 138) without saving. The
    /// messages come from a watcher thread (printing is not safe inside a signal handler).
    pub fn install(notice: impl Fn(&str) + Send + 'static, unit: &'static str) -> Result<Self> {
        use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};
        use signal_hook::flag;
        let stop = Arc::new(AtomicBool::new(false));
        let last = Arc::new(AtomicUsize::new(0));
        let register = || -> std::io::Result<signal_hook::iterator::Signals> {
            for sig in [SIGINT, SIGTERM, SIGUSR1] {
                flag::register_usize(sig, Arc::clone(&last), sig as usize)?;
                flag::register(sig, Arc::clone(&stop))?;
            }
            signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGUSR1])
        };
        let mut incoming =
            register().map_err(|e| Error::other(format!("cannot install the signal handlers: {e}")))?;
        let watcher = move || {
            for (n, sig) in incoming.forever().enumerate() {
                let (code, name, again) = described(sig);
                if n == 0 {
                    notice(&format!(
                        "bp-par: {name}: stopping after this {unit}, then saving a checkpoint (and the \
                         model with --save); {again} again exits at once without saving"
                    ));
                } else {
                    notice(&format!("bp-par: {name} again: exiting now without saving (exit code {code})"));
                    signal_hook::low_level::exit(i32::from(code));
                }
            }
        };
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(watcher)
            .map_err(|e| Error::other(format!("cannot start the signal watcher: {e}")))?;
        Ok(Signals { stop, last })
    }

    /// Whether a signal asked the run to stop.
    pub fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// The exit code and name of the signal that stopped the run: (130, SIGINT), (143,
    /// SIGTERM) or (138, SIGUSR1).
    pub fn code_and_name(&self) -> (u8, &'static str) {
        let (code, name, _) = described(self.last.load(Ordering::Relaxed) as i32);
        (code, name)
    }
}

/// The CLI's observer: the reporter, the signal flags, and what a checkpoint records besides
/// the trainer's state.
struct CliObserver<'a> {
    reporter: &'a mut Reporter,
    signals: &'a Signals,
    norm: &'a Normalization,
    task: Task,
    input_shape: Option<[usize; 2]>,
    schema: &'a Schema,
    identity: &'a DataIdentity,
    checkpoint: &'a Path,
    /// The test file reported beside a validation split, measured on each epoch's weights.
    test: Option<&'a Dataset>,
    /// The learning rate the run was started with (halve-lr may lower the current one).
    lr_given: f32,
    /// Whether this process writes the checkpoints (rank 0 of a run on MPI ranks).
    writes: bool,
}

impl Observer for CliObserver<'_> {
    fn epoch_start(&mut self, epoch: usize, n_batches: usize) {
        self.reporter.epoch_start(epoch, n_batches);
    }

    fn batch_end(&mut self, samples_done: usize, running_loss: f64) {
        self.reporter.batch_end(samples_done, running_loss);
    }

    fn epoch_weights(&mut self, _epoch: usize, net: &Network<f32>) {
        if let Some(t) = self.test {
            self.reporter.measure_test(net, t);
        }
    }

    fn epoch_end(&mut self, metrics: &EpochMetrics) {
        self.reporter.epoch_end(metrics);
    }

    fn stop_requested(&mut self) -> bool {
        self.signals.stop_requested()
    }

    fn retrying(&mut self, epoch: usize, batch: usize, lr: f32) {
        self.reporter.log(&format!(
            "bp-par: the loss exploded or became non-finite in epoch {epoch}, batch {batch}: retrying the epoch with --lr {}",
            short(lr)
        ));
    }

    fn checkpoint(&mut self, trainer: &Trainer, rollback: Option<&Rollback>) -> Result<()> {
        if !self.writes {
            return Ok(());
        }
        let ck = Checkpoint {
            config: trainer.config().clone(),
            state: trainer.state(),
            data: self.identity.clone(),
            lr_given: self.lr_given,
            rollback: rollback.cloned(),
            run: trainer.run_state().clone(),
            full_batch: None,
        };
        let model = ModelRef {
            net: trainer.net(),
            norm: self.norm,
            task: self.task,
            input_shape: self.input_shape,
            schema: self.schema,
        };
        checkpoint::save(self.checkpoint, model, &ck)
    }

    fn stopped(&mut self, reason: &StopReason) {
        self.reporter.stopped(reason);
    }
}

/// Trains `p.model` on the prepared data. Returns the epochs' metrics and why the run
/// ended, or
/// [`Error::Interrupted`] (after saving the checkpoint and the model) when a signal stopped
/// the run.
pub fn run(
    plan: &Plan,
    p: &mut Prepared,
    reporter: &mut Reporter,
    signals: &Signals,
    ranks: Ranks<'_>,
) -> Result<(Vec<EpochMetrics>, Option<StopReason>, Option<PhaseTimes>)> {
    let Prepared { train, held_out, test, model, identity, .. } = p;
    let threads = bp_par::Threads::new(plan.threads)?;
    let outcome = {
        let mut trainer = match ranks.group {
            // Every rank reaches the same verdict on the group's settings.
            Some(group) => Trainer::on_ranks(&mut model.net, train, plan.cfg.clone(), group, threads)
                .map_err(|e| ranks.everyone(e))?,
            None => Trainer::with_threads(&mut model.net, train, plan.cfg.clone(), threads)?,
        };
        if let Some((_, ck)) = &plan.resume {
            trainer.restore(ck.state.clone())?;
            trainer.restore_run_state(ck.run.clone())?;
        }
        let mut observer = CliObserver {
            reporter: &mut *reporter,
            signals,
            norm: &model.norm,
            task: model.task,
            input_shape: model.input_shape,
            schema: &model.schema,
            identity,
            checkpoint: &plan.checkpoint,
            // Rank 0 alone reports the test file and writes checkpoints.
            test: test.as_ref().filter(|_| ranks.is_root()),
            writes: ranks.is_root(),
            lr_given: plan.resume.as_ref().map_or(plan.cfg.lr, |(_, ck)| ck.lr_given),
        };
        let outcome = trainer.run_policy(train, held_out.as_ref(), &plan.policy, &mut observer);
        let position = position(&trainer);
        // On ranks: rank 0's time in the exchange, for the report.
        let times = ranks.group.map(|_| trainer.phase_times());
        outcome.map(|o| (o, position, times))
    };
    reporter.finish();
    let (outcome, position, times) = outcome?;
    if outcome.stopped {
        return Err(interrupted(plan, model, signals, &position));
    }
    Ok((outcome.history, outcome.reason, times))
}

/// Where a stopped run stands: "after epoch N" or "in epoch N after batch M".
fn position(trainer: &Trainer) -> String {
    if trainer.batches_done() == 0 {
        format!("after epoch {}", trainer.epochs_done())
    } else {
        format!("in epoch {} after batch {}", trainer.epochs_done() + 1, trainer.batches_done())
    }
}

/// Saves the model (with `--save`) of a run a signal stopped, and says how to continue it.
fn interrupted(plan: &Plan, model: &Model, signals: &Signals, position: &str) -> Error {
    let mut saved = String::new();
    if let Some(p) = &plan.save {
        if let Err(e) = model::save(p, model) {
            return e;
        }
        saved = format!(" and the model to {}", p.display());
    }
    let (code, name) = signals.code_and_name();
    // On ranks, the same launch (any number of ranks continues the same run).
    let launch = if plan.ranks.0 > 1 { format!("mpirun -np {} ", plan.ranks.0) } else { String::new() };
    Error::Interrupted {
        code,
        message: format!(
            "interrupted by {name} {position}; wrote the checkpoint to {}{saved}; continue with: {launch}{}",
            plan.checkpoint.display(),
            resume_command(&plan.checkpoint, !plan.checkpoint_given)
        ),
    }
}

/// The command line that continues this run: the original arguments without `--resume`
/// and `--init`, with `--resume CHECKPOINT` (and `--checkpoint` when it was defaulted).
pub(super) fn resume_command(checkpoint: &Path, defaulted: bool) -> String {
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
