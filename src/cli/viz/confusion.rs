//! The confusion matrix as a heat map: each cell coloured by its share of the true class's
//! rows, correct cells (the diagonal) in blues, errors in oranges and reds on their own scale
//! (up to the largest error share, so a few errors stand out), counts written in the cells,
//! the classes named on both axes (by the model's class names when it has them), and both
//! scales' legends below.

use super::canvas::{BLACK, Canvas, GRAY, Rgb, WHITE};
use super::class_labels::axis_labels;
use super::colormap::{BLUES, REDS, legend_bar, ramp};
use super::ticks::axis;
use bp_par::error::Result;
use bp_par::metrics::Confusion;

/// Where the error ramp starts: its lightest colour is still clearly not white.
const ERROR_FLOOR: f64 = 0.3;

/// The colour of a correct cell with `pct` percent of its row.
fn correct(pct: f64) -> Rgb {
    ramp(&BLUES, pct / 100.0)
}

/// The colour of an error cell with `pct` percent of its row, on a scale ending at `cap`%.
fn error(pct: f64, cap: f64) -> Rgb {
    if pct <= 0.0 { WHITE } else { ramp(&REDS, ERROR_FLOOR + (1.0 - ERROR_FLOOR) * pct / cap) }
}

/// Black or white, whichever reads on `bg`.
fn text_on(bg: Rgb) -> Rgb {
    let luma = 0.299 * f64::from(bg[0]) + 0.587 * f64::from(bg[1]) + 0.114 * f64::from(bg[2]);
    if luma < 140.0 { WHITE } else { BLACK }
}

/// Confusion matrix as a heat map with the counts written in the cells, the classes named by
/// `names` (one per class) when given, else numbered.
pub fn confusion(conf: &Confusion, names: Option<&[String]>, title: &str) -> Result<Canvas> {
    let k = conf.n_classes() as i64;
    let cell = (440 / k.max(1)).clamp(24, 60);
    let labels = axis_labels(k as usize, names, cell);
    // Room for "true class" (x 8..16) and the row labels; for the column labels and
    // "predicted class" above them, under the title.
    let left = 90i64.max(34 + labels.row_width);
    let top = 62 + labels.col_height;
    let width = (left + k * cell + 40).max(500);
    let legend_y = top + k * cell + 24;
    let mut c = Canvas::checked(width as usize, (legend_y + 90) as usize)?;
    c.title(width / 2, 10, title, 2, width - 20);
    c.text_centered(left + k * cell / 2, top - labels.col_height - 28, "predicted class", 1, BLACK);
    c.text_vertical(8, top + k * cell / 2, "true class", 1, BLACK);
    for (t, text) in (0..k).zip(&labels.texts) {
        let w = Canvas::text_width(text, 1);
        c.text(left - 10 - w, top + t * cell + cell / 2 - 4, text, 1, BLACK);
        let cx = left + t * cell + cell / 2;
        if labels.rotated {
            // Upwards, its end 8 pixels above the matrix.
            c.text_vertical(cx - 4, top - 8 - w / 2, text, 1, BLACK);
        } else {
            c.text_centered(cx, top - 16, text, 1, BLACK);
        }
    }
    let row_totals: Vec<u64> = conf.rows().map(|r| r.iter().sum()).collect();
    let pct = |t: usize, p: usize| {
        let total = row_totals[t];
        if total == 0 { 0.0 } else { 100.0 * conf.count(t, p) as f64 / total as f64 }
    };
    let worst = (0..k as usize)
        .flat_map(|t| (0..k as usize).filter(move |&p| p != t).map(move |p| (t, p)))
        .map(|(t, p)| pct(t, p))
        .fold(0.0, f64::max);
    let errors = axis(0.0, if worst > 0.0 { worst } else { 1.0 }, 4, (Some(0.0), Some(100.0)), false);
    let cap = errors.hi;
    for t in 0..k {
        for p in 0..k {
            let (tu, pu) = (t as usize, p as usize);
            let color = if t == p { correct(pct(tu, pu)) } else { error(pct(tu, pu), cap) };
            c.fill_rect(left + p * cell, top + t * cell, cell, cell, color);
            let (cx, cy) = (left + p * cell + cell / 2, top + t * cell + cell / 2 - 4);
            c.text_centered(cx, cy, &conf.count(tu, pu).to_string(), 1, text_on(color));
        }
    }
    c.rect(left, top, k * cell, k * cell, 1, GRAY);
    let bar_w = (width - 220).min(300);
    let shares = axis(0.0, 100.0, 5, (Some(0.0), Some(100.0)), false);
    legend_bar(&mut c, (190, legend_y, bar_w, 12), &shares, &correct, "correct, % of row");
    legend_bar(&mut c, (190, legend_y + 44, bar_w, 12), &errors, &|v| error(v, cap), "errors, % of row");
    Ok(c)
}
