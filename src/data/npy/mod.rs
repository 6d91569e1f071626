//! numpy arrays as data sets: a `.npy` of features (`n x d` rows, or `n x h x w` images) with
//! its labels from `labels` or a sibling file found by name (`x.npy` → `y.npy`,
//! `X_train.npy` → `y_train.npy`), or a `.npz` holding both (see [`npz`]).
//!
//! Labels are a 1-D integer array (or whole-valued floats) of classes; with `targets` K the
//! second array holds real-valued targets, `n` or `n x K`. Features of any numeric dtype
//! become f32; NaN, infinities and values beyond f32's range are refused with their index.

mod format;
#[cfg(feature = "npz")]
mod npz;
#[cfg(test)]
mod tests;

use super::{Dataset, LabelCol, LoadOptions, Schema, Targets};
use crate::error::{Error, Result};
use format::Array;
use std::io::Read;
use std::path::{Path, PathBuf};

pub(super) use format::MAGIC;
/// The first bytes of a zip archive (a `.npz`).
pub(super) const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

/// Reads one `.npy` array from `reader` (a file or a zip entry), refusing up front one whose
/// declared size does not fit in the available memory, and reading no more than it declares
/// (one byte more shows a surplus).
fn read_npy(path: &Path, reader: impl Read) -> Result<Vec<u8>> {
    let bad = |e: std::io::Error| Error::io(path, "read the file", e);
    let mut reader = reader;
    let mut bytes = Vec::new();
    reader.by_ref().take(12).read_to_end(&mut bytes).map_err(bad)?;
    let Some((start, end)) = format::header_span(path, &bytes)? else { return Ok(bytes) };
    reader.by_ref().take((end - bytes.len().min(end)) as u64).read_to_end(&mut bytes).map_err(bad)?;
    let Some((count, size)) = format::declared_size(&bytes, start, end) else { return Ok(bytes) };
    // The file's bytes, plus 4 bytes per element as f32 features.
    let need = count.saturating_mul(4).saturating_add(size);
    if let Some(avail) = crate::sys::available_memory_bytes()
        && need > avail
    {
        return Err(super::read::too_big(path, "", need, avail));
    }
    reader.take(size.saturating_add(1)).read_to_end(&mut bytes).map_err(bad)?;
    Ok(bytes)
}

/// Loads a `.npy` file of features (and its labels file).
pub(super) fn load_file(path: &Path, opts: &LoadOptions) -> Result<Dataset> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, "read the file", e))?;
    let bytes = read_npy(path, std::io::BufReader::new(file))?;
    load_npy(path, &bytes, opts)
}

/// Loads a `.npz` file (x and y arrays).
#[cfg(feature = "npz")]
pub(super) fn load_npz_file(path: &Path, opts: &LoadOptions) -> Result<Dataset> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, "read the file", e))?;
    npz::load(path, std::io::BufReader::new(file), opts)
}

/// Loads a `.npz` held in memory.
#[cfg(feature = "npz")]
pub(super) fn load_npz(path: &Path, bytes: &[u8], opts: &LoadOptions) -> Result<Dataset> {
    npz::load(path, std::io::Cursor::new(bytes), opts)
}

/// A `.npz` file, refused by a build without the `npz` feature (the zip reader).
#[cfg(not(feature = "npz"))]
pub(super) fn load_npz_file(path: &Path, _opts: &LoadOptions) -> Result<Dataset> {
    Err(Error::data(
        path,
        "is a .npz (zip) file, and this build of bp-par was made without the npz feature that reads it",
    ))
}

/// A `.npz` held in memory, refused by a build without the `npz` feature.
#[cfg(not(feature = "npz"))]
pub(super) fn load_npz(path: &Path, _bytes: &[u8], opts: &LoadOptions) -> Result<Dataset> {
    load_npz_file(path, opts)
}

/// Loads a `.npy` of features held in memory; its labels come from `labels` or a sibling.
pub(super) fn load_npy(path: &Path, bytes: &[u8], opts: &LoadOptions) -> Result<Dataset> {
    check_options(path, opts)?;
    let x = format::parse(path, bytes)?;
    let labels_path = opts.labels.clone().or_else(|| sibling_labels(path));
    let Some(lp) = labels_path else {
        return assemble(path, path, &x, None, opts);
    };
    let file = std::fs::File::open(&lp).map_err(|e| Error::io(&lp, "read the labels file", e))?;
    let ybytes = read_npy(&lp, std::io::BufReader::new(file))?;
    let y = format::parse(&lp, &ybytes)?;
    assemble(path, path, &x, Some((&lp, &y)), opts)
}

