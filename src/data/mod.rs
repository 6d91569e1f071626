//! Data sets: features `n x d` in f32 with class labels or real-valued targets, loaded from
//! CSV, MNIST's IDX format (raw or gzip) or numpy's `.npy` / `.npz`, normalised, and split;
//! pictures made into rows like a model's training images ([`image`]).
//!
//! This module knows files and formats; it knows nothing of networks or training.
//!
//! ```no_run
//! use bp_par::data::{load, LoadOptions};
//! let digits = load("datasets/digits.csv".as_ref(), &LoadOptions::default()).unwrap();
//! assert_eq!((digits.n_samples(), digits.n_features()), (5000, 400));
//! ```

mod classes;
mod csv;
mod dialect;
mod features;
mod idx;
pub mod image;
mod inflate;
mod memory;
mod missing;
mod normalize;
mod npy;
mod read;
mod schema;
mod subsets;

pub use dialect::{ClassNames, Delimiter, Missing};
pub use memory::Value;
pub use normalize::{Normalization, NormalizeMode};
pub use read::read_bytes;
pub use schema::{HeldOut, LabelColumn, Schema};

pub(crate) use features::{Features, Scan};
pub(crate) use missing::feature_means;

use crate::error::{Error, Result};
use classes::{class_count, noted};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The shipped `datasets/digits.csv` (5,000 20x20 digits), built into the library so that
/// `bp-par train` and `bp-par experiment ex4` work from any folder.
pub const BUILTIN_DIGITS: &[u8] = include_bytes!("../../datasets/digits.csv");

/// What the network should learn to produce for each sample.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets {
    /// Integer class labels in `0..n_classes`.
    Classes {
        /// One label per sample.
        labels: Vec<u32>,
        /// The number of classes (at least the largest label + 1).
        n_classes: usize,
    },
    /// Real-valued targets, `n x n_outputs` row-major.
    Values {
        /// `n x n_outputs`, row-major.
        values: Vec<f32>,
        /// Targets per sample.
        n_outputs: usize,
    },
    /// No targets (inputs to `predict`).
    None,
}

/// A data set: `n_samples x n_features` f32 features with their targets, and what is known
/// of where they came from (the file's columns, an image shape, carried-through columns).
///
/// Built by the readers ([`load`], [`parse_csv`], [`from_bytes`]) or from memory
/// ([`Dataset::from_rows`], [`Dataset::classes`], [`Dataset::named_classes`],
/// [`Dataset::values`]); every constructor checks the widths, the label range and the values,
/// so a `Dataset` always holds whole rows whose targets fit. The features are raw (as read):
/// models normalise them ([`crate::model::Model::predict`]); a hand-driven loop normalises a
/// copy with [`Dataset::normalized`], which is marked so that no model normalises it twice.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Where it came from (for messages).
    pub(crate) path: PathBuf,
    /// Input features per sample.
    pub(crate) n_features: usize,
    /// `n_samples x n_features`, row-major, with what one pass over them finds.
    pub(crate) features: Features,
    /// What each sample should produce.
    pub(crate) targets: Targets,
    /// `[height, width]` when the features are an image (IDX files, or square CSV pixels).
    pub(crate) image_shape: Option<[usize; 2]>,
    /// How the file's columns were read (label column, names), to be kept in a model.
    pub(crate) schema: Schema,
    /// The columns carried through as text (`keep_cols`), if any.
    pub(crate) kept: Option<Kept>,
    /// Whether the features have been normalised ([`Dataset::normalized`]).
    pub(crate) normalized: bool,
    /// Whether `image_shape` came from the format (IDX images, 3-D arrays) or was given,
    /// rather than guessed from a square feature count: such data are pictures whatever
    /// their values, for `normalize` auto.
    pub(crate) shape_given: bool,
    /// What the reader noticed and decided that a person should hear of (a header of column
    /// numbers, classes without rows): warnings, not errors ([`Dataset::notes`]).
    pub(crate) notes: Vec<String>,
}

/// Columns carried through a data set as text, row by row (an id, a file name).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Kept {
    /// Each kept column's header name (or its index as given, without a header).
    pub names: Vec<String>,
    /// `n_samples x names.len()` texts, row-major.
    pub values: Vec<String>,
}

impl Kept {
    /// Row `i`'s texts.
    ///
    /// # Panics
    /// When `i` is not below the rows' count (an index out of range, as for a slice).
    pub fn row(&self, i: usize) -> &[String] {
        let k = self.names.len();
        &self.values[i * k..(i + 1) * k]
    }
}

/// Which CSV column holds the class label.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum LabelCol {
    /// A header column named `label`, `class`, `target` or `y`, else the first column.
    #[default]
    Auto,
    /// The first column.
    First,
    /// The last column.
    Last,
    /// The column with this header name.
    Name(String),
    /// 0-based column index.
    Index(usize),
}

