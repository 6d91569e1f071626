//! Data sets built from memory: a rows × columns slice of f32, f64 or u8 with class labels, class
//! names or real-valued targets, checked when built (widths, label range, values), and the
//! checked changes a caller may make to a data set (its name, feature names, image shape, a
//! normalised copy).
//!
//! A missing feature is NaN (pandas' and scikit-learn's convention): it is kept, and the
//! front door fills it by the fit's missing-value policy ([`crate::fit::Mlp::missing`]) or a
//! model's stored fills; an infinite feature, an f64 beyond f32's range and a non-finite
//! target are refused, naming the row and column.
//!
//! ```
//! use bp_par::data::Dataset;
//! let x = [0.0f64, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0];
//! let xor = Dataset::classes(&x, 2, &[0, 1, 1, 0], None).unwrap();
//! assert_eq!((xor.n_samples(), xor.n_features(), xor.n_outputs()), (4, 2, 2));
//! assert!(Dataset::classes(&x, 2, &[0, 1, 1], None).is_err()); // 3 labels for 4 rows
//! assert!(Dataset::classes(&x, 3, &[0, 1], None).is_err()); // 8 values are not rows of 3
//! let named = Dataset::named_classes(&x, 2, &["no", "yes", "yes", "no"]).unwrap();
//! assert_eq!(named.schema().class_names.as_deref(), Some(&["no".to_string(), "yes".into()][..]));
//! ```

use super::{Dataset, Normalization, Schema, Targets};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// The name in-memory data goes by in messages (until [`Dataset::with_name`]).
const IN_MEMORY: &str = "(in memory)";

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
    impl Sealed for u8 {}
}

/// An element type of data held in memory: `f32`, `f64`, or `u8` (pixels as pictures come).
pub trait Value: Copy + Send + Sync + sealed::Sealed {
    /// The value as f32 (rounded to nearest; beyond f32's range it is infinite).
    fn to_f32(self) -> f32;
    /// Whether the value is infinite in its own type or beyond f32's range.
    fn out_of_range(self) -> bool;
}

impl Value for f32 {
    fn to_f32(self) -> f32 {
        self
    }
    fn out_of_range(self) -> bool {
        self.is_infinite()
    }
}

impl Value for f64 {
    fn to_f32(self) -> f32 {
        self as f32
    }
    fn out_of_range(self) -> bool {
        !self.is_nan() && (self as f32).is_infinite()
    }
}

impl Value for u8 {
    fn to_f32(self) -> f32 {
        f32::from(self)
    }
    fn out_of_range(self) -> bool {
        false
    }
}

/// Checks that `values` are whole rows of `width`; returns the row count.
fn rows_of(what: &str, len: usize, width: usize) -> Result<usize> {
    if width == 0 {
        return Err(Error::data(
            Path::new(IN_MEMORY),
            format!("{what} have a width of 0; a row needs at least one value"),
        ));
    }
    if !len.is_multiple_of(width) {
        return Err(Error::data(
            Path::new(IN_MEMORY),
            format!("{what} hold {len} values, which are not whole rows of {width} (a ragged last row?)"),
        ));
    }
    Ok(len / width)
}

/// The features as f32, refusing infinite values and f64s beyond f32's range (NaN, a missing
/// value, is kept).
fn features_f32<T: Value>(features: &[T], n_features: usize) -> Result<Vec<f32>> {
    use rayon::prelude::*;
    rows_of("the features", features.len(), n_features)?;
    // (In parallel on the caller's pool, by chunks the compiler vectorises; the first bad
    // value in row order is named.)
    let bad = features.par_chunks(1 << 16).any(|c| c.iter().fold(false, |any, v| any | v.out_of_range()));
    // (Where, scanned in order only when there is one.)
    if let Some(i) = bad.then(|| features.iter().position(|v| v.out_of_range())).flatten() {
        return Err(Error::data(
            Path::new(IN_MEMORY),
            format!(
                "row {}, feature {}: the value is infinite or beyond f32's range (±3.4e38); \
                 only finite values and NaN (a missing value) are accepted",
                i / n_features,
                i % n_features
            ),
        ));
    }
    Ok(features.par_iter().map(|v| v.to_f32()).collect())
}

/// Checks that `n` targets (labels or rows of values) were given for `rows` rows.
fn one_per_row(what: &str, n: usize, rows: usize) -> Result<()> {
    if n != rows {
        return Err(Error::data(Path::new(IN_MEMORY), format!("has {rows} rows of features but {n} {what}")));
    }
    Ok(())
}

