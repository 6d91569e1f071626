//! `train`'s run: the library's prepared fit run (its checkpoint cadence and files, divergence
//! handling, mini-batch or full-batch) with the CLI's observer: progress display and metrics file, SIGINT/SIGTERM/SIGUSR1 (say so,
//! finish the mini-batch, save, exit 130/143/138; a second signal says so and exits at once),
//! checkpoint files.

use super::load::Prepared;
use super::plan::Plan;
use crate::cli::common::shell_quote;
use crate::cli::progress::Reporter;
use crate::cli::ranks::Ranks;
use bp_par::data::Dataset;
use bp_par::error::{Error, Result, short};
use bp_par::fit::Checkpoints;
use bp_par::model::{self, Model};
use bp_par::network::Network;
use bp_par::train::{EpochMetrics, Observer, PhaseTimes, StopReason};
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

/// The handlers, installed before any other work of `train` (a signal in its first
/// milliseconds only raises the flags), waiting for [`Signals::watch`] to say what happens.
pub struct Early {
    stop: Arc<AtomicBool>,
    last: Arc<AtomicUsize>,
    incoming: signal_hook::iterator::Signals,
}

impl Early {
    /// Installs the handlers of SIGINT, SIGTERM and SIGUSR1: they raise the flags.
    pub fn install() -> Result<Early> {
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
        let incoming =
            register().map_err(|e| Error::other(format!("cannot install the signal handlers: {e}")))?;
        Ok(Early { stop, last, incoming })
    }

    /// The exit code and name of a signal that came before the run began, if one did.
    pub fn came(&self) -> Option<(u8, &'static str)> {
        self.stop.load(Ordering::Relaxed).then(|| {
            let (code, name, _) = described(self.last.load(Ordering::Relaxed) as i32);
            (code, name)
        })
    }
}

impl Signals {
    /// Watches the installed handlers: the first signal raises the flags (the run stops after
    /// its current `unit`, "mini-batch" or "iteration", and saves) and says so through
    /// `notice`; a second one says it exits, and exits at once (130, 143 or 138) without
    /// saving. The messages come from a watcher thread (printing is not safe inside a signal
    /// handler).
    pub fn watch(early: Early, notice: impl Fn(&str) + Send + 'static, unit: &'static str) -> Result<Self> {
        let Early { stop, last, mut incoming } = early;
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

/// The CLI's observer: the reporter and the signal flags (the library writes the checkpoints).
pub struct CliObserver<'a> {
    /// Progress and the metrics file.
    pub reporter: &'a mut Reporter,
    /// The stop flags.
    pub signals: &'a Signals,
    /// The test file reported beside a validation split, measured on each epoch's weights.
    pub test: Option<&'a Dataset>,
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

    fn stopped(&mut self, reason: &StopReason) {
        self.reporter.stopped(reason);
    }
}

/// Trains the prepared model (mini-batch or full-batch, on `ranks` when there are several).
/// Returns the epochs' metrics and why the run ended, or [`Error::Interrupted`] (after saving
/// the checkpoint and the model) when a signal stopped the run.
pub fn run(
    plan: &Plan,
    p: &mut Prepared,
    reporter: &mut Reporter,
    signals: &Signals,
    ranks: Ranks<'_>,
) -> Result<(Vec<EpochMetrics>, Option<StopReason>, Option<PhaseTimes>)> {
    let session = &mut p.session;
    // Rank 0 alone reports the test file (and the library has it alone write checkpoints).
    let test = session.test().filter(|_| ranks.is_root()).cloned();
    let checkpoints = Checkpoints { path: plan.checkpoint.clone(), every: plan.policy.checkpoint_every };
    if let Some(group) = ranks.group {
        // Every rank reaches the same verdict on these; an error later is one rank's own (and
        // ends the job).
        session.check_group(group).map_err(|e| ranks.everyone(e))?;
    }
    let outcome = {
        let mut observer = CliObserver { reporter: &mut *reporter, signals, test: test.as_ref() };
        session.run(&mut observer, Some(&checkpoints), ranks.group)
    };
    reporter.finish();
    let fitted = match outcome {
        Ok(f) => f,
        Err(e) => {
            reporter.discard_empty_metrics();
            return Err(diverged_inputs(e, plan, session.model()));
        }
    };
    reporter.keep_metrics()?;
    if let Some((epochs, batches)) = fitted.stopped_at {
        let position = match (plan.full_batch.is_some(), batches) {
            (true, _) => format!("after iteration {epochs}"),
            (false, 0) => format!("after epoch {epochs}"),
            (false, b) => format!("in epoch {} after batch {b}", epochs + 1),
        };
        return Err(interrupted(plan, session.model(), signals, &position));
    }
    // On ranks: rank 0's time in the exchange, for the report.
    let times = ranks.group.map(|_| fitted.times);
    Ok((fitted.history, fitted.reason, times))
}

/// A divergence, with what the inputs were normalised by (and who chose it): a rate is not
/// always the culprit.
fn diverged_inputs(e: Error, plan: &Plan, model: &Model) -> Error {
    if !matches!(e, Error::Diverged { .. }) {
        return e;
    }
    let how = model.norm.describe();
    let chosen = match (plan.fresh.normalize, plan.from_model) {
        (_, true) => "the initial model's".to_string(),
        (bp_par::data::NormalizeMode::Auto, _) => {
            "chosen by --normalize auto; --normalize scale or zscore chooses otherwise".to_string()
        }
        _ => "as --normalize asked".to_string(),
    };
    let said = crate::cli::flags::to_flags(&e.to_string());
    Error::other(format!("{said}; the inputs were normalised with {how} ({chosen})"))
}

/// Saves the model (with `--save`) of a run a signal stopped, and says how to continue it.
/// An existing `--save` file is never replaced by a half-trained model: that one goes beside
/// it ([`partial_path`]).
fn interrupted(plan: &Plan, model: &Model, signals: &Signals, position: &str) -> Error {
    let mut saved = String::new();
    if let Some(p) = &plan.save {
        let (to, kept) = if p.is_file() {
            (partial_path(p), format!(" ({} is kept as it was)", p.display()))
        } else {
            (p.clone(), String::new())
        };
        if let Err(e) = model::save(&to, model) {
            return e;
        }
        saved = format!(" and the unfinished model to {}{kept}", to.display());
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

/// Where an unfinished run's model goes when `--save` names an existing file: beside it,
/// `model.st` → `model.unfinished.st`.
pub(super) fn partial_path(save: &Path) -> std::path::PathBuf {
    let stem = save.file_stem().map_or("model".into(), |s| s.to_string_lossy().into_owned());
    let name = match save.extension() {
        Some(ext) => format!("{stem}.unfinished.{}", ext.to_string_lossy()),
        None => format!("{stem}.unfinished"),
    };
    save.with_file_name(name)
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
