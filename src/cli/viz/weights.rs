//! First-layer weights as pictures: one tile per hidden unit laid out to fill the canvas
//! ([`super::layout`]), every tile on one colour scale symmetric around 0 (blue negative,
//! white 0, red positive) so tiles compare, and the scale's legend below.

use super::canvas::{Canvas, LIGHT, MAX_PIXELS};
use super::colormap::{diverging, legend_bar, symmetric_scale};
use super::layout::tile_layout;
use bp_par::error::{Error, Result};

/// Pixels above the grid (the title) and below it (the legend), and the legend's width.
const TOP: usize = 44;
const BOTTOM: usize = 64;
const LEGEND_W: usize = 300;

/// The first `n_units` rows of `weights` (units x inputs, row-major), each drawn as an image
/// of `shape` = [h, w].
pub fn weight_tiles(weights: &[f32], n_units: usize, shape: [usize; 2], title: &str) -> Result<Canvas> {
    let [h, w] = shape;
    let n_in = h * w;
    let drawn = &weights[..(n_units * n_in).min(weights.len())];
    let n_units = drawn.len() / n_in.max(1);
    let l = tile_layout(n_units, shape, TOP, BOTTOM, LEGEND_W + 140);
    if l.width.saturating_mul(l.height) > MAX_PIXELS {
        return Err(Error::config(format!(
            "{n_units} units of {h}x{w} inputs need a {}x{} picture, more than the {MAX_PIXELS} pixels bp-par \
             draws: draw fewer with --units N",
            l.width, l.height
        )));
    }
    let mut c = Canvas::checked(l.width, l.height)?;
    c.title(l.width as i64 / 2, 12, title, 2, l.width as i64 - 20);
    let scale = symmetric_scale(drawn);
    let z = l.zoom as i64;
    for (u, wu) in drawn.chunks_exact(n_in).enumerate() {
        let (gx, gy) = l.tile_origin(u);
        let (gx, gy) = (gx as i64, gy as i64);
        c.rect(gx - 1, gy - 1, l.tile_w as i64 + 2, l.tile_h as i64 + 2, 1, LIGHT);
        for y in 0..h {
            for x in 0..w {
                let color = diverging(f64::from(wu[y * w + x]), scale.hi);
                c.fill_rect(gx + x as i64 * z, gy + y as i64 * z, z, z, color);
            }
        }
    }
    let (_, grid_h) = l.grid_size();
    let bar_x = (l.width as i64 - LEGEND_W as i64) / 2 + 40;
    let bar = (bar_x, (TOP + grid_h + 16) as i64, LEGEND_W as i64, 14);
    legend_bar(&mut c, bar, &scale, &|v| diverging(v, scale.hi), "weight");
    Ok(c)
}
