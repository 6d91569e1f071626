//! A label column read as class names is checked to be names throughout: a column of whole
//! numbers with a few stray tokens (`three`, `0x3`, `٣`, `5x`, a byte-order mark pasted inside
//! the file) would otherwise become class names sorted as strings, the numbers among them,
//! without a word. Mixed columns are refused, naming the first token of the rarer kind.

use super::rows::{Layout, Parsed, parse_number};
use crate::error::Result;

/// Refuses a label column read as names (`parsed`'s `label_text`) where some labels are
/// numbers and others are not; `line_of(r)` gives data row `r`'s line.
pub(super) fn check_all_names(
    layout: &Layout<'_>,
    parsed: &[Parsed],
    line_of: &dyn Fn(usize) -> u64,
) -> Result<()> {
    let Some(col) = layout.roles.iter().position(|&r| r == super::roles::Role::Label) else { return Ok(()) };
    let texts = parsed.iter().flat_map(|p| p.label_text.iter());
    let is_number = |t: &str| parse_number(t.trim().as_bytes()).is_some_and(f64::is_finite);
    let (mut numbers, mut names) = (0usize, 0usize);
    let (mut first_number, mut first_name) = (None, None);
    for (r, t) in texts.enumerate() {
        if t.is_empty() {
            continue; // a missing label
        }
        if is_number(t) {
            numbers += 1;
            first_number.get_or_insert((r, t));
        } else {
            names += 1;
            first_name.get_or_insert((r, t));
        }
    }
    let shown = |t: &str| super::excerpt(t.as_bytes());
    let (odd, message) = match (first_number, first_name) {
        (Some(_), Some((r, t))) if numbers >= names => {
            let why = if t.starts_with('\u{feff}') {
                "starts with a byte-order mark (U+FEFF) inside the file (a second file pasted in?): remove it"
                    .to_string()
            } else {
                format!(
                    "label {:?} is not a whole number like the column's other {numbers} labels: fix the row \
                     (a label column of names needs every label a name)",
                    shown(t)
                )
            };
            (r, why)
        }
        (Some((r, t)), Some(_)) => (
            r,
            format!(
                "label {:?} is a number among the column's {names} class names: fix the row (a label column \
                 of names needs every label a name)",
                shown(t)
            ),
        ),
        _ => return Ok(()),
    };
    Err(layout.error(line_of(odd), col, message))
}
