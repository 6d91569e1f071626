//! A CSV file's dialect from its first lines: the field separator (comma, tab, semicolon or
//! whitespace, unless one is given) and whether the first line is a header.
//!
//! The separator is the one that splits every sampled line into the same number (> 1) of
//! fields; when several do, the one that gives the most numbers wins (so `1,5;2,25` is two
//! decimal-comma numbers under `;`, not fields `1` and `5;2` under `,`); when two still tie
//! and would read the file differently, the file is refused rather than guessed.

use super::rows::{Value, value};
use crate::data::Delimiter;
use crate::error::{Error, Result};
use std::path::Path;

/// Lines sampled to detect the separator.
pub(super) const SAMPLE_LINES: usize = 64;

/// A field separator, decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Sep {
    /// One byte.
    Char(u8),
    /// Runs of spaces and tabs, leading and trailing ones ignored.
    Whitespace,
}

/// The separators tried, in order of preference when two read a file the same way.
const CANDIDATES: [Sep; 4] = [Sep::Char(b','), Sep::Char(b'\t'), Sep::Char(b';'), Sep::Whitespace];

impl Sep {
    /// Whether a comma inside a number is its decimal separator (European CSV under `;`).
    pub(super) fn decimal_comma(self) -> bool {
        self == Sep::Char(b';')
    }

    /// The separator's name, as `delimiter` takes it.
    pub(super) fn name(self) -> String {
        match self {
            Sep::Char(b) => Delimiter::Char(b).to_string(),
            Sep::Whitespace => Delimiter::Whitespace.to_string(),
        }
    }

    /// The fields of one line, quotes respected for a one-byte separator (the quotes stay),
    /// spaces around the fields trimmed.
    pub(super) fn split(self, line: &[u8]) -> Vec<&[u8]> {
        match self {
            Sep::Whitespace => line.split(|b| *b == b' ' || *b == b'\t').filter(|f| !f.is_empty()).collect(),
            Sep::Char(d) => {
                let (mut fields, mut start, mut quoted) = (Vec::new(), 0, false);
                for (i, &b) in line.iter().enumerate() {
                    if b == b'"' {
                        quoted = !quoted;
                    } else if b == d && !quoted {
                        fields.push(line[start..i].trim_ascii());
                        start = i + 1;
                    }
                }
                fields.push(line[start..].trim_ascii());
                fields
            }
        }
    }
}

/// How well a separator fits the sampled lines.
struct Fit {
    sep: Sep,
    /// Fields on the first line.
    cols: usize,
    /// Lines with as many fields as the first.
    agree: usize,
    /// Fields of the lines after the first that read as numbers (or missing values).
    numbers: usize,
}

/// Whether `field` (as split, possibly quoted) reads as text rather than a number or a
/// missing value.
pub(super) fn is_text(field: &[u8], decimal_comma: bool) -> bool {
    let f = field.trim_ascii();
    let f = f.strip_prefix(b"\"").and_then(|f| f.strip_suffix(b"\"")).unwrap_or(f);
    value(f, decimal_comma) == Value::Text
}

