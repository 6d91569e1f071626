//! Pictures as PNG, drawn on a [`Canvas`]: the four figures of `bp-par show` (a grid of
//! digits, first-layer weights, training curves, a confusion-matrix heat map) and the line
//! chart they share.

mod canvas;

pub use canvas::*;

use bp_par::error::Result;
use bp_par::metrics::Confusion;
use bp_par::train::EpochMetrics;

/// Gray level of v in [lo, hi] (lo black... hi white when `dark_high` is false).
fn gray(v: f32, lo: f32, hi: f32, dark_high: bool) -> Rgb {
    let t = if hi > lo { ((v - lo) / (hi - lo)).clamp(0.0, 1.0) } else { 0.5 };
    let g = if dark_high { 255.0 * (1.0 - t) } else { 255.0 * t };
    [g as u8; 3]
}

/// One image of the grid in [`digits_grid`].
pub struct Tile<'a> {
    pub pixels: &'a [f32],
    pub label: Option<u32>,
    /// The model's prediction, when it differs from the label.
    pub wrong: Option<usize>,
}

/// A grid of images (rows of `shape` = [h, w]), 10 per row, each with its label under it;
/// misclassified ones framed in red with the prediction.
pub fn digits_grid(tiles: &[Tile], shape: [usize; 2], title: &str) -> Result<Canvas> {
    let [h, w] = shape;
    let zoom = (84 / h.max(w)).max(1);
    let (cw, ch) = ((w * zoom + 12) as i64, (h * zoom + 30) as i64);
    let cols = 10i64;
    let rows = (tiles.len() as i64 + cols - 1) / cols;
    let mut c = Canvas::checked((cols * cw + 20) as usize, (rows * ch + 50) as usize)?;
    let width = c.width() as i64;
    c.title(width / 2, 12, title, 2, width - 20);
    for (i, t) in tiles.iter().enumerate() {
        let (gx, gy) = (10 + (i as i64 % cols) * cw, 40 + (i as i64 / cols) * ch);
        let (lo, hi) = t.pixels.iter().fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        for y in 0..h {
            for x in 0..w {
                let color = gray(t.pixels[y * w + x], lo, hi, true);
                c.fill_rect(
                    gx + 6 + (x * zoom) as i64,
                    gy + (y * zoom) as i64,
                    zoom as i64,
                    zoom as i64,
                    color,
                );
            }
        }
        if t.wrong.is_some() {
            c.rect(gx + 3, gy - 3, (w * zoom) as i64 + 6, (h * zoom) as i64 + 6, 3, RED);
        }
        let caption = match (t.label, t.wrong) {
            (Some(l), Some(p)) => format!("{l} (p{p})"),
            (Some(l), None) => l.to_string(),
            (None, _) => String::new(),
        };
        let color = if t.wrong.is_some() { RED } else { BLACK };
        c.text_centered(gx + cw / 2, gy + (h * zoom) as i64 + 6, &caption, 1, color);
    }
    Ok(c)
}

/// First-layer weights: one tile per hidden unit, its `shape` weights contrast-normalised
/// on their own (dark = negative, light = positive).
pub fn weight_tiles(weights: &[f32], n_units: usize, shape: [usize; 2], title: &str) -> Result<Canvas> {
    let [h, w] = shape;
    let n_in = h * w;
    let zoom = (96 / h.max(w)).max(1);
    let cols = (n_units as f64).sqrt().ceil() as i64;
    let rows = (n_units as i64 + cols - 1) / cols;
    let (cw, chh) = ((w * zoom + 6) as i64, (h * zoom + 6) as i64);
    let width = (cols * cw + 20).max(Canvas::text_width(title, 2) + 20);
    let mut c = Canvas::checked(width as usize, (rows * chh + 50) as usize)?;
    c.title(width / 2, 12, title, 2, width - 20);
    for u in 0..n_units {
        let wu = &weights[u * n_in..(u + 1) * n_in];
        let (lo, hi) = wu.iter().fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        let (gx, gy) = (10 + (u as i64 % cols) * cw, 40 + (u as i64 / cols) * chh);
        for y in 0..h {
            for x in 0..w {
                let color = gray(wu[y * w + x], lo, hi, false);
                c.fill_rect(gx + (x * zoom) as i64, gy + (y * zoom) as i64, zoom as i64, zoom as i64, color);
            }
        }
    }
    Ok(c)
}

/// One series of a line chart.
pub struct Series<'a> {
    pub name: &'a str,
    pub points: Vec<(f64, f64)>,
    pub color: Rgb,
}

