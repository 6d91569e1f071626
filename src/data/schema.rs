//! What a data file's columns were: the label column (by position and name), the feature and
//! target names, the class names. Read with the data, stored in the model, and used by eval,
//! predict and show to read the next file the way the training file was read (and to refuse a
//! file that does not match).

use super::{ClassNames, LoadOptions, Missing};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// How a data set's file was laid out. Empty ([`Schema::is_empty`]) for data that has no
/// columns to remember (IDX files, synthetic data, sets built in code).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// Fields per row of the file (features, label and targets together), for CSV files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_columns: Option<usize>,
    /// The class label's column, for classification data read from CSV.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<LabelColumn>,
    /// The feature columns' names, in order, from the file's header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_names: Option<Vec<String>>,
    /// The regression targets' names, in order, from the file's header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_names: Option<Vec<String>>,
    /// The class names in class order, when the labels were names (`cat`, `setosa`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_names: Option<Vec<String>>,
    /// For image data: the training images' background and ink levels, ink box and centre,
    /// so that a picture can be made into a row like theirs ([`super::image`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<super::image::ImageStats>,
    /// The class label was the last K columns, one-hot (K classes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_hot: Option<usize>,
    /// What replaced a missing feature, per feature column (the training means under
    /// `missing` mean, zeros under zero): the next file's missing values get the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_fill: Option<Vec<f32>>,
    /// Columns (header names or 0-based indices) that were not read as features or labels
    /// (`keep_cols`: an id): a file read for the model leaves them out too. The other
    /// positions and counts here are those of the file without them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept_cols: Option<Vec<String>>,
    /// The rows held out for validation (set by [`crate::data::Dataset::split`]), so that
    /// the same rows can be evaluated again ([`crate::data::Dataset::resplit`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_out: Option<HeldOut>,
}

/// Which rows a validation split held out: the fraction and seed it was drawn with, and the
/// data it was drawn from (row count and [`crate::data::Dataset::fingerprint`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeldOut {
    /// The fraction held out, in (0, 1).
    pub fraction: f64,
    /// The seed of the draw.
    #[serde(with = "crate::metadata::decimal")]
    pub seed: u64,
    /// Rows of the data before the split.
    pub rows: usize,
    /// The fingerprint of the data before the split.
    #[serde(with = "crate::metadata::hex")]
    pub fingerprint: u64,
}

/// Where the class label was in a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelColumn {
    /// 0-based column index.
    pub index: usize,
    /// The header's name for it, if the file had a header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Schema {
    /// Checks the images' statistics, if any, against the model's input shape; says what is
    /// wrong.
    pub fn check_image(&self, input_shape: Option<[usize; 2]>) -> std::result::Result<(), String> {
        match (&self.image, input_shape) {
            (None, _) => Ok(()),
            (Some(_), None) => Err("needs an \"input_shape\"".into()),
            (Some(image), Some(shape)) => image.check(shape),
        }
    }

    /// Whether nothing is known (nothing to store in a model).
    pub fn is_empty(&self) -> bool {
        *self == Schema::default()
    }

    /// `opts` set to read a file the way this schema's file was read, for a model that
    /// stores it: labels by the model's class names (or as numbers), the one-hot label
    /// columns, and a missing feature replaced by the stored training value (unless `opts`
    /// drops such rows or fills with zeros). `missing` mean without stored means is an error:
    /// the new file's own means would not be the ones the model was trained with.
    pub fn read_options(&self, mut opts: LoadOptions) -> Result<LoadOptions> {
        opts.class_names = match &self.class_names {
            Some(names) => ClassNames::Names(names.clone()),
            None => ClassNames::Numbers,
        };
        for col in self.kept_cols.iter().flatten() {
            if !opts.keep_cols.contains(col) {
                opts.keep_cols.push(col.clone());
            }
        }
        if opts.one_hot.is_none() && opts.label_col == super::LabelCol::Auto {
            opts.one_hot = self.one_hot;
        }
        opts.missing = match (opts.missing, &self.missing_fill) {
            (Missing::Error | Missing::Mean, Some(fill)) => Missing::Fill(fill.clone()),
            (Missing::Mean, None) => {
                return Err(Error::config(
                    "`missing` mean fills a missing value with the training mean, but the model \
                     stores none (it was trained without `missing` mean or zero): use zero or drop",
                ));
            }
            (m, _) => m,
        };
        Ok(opts)
    }

    /// Checks the one-hot width and the fill values against a network of `n_in` inputs and
    /// `n_out` outputs (`classify`: a classifier); the problem as a phrase otherwise.
    pub(crate) fn check_reading(&self, n_in: usize, n_out: usize, classify: bool) -> Result<(), String> {
        if let Some(fill) = &self.missing_fill
            && (fill.len() != n_in || fill.iter().any(|v| !v.is_finite()))
        {
            return Err(format!(
                "has {} missing-value fills (finite) for a network of {n_in} inputs",
                fill.len()
            ));
        }
        match self.one_hot {
            Some(k) if k != n_out || !classify => {
                Err(format!("reads a {k}-column one-hot label for a network of {n_out} outputs"))
            }
            _ => Ok(()),
        }
    }
}
