//! numpy's `.npz`: a zip archive of `.npy` arrays (stored by `np.savez`, deflated by
//! `np.savez_compressed`, with zip64 records), read with the `zip` crate. The features and
//! labels are one of the usual key pairs (`x`/`y`, `X`/`y`, `x_train`/`y_train`,
//! `data`/`labels`, `images`/`labels`, ...); an archive with several pairs (Keras'
//! `mnist.npz` holds `x_train` and `x_test`) is refused, since taking one would be a guess.

use super::{LoadOptions, assemble, check_options, format, read_npy};
use crate::data::Dataset;
use crate::error::{Error, Result};
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

/// Features and labels keys, in the order they are looked for.
const PAIRS: [(&str, &str); 11] = [
    ("x", "y"),
    ("X", "y"),
    ("X", "Y"),
    ("x_train", "y_train"),
    ("X_train", "y_train"),
    ("x_test", "y_test"),
    ("X_test", "y_test"),
    ("data", "labels"),
    ("images", "labels"),
    ("features", "labels"),
    ("inputs", "targets"),
];

/// `path`'s array `key` named for messages: `data.npz[x]`.
fn array_name(path: &Path, key: &str) -> PathBuf {
    PathBuf::from(format!("{}[{key}]", path.display()))
}

/// Loads the features and labels of a `.npz` archive read from `reader`.
pub(super) fn load<R: Read + Seek>(path: &Path, reader: R, opts: &LoadOptions) -> Result<Dataset> {
    check_options(path, opts)?;
    if opts.labels.is_some() {
        return Err(Error::config(format!(
            "`labels` names the labels file of IDX images or of a .npy array, but {} is a .npz: \
             its labels are an array inside it (y, labels, ...)",
            path.display()
        )));
    }
    let mut zip = zip::ZipArchive::new(reader)
        .map_err(|e| Error::data(path, format!("is not a readable .npz (zip) archive: {e}")))?;
    let keys: Vec<String> =
        zip.file_names().filter_map(|n| n.ok()?.strip_suffix(".npy").map(str::to_string)).collect();
    let has = |k: &str| keys.iter().any(|n| n == k);
    let pairs: Vec<(&str, &str)> = PAIRS.iter().copied().filter(|(x, y)| has(x) && has(y)).collect();
    let listed = || keys.iter().map(|k| format!("{k:?}")).collect::<Vec<_>>().join(", ");
    let (x_key, y_key) = match pairs[..] {
        [(x, y)] => (x.to_string(), Some(y.to_string())),
        [] => match features_only(&keys) {
            Some(x) => (x, None),
            None => {
                return Err(Error::data(
                    path,
                    format!(
                        "holds the arrays {}; expected features and labels under one of the key pairs \
                         x/y, X/y, x_train/y_train, data/labels, images/labels",
                        listed()
                    ),
                ));
            }
        },
        _ => {
            let found: Vec<String> = pairs.iter().map(|(x, y)| format!("{x}/{y}")).collect();
            return Err(Error::data(
                path,
                format!(
                    "holds several feature/label pairs ({}); bp-par reads one set per file: save each \
                     in its own, e.g. np.savez(\"train.npz\", x=x_train, y=y_train)",
                    found.join(", ")
                ),
            ));
        }
    };
    let x_name = array_name(path, &x_key);
    let x_bytes = entry(&mut zip, &x_name, &x_key)?;
    let x = format::parse(&x_name, &x_bytes)?;
    match y_key {
        Some(y_key) => {
            let y_name = array_name(path, &y_key);
            let y_bytes = entry(&mut zip, &y_name, &y_key)?;
            let y = format::parse(&y_name, &y_bytes)?;
            assemble(path, &x_name, &x, Some((&y_name, &y)), opts)
        }
        None => assemble(path, &x_name, &x, None, opts),
    }
}

/// The features key of an archive without labels: a lone `x`-like key, or its only array.
fn features_only(keys: &[String]) -> Option<String> {
    let x_like = ["x", "X", "x_train", "X_train", "x_test", "X_test", "data", "images", "features", "inputs"];
    let present: Vec<&str> = x_like.iter().copied().filter(|k| keys.iter().any(|n| n == k)).collect();
    match (&present[..], keys) {
        ([one], _) => Some(one.to_string()),
        ([], [only]) => Some(only.clone()),
        _ => None,
    }
}

/// The bytes of array `key` (`key.npy` in the archive).
fn entry<R: Read + Seek>(zip: &mut zip::ZipArchive<R>, name: &Path, key: &str) -> Result<Vec<u8>> {
    let file = zip
        .by_name(&format!("{key}.npy"))
        .map_err(|e| Error::data(name, format!("cannot be read from the archive: {e}")))?;
    read_npy(name, file)
}