impl std::str::FromStr for LabelCol {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Ok(match s {
            "auto" => LabelCol::Auto,
            "first" => LabelCol::First,
            "last" => LabelCol::Last,
            _ => match s.parse::<usize>() {
                Ok(i) => LabelCol::Index(i),
                Err(_) if !s.is_empty() => LabelCol::Name(s.to_string()),
                Err(_) => return Err("expected first, last, a column name or a 0-based index".into()),
            },
        })
    }
}

/// How to read a data file.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// CSV: which column holds the class label.
    pub label_col: LabelCol,
    /// Take the last K columns as real-valued targets instead of a label column.
    pub targets: Option<usize>,
    /// The number of classes (else inferred as the largest label + 1).
    pub classes: Option<usize>,
    /// IDX: the labels file (else found from the images file's name).
    pub labels: Option<PathBuf>,
    /// The number of input features a model expects: a CSV with exactly this many columns
    /// is read as unlabeled, and a labels-less IDX file is accepted.
    pub unlabeled_width: Option<usize>,
    /// The columns of the model the data is read for (its training file's [`Schema`]): with
    /// `label_col` left at `Auto`, the label is where the model's was, and a header that names
    /// the features differently is refused with the first difference.
    pub expect: Option<Schema>,
    /// CSV columns (header names or 0-based indices) carried through as text instead of
    /// being read as features or labels ([`Dataset::kept`]): an id beside each prediction.
    pub keep_cols: Vec<String>,
    /// CSV: the field separator (detected from the first lines by default).
    pub delimiter: Delimiter,
    /// CSV: what to do with missing values (refuse the file by default).
    pub missing: Missing,
    /// CSV: the last K columns are a one-hot class label (K classes).
    pub one_hot: Option<usize>,
    /// CSV: how labels are read: numbers, or names (a model's, or the file's own).
    pub class_names: ClassNames,
    /// CSV: lines at the start of the file that are neither header nor rows (a summary line
    /// such as scikit-learn's `569,30,malignant,benign`), skipped; line numbers in messages
    /// still count them.
    pub skip_rows: usize,
}

impl Dataset {
    /// Where the data came from, as messages name it.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Input features per sample.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// All features, `n_samples x n_features` row-major.
    pub fn features(&self) -> &[f32] {
        &self.features
    }

    /// What each sample should produce.
    pub fn targets(&self) -> &Targets {
        &self.targets
    }

    /// `[height, width]` when the features are an image.
    pub fn image_shape(&self) -> Option<[usize; 2]> {
        self.image_shape
    }

    /// How the file's columns were read (label column, feature and class names, fills).
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The columns carried through as text (`keep_cols`), if any.
    pub fn kept(&self) -> Option<&Kept> {
        self.kept.as_ref()
    }

    /// Whether the features were normalised by [`Dataset::normalized`] (else they are raw).
    pub fn is_normalized(&self) -> bool {
        self.normalized
    }

    /// What the reader noticed about the file that a person should hear of, one sentence
    /// each (a front end shows them as warnings): classes without rows, a header whose names
    /// are numbers. Empty for most files.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The number of samples (rows).
    pub fn n_samples(&self) -> usize {
        self.features.len().checked_div(self.n_features).unwrap_or(0)
    }

    /// Row `i`'s features.
    ///
    /// # Panics
    /// When `i` is not below [`Dataset::n_samples`] (an index out of range, as for a slice).
    pub fn row(&self, i: usize) -> &[f32] {
        &self.features[i * self.n_features..(i + 1) * self.n_features]
    }

    /// The number of network outputs the targets call for (0 without targets).
    pub fn n_outputs(&self) -> usize {
        match &self.targets {
            Targets::Classes { n_classes, .. } => *n_classes,
            Targets::Values { n_outputs, .. } => *n_outputs,
            Targets::None => 0,
        }
    }

    /// Writes sample `i`'s target row (one-hot for classes) into `out` (`n_outputs` long).
    ///
    /// # Panics
    /// When `i` is not below [`Dataset::n_samples`] or `out` is not [`Dataset::n_outputs`]
    /// long (indices out of range, as for a slice).
    pub fn write_target(&self, i: usize, out: &mut [f32]) {
        match &self.targets {
            Targets::Classes { labels, .. } => {
                out.fill(0.0);
                out[labels[i] as usize] = 1.0;
            }
            Targets::Values { values, n_outputs } => {
                out.copy_from_slice(&values[i * n_outputs..(i + 1) * n_outputs])
            }
            Targets::None => out.fill(0.0),
        }
    }

    /// The class labels, if any.
    pub fn labels(&self) -> Option<&[u32]> {
        match &self.targets {
            Targets::Classes { labels, .. } => Some(labels),
            _ => None,
        }
    }

