//! Pictures as inputs: which DATA arguments are pictures (a folder, a PNG, or a file named or
//! shaped like another image format, which is refused), PNG decoding to grayscale (any colour
//! type and depth; transparency composited over the background), and a model's input rows
//! made from them by [`bp_par::data::image`]. Used by `predict` ([`predict`]) and
//! `show input` ([`show`]).

pub mod predict;
pub mod show;

use bp_par::data::Dataset;
use bp_par::data::image::{GrayImage, ImageStats};
use bp_par::error::{Error, Result};
use bp_par::model::{self, Model};
use std::path::{Path, PathBuf};

/// The eight bytes every PNG file starts with.
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The largest picture read: 64 megapixels.
const MAX_PIXELS: u64 = 64 << 20;

/// Other image formats, by their first bytes, for the message that refuses them.
fn other_format(head: &[u8]) -> Option<&'static str> {
    match head {
        [0xff, 0xd8, 0xff, ..] => Some("JPEG"),
        [b'G', b'I', b'F', b'8', ..] => Some("GIF"),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some("WebP"),
        [b'I', b'I', b'*', 0, ..] | [b'M', b'M', 0, b'*', ..] => Some("TIFF"),
        [b'B', b'M', ..] => Some("BMP"),
        _ => None,
    }
}

/// Whether `name` ends in an image format's extension.
fn image_extension(name: &Path) -> bool {
    let ext = name.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    ["png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff"].contains(&ext.as_str())
}

/// The first 16 bytes of a file (fewer when it is shorter or unreadable).
fn head(path: &Path) -> Vec<u8> {
    use std::io::Read;
    let mut buf = Vec::new();
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.take(16).read_to_end(&mut buf);
    }
    buf
}

/// Whether DATA is a picture or a folder of them (rather than CSV or IDX data): a folder, a
/// PNG file, or a file named or starting like another image format.
pub fn is_image_input(path: &Path) -> bool {
    if path.is_dir() {
        return true;
    }
    let head = head(path);
    head.starts_with(PNG_SIGNATURE)
        || (path.is_file() && (image_extension(path) || other_format(&head).is_some()))
}

