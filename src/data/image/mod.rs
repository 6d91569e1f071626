//! Pictures as a model's input rows, made the way MNIST was made: the picture's background
//! found from its border, its ink scaled to the 0..1 range (whatever its polarity), cropped
//! to the ink's bounding box, resized with area averaging so that the longer side fills the
//! box the training images' ink filled (20 pixels in MNIST's 28), and placed so that the
//! ink's centre of mass is where the training images' was (the centre). The row's values are
//! then the training data's raw pixel values: its background level, and its ink level (bright
//! ink on dark or dark on bright, as the model was trained).
//!
//! What the model needs to know of its training images is an [`ImageStats`], measured on the
//! raw training pixels by [`ImageStats::measure`] and kept in the model's
//! [`Schema`](super::Schema). This module decodes no file format: the caller hands it a
//! [`GrayImage`] (the command line decodes PNG files).
//!
//! ```
//! use bp_par::data::image::{GrayImage, ImageStats};
//! // Training images: 8x8, bright ink (255) on black, a 4x4 blob in the middle.
//! let mut row = vec![0.0f32; 64];
//! for y in 2..6 { for x in 2..6 { row[y * 8 + x] = 255.0; } }
//! let stats = ImageStats::measure(&row, 64, [8, 8]).unwrap();
//! assert_eq!((stats.background, stats.ink, stats.box_side), (0.0, 255.0, 4.0));
//! // A picture of a dark square on white paper, off-centre: the model sees the blob.
//! let mut paper = GrayImage { width: 40, height: 30, pixels: vec![1.0; 1200] };
//! for y in 3..13 { for x in 25..35 { paper.pixels[y * 40 + x] = 0.0; } }
//! let seen = stats.to_input("paper.png".as_ref(), &paper, [8, 8]).unwrap();
//! assert_eq!(seen, row);
//! ```

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A pixel counts as ink from this fraction of the way from the background to full ink on
/// (in a picture, fainter pixels are noise and set to the background).
pub const INK_THRESHOLD: f64 = 0.2;

/// The least difference between a picture's background and its farthest pixel (in
/// luminance, 0..1) that counts as ink at all.
const MIN_CONTRAST: f64 = 0.05;

/// A grayscale picture: luminance in [0, 1] (0 black, 1 white), row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct GrayImage {
    /// Pixels per row.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// `height x width` luminances, row-major.
    pub pixels: Vec<f32>,
}

/// What a model knows of its training images, in their raw pixel values (before any
/// normalisation): enough to turn a picture into a row like theirs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageStats {
    /// The background's value: the median of the images' border pixels.
    pub background: f64,
    /// Full ink's value: the median over the images of each one's pixel farthest on the ink
    /// side. Above `background` for bright ink on dark (MNIST), below for dark on bright.
    pub ink: f64,
    /// The longer side of the ink's bounding box, in pixels (median over the images; ink is
    /// [`INK_THRESHOLD`] of the way from background to `ink`).
    #[serde(rename = "box")]
    pub box_side: f64,
    /// The ink's centre of mass, `[row, column]` in pixel indices (mean over the images).
    pub centre: [f64; 2],
}

/// The median of `v` (the lower middle value for an even count, in [`f32::total_cmp`]'s
/// order); `None` when empty. A radix select: two counting passes over the values' order
/// keys (their top and bottom 16 bits) find the very value a sort would put in the middle.
fn median(v: &[f32]) -> Option<f32> {
    let mid = v.len().checked_sub(1)? / 2;
    let key = |x: f32| {
        let b = x.to_bits() as i32;
        ((b ^ ((((b >> 31) as u32) >> 1) as i32)) as u32) ^ 0x8000_0000
    };
    // The bucket holding the value of rank `rank`, and the values below the bucket.
    let pick = |counts: &[usize], rank: usize| {
        let mut below = 0;
        for (i, &c) in counts.iter().enumerate() {
            if below + c > rank {
                return (i as u32, below);
            }
            below += c;
        }
        (counts.len() as u32 - 1, below)
    };
    let mut counts = vec![0usize; 1 << 16];
    v.iter().for_each(|&x| counts[(key(x) >> 16) as usize] += 1);
    let (high, below) = pick(&counts, mid);
    counts.fill(0);
    v.iter().map(|&x| key(x)).filter(|k| k >> 16 == high).for_each(|k| counts[(k & 0xffff) as usize] += 1);
    let (low, _) = pick(&counts, mid - below);
    // Back from the key to the value's bits (the transform is its own inverse).
    let t = (((high << 16) | low) ^ 0x8000_0000) as i32;
    Some(f32::from_bits((t ^ ((((t >> 31) as u32) >> 1) as i32)) as u32))
}

/// The pixels on the border of an `h x w` image, in row-major order.
fn border(pixels: &[f32], [h, w]: [usize; 2]) -> Vec<f32> {
    let mut out = Vec::with_capacity(2 * (h + w));
    for (y, row) in pixels.chunks_exact(w.max(1)).take(h).enumerate() {
        if y == 0 || y + 1 == h {
            out.extend_from_slice(row);
        } else {
            // A row between: its first and last pixels.
            out.extend([row[0], row[w - 1]]);
        }
    }
    out
}

/// An f32 as the f64 of its shortest decimal (`0.1f32` as `0.1`, not `0.10000000149011612`),
/// so the model's metadata reads as the data does.
fn tidy(v: f32) -> f64 {
    v.to_string().parse().unwrap_or(v as f64)
}

