//! Reading a data file's bytes: gzip decompressed (found by its magic bytes), and nothing read
//! beyond what the memory can hold or an IDX header declares.

use crate::error::{Error, Result};
use flate2::read::MultiGzDecoder;
use std::io::{BufRead, Read};
use std::path::Path;

/// Bytes per element of each IDX element type code.
fn idx_elem_size(code: u8) -> Option<u64> {
    match code {
        0x08 | 0x09 => Some(1),
        0x0B => Some(2),
        0x0C | 0x0D => Some(4),
        0x0E => Some(8),
        _ => None,
    }
}

/// The error for a file that would need `need` bytes of memory (`about` that, when estimated)
/// with `avail` available.
pub(super) fn too_big(path: &Path, about: &str, need: u64, avail: u64) -> Error {
    let (need, avail) = (crate::sys::human_bytes(need), crate::sys::human_bytes(avail));
    Error::data(path, format!("would need {about}{need} of memory to load, but {avail} is available"))
}

/// Reads a file whole, decompressing it when it is gzip (by magic bytes, not by name).
///
/// Nothing is read beyond what can be used: an IDX header caps the read at the size it
/// declares (one byte more shows a surplus), so a forged header or a decompression bomb
/// costs no memory; a file that would not fit in the available memory is refused up front
/// with the size it needs.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, "read the file", e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, "read the file", e))?;
    if meta.is_dir() {
        return Err(Error::data(path, "is a folder; expected a CSV, IDX, .npy or .npz data file"));
    }
    let mut raw = std::io::BufReader::new(file);
    let gz = raw.fill_buf().map_err(|e| Error::io(path, "read the file", e))?.starts_with(&[0x1f, 0x8b]);
    let bad_gzip = |e: std::io::Error| Error::data(path, format!("is not a valid gzip file ({e})"));
    let mut reader: Box<dyn Read> = if gz { Box::new(MultiGzDecoder::new(raw)) } else { Box::new(raw) };
    let mut bytes = Vec::new();
    reader.by_ref().take(4).read_to_end(&mut bytes).map_err(bad_gzip)?;
    let available = crate::sys::available_memory_bytes();
    let limit = if bytes.len() == 4 && bytes[0] == 0 && bytes[1] == 0 {
        // IDX: read the dimensions, then at most the declared data plus one byte.
        let ndim = bytes[3] as u64;
        reader.by_ref().take(4 * ndim).read_to_end(&mut bytes).map_err(bad_gzip)?;
        let mut dims =
            bytes[4..].chunks_exact(4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as u64);
        let count = dims.try_fold(1u64, |acc, d| acc.checked_mul(d));
        let size = count.and_then(|c| c.checked_mul(idx_elem_size(bytes[2]).unwrap_or(1)));
        // As f32 features the data takes 4 bytes per element on top of the file's bytes.
        let need = size.map(|s| s.saturating_mul(5));
        // (A raw file's header that claims more than the file holds is reported as such.)
        if let (Some(need), Some(avail)) = (need, available)
            && need > avail
            && (gz || need / 5 <= meta.len())
        {
            return Err(too_big(path, "", need, avail));
        }
        size.map_or(u64::MAX, |s| (4 + 4 * ndim).saturating_add(s).saturating_add(1))
    } else {
        // Text: refuse what cannot fit (the f32 values take about twice the text's bytes).
        if let Some(avail) = available
            && !gz
            && meta.len().saturating_mul(3) > avail
        {
            return Err(too_big(path, "about ", meta.len().saturating_mul(3), avail));
        }
        available.map_or(u64::MAX, |a| a / 3)
    };
    reader.take(limit.saturating_sub(bytes.len() as u64)).read_to_end(&mut bytes).map_err(bad_gzip)?;
    if bytes.len() as u64 == limit && !(bytes.len() >= 2 && bytes[0] == 0 && bytes[1] == 0) {
        return Err(Error::data(path, "decompresses to more data than fits in the available memory"));
    }
    Ok(bytes)
}
