//! Reading a file for a model: the model's stored columns (its training file's [`Schema`])
//! say where the label is and what the features are called, so a test file is read the way
//! the training file was, and a file laid out differently is refused, not misread.

use super::roles::Role;
use crate::data::Schema;
use crate::error::{Error, Result};
use std::path::Path;

/// `[a, b, c]` or `[a, b, ... (n in all)]`: a few names for a message, never a whole header.
pub(super) fn few(names: &[String]) -> String {
    const SHOWN: usize = 4;
    let shown: Vec<&str> = names.iter().take(SHOWN).map(String::as_str).collect();
    if names.len() > SHOWN {
        format!("{}, ... ({} in all)", shown.join(", "), names.len())
    } else {
        shown.join(", ")
    }
}

/// The label column the model's schema calls for in a file of `n_cols` columns (`names`
/// from its header):
/// `Ok(None)` when the schema says nothing (older models, IDX-trained models), `Ok(Some(None))`
/// for rows without the label (only when `unlabeled_ok`), `Ok(Some(Some(i)))` for column `i`.
pub(super) fn stored_label(
    path: &Path,
    n_cols: usize,
    names: Option<&[String]>,
    schema: &Schema,
    unlabeled_ok: bool,
) -> Result<Option<Option<usize>>> {
    let (Some(total), Some(label)) = (schema.n_columns, &schema.label) else { return Ok(None) };
    let named = label.name.as_ref().map_or(String::new(), |n| format!(" {n:?}"));
    let trained = format!(
        "the model was trained on rows of {total} fields with the label{named} in {}",
        crate::error::column(label.index, None)
    );
    if n_cols == total {
        // The column where the label was must still be called the label (an id column there
        // would otherwise be read as the true classes).
        if let (Some(names), Some(want)) = (names, &label.name)
            && names[label.index].trim() != want.trim()
        {
            return Err(Error::data(
                path,
                format!(
                    "{} is named {:?}, but there the model's training file had its label {want:?}: \
                     give `label_col` to read another column as the label",
                    crate::error::column(label.index, None),
                    names[label.index].trim()
                ),
            ));
        }
        return Ok(Some(Some(label.index)));
    }
    let has_label_name = label.name.as_ref().is_some_and(|l| names.is_some_and(|n| n.contains(l)));
    if n_cols + 1 == total && !has_label_name {
        if unlabeled_ok {
            return Ok(Some(None));
        }
        return Err(Error::data(
            path,
            format!("has rows of {n_cols} fields and no label column: {trained}; eval needs labelled rows"),
        ));
    }
    Err(Error::data(
        path,
        format!("has rows of {n_cols} fields, but the model expects {} features: {trained}", total - 1),
    ))
}

/// Refuses a header whose feature names differ from the names the model was trained with,
/// naming the first difference. Files or models without names are not checked.
pub(super) fn check_names(
    path: &Path,
    names: Option<&[String]>,
    roles: &[Role],
    schema: &Schema,
) -> Result<()> {
    let (Some(names), Some(expected)) = (names, &schema.feature_names) else { return Ok(()) };
    let features: Vec<(usize, &String)> = roles
        .iter()
        .zip(names)
        .enumerate()
        .filter(|(_, (r, _))| **r == Role::Feature)
        .map(|(c, (_, n))| (c, n))
        .collect();
    if features.len() != expected.len() {
        return Err(Error::data(
            path,
            format!(
                "has {} feature columns, but the model was trained on {} ({})",
                features.len(),
                expected.len(),
                few(expected)
            ),
        ));
    }
    let first =
        features.iter().zip(expected).enumerate().find(|(_, ((_, got), want))| got.trim() != want.trim());
    if let Some((i, ((col, got), want))) = first {
        return Err(Error::data(
            path,
            format!(
                "{} is named {got:?}, but the model's feature {} is {want:?} (the header must \
                 name the features the model was trained on, in the same order)",
                crate::error::column(*col, None),
                i + 1
            ),
        ));
    }
    Ok(())
}
