//! numpy's `.npy` format: the magic `\x93NUMPY`, a version, a header that is a Python dict
//! literal (`{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`), then the elements.
//!
//! This file parses the header and reads elements of the numeric dtypes (floats of 2, 4 and 8
//! bytes, signed and unsigned integers, bools) in either byte order and either memory order;
//! it refuses every other dtype (objects, strings, complex, dates, records) by name. It knows
//! nothing of features or labels.

use crate::error::{Error, Result};
use std::path::Path;

/// The first six bytes of every `.npy` file.
pub const MAGIC: &[u8] = b"\x93NUMPY";

/// The largest header accepted (numpy's own headers are a few hundred bytes).
const MAX_HEADER: usize = 1 << 20;

/// What an element is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    /// IEEE float of 2, 4 or 8 bytes.
    Float,
    /// Two's complement integer.
    Int,
    /// Unsigned integer.
    Uint,
    /// numpy's bool (one byte, 0 or 1).
    Bool,
}

/// An element type, from the header's `descr`.
#[derive(Clone, Debug)]
pub struct Dtype {
    pub kind: Kind,
    /// Bytes per element.
    pub size: usize,
    big_endian: bool,
    /// The header's text, for messages (`<f4`).
    pub descr: String,
}

/// A parsed array: its shape and its elements' bytes, read element by element in C order.
pub struct Array<'a> {
    pub shape: Vec<usize>,
    pub dtype: Dtype,
    fortran: bool,
    data: &'a [u8],
}

/// The header's length and where the data starts, from the file's first bytes; `None` when
/// `bytes` is too short to tell (read more).
pub fn header_span(path: &Path, bytes: &[u8]) -> Result<Option<(usize, usize)>> {
    if !bytes.starts_with(MAGIC) {
        return Err(Error::data(path, "is not a .npy array (expected the magic bytes \\x93NUMPY)"));
    }
    let Some(&[major, minor]) = bytes.get(6..8) else { return Ok(None) };
    let (len_bytes, start) = match major {
        1 => (2, 10),
        2 | 3 => (4, 12),
        _ => {
            return Err(Error::data(
                path,
                format!("is .npy format version {major}.{minor}; bp-par reads versions 1, 2 and 3"),
            ));
        }
    };
    let Some(len) = bytes.get(8..8 + len_bytes) else { return Ok(None) };
    let len = len.iter().rev().fold(0usize, |acc, &b| acc << 8 | b as usize);
    if len > MAX_HEADER {
        return Err(Error::data(
            path,
            format!("has a .npy header of {len} bytes; expected at most {MAX_HEADER}"),
        ));
    }
    Ok(Some((start, start + len)))
}

/// Parses a whole `.npy` file held in memory.
pub fn parse<'a>(path: &Path, bytes: &'a [u8]) -> Result<Array<'a>> {
    let truncated = || Error::data(path, "is truncated: it ends inside its .npy header");
    let (start, end) = header_span(path, bytes)?.ok_or_else(truncated)?;
    let header = bytes.get(start..end).ok_or_else(truncated)?;
    let header =
        std::str::from_utf8(header).map_err(|_| Error::data(path, "has a .npy header that is not text"))?;
    let (descr, fortran, shape) = parse_header(header).map_err(|m| {
        Error::data(path, format!("has a malformed .npy header ({m}): {:?}", header.trim_end()))
    })?;
    let dtype = parse_dtype(&descr).map_err(|m| Error::data(path, m))?;
    let count = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    let size = count.and_then(|c| c.checked_mul(dtype.size));
    let data = &bytes[end..];
    match size {
        Some(s) if s == data.len() => Ok(Array { shape, dtype, fortran, data }),
        Some(s) if s < data.len() => Err(Error::data(
            path,
            format!(
                "has extra bytes: its header declares shape {} of {} ({s} bytes of data), and more follow \
                 them (numpy refuses such a file)",
                show_shape(&shape),
                dtype.descr
            ),
        )),
        _ => Err(Error::data(
            path,
            format!(
                "is truncated: its header declares shape {} of {} ({} bytes of data) but it holds {} bytes",
                show_shape(&shape),
                dtype.descr,
                size.map_or("too many".to_string(), |s| s.to_string()),
                data.len()
            ),
        )),
    }
}

