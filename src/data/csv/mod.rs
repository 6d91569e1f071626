//! CSV reader: header detection, label/target columns, strict numeric parsing, parallel over
//! line-aligned chunks of the file (rayon), with errors naming file, line and column.
//!
//! Tolerated: a UTF-8 BOM, CRLF line ends, blank lines, spaces around fields, quoted fields.
//! Refused with a message: ragged rows, non-numeric fields, NaN/inf, non-integer or negative
//! labels, labels outside `--classes`, a file with no data rows.

mod roles;
mod rows;
#[cfg(test)]
mod tests;

use super::{Dataset, LabelColumn, LoadOptions, Schema, Targets, square_side};
use crate::error::{Error, Result};
use rayon::prelude::*;
use roles::{Role, resolve_roles};
use rows::{Layout, Parsed};
use std::path::Path;

/// Chunks of about this many bytes are parsed in parallel.
const CHUNK_BYTES: usize = 1 << 20;

/// A csv-crate reader over `bytes` that leaves the header and ragged rows to us.
fn reader(bytes: &[u8]) -> ::csv::Reader<&[u8]> {
    ::csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes)
}

/// Whether a line holds nothing but whitespace.
fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// The lines of `bytes` with their 1-based numbers (counting from `first`), without line
/// ends (LF or CRLF), blank lines skipped.
fn lines(bytes: &[u8], first: u64) -> impl Iterator<Item = (u64, &[u8])> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    body.split(|&b| b == b'\n')
        .zip(first..)
        .map(|(l, n)| (n, l.strip_suffix(b"\r").unwrap_or(l)))
        .filter(|(_, l)| !is_blank(l))
}

/// A csv-crate error as a parse error of `path` at its line.
fn csv_error(path: &Path, e: ::csv::Error) -> Error {
    let line = e.position().map_or(0, |p| p.line());
    Error::Parse { path: path.to_path_buf(), line, column: None, field: None, message: e.to_string() }
}

/// Splits `bytes` into chunks that end just after a newline (the last may not).
fn line_chunks(bytes: &[u8], target: usize) -> Vec<&[u8]> {
    let mut chunks = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let mut end = (start + target).min(bytes.len());
        while end < bytes.len() && bytes[end - 1] != b'\n' {
            end += 1;
        }
        chunks.push(&bytes[start..end]);
        start = end;
    }
    chunks
}