    /// A 64-bit FNV-1a hash of the shape, features and targets: two data sets with the same
    /// fingerprint are, for all practical purposes, the same rows in the same order.
    pub fn fingerprint(&self) -> u64 {
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |w: u64| {
            h ^= w;
            h = h.wrapping_mul(PRIME);
        };
        eat(self.n_features as u64);
        eat(self.n_samples() as u64);
        self.features.iter().for_each(|v| eat(v.to_bits() as u64));
        match &self.targets {
            Targets::Classes { labels, n_classes } => {
                eat(*n_classes as u64);
                labels.iter().for_each(|&l| eat(l as u64));
            }
            Targets::Values { values, n_outputs } => {
                eat(*n_outputs as u64);
                values.iter().for_each(|v| eat(v.to_bits() as u64));
            }
            Targets::None => {}
        }
        h
    }
}

/// Loads a CSV, IDX, `.npy` or `.npz` data set, detected by content: IDX files start with
/// two zero bytes, `.npy` with `\x93NUMPY`, `.npz` (a zip) with `PK\x03\x04`.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<Dataset> {
    let mut head = Vec::with_capacity(6);
    if let Ok(f) = std::fs::File::open(path)
        && f.metadata().is_ok_and(|m| m.is_file())
    {
        // (An unreadable file is reported by `read_bytes` below.)
        let _ = f.take(6).read_to_end(&mut head);
    }
    if head.starts_with(npy::MAGIC) {
        only_csv_skips(path, opts, "a .npy array")?;
        npy::load_file(path, opts).map(|d| noted(d, opts))
    } else if head.starts_with(npy::ZIP_MAGIC) {
        only_csv_skips(path, opts, "a .npz archive")?;
        npy::load_npz_file(path, opts).map(|d| noted(d, opts))
    } else {
        let (bytes, room) = read::read_with_room(path)?;
        from_bytes_into(path, &bytes, room, opts)
    }
}

/// Refuses `skip_rows` for a file that has no lines (`what` it is).
fn only_csv_skips(path: &Path, opts: &LoadOptions, what: &str) -> Result<()> {
    if opts.skip_rows == 0 {
        return Ok(());
    }
    Err(Error::config(format!("`skip_rows` skips lines of a CSV file, but {} is {what}", path.display())))
}

/// Parses a data set held in memory (already decompressed); `path` names it in messages
/// and locates an IDX or `.npy` labels file.
pub fn from_bytes(path: &Path, bytes: &[u8], opts: &LoadOptions) -> Result<Dataset> {
    from_bytes_into(path, bytes, None, opts)
}

/// [`from_bytes`], an IDX file's f32 features written into `room` if it is large enough.
fn from_bytes_into(path: &Path, bytes: &[u8], room: Option<Vec<f32>>, opts: &LoadOptions) -> Result<Dataset> {
    let data = if bytes.starts_with(npy::MAGIC) {
        only_csv_skips(path, opts, "a .npy array")?;
        npy::load_npy(path, bytes, opts)?
    } else if bytes.starts_with(npy::ZIP_MAGIC) {
        only_csv_skips(path, opts, "a .npz archive")?;
        npy::load_npz(path, bytes, opts)?
    } else if bytes.len() >= 2 && bytes[0] == 0 && bytes[1] == 0 {
        only_csv_skips(path, opts, "an IDX file")?;
        idx::load(path, bytes, room, opts)?
    } else {
        csv::parse(path, bytes, opts)?
    };
    Ok(noted(data, opts))
}

/// Parses CSV text held in memory; `path` names it in messages.
pub fn parse_csv(path: &Path, bytes: &[u8], opts: &LoadOptions) -> Result<Dataset> {
    csv::parse(path, bytes, opts).map(|d| noted(d, opts))
}

/// The side of a square image with `n` pixels, if `n` is plausibly a picture: a perfect
/// square of at least 8x8 (64 features). Fewer features are rarely pixels (pen digits' 16
/// coordinates are not a 4x4 picture); `image_shape` says otherwise.
fn square_side(n: usize) -> Option<usize> {
    let s = (n as f64).sqrt().round() as usize;
    (s >= 8 && s * s == n).then_some(s)
}

/// A synthetic classification data set: uniform [0, 1) features, uniform labels.
pub fn synthetic(n: usize, n_features: usize, n_classes: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let features = (0..n * n_features).map(|_| rng.random_range(0.0f32..1.0)).collect();
    let labels = (0..n).map(|_| rng.random_range(0..n_classes as u32)).collect();
    Dataset {
        path: "synthetic".into(),
        n_features,
        features,
        targets: Targets::Classes { labels, n_classes },
        image_shape: None,
        schema: Schema::default(),
        kept: None,
        normalized: false,
        shape_given: false,
        notes: Vec::new(),
    }
}
