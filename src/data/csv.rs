//! CSV reader: header detection, label/target columns, strict numeric parsing, parallel over
//! line-aligned chunks of the file (rayon), with errors naming file, line and column.
//!
//! Tolerated: a UTF-8 BOM, CRLF line ends, blank lines, spaces around fields, quoted fields.
//! Refused with a message: ragged rows, non-numeric fields, NaN/inf, non-integer or negative
//! labels, labels outside `--classes`, a file with no data rows.

use super::{Dataset, LabelCol, LoadOptions, Targets, square_side};
use crate::error::{Error, Result};
use rayon::prelude::*;
use std::path::Path;

/// Header names recognised as the label column (case-insensitive).
const LABEL_NAMES: [&str; 4] = ["label", "class", "target", "y"];

/// Chunks of about this many bytes are parsed in parallel.
const CHUNK_BYTES: usize = 1 << 20;

/// Where each column goes.
#[derive(Clone, Copy, PartialEq)]
enum Role {
    Feature,
    Label,
    Target,
}

struct Layout<'a> {
    path: &'a Path,
    roles: Vec<Role>,
    names: Option<Vec<String>>,
    classes: Option<usize>,
}

/// One chunk's parsed rows.
#[derive(Default)]
struct Parsed {
    features: Vec<f32>,
    labels: Vec<u32>,
    targets: Vec<f32>,
}

fn reader(bytes: &[u8]) -> ::csv::Reader<&[u8]> {
    ::csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes)
}

/// A field as a number. Plain non-negative integers of up to 9 digits (pixels, counts,
/// labels: most of an ML data set) take a fast path that is exact; anything else goes
/// through the standard library's correctly rounded parser.
fn parse_number(field: &[u8]) -> Option<f64> {
    if !field.is_empty() && field.len() <= 9 && field.iter().all(u8::is_ascii_digit) {
        return Some(field.iter().fold(0u32, |acc, &d| acc * 10 + (d - b'0') as u32) as f64);
    }
    std::str::from_utf8(field).ok()?.trim().parse::<f64>().ok()
}

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

