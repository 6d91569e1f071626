//! The parsed chunks of a CSV file as one [`Dataset`]: missing values refused, filled or their
//! rows dropped (`missing`), labels of names mapped to classes, and the file's [`Schema`].

use super::roles::Role;
use super::rows::{LabelMode, Layout, MISSING_LABEL, Parsed, Spot};
use crate::data::{
    Dataset, Kept, LabelColumn, LoadOptions, Missing, Schema, Targets, class_count, square_side,
};
use crate::error::{Error, Result};
use std::collections::BTreeSet;

/// All rows of a file, in order.
struct Rows {
    features: Vec<f32>,
    labels: Vec<u32>,
    label_text: Vec<String>,
    targets: Vec<f32>,
    n_missing: usize,
    first_missing: Option<Spot>,
    first_missing_label: Option<Spot>,
    kept: Vec<String>,
}

impl Rows {
    fn concat(parsed: Vec<Parsed>) -> Rows {
        let total: usize = parsed.iter().map(|p| p.features.len()).sum();
        let mut r = Rows {
            features: Vec::with_capacity(total),
            labels: Vec::new(),
            label_text: Vec::new(),
            targets: Vec::new(),
            n_missing: 0,
            first_missing: None,
            first_missing_label: None,
            kept: Vec::new(),
        };
        for p in parsed {
            r.features.extend_from_slice(&p.features);
            r.labels.extend_from_slice(&p.labels);
            r.label_text.extend(p.label_text);
            r.targets.extend_from_slice(&p.targets);
            r.n_missing += p.n_missing;
            r.first_missing = r.first_missing.or(p.first_missing);
            r.first_missing_label = r.first_missing_label.or(p.first_missing_label);
            r.kept.extend(p.kept);
        }
        r
    }
}

/// The chunks' rows, in order, as a [`Dataset`]: classes (counted) when every row has a
/// label, targets with `targets`, neither otherwise.
pub(super) fn assemble(
    layout: &Layout<'_>,
    parsed: Vec<Parsed>,
    opts: &LoadOptions,
    line_of: &dyn Fn(usize) -> u64,
) -> Result<Dataset> {
    let path = layout.path;
    let n_feat = layout.roles.iter().filter(|&&r| r == Role::Feature).count();
    let mut rows = Rows::concat(parsed);
    if rows.features.is_empty() {
        return Err(Error::data(path, "has a first row but no data rows"));
    }
    let n_before = rows.features.len() / n_feat.max(1);
    let n_missing = rows.n_missing;
    let fill = missing(layout, &mut rows, n_feat, opts)?;
    let n = rows.features.len() / n_feat;
    let mut class_names = None;
    // A model's unlabeled inputs have no target columns: no targets, not empty ones.
    let has_targets = layout.roles.contains(&Role::Target);
    let targets = if let Some(k) = opts.targets.filter(|_| has_targets) {
        Targets::Values { values: rows.targets, n_outputs: k }
    } else if rows.labels.len() == n {
        let n_classes = match &layout.labels {
            LabelMode::Text => {
                let names = name_classes(layout, &mut rows.labels, &rows.label_text, opts.classes)?;
                let k = names.len();
                class_names = Some(names);
                k
            }
            LabelMode::Known { names, .. } => {
                class_names = Some(names.clone());
                names.len()
            }
            LabelMode::Numbers { .. } => {
                let classes = opts.classes.or(opts.one_hot.filter(|_| layout.roles.contains(&Role::OneHot)));
                // Rows dropped for missing values shift the count: then rows are named by number.
                let at = |i: usize| {
                    if n == n_before { format!("line {}", line_of(i)) } else { format!("data row {}", i + 1) }
                };
                class_count(path, &rows.labels, classes, opts.expect.is_none(), at)?
            }
        };
        Targets::Classes { labels: rows.labels, n_classes }
    } else {
        Targets::None
    };
    let image_shape = square_side(n_feat).map(|s| [s, s]);
    let mut schema = layout.schema(matches!(targets, Targets::Classes { .. }));
    schema.kept_cols = (!opts.keep_cols.is_empty()).then(|| opts.keep_cols.clone());
    schema.class_names = class_names;
    schema.missing_fill = fill;
    let kept = layout.kept(rows.kept);
    Ok(Dataset {
        path: path.to_path_buf(),
        n_features: n_feat,
        features: rows.features.into(),
        targets,
        image_shape,
        schema,
        kept,
        normalized: false,
        shape_given: false,
        notes: missing_note(n_missing, n_before - n, &opts.missing).into_iter().collect(),
    })
}

