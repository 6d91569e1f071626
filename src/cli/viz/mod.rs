//! Pictures as PNG, drawn on a [`Canvas`]: the four figures of `bp-par show` (a grid of
//! digits here; first-layer weights, training curves and a confusion-matrix heat map in
//! their own modules) and what they share: round axis ticks, tile layouts, colour scales
//! with legends. Drawn by hand on purpose: `plotters` needs system fonts (fontconfig and
//! freetype) or a font file we would ship before it can write any text.

mod canvas;
mod chart;
mod class_labels;
mod colormap;
mod confusion;
mod layout;
mod ticks;
mod weights;

pub use canvas::*;
pub use chart::curves;
pub use confusion::confusion;
pub use weights::weight_tiles;

use bp_par::error::Result;

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

/// A grid of images (rows of `shape` = [h, w]), 10 per row, each with its label under it
/// (its class name when `names` gives them); misclassified ones framed in red with the
/// prediction.
pub fn digits_grid(
    tiles: &[Tile],
    shape: [usize; 2],
    names: Option<&[String]>,
    title: &str,
) -> Result<Canvas> {
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
        let color = if t.wrong.is_some() { RED } else { BLACK };
        let fits = (cw / 8 - 1).max(2) as usize;
        for (j, line) in class_labels::caption(t.label, t.wrong, names, fits).iter().enumerate() {
            c.text_centered(gx + cw / 2, gy + (h * zoom) as i64 + 6 + 11 * j as i64, line, 1, color);
        }
    }
    Ok(c)
}
