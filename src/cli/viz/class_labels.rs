//! How classes are named in the pictures: by the model's class names when it stores them
//! (`setosa`, `cat`), else by their numbers; names too long for their room cut with a `.`,
//! and the confusion matrix's column labels turned to run upwards when a name is wider than
//! its column.

use super::canvas::Canvas;

/// The most characters of a class name drawn on a confusion-matrix axis (8 pixels each).
pub const MAX_AXIS_CHARS: usize = 14;

/// `name` in at most `max` characters: whole when it fits, else its first `max - 1` and a `.`
/// (`versicolor` in 6 is `versi.`). At least one character is kept.
pub fn abbreviate(name: &str, max: usize) -> String {
    let max = max.max(2);
    if name.chars().count() <= max {
        name.to_string()
    } else {
        name.chars().take(max - 1).chain(['.']).collect()
    }
}

/// The name of class `k`: its entry of `names` when there is one, else its number.
pub fn class_name(k: usize, names: Option<&[String]>) -> String {
    names.and_then(|n| n.get(k)).cloned().unwrap_or_else(|| k.to_string())
}

/// The class labels of a confusion matrix's axes and the room they take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AxisLabels {
    /// One label per class, in class order (cut to [`MAX_AXIS_CHARS`]).
    pub texts: Vec<String>,
    /// Whether the column labels run upwards (a label is wider than its column).
    pub rotated: bool,
    /// Pixels of the widest label written horizontally (the row labels' margin).
    pub row_width: i64,
    /// Pixels the column labels take above the matrix: one line, or the widest label when
    /// they run upwards.
    pub col_height: i64,
}

/// The labels of `k` classes in columns `cell` pixels wide, named by `names` when it has one
/// per class (else numbered).
pub fn axis_labels(k: usize, names: Option<&[String]>, cell: i64) -> AxisLabels {
    let names = names.filter(|n| n.len() == k);
    let texts: Vec<String> = (0..k).map(|i| abbreviate(&class_name(i, names), MAX_AXIS_CHARS)).collect();
    let row_width = texts.iter().map(|t| Canvas::text_width(t, 1)).max().unwrap_or(0);
    let rotated = row_width > cell - 4;
    AxisLabels { texts, rotated, row_width, col_height: if rotated { row_width } else { 8 } }
}

/// The lines under an image of class `label` (when known): its name, and when the model
/// answered `wrong`ly, the answer. Named classes take a line each (`-> name` for the answer),
/// numbered ones share one (`3 (p5)`). Each line holds at most `max_chars` characters.
pub fn caption(
    label: Option<u32>,
    wrong: Option<usize>,
    names: Option<&[String]>,
    max_chars: usize,
) -> Vec<String> {
    let Some(l) = label else { return Vec::new() };
    match names {
        None => match wrong {
            Some(p) => vec![format!("{l} (p{p})")],
            None => vec![l.to_string()],
        },
        Some(_) => {
            let mut lines = vec![abbreviate(&class_name(l as usize, names), max_chars)];
            if let Some(p) = wrong {
                lines.push(format!("->{}", abbreviate(&class_name(p, names), max_chars.saturating_sub(2))));
            }
            lines
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn long_names_are_cut_with_a_dot() {
        assert_eq!(abbreviate("setosa", 14), "setosa");
        assert_eq!(abbreviate("versicolor", 6), "versi.");
        assert_eq!(abbreviate("a-very-long-class-name", MAX_AXIS_CHARS), "a-very-long-c.");
        assert_eq!(abbreviate("abc", 0), "a.");
    }

    #[test]
    fn numbers_and_short_names_lie_flat_long_ones_run_upwards() {
        // Numbered classes 0-9: one character (8 px) each, flat, one 8-pixel line.
        let l = axis_labels(10, None, 44);
        assert_eq!(l.texts[7], "7");
        assert_eq!((l.rotated, l.row_width, l.col_height), (false, 8, 8));
        // Iris in 60-pixel columns: "versicolor" is 80 pixels, wider than its column.
        let iris = names(&["setosa", "versicolor", "virginica"]);
        let l = axis_labels(3, Some(&iris), 60);
        assert_eq!(l.texts, iris);
        assert!(l.rotated);
        assert_eq!((l.row_width, l.col_height), (80, 80));
        // Short names in wide columns stay flat.
        let pets = names(&["cat", "dog"]);
        let l = axis_labels(2, Some(&pets), 60);
        assert_eq!((l.rotated, l.col_height), (false, 8));
        // A name longer than MAX_AXIS_CHARS is cut, so the margins stay bounded.
        let long = names(&["x", "a-very-long-class-name-indeed"]);
        let l = axis_labels(2, Some(&long), 60);
        assert_eq!(l.texts[1].chars().count(), MAX_AXIS_CHARS);
        assert_eq!(l.col_height, 8 * MAX_AXIS_CHARS as i64);
        // Names that do not match the class count are not used.
        assert_eq!(axis_labels(3, Some(&pets), 60).texts, ["0", "1", "2"]);
    }

    #[test]
    fn captions_name_the_class_and_the_answer() {
        assert_eq!(caption(Some(3), None, None, 12), ["3"]);
        assert_eq!(caption(Some(3), Some(5), None, 12), ["3 (p5)"]);
        assert!(caption(None, None, None, 12).is_empty());
        let iris = names(&["setosa", "versicolor", "virginica"]);
        assert_eq!(caption(Some(1), None, Some(&iris), 12), ["versicolor"]);
        assert_eq!(caption(Some(0), Some(2), Some(&iris), 8), ["setosa", "->virgi."]);
    }
}
