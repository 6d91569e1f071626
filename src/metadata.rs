//! The bp-par metadata of model and checkpoint files: one JSON object, written with sorted
//! keys (through `serde_json::Value`, whose maps are ordered by key) so equal models give
//! equal bytes, and read through `serde` derives by [`decode`], whose errors name the file
//! and the field (`metadata field "checkpoint.config.lr" is invalid: ...`).
//!
//! serde's own errors name a missing field but not a malformed one; [`decode`] recovers the
//! field from the error's position with [`field_at`], a scan of the JSON text up to it.
//! Values stored as strings (names, integers past 2⁵³) go through the `with` modules
//! [`text`], [`decimal`] and [`hex`], whose errors serde_json places right after the value.

use crate::error::{Error, Result};
use serde::de::{DeserializeOwned, Deserializer, Visitor};
use serde::ser::Serializer;
use std::fmt::Display;
use std::path::Path;

/// Encodes `value` as a JSON object with sorted keys.
pub(crate) fn to_value<T: serde::Serialize>(value: &T) -> Result<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| Error::other(format!("cannot encode the bp-par metadata: {e}")))
}

/// Decodes the metadata `text` of the file `path` as a `T`. A syntax error says the metadata
/// is unreadable; a missing field is named by its dotted path (`"checkpoint.config.lr"`), a
/// malformed one by its path and what serde expected.
pub(crate) fn decode<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| {
        if !e.is_data() {
            return Error::model(path, format!("has unreadable bp-par metadata ({e})"));
        }
        let full = e.to_string();
        let position = format!(" at line {} column {}", e.line(), e.column());
        let message = full.strip_suffix(&position).unwrap_or(&full);
        let at = byte_offset(text, e.line(), e.column());
        let enclosing = field_at(text, at);
        let join =
            |name: &str| if enclosing.is_empty() { name.to_string() } else { format!("{enclosing}.{name}") };
        match message.strip_prefix("missing field `").and_then(|m| m.strip_suffix('`')) {
            Some(name) => Error::model(path, format!("metadata lacks the field {:?}", join(name))),
            None if enclosing.is_empty() => Error::model(path, format!("metadata is invalid: {message}")),
            None => Error::model(path, format!("metadata field {enclosing:?} is invalid: {message}")),
        }
    })
}

/// The byte offset of serde_json's 1-based `line` and its `column` (bytes read on that line).
fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum();
    let mut at = (line_start + column).min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The dotted path of object keys whose value encloses byte `at` of the JSON `text`:
/// `{"a":{"b":[1,` gives `"a.b"`; after a closed object, the path of its parent value.
/// Only the text before `at` is scanned, so it may be cut anywhere.
fn field_at(text: &str, at: usize) -> String {
    // One entry per open object (`Some(key)` while in the value of `key`) or array (`None`).
    let mut open: Vec<Option<String>> = Vec::new();
    let (mut in_string, mut escaped) = (false, false);
    let (mut string, mut last_string) = (String::new(), String::new());
    for c in text[..at].chars() {
        if in_string {
            match c {
                _ if escaped => {
                    escaped = false;
                    string.push(c);
                }
                '\\' => escaped = true,
                '"' => {
                    in_string = false;
                    last_string = std::mem::take(&mut string);
                }
                _ => string.push(c),
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' | '[' => open.push(None),
            '}' | ']' => {
                open.pop();
            }
            ':' => {
                if let Some(key) = open.last_mut() {
                    *key = Some(std::mem::take(&mut last_string));
                }
            }
            ',' => {
                if let Some(key) = open.last_mut() {
                    *key = None;
                }
            }
            _ => {}
        }
    }
    open.into_iter().flatten().collect::<Vec<_>>().join(".")
}

/// A visitor for values stored as JSON strings, parsed by `parse`. Its error is returned from
/// `visit_str`, where serde_json gives it the position of the string (see [`field_at`]).
struct TextVisitor<T> {
    parse: fn(&str) -> std::result::Result<T, String>,
}

impl<T> Visitor<'_> for TextVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<T, E> {
        (self.parse)(v).map_err(E::custom)
    }
}

/// serde `with` module: a value stored as its `Display` text, read back with `FromStr`
/// (activation and loss names).
pub(crate) mod text {
    use super::*;

    /// Writes `value`'s `Display` text as a JSON string.
    pub(crate) fn serialize<S: Serializer, T: Display>(
        value: &T,
        s: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(value)
    }

    /// Reads a JSON string with `T::from_str`; its error message becomes serde's.
    pub(crate) fn deserialize<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: std::str::FromStr<Err = String>,
    {
        d.deserialize_str(TextVisitor { parse: |v| v.parse() })
    }
}