fn csv_error(path: &Path, e: ::csv::Error) -> Error {
    let line = e.position().map_or(0, |p| p.line());
    Error::Parse { path: path.to_path_buf(), line, column: None, field: None, message: e.to_string() }
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
                        let limit = if self.classes.is_some() { "--classes" } else { "the limit of" };
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
    fn parse_plain(&self, chunk: &[u8], first_line: u64) -> Result<Parsed> {
        let mut out = Parsed { features: Vec::with_capacity(chunk.len() / 3), ..Parsed::default() };
        for (line, text) in lines(chunk, first_line) {
            self.row(line, text.split(|&b| b == b','), &mut out)?;
        }
        Ok(out)
    }

    /// Parses CSV with quoted fields (serially, with the csv crate).
    fn parse_quoted(&self, data: &[u8], first_line: u64) -> Result<Parsed> {
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

/// The most classes a label column may imply (labels are checked against it when
/// `--classes` is not given, so a stray huge number cannot size a huge output layer).
pub const MAX_CLASSES: usize = 100_000;

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

/// Decides the role of every column from the first row and the options.
fn resolve_roles(
    path: &Path,
    n_cols: usize,
    names: Option<&[String]>,
    opts: &LoadOptions,
) -> Result<Vec<Role>> {
    let mut roles = vec![Role::Feature; n_cols];
    if let Some(k) = opts.targets {
        if k == 0 || k >= n_cols {
            return Err(Error::data(
                path,
                format!(
                    "--targets {k} needs at least one feature column besides, but rows have {n_cols} fields"
                ),
            ));
        }
        roles[n_cols - k..].iter_mut().for_each(|r| *r = Role::Target);
        return Ok(roles);
    }
    let by_name =
        |wanted: &str| names.and_then(|n| n.iter().position(|h| h.trim().eq_ignore_ascii_case(wanted)));
    let label = match &opts.label_col {
        LabelCol::Auto => {
            if opts.unlabeled_width == Some(n_cols) {
                None
            } else {
                Some(LABEL_NAMES.iter().find_map(|n| by_name(n)).unwrap_or(0))
            }
        }
        LabelCol::First => Some(0),
        LabelCol::Last => Some(n_cols - 1),
        LabelCol::Index(i) if *i < n_cols => Some(*i),
        LabelCol::Index(i) => {
            return Err(Error::data(
                path,
                format!(
                    "--label-col {i} is out of range: rows have {n_cols} fields (0-based indices 0..{})",
                    n_cols - 1
                ),
            ));
        }
        LabelCol::Name(n) => match (names, by_name(n)) {
            (_, Some(i)) => Some(i),
            (None, None) => {
                return Err(Error::data(
                    path,
                    format!("--label-col {n:?} names a column, but the file has no header row"),
                ));
            }
            (Some(h), None) => {
                return Err(Error::data(
                    path,
                    format!("has no column named {n:?} (header: {})", h.join(",")),
                ));
            }
        },
    };
    if let Some(i) = label {
        if n_cols < 2 {
            return Err(Error::data(path, "has a label column but no feature columns"));
        }
        roles[i] = Role::Label;
    }
    Ok(roles)
}

/// Parses a whole CSV file held in memory.
pub(super) fn parse(path: &Path, bytes: &[u8], opts: &LoadOptions) -> Result<Dataset> {
    if opts.labels.is_some() {
        return Err(Error::config(format!(
            "--labels names the labels file of IDX images, but {} is CSV: use --label-col",
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
    let fields: Vec<String> = if quoted {
        let mut record = ::csv::ByteRecord::new();
        reader(first).read_byte_record(&mut record).map_err(|e| csv_error(path, e))?;
        record.iter().map(|f| String::from_utf8_lossy(f).trim().to_string()).collect()
    } else {
        first.split(|&b| b == b',').map(|f| String::from_utf8_lossy(f).trim().to_string()).collect()
    };
    let n_cols = fields.len();
    if n_cols == 1 {
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
        chunks.par_iter().zip(&starts).map(|(c, &l)| layout.parse_plain(c, l)).collect::<Result<_>>()?
    };

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
    Ok(Dataset { path: path.to_path_buf(), n_features: n_feat, features, targets, image_shape })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str, opts: &LoadOptions) -> Result<Dataset> {
        parse(Path::new("t.csv"), s.as_bytes(), opts)
    }

    #[test]
    fn header_bom_crlf_and_trailing_blank_lines() {
        let d =
            parse_str("\u{feff}a,label,b\r\n1,2,3\r\n4, 0 ,6\r\n\r\n\n", &LoadOptions::default()).unwrap();
        assert_eq!(d.n_features, 2);
        assert_eq!(d.features, vec![1.0, 3.0, 4.0, 6.0]);
        assert_eq!(d.targets, Targets::Classes { labels: vec![2, 0], n_classes: 3 });
    }

    #[test]
    fn no_header_label_first_or_last_and_targets() {
        let d = parse_str("1,0.5,0.25\n0,1,2\n", &LoadOptions::default()).unwrap();
        assert_eq!(d.labels(), Some(&[1, 0][..]));
        let opts = LoadOptions { label_col: LabelCol::Last, ..Default::default() };
        let d = parse_str("0.5,0.25,1\n1,2,0\n", &opts).unwrap();
        assert_eq!(d.features, vec![0.5, 0.25, 1.0, 2.0]);
        let opts = LoadOptions { targets: Some(2), ..Default::default() };
        let d = parse_str("5,10,0.01,0.99\n", &opts).unwrap();
        assert_eq!(d.targets, Targets::Values { values: vec![0.01, 0.99], n_outputs: 2 });
    }

    #[test]
    fn chunks_keep_line_numbers() {
        // Many rows so the file splits into several chunks; the bad one is at line 30001.
        let mut s = String::from("label,x\n");
        for i in 0..40_000 {
            if i == 29_999 {
                s.push_str("1,oops\n");
            } else {
                s.push_str("1,0.123456789\n");
            }
        }
        let chunks = line_chunks(s.as_bytes(), 4096);
        assert!(chunks.len() > 10 && chunks.iter().all(|c| c.ends_with(b"\n")));
        let err = parse_str(&s, &LoadOptions::default()).unwrap_err().to_string();
        assert_eq!(err, "t.csv:30001:2: column 2 (\"x\"): expected a number, found \"oops\"");
    }

    #[test]
    fn bad_inputs_name_line_and_column() {
        let cases: &[(&str, LoadOptions, &str)] = &[
            ("", LoadOptions::default(), "t.csv: is empty"),
            ("label,x\n", LoadOptions::default(), "no data rows"),
            (
                "1,2,3\n1,2\n",
                LoadOptions::default(),
                "t.csv:2: expected 3 fields like the first row, found 2",
            ),
            (
                "1,2\n1,nan\n",
                LoadOptions::default(),
                "t.csv:2:2: column 2: expected a finite number, found nan",
            ),
            ("1,2\n1,inf\n", LoadOptions::default(), "expected a finite number, found inf"),
            ("1.5,2\n", LoadOptions::default(), "t.csv:1:1: column 1: expected a class label"),
            ("-1,2\n", LoadOptions::default(), "expected a class label"),
            (
                "label,x\n3,2\n",
                LoadOptions { classes: Some(3), ..Default::default() },
                "t.csv:2:1: column 1 (\"label\"): label 3 is out of range for --classes 3 (expected 0..2)",
            ),
            (
                "a,b\n1,2\n",
                LoadOptions { label_col: LabelCol::Name("z".into()), ..Default::default() },
                "no column named \"z\"",
            ),
            ("1,2\n", LoadOptions { targets: Some(2), ..Default::default() }, "--targets 2 needs"),
        ];
        for (text, opts, want) in cases {
            let err = parse_str(text, opts).unwrap_err().to_string();
            assert!(err.contains(want), "{text:?}: got {err:?}, want {want:?}");
        }
    }

    #[test]
    fn line_numbers_count_blank_lines_and_crlf() {
        let err = parse_str("label,a,b\r\n0,1,2\r\n\r\n\r\n1,x,3\r\n", &LoadOptions::default()).unwrap_err();
        assert!(err.to_string().starts_with("t.csv:5:2: "), "{err}");
        let err = parse_str("\n\nlabel,a,b\n0,1,2\n\n1,x,3\n", &LoadOptions::default()).unwrap_err();
        assert!(err.to_string().starts_with("t.csv:6:2: "), "{err}");
        let err = parse_str("0,1,2\r\n1,2,1e39\r\n", &LoadOptions::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.csv:2:3: column 3: expected a finite number within the f32 range (±3.4e38), found 1e39"
        );
        // Quoted fields go through the csv crate, with the same line numbers.
        let err = parse_str("\"label\",\"a\"\n\n1,\"2\"\n0,\"z\"\n", &LoadOptions::default()).unwrap_err();
        assert!(err.to_string().starts_with("t.csv:4:2: "), "{err}");
        let d = parse_str("\"label\",\"a\"\n1,\"2.5\"\n", &LoadOptions::default()).unwrap();
        assert_eq!(d.features, vec![2.5]);
        let err = parse_str("a;b;c\n1;2;3\n", &LoadOptions::default()).unwrap_err();
        assert!(err.to_string().contains("single column"), "{err}");
    }

    #[test]
    fn integer_fast_path_agrees_with_the_standard_parser() {
        for text in ["0", "007", "255", "123456789", "1234567890", "4294967295", "1e3", " 12 ", "-5", "3.25"]
        {
            let want = text.trim().parse::<f64>().unwrap();
            assert_eq!(parse_number(text.as_bytes()), Some(want), "{text:?}");
        }
        assert_eq!(parse_number(b""), None);
        assert_eq!(parse_number(b"12a"), None);
    }

    #[test]
    fn unlabeled_input_of_the_model_width() {
        let opts = LoadOptions { unlabeled_width: Some(2), ..Default::default() };
        let d = parse_str("1,2\n3,4\n", &opts).unwrap();
        assert_eq!(d.targets, Targets::None);
        assert_eq!(d.n_samples(), 2);
    }
}
