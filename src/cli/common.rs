//! What the commands share: writing results on stdout, reading a model with data prepared for
//! it, the load options from the label flags, and the thread count.

use super::args::{CommonArgs, LabelArgs, SplitPart};
use bp_par::data::{self, Dataset, LoadOptions, Missing, Targets};
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

/// Prints what the reader noticed about `data` ([`Dataset::notes`]) on stderr, as warnings.
pub fn warn_notes(data: &Dataset) {
    for note in data.notes() {
        eprintln!("bp-par: warning: {}: {}", data.path().display(), super::flags::to_flags(note));
    }
}

/// The load options of the label flags, with the class or target count when known.
pub fn load_options(labels: &LabelArgs, classes: Option<usize>, targets: Option<usize>) -> LoadOptions {
    LoadOptions {
        label_col: labels.label_col.clone().unwrap_or_default(),
        targets,
        classes,
        labels: labels.labels.clone(),
        unlabeled_width: None,
        expect: None,
        delimiter: labels.delimiter.unwrap_or_default(),
        missing: labels.missing.clone().unwrap_or_default(),
        one_hot: labels.one_hot,
        class_names: Default::default(),
        keep_cols: Vec::new(),
        skip_rows: labels.skip_rows,
    }
}

/// Loads a model and a data set prepared for it (the rows `split` selects, its
/// normalisation applied).
pub fn model_and_data(
    model: &Path,
    data: &Path,
    labels: &LabelArgs,
    unlabeled_ok: bool,
    split: SplitPart,
    note_training_rows: bool,
) -> Result<(Model, Dataset)> {
    model_and_data_keeping(model, data, labels, unlabeled_ok, split, note_training_rows, &[])
}

/// [`model_and_data`] with the columns `keep_cols` carried through as text ([`Dataset::kept`]).
pub fn model_and_data_keeping(
    model: &Path,
    data: &Path,
    labels: &LabelArgs,
    unlabeled_ok: bool,
    split: SplitPart,
    note_training_rows: bool,
    keep_cols: &[String],
) -> Result<(Model, Dataset)> {
    let model_data = model::load(model)?;
    let n_out = model_data.net.arch().n_out();
    let targets = (model_data.task == Task::Regress).then_some(n_out);
    let mut opts = model_data.schema.read_options(load_options(labels, None, targets))?;
    opts.expect = Some(model_data.schema.clone());
    // The model's own kept columns (an id it was trained beside) and the ones asked for here.
    for col in keep_cols {
        if !opts.keep_cols.contains(col) {
            opts.keep_cols.push(col.clone());
        }
    }
    if split != SplitPart::All && model_data.task == Task::Classify {
        // The split's fingerprint counts the training data's classes: the model's outputs.
        opts.classes = Some(n_out);
    }
    if labels.missing == Some(Missing::Error) {
        // Asked for in so many words: missing values are refused, not filled with the model's.
        opts.missing = Missing::Error;
    }
    if unlabeled_ok {
        opts.unlabeled_width = Some(model_data.net.arch().n_in());
    }
    // Labels are checked against the model's classes after the width (a wrong file is then
    // reported as such); predict ignores labels and does not check them at all.
    let d = data::load(data, &opts)?;
    if note_training_rows {
        warn_notes(&d);
    }
    let n_in = model_data.net.arch().n_in();
    if d.n_features() != n_in {
        let hint = if !unlabeled_ok && d.n_features() + 1 == n_in {
            " (eval needs a label column beside the features; predict takes unlabeled rows)"
        } else {
            ""
        };
        return Err(Error::model(
            model,
            format!(
                "expects {n_in} input features but {} has {} per row{hint}",
                data.display(),
                d.n_features()
            ),
        ));
    }
    if let Targets::Classes { n_classes, .. } = &d.targets()
        && !unlabeled_ok
        && model_data.task == Task::Classify
        && *n_classes > n_out
    {
        // Read it again against the model's classes for the line and column of the culprit.
        data::load(data, &LoadOptions { classes: Some(n_out), ..opts })?;
    }
    let d = select_rows(model, &model_data, d, split, note_training_rows)?;
    // The rows stay raw: the model applies its own normalisation (and fills) to them, on the
    // command's threads (it runs inside their pool).
    let mut model_data = model_data;
    model_data.set_threads(bp_par::Threads::new(rayon::current_num_threads())?);
    Ok((model_data, d))
}

/// The rows of `d` that `split` selects, through the model's record of its validation split.
/// With every row selected, a note on stderr (with `note`) when they are the model's own
/// training data: its figures then mix training and held-out rows.
fn select_rows(
    model_path: &Path,
    model: &Model,
    d: Dataset,
    split: SplitPart,
    note: bool,
) -> Result<Dataset> {
    if split == SplitPart::All {
        if let Some(r) = &model.schema.held_out
            && note
            && d.n_samples() == r.rows
            && d.fingerprint() == r.fingerprint
        {
            let held = d.split(r.fraction, r.seed).map_or(0, |(_, v)| v.n_samples());
            eprintln!(
                "bp-par: note: {} is the model's training data: its {} rows include the {} training \
                 rows; --split validation reads only the {held} held-out rows",
                d.path().display(),
                r.rows,
                r.rows - held
            );
        }
        return Ok(d);
    }
    let Some(record) = &model.schema.held_out else {
        return Err(Error::model(
            model_path,
            "was not trained with --val-split, so it has no held-out rows to select with --split",
        ));
    };
    let (training, validation) = d.resplit(record)?;
    Ok(if split == SplitPart::Validation { validation } else { training })
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
pub const MAX_THREADS: usize = bp_par::Threads::MAX;

/// Checks a `--threads` value.
pub fn check_threads(n: usize) -> Result<usize> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match n {
        0 => Err(Error::config("--threads must be at least 1")),
        n if n > MAX_THREADS => Err(Error::config(format!(
            "--threads {n} is more than the {MAX_THREADS} bp-par allows (this machine has {})",
            bp_par::error::count(cores, "core")
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

/// Checks that `path` can be written (its folder exists, it is not a folder) before any work,
/// so a typo does not cost a run; `what` names the option (`--save`, `-o`).
pub fn check_writable(path: &Path, what: &str) -> Result<()> {
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

/// An f32 as JSON: its shortest decimal that reads back to the same f32 (`0.1`, not the
/// widened `0.10000000149011612`); `null` when it is not finite.
pub fn json_f32(v: f32) -> serde_json::Value {
    // Rust writes an f32 as its shortest round-trip decimal; read as f64, serde_json prints it
    // back the same.
    v.to_string()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(serde_json::Value::Null, Into::into)
}

/// [`json_f32`] of every value, as a JSON array.
pub fn json_f32s(values: &[f32]) -> serde_json::Value {
    values.iter().map(|&v| json_f32(v)).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn f32_json_is_the_shortest_round_trip_decimal() {
        let shown = |v: f32| super::json_f32(v).to_string();
        assert_eq!(shown(0.1), "0.1");
        assert_eq!(shown(0.001), "0.001");
        assert_eq!(shown(3.446_532e-27), "3.446532e-27");
        assert_eq!(shown(1.0), "1.0");
        assert_eq!(shown(f32::NAN), "null");
        for v in [0.1f32, 1e-30, 0.999_999_9, 123_456.79, f32::MAX, f32::MIN_POSITIVE] {
            let back: f32 = shown(v).parse().unwrap();
            assert_eq!(back.to_bits(), v.to_bits(), "{v}");
        }
    }
}
