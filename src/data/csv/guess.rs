//! The label column when nobody named it: with no `label_col`, no `targets` and no header name
//! the reader knows (label, class, target, y), the first column is taken only if it looks
//! like class labels: whole numbers 0.. whose every class from 0 to the largest has a few rows,
//! and not more classes than `max(10, √rows)`. A pixel (0..255) or a pen coordinate (0..100)
//! fails that; the file is then refused, naming the last column when it looks like labels
//! (optdigits, pen digits and most UCI files put the label last), so that no pixel becomes a
//! 256-class label without a word.

use super::detect::{Sep, is_text};
use super::roles::{LABEL_NAMES, Role};
use super::rows::{Layout, Parsed};
use crate::data::{LabelCol, LoadOptions};
use crate::error::{Error, Result};
use std::path::Path;

/// Whether the label column would be guessed: nothing names it and the rows are not the
/// model's unlabeled width.
pub(super) fn is_guess(names: Option<&[String]>, n_cols: usize, opts: &LoadOptions) -> bool {
    let named =
        names.is_some_and(|h| h.iter().any(|n| LABEL_NAMES.iter().any(|l| n.trim().eq_ignore_ascii_case(l))));
    opts.targets.is_none()
        && opts.one_hot.is_none()
        && opts.keep_cols.is_empty()
        && opts.label_col == LabelCol::Auto
        && opts.unlabeled_width != Some(n_cols)
        && n_cols >= 2
        && !named
        && names.is_none_or(|h| super::roles::numbered_series(h).is_none())
        // A model's stored label position is not a guess.
        && opts.expect.as_ref().is_none_or(|s| s.label.is_none() || s.n_columns.is_none())
}

/// Why a column does not look like class labels.
struct NotLabels {
    why: String,
    /// Every row holds the same whole number: a single class, or a constant feature.
    constant: bool,
}

/// What a column looks like: class labels (with their count) or not (and why not).
fn judge(values: &[f32], line_of: &dyn Fn(usize) -> String) -> std::result::Result<usize, NotLabels> {
    let not = |why: String| Err(NotLabels { why, constant: false });
    let n = values.len();
    if let Some(r) = values.iter().position(|&v| v < 0.0 || v.fract() != 0.0) {
        return not(format!("{} holds {}, not a whole number 0, 1, 2, ...", line_of(r), values[r]));
    }
    let max = values.iter().fold(0.0f32, |m, &v| m.max(v));
    if values.iter().all(|&v| v == max) {
        return Err(NotLabels { why: format!("every row holds {max}"), constant: true });
    }
    let allowed = ((n as f64).sqrt() as usize).max(10);
    if max >= allowed as f32 {
        return not(format!(
            "values 0..{max} would be {} classes for {n} rows (a label column has at most max(10, √rows) = {allowed})",
            max as u64 + 1
        ));
    }
    let k = max as usize + 1;
    let mut counts = vec![0usize; k];
    values.iter().for_each(|&v| counts[v as usize] += 1);
    let least = (n / (2 * k)).clamp(1, 3);
    if let Some((c, &m)) = counts.iter().enumerate().find(|(_, m)| **m < least) {
        let rows = if m == 1 { "row" } else { "rows" };
        let times = if least == 1 { "at least once" } else { "a few times" };
        return not(format!("class {c} of 0..{max} would have {m} {rows} (a label has each class {times})"));
    }
    Ok(k)
}