impl Dataset {
    fn in_memory(features: Vec<f32>, n_features: usize, targets: Targets) -> Dataset {
        Dataset {
            path: PathBuf::from(IN_MEMORY),
            n_features,
            features: features.into(),
            targets,
            // As for CSV files and 2-D arrays: a square of at least 8x8 is a picture's shape.
            image_shape: super::square_side(n_features).map(|s| [s, s]),
            schema: Schema::default(),
            kept: None,
            normalized: false,
            shape_given: false,
            notes: Vec::new(),
        }
    }

    /// Rows without targets (to predict): `features` is `n_samples x n_features`, row-major.
    /// As for CSV files, a square number of at least 64 features is read as a square picture
    /// (for `normalize` auto and the pictures); [`Dataset::with_image_shape`] gives another.
    ///
    /// # Errors
    /// [`Error::Data`] for a width of 0, values that are not whole rows, or an infinite value.
    pub fn from_rows<T: Value>(features: &[T], n_features: usize) -> Result<Dataset> {
        Ok(Dataset::in_memory(features_f32(features, n_features)?, n_features, Targets::None))
    }

    /// Rows with class labels in `0..n_classes` (`n_classes` inferred as the largest label + 1
    /// when `None`).
    ///
    /// # Errors
    /// As [`Dataset::from_rows`], and for a label count other than the row count, a label out
    /// of range, no rows without `n_classes`, or `n_classes` 0.
    pub fn classes<T: Value>(
        features: &[T],
        n_features: usize,
        labels: &[u32],
        n_classes: Option<usize>,
    ) -> Result<Dataset> {
        let x = features_f32(features, n_features)?;
        one_per_row("labels", labels.len(), x.len() / n_features)?;
        if n_classes == Some(0) {
            return Err(Error::data(
                Path::new(IN_MEMORY),
                "the class count is 0; a classifier needs at least one class",
            ));
        }
        if let Some(k) = n_classes
            && let Some(i) = labels.iter().position(|&l| l as usize >= k)
        {
            return Err(Error::data(
                Path::new(IN_MEMORY),
                format!(
                    "row {i}: label {} is not below the class count {k} (labels are 0..={})",
                    labels[i],
                    k - 1
                ),
            ));
        }
        let k = super::class_count(IN_MEMORY.as_ref(), labels, n_classes, true, |i| format!("row {i}"))?;
        Ok(Dataset::in_memory(x, n_features, Targets::Classes { labels: labels.to_vec(), n_classes: k }))
    }

    /// Rows with class names (`"cat"`, `"setosa"`): the classes are the distinct names in
    /// sorted order, stored as the data's class names (a model trained on it predicts them).
    ///
    /// # Errors
    /// As [`Dataset::from_rows`], and for a name count other than the row count or an empty
    /// name.
    pub fn named_classes<T: Value, S: AsRef<str>>(
        features: &[T],
        n_features: usize,
        names: &[S],
    ) -> Result<Dataset> {
        let x = features_f32(features, n_features)?;
        one_per_row("class names", names.len(), x.len() / n_features)?;
        if let Some(i) = names.iter().position(|s| s.as_ref().trim().is_empty()) {
            return Err(Error::data(Path::new(IN_MEMORY), format!("row {i}: the class name is empty")));
        }
        let mut classes: Vec<String> = names.iter().map(|s| s.as_ref().to_string()).collect();
        classes.sort();
        classes.dedup();
        let labels = names
            .iter()
            .map(|s| classes.binary_search_by(|c| c.as_str().cmp(s.as_ref())).unwrap_or(0) as u32)
            .collect();
        let mut data =
            Dataset::in_memory(x, n_features, Targets::Classes { labels, n_classes: classes.len() });
        data.schema.class_names = Some(classes);
        Ok(data)
    }

