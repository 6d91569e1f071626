//! numpy's `.npz`: a zip archive of `.npy` arrays (stored by `np.savez`, deflated by
//! `np.savez_compressed`, with zip64 records), read with the `zip` crate. The features and
//! labels are one of the usual key pairs (`x`/`y`, `X`/`y`, `x_train`/`y_train`,
//! `data`/`labels`, `images`/`labels`, ...); an archive with several pairs (Keras'
//! `mnist.npz` holds `x_train` and `x_test`) is refused, since taking one would be a guess.

use super::{LoadOptions, assemble, check_options, format, read_npy};
use crate::data::Dataset;
use crate::error::{Error, Result};
use std::io::{Read, Seek, SeekFrom};
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
    let zip = zip::ZipArchive::new(reader)
        .map_err(|e| Error::data(path, format!("is not a readable .npz (zip) archive: {e}")))?;
    let mut zip = intact(path, zip)?;
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

/// The archive, checked as Python's `zipfile` (numpy's reader) checks it: the end record's
/// central directory large enough for the entries it counts, and each entry's name the same in
/// the central directory and in its local header (a damaged name length would silently lose
/// an array, `y` among them).
fn intact<R: Read + Seek>(path: &Path, zip: zip::ZipArchive<R>) -> Result<zip::ZipArchive<R>> {
    let damaged = |what: String| Error::data(path, format!("is a damaged .npz (zip) archive: {what}"));
    let mut entries = Vec::with_capacity(zip.len());
    let mut zip = zip;
    for i in 0..zip.len() {
        let f = zip.by_index_raw(i).map_err(|e| damaged(format!("entry {i}: {e}")))?;
        entries.push((f.header_start(), f.name_raw().to_vec()));
    }
    let mut r = zip.into_inner();
    let end = r.seek(SeekFrom::End(0)).map_err(|e| Error::io(path, "read", e))?;
    // The end-of-central-directory record (no archive comment: numpy writes none; with one,
    // the record is searched for within the last 64 KiB).
    let tail_len = end.min(22 + 65_535);
    r.seek(SeekFrom::Start(end - tail_len)).map_err(|e| Error::io(path, "read", e))?;
    let mut tail = vec![0u8; tail_len as usize];
    r.read_exact(&mut tail).map_err(|e| Error::io(path, "read", e))?;
    if let Some(at) = tail.windows(4).rposition(|w| w == b"PK\x05\x06").filter(|&at| at + 22 <= tail.len()) {
        let u16_at = |o: usize| u16::from_le_bytes([tail[at + o], tail[at + o + 1]]) as usize;
        let size = u32::from_le_bytes([tail[at + 12], tail[at + 13], tail[at + 14], tail[at + 15]]) as usize;
        let count = u16_at(10);
        if count != 0xFFFF && size < 46 * count {
            return Err(damaged(format!(
                "its end record counts {count} entries in a central directory of {size} bytes (each takes at \
                 least 46)"
            )));
        }
    }
    for (i, (start, name)) in entries.iter().enumerate() {
        let mut local = [0u8; 30];
        r.seek(SeekFrom::Start(*start)).map_err(|e| Error::io(path, "read", e))?;
        r.read_exact(&mut local).map_err(|_| damaged(format!("entry {i}'s local header is cut short")))?;
        let n = u16::from_le_bytes([local[26], local[27]]) as usize;
        let mut own = vec![0u8; n];
        if &local[..4] != b"PK\x03\x04" || r.read_exact(&mut own).is_err() || own != *name {
            return Err(damaged(format!(
                "entry {i} is named {:?} in the central directory but not in its local header",
                String::from_utf8_lossy(name)
            )));
        }
    }
    zip::ZipArchive::new(r).map_err(|e| damaged(e.to_string()))
}
