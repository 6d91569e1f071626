//! The `--metrics` file: one row per epoch, as CSV or JSON lines by the file's extension,
//! appended to by a resumed run, and written beside an existing file and renamed onto it only
//! when the run ends or stops to be continued (a failed run leaves the old file as it was).

use bp_par::error::{Error, Result};
use bp_par::infer::Evaluation;
use bp_par::train::{EpochMetrics, StopReason};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Per-epoch rows, as CSV or JSON lines by the file's extension.
pub struct MetricsFile {
    path: PathBuf,
    out: BufWriter<File>,
    /// A new file replacing an existing one is written here, beside it, and renamed onto it
    /// only when the run ends or is stopped to be continued ([`MetricsFile::keep`]): a run
    /// that fails leaves the old file as it was.
    pending: Option<tempfile::NamedTempFile>,
    json: bool,
    /// Separate validation and test columns (a run with a split and a test file).
    split: bool,
    /// The file was made by this run (not appended to, not replacing one), and the lines
    /// written to it (the header included).
    created: bool,
    lines: usize,
}

/// The CSV header of a metrics file; `split`: with separate validation and test columns.
fn header(split: bool) -> &'static str {
    if split {
        "epoch,loss,train_acc,val_loss,val_acc,test_loss,test_acc,lr,seconds,samples_per_s"
    } else {
        "epoch,loss,train_acc,test_loss,test_acc,lr,seconds,samples_per_s"
    }
}

impl MetricsFile {
    /// Creates the file, or with `append` (a resumed run) adds to an existing one, whose
    /// columns must then be those of this run; `split`: separate validation and test columns.
    pub fn create(path: &Path, append: bool, split: bool) -> Result<Self> {
        let existing = append && path.metadata().is_ok_and(|m| m.len() > 0);
        if existing {
            check_columns(path, split)?;
        }
        let create = |e| Error::io(path, "create the metrics file", e);
        let replaces = !existing && path.metadata().is_ok_and(|m| m.is_file());
        let (file, pending) = if replaces {
            let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            let name = path.file_name().map_or("metrics".into(), |n| n.to_string_lossy().into_owned());
            let tmp =
                tempfile::Builder::new().prefix(&format!(".{name}.")).tempfile_in(dir).map_err(create)?;
            (tmp.as_file().try_clone().map_err(create)?, Some(tmp))
        } else {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .append(existing)
                .truncate(!existing)
                .open(path)
                .map_err(create)?;
            (file, None)
        };
        let json = matches!(path.extension().and_then(|e| e.to_str()), Some("json" | "jsonl" | "ndjson"));
        let created = !existing && !replaces;
        let mut m = MetricsFile {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
            pending,
            json,
            split,
            created,
            lines: 0,
        };
        if !json && !existing {
            m.write_line(header(split))?;
        }
        Ok(m)
    }

    fn write_line(&mut self, line: &str) -> Result<()> {
        self.lines += 1;
        writeln!(self.out, "{line}")
            .and_then(|_| self.out.flush())
            .map_err(|e| Error::io(&self.path, "write the metrics file", e))
    }

    /// One epoch's row; `test`: the test file's figures on the epoch's weights (written in
    /// the `test_*` columns of a file with separate validation columns).
    pub fn row(&mut self, m: &EpochMetrics, test: Option<&Evaluation>) -> Result<()> {
        if self.split {
            return self.split_row(m, test);
        }
        let line = if self.json {
            serde_json::json!({
                "epoch": m.epoch, "loss": m.loss, "train_acc": m.train_acc, "test_loss": m.test_loss,
                // The f32 rate as written in the CSV (its shortest decimal), not widened to f64.
                "test_acc": m.test_acc, "lr": super::common::json_f32(m.lr),
                "seconds": m.seconds, "samples_per_s": m.samples_per_s,
            })
            .to_string()
        } else {
            let opt = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
            format!(
                "{},{},{},{},{},{},{},{}",
                m.epoch,
                m.loss,
                opt(m.train_acc),
                opt(m.test_loss),
                opt(m.test_acc),
                m.lr,
                m.seconds,
                m.samples_per_s
            )
        };
        self.write_line(&line)
    }