/// The separator of the file whose first non-blank lines are `sample`: `wanted`, or detected.
pub(super) fn separator(path: &Path, sample: &[(u64, &[u8])], wanted: Delimiter) -> Result<Sep> {
    let (first_line, first) = sample[0];
    let single = |how: String| {
        Error::data(path, format!("line {first_line} has a single column {how} (give `delimiter`)"))
    };
    // The lines after the first, when they agree on a separator the first does not share: a
    // title or summary line above the rows (named by `odd_first_line`).
    let rest_sep = |sep: Sep| {
        let rest = &sample[1.min(sample.len())..];
        let n = rest.first().map_or(0, |(_, l)| sep.split(l).len());
        rest.len() >= 2 && n > 1 && rest.iter().all(|(_, l)| sep.split(l).len() == n)
    };
    match wanted {
        Delimiter::Char(b) if Sep::Char(b).split(first).len() > 1 || rest_sep(Sep::Char(b)) => {
            return Ok(Sep::Char(b));
        }
        Delimiter::Whitespace if Sep::Whitespace.split(first).len() > 1 || rest_sep(Sep::Whitespace) => {
            return Ok(Sep::Whitespace);
        }
        Delimiter::Auto => {}
        other => {
            // Name a separator that does split the line, rather than the flag already given.
            let works = CANDIDATES.iter().find(|c| c.split(first).len() > 1);
            let hint = works.map_or("no other separator splits it either".to_string(), |c| {
                format!("it splits on {}: give `delimiter` {} or auto", c.name(), c.name())
            });
            return Err(Error::data(
                path,
                format!("line {first_line} has a single column when split on {other}; {hint}"),
            ));
        }
    }
    let fits: Vec<Fit> = CANDIDATES
        .iter()
        .map(|&sep| {
            let counts: Vec<usize> = sample.iter().map(|(_, l)| sep.split(l).len()).collect();
            let rest = if sample.len() > 1 { &sample[1..] } else { sample };
            let numbers = rest
                .iter()
                .flat_map(|(_, l)| sep.split(l))
                .filter(|f| !is_text(f, sep.decimal_comma()))
                .count();
            Fit { sep, cols: counts[0], agree: counts.iter().filter(|&&c| c == counts[0]).count(), numbers }
        })
        .filter(|f| f.cols > 1)
        .collect();
    let consistent: Vec<&Fit> = fits.iter().filter(|f| f.agree == sample.len()).collect();
    if let Some(best) = consistent.iter().max_by_key(|f| f.numbers) {
        // The first of the best (max_by_key keeps the last of equals, so look again).
        let best = consistent.iter().find(|f| f.numbers == best.numbers).unwrap_or(best);
        if let Some(rival) = consistent.iter().find(|f| f.numbers == best.numbers && f.cols != best.cols) {
            return Err(Error::data(
                path,
                format!(
                    "could be read with {} separators ({} columns) or with {} separators ({} columns): \
                     give `delimiter`",
                    best.sep.name(),
                    best.cols,
                    rival.sep.name(),
                    rival.cols
                ),
            ));
        }
        return Ok(best.sep);
    }
    // The rows agree on a separator and only the first line differs: that separator (the
    // first line is then named as the odd one).
    if let Some(sep) = CANDIDATES.iter().copied().find(|&c| rest_sep(c)) {
        return Ok(sep);
    }
    // No separator gives every line the same count: take the one most lines agree with, so
    // the reader names the first ragged line.
    match fits.iter().rev().max_by_key(|f| f.agree) {
        Some(f) => Ok(f.sep),
        None => Err(single("with comma, tab, semicolon or whitespace separators".into())),
    }
}

/// Whether the first line (`first`, split) is a header: the column numbers pandas writes for
/// unnamed columns ([`is_index_header`]), or some field is text where the next line (if any)
/// has a number or nothing, so a label column of names (`setosa`) in the first data row is
/// not taken for a header.
pub(super) fn is_header(first: &[&[u8]], second: Option<&[&[u8]]>, decimal_comma: bool) -> bool {
    is_index_header(first)
        || first.iter().enumerate().any(|(c, f)| {
            is_text(f, decimal_comma)
                && second.is_none_or(|s| s.get(c).is_none_or(|g| !is_text(g, decimal_comma)))
        })
}

