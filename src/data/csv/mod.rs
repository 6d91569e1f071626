//! CSV reader: separator and header detection, label/target/one-hot columns, class names,
//! missing values, strict numeric parsing, parallel over line-aligned chunks of the file
//! (rayon), with errors naming file, line and column.
//!
//! Tolerated: a UTF-8 BOM, CRLF line ends, blank lines, spaces around fields, quoted fields
//! (comma, tab, semicolon or any one-byte separator; whitespace-separated files have none).
//! Refused with a message: ragged rows, non-numeric fields, inf, non-integer or negative
//! labels, labels outside `--classes`, missing values unless `missing` says otherwise, a file
//! with no data rows.

mod assemble;
mod detect;
mod expect;
mod guess;
mod labels;
mod roles;
mod rows;
#[cfg(test)]
mod tests;

use super::{ClassNames, Dataset, LoadOptions};
use crate::error::{Error, Result};
use detect::Sep;
use rayon::prelude::*;
use roles::{Role, resolve_roles};
use rows::{LabelMode, Layout, Parsed};

pub(super) use rows::MAX_CLASSES;
use std::path::Path;

/// Chunks of about this many bytes are parsed in parallel.
const CHUNK_BYTES: usize = 1 << 20;

/// A csv-crate reader over `bytes` split on `delimiter`, that leaves the header and ragged
/// rows to us.
fn reader(bytes: &[u8], delimiter: u8) -> ::csv::Reader<&[u8]> {
    ::csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(bytes)
}

/// The start and end of a line, for a message: at most 60 characters.
fn excerpt(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= 60 {
        return text.into_owned();
    }
    let head: String = chars[..40].iter().collect();
    let tail: String = chars[chars.len() - 15..].iter().collect();
    format!("{head}…{tail}")
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
    let bytes = skip_lines(path, bytes, opts.skip_rows)?;

    // The first lines decide the separator, the header and the column count.
    let sample: Vec<(u64, &[u8])> =
        lines(bytes, opts.skip_rows as u64 + 1).take(detect::SAMPLE_LINES).collect();
    let Some(&(first_line, first)) = sample.first() else {
        return Err(Error::data(path, "is empty: expected CSV rows of numbers"));
    };
    let sep = detect::separator(path, &sample, opts.delimiter)?;
    let quoted = bytes.contains(&b'"') && sep != Sep::Whitespace;
    let fields = first_fields(path, first, sep, quoted)?;
    detect::odd_first_line(path, &sample, fields.len(), sep)?;
    let second = sample.get(1).map(|&(_, l)| sep.split(l));
    let as_bytes: Vec<&[u8]> = fields.iter().map(|f| f.as_bytes()).collect();
    let is_header = detect::is_header(&as_bytes, second.as_deref(), sep.decimal_comma());
    detect::trailing_separator(path, &sample[is_header as usize..], sep)?;
    let mut notes = Vec::new();
    if is_header && fields.first().is_some_and(|f| f.is_empty()) && opts.keep_cols.is_empty() {
        notes.push(
            "the first column has no name, as pandas writes its index (to_csv without index=False): it \
             is read as a feature; save the file with index=False"
                .to_string(),
        );
    }
    if is_header && !detect::is_index_header(&as_bytes) {
        notes.extend(detect::numeric_names(first_line, &fields, sep.decimal_comma()));
    }
    // A header that may be a summary line: said beside any error reading the rest.
    let note = notes.first().cloned();
    read_rows(
        path,
        bytes,
        opts,
        Head { first_line, first, sep, quoted, is_header, fields, notes, sample: &sample },
    )
    .map_err(|e| match note {
        Some(n) => e.noted(&n),
        None => e,
    })
}

/// What the first lines decided.
struct Head<'a> {
    first_line: u64,
    first: &'a [u8],
    sep: Sep,
    quoted: bool,
    is_header: bool,
    fields: Vec<String>,
    notes: Vec<String>,
    sample: &'a [(u64, &'a [u8])],
}

