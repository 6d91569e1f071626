//! A small RGB canvas for the pictures: pixels, rectangles, lines, 8x8 bitmap text from
//! `font8x8`, encoded as PNG by `png` (both CLI-only dependencies).

use bp_par::error::{Error, Result};
use std::path::Path;

pub type Rgb = [u8; 3];
pub const WHITE: Rgb = [255, 255, 255];
pub const BLACK: Rgb = [0, 0, 0];
pub const GRAY: Rgb = [150, 150, 150];
pub const LIGHT: Rgb = [225, 225, 225];
pub const RED: Rgb = [214, 39, 40];
pub const BLUE: Rgb = [31, 119, 180];
pub const ORANGE: Rgb = [255, 127, 14];

/// The largest picture drawn: 40 megapixels (120 MB of RGB).
pub const MAX_PIXELS: usize = 40_000_000;

/// An RGB image being drawn on. Coordinates outside it are clipped.
pub struct Canvas {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Canvas {
    /// A white canvas.
    pub fn new(width: usize, height: usize) -> Self {
        Canvas { width, height, pixels: vec![255; width * height * 3] }
    }

    /// A white canvas, or an error if it would exceed [`MAX_PIXELS`].
    pub fn checked(width: usize, height: usize) -> Result<Self> {
        match width.checked_mul(height) {
            Some(p) if p <= MAX_PIXELS => Ok(Canvas::new(width, height)),
            _ => Err(Error::other(format!(
                "the picture would be {width}x{height} pixels, more than the {MAX_PIXELS} bp-par draws"
            ))),
        }
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn set(&mut self, x: i64, y: i64, c: Rgb) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            let i = (y as usize * self.width + x as usize) * 3;
            self.pixels[i..i + 3].copy_from_slice(&c);
        }
    }

    pub fn get(&self, x: usize, y: usize) -> Rgb {
        let i = (y * self.width + x) * 3;
        [self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]]
    }

    pub fn fill_rect(&mut self, x: i64, y: i64, w: i64, h: i64, c: Rgb) {
        for yy in y..y + h {
            for xx in x..x + w {
                self.set(xx, yy, c);
            }
        }
    }

    /// A rectangle outline `t` pixels thick.
    pub fn rect(&mut self, x: i64, y: i64, w: i64, h: i64, t: i64, c: Rgb) {
        self.fill_rect(x, y, w, t, c);
        self.fill_rect(x, y + h - t, w, t, c);
        self.fill_rect(x, y, t, h, c);
        self.fill_rect(x + w - t, y, t, h, c);
    }

    /// A line `t` pixels thick (Bresenham with a square pen).
    pub fn line(&mut self, (x0, y0): (i64, i64), (x1, y1): (i64, i64), t: i64, c: Rgb) {
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let (mut x, mut y, mut err) = (x0, y0, dx + dy);
        loop {
            self.fill_rect(x - t / 2, y - t / 2, t, t, c);
            if x == x1 && y == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    /// Width in pixels of `s` at `scale`.
    pub fn text_width(s: &str, scale: usize) -> i64 {
        (s.chars().count() * 8 * scale) as i64
    }

    /// ASCII text with its top-left corner at (x, y), each glyph 8x8 pixels times `scale`.
    pub fn text(&mut self, x: i64, y: i64, s: &str, scale: usize, c: Rgb) {
        let sc = scale as i64;
        for (i, ch) in s.chars().enumerate() {
            let code = if ch.is_ascii() { ch as usize } else { b'?' as usize };
            let glyph = font8x8::legacy::BASIC_LEGACY[code];
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..8 {
                    if bits >> col & 1 == 1 {
                        let px = x + (i as i64 * 8 + col) * sc;
                        self.fill_rect(px, y + row as i64 * sc, sc, sc, c);
                    }
                }
            }
        }
    }

    /// Text centred on x.
    pub fn text_centered(&mut self, cx: i64, y: i64, s: &str, scale: usize, c: Rgb) {
        self.text(cx - Self::text_width(s, scale) / 2, y, s, scale, c);
    }

    /// A title centred on x: at `scale` when it fits in `width` pixels, else smaller,
    /// else cut with an ellipsis.
    pub fn title(&mut self, cx: i64, y: i64, s: &str, scale: usize, width: i64) {
        let mut scale = scale;
        while scale > 1 && Self::text_width(s, scale) > width {
            scale -= 1;
        }
        let max_chars = (width / (8 * scale as i64)).max(4) as usize;
        let text: String = if s.chars().count() > max_chars {
            s.chars().take(max_chars - 3).chain("...".chars()).collect()
        } else {
            s.to_string()
        };
        self.text_centered(cx, y, &text, scale, BLACK);
    }

    /// Text drawn bottom-to-top (for a vertical axis label), its centre at (x, cy).
    pub fn text_vertical(&mut self, x: i64, cy: i64, s: &str, scale: usize, c: Rgb) {
        let mut tmp = Canvas::new(Self::text_width(s, scale) as usize, 8 * scale);
        tmp.text(0, 0, s, scale, c);
        let h = tmp.width as i64;
        for ty in 0..tmp.height {
            for tx in 0..tmp.width {
                let p = tmp.get(tx, ty);
                if p != WHITE {
                    self.set(x + ty as i64, cy + h / 2 - tx as i64, p);
                }
            }
        }
    }

    /// PNG bytes (8-bit RGB).
    pub fn to_png(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, self.width as u32, self.height as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(|e| Error::other(format!("cannot encode PNG: {e}")))?;
        w.write_image_data(&self.pixels).map_err(|e| Error::other(format!("cannot encode PNG: {e}")))?;
        w.finish().map_err(|e| Error::other(format!("cannot encode PNG: {e}")))?;
        Ok(out)
    }

    /// Writes the PNG atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        bp_par::write_atomic(path, &self.to_png()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_shapes_land_where_asked() {
        let mut c = Canvas::new(40, 20);
        c.fill_rect(0, 0, 2, 2, RED);
        assert_eq!(c.get(1, 1), RED);
        assert_eq!(c.get(2, 2), WHITE);
        c.text(10, 4, "1", 1, BLACK);
        let inked = (0..8)
            .flat_map(|y| (10..18).map(move |x| (x, y + 4)))
            .filter(|&(x, y)| c.get(x, y) == BLACK)
            .count();
        assert!(inked > 5, "the glyph '1' drew {inked} pixels");
        c.line((0, 19), (39, 0), 1, BLUE);
        assert_eq!(c.get(0, 19), BLUE);
        // Off-canvas drawing is clipped, not a panic.
        c.fill_rect(-5, -5, 100, 100, [44, 160, 44]);
        let png = c.to_png().unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }
}