/// Refuses the CSV-only options.
fn check_options(path: &Path, opts: &LoadOptions) -> Result<()> {
    if opts.label_col != LabelCol::Auto {
        return Err(Error::config(format!(
            "`label_col` applies to CSV files, but {} is a numpy array: its labels are a second array \
             (y in a .npz, or a .npy found by name or given with `labels`)",
            path.display()
        )));
    }
    Ok(())
}

/// The labels file beside a features file, by the usual names: `x.npy` → `y.npy`,
/// `X_train.npy` → `y_train.npy`, `train_x.npy` → `train_y.npy`, `images.npy` → `labels.npy`.
fn sibling_labels(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(".npy")?;
    let mut names = Vec::new();
    for (from, to) in [("x", "y"), ("X", "y"), ("X", "Y")] {
        if stem == from {
            names.push(to.to_string());
        }
        if let Some(rest) = stem.strip_prefix(&format!("{from}_")) {
            names.push(format!("{to}_{rest}"));
        }
        if let Some(rest) = stem.strip_suffix(&format!("_{from}")) {
            names.push(format!("{rest}_{to}"));
        }
    }
    for (from, to) in [("images", "labels"), ("features", "labels"), ("data", "labels")] {
        if stem.contains(from) {
            names.push(stem.replace(from, to));
        }
    }
    names.into_iter().map(|n| path.with_file_name(format!("{n}.npy"))).find(|p| p.is_file() && p != path)
}

/// `c`'s multi-index in `shape`, as Python writes it: `[3, 5]`.
fn index_of(shape: &[usize], mut c: usize) -> String {
    let mut idx = vec![0; shape.len()];
    for (k, &d) in shape.iter().enumerate().rev() {
        idx[k] = c % d.max(1);
        c /= d.max(1);
    }
    format!("{idx:?}")
}

/// `x`'s elements as f32, refusing non-finite values and values beyond f32's range.
fn finite_f32(name: &Path, a: &Array) -> Result<Vec<f32>> {
    let mut out = Vec::with_capacity(a.len());
    for c in 0..a.len() {
        let v = a.get(c);
        let v32 = v as f32;
        if !v32.is_finite() {
            let what =
                if v.is_finite() { format!("{v}, beyond the f32 range (±3.4e38)") } else { v.to_string() };
            return Err(Error::data(
                name,
                format!("element {} is {what}; expected finite numbers", index_of(&a.shape, c)),
            ));
        }
        out.push(v32);
    }
    Ok(out)
}

/// The samples' count, features per sample and image shape of a features array: `n x d`
/// (an image when `d` is a square of at least 64, as for CSV), `n x h x w`, or images with one
/// channel (`n x h x w x 1`, `n x 1 x h x w`).
fn feature_shape(name: &Path, shape: &[usize]) -> Result<(usize, usize, Option<[usize; 2]>)> {
    let (n, d, image) = match *shape {
        [n, d] => (n, d, super::square_side(d).map(|s| [s, s])),
        [n, h, w] | [n, h, w, 1] | [n, 1, h, w] => {
            let d = h.checked_mul(w).ok_or_else(|| {
                Error::data(name, format!("declares images of {h} x {w} pixels, more than can be counted"))
            })?;
            (n, d, Some([h, w]))
        }
        _ => {
            return Err(Error::data(
                name,
                format!(
                    "holds an array of shape {}; expected features as samples x features (2-D) or \
                     samples x height x width images (3-D)",
                    format::show_shape(shape)
                ),
            ));
        }
    };
    if n == 0 || d == 0 {
        return Err(Error::data(name, format!("holds no samples (shape {})", format::show_shape(shape))));
    }
    Ok((n, d, image))
}