/// The pictures DATA names: itself, or a folder's `.png` files sorted by name.
pub fn image_files(path: &Path) -> Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries = std::fs::read_dir(path).map_err(|e| Error::io(path, "read the folder", e))?;
    let mut files = Vec::new();
    for entry in entries {
        let p = entry.map_err(|e| Error::io(path, "read the folder", e))?.path();
        let png = p.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("png"));
        if png && p.is_file() {
            files.push(p);
        }
    }
    if files.is_empty() {
        return Err(Error::data(
            path,
            "is a folder without .png files; expected PNG pictures (or give a CSV or IDX file)",
        ));
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

/// Reads a PNG file as grayscale luminance (Rec. 601 weights on the stored values, as most
/// tools' "convert to gray" does), with transparent parts composited over a background that
/// contrasts with the opaque ones (white behind dark strokes, black behind light ones).
pub fn decode_png(path: &Path) -> Result<GrayImage> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, "read the picture", e))?;
    if !bytes.starts_with(PNG_SIGNATURE) {
        let what = other_format(&bytes).map_or_else(
            || "is not a PNG picture (it does not start with the PNG signature)".to_string(),
            |f| format!("is a {f} picture"),
        );
        return Err(Error::data(
            path,
            format!(
                "{what}; bp-par reads PNG pictures only (convert it first, e.g. `convert in.jpg out.png`)"
            ),
        ));
    }
    let bad = |e: png::DecodingError| Error::data(path, format!("is not a readable PNG picture ({e})"));
    let mut decoder = png::Decoder::new(std::io::Cursor::new(&bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().map_err(bad)?;
    let (w, h) = reader.info().size();
    if w as u64 * h as u64 > MAX_PIXELS {
        return Err(Error::data(path, format!("is {w}x{h} pixels, more than the {MAX_PIXELS} bp-par reads")));
    }
    let size = reader.output_buffer_size().ok_or_else(|| Error::data(path, "is too large to decode"))?;
    let mut buf = vec![0u8; size];
    let info = reader.next_frame(&mut buf).map_err(bad)?;
    // To the end: chunks after the image data, and IEND, whole (as libpng reads them).
    reader.finish().map_err(bad)?;
    if !reader.info().interlaced {
        check_image_data(path, &bytes, h as usize, reader.info().raw_row_length())?;
    }
    let (w, h) = (info.width as usize, info.height as usize);
    let channels = info.color_type.samples();
    let sixteen = info.bit_depth == png::BitDepth::Sixteen;
    let sample = |i: usize| -> f32 {
        if sixteen {
            u16::from_be_bytes([buf[2 * i], buf[2 * i + 1]]) as f32 / 65535.0
        } else {
            buf[i] as f32 / 255.0
        }
    };
    let stride = info.line_size / if sixteen { 2 } else { 1 };
    let (mut luma, mut alpha) = (Vec::with_capacity(w * h), Vec::with_capacity(w * h));
    for y in 0..h {
        for x in 0..w {
            let at = y * stride + x * channels;
            let (l, a) = match channels {
                1 => (sample(at), 1.0),
                2 => (sample(at), sample(at + 1)),
                _ => {
                    let l = 0.299 * sample(at) + 0.587 * sample(at + 1) + 0.114 * sample(at + 2);
                    (l, if channels == 4 { sample(at + 3) } else { 1.0 })
                }
            };
            luma.push(l);
            alpha.push(a);
        }
    }
    // Behind the opaque content: the colour it is not (its alpha-weighted mean brightness).
    let (seen, mass) =
        luma.iter().zip(&alpha).fold((0.0f64, 0.0f64), |(s, m), (&l, &a)| (s + (l * a) as f64, m + a as f64));
    let behind = if mass > 0.0 && seen / mass > 0.5 { 0.0 } else { 1.0 };
    let pixels = luma.iter().zip(&alpha).map(|(&l, &a)| a * l + (1.0 - a) * behind).collect();
    Ok(GrayImage { width: w, height: h, pixels })
}

/// Loads a model that can read pictures: one with an input shape and its training images'
/// statistics.
pub fn image_model(path: &Path) -> Result<(Model, [usize; 2], ImageStats)> {
    let mut m = model::load(path)?;
    // Predictions on the command's threads (it runs inside their pool).
    m.set_threads(bp_par::Threads::new(rayon::current_num_threads())?);
    let n_in = m.net.arch().n_in();
    let Some(shape) = m.input_shape else {
        return Err(Error::model(
            path,
            format!(
                "has {n_in} inputs with no image shape recorded (it was not trained on images), \
                 so it cannot read pictures; give it CSV or IDX rows"
            ),
        ));
    };
    let Some(stats) = m.schema.image.clone() else {
        return Err(Error::model(
            path,
            "records no background, ink levels or ink box of its training images (it was trained \
             by an older bp-par), so pictures cannot be made to look like them; train it again",
        ));
    };
    Ok((m, shape, stats))
}

/// The model's raw input rows (before its normalisation) made from `files`, as a data set
/// named by `data` (one row per file, in order).
pub fn image_rows(data: &Path, files: &[PathBuf], shape: [usize; 2], stats: &ImageStats) -> Result<Dataset> {
    let mut features = Vec::with_capacity(files.len() * shape[0] * shape[1]);
    for f in files {
        features.extend(stats.to_input(f, &decode_png(f)?, shape)?);
    }
    Dataset::from_rows(&features, shape[0] * shape[1])?.with_name(data).with_image_shape(shape)
}

/// Refuses an output path whose folder does not exist (before any work is done).
pub fn check_output_folder(flag: &str, path: &Path) -> Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => Err(Error::config(format!(
            "{flag} {}: the folder {} does not exist",
            path.display(),
            dir.display()
        ))),
        _ => Ok(()),
    }
}

/// The last component of `p`, for output rows and titles.
pub fn file_name(p: &Path) -> String {
    p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// Refuses a non-interlaced PNG whose image data inflate to more rows than its header's
/// height (`rows` of `row_length` bytes, its filter byte included): libpng calls that "too much
/// image data" and refuses it; decoders that stop at the height would read a picture cut short
/// without a word.
fn check_image_data(path: &Path, bytes: &[u8], rows: usize, row_length: usize) -> Result<()> {
    use std::io::Read;
    let mut idat = Vec::new();
    let mut at = PNG_SIGNATURE.len();
    while at + 8 <= bytes.len() {
        let len = u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
        let kind = &bytes[at + 4..at + 8];
        let Some(data) = bytes.get(at + 8..at + 8 + len) else { break };
        if kind == b"IDAT" {
            idat.extend_from_slice(data);
        }
        at += 12 + len;
    }
    let expected = rows * row_length;
    let mut inflated = Vec::with_capacity(expected + 1);
    let _ = flate2::read::ZlibDecoder::new(&idat[..]).take(expected as u64 + 1).read_to_end(&mut inflated);
    if inflated.len() > expected {
        return Err(Error::data(
            path,
            format!(
                "is not a readable PNG picture (its image data hold more than the {rows} rows its header declares)"
            ),
        ));
    }
    Ok(())
}
