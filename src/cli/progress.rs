//! Training progress on stderr (indicatif bars on a terminal, one plain line per epoch
//! otherwise, nothing with `--quiet`); the rows go to the `--metrics` file ([`super::metrics_file`]).
//!
//! The metrics file's held-out columns are `test_loss,test_acc` (whatever the run watches: a
//! test file or a validation split). A run with both a validation split and a test file writes
//! `val_loss,val_acc` (the split, which the run watches) and `test_loss,test_acc` (the test
//! file, measured on each epoch's weights, watched by nothing).

use super::metrics_file::MetricsFile;
use bp_par::data::Dataset;
use bp_par::error::{Error, Result};
use bp_par::infer::{Evaluation, evaluate};
use bp_par::network::Network;
use bp_par::train::{EpochMetrics, Observer, StopReason};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

enum Display {
    Bars { multi: MultiProgress, epochs: ProgressBar, batches: ProgressBar },
    Lines,
    Quiet,
}

/// The CLI's progress [`Observer`]: display plus metrics file.
pub struct Reporter {
    display: Display,
    metrics: Option<MetricsFile>,
    /// "val" or "test": what the held-out figures are called.
    held_out: &'static str,
    n_epochs: usize,
    /// The first epoch's learning rate: later epochs whose rate differs (a schedule, a
    /// halve-lr retry) show theirs on the progress line.
    first_lr: Option<f32>,
    /// The first metrics-file error, reported when training ends.
    pub error: Option<Error>,
    /// The test file's figures on the weights of the epoch about to end
    /// ([`Reporter::measure_test`]), for its metrics row.
    test_eval: Option<Evaluation>,
    /// Set by [`Reporter::interrupt_notice`]'s notice: the bars are gone, log lines go
    /// straight to stderr.
    interrupted: Arc<AtomicBool>,
}

/// The epoch bar's label: the epoch in progress, "epoch   3/10".
fn epoch_label(epoch: usize, n_epochs: usize) -> String {
    format!("epoch {epoch:>3}/{n_epochs}")
}

/// 231608 -> "231.6k".
fn si(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{:.2}%", 100.0 * v))
}

impl Reporter {
    pub fn new(
        quiet: bool,
        n_epochs: usize,
        n_samples: usize,
        held_out: &'static str,
        metrics: Option<MetricsFile>,
    ) -> Self {
        let display = if quiet {
            Display::Quiet
        } else if std::io::stderr().is_terminal() {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let epochs = multi.add(ProgressBar::new(n_epochs as u64));
            epochs.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:30.cyan/blue}] {elapsed_precise} eta {eta} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            epochs.set_prefix(epoch_label(1, n_epochs));
            let batches = multi.add(ProgressBar::new(n_samples as u64));
            batches.set_style(
                ProgressStyle::with_template("  batch [{bar:30.green/white}] {pos}/{len} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            Display::Bars { multi, epochs, batches }
        } else {
            Display::Lines
        };
        let interrupted = Arc::new(AtomicBool::new(false));
        Reporter {
            display,
            metrics,
            held_out,
            n_epochs,
            first_lr: None,
            error: None,
            test_eval: None,
            interrupted,
        }
    }

    /// The bars, while they are on screen.
    fn bars(&self) -> Option<(&ProgressBar, &ProgressBar)> {
        match &self.display {
            Display::Bars { epochs, batches, .. } if !self.interrupted.load(Ordering::Relaxed) => {
                Some((epochs, batches))
            }
            _ => None,
        }
    }

    /// Prints a log line on stderr without disturbing the bars.
    pub fn log(&self, line: &str) {
        match (&self.display, self.bars()) {
            (Display::Quiet, _) => {}
            (_, Some((epochs, _))) => epochs.println(line),
            _ => eprintln!("{line}"),
        }
    }