/// Draws a line chart into the rectangle (x, y, w, h) of `c`, with axes, 5 ticks each,
/// axis labels, a title and a legend.
#[allow(clippy::too_many_arguments)]
pub fn line_chart(
    c: &mut Canvas,
    (x, y, w, h): (i64, i64, i64, i64),
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    y_fmt: &dyn Fn(f64) -> String,
) {
    let pts = series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(px, py) in pts {
        if px.is_finite() && py.is_finite() {
            x0 = x0.min(px);
            x1 = x1.max(px);
            y0 = y0.min(py);
            y1 = y1.max(py);
        }
    }
    if x0 > x1 {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if x1 == x0 {
        x1 = x0 + 1.0;
    }
    let pad = ((y1 - y0) * 0.05).max(1e-9);
    let (y0, y1) = (y0 - pad, y1 + pad);
    let (left, bottom, top) = (x + 80, y + h - 50, y + 56);
    let right = x + w - 20;
    let px = |v: f64| left + ((v - x0) / (x1 - x0) * (right - left) as f64) as i64;
    let py = |v: f64| bottom - ((v - y0) / (y1 - y0) * (bottom - top) as f64) as i64;
    c.title((left + right) / 2, y + 10, title, 2, right - left);
    for i in 0..=4 {
        let vy = y0 + (y1 - y0) * i as f64 / 4.0;
        c.line((left, py(vy)), (right, py(vy)), 1, LIGHT);
        let label =
            if vy != 0.0 && !(1e-3..1e5).contains(&vy.abs()) { format!("{vy:.1e}") } else { y_fmt(vy) };
        c.text(left - 8 - Canvas::text_width(&label, 1), py(vy) - 4, &label, 1, BLACK);
        let vx = x0 + (x1 - x0) * i as f64 / 4.0;
        // Epoch ticks on whole epochs only.
        if (x1 - x0) >= 4.0 || i == 0 || i == 4 {
            let vx = vx.round();
            c.line((px(vx), bottom), (px(vx), bottom + 4), 1, BLACK);
            c.text_centered(px(vx), bottom + 8, &format!("{vx:.0}"), 1, BLACK);
        }
    }
    c.line((left, top), (left, bottom), 2, BLACK);
    c.line((left, bottom), (right, bottom), 2, BLACK);
    c.text_centered((left + right) / 2, bottom + 26, x_label, 1, BLACK);
    c.text_vertical(x + 8, (top + bottom) / 2, y_label, 1, BLACK);
    for (i, s) in series.iter().enumerate() {
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
        let lx = left + series[..i].iter().map(|p| Canvas::text_width(p.name, 1) + 40).sum::<i64>();
        let ly = top - 16;
        c.line((lx, ly + 4), (lx + 18, ly + 4), 2, s.color);
        c.text(lx + 24, ly, s.name, 1, BLACK);
    }
}

/// Loss and accuracy per epoch, two panels side by side.
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
    line_chart(&mut c, (0, 30, 500, 410), "loss", "epoch", "mean loss", &keep(loss), &|v| format!("{v:.3}"));
    line_chart(&mut c, (500, 30, 500, 410), "accuracy", "epoch", "accuracy (%)", &keep(acc), &|v| {
        format!("{v:.1}")
    });
    c
}

/// Confusion matrix as a heat map with the counts written in the cells.
pub fn confusion(conf: &Confusion, title: &str) -> Result<Canvas> {
    let k = conf.n_classes() as i64;
    let cell = (440 / k.max(1)).clamp(24, 60);
    let (left, top) = (90i64, 70i64);
    let size = (left + k * cell + 40).max(Canvas::text_width(title, 2) + 40);
    let mut c = Canvas::checked(size as usize, (top + k * cell + 20) as usize)?;
    c.title(size / 2, 10, title, 2, size - 20);
    c.text_centered(left + k * cell / 2, top - 36, "predicted class", 1, BLACK);
    c.text_vertical(8, top + k * cell / 2, "true class", 1, BLACK);
    let max = conf.rows().flat_map(|r| r.iter()).copied().max().unwrap_or(1).max(1) as f64;
    for t in 0..k {
        c.text(left - 24, top + t * cell + cell / 2 - 4, &t.to_string(), 1, BLACK);
        c.text_centered(left + t * cell + cell / 2, top - 16, &t.to_string(), 1, BLACK);
        for p in 0..k {
            let n = conf.count(t as usize, p as usize);
            // White to dark blue by the square root of the count.
            let s = (n as f64 / max).sqrt();
            let color = [(255.0 - 220.0 * s) as u8, (255.0 - 170.0 * s) as u8, (255.0 - 90.0 * s) as u8];
            c.fill_rect(left + p * cell, top + t * cell, cell, cell, color);
            let text_color = if s > 0.6 { WHITE } else { BLACK };
            c.text_centered(
                left + p * cell + cell / 2,
                top + t * cell + cell / 2 - 4,
                &n.to_string(),
                1,
                text_color,
            );
        }
    }
    c.rect(left, top, k * cell, k * cell, 1, GRAY);
    Ok(c)
}
