//! Line charts: axes with round ticks ([`super::ticks`]) or decades (a log scale), a legend,
//! and the training curves of `bp-par show curves` (loss from 0, or on a log scale when it
//! falls by more than 20x; accuracy within [0, 100]% when the run has one).

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
    /// A log scale along y: ticks at powers of ten (values must be positive).
    pub log_y: bool,
}

/// Whether positive values spanning [min, max] read better on a log scale (a fall of more
/// than 20x flattens all but the first epochs on a linear one).
fn wants_log(series: &[Series]) -> bool {
    extent(series).is_some_and(|(_, [lo, hi])| lo > 0.0 && hi / lo > 20.0)
}

/// A log axis over [min, max] (their log10s): ticks at whole decades.
fn decades(min: f64, max: f64) -> Axis {
    let (lo, hi) = (min.floor(), max.ceil().max(min.floor() + 1.0));
    let step = ((hi - lo) / 6.0).ceil().max(1.0);
    let ticks = (0..).map(|i| lo + i as f64 * step).take_while(|&t| t <= hi + 1e-9).collect();
    Axis { lo, hi, step, ticks }
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
    // On a log scale the series are drawn by their log10s.
    let logged: Vec<Series> = series
        .iter()
        .map(|s| Series {
            name: s.name,
            points: s.points.iter().map(|&(a, b)| (a, if labels.log_y { b.log10() } else { b })).collect(),
            color: s.color,
        })
        .collect();
    let series = &logged[..];
    let ([x0, x1], [y0, y1]) = extent(series).unwrap_or(([1.0, 1.0], [0.0, 1.0]));
    let ax = axis(x0, x1, 6, (None, None), true);
    let ay = if labels.log_y { decades(y0, y1) } else { y_axis(y0, y1) };
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
        let text = if labels.log_y { label(10f64.powf(t), 10f64.powf(t)) } else { label(t, ay.step) };
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

/// Loss and accuracy per epoch, two panels side by side: the loss axis starts at 0 (or is a
/// log scale when the loss falls by more than 20x), the accuracy axis stays within [0, 100]%.
/// A run without accuracies (a regression) gets the loss alone, across the whole width.
pub fn curves(history: &[EpochMetrics], title: &str) -> Canvas {
    let mut c = Canvas::new(1000, 460);
    c.title(500, 8, title, 2, 980);
    let pick = |f: &dyn Fn(&EpochMetrics) -> Option<f64>| -> Vec<(f64, f64)> {
        history.iter().filter_map(|m| f(m).map(|v| (m.epoch as f64, v))).collect()
    };
    let keep = |s: [Series<'static>; 2]| -> Vec<Series<'static>> {
        s.into_iter().filter(|s| !s.points.is_empty()).collect()
    };
    let loss = keep([
        Series { name: "train loss", points: pick(&|m| Some(m.loss)), color: BLUE },
        Series { name: "held-out loss", points: pick(&|m| m.test_loss), color: ORANGE },
    ]);
    let acc = keep([
        Series { name: "train acc", points: pick(&|m| m.train_acc.map(|a| 100.0 * a)), color: BLUE },
        Series { name: "held-out acc", points: pick(&|m| m.test_acc.map(|a| 100.0 * a)), color: ORANGE },
    ]);
    let log_y = wants_log(&loss);
    let y = if log_y { "mean loss (log scale)" } else { "mean loss" };
    let loss_labels = Labels { title: "loss", x: "epoch", y, log_y };
    let width = if acc.is_empty() { 1000 } else { 500 };
    line_chart(&mut c, (0, 30, width, 410), &loss_labels, &loss, &|_, max| {
        axis(0.0, max, 5, (Some(0.0), None), false)
    });
    if !acc.is_empty() {
        let acc_labels = Labels { title: "accuracy", x: "epoch", y: "accuracy (%)", log_y: false };
        line_chart(&mut c, (500, 30, 500, 410), &acc_labels, &acc, &|min, max| {
            axis(min, max, 5, (Some(0.0), Some(100.0)), false)
        });
    }
    c
}