/// Applies the `missing` policy to `rows`; returns the per-feature values that replaced (or
/// would replace) a missing feature, to be stored.
fn missing(
    layout: &Layout<'_>,
    rows: &mut Rows,
    n_feat: usize,
    opts: &LoadOptions,
) -> Result<Option<Vec<f32>>> {
    let spot_error = |spot: &Spot, message: String| layout.error(spot.line, spot.col, message);
    if let (Missing::Error, Some(first)) = (&opts.missing, &rows.first_missing) {
        let count = match rows.n_missing {
            1 => "it is the file's only missing value".to_string(),
            n => format!("the file has {n} missing values"),
        };
        return Err(spot_error(
            first,
            format!(
                "missing value ({:?}); {count}: give `missing` mean, zero or drop to fill them or drop their rows",
                first.text
            ),
        ));
    }
    if opts.missing == Missing::Drop {
        if rows.n_missing > 0 {
            drop_rows(layout, rows, n_feat, opts.targets.unwrap_or(0))?;
        }
        return Ok(None);
    }
    if let Some(first) = &rows.first_missing_label {
        return Err(spot_error(
            first,
            "the label or target is missing: `missing` fills features only; use drop to skip such rows"
                .into(),
        ));
    }
    let fill = match &opts.missing {
        Missing::Error | Missing::Drop | Missing::Keep => return Ok(None),
        Missing::Zero => vec![0.0; n_feat],
        Missing::Mean => column_means(layout, &rows.features, n_feat)?,
        Missing::Fill(v) if v.len() == n_feat => v.clone(),
        Missing::Fill(v) => {
            return Err(Error::data(
                layout.path,
                format!(
                    "has {n_feat} features, but the model's fill values of `missing` are for {}",
                    v.len()
                ),
            ));
        }
    };
    if rows.n_missing > 0 {
        for row in rows.features.chunks_exact_mut(n_feat) {
            row.iter_mut().zip(&fill).filter(|(x, _)| x.is_nan()).for_each(|(x, f)| *x = *f);
        }
    }
    Ok(Some(fill))
}

/// What the `missing` policy did to `n_missing` values (`dropped` rows), for the notes.
fn missing_note(n_missing: usize, dropped: usize, policy: &Missing) -> Option<String> {
    let values = crate::error::count(n_missing, "missing value");
    match policy {
        _ if n_missing == 0 => None,
        Missing::Drop => {
            Some(format!("dropped {} with missing values ({values})", crate::error::count(dropped, "row")))
        }
        Missing::Mean => Some(format!("filled {values} with their columns' means")),
        Missing::Zero => Some(format!("filled {values} with zeros")),
        Missing::Fill(_) => Some(format!("filled {values} with the model's fill values")),
        Missing::Error | Missing::Keep => None,
    }
}

/// Each feature column's mean over the rows that have it ([`crate::data::feature_means`]);
/// a column with no values is an error naming it.
fn column_means(layout: &Layout<'_>, features: &[f32], n_feat: usize) -> Result<Vec<f32>> {
    crate::data::feature_means(features, n_feat).map_err(|j| {
        let col = layout
            .roles
            .iter()
            .enumerate()
            .filter(|(_, r)| **r == Role::Feature)
            .nth(j)
            .map_or(j, |(c, _)| c);
        let name = layout.names.as_ref().map(|n| n[col].as_str());
        Error::data(
            layout.path,
            format!("{} has no values to take the mean of (`missing` mean)", crate::error::column(col, name)),
        )
    })
}

