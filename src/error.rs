//! The crate's one error type: every variant renders as one sentence that names the file
//! (and line and column, or field, where there is one) and what was expected.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Everything that can go wrong outside a programming bug.
#[derive(Debug)]
pub enum Error {
    /// A file could not be opened, read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done: "open", "read", "write to", ...
        action: &'static str,
        /// The operating system's error.
        source: io::Error,
    },
    /// A value in a text file is malformed. `line` and `column` are 1-based.
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// 1-based column, where there is one.
        column: Option<usize>,
        /// The column's header name, where there is one.
        field: Option<String>,
        /// What is wrong and what was expected.
        message: String,
    },
    /// A whole file (or its header) is unusable.
    Data {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A model file is unusable or does not fit the data.
    Model {
        /// The model file.
        path: PathBuf,
        /// What is wrong with it, or what it does not fit.
        message: String,
    },
    /// The options contradict each other or name impossible values (a usage error).
    Config(String),
    /// Something failed at run time that is not the input's fault.
    Other(String),
    /// Training produced a non-finite loss.
    Diverged {
        /// The epoch (1-based) in which the loss exploded or became non-finite.
        epoch: usize,
        /// The mini-batch (1-based) within that epoch.
        batch: usize,
        /// The learning rate in effect.
        lr: f32,
    },
    /// A signal stopped the run (after saving it); exits with `code` (130 or 143).
    Interrupted {
        /// The exit code: 130 for SIGINT, 143 for SIGTERM.
        code: u8,
        /// What was saved and how to continue.
        message: String,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A number as a person would type it: `0.1`, `5e36`, `1e-5`.
pub fn short(v: f32) -> String {
    if v != 0.0 && !(1e-3..1e5).contains(&v.abs()) { format!("{v:e}") } else { v.to_string() }
}

/// A file's column by its 0-based index, as `label_col` and `keep_cols` count them, with the
/// convention said, and its header name if it has one: `column 3 (0-based)`,
/// `column 3 ("petal", 0-based)`. Every message that numbers a column uses it.
pub fn column(index: usize, name: Option<&str>) -> String {
    match name {
        Some(n) => format!("column {index} ({n:?}, 0-based)"),
        None => format!("column {index} (0-based)"),
    }
}

/// `n` and `noun`, plural unless `n` is 1: `1 thread`, `2 threads`, `3 classes`, `2 batches`,
/// `4 epochs`.
pub fn count(n: usize, noun: &str) -> String {
    let ending = if n == 1 {
        ""
    } else if ["s", "x", "sh", "tch", "rch"].iter().any(|e| noun.ends_with(e)) {
        "es"
    } else {
        "s"
    };
    format!("{n} {noun}{ending}")
}

impl Error {
    /// An I/O failure on `path` while doing `action` ("open", "read", "write to").
    pub fn io(path: &Path, action: &'static str, source: io::Error) -> Self {
        Error::Io { path: path.to_path_buf(), action, source }
    }
    /// A data file that is unusable as a whole.
    pub fn data(path: &Path, message: impl Into<String>) -> Self {
        Error::Data { path: path.to_path_buf(), message: message.into() }
    }
    /// A model file that is unusable or does not fit.
    pub fn model(path: &Path, message: impl Into<String>) -> Self {
        Error::Model { path: path.to_path_buf(), message: message.into() }
    }
    /// Settings that contradict each other or are out of range.
    pub fn config(message: impl Into<String>) -> Self {
        Error::Config(message.into())
    }
    /// A run-time failure that is not the input's fault.
    pub fn other(message: impl Into<String>) -> Self {
        Error::Other(message.into())
    }
    /// The process exit code for this error: 2 for usage errors, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_) => 2,
            Error::Interrupted { code, .. } => *code,
            _ => 1,
        }
    }
    /// The error with `note` added to its message (what was noticed before it went wrong).
    pub(crate) fn noted(mut self, note: &str) -> Self {
        match &mut self {
            Error::Parse { message, .. } | Error::Data { message, .. } => {
                message.push_str(&format!(" (note: {note})"));
            }
            _ => {}
        }
        self
    }
    /// True for a write to a closed pipe (`bp-par predict ... | head`), which is not an error.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Io { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, action, source } => {
                write!(f, "{}: cannot {action}: {source}", path.display())
            }
            Error::Parse { path, line, column, field, message } => {
                write!(f, "{}:{line}: ", path.display())?;
                // Counted from 0 in the message, as `label_col` counts.
                if let Some(c) = column {
                    write!(f, "{}: ", self::column(c.saturating_sub(1), field.as_deref()))?;
                }
                write!(f, "{message}")
            }
            Error::Data { path, message } | Error::Model { path, message } => {
                write!(f, "{}: {message}", path.display())
            }
            Error::Config(message) | Error::Other(message) | Error::Interrupted { message, .. } => {
                f.write_str(message)
            }
            Error::Diverged { epoch, batch, lr } => write!(
                f,
                "training diverged: the loss exploded or became non-finite in epoch {epoch}, \
                 batch {batch}; try a smaller learning rate than `lr` {} (`on_divergence` halve-lr \
                 retries with half of it); unscaled inputs (`normalize` none) or large regression \
                 targets also make a rate too large",
                short(*lr)
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn counts_are_plural_unless_one() {
        let cases =
            [(1, "thread"), (2, "thread"), (0, "epoch"), (3, "class"), (2, "batch"), (2, "line search")];
        let said: Vec<String> = cases.iter().map(|&(n, w)| count(n, w)).collect();
        assert_eq!(said, ["1 thread", "2 threads", "0 epochs", "3 classes", "2 batches", "2 line searches"]);
    }
}