    /// What prints a line on stderr from another thread (the signal watcher's): it first
    /// takes the bars off the screen for good, so the line is not drawn over and the
    /// interrupted run's last messages follow it. Nothing with `--quiet`.
    pub fn interrupt_notice(&self) -> impl Fn(&str) + Send + 'static {
        let multi = match &self.display {
            Display::Bars { multi, .. } => Some(multi.clone()),
            _ => None,
        };
        let quiet = matches!(self.display, Display::Quiet);
        let interrupted = Arc::clone(&self.interrupted);
        move |line: &str| {
            if !interrupted.swap(true, Ordering::Relaxed)
                && let Some(m) = &multi
            {
                let _ = m.clear();
                m.set_draw_target(ProgressDrawTarget::hidden());
            }
            if !quiet {
                eprintln!("{line}");
            }
        }
    }

    /// Measures an epoch's weights on the test file reported beside a validation split, for
    /// the metrics file's `test_*` columns (only when there is a metrics file to write them
    /// to: nothing else shows them while training).
    pub fn measure_test(&mut self, net: &Network<f32>, test: &Dataset) {
        if self.metrics.as_ref().is_some_and(MetricsFile::split) {
            // (The test file was checked against the model before the run.)
            self.test_eval = evaluate(net, test, None).ok();
        }
    }

    /// Keeps the metrics file's rows (a run that ended, or stopped to be continued): a file
    /// written beside the one it replaces takes its place. A failed run does not call this.
    pub fn keep_metrics(&mut self) -> Result<()> {
        match &mut self.metrics {
            Some(file) => file.keep(),
            None => Ok(()),
        }
    }

    /// After a failed run: drops a metrics file it made without a row.
    pub fn discard_empty_metrics(&mut self) {
        if let Some(file) = &mut self.metrics {
            file.discard_if_empty();
        }
    }

    /// Removes the bars.
    pub fn finish(&self) {
        if let Some((epochs, batches)) = self.bars() {
            batches.finish_and_clear();
            epochs.finish_and_clear();
        }
    }

    /// One line of at most ~78 columns.
    fn epoch_line(&self, m: &EpochMetrics) -> String {
        let mut s =
            format!("epoch {:>3}/{} loss {:.4} acc {}", m.epoch, self.n_epochs, m.loss, pct(m.train_acc));
        if let Some(tl) = m.test_loss {
            s += &format!(" | {} loss {:.4} acc {}", self.held_out, tl, pct(m.test_acc));
        }
        s += &format!(" | {:.2}s {}/s", m.seconds, si(m.samples_per_s));
        if self.first_lr.is_some_and(|lr| lr != m.lr) {
            s += &format!(" | lr {}", bp_par::error::short(m.lr));
        }
        s
    }
}

impl Reporter {
    /// The run ended: why, on stderr, and in the metrics file when a rule stopped it.
    pub fn stopped(&mut self, reason: &StopReason) {
        self.log(&format!("bp-par: stopped: {reason}"));
        if !matches!(reason, StopReason::EpochsDone { .. } | StopReason::IterationsDone { .. })
            && let Some(file) = &mut self.metrics
            && let Err(e) = file.stop(reason)
            && self.error.is_none()
        {
            self.error = Some(e);
        }
    }
}

impl Observer for Reporter {
    fn epoch_start(&mut self, epoch: usize, _n_batches: usize) {
        if let Some((epochs, batches)) = self.bars() {
            // The bar fills with the epochs done; its label names the one running.
            epochs.set_position(epoch.saturating_sub(1) as u64);
            epochs.set_prefix(epoch_label(epoch, self.n_epochs));
            batches.reset();
            batches.reset_elapsed();
            batches.set_position(0);
        }
    }

    fn batch_end(&mut self, samples_done: usize, running_loss: f64) {
        if let Some((_, batches)) = self.bars() {
            batches.set_position(samples_done as u64);
            let rate = samples_done as f64 / batches.elapsed().as_secs_f64().max(1e-9);
            batches.set_message(format!("{} samples/s  loss {running_loss:.4}", si(rate)));
        }
    }

    fn epoch_end(&mut self, m: &EpochMetrics) {
        self.first_lr.get_or_insert(m.lr);
        let line = self.epoch_line(m);
        self.log(&line);
        if let Some((epochs, _)) = self.bars() {
            epochs.set_position(m.epoch as u64);
            epochs.set_message(format!("{} acc {}", self.held_out, pct(m.test_acc.or(m.train_acc))));
        }
        let test = self.test_eval.take();
        if let Some(file) = &mut self.metrics
            && let Err(e) = file.row(m, test.as_ref())
            && self.error.is_none()
        {
            self.error = Some(e);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_epoch_label_names_the_epoch_in_progress() {
        assert_eq!(super::epoch_label(3, 10), "epoch   3/10");
        assert_eq!(super::epoch_label(1000, 1000), "epoch 1000/1000");
    }
}
