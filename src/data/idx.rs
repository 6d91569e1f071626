//! MNIST's IDX format: a big-endian header (two zero bytes, the element type 0x08 for u8,
//! the number of dimensions, one u32 per dimension) followed by the elements.
//!
//! Images files (`...-images-idx3-ubyte[.gz]`, n x h x w) are paired with their labels file
//! (`...-labels-idx1-ubyte[.gz]`, n) by name, or through [`crate::data::LoadOptions::labels`].

use super::{Dataset, LoadOptions, Targets, read_bytes};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Parses the header; checks that the element count matches the bytes present.
fn parse<'a>(path: &Path, bytes: &'a [u8]) -> Result<(Vec<usize>, &'a [u8])> {
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
        return Err(Error::data(path, "is not an IDX file (expected the magic bytes 00 00 08 0N)"));
    }
    if bytes[2] != 0x08 {
        return Err(Error::data(
            path,
            format!("has IDX element type 0x{:02x}; only unsigned bytes (0x08) are supported", bytes[2]),
        ));
    }
    let ndim = bytes[3] as usize;
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        return Err(Error::data(path, format!("is truncated: its IDX header needs {header} bytes")));
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    let count = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    let body = &bytes[header..];
    match count {
        Some(c) if c == body.len() => Ok((dims, body)),
        _ => Err(Error::data(
            path,
            format!(
                "has an IDX header claiming dimensions {dims:?} ({} bytes of data) but holds {}",
                count.map_or("too many".to_string(), |c| c.to_string()),
                match count {
                    Some(c) if body.len() > c => "more".to_string(),
                    _ => format!("{} bytes", body.len()),
                }
            ),
        )),
    }
}

/// The labels file that goes with an images file, by MNIST's naming convention.
fn labels_path_for(images: &Path) -> Option<PathBuf> {
    let name = images.file_name()?.to_str()?;
    let candidates = [("images-idx3-ubyte", "labels-idx1-ubyte"), ("images.idx3-ubyte", "labels.idx1-ubyte")];
    for (from, to) in candidates {
        if name.contains(from) {
            let base = name.replace(from, to);
            let stem = base.strip_suffix(".gz").unwrap_or(&base).to_string();
            for cand in [base.clone(), stem.clone(), format!("{stem}.gz")] {
                let p = images.with_file_name(cand);
                if p.exists() {
                    return Some(p);
                }
            }
        }
    }
    None
}

pub(super) fn load(path: &Path, bytes: &[u8], room: Option<Vec<f32>>, opts: &LoadOptions) -> Result<Dataset> {
    let (dims, body) = parse(path, bytes)?;
    let (n, n_features, image_shape) = match dims[..] {
        [n, h, w] => (n, h * w, Some([h, w])),
        [n, d] => (n, d, None),
        _ => {
            return Err(Error::data(
                path,
                format!(
                    "is an IDX file with dimensions {dims:?}; expected images (n x h x w) or rows (n x d)"
                ),
            ));
        }
    };
    if n == 0 || n_features == 0 {
        return Err(Error::data(path, "holds no samples"));
    }
    if opts.label_col != super::LabelCol::Auto {
        return Err(Error::config(format!(
            "`label_col` applies to CSV files, but {} is IDX: its labels file is found by name or given with `labels`",
            path.display()
        )));
    }
    if opts.targets.is_some() {
        return Err(Error::config("`targets` applies to CSV files; IDX data sets carry class labels"));
    }
    let labels_path = opts.labels.clone().or_else(|| labels_path_for(path));
    let targets = match labels_path {
        Some(lp) => {
            let lbytes = read_bytes(&lp)?;
            let (ldims, lbody) = parse(&lp, &lbytes)?;
            if ldims.len() != 1 {
                return Err(Error::data(
                    &lp,
                    format!("is not an IDX labels file: dimensions {ldims:?}, expected one"),
                ));
            }
            if ldims[0] != n {
                return Err(Error::data(
                    &lp,
                    format!("holds {} labels but {} holds {n} images", ldims[0], path.display()),
                ));
            }
            let labels: Vec<u32> = lbody.iter().map(|&b| b as u32).collect();
            let n_classes = super::class_count(&lp, &labels, opts.classes, opts.expect.is_none(), |i| {
                format!("label {i} (0-based)")
            })?;
            Targets::Classes { labels, n_classes }
        }
        None if opts.unlabeled_width.is_some() => Targets::None,
        None => {
            return Err(Error::data(
                path,
                "has no labels file beside it (expected the name with images-idx3-ubyte replaced by \
                 labels-idx1-ubyte); give one with `labels` PATH",
            ));
        }
    };
    let features = super::Features::from_bytes(body, room);
    Ok(Dataset {
        path: path.to_path_buf(),
        n_features,
        features,
        targets,
        image_shape,
        schema: super::Schema::default(),
        kept: None,
        normalized: false,
        shape_given: image_shape.is_some(),
        notes: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 0, 8, dims.len() as u8];
        for d in dims {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn parses_and_rejects_forged_headers() {
        let p = Path::new("x-images-idx3-ubyte");
        let file = idx(&[2, 2, 2], &[1, 2, 3, 4, 5, 6, 7, 8]);
        let (dims, body) = parse(p, &file).unwrap();
        assert_eq!((dims, body.len()), (vec![2, 2, 2], 8));
        // A header claiming 4 billion images is refused without allocating.
        let err = parse(p, &idx(&[u32::MAX, 28, 28], &[0; 16])).unwrap_err().to_string();
        assert!(err.contains("holds 16 bytes"), "{err}");
        let err = parse(p, &[0, 0, 8, 3, 0]).unwrap_err().to_string();
        assert!(err.contains("truncated"), "{err}");
        let err = parse(p, &[0, 0, 0x0d, 1, 0, 0, 0, 0]).unwrap_err().to_string();
        assert!(err.contains("0x0d"), "{err}");
    }

    #[test]
    fn labels_file_name() {
        let dir = tempfile::tempdir().unwrap();
        let images = dir.path().join("train-images-idx3-ubyte.gz");
        assert_eq!(labels_path_for(&images), None);
        std::fs::write(dir.path().join("train-labels-idx1-ubyte"), b"").unwrap();
        assert_eq!(labels_path_for(&images), Some(dir.path().join("train-labels-idx1-ubyte")));
    }
}
