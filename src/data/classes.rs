//! A label column's classes: their count inferred from the largest label (a stray label far
//! beyond the rest refused) or checked against the count given, and the classes left without
//! rows noted ([`Dataset::notes`]).

use super::{Dataset, LoadOptions, Targets};
use crate::error::{Error, Result, count};
use std::path::Path;

/// Infers the number of classes from the labels, or checks them against `classes`; with
/// `far`, a largest label far beyond the others is refused ([`far_label`]). `locate(i)`
/// describes where label `i` sits, for the error message.
pub(super) fn class_count(
    path: &Path,
    labels: &[u32],
    classes: Option<usize>,
    far: bool,
    locate: impl Fn(usize) -> String,
) -> Result<usize> {
    let max = labels.iter().copied().max();
    match (classes, max) {
        (Some(k), Some(m)) if m as usize >= k => {
            let i = labels.iter().position(|&l| l as usize >= k).unwrap_or(0);
            Err(Error::data(
                path,
                format!("{}: label {m} is out of range for `classes` {k} (expected 0..{})", locate(i), k - 1),
            ))
        }
        (Some(k), _) => Ok(k),
        (None, Some(m)) => {
            if far {
                far_label(path, labels, m, &locate)?;
            }
            Ok(m as usize + 1)
        }
        (None, None) => Err(Error::data(path, "has no data rows")),
    }
}

/// Refuses a largest label `max` far beyond the others (65536 among 0..9, a typo or a stray
/// value) when the class count is inferred: it would size an output per class up to it,
/// nearly all of them without rows. Far: at least 16, at least twice the next label + 1, and
/// held by at most 2 rows (a real class has more).
fn far_label(path: &Path, labels: &[u32], max: u32, locate: &impl Fn(usize) -> String) -> Result<()> {
    if max < 16 {
        return Ok(());
    }
    let next = labels.iter().copied().filter(|&l| l < max).max();
    let held = labels.iter().filter(|&&l| l == max).count();
    let Some(next) = next.filter(|&n| max >= 2 * (n + 1) && held <= 2) else { return Ok(()) };
    let i = labels.iter().position(|&l| l == max).unwrap_or(0);
    Err(Error::data(
        path,
        format!(
            "{}: label {max} is far beyond the others (0..{next}): it would make {} classes, most without \
             rows; fix the row, or give `classes` {} if it is right",
            locate(i),
            max as u64 + 1,
            max as u64 + 1
        ),
    ))
}

/// `data` with a note of the classes that have no rows when their count was inferred from
/// the largest label (labels 1..K make K+1 classes, class 0 empty).
pub(super) fn noted(mut data: Dataset, opts: &LoadOptions) -> Dataset {
    let Targets::Classes { labels, n_classes } = &data.targets else { return data };
    if opts.classes.is_some() || opts.expect.is_some() || data.schema.class_names.is_some() {
        return data;
    }
    let mut seen = vec![false; *n_classes];
    labels.iter().for_each(|&l| seen[l as usize] = true);
    let empty: Vec<usize> = (0..*n_classes).filter(|&c| !seen[c]).collect();
    if empty.is_empty() {
        return data;
    }
    let shown: Vec<String> = empty.iter().take(5).map(usize::to_string).collect();
    let more = if empty.len() > 5 { ", …" } else { "" };
    let lowest = (0..*n_classes).find(|&c| seen[c]).unwrap_or(0);
    let hint = if empty == (0..lowest).collect::<Vec<_>>() {
        format!("the labels start at {lowest}: relabel them from 0, or ")
    } else {
        String::new()
    };
    data.notes.push(format!(
        "labels 0..{} make {}, but {} {} no rows ({}{more}): the network gets an output that never \
         trains; {hint}give `classes` {} to confirm",
        n_classes - 1,
        count(*n_classes, "class"),
        count(empty.len(), "class"),
        if empty.len() == 1 { "has" } else { "have" },
        shown.join(", "),
        n_classes
    ));
    data
}