/// The declared data size of the array whose header is `bytes[start..end]`, for a memory
/// check before the data is read (`None` when the header does not parse: `parse` says why).
pub fn declared_size(bytes: &[u8], start: usize, end: usize) -> Option<(u64, u64)> {
    let header = std::str::from_utf8(bytes.get(start..end)?).ok()?;
    let (descr, _, shape) = parse_header(header).ok()?;
    let dtype = parse_dtype(&descr).ok()?;
    let count = shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))?;
    Some((count, count.checked_mul(dtype.size as u64)?))
}

/// A shape as Python writes it: `(3,)`, `(3, 4)`.
pub fn show_shape(shape: &[usize]) -> String {
    match shape {
        [d] => format!("({d},)"),
        _ => format!("({})", shape.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")),
    }
}

impl Array<'_> {
    /// The number of elements.
    pub fn len(&self) -> usize {
        self.data.len() / self.dtype.size
    }

    /// Element `c` (0-based, in C order: the last index fastest) as an f64.
    pub fn get(&self, c: usize) -> f64 {
        let s = if self.fortran { self.fortran_index(c) } else { c };
        let size = self.dtype.size;
        let mut b = [0u8; 8];
        b[..size].copy_from_slice(&self.data[s * size..(s + 1) * size]);
        if self.dtype.big_endian {
            b[..size].reverse();
        }
        match (self.dtype.kind, size) {
            (Kind::Float, 2) => half_to_f32(u16::from_le_bytes([b[0], b[1]])) as f64,
            (Kind::Float, 4) => f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64,
            (Kind::Float, _) => f64::from_le_bytes(b),
            (Kind::Int, _) => {
                // Sign-extend from `size` bytes.
                let shift = 64 - 8 * size as u32;
                ((i64::from_le_bytes(b) << shift) >> shift) as f64
            }
            (Kind::Uint | Kind::Bool, _) => u64::from_le_bytes(b) as f64,
        }
    }

    /// Where element `c` of C order lies in Fortran order (the first index fastest).
    fn fortran_index(&self, mut c: usize) -> usize {
        let mut index = 0;
        let mut stride = 1;
        let mut strides = Vec::with_capacity(self.shape.len());
        for &d in &self.shape {
            strides.push(stride);
            stride *= d;
        }
        for (k, &d) in self.shape.iter().enumerate().rev() {
            index += (c % d) * strides[k];
            c /= d;
        }
        index
    }
}

/// An IEEE half-precision float's bits as an f32.
fn half_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = (h >> 10) & 0x1f;
    let frac = (h & 0x3ff) as f32;
    sign * match exp {
        0 => frac * 2f32.powi(-24),
        0x1f if frac == 0.0 => f32::INFINITY,
        0x1f => f32::NAN,
        e => (1.0 + frac / 1024.0) * 2f32.powi(e as i32 - 15),
    }
}

/// A dtype descr (`<f4`, `|u1`, `>i8`) as a [`Dtype`], or what it is when bp-par cannot
/// read it.
fn parse_dtype(descr: &str) -> std::result::Result<Dtype, String> {
    let refuse = |what: &str| {
        Err(format!(
            "has dtype {descr:?} ({what}); bp-par reads arrays of floats (float16/32/64), integers or bools"
        ))
    };
    let (order, rest) = descr.split_at(descr.chars().next().filter(|c| "<>|=".contains(*c)).map_or(0, |_| 1));
    let big_endian = match order {
        ">" => true,
        "=" => cfg!(target_endian = "big"),
        _ => false,
    };
    let cut = rest.char_indices().nth(1).map_or(rest.len(), |(i, _)| i);
    let (code, size) = rest.split_at(cut);
    let size: Option<usize> = size.parse().ok();
    let kind = match code {
        "f" => Kind::Float,
        "i" => Kind::Int,
        "u" => Kind::Uint,
        "b" => Kind::Bool,
        "O" => return refuse("Python objects"),
        "U" => return refuse("unicode strings"),
        "S" | "a" => return refuse("byte strings"),
        "c" => return refuse("complex numbers"),
        "M" | "m" => return refuse("dates or time spans"),
        "V" => return refuse("raw records"),
        _ => return refuse("not a numeric type"),
    };
    match (kind, size) {
        (Kind::Float, Some(s @ (2 | 4 | 8))) | (Kind::Int | Kind::Uint, Some(s @ (1 | 2 | 4 | 8))) => {
            Ok(Dtype { kind, size: s, big_endian, descr: descr.to_string() })
        }
        (Kind::Bool, Some(1)) => Ok(Dtype { kind, size: 1, big_endian, descr: descr.to_string() }),
        _ => refuse("an unsupported size"),
    }
}