/// Class labels stored one-hot (`n x k`, a single 1 and 0s on every row), for `one_hot` k.
fn one_hot_labels(y_name: &Path, y: &Array, n: usize, cols: usize, k: usize) -> Result<Targets> {
    if cols != k {
        return Err(Error::data(
            y_name,
            format!(
                "has shape {}: `one_hot` {k} expects {n} x {k} one-hot rows",
                format::show_shape(&y.shape)
            ),
        ));
    }
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let row: Vec<f64> = (0..k).map(|j| y.get(i * k + j)).collect();
        let ones: Vec<usize> = (0..k).filter(|&j| row[j] == 1.0).collect();
        if ones.len() != 1 || row.iter().any(|&v| v != 0.0 && v != 1.0) {
            return Err(Error::data(
                y_name,
                format!(
                    "row [{i}] is not one-hot (a single 1 and 0s): `one_hot` {k} expects one on every row"
                ),
            ));
        }
        labels.push(ones[0] as u32);
    }
    Ok(Targets::Classes { labels, n_classes: k })
}

/// The data set of features `x` (read from `x_name`) and labels or targets `y`.
fn assemble(
    path: &Path,
    x_name: &Path,
    x: &Array,
    y: Option<(&Path, &Array)>,
    opts: &LoadOptions,
) -> Result<Dataset> {
    let (n, n_features, image_shape) = feature_shape(x_name, &x.shape)?;
    let features = finite_f32(x_name, x)?;
    let targets = match y {
        Some((y_name, y)) => targets(y_name, y, x_name, n, opts)?,
        // (Rows to predict need no targets, a regression model's neither.)
        None if opts.unlabeled_width.is_some() => Targets::None,
        None if opts.targets.is_some() => {
            return Err(Error::data(
                x_name,
                "has no targets array beside it (`targets` needs one: y.npy for x.npy, or y in a .npz)",
            ));
        }
        None => {
            return Err(Error::data(
                x_name,
                "has no labels: expected a labels array beside it (x.npy → y.npy, X_train.npy → \
                 y_train.npy, images.npy → labels.npy), or give one with `labels` PATH",
            ));
        }
    };
    Ok(Dataset {
        path: path.to_path_buf(),
        n_features,
        features: features.into(),
        targets,
        image_shape,
        schema: Schema::default(),
        kept: None,
        normalized: false,
        shape_given: image_shape.is_some() && x.shape.len() > 2,
        notes: Vec::new(),
    })
}

/// Class labels (a 1-D array of whole numbers, or `n x 1`) or, with `targets` K, real-valued
/// targets (`n`, or `n x K`).
fn targets(y_name: &Path, y: &Array, x_name: &Path, n: usize, opts: &LoadOptions) -> Result<Targets> {
    let shape = format::show_shape(&y.shape);
    if y.shape.first() != Some(&n) {
        return Err(Error::data(
            y_name,
            format!(
                "has shape {shape} but {} holds {n} samples: expected one label per sample",
                x_name.display()
            ),
        ));
    }
    let cols = match y.shape[..] {
        [_] => 1,
        [_, k] => k,
        _ => 0,
    };
    if let Some(k) = opts.targets {
        if cols != k || k == 0 {
            return Err(Error::data(
                y_name,
                format!("has shape {shape}: `targets` {k} expects {n} x {k} real-valued targets"),
            ));
        }
        return Ok(Targets::Values { values: finite_f32(y_name, y)?, n_outputs: k });
    }
    if let Some(k) = opts.one_hot {
        return one_hot_labels(y_name, y, n, cols, k);
    }
    if cols != 1 {
        let one_hot = cols >= 2 && one_hot_labels(y_name, y, n, cols, cols).is_ok();
        let hint = if one_hot {
            format!("its rows are one-hot: give `one_hot` {cols} to read them as {cols} classes")
        } else {
            "for real-valued targets, give `targets` with their count".to_string()
        };
        return Err(Error::data(
            y_name,
            format!("has shape {shape}: class labels are one whole number per sample (a 1-D array); {hint}"),
        ));
    }
    let limit = opts.classes.unwrap_or(super::csv::MAX_CLASSES);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let v = y.get(i);
        if v < 0.0 || v.fract() != 0.0 || v >= limit as f64 {
            let expected = match opts.classes {
                Some(k) => format!("a class label in 0..{} (`classes` {k})", k - 1),
                None if v >= limit as f64 => format!("a class label below the limit of {limit}"),
                None => "a class label (a whole number 0, 1, 2, ...; for real-valued targets give `targets`)"
                    .into(),
            };
            return Err(Error::data(y_name, format!("element [{i}] is {v}; expected {expected}")));
        }
        labels.push(v as u32);
    }
    let n_classes = super::class_count(y_name, &labels, opts.classes, opts.expect.is_none(), |i| {
        format!("element [{i}]")
    })?;
    Ok(Targets::Classes { labels, n_classes })
}
