//! One CSV row's fields into numbers, checked against the column roles, with errors naming
//! the file, line and column; whole chunks of rows, plain (split on commas) or quoted (through
//! the csv crate).

use super::roles::Role;
use super::{csv_error, is_blank, lines, reader};
use crate::error::{Error, Result};
use std::path::Path;

/// The most classes a label column may imply (labels are checked against it when
/// `classes` is not given, so a stray huge number cannot size a huge output layer).
pub const MAX_CLASSES: usize = 100_000;

/// A file's columns: their roles, their names (from the header, if any), and the class count
/// labels are checked against.
pub(super) struct Layout<'a> {
    pub(super) path: &'a Path,
    pub(super) roles: Vec<Role>,
    pub(super) names: Option<Vec<String>>,
    pub(super) classes: Option<usize>,
}

/// One chunk's parsed rows.
#[derive(Default)]
pub(super) struct Parsed {
    pub(super) features: Vec<f32>,
    pub(super) labels: Vec<u32>,
    pub(super) targets: Vec<f32>,
}

/// A field as a number. Plain non-negative integers of up to 9 digits (pixels, counts,
/// labels: most of an ML data set) take a fast path that is exact; anything else goes
/// through the standard library's correctly rounded parser.
pub(super) fn parse_number(field: &[u8]) -> Option<f64> {
    if !field.is_empty() && field.len() <= 9 && field.iter().all(u8::is_ascii_digit) {
        return Some(field.iter().fold(0u32, |acc, &d| acc * 10 + (d - b'0') as u32) as f64);
    }
    std::str::from_utf8(field).ok()?.trim().parse::<f64>().ok()
}

impl Layout<'_> {
    fn error(&self, line: u64, col: usize, message: String) -> Error {
        Error::Parse {
            path: self.path.to_path_buf(),
            line,
            column: Some(col + 1),
            field: self.names.as_ref().map(|n| n[col].clone()),
            message,
        }
    }

    /// Parses one row's fields into `out`.
    fn row<'f>(&self, line: u64, fields: impl Iterator<Item = &'f [u8]>, out: &mut Parsed) -> Result<()> {
        let n_cols = self.roles.len();
        let mut n = 0;
        for (col, field) in fields.enumerate() {
            n = col + 1;
            let Some(&role) = self.roles.get(col) else { continue };
            let text = || String::from_utf8_lossy(field).trim().to_string();
            let Some(v) = parse_number(field) else {
                return Err(self.error(line, col, format!("expected a number, found {:?}", text())));
            };
            let v32 = v as f32;
            if !v32.is_finite() {
                let why = if v.is_finite() { " within the f32 range (±3.4e38)" } else { "" };
                return Err(self.error(
                    line,
                    col,
                    format!("expected a finite number{why}, found {}", text()),
                ));
            }
            match role {
                Role::Feature => out.features.push(v32),
                Role::Target => out.targets.push(v32),
                Role::Label => {
                    if v < 0.0 || v.fract() != 0.0 {
                        return Err(self.error(
                            line,
                            col,
                            format!("expected a class label (an integer 0, 1, 2, ...), found {}", text()),
                        ));
                    }
                    let k = self.classes.unwrap_or(MAX_CLASSES);
                    if v >= k as f64 {
                        let limit = if self.classes.is_some() { "`classes`" } else { "the limit of" };
                        return Err(self.error(
                            line,
                            col,
                            format!(
                                "label {} is out of range for {limit} {k} (expected 0..{})",
                                text(),
                                k - 1
                            ),
                        ));
                    }
                    out.labels.push(v as u32);
                }
            }
        }
        if n != n_cols {
            return Err(Error::Parse {
                path: self.path.to_path_buf(),
                line,
                column: None,
                field: None,
                message: format!("expected {n_cols} fields like the first row, found {n}"),
            });
        }
        Ok(())
    }

    /// Parses one line-aligned chunk of unquoted CSV whose first line is `first_line`.
    pub(super) fn parse_plain(&self, chunk: &[u8], first_line: u64) -> Result<Parsed> {
        let mut out = Parsed { features: Vec::with_capacity(chunk.len() / 3), ..Parsed::default() };
        for (line, text) in lines(chunk, first_line) {
            self.row(line, text.split(|&b| b == b','), &mut out)?;
        }
        Ok(out)
    }

    /// Parses CSV with quoted fields (serially, with the csv crate).
    pub(super) fn parse_quoted(&self, data: &[u8], first_line: u64) -> Result<Parsed> {
        let mut out = Parsed::default();
        let mut rdr = reader(data);
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
        }
        Ok(out)
    }
}
