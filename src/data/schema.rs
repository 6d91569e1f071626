//! What a data file's columns were: the label column (by position and name), the feature and
//! target names, the class names. Read with the data, stored in the model, and used by eval,
//! predict and show to read the next file the way the training file was read (and to refuse a
//! file that does not match).

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
}
