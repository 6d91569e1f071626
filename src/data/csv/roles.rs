//! Which column of a CSV file is what: a feature, the class label or a regression target,
//! decided from the header (if any) and the options.

use super::expect;
use crate::data::{LabelCol, LoadOptions};
use crate::error::{Error, Result};
use std::path::Path;

/// Header names recognised as the label column (case-insensitive).
pub(super) const LABEL_NAMES: [&str; 4] = ["label", "class", "target", "y"];

/// Where each column goes.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Role {
    /// An input feature.
    Feature,
    /// The class label (one column at most).
    Label,
    /// One of the regression targets (the last `--targets` columns).
    Target,
    /// One of the one-hot label columns (the last `--one-hot` columns).
    OneHot,
    /// A column carried through as text (`keep_cols`), neither feature nor label.
    Keep,
}

/// Decides the role of every column from the first row and the options.
pub(super) fn resolve_roles(
    path: &Path,
    n_cols: usize,
    names: Option<&[String]>,
    opts: &LoadOptions,
) -> Result<Vec<Role>> {
    if !opts.keep_cols.is_empty() {
        return with_kept(path, n_cols, names, opts);
    }
    let mut roles = vec![Role::Feature; n_cols];
    if let Some(k) = opts.one_hot {
        one_hot_roles(path, &mut roles, k, opts)?;
        return checked(path, names, roles, opts);
    }
    if let Some(k) = opts.targets {
        if k == 0 || k >= n_cols {
            return Err(Error::data(
                path,
                format!(
                    "`targets` {k} needs at least one feature column besides, but rows have {n_cols} fields"
                ),
            ));
        }
        // Rows as wide as the model's inputs are unlabeled (predict).
        if opts.unlabeled_width != Some(n_cols) {
            roles[n_cols - k..].iter_mut().for_each(|r| *r = Role::Target);
        }
        return checked(path, names, roles, opts);
    }
    let by_name =
        |wanted: &str| names.and_then(|n| n.iter().position(|h| h.trim().eq_ignore_ascii_case(wanted)));
    let label = match &opts.label_col {
        LabelCol::Auto => {
            let unlabeled_ok = opts.unlabeled_width.is_some();
            let stored = match &opts.expect {
                Some(schema) => expect::stored_label(path, n_cols, names, schema, unlabeled_ok)?,
                None => None,
            };
            if let Some(label) = stored {
                label
            } else if opts.unlabeled_width == Some(n_cols) {
                None
            } else if let Some(series) = names.and_then(numbered_series) {
                unlabeled_series(path, n_cols, &series, opts)?
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
                    "`label_col` {i} is out of range: rows have {n_cols} fields (0-based indices 0..{})",
                    n_cols - 1
                ),
            ));
        }
        LabelCol::Name(n) => match (names, by_name(n)) {
            (_, Some(i)) => Some(i),
            (None, None) => {
                return Err(Error::data(
                    path,
                    format!("`label_col` {n:?} names a column, but the file has no header row"),
                ));
            }
            (Some(h), None) => {
                return Err(Error::data(
                    path,
                    format!("has no column named {n:?} ({})", describe_header(n, h)),
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
    checked(path, names, roles, opts)
}

/// No label for a header that is a numbered series of features (`pixel0,…,pixel783`) where
/// unlabeled rows will do; refused where a label is needed.
fn unlabeled_series(path: &Path, n_cols: usize, series: &str, opts: &LoadOptions) -> Result<Option<usize>> {
    if opts.unlabeled_width.is_some() {
        return Ok(None);
    }
    Err(Error::data(
        path,
        format!(
            "has no label column: its header names the {n_cols} columns {series}, features all; give \
             `label_col` if one of them is the label"
        ),
    ))
}

/// `pixel0…pixel783` when the header names every column by one prefix and the numbers 0..n−1
/// or 1..n (Kaggle's unlabeled test files): a numbered series of features, no label among them.
pub(super) fn numbered_series(names: &[String]) -> Option<String> {
    let first = names.first()?.trim();
    let prefix = first.trim_end_matches(|c: char| c.is_ascii_digit());
    let base: usize = first[prefix.len()..].parse().ok().filter(|&b| b <= 1)?;
    let all = names.len() >= 2
        && !prefix.is_empty()
        && prefix.chars().any(char::is_alphabetic)
        && names
            .iter()
            .enumerate()
            .all(|(i, n)| n.trim().strip_prefix(prefix) == Some(&(i + base).to_string()));
    all.then(|| format!("{first}…{}", names[names.len() - 1].trim()))
}

/// The roles of a file with `keep_cols`: those columns are kept as text, and the others are
/// resolved as if the kept ones were not there (a model's stored label position and feature
/// names are those of its training file, which had no such columns).
fn with_kept(path: &Path, n_cols: usize, names: Option<&[String]>, opts: &LoadOptions) -> Result<Vec<Role>> {
    let mut kept = Vec::new();
    for spec in &opts.keep_cols {
        let by_name = names.and_then(|n| n.iter().position(|h| h.trim() == spec.trim()));
        let col = match (by_name, spec.trim().parse::<usize>()) {
            (Some(c), _) => c,
            (None, Ok(i)) if i < n_cols => i,
            (None, Ok(i)) => {
                return Err(Error::data(
                    path,
                    format!("`keep_cols` {i} is out of range: rows have {n_cols} fields (0-based indices)"),
                ));
            }
            // A model's kept column (an id it was trained beside) may be absent from this file.
            (None, Err(_))
                if opts
                    .expect
                    .as_ref()
                    .and_then(|e| e.kept_cols.as_ref())
                    .is_some_and(|k| k.contains(spec)) =>
            {
                continue;
            }
            (None, Err(_)) => {
                let header =
                    names.map_or("the file has no header row".to_string(), |h| describe_header(spec, h));
                return Err(Error::data(path, format!("`keep_cols`: no column named {spec:?} ({header})")));
            }
        };
        if !kept.contains(&col) {
            kept.push(col);
        }
    }
    let rest: Vec<usize> = (0..n_cols).filter(|c| !kept.contains(c)).collect();
    if rest.is_empty() {
        return Err(Error::data(path, "`keep_cols` keeps every column: no features are left"));
    }
    let rest_names: Option<Vec<String>> = names.map(|n| rest.iter().map(|&c| n[c].clone()).collect());
    // A label found by guess is checked on the columns' values, which kept columns would
    // shift: with them, the label must be named (by the header, `label_col` or a model).
    let named = rest_names
        .as_ref()
        .is_some_and(|h| h.iter().any(|n| LABEL_NAMES.iter().any(|l| n.trim().eq_ignore_ascii_case(l))));
    let guessed = opts.label_col == LabelCol::Auto
        && opts.targets.is_none()
        && opts.one_hot.is_none()
        && opts.expect.is_none()
        && opts.unlabeled_width.is_none();
    if guessed && !named {
        return Err(Error::data(
            path,
            "has no header column named label, class, target or y: with `keep_cols`, name the label \
             column with `label_col`",
        ));
    }
    let others = LoadOptions { keep_cols: Vec::new(), ..opts.clone() };
    let sub = resolve_roles(path, rest.len(), rest_names.as_deref(), &others)?;
    let mut roles = vec![Role::Keep; n_cols];
    for (&c, r) in rest.iter().zip(sub) {
        roles[c] = r;
    }
    Ok(roles)
}

/// `roles`, once the header's feature names are checked against the model's (if any).
fn checked(path: &Path, names: Option<&[String]>, roles: Vec<Role>, opts: &LoadOptions) -> Result<Vec<Role>> {
    if let Some(schema) = &opts.expect {
        expect::check_names(path, names, &roles, schema)?;
    }
    Ok(roles)
}

/// Marks the last `k` columns as a one-hot label (unless the rows are a model's unlabeled
/// inputs), after checking `k` against the row and the other options.
fn one_hot_roles(path: &Path, roles: &mut [Role], k: usize, opts: &LoadOptions) -> Result<()> {
    let n_cols = roles.len();
    if opts.targets.is_some() || opts.label_col != LabelCol::Auto {
        return Err(Error::config(
            "`one_hot` names the label columns: it cannot go with `targets` or `label_col`",
        ));
    }
    if opts.classes.is_some_and(|c| c != k) {
        return Err(Error::config(format!(
            "`classes` {} disagrees with `one_hot` {k} (one column per class)",
            opts.classes.unwrap_or(0)
        )));
    }
    if opts.unlabeled_width == Some(n_cols) {
        return Ok(());
    }
    if k < 2 || k >= n_cols {
        return Err(Error::data(
            path,
            format!(
                "`one_hot` {k} needs 2 or more label columns and a feature column, but rows have {n_cols} fields"
            ),
        ));
    }
    roles[n_cols - k..].iter_mut().for_each(|r| *r = Role::OneHot);
    Ok(())
}

/// At most this many header names are quoted in a message.
const NAMES_SHOWN: usize = 5;

/// What a message says of a header that lacks `wanted`: the whole header when it is short,
/// else its column count with the names closest to `wanted` (a prefix, substring or small
/// edit distance, case-insensitive), or its first names when none is close.
fn describe_header(wanted: &str, header: &[String]) -> String {
    let quoted = |names: &[&str]| names.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ");
    let names: Vec<&str> = header.iter().map(|h| h.trim()).collect();
    if names.len() <= NAMES_SHOWN {
        return format!("its columns are {}", quoted(&names));
    }
    let wanted = wanted.trim().to_lowercase();
    let mut close: Vec<(usize, &str)> = names
        .iter()
        .filter_map(|&name| {
            let lower = name.to_lowercase();
            let dist = edit_distance(&wanted, &lower);
            let near = dist <= (wanted.chars().count() / 3).max(2)
                || (!wanted.is_empty() && (lower.starts_with(&wanted) || wanted.starts_with(&lower)));
            near.then_some((dist, name))
        })
        .collect();
    close.sort_by_key(|&(d, _)| d);
    let n = names.len();
    if close.is_empty() {
        return format!("none of its {n} columns is close; the first are {}, ...", quoted(&names[..3]));
    }
    let shown: Vec<&str> = close.iter().take(NAMES_SHOWN).map(|&(_, name)| name).collect();
    let more = if close.len() > shown.len() { ", ..." } else { "" };
    format!("of its {n} columns the closest are {}{more}", quoted(&shown))
}

/// Levenshtein distance between `a` and `b`, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut row = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            row[j + 1] = (prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(row[j] + 1);
        }
        prev = row;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("label", "label"), 0);
    }

    #[test]
    fn a_long_header_is_named_by_its_closest_names_never_whole() {
        let mut names = vec!["label".to_string()];
        names.extend((0..784).map(|i| format!("pixel{i}")));
        let said = describe_header("lable", &names);
        assert_eq!(said, "of its 785 columns the closest are \"label\"");
        let said = describe_header("nosuch", &names);
        assert_eq!(
            said,
            "none of its 785 columns is close; the first are \"label\", \"pixel0\", \"pixel1\", ..."
        );
        let said = describe_header("pixel", &names);
        assert!(said.starts_with("of its 785 columns the closest are \"pixel0\""), "{said}");
        assert!(said.len() < 120, "{said}");
        assert_eq!(describe_header("z", &header(&["a", "b"])), "its columns are \"a\", \"b\"");
    }
}