/// Checks that the first column of the rows parsed as all-feature looks like class labels and
/// moves it out of the features into the labels (and the layout's roles); refuses the file,
/// naming the better column when the last looks like labels, otherwise. `line_of(r)` gives the
/// line of data row `r`.
pub(super) fn take_first_as_label(
    layout: &mut Layout<'_>,
    parsed: &mut [Parsed],
    line_of: &dyn Fn(usize) -> u64,
) -> Result<()> {
    let n_cols = layout.roles.len();
    let column = |c: usize| -> Vec<f32> {
        parsed.iter().flat_map(|p| p.features.chunks_exact(n_cols).map(move |row| row[c])).collect()
    };
    let at = |r: usize| format!("data row {} (line {})", r + 1, line_of(r));
    let first_values = column(0);
    if first_values.is_empty() {
        // No data rows: `assemble` says so.
        return Ok(());
    }
    if let Some(k) = one_hot_tail(parsed, n_cols) {
        return Err(Error::data(
            layout.path,
            format!(
                "no header names the label column (label, class, target or y), and the last {k} columns \
                 hold a single 1 and 0s on every row, a one-hot class: give `one_hot` {k} (or `label_col` \
                 first if the first column is the label)"
            ),
        ));
    }
    let first_judged = judge(&first_values, &at);
    if let Ok(k_first) = first_judged
        && let Ok(k_last) = judge(&column(n_cols - 1), &at)
    {
        return Err(Error::data(
            layout.path,
            format!(
                "no header names the label column (label, class, target or y), and both end columns \
                 look like class labels (the first {k_first} classes, the last {k_last}): give \
                 `label_col` first or last"
            ),
        ));
    }
    if let Err(NotLabels { why, constant }) = first_judged {
        let message = match judge(&column(n_cols - 1), &at) {
            // One class and no better column: the first is taken (`train` refuses a single
            // class; `eval` of a one-class file is fine).
            Err(_) if constant => String::new(),
            Ok(k) => format!(
                "no header names the label column (label, class, target or y), and the first column \
                 does not look like class labels: {why}; the last column does ({k} classes, 0..{}): \
                 give `label_col` last",
                k - 1
            ),
            Err(NotLabels { why: why_last, .. }) => format!(
                "no header names the label column (label, class, target or y), and neither end column \
                 looks like class labels (first: {why}; last: {why_last}): give `label_col` (first, \
                 last, a header name or a 0-based index), or `targets` K for K real-valued targets in \
                 the last columns"
            ),
        };
        if !message.is_empty() {
            return Err(Error::data(layout.path, message));
        }
    }
    for p in parsed.iter_mut() {
        p.labels = p.features.chunks_exact(n_cols).map(|row| row[0] as u32).collect();
        p.features = p.features.chunks_exact(n_cols).flat_map(|row| row[1..].iter().copied()).collect();
    }
    layout.roles[0] = Role::Label;
    Ok(())
}

/// Whether the ends of the first data row (`first_row`) hold numbers, so that the guess can
/// be checked on their values. A first column of names is a label of names (no guess needed:
/// text cannot be a feature); a last column of names with numbers first is refused, naming it.
pub(super) fn numbers_at_the_ends(path: &Path, first_row: Option<&[u8]>, sep: Sep) -> Result<bool> {
    let Some(line) = first_row else { return Ok(true) };
    let fields = sep.split(line);
    let (Some(first), Some(last)) = (fields.first(), fields.last()) else { return Ok(true) };
    let text = |f: &[u8]| is_text(f, sep.decimal_comma());
    if text(first) {
        return Ok(false);
    }
    if text(last) {
        return Err(Error::data(
            path,
            format!(
                "no header names the label column (label, class, target or y), the first column holds \
                 numbers and the last holds names ({:?}): give `label_col` last",
                String::from_utf8_lossy(last).trim()
            ),
        ));
    }
    Ok(true)
}

/// The width K >= 2 of a one-hot block ending every row (the last K values are 0s and a
/// single 1 on every row, with a feature column left before them), if there is one; the
/// smallest such K.
fn one_hot_tail(parsed: &[Parsed], n_cols: usize) -> Option<usize> {
    let (mut lo, mut hi) = (2, n_cols.saturating_sub(1));
    let mut rows = 0;
    for row in parsed.iter().flat_map(|p| p.features.chunks_exact(n_cols)) {
        rows += 1;
        // The widths K for which this row's last K values are one-hot: [first, last].
        let (mut first, mut last) = (None, n_cols - 1);
        for j in 1..n_cols {
            match row[n_cols - j] {
                v if v == 1.0 && first.is_none() => first = Some(j),
                v if v == 1.0 || v != 0.0 => {
                    last = j - 1;
                    break;
                }
                _ => {}
            }
        }
        lo = lo.max(first?);
        hi = hi.min(last);
        if lo > hi {
            return None;
        }
    }
    (rows > 0).then_some(lo)
}

/// Checks a guessed label column of names (`cat`, `setosa`) like one of numbers: few
/// distinct names, each present a few times; unique ids or free text are refused.
pub(super) fn check_name_labels(data: &crate::data::Dataset) -> Result<()> {
    let Some(labels) = data.labels() else { return Ok(()) };
    let values: Vec<f32> = labels.iter().map(|&l| l as f32).collect();
    let at = |r: usize| format!("data row {}", r + 1);
    match judge(&values, &at) {
        Ok(_) => Ok(()),
        Err(NotLabels { why, .. }) => Err(Error::data(
            &data.path,
            format!(
                "no header names the label column (label, class, target or y), and the first \
                 column's names do not look like class labels ({} distinct names; {why}): give \
                 `label_col` (first, last, a header name or a 0-based index)",
                data.n_outputs()
            ),
        )),
    }
}
