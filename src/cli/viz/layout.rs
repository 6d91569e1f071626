//! Where the tiles of a picture go: the grid (columns x rows) chosen from the tile count and
//! the tile's aspect so that few cells stay empty and the grid is about as wide as tall, the
//! zoom chosen so the grid is about a megapixel, and the canvas around it (title above,
//! legend below).

/// The grid of tiles a canvas holds, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileLayout {
    pub cols: usize,
    pub rows: usize,
    /// Pixels per input value, in both directions.
    pub zoom: usize,
    /// A tile's size in pixels (the input's shape times the zoom) and the gap between tiles.
    pub tile_w: usize,
    pub tile_h: usize,
    pub gap: usize,
    /// The grid's top-left corner.
    pub grid_x: usize,
    pub grid_y: usize,
    /// The whole canvas.
    pub width: usize,
    pub height: usize,
}

impl TileLayout {
    /// The top-left corner of tile `i` (row-major).
    pub fn tile_origin(&self, i: usize) -> (usize, usize) {
        let (c, r) = (i % self.cols, i / self.cols);
        (self.grid_x + c * (self.tile_w + self.gap), self.grid_y + r * (self.tile_h + self.gap))
    }

    /// The grid's width and height in pixels.
    pub fn grid_size(&self) -> (usize, usize) {
        (self.cols * (self.tile_w + self.gap) - self.gap, self.rows * (self.tile_h + self.gap) - self.gap)
    }
}

/// The width:height ratio a grid aims at (a little wider than tall, as pages and screens are).
const TARGET_ASPECT: f64 = 1.25;
/// The pixels the grid aims at when the tiles are small enough to be enlarged.
const TARGET_GRID_PIXELS: f64 = 1.0e6;
/// The largest tile side the zoom makes (small inputs are enlarged up to it).
const MAX_TILE: usize = 128;

/// The columns and rows for `n` tiles of `tile_w` x `tile_h` pixels: the grid whose empty
/// share (weighted 3x) plus |ln(aspect / 1.25)| is least.
pub fn grid(n: usize, tile_w: usize, tile_h: usize) -> (usize, usize) {
    let n = n.max(1);
    let cost = |cols: usize| {
        let rows = n.div_ceil(cols);
        let empty = (rows * cols - n) as f64 / (rows * cols) as f64;
        let aspect = (cols * tile_w.max(1)) as f64 / (rows * tile_h.max(1)) as f64;
        3.0 * empty + (aspect / TARGET_ASPECT).ln().abs()
    };
    let cols = (1..=n).min_by(|&a, &b| cost(a).total_cmp(&cost(b))).unwrap_or(1);
    (cols, n.div_ceil(cols))
}

/// The layout of `n` tiles of an input `shape` = [h, w], with `top` pixels above the grid
/// (the title), `bottom` below it (the legend) and a canvas at least `min_width` wide.
pub fn tile_layout(n: usize, [h, w]: [usize; 2], top: usize, bottom: usize, min_width: usize) -> TileLayout {
    let (h, w) = (h.max(1), w.max(1));
    let fit = (TARGET_GRID_PIXELS / (n.max(1) * h * w) as f64).sqrt().floor() as usize;
    let zoom = fit.clamp(1, (MAX_TILE / h.max(w)).max(1));
    let (tile_w, tile_h) = (w * zoom, h * zoom);
    let gap = if tile_w.min(tile_h) >= 40 { 6 } else { 3 };
    let (cols, rows) = grid(n, tile_w + gap, tile_h + gap);
    let grid_w = cols * (tile_w + gap) - gap;
    let grid_h = rows * (tile_h + gap) - gap;
    let width = (grid_w + 20).max(min_width);
    TileLayout {
        cols,
        rows,
        zoom,
        tile_w,
        tile_h,
        gap,
        grid_x: (width - grid_w) / 2,
        grid_y: top,
        width,
        height: top + grid_h + bottom,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_leave_few_cells_empty_and_are_about_square() {
        for n in 1..=400 {
            let (cols, rows) = grid(n, 90, 90);
            assert!(cols * rows >= n && cols * (rows - 1) < n, "{n}: {cols}x{rows}");
            let aspect = cols as f64 / rows as f64;
            if n >= 10 {
                assert!((cols * rows - n) as f64 <= 0.2 * (cols * rows) as f64, "{n}: {cols}x{rows}");
                assert!((0.5..=2.6).contains(&aspect), "{n}: {cols}x{rows}");
            }
        }
        assert_eq!(grid(100, 90, 90), (10, 10));
        assert_eq!(grid(300, 90, 90), (20, 15));
        assert_eq!(grid(25, 90, 90), (5, 5));
        // Wide tiles take fewer columns than square ones.
        assert!(grid(24, 200, 50).0 < grid(24, 50, 50).0);
    }

    /// The share of the canvas that tiles cover, and of the grid's own rectangle.
    fn coverage(l: &TileLayout, n: usize) -> (f64, f64) {
        let tiles = (n * l.tile_w * l.tile_h) as f64;
        let (gw, gh) = l.grid_size();
        (tiles / (l.width * l.height) as f64, tiles / (gw * gh) as f64)
    }

    #[test]
    fn tiles_fill_the_canvas() {
        // 28x28 inputs (MNIST) and 20x20 ones (the shipped digits), 40 px of title above,
        // 60 of legend below, a legend 360 px wide.
        for shape in [[28, 28], [20, 20], [16, 16]] {
            for n in [10, 25, 100, 300] {
                let l = tile_layout(n, shape, 40, 60, 360);
                let (canvas, grid) = coverage(&l, n);
                assert!(grid >= 0.75, "{n} tiles of {shape:?}: {l:?} covers {grid:.2} of its grid");
                assert!(canvas >= 0.5, "{n} tiles of {shape:?}: {l:?} covers {canvas:.2} of the canvas");
                let (x, y) = l.tile_origin(n - 1);
                assert!(x + l.tile_w <= l.width && y + l.tile_h + 60 <= l.height, "{n}: {l:?}");
                // The grid is centred.
                let (gw, _) = l.grid_size();
                assert!(l.grid_x.abs_diff(l.width - gw - l.grid_x) <= 1, "{l:?}");
            }
        }
    }

    #[test]
    fn small_inputs_are_enlarged_and_many_units_kept_small() {
        assert_eq!(tile_layout(25, [20, 20], 40, 60, 360).zoom, 6);
        assert_eq!(tile_layout(100, [28, 28], 40, 60, 360).zoom, 3);
        assert_eq!(tile_layout(2000, [28, 28], 40, 60, 360).zoom, 1);
        assert_eq!(tile_layout(10, [300, 300], 40, 60, 360).zoom, 1);
    }
}
