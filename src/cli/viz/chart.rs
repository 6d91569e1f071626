//! Line charts: axes with round ticks ([`super::ticks`]), a legend, and the training curves
//! of `bp-par show curves` (loss from 0, accuracy within [0, 100]%).

use super::canvas::{BLACK, BLUE, Canvas, LIGHT, ORANGE, Rgb};
use super::ticks::{Axis, axis, label};
use bp_par::train::EpochMetrics;

/// One series of a line chart.
pub struct Series<'a> {
    pub name: &'a str,
    pub points: Vec<(f64, f64)>,
    pub color: Rgb,
}

/// The texts of a chart.
pub struct Labels<'a> {
    pub title: &'a str,
    pub x: &'a str,
    pub y: &'a str,
}

/// The smallest and largest finite x and y of the series' points, or None.
fn extent(series: &[Series]) -> Option<([f64; 2], [f64; 2])> {
    let mut it = series.iter().flat_map(|s| s.points.iter()).filter(|p| p.0.is_finite() && p.1.is_finite());
    let &(x, y) = it.next()?;
    Some(it.fold(([x, x], [y, y]), |([x0, x1], [y0, y1]), &(x, y)| {
        ([x0.min(x), x1.max(x)], [y0.min(y), y1.max(y)])
    }))
}

/// Draws a line chart into the rectangle (x, y, w, h) of `c`: epochs on whole-number ticks
/// along x, `y_axis` (given the data's min and max) along y, grid lines at the ticks, axis
/// labels, a title and a legend.
pub fn line_chart(
    c: &mut Canvas,
    (x, y, w, h): (i64, i64, i64, i64),
    labels: &Labels,
    series: &[Series],
    y_axis: &dyn Fn(f64, f64) -> Axis,
) {
    let ([x0, x1], [y0, y1]) = extent(series).unwrap_or(([1.0, 1.0], [0.0, 1.0]));
    let ax = axis(x0, x1, 6, (None, None), true);
    let ay = y_axis(y0, y1);
    let (left, bottom, top) = (x + 80, y + h - 50, y + 56);
    let right = x + w - 24;
    let px = |v: f64| left + ((v - ax.lo) / (ax.hi - ax.lo) * (right - left) as f64).round() as i64;
    let py = |v: f64| {
        let t = ((v - ay.lo) / (ay.hi - ay.lo)).clamp(0.0, 1.0);
        bottom - (t * (bottom - top) as f64).round() as i64
    };
    c.title((left + right) / 2, y + 10, labels.title, 2, right - left);
    for &t in &ay.ticks {
        c.line((left, py(t)), (right, py(t)), 1, LIGHT);
        let text = label(t, ay.step);
        c.line((left - 4, py(t)), (left, py(t)), 1, BLACK);
        c.text(left - 8 - Canvas::text_width(&text, 1), py(t) - 4, &text, 1, BLACK);
    }
    for &t in &ax.ticks {
        c.line((px(t), bottom), (px(t), bottom + 4), 1, BLACK);
        c.text_centered(px(t), bottom + 8, &label(t, ax.step), 1, BLACK);
    }
    c.line((left, top), (left, bottom), 2, BLACK);
    c.line((left, bottom), (right, bottom), 2, BLACK);
    c.text_centered((left + right) / 2, bottom + 26, labels.x, 1, BLACK);
    c.text_vertical(x + 8, (top + bottom) / 2, labels.y, 1, BLACK);
    let mut lx = left;
    for s in series {
        let finite: Vec<(i64, i64)> = s
            .points
            .iter()
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .map(|&(a, b)| (px(a), py(b)))
            .collect();
        for pair in finite.windows(2) {
            c.line(pair[0], pair[1], 2, s.color);
        }
        for &p in &finite {
            c.fill_rect(p.0 - 2, p.1 - 2, 5, 5, s.color);
        }
        // Legend: one row above the plot, entries side by side.
        let ly = top - 16;
        c.line((lx, ly + 4), (lx + 18, ly + 4), 2, s.color);
        c.text(lx + 24, ly, s.name, 1, BLACK);
        lx += Canvas::text_width(s.name, 1) + 40;
    }
}

/// Loss and accuracy per epoch, two panels side by side: the loss axis starts at 0, the
/// accuracy axis stays within [0, 100]%.
pub fn curves(history: &[EpochMetrics], title: &str) -> Canvas {
    let mut c = Canvas::new(1000, 460);
    c.title(500, 8, title, 2, 980);
    let pick = |f: &dyn Fn(&EpochMetrics) -> Option<f64>| -> Vec<(f64, f64)> {
        history.iter().filter_map(|m| f(m).map(|v| (m.epoch as f64, v))).collect()
    };
    let loss = [
        Series { name: "train loss", points: pick(&|m| Some(m.loss)), color: BLUE },
        Series { name: "held-out loss", points: pick(&|m| m.test_loss), color: ORANGE },
    ];
    let acc = [
        Series { name: "train acc", points: pick(&|m| m.train_acc.map(|a| 100.0 * a)), color: BLUE },
        Series { name: "held-out acc", points: pick(&|m| m.test_acc.map(|a| 100.0 * a)), color: ORANGE },
    ];
    let keep = |s: [Series<'static>; 2]| -> Vec<Series<'static>> {
        s.into_iter().filter(|s| !s.points.is_empty()).collect()
    };
    let loss_labels = Labels { title: "loss", x: "epoch", y: "mean loss" };
    line_chart(&mut c, (0, 30, 500, 410), &loss_labels, &keep(loss), &|_, max| {
        axis(0.0, max, 5, (Some(0.0), None), false)
    });
    let acc_labels = Labels { title: "accuracy", x: "epoch", y: "accuracy (%)" };
    line_chart(&mut c, (500, 30, 500, 410), &acc_labels, &keep(acc), &|min, max| {
        axis(min, max, 5, (Some(0.0), Some(100.0)), false)
    });
    c
}
