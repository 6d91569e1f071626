//! One CSV row's fields into numbers, checked against the column roles, with errors naming
//! the file, line and column; whole chunks of rows, plain (split on the separator) or quoted
//! (through the csv crate). Missing values are kept as NaN (a missing label as
//! [`MISSING_LABEL`]) and counted, for `data::csv::fill` to refuse, fill or drop.

use super::detect::Sep;
use super::roles::Role;
use super::{csv_error, is_blank, lines, reader};
use crate::data::dialect::is_missing;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::path::Path;

/// The most classes a label column may imply (labels are checked against it when
/// `classes` is not given, so a stray huge number cannot size a huge output layer).
pub const MAX_CLASSES: usize = 100_000;

/// A missing label, until the row is dropped (or the file refused).
pub(super) const MISSING_LABEL: u32 = u32::MAX;

/// How the label column is read.
pub(super) enum LabelMode {
    /// Integers; on text, an error if `strict`, else the chunk stops and says so (the file is
    /// then read again as [`LabelMode::Text`]).
    Numbers { strict: bool },
    /// Names, collected per row; classes are their sorted distinct values.
    Text,
    /// Names of a model, in class order.
    Known { index: HashMap<Vec<u8>, u32>, names: Vec<String> },
}

/// A file's columns: their roles, their names (from the header, if any), the separator, the
/// class count labels are checked against, and how labels are read.
pub(super) struct Layout<'a> {
    pub(super) path: &'a Path,
    pub(super) roles: Vec<Role>,
    pub(super) names: Option<Vec<String>>,
    pub(super) classes: Option<usize>,
    pub(super) sep: Sep,
    pub(super) labels: LabelMode,
    /// The first one-hot label column, if any.
    pub(super) one_hot_start: Option<usize>,
}

/// Where a value sits: line, 0-based column, its text.
#[derive(Clone, Debug)]
pub(super) struct Spot {
    pub(super) line: u64,
    pub(super) col: usize,
    pub(super) text: String,
}

/// One chunk's parsed rows.
#[derive(Default)]
pub(super) struct Parsed {
    pub(super) features: Vec<f32>,
    pub(super) labels: Vec<u32>,
    pub(super) targets: Vec<f32>,
    /// Under [`LabelMode::Text`], each row's label.
    pub(super) label_text: Vec<String>,
    /// Missing values (features, labels and targets) and the first of them.
    pub(super) n_missing: usize,
    pub(super) first_missing: Option<Spot>,
    /// The first missing label or target.
    pub(super) first_missing_label: Option<Spot>,
    /// A label was text under `LabelMode::Numbers { strict: false }`: parsing stopped there.
    pub(super) text_label: bool,
    /// The kept columns' text (`keep_cols`), row by row.
    pub(super) kept: Vec<String>,
}

/// A field as a number. Plain non-negative integers of up to 9 digits (pixels, counts,
/// labels: most of an ML data set) take a fast path that is exact; anything else goes
/// through the standard library's correctly rounded parser.
pub(super) fn parse_number(field: &[u8]) -> Option<f64> {
    if let Some(v) = small_integer(field) {
        return Some(v as f64);
    }
    std::str::from_utf8(field).ok()?.trim().parse::<f64>().ok()
}

/// A plain non-negative integer of up to 9 digits, exactly.
#[inline]
fn small_integer(field: &[u8]) -> Option<u32> {
    (!field.is_empty() && field.len() <= 9 && field.iter().all(u8::is_ascii_digit))
        .then(|| field.iter().fold(0u32, |acc, &d| acc * 10 + (d - b'0') as u32))
}

/// What a field holds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Value {
    Number(f64),
    Missing,
    Text,
}

/// A field's value; with `decimal_comma`, `1,5` is 1.5 (one comma, no point).
pub(super) fn value(field: &[u8], decimal_comma: bool) -> Value {
    if let Some(v) = parse_number(field) {
        return if v.is_nan() { Value::Missing } else { Value::Number(v) };
    }
    let t = field.trim_ascii();
    if is_missing(t) {
        return Value::Missing;
    }
    if decimal_comma && !t.contains(&b'.') && t.iter().filter(|&&b| b == b',').count() == 1 {
        let dotted: Vec<u8> = t.iter().map(|&b| if b == b',' { b'.' } else { b }).collect();
        if let Some(v) = parse_number(&dotted) {
            return Value::Number(v);
        }
    }
    Value::Text
}

