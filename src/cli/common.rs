//! What the commands share: writing results on stdout, reading a model with data prepared for
//! it, the load options from the label flags, and the thread count.

use super::args::{CommonArgs, LabelArgs};
use bp_par::data::{self, Dataset, LoadOptions, Targets};
use bp_par::error::{Error, Result};
use bp_par::model::{self, Model, Task};
use std::io::Write;
use std::path::Path;

fn stdout_error(e: std::io::Error) -> Error {
    Error::io(Path::new("<stdout>"), "write to", e)
}

/// Prints `text` on stdout.
pub fn emit(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|_| out.flush()).map_err(stdout_error)
}

/// The load options of the label flags, with the class or target count when known.
pub fn load_options(labels: &LabelArgs, classes: Option<usize>, targets: Option<usize>) -> LoadOptions {
    LoadOptions {
        label_col: labels.label_col.clone().unwrap_or_default(),
        targets,
        classes,
        labels: labels.labels.clone(),
        unlabeled_width: None,
        delimiter: labels.delimiter.unwrap_or_default(),
        missing: labels.missing.clone().unwrap_or_default(),
        one_hot: labels.one_hot,
        class_names: Default::default(),
    }
}

/// Loads a model and a data set prepared for it (its normalisation applied).
pub fn model_and_data(
    model: &Path,
    data: &Path,
    labels: &LabelArgs,
    unlabeled_ok: bool,
) -> Result<(Model, Dataset)> {
    let model_data = model::load(model)?;
    let n_out = model_data.net.arch.n_out();
    let targets = (model_data.task == Task::Regress).then_some(n_out);
    let mut opts = model_data.schema.read_options(load_options(labels, None, targets))?;
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
    model_data.norm.apply(&mut d.features, d.n_features);
    Ok((model_data, d))
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

/// `arg` as a POSIX shell reads it back: as is when it holds only safe characters, else in
/// single quotes.
pub fn shell_quote(arg: &str) -> String {
    if !arg.is_empty() && arg.chars().all(|c| c.is_ascii_alphanumeric() || "-_./,=:+@%".contains(c)) {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}