/// Reads the rows after the first lines (`head`).
fn read_rows(path: &Path, bytes: &[u8], opts: &LoadOptions, head: Head<'_>) -> Result<Dataset> {
    let Head { first_line, first, sep, quoted, is_header, fields, notes, sample } = head;
    let n_cols = fields.len();
    let names = is_header.then_some(fields);
    let mut roles = resolve_roles(path, n_cols, names.as_deref(), opts)?;
    // A guessed label column is read as a feature, then checked (`guess`).
    let guess = guess::is_guess(names.as_deref(), n_cols, opts);
    let guessed =
        guess && guess::numbers_at_the_ends(path, sample.get(is_header as usize).map(|&(_, l)| l), sep)?;
    // A guessed first column of names is a label of names, checked once read.
    let names_guessed = guess && !guessed;
    if guessed {
        roles[0] = Role::Feature;
    }
    let labels = match &opts.class_names {
        ClassNames::Auto => LabelMode::Numbers { strict: false },
        ClassNames::Numbers => LabelMode::Numbers { strict: true },
        ClassNames::Names(names) => LabelMode::Known {
            index: names.iter().enumerate().map(|(i, n)| (n.as_bytes().to_vec(), i as u32)).collect(),
            names: names.clone(),
        },
    };
    let one_hot_start = roles.iter().position(|&r| r == Role::OneHot);
    let mut layout = Layout { path, roles, names, classes: opts.classes, sep, labels, one_hot_start };

    // Data starts after the header line, or at the first line itself.
    let (data, data_line) = if is_header {
        let offset = first.as_ptr() as usize - bytes.as_ptr() as usize + first.len();
        let rest = &bytes[offset..];
        let rest = rest.strip_prefix(b"\r").unwrap_or(rest);
        (rest.strip_prefix(b"\n").unwrap_or(rest), first_line + 1)
    } else {
        (&bytes[first.as_ptr() as usize - bytes.as_ptr() as usize..], first_line)
    };

    let mut parsed = parse_all(&layout, data, data_line, quoted)?;
    let line_of = |r: usize| lines(data, data_line).nth(r).map_or(data_line, |(l, _)| l);
    if parsed.iter().any(|p| p.text_label) {
        // A label column of names (`cat`, `setosa`): read again, collecting them; names
        // throughout, not numbers with a few stray tokens.
        layout.labels = LabelMode::Text;
        parsed = parse_all(&layout, data, data_line, quoted)?;
        labels::check_all_names(&layout, &parsed, &line_of)?;
    }
    if guessed {
        guess::take_first_as_label(&mut layout, &mut parsed, &line_of)?;
    }
    let mut data = assemble::assemble(&layout, parsed, opts, &line_of)?;
    data.notes.extend(notes);
    if names_guessed {
        guess::check_name_labels(&data)?;
    }
    Ok(data)
}

/// `bytes` after its first `n` lines (`skip_rows`), refused when that leaves nothing.
fn skip_lines<'a>(path: &Path, bytes: &'a [u8], n: usize) -> Result<&'a [u8]> {
    let mut rest = bytes;
    for skipped in 0..n {
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => rest = &rest[i + 1..],
            None => {
                return Err(Error::data(
                    path,
                    format!(
                        "has {} lines, and `skip_rows` {n} skips them all",
                        skipped + !rest.is_empty() as usize
                    ),
                ));
            }
        }
    }
    Ok(rest)
}

/// Parses the rows of `data` (first line `data_line`): quoted fields, which may hold
/// newlines, in one piece, other files in parallel chunks.
fn parse_all(layout: &Layout<'_>, data: &[u8], data_line: u64, quoted: bool) -> Result<Vec<Parsed>> {
    match layout.sep {
        Sep::Char(d) if quoted => Ok(vec![layout.parse_quoted(data, data_line, d)?]),
        _ => parse_chunks(layout, data, data_line),
    }
}

/// The fields of the first non-blank line `first`, trimmed (quotes removed when `quoted`).
fn first_fields(path: &Path, first: &[u8], sep: Sep, quoted: bool) -> Result<Vec<String>> {
    let text = |f: &[u8]| String::from_utf8_lossy(f).trim().to_string();
    match sep {
        Sep::Char(d) if quoted => {
            let mut record = ::csv::ByteRecord::new();
            reader(first, d).read_byte_record(&mut record).map_err(|e| csv_error(path, e))?;
            Ok(record.iter().map(text).collect())
        }
        _ => Ok(sep.split(first).into_iter().map(text).collect()),
    }
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
    let results: Vec<Result<Parsed>> =
        chunks.par_iter().zip(&starts).map(|(c, &l)| layout.parse_plain(c, l)).collect();
    // In file order, so the error named is the first, whatever the threads; a chunk that met a
    // label of names ends the read (the file is read again for names).
    let mut parsed = Vec::with_capacity(results.len());
    for r in results {
        let p = r?;
        let stop = p.text_label;
        parsed.push(p);
        if stop {
            break;
        }
    }
    Ok(parsed)
}