    /// Rows with real-valued targets: `targets` is `n_samples x n_outputs`, row-major.
    ///
    /// # Errors
    /// As [`Dataset::from_rows`], and for targets that are not one row of `n_outputs` per
    /// feature row, or a target that is not finite.
    pub fn values<T: Value>(
        features: &[T],
        n_features: usize,
        targets: &[T],
        n_outputs: usize,
    ) -> Result<Dataset> {
        let x = features_f32(features, n_features)?;
        let rows = rows_of("the targets", targets.len(), n_outputs)?;
        one_per_row("rows of targets", rows, x.len() / n_features)?;
        let values: Vec<f32> = targets.iter().map(|v| v.to_f32()).collect();
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::data(
                Path::new(IN_MEMORY),
                format!(
                    "row {}, target {}: the target is not a finite f32 number",
                    i / n_outputs,
                    i % n_outputs
                ),
            ));
        }
        Ok(Dataset::in_memory(x, n_features, Targets::Values { values, n_outputs }))
    }

    /// The same data, named `name` in messages.
    pub fn with_name(mut self, name: impl Into<PathBuf>) -> Dataset {
        self.path = name.into();
        self
    }

    /// The same data with the features named (a model trained on it refuses a file whose
    /// header names them differently).
    ///
    /// # Errors
    /// [`Error::Data`] when the count is not [`Dataset::n_features`].
    pub fn with_feature_names(mut self, names: Vec<String>) -> Result<Dataset> {
        if names.len() != self.n_features {
            return Err(Error::data(
                &self.path,
                format!("has {} features but {} feature names were given", self.n_features, names.len()),
            ));
        }
        self.schema.feature_names = Some(names);
        Ok(self)
    }

    /// The same class-labelled data with its classes named, in label order (scikit-learn's
    /// `classes_`): a model trained on it predicts, and `bp-par predict` writes, the names.
    ///
    /// # Errors
    /// [`Error::Data`] when the data has no class labels, the names are not one per class,
    /// or a name is empty or repeated.
    pub fn with_class_names(mut self, names: Vec<String>) -> Result<Dataset> {
        let Targets::Classes { n_classes, .. } = self.targets else {
            return Err(Error::data(&self.path, "has no class labels to name"));
        };
        if names.len() != n_classes {
            return Err(Error::data(
                &self.path,
                format!("has {n_classes} classes but {} class names were given", names.len()),
            ));
        }
        if let Some(i) = names.iter().position(|s| s.trim().is_empty()) {
            return Err(Error::data(&self.path, format!("class {i}: the class name is empty")));
        }
        let mut sorted: Vec<&String> = names.iter().collect();
        sorted.sort();
        if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
            return Err(Error::data(&self.path, format!("the class name {:?} is given twice", w[0])));
        }
        self.schema.class_names = Some(names);
        Ok(self)
    }

    /// The same data, its features read as `[height, width]` images.
    ///
    /// # Errors
    /// [`Error::Config`] when `height · width` is not [`Dataset::n_features`].
    pub fn with_image_shape(mut self, [h, w]: [usize; 2]) -> Result<Dataset> {
        if h.checked_mul(w) != Some(self.n_features) {
            return Err(Error::config(format!(
                "an image shape of {h}x{w} is {} pixels, but {} has {} features per row",
                h.saturating_mul(w),
                self.path.display(),
                self.n_features
            )));
        }
        self.image_shape = Some([h, w]);
        self.shape_given = true;
        Ok(self)
    }

    /// Normalises the features in place with `norm` and marks the data as normalised (for a
    /// hand-driven loop over the low-level [`crate::train::Trainer`]; a
    /// [`crate::model::Model`] normalises raw data itself and refuses normalised data).
    ///
    /// # Errors
    /// [`Error::Data`] when the data is normalised already or `norm` was fitted on another
    /// number of features.
    pub fn normalize(&mut self, norm: &Normalization) -> Result<()> {
        if self.normalized {
            return Err(Error::data(&self.path, "is normalised already; normalising twice would misread it"));
        }
        norm.check_width(self.n_features, self.features.len()).map_err(|m| Error::data(&self.path, m))?;
        let d = self.n_features;
        self.features.change(|values| norm.apply_scanned(values, d))?;
        self.normalized = true;
        Ok(())
    }

    /// A normalised copy ([`Dataset::normalize`]).
    ///
    /// # Errors
    /// As [`Dataset::normalize`].
    pub fn normalized(&self, norm: &Normalization) -> Result<Dataset> {
        let mut copy = self.clone();
        copy.normalize(norm)?;
        Ok(copy)
    }

    /// The position of the first feature that is NaN (a missing value), as (row, feature).
    pub fn first_missing(&self) -> Option<(usize, usize)> {
        let d = self.n_features.max(1);
        self.features.scan().first_non_finite?;
        self.first_where(|v| v.is_nan()).map(|i| (i / d, i % d))
    }

    /// The index of the first feature value for which `bad` holds, scanned in parallel by
    /// chunks (each a plain loop the compiler vectorises).
    pub(crate) fn first_where(&self, bad: impl Fn(f32) -> bool + Sync) -> Option<usize> {
        use rayon::prelude::*;
        const CHUNK: usize = 1 << 16;
        let chunk = self.features.par_chunks(CHUNK).position_first(|c| c.iter().any(|&v| bad(v)))?;
        let start = chunk * CHUNK;
        self.features[start..].iter().position(|&v| bad(v)).map(|i| start + i)
    }

    /// The largest magnitude of a feature value (NaN ignored; 0 without values).
    pub(crate) fn max_abs(&self) -> f32 {
        self.features.scan().max_abs()
    }
}