/// The bounding box `(top, left, bottom, right)` (inclusive) of the pixels where `inked`
/// holds, of an `h x w` image.
fn ink_box(inked: impl Fn(usize) -> bool, [h, w]: [usize; 2]) -> Option<[usize; 4]> {
    let mut b: Option<[usize; 4]> = None;
    for (y, x) in (0..h).flat_map(|y| (0..w).map(move |x| (y, x))).filter(|&(y, x)| inked(y * w + x)) {
        b = Some(match b {
            None => [y, x, y, x],
            Some([t, l, bo, r]) => [t.min(y), l.min(x), bo.max(y), r.max(x)],
        });
    }
    b
}

/// The centre of mass `[row, column]` (pixel indices) of the non-negative weights `a` of an
/// `h x w` image; `None` when they sum to zero.
pub fn centre_of_mass(a: &[f32], [h, w]: [usize; 2]) -> Option<[f64; 2]> {
    let (mut sum, mut sy, mut sx) = (0.0f64, 0.0f64, 0.0f64);
    for (y, row) in a.chunks_exact(w.max(1)).take(h).enumerate() {
        // (Adding +0.0 to these sums, which start at +0.0, changes no bit: rows and pixels of
        // no weight are skipped; the row test is a whole fold the compiler vectorises.)
        if row.iter().fold(true, |none, &v| none & (v.max(0.0) == 0.0)) {
            continue;
        }
        for (x, &v) in row.iter().enumerate() {
            let v = v.max(0.0) as f64;
            if v == 0.0 {
                continue;
            }
            sum += v;
            sy += v * y as f64;
            sx += v * x as f64;
        }
    }
    (sum > 0.0).then(|| [sy / sum, sx / sum])
}

impl ImageStats {
    /// Checks the values (as read from a model file) for images of `shape`; says what is wrong.
    pub fn check(&self, shape: [usize; 2]) -> std::result::Result<(), String> {
        let [h, w] = shape;
        let finite = [self.background, self.ink, self.box_side, self.centre[0], self.centre[1]]
            .iter()
            .all(|v| v.is_finite());
        if !finite || self.background == self.ink {
            return Err(format!(
                "needs finite, distinct background and ink levels (got {} and {})",
                self.background, self.ink
            ));
        }
        // The ink box's longer side: up to the picture's longer side (a box wider than a
        // narrow canvas is fitted to it when a picture is drawn in).
        if !(self.box_side >= 1.0 && self.box_side <= h.max(w) as f64) {
            return Err(format!("box {} does not fit images of {h}x{w}", self.box_side));
        }
        let [cy, cx] = self.centre;
        if !(0.0..=(h - 1) as f64).contains(&cy) || !(0.0..=(w - 1) as f64).contains(&cx) {
            return Err(format!("centre [{cy}, {cx}] lies outside images of {h}x{w}"));
        }
        Ok(())
    }

    /// Whether the training images' ink is brighter than their background (MNIST's polarity).
    pub fn bright_ink(&self) -> bool {
        self.ink > self.background
    }

    /// The input row (`shape` = `[height, width]`, raw values like the training data's) that
    /// `picture` makes: its ink found against the median of its border, cropped, resized so
    /// the longer side is `box_side`, centred by mass on `centre`, and drawn with the
    /// training data's background and ink levels. `path` names the picture in messages;
    /// a picture without ink is refused.
    pub fn to_input(&self, path: &Path, picture: &GrayImage, shape: [usize; 2]) -> Result<Vec<f32>> {
        let (pw, ph) = (picture.width, picture.height);
        if pw == 0 || ph == 0 || picture.pixels.len() != pw * ph {
            return Err(Error::data(path, format!("is an empty or malformed picture ({pw}x{ph})")));
        }
        let background = median(&border(&picture.pixels, [ph, pw])).unwrap_or(0.0);
        let far = picture
            .pixels
            .iter()
            .copied()
            .fold(background, |f, v| if (v - background).abs() > (f - background).abs() { v } else { f });
        let contrast = far as f64 - background as f64;
        if contrast.abs() < MIN_CONTRAST {
            return Err(Error::data(
                path,
                format!(
                    "has no ink: every pixel is within {:.1}% of the background's brightness ({:.1}%); \
                     expected a drawing (dark on light or light on dark)",
                    100.0 * contrast.abs(),
                    100.0 * background
                ),
            ));
        }
        let amount: Vec<f32> = picture
            .pixels
            .iter()
            .map(|&v| {
                let a = ((v as f64 - background as f64) / contrast).clamp(0.0, 1.0);
                if a < INK_THRESHOLD { 0.0 } else { a as f32 }
            })
            .collect();
        // The picture has a pixel at contrast 1 ≥ the threshold, so the box exists.
        let [t, l, b, r] = ink_box(|i| amount[i] > 0.0, [ph, pw]).unwrap_or([0, 0, ph - 1, pw - 1]);
        let (cw, ch) = (r - l + 1, b - t + 1);
        let crop: Vec<f32> = (t..=b).flat_map(|y| amount[y * pw + l..=y * pw + r].iter().copied()).collect();
        let placed = resample::place(&crop, [ch, cw], shape, self.box_side, self.centre);
        let range = self.ink - self.background;
        Ok(placed.iter().map(|&a| (self.background + a as f64 * range) as f32).collect())
    }
}

mod levels;
mod measure;
pub(crate) use measure::measure_scanned;
mod resample;

#[cfg(test)]
mod tests;