/// Whether a first line of at least 5 fields is the columns' numbers, 0..n−1 or 1..n (pandas
/// writes `0,1,…,784` as the header of unnamed columns, after an empty name for its index
/// column unless `index=False`): a header, not a row.
pub(super) fn is_index_header(first: &[&[u8]]) -> bool {
    let unquoted = |f: &[u8]| {
        let f = f.trim_ascii();
        f.strip_prefix(b"\"").and_then(|f| f.strip_suffix(b"\"")).unwrap_or(f).to_vec()
    };
    let first = match first.split_first() {
        Some((name, rest)) if unquoted(name).is_empty() && rest.len() >= 5 => rest,
        _ => first,
    };
    let base = match first.first().map(|f| unquoted(f)) {
        Some(f) if f == b"0" => 0,
        Some(f) if f == b"1" => 1,
        _ => return false,
    };
    first.len() >= 5
        && first.iter().enumerate().all(|(i, f)| unquoted(f) == (i + base).to_string().as_bytes())
}

/// A note when a header (line `line`) has names that are numbers: a summary line (scikit-learn's
/// bundled `iris.csv` begins `150,4,setosa,versicolor,virginica`) read as the header.
pub(super) fn numeric_names(line: u64, names: &[String], decimal_comma: bool) -> Option<String> {
    let numbers: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| !n.is_empty() && !is_text(n.as_bytes(), decimal_comma))
        .collect();
    if numbers.is_empty() {
        return None;
    }
    let shown: Vec<String> = numbers.iter().take(3).map(|n| format!("{n:?}")).collect();
    let more = if numbers.len() > 3 { ", …" } else { "" };
    Some(format!(
        "line {line} is read as the header, but its names {}{more} are numbers: if it is a summary \
         line rather than column names (scikit-learn's bundled CSVs begin with one), give `skip_rows` {line}",
        shown.join(", ")
    ))
}

/// Refuses a first line whose field count differs from that of the sampled lines after it,
/// which all agree (a summary line such as `569,30,malignant,benign`): named as the odd one,
/// with the fix, rather than blaming the line after it.
pub(super) fn odd_first_line(path: &Path, sample: &[(u64, &[u8])], n_first: usize, sep: Sep) -> Result<()> {
    let Some(&(line, text)) = sample.first() else { return Ok(()) };
    let counts: Vec<usize> = sample[1..].iter().map(|(_, l)| sep.split(l).len()).collect();
    match counts.first() {
        Some(&n) if counts.len() >= 2 && n != n_first && counts.iter().all(|&c| c == n) => {
            // Names throughout (two or more): a header that does not fit the rows (an R
            // `write.table` header lacks the row names' column), more likely than a title.
            let names = n_first >= 2 && sep.split(text).iter().all(|f| is_text(f, sep.decimal_comma()));
            let what = if names {
                format!(
                    "a header of {n_first} names over rows of {n} fields: fix the header (or, if it is a \
                     title line, give `skip_rows` {line}; its names are then lost)"
                )
            } else {
                format!("a summary or title line, neither header nor row; give `skip_rows` {line} to skip it")
            };
            Err(Error::Parse {
                path: path.to_path_buf(),
                line,
                column: None,
                field: None,
                message: format!(
                    "{} {:?} where the next lines have {n}: {what}",
                    crate::error::count(n_first, "field"),
                    super::excerpt(text),
                ),
            })
        }
        _ => Ok(()),
    }
}

/// Refuses data lines that all end with the separator (`…,2,`): the empty last field is no
/// column, and reading it as missing values would train on an empty one.
pub(super) fn trailing_separator(path: &Path, data: &[(u64, &[u8])], sep: Sep) -> Result<()> {
    let Sep::Char(d) = sep else { return Ok(()) };
    let ends = |l: &[u8]| l.trim_ascii_end().ends_with(&[d]);
    match data.first() {
        Some(&(line, text)) if data.iter().all(|(_, l)| ends(l)) => Err(Error::Parse {
            path: path.to_path_buf(),
            line,
            column: None,
            field: None,
            message: format!(
                "ends with a {} separator, as every line does ({:?}): the empty field after it is no \
                 column; remove the separators at the ends of the lines (e.g. sed 's/{}$//')",
                sep.name(),
                super::excerpt(text),
                if d == b'\t' { "\\t".to_string() } else { (d as char).to_string() }
            ),
        }),
        _ => Ok(()),
    }
}
