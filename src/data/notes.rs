//! What a reader noticed that a person should hear of, as [`Dataset::notes`]: warnings, not
//! errors (the data are usable as read).

use super::{Dataset, LoadOptions, Targets};
use crate::error::count;

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