/// A value of the header's dict literal.
enum Value {
    Str(String),
    Bool(bool),
    Tuple(Vec<usize>),
    /// A list: a structured dtype's fields.
    List,
}

/// The header dict's `descr`, `fortran_order` and `shape`.
pub(super) fn parse_header(text: &str) -> std::result::Result<(String, bool, Vec<usize>), String> {
    let mut p = Cursor { s: text.as_bytes(), i: 0 };
    p.expect(b'{')?;
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    loop {
        p.skip_ws();
        if p.eat(b'}') {
            break;
        }
        let Value::Str(key) = p.value()? else { return Err("expected a quoted key".into()) };
        p.skip_ws();
        p.expect(b':')?;
        match (key.as_str(), p.value()?) {
            ("descr", Value::Str(d)) => descr = Some(d),
            ("descr", Value::List) => {
                return Err("a structured dtype (record array): bp-par reads plain numeric arrays".into());
            }
            ("fortran_order", Value::Bool(b)) => fortran = Some(b),
            ("shape", Value::Tuple(t)) => shape = Some(t),
            (k, _) if ["descr", "fortran_order", "shape"].contains(&k) => {
                return Err(format!("bad value for {k:?}"));
            }
            _ => {}
        }
        p.skip_ws();
        if !p.eat(b',') {
            p.skip_ws();
            p.expect(b'}')?;
            break;
        }
    }
    // numpy reads the header as one Python literal: only padding may follow the dict.
    p.skip_ws();
    if p.i < p.s.len() {
        return Err(format!("unexpected text after the header dict at byte {} (numpy refuses it)", p.i));
    }
    match (descr, fortran, shape) {
        (Some(d), Some(f), Some(s)) => Ok((d, f, s)),
        _ => Err("expected the keys 'descr', 'fortran_order' and 'shape'".into()),
    }
}

/// A position in the header text.
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn skip_ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.s.get(self.i) == Some(&c);
        self.i += hit as usize;
        hit
    }

    fn expect(&mut self, c: u8) -> std::result::Result<(), String> {
        if self.eat(c) { Ok(()) } else { Err(format!("expected {:?} at byte {}", c as char, self.i)) }
    }

    fn value(&mut self) -> std::result::Result<Value, String> {
        self.skip_ws();
        let rest = &self.s[self.i..];
        match rest.first() {
            Some(&q @ (b'\'' | b'"')) => {
                let end = rest[1..].iter().position(|&b| b == q).ok_or("an unterminated string")?;
                self.i += end + 2;
                Ok(Value::Str(String::from_utf8_lossy(&rest[1..=end]).into_owned()))
            }
            Some(b'(') => {
                let end = rest.iter().position(|&b| b == b')').ok_or("an unterminated tuple")?;
                self.i += end + 1;
                let inner = std::str::from_utf8(&rest[1..end]).map_err(|_| "a non-text tuple")?;
                let dims = inner.split(',').map(str::trim).filter(|d| !d.is_empty());
                let dims: std::result::Result<Vec<usize>, _> =
                    dims.map(|d| d.trim_end_matches('L').parse::<usize>()).collect();
                Ok(Value::Tuple(dims.map_err(|_| "a shape that is not whole numbers")?))
            }
            Some(b'[') => {
                let mut depth = 0;
                for (k, &b) in rest.iter().enumerate() {
                    depth += (b == b'[') as i32 - (b == b']') as i32;
                    if depth == 0 {
                        self.i += k + 1;
                        return Ok(Value::List);
                    }
                }
                Err("an unterminated list".into())
            }
            _ if rest.starts_with(b"True") => {
                self.i += 4;
                Ok(Value::Bool(true))
            }
            _ if rest.starts_with(b"False") => {
                self.i += 5;
                Ok(Value::Bool(false))
            }
            _ => Err(format!("an unexpected value at byte {}", self.i)),
        }
    }
}
