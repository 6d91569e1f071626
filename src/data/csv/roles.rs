//! Which column of a CSV file is what: a feature, the class label or a regression target,
//! decided from the header (if any) and the options.

use crate::data::{LabelCol, LoadOptions};
use crate::error::{Error, Result};
use std::path::Path;

/// Header names recognised as the label column (case-insensitive).
const LABEL_NAMES: [&str; 4] = ["label", "class", "target", "y"];

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
}

/// Decides the role of every column from the first row and the options.
pub(super) fn resolve_roles(
    path: &Path,
    n_cols: usize,
    names: Option<&[String]>,
    opts: &LoadOptions,
) -> Result<Vec<Role>> {
    let mut roles = vec![Role::Feature; n_cols];
    if let Some(k) = opts.one_hot {
        one_hot_roles(path, &mut roles, k, opts)?;
        return Ok(roles);
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