/// Parses a whole CSV file held in memory.
pub(super) fn parse(path: &Path, bytes: &[u8], opts: &LoadOptions) -> Result<Dataset> {
    if opts.labels.is_some() {
        return Err(Error::config(format!(
            "`labels` names the labels file of IDX images, but {} is CSV: use `label_col`",
            path.display()
        )));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().take(4096).any(|&b| b == 0) {
        return Err(Error::data(path, "is neither a CSV text file (it holds binary bytes) nor an IDX file"));
    }

    // The first non-blank line decides the header and the column count.
    let Some((first_line, first)) = lines(bytes, 1).next() else {
        return Err(Error::data(path, "is empty: expected CSV rows of numbers"));
    };
    let quoted = bytes.contains(&b'"');
    let fields = first_fields(path, first, first_line, quoted)?;
    let n_cols = fields.len();
    let is_header = fields.iter().any(|f| f.parse::<f64>().is_err());
    let names = is_header.then_some(fields);
    let roles = resolve_roles(path, n_cols, names.as_deref(), opts)?;
    let layout = Layout { path, roles, names, classes: opts.classes };

    // Data starts after the header line, or at the first line itself.
    let (data, data_line) = if is_header {
        let offset = first.as_ptr() as usize - bytes.as_ptr() as usize + first.len();
        let rest = &bytes[offset..];
        let rest = rest.strip_prefix(b"\r").unwrap_or(rest);
        (rest.strip_prefix(b"\n").unwrap_or(rest), first_line + 1)
    } else {
        (&bytes[first.as_ptr() as usize - bytes.as_ptr() as usize..], first_line)
    };

    // Quoted fields may hold newlines: parse those files in one piece.
    let parsed: Vec<Parsed> = if quoted {
        vec![layout.parse_quoted(data, data_line)?]
    } else {
        parse_chunks(&layout, data, data_line)?
    };
    assemble(&layout, parsed, opts)
}

/// The fields of the first non-blank line `first` (line number `first_line`), trimmed; an
/// error if there is only one, which usually means another separator than the comma.
fn first_fields(path: &Path, first: &[u8], first_line: u64, quoted: bool) -> Result<Vec<String>> {
    let fields: Vec<String> = if quoted {
        let mut record = ::csv::ByteRecord::new();
        reader(first).read_byte_record(&mut record).map_err(|e| csv_error(path, e))?;
        record.iter().map(|f| String::from_utf8_lossy(f).trim().to_string()).collect()
    } else {
        first.split(|&b| b == b',').map(|f| String::from_utf8_lossy(f).trim().to_string()).collect()
    };
    if fields.len() == 1 {
        let sep = [';', '\t', ' ', '|'].into_iter().find(|c| fields[0].contains(*c));
        let hint =
            sep.map_or(String::new(), |c| format!(" (the first line has {c:?} in it: bp-par reads commas)"));
        return Err(Error::data(
            path,
            format!(
                "line {first_line} has a single column; expected comma-separated features and a label{hint}"
            ),
        ));
    }
    Ok(fields)
}

/// Parses unquoted `data`, whose first line is `data_line`, in line-aligned chunks in
/// parallel; each chunk knows its first line number, so errors name the right line.
fn parse_chunks(layout: &Layout<'_>, data: &[u8], data_line: u64) -> Result<Vec<Parsed>> {
    let chunks = line_chunks(data, CHUNK_BYTES);
    let newlines: Vec<u64> =
        chunks.par_iter().map(|c| c.iter().filter(|&&b| b == b'\n').count() as u64).collect();
    let starts: Vec<u64> = newlines
        .iter()
        .scan(data_line, |line, n| {
            let start = *line;
            *line += n;
            Some(start)
        })
        .collect();
    chunks.par_iter().zip(&starts).map(|(c, &l)| layout.parse_plain(c, l)).collect()
}

/// The chunks' rows, in order, as a [`Dataset`]: classes (counted) when every row has a
/// label, targets with `--targets`, neither otherwise.
fn assemble(layout: &Layout<'_>, parsed: Vec<Parsed>, opts: &LoadOptions) -> Result<Dataset> {
    let path = layout.path;
    let n_feat = layout.roles.iter().filter(|&&r| r == Role::Feature).count();
    let total: usize = parsed.iter().map(|p| p.features.len()).sum();
    if total == 0 {
        return Err(Error::data(path, "has a first row but no data rows"));
    }
    let mut features = Vec::with_capacity(total);
    let mut labels = Vec::new();
    let mut values = Vec::new();
    for p in parsed {
        features.extend_from_slice(&p.features);
        labels.extend_from_slice(&p.labels);
        values.extend_from_slice(&p.targets);
    }
    let n = total / n_feat;
    let targets = if let Some(k) = opts.targets {
        Targets::Values { values, n_outputs: k }
    } else if labels.len() == n {
        let n_classes = super::class_count(path, &labels, opts.classes, |i| format!("row {}", i + 1))?;
        Targets::Classes { labels, n_classes }
    } else {
        Targets::None
    };
    let image_shape = square_side(n_feat).map(|s| [s, s]);
    let schema = layout.schema(matches!(targets, Targets::Classes { .. }));
    Ok(Dataset { path: path.to_path_buf(), n_features: n_feat, features, targets, image_shape, schema })
}

impl Layout<'_> {
    /// What the columns were: their count, the label's position and name (when the rows are
    /// labelled), and the header's names of the features and targets.
    fn schema(&self, labelled: bool) -> Schema {
        let named = |role: Role| -> Option<Vec<String>> {
            let names = self.names.as_ref()?;
            Some(self.roles.iter().zip(names).filter(|(r, _)| **r == role).map(|(_, n)| n.clone()).collect())
        };
        let label = self
            .roles
            .iter()
            .position(|&r| r == Role::Label)
            .filter(|_| labelled)
            .map(|index| LabelColumn { index, name: self.names.as_ref().map(|n| n[index].clone()) });
        let targets = named(Role::Target).filter(|t| !t.is_empty());
        Schema {
            n_columns: Some(self.roles.len()),
            label,
            feature_names: named(Role::Feature),
            target_names: targets,
            class_names: None,
            image: None,
        }
    }
}
