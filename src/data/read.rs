//! Reading a data file's bytes: gzip decompressed (found by its magic bytes), and nothing read
//! beyond what the memory can hold or an IDX header declares.

use crate::error::{Error, Result};
use crate::sys::Pages;
use flate2::read::MultiGzDecoder;
use std::io::{BufRead, Read, Seek};
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
/// with the size it needs. A gzip file of one member whose trailer's size fits is inflated
/// whole by libdeflate; what that declines is streamed.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    read_with_room(path).map(|(bytes, _)| bytes)
}

/// A file's bytes, and room for its f32 features when it is known to need it.
pub(crate) type WithRoom = (Vec<u8>, Option<Vec<f32>>);

/// [`read_bytes`], and for gzip-compressed IDX bytes (pixels that become f32 features) the
/// room for those features, their pages mapped by another thread while this one inflates
/// (mapping the fresh pages of MNIST's 47 MB of bytes and 188 MB of features costs more than
/// the inflating).
pub(crate) fn read_with_room(path: &Path) -> Result<WithRoom> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, "read the file", e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, "read the file", e))?;
    if meta.is_dir() {
        return Err(Error::data(path, "is a folder; expected a CSV, IDX, .npy or .npz data file"));
    }
    let mut raw = std::io::BufReader::new(file);
    let gz = raw.fill_buf().map_err(|e| Error::io(path, "read the file", e))?.starts_with(&[0x1f, 0x8b]);
    let available = crate::sys::available_memory_bytes();
    if gz && let Some((bytes, room)) = whole_gzip(path, &mut raw, meta.len(), available)? {
        let limit = read_limit(path, &bytes, gz, meta.len(), available)?;
        return Ok((checked(path, bytes, limit)?, room));
    }
    let bad_gzip = |e: std::io::Error| Error::data(path, format!("is not a valid gzip file ({e})"));
    let mut reader: Box<dyn Read> = if gz { Box::new(MultiGzDecoder::new(raw)) } else { Box::new(raw) };
    let mut bytes = Vec::new();
    reader.by_ref().take(4).read_to_end(&mut bytes).map_err(bad_gzip)?;
    if bytes.len() == 4 && bytes[0] == 0 && bytes[1] == 0 {
        // IDX: the dimensions, from which the limit follows.
        reader.by_ref().take(4 * bytes[3] as u64).read_to_end(&mut bytes).map_err(bad_gzip)?;
    }
    let limit = read_limit(path, &bytes, gz, meta.len(), available)?;
    reader.take(limit.saturating_sub(bytes.len() as u64)).read_to_end(&mut bytes).map_err(bad_gzip)?;
    Ok((checked(path, bytes, limit)?, None))
}

