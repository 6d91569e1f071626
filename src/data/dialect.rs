//! How a CSV file is written: its field separator ([`Delimiter`]), what stands for a missing
//! value and what to do with one ([`Missing`]), and how its class labels are read
//! ([`ClassNames`]). Options only; the reader is `data::csv`.
//!
//! ```
//! use bp_par::data::{Delimiter, Missing};
//! assert_eq!("semicolon".parse::<Delimiter>(), Ok(Delimiter::Char(b';')));
//! assert_eq!("|".parse::<Delimiter>(), Ok(Delimiter::Char(b'|')));
//! assert_eq!("mean".parse::<Missing>(), Ok(Missing::Mean));
//! ```

use std::fmt;

/// What separates the fields of a CSV row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Delimiter {
    /// Detected from the first lines: comma, tab, semicolon or whitespace, whichever splits
    /// every line into the same number (> 1) of fields (numbers where they can be); an error
    /// when two fit equally well and read the file differently.
    #[default]
    Auto,
    /// One byte: `,`, `;`, `\t`, `|`, ... Under `;` a comma inside a number is its decimal
    /// separator (`1,5` is 1.5), as in European CSV files.
    Char(u8),
    /// Any run of spaces and tabs; leading and trailing ones are ignored (USPS `zip.train`,
    /// `semeion.data`).
    Whitespace,
}

impl std::str::FromStr for Delimiter {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "auto" => Delimiter::Auto,
            "comma" | "," => Delimiter::Char(b','),
            "semicolon" | ";" => Delimiter::Char(b';'),
            "tab" | "\t" | "\\t" => Delimiter::Char(b'\t'),
            "whitespace" | "space" | " " => Delimiter::Whitespace,
            _ => match s.as_bytes() {
                [b] if b.is_ascii_punctuation() && !b"\"'.-+".contains(b) => Delimiter::Char(*b),
                _ => {
                    return Err(format!(
                        "expected auto, comma, semicolon, tab, whitespace or one punctuation \
                         character (not a quote, '.', '-' or '+'), got {s:?}"
                    ));
                }
            },
        })
    }
}

impl fmt::Display for Delimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Delimiter::Auto => f.write_str("auto"),
            Delimiter::Char(b',') => f.write_str("comma"),
            Delimiter::Char(b';') => f.write_str("semicolon"),
            Delimiter::Char(b'\t') => f.write_str("tab"),
            Delimiter::Char(b) => write!(f, "{:?}", *b as char),
            Delimiter::Whitespace => f.write_str("whitespace"),
        }
    }
}

/// What to do with a missing value: an empty field, `NA`, `N/A`, `NaN`, `nan`, `null` or `?`.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Missing {
    /// Refuse the file, naming the first missing value (line, column) and their count.
    #[default]
    Error,
    /// Replace a missing feature by its column's mean over the rows that have it (the means
    /// are kept in the data set's [`Schema::missing_fill`](super::Schema::missing_fill)).
    Mean,
    /// Replace a missing feature by 0.
    Zero,
    /// Drop every row with a missing value (feature, label or target).
    Drop,
    /// Replace a missing feature by the given value of its column (one per feature: a
    /// model's stored training means).
    Fill(Vec<f32>),
    /// Leave a missing feature as NaN, to be filled later by the caller: `train` with a
    /// validation split reads so, then fills with the training rows' means only
    /// ([`Dataset::split_filling_means`](super::Dataset::split_filling_means)), so that the
    /// held-out rows do not leak into the fill values. Not a user's choice (not parsed).
    Keep,
}

impl std::str::FromStr for Missing {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "error" => Missing::Error,
            "mean" => Missing::Mean,
            "zero" => Missing::Zero,
            "drop" => Missing::Drop,
            _ => return Err(format!("expected error, mean, zero or drop, got {s:?}")),
        })
    }
}

/// How class labels are read from a CSV label column.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum ClassNames {
    /// Integers 0, 1, 2, ... are classes themselves; a column holding text (`cat`,
    /// `setosa`) gives its distinct names in sorted (byte) order as classes 0, 1, 2, ...
    #[default]
    Auto,
    /// Integers only (a model trained on numbered classes).
    Numbers,
    /// These names, in class order (a model's): any other label is an error.
    Names(Vec<String>),
}

/// Whether `field` (already trimmed) stands for a missing value.
pub(crate) fn is_missing(field: &[u8]) -> bool {
    const TOKENS: [&[u8]; 5] = [b"na", b"n/a", b"nan", b"null", b"?"];
    field.is_empty() || TOKENS.iter().any(|t| field.eq_ignore_ascii_case(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_parse_and_print() {
        for (text, want, shown) in [
            ("comma", Delimiter::Char(b','), "comma"),
            ("tab", Delimiter::Char(b'\t'), "tab"),
            ("whitespace", Delimiter::Whitespace, "whitespace"),
            ("auto", Delimiter::Auto, "auto"),
            ("|", Delimiter::Char(b'|'), "'|'"),
        ] {
            assert_eq!(text.parse::<Delimiter>(), Ok(want));
            assert_eq!(want.to_string(), shown);
        }
        for bad in ["x", ".", "-", "\"", "ab", ""] {
            assert!(bad.parse::<Delimiter>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn missing_tokens() {
        for t in ["", "NA", "na", "N/A", "NaN", "nan", "NULL", "?"] {
            assert!(is_missing(t.as_bytes()), "{t:?}");
        }
        for t in ["0", "nana", "-", "inf"] {
            assert!(!is_missing(t.as_bytes()), "{t:?}");
        }
    }
}