/// Drops every row with a missing feature, label or target (`n_targets` per row).
fn drop_rows(layout: &Layout<'_>, rows: &mut Rows, n_feat: usize, n_targets: usize) -> Result<()> {
    let n = rows.features.len() / n_feat;
    let labelled = rows.labels.len() == n;
    let keep: Vec<bool> = (0..n)
        .map(|i| {
            let feature = rows.features[i * n_feat..(i + 1) * n_feat].iter().any(|x| x.is_nan());
            let target = rows.targets[i * n_targets..(i + 1) * n_targets].iter().any(|x| x.is_nan());
            !(feature || target || (labelled && rows.labels[i] == MISSING_LABEL))
        })
        .collect();
    if !keep.contains(&true) {
        return Err(Error::data(
            layout.path,
            "has a missing value in every row: `missing` drop leaves nothing",
        ));
    }
    let kept = |chunk: usize, v: &[f32]| -> Vec<f32> {
        v.chunks_exact(chunk.max(1))
            .zip(&keep)
            .filter(|(_, k)| **k)
            .flat_map(|(r, _)| r.iter().copied())
            .collect()
    };
    rows.features = kept(n_feat, &rows.features);
    if n_targets > 0 {
        rows.targets = kept(n_targets, &rows.targets);
    }
    if labelled {
        rows.labels = rows.labels.iter().zip(&keep).filter(|(_, k)| **k).map(|(l, _)| *l).collect();
    }
    let n_kept = layout.roles.iter().filter(|&&r| r == Role::Keep).count();
    if n_kept > 0 {
        let text = std::mem::take(&mut rows.kept);
        rows.kept =
            text.chunks_exact(n_kept).zip(&keep).filter(|(_, k)| **k).flat_map(|(r, _)| r.to_vec()).collect();
    }
    if rows.label_text.len() == n {
        let text = std::mem::take(&mut rows.label_text);
        rows.label_text = text.into_iter().zip(&keep).filter(|(_, k)| **k).map(|(t, _)| t).collect();
    }
    Ok(())
}

/// The sorted distinct label names, with `labels` set to each row's index among them.
fn name_classes(
    layout: &Layout<'_>,
    labels: &mut [u32],
    text: &[String],
    classes: Option<usize>,
) -> Result<Vec<String>> {
    let names: Vec<String> = text.iter().collect::<BTreeSet<_>>().into_iter().cloned().collect();
    if names.len() > super::rows::MAX_CLASSES || classes.is_some_and(|k| k != names.len()) {
        return Err(Error::data(
            layout.path,
            format!(
                "has {} distinct class names in its label column{}",
                names.len(),
                classes.map_or(String::new(), |k| format!(", but `classes` is {k}"))
            ),
        ));
    }
    for (l, t) in labels.iter_mut().zip(text) {
        *l = names.binary_search(t).unwrap_or(0) as u32;
    }
    Ok(names)
}

impl Layout<'_> {
    /// The kept columns (`keep_cols`) with their names, if any.
    fn kept(&self, values: Vec<String>) -> Option<Kept> {
        let cols: Vec<usize> = (0..self.roles.len()).filter(|&c| self.roles[c] == Role::Keep).collect();
        if cols.is_empty() {
            return None;
        }
        let names = cols
            .iter()
            .map(|&c| self.names.as_ref().map_or_else(|| format!("column{}", c + 1), |n| n[c].clone()))
            .collect();
        Some(Kept { names, values })
    }

    /// What the columns were: their count, the label's position and name (when the rows are
    /// labelled), the one-hot label's width, and the header's names of the features and
    /// targets.
    fn schema(&self, labelled: bool) -> Schema {
        let named = |role: Role| -> Option<Vec<String>> {
            let names = self.names.as_ref()?;
            Some(self.roles.iter().zip(names).filter(|(r, _)| **r == role).map(|(_, n)| n.clone()).collect())
        };
        // Positions and counts leave out the columns kept as text (`keep_cols`): those are
        // named in `kept_cols`, and a file read with them is laid out like the rest.
        let read = |c: usize| self.roles[..c].iter().filter(|&&r| r != Role::Keep).count();
        let label = self
            .roles
            .iter()
            .position(|&r| r == Role::Label)
            .filter(|_| labelled)
            .map(|c| LabelColumn { index: read(c), name: self.names.as_ref().map(|n| n[c].clone()) });
        let one_hot = self.roles.iter().filter(|&&r| r == Role::OneHot).count();
        Schema {
            n_columns: Some(read(self.roles.len())),
            label,
            feature_names: named(Role::Feature),
            target_names: named(Role::Target).filter(|t| !t.is_empty()),
            one_hot: (one_hot > 0 && labelled).then_some(one_hot),
            ..Schema::default()
        }
    }
}