/// A gzip file's contents inflated whole, when it has one member whose trailer's size
/// (with 4 bytes of f32 per byte, as IDX pixels become) fits in the available memory beside
/// the compressed bytes; None to stream it (from the start again). When its first bytes are
/// an IDX header of bytes, also the room for their f32 features, mapped meanwhile.
fn whole_gzip(
    path: &Path,
    raw: &mut std::io::BufReader<std::fs::File>,
    file_len: u64,
    available: Option<u64>,
) -> Result<Option<WithRoom>> {
    if available.is_some_and(|a| file_len > a / 5) {
        return Ok(None);
    }
    let mut gz = Vec::with_capacity(file_len as usize);
    raw.read_to_end(&mut gz).map_err(|e| Error::io(path, "read the file", e))?;
    let fits = |size: usize| available.is_none_or(|a| (size as u64).saturating_mul(5) <= a);
    let Some(size) = super::inflate::trailer_size(&gz).filter(|&s| fits(s)) else {
        raw.seek(std::io::SeekFrom::Start(0)).map_err(|e| Error::io(path, "read the file", e))?;
        return Ok(None);
    };
    // The first four bytes, streamed (a few microseconds): an IDX file of bytes (type 0x08)?
    let mut head = [0u8; 4];
    let idx_bytes = MultiGzDecoder::new(&gz[..]).read_exact(&mut head).is_ok() && head[..3] == [0, 0, 0x08];
    // Fresh zeroed memory is mapped lazily, a fault a page on first write. Another thread maps
    // the inflated bytes' pages ahead of the inflating, then the room's, in which the inflating
    // thread helps when done (both buffers live until after the join).
    let mut bytes = vec![0u8; size];
    let mut room = idx_bytes.then(|| vec![0.0f32; size]);
    let (pages, room_pages) = (Pages::within(&mut bytes), room.as_deref_mut().map(Pages::within));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let room_mut = room.as_deref_mut();
    let (inflated, ()) = rayon::join(
        || {
            let inflated = super::inflate::gunzip_one_member(&gz, &mut bytes);
            if let Some(p) = room_pages {
                // (Where the system does not map pages on request, the other thread writes.)
                p.prefault_shared(&next);
            }
            inflated
        },
        || {
            let mapped = crate::sys::prefault(pages) && room_pages.is_none_or(|p| p.prefault_shared(&next));
            if !mapped && let Some(room) = room_mut {
                // (Where the system does not map pages on request, a write to each: not a zero,
                // which a compiler may drop as a store of what is there; the features overwrite it.)
                room.iter_mut().step_by(1024).for_each(|v| *v = 1.0);
            }
        },
    );
    if !inflated {
        raw.seek(std::io::SeekFrom::Start(0)).map_err(|e| Error::io(path, "read the file", e))?;
        return Ok(None);
    }
    Ok(Some((bytes, room)))
}

/// How many bytes of the (decompressed) file to read at most, from its first bytes (an IDX
/// header's declared size plus one byte, which shows a surplus), or the error for a file that
/// cannot fit in the available memory. `file_len` is the size on disk.
fn read_limit(path: &Path, first: &[u8], gz: bool, file_len: u64, available: Option<u64>) -> Result<u64> {
    if first.len() >= 4 && first[0] == 0 && first[1] == 0 {
        let ndim = first[3] as usize;
        let dims = first.get(4..4 + 4 * ndim).unwrap_or(&first[first.len()..]);
        let count = if dims.len() == 4 * ndim {
            dims.chunks_exact(4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as u64)
                .try_fold(1u64, |acc, d| acc.checked_mul(d))
        } else {
            // (A header cut short: the IDX reader names it.)
            Some(0)
        };
        let size = count.and_then(|c| c.checked_mul(idx_elem_size(first[2]).unwrap_or(1)));
        // As f32 features the data takes 4 bytes per element on top of the file's bytes.
        let need = size.map(|s| s.saturating_mul(5));
        // (A raw file's header that claims more than the file holds is reported as such.)
        if let (Some(need), Some(avail)) = (need, available)
            && need > avail
            && (gz || need / 5 <= file_len)
        {
            return Err(too_big(path, "", need, avail));
        }
        return Ok(size.map_or(u64::MAX, |s| (4 + 4 * ndim as u64).saturating_add(s).saturating_add(1)));
    }
    // Text: refuse what cannot fit (the f32 values take about twice the text's bytes).
    if let Some(avail) = available
        && !gz
        && file_len.saturating_mul(3) > avail
    {
        return Err(too_big(path, "about ", file_len.saturating_mul(3), avail));
    }
    Ok(available.map_or(u64::MAX, |a| a / 3))
}

/// `bytes` cut to `limit` (what a read of at most `limit` bytes gives), or the error for text
/// that reached the limit.
fn checked(path: &Path, mut bytes: Vec<u8>, limit: u64) -> Result<Vec<u8>> {
    if bytes.len() as u64 > limit {
        bytes.truncate(limit as usize);
    }
    if bytes.len() as u64 == limit && !(bytes.len() >= 2 && bytes[0] == 0 && bytes[1] == 0) {
        return Err(Error::data(path, "decompresses to more data than fits in the available memory"));
    }
    Ok(bytes)
}