/// The one-hot columns of a row seen so far.
#[derive(Default)]
struct Hot {
    /// 0-based file columns holding a 1.
    ones: Vec<usize>,
    missing: bool,
}

impl Layout<'_> {
    pub(super) fn error(&self, line: u64, col: usize, message: String) -> Error {
        Error::Parse {
            path: self.path.to_path_buf(),
            line,
            column: Some(col + 1),
            field: self.names.as_ref().map(|n| n[col].clone()),
            message,
        }
    }

    fn line_error(&self, line: u64, message: String) -> Error {
        Error::Parse { path: self.path.to_path_buf(), line, column: None, field: None, message }
    }

    /// Counts a missing value at (`line`, `col`).
    fn missing(line: u64, col: usize, field: &[u8], label: bool, out: &mut Parsed) {
        out.n_missing += 1;
        let spot = || Spot { line, col, text: super::excerpt(field.trim_ascii()) };
        if out.first_missing.is_none() {
            out.first_missing = Some(spot());
        }
        if label && out.first_missing_label.is_none() {
            out.first_missing_label = Some(spot());
        }
    }

    /// Parses one row's fields into `out`.
    fn row<'f>(&self, line: u64, fields: impl Iterator<Item = &'f [u8]>, out: &mut Parsed) -> Result<()> {
        let n_cols = self.roles.len();
        let mut n = 0;
        let mut hot = Hot::default();
        for (col, field) in fields.enumerate() {
            n = col + 1;
            let Some(&role) = self.roles.get(col) else { continue };
            // The common case first: a pixel or a count.
            if role == Role::Feature
                && let Some(v) = small_integer(field)
            {
                out.features.push(v as f32);
                continue;
            }
            if role == Role::Keep {
                let text = String::from_utf8_lossy(field.trim_ascii());
                out.kept.push(
                    text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(&text).to_string(),
                );
                continue;
            }
            if role == Role::Label {
                self.label(line, col, field, out)?;
                if out.text_label {
                    return Ok(());
                }
                continue;
            }
            let v = match value(field, self.sep.decimal_comma()) {
                Value::Number(v) => v,
                Value::Missing => {
                    Self::missing(line, col, field, role != Role::Feature, out);
                    f64::NAN
                }
                Value::Text => {
                    let text = super::excerpt(field.trim_ascii());
                    if text.starts_with('\u{feff}') {
                        return Err(self.error(
                            line,
                            col,
                            "starts with a byte-order mark (U+FEFF) inside the file (a second file pasted \
                             in?): remove it"
                                .into(),
                        ));
                    }
                    return Err(self.error(line, col, format!("expected a number, found {text:?}")));
                }
            };
            let v32 = v as f32;
            if !v.is_nan() && !v32.is_finite() {
                let why = if v.is_finite() { " within the f32 range (±3.4e38)" } else { "" };
                let text = super::excerpt(field.trim_ascii());
                return Err(self.error(line, col, format!("expected a finite number{why}, found {text}")));
            }
            match role {
                Role::Feature => out.features.push(v32),
                Role::Target => out.targets.push(v32),
                Role::OneHot if v.is_nan() => hot.missing = true,
                Role::OneHot if v == 1.0 => hot.ones.push(col),
                Role::OneHot if v == 0.0 => {}
                Role::OneHot => {
                    let text = super::excerpt(field.trim_ascii());
                    return Err(self.error(
                        line,
                        col,
                        format!("expected 0 or 1 in a `one_hot` label column, found {text}"),
                    ));
                }
                Role::Label | Role::Keep => unreachable!("labels and kept columns are read above"),
            }
        }
        if n != n_cols {
            return Err(
                self.line_error(line, format!("expected {n_cols} fields like the first row, found {n}"))
            );
        }
        if let Some(first) = self.one_hot_start {
            self.one_hot(line, first, hot, out)?;
        }
        Ok(())
    }

    /// The class of a row's one-hot columns (which start at column `first`).
    fn one_hot(&self, line: u64, first: usize, hot: Hot, out: &mut Parsed) -> Result<()> {
        if hot.missing {
            out.labels.push(MISSING_LABEL);
            return Ok(());
        }
        if let [one] = hot.ones[..] {
            out.labels.push((one - first) as u32);
            return Ok(());
        }
        let cols = format!("columns {}-{}", first + 1, self.roles.len());
        let found = match &hot.ones[..] {
            [] => "no 1".to_string(),
            ones => {
                let at: Vec<String> = ones.iter().map(|c| (c + 1).to_string()).collect();
                format!("1s in columns {}", at.join(", "))
            }
        };
        Err(self.line_error(
            line,
            format!("the `one_hot` label ({cols}) should hold exactly one 1 and 0s, found {found}"),
        ))
    }

    /// Reads a row's class label into `out`.
    fn label(&self, line: u64, col: usize, field: &[u8], out: &mut Parsed) -> Result<()> {
        let t = field.trim_ascii();
        let v = parse_number(t);
        if v.is_some_and(f64::is_nan) || (v.is_none() && is_missing(t)) {
            Self::missing(line, col, field, true, out);
            out.labels.push(MISSING_LABEL);
            if matches!(self.labels, LabelMode::Text) {
                out.label_text.push(String::new());
            }
            return Ok(());
        }
        let text = || String::from_utf8_lossy(t).to_string();
        let quoted = || super::excerpt(t);
        match (&self.labels, v) {
            (LabelMode::Known { index, names }, _) => match index.get(t) {
                Some(&k) => out.labels.push(k),
                None => {
                    let shown: Vec<&str> = names.iter().take(10).map(String::as_str).collect();
                    let more = if names.len() > 10 { ", ..." } else { "" };
                    return Err(self.error(
                        line,
                        col,
                        format!(
                            "label {:?} is not one of the model's {} classes ({}{more})",
                            quoted(),
                            names.len(),
                            shown.join(", ")
                        ),
                    ));
                }
            },
            (LabelMode::Text, _) => {
                out.labels.push(0);
                out.label_text.push(text());
            }
            (LabelMode::Numbers { strict: false }, None) => out.text_label = true,
            (LabelMode::Numbers { .. }, v) => out.labels.push(self.class_number(line, col, v, &quoted())?),
        }
        Ok(())
    }

    /// A numbered class label, checked: an integer below the class limit.
    fn class_number(&self, line: u64, col: usize, v: Option<f64>, text: &str) -> Result<u32> {
        let Some(v) = v.filter(|v| *v >= 0.0 && v.fract() == 0.0) else {
            return Err(self.error(
                line,
                col,
                format!("expected a class label (an integer 0, 1, 2, ...), found {text}"),
            ));
        };
        let k = self.classes.unwrap_or(MAX_CLASSES);
        if v >= k as f64 {
            let limit = if self.classes.is_some() { "`classes`" } else { "the limit of" };
            return Err(self.error(
                line,
                col,
                format!("label {text} is out of range for {limit} {k} (expected 0..{})", k - 1),
            ));
        }
        Ok(v as u32)
    }

    /// Parses one line-aligned chunk of unquoted rows whose first line is `first_line`.
    pub(super) fn parse_plain(&self, chunk: &[u8], first_line: u64) -> Result<Parsed> {
        let mut out = Parsed { features: Vec::with_capacity(chunk.len() / 3), ..Parsed::default() };
        for (line, text) in lines(chunk, first_line) {
            match self.sep {
                Sep::Char(d) => self.row(line, text.split(|&b| b == d), &mut out)?,
                Sep::Whitespace => self.row(
                    line,
                    text.split(|&b| b == b' ' || b == b'\t').filter(|f| !f.is_empty()),
                    &mut out,
                )?,
            }
            if out.text_label {
                break;
            }
        }
        Ok(out)
    }

    /// Parses rows with quoted fields split on `delimiter` (serially, with the csv crate).
    pub(super) fn parse_quoted(&self, data: &[u8], first_line: u64, delimiter: u8) -> Result<Parsed> {
        let mut out = Parsed::default();
        let mut rdr = reader(data, delimiter);
        let mut record = ::csv::ByteRecord::new();
        loop {
            match rdr.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    let mut err = csv_error(self.path, e);
                    if let Error::Parse { line, .. } = &mut err {
                        *line += first_line - 1;
                    }
                    return Err(err);
                }
            }
            if record.len() == 1 && is_blank(&record[0]) {
                continue;
            }
            let line = first_line - 1 + record.position().map_or(1, |p| p.line());
            self.row(line, record.iter(), &mut out)?;
            if out.text_label {
                break;
            }
        }
        Ok(out)
    }
}