    /// A row with separate validation (the run's held-out figures) and test columns.
    fn split_row(&mut self, m: &EpochMetrics, test: Option<&Evaluation>) -> Result<()> {
        let (test_loss, test_acc) = (test.map(|e| e.loss), test.and_then(Evaluation::accuracy));
        let line = if self.json {
            serde_json::json!({
                "epoch": m.epoch, "loss": m.loss, "train_acc": m.train_acc, "val_loss": m.test_loss,
                "val_acc": m.test_acc, "test_loss": test_loss, "test_acc": test_acc,
                "lr": super::common::json_f32(m.lr), "seconds": m.seconds, "samples_per_s": m.samples_per_s,
            })
            .to_string()
        } else {
            let opt = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
            let held = [m.train_acc, m.test_loss, m.test_acc, test_loss, test_acc].map(opt).join(",");
            format!("{},{},{held},{},{},{}", m.epoch, m.loss, m.lr, m.seconds, m.samples_per_s)
        };
        self.write_line(&line)
    }

    /// After a failed run: a file this run made without a single epoch's row (its header
    /// alone) is removed; one with rows stays (it shows how the run failed).
    pub fn discard_if_empty(&mut self) {
        let header = usize::from(!self.json);
        if self.created && self.lines <= header {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    /// Whether the file has separate validation and test columns.
    pub fn split(&self) -> bool {
        self.split
    }

    /// Keeps what the run wrote: a file written beside the one it replaces is renamed onto
    /// it (with the old file's mode). Not called for a failed run, whose rows are then dropped.
    pub fn keep(&mut self) -> Result<()> {
        self.out.flush().map_err(|e| Error::io(&self.path, "write the metrics file", e))?;
        if let Some(tmp) = self.pending.take() {
            #[cfg(unix)]
            if let Ok(meta) = self.path.metadata() {
                let _ = tmp.as_file().set_permissions(meta.permissions());
            }
            tmp.persist(&self.path)
                .map_err(|e| Error::io(&self.path, "replace the metrics file", e.error))?;
        }
        Ok(())
    }

    /// The stopping rule that ended the run, after the rows: a `#` comment line in a CSV
    /// (its header stays as it was; `show curves`, numpy and `pandas.read_csv(...,
    /// comment="#")` skip it), an object with a `stop` key in JSON lines.
    pub fn stop(&mut self, reason: &StopReason) -> Result<()> {
        let line = if self.json {
            serde_json::json!({ "stop": reason.rule(), "epoch": reason.epoch(), "reason": reason.to_string() })
                .to_string()
        } else {
            format!("# stop: {} at epoch {}: {reason}", reason.rule(), reason.epoch())
        };
        self.write_line(&line)
    }
}

/// Refuses to append to a metrics file whose columns are not this run's: a CSV whose header
/// differs, or JSON lines with (or without) `val_loss` keys where this run has none (or has
/// them). A resumed run that adds or drops `--test` beside its split would otherwise mix
/// layouts in one file.
fn check_columns(path: &Path, split: bool) -> Result<()> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "read the metrics file", e))?;
    let Some(first) = text.lines().find(|l| !l.trim().is_empty()) else { return Ok(()) };
    let ok = if first.trim_start().starts_with('{') {
        first.contains("\"val_loss\"") == split || first.contains("\"stop\"")
    } else {
        first.trim() == header(split)
    };
    if ok {
        return Ok(());
    }
    let (ours, theirs) = if split {
        ("separate validation and test columns", "one held-out set's")
    } else {
        ("one held-out set's columns", "separate validation and test columns")
    };
    Err(Error::data(
        path,
        format!(
            "has {theirs}, but this run writes {ours} (--test given with a --val-split, or not, \
             unlike the run that wrote it): give the resumed run its original --test, or a new --metrics file"
        ),
    ))
}