/// serde `with` module: an unsigned integer stored as a decimal string, exact in every JSON
/// reader (`u128`, and `u64` beyond 2⁵³).
pub(crate) mod decimal {
    use super::*;

    /// Writes `value` as a JSON string of decimal digits (its `Display` text).
    pub(crate) use super::text::serialize;

    /// Reads a JSON string of decimal digits.
    pub(crate) fn deserialize<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: std::str::FromStr,
    {
        d.deserialize_str(TextVisitor {
            parse: |v| v.parse().map_err(|_| format!("{v:?} is not an unsigned decimal integer in range")),
        })
    }
}

/// serde `with` module: a `u64` stored as 16 lower-case hexadecimal digits (fingerprints).
pub(crate) mod hex {
    use super::*;

    /// Writes `value` as a JSON string of 16 hexadecimal digits.
    pub(crate) fn serialize<S: Serializer>(value: &u64, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{value:016x}"))
    }

    /// Reads a JSON string of hexadecimal digits.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<u64, D::Error> {
        d.deserialize_str(TextVisitor {
            parse: |v| {
                u64::from_str_radix(v, 16).map_err(|_| format!("{v:?} is not a 64-bit hexadecimal number"))
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)] // the fields are read by the decoder, not by the tests
    struct Inner {
        lr: f32,
        #[serde(with = "decimal")]
        seed: u64,
        #[serde(with = "hex")]
        fingerprint: u64,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        layers: Vec<usize>,
        config: Inner,
        #[serde(with = "text")]
        activation: crate::activation::Activation,
    }

    fn error(text: &str) -> String {
        decode::<Outer>(Path::new("m"), text).unwrap_err().to_string()
    }

    const GOOD: &str =
        r#"{"activation":"relu","config":{"fingerprint":"00ff","lr":0.5,"seed":"7"},"layers":[2,3]}"#;

    #[test]
    fn a_good_object_decodes() {
        let o: Outer = decode(Path::new("m"), GOOD).unwrap();
        assert_eq!((o.config.seed, o.config.fingerprint, o.layers), (7, 255, vec![2, 3]));
    }

    #[test]
    fn errors_name_the_field_by_its_path() {
        // Each edit of GOOD, and the message it must give (field path, then serde's words).
        let cases = [
            (
                r#""lr":0.5"#,
                r#""lr":"x""#,
                r#"m: metadata field "config.lr" is invalid: invalid type: string "x", expected f32"#,
            ),
            (
                r#""seed":"7""#,
                r#""seed":"7a""#,
                r#"m: metadata field "config.seed" is invalid: "7a" is not an unsigned decimal integer in range"#,
            ),
            (
                r#""fingerprint":"00ff""#,
                r#""fingerprint":"zz""#,
                r#"m: metadata field "config.fingerprint" is invalid: "zz" is not a 64-bit hexadecimal number"#,
            ),
            (
                r#""seed":"7"}"#,
                r#""seed":7}"#,
                r#"m: metadata field "config.seed" is invalid: invalid type: integer `7`, expected a string"#,
            ),
            (
                r#"[2,3]"#,
                r#"[2,-3]"#,
                r#"m: metadata field "layers" is invalid: invalid value: integer `-3`, expected usize"#,
            ),
            (
                r#""relu""#,
                r#""gelu""#,
                r#"m: metadata field "activation" is invalid: unknown activation "gelu" (expected sigmoid, tanh or relu)"#,
            ),
            (r#","lr":0.5"#, "", r#"m: metadata lacks the field "config.lr""#),
            (r#","layers":[2,3]"#, "", r#"m: metadata lacks the field "layers""#),
        ];
        for (from, to, expected) in cases {
            assert!(GOOD.contains(from), "{from}");
            assert_eq!(error(&GOOD.replacen(from, to, 1)), expected);
        }
        assert_eq!(error("5"), "m: metadata is invalid: invalid type: integer `5`, expected struct Outer");
        assert!(error(r#"{"layers":"#).starts_with("m: has unreadable bp-par metadata (EOF while parsing"));
    }

    #[test]
    fn the_field_scan_follows_nesting_strings_and_lines() {
        let text = "{\"a\":{\"b\":[1,{\"c\":\"}:,\\\"\"";
        assert_eq!(field_at(text, text.len()), "a.b.c");
        let text = r#"{"a":{"b":1},"#;
        assert_eq!(field_at(text, text.len()), "");
        assert_eq!(field_at(text, r#"{"a":{"b":1}"#.len()), "a");
        let text = "{\n\"é\":\n[1,\n2";
        assert_eq!(byte_offset(text, 4, 1), text.len());
        assert_eq!(field_at(text, byte_offset(text, 4, 1)), "é");
    }
}
