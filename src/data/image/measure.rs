//! [`ImageStats::measure`]: three passes over the training images, each per image in parallel
//! and gathered in image order, so the figures are those of one pass in order whatever the
//! threads (`tests::the_parallel_measurement_gives_the_figures_of_one_image_after_another`
//! holds them to the first, one-image-after-another version bit for bit):
//! 1. each image's polarity (its mean against its border's) and the border pixels, whose
//!    median is the background;
//! 2. each image's pixel farthest on the ink side, whose median is the ink level;
//! 3. each image's ink (the fraction of the way from background to ink), its box and centre.
//!
//! Pictures of whole numbers 0..=255 (IDX and PNG pixels, as the data set's [`Scan`] tells)
//! take the shortcuts of `levels.rs`, which give the same bits: two passes instead of three
//! (each image's extremes found beside its sums), sums exact in any order, the border's
//! median read from a count of each level, each level's ink fraction divided out once, rows'
//! spans read from bit masks.

use super::levels::{Units, ink_of_masked, level, level_interval, pixel_masks, polarity_of_levels};
use super::{ImageStats, border, median, tidy};
use crate::data::Scan;
use rayon::prelude::*;
use std::cmp::Ordering;

impl ImageStats {
    /// Measures `n x n_features` raw training pixels (`features`), images of `shape`
    /// (`[height, width]`). `None` when they do not look like pictures: smaller than 3x3, no
    /// rows, or no prevailing polarity (as many images brighter than their border as darker).
    pub fn measure(features: &[f32], n_features: usize, shape: [usize; 2]) -> Option<ImageStats> {
        measure_scanned(features, n_features, shape, &Scan::of(features))
    }
}

/// [`ImageStats::measure`] of pixels whose [`Scan`] is known.
pub(crate) fn measure_scanned(
    features: &[f32],
    n_features: usize,
    shape: [usize; 2],
    scan: &Scan,
) -> Option<ImageStats> {
    let [h, w] = shape;
    if h < 3 || w < 3 || h * w != n_features || features.is_empty() {
        return None;
    }
    let images: Vec<&[f32]> = features.chunks_exact(n_features).collect();
    // Whole levels 0..=255 whose image sums stay below 2²⁴, where f32 counts exactly.
    let levels = scan.whole && scan.hi <= 255.0 && n_features * 255 < 1 << 24;
    let (background, bright, dark, ranges) = if levels {
        polarity_of_levels(&images, shape)?
    } else {
        let (background, bright, dark) = polarity(&images, shape)?;
        (background, bright, dark, Vec::new())
    };
    let fold = if bright > dark { f32::max } else { f32::min };
    let far =
        |i: usize| match ranges.get(i).map(|&[hi, lo]| fold(background, if bright > dark { hi } else { lo }))
        {
            // A level's extreme that is not ±0 is the one extreme (a zero's sign is left to `extreme`).
            Some(far) if far != 0.0 => far,
            _ => extreme(images[i], background, fold),
        };
    let ink = median(&(0..images.len()).into_par_iter().map(far).collect::<Vec<_>>())?;
    let range = ink as f64 - background as f64;
    if !(range.abs() > 0.0 && range.is_finite()) {
        return None;
    }
    let fraction =
        |v: f32| if v == background { 0.0 } else { ((v as f64 - background as f64) / range) as f32 };
    let mut table = [0.0f32; 256];
    if levels {
        table.iter_mut().enumerate().for_each(|(k, t)| *t = fraction(k as f32));
    }
    // Images of levels in rows of at most 64 whose weighing and inked levels are each one
    // interval are read through bit masks of those pixels (two comparisons a pixel, in
    // vector lanes), and their centres' sums made exactly in integers, when exact.
    let masked = (levels && shape[1] <= 64)
        .then(|| {
            let sets = [
                level_interval(|k| table[k] > 0.0)?,
                level_interval(|k| table[k] as f64 >= super::INK_THRESHOLD)?,
            ];
            Some((sets, Units::of(&table, n_features, shape)?))
        })
        .flatten();
    let boxes: Vec<Option<(f32, Option<[f64; 2]>)>> = images
        .par_iter()
        .map_init(Vec::new, |masks, img| match &masked {
            Some((sets, units)) => {
                pixel_masks(img, *sets, masks);
                ink_of_masked(img, shape, masks, units)
            }
            None if levels => ink_of(img, background, shape, |v| table[level(v)]),
            None => ink_of(img, background, shape, fraction),
        })
        .collect();
    let (sides, centres): (Vec<f32>, Vec<Option<[f64; 2]>>) = boxes.into_iter().flatten().unzip();
    let centres: Vec<[f64; 2]> = centres.into_iter().flatten().collect();
    let box_side = median(&sides)?;
    let n = centres.len().max(1) as f64;
    let mean_of = |k: usize| (centres.iter().map(|c| c[k]).sum::<f64>() / n * 1000.0).round() / 1000.0;
    Some(ImageStats {
        background: tidy(background),
        ink: tidy(ink),
        box_side: box_side as f64,
        centre: [mean_of(0), mean_of(1)],
    })
}

/// Pass 1: the background (the median of every border pixel) and the counts of images
/// brighter and darker than their border; `None` without a prevailing polarity.
fn polarity(images: &[&[f32]], shape: [usize; 2]) -> Option<(f32, usize, usize)> {
    let n_features = shape[0] * shape[1];
    let polarity: Vec<(Vec<f32>, Ordering)> = images
        .par_chunks(LOCKSTEP)
        .flat_map_iter(|group| {
            let sums = lockstep_sums(group, n_features);
            group.iter().zip(sums).map(move |(img, sum)| {
                let edge = border(img, shape);
                let edge_mean = edge.iter().map(|&v| v as f64).sum::<f64>() / edge.len() as f64;
                let mean = sum / n_features as f64;
                (edge, mean.partial_cmp(&edge_mean).unwrap_or(Ordering::Equal))
            })
        })
        .collect();
    let bright = polarity.iter().filter(|p| p.1.is_gt()).count();
    let dark = polarity.iter().filter(|p| p.1.is_lt()).count();
    if bright == dark {
        return None;
    }
    let border_px: Vec<f32> = polarity.into_iter().flat_map(|p| p.0).collect();
    Some((median(&border_px)?, bright, dark))
}

/// An image's ink, as the fraction of the way from `background` to the ink level that
/// `fraction` gives each pixel value: the longer side of the box holding the pixels at least
/// [`super::INK_THRESHOLD`] inked and the ink's centre of mass ([`super::centre_of_mass`]'s
/// figures of the fractions, summed in the same order); `None` without inked pixels. Each
/// row is read from both ends to its first positive pixels, and within that span to its first
/// inked ones, and summed over the span.
fn ink_of(
    img: &[f32],
    background: f32,
    [h, w]: [usize; 2],
    fraction: impl Fn(f32) -> f32,
) -> Option<(f32, Option<[f64; 2]>)> {
    let mut ink = Ink::default();
    let inked = |v: &f32| fraction(*v) as f64 >= super::INK_THRESHOLD;
    let weighs = |v: &f32| fraction(*v) > 0.0;
    for (y, row) in img.chunks_exact(w).enumerate().take(h) {
        // A row of background (a whole fold, no early exit: the compiler vectorises it) is no
        // ink: its fractions are ±0.
        if row.iter().fold(true, |all, &v| all & (v == background)) {
            continue;
        }
        // The span of positive weights; an inked pixel (a fraction of at least the
        // threshold) is one of them, so the inked span lies within it.
        let (Some(l), Some(r)) = (row.iter().position(weighs), row.iter().rposition(weighs)) else {
            continue;
        };
        let span = &row[l..=r];
        let inked = span.iter().position(inked).zip(span.iter().rposition(inked));
        ink.add_row(y, l, span, inked.map(|(li, ri)| (l + li, l + ri)), &fraction);
    }
    ink.finish()
}

/// An image's ink box and centre's sums, a row at a time.
#[derive(Default)]
pub(super) struct Ink {
    ink_box: Option<[usize; 4]>,
    pub(super) sums: [f64; 3],
}

impl Ink {
    /// Row `y`'s pixels of positive fraction from column `l` on (`span`), and its first and
    /// last inked columns if any.
    fn add_row(
        &mut self,
        y: usize,
        l: usize,
        span: &[f32],
        inked: Option<(usize, usize)>,
        fraction: impl Fn(f32) -> f32,
    ) {
        self.add_box(y, inked);
        // The centre's sums over the span, in order (the zeros within add +0.0 to sums of
        // non-negative values, which changes no bit).
        let [mut sum, mut sy, mut sx] = self.sums;
        for (x, &v) in (l..).zip(span) {
            let a = fraction(v).max(0.0) as f64;
            (sum, sy, sx) = (sum + a, sy + a * y as f64, sx + a * x as f64);
        }
        self.sums = [sum, sy, sx];
    }

    /// Row `y`'s first and last inked columns, if any, into the box.
    pub(super) fn add_box(&mut self, y: usize, inked: Option<(usize, usize)>) {
        if let Some((li, ri)) = inked {
            self.ink_box = Some(match self.ink_box {
                None => [y, li, y, ri],
                Some([t, l0, _, r0]) => [t, l0.min(li), y, r0.max(ri)],
            });
        }
    }

    /// The longer side of the box and the centre; `None` without inked pixels.
    pub(super) fn finish(self) -> Option<(f32, Option<[f64; 2]>)> {
        let [sum, sy, sx] = self.sums;
        let centre = (sum > 0.0).then(|| [sy / sum, sx / sum]);
        self.ink_box.map(|[t, l, b, r]| ((b - t + 1).max(r - l + 1) as f32, centre))
    }
}

/// Rows summed together by [`lockstep_sums`].
const LOCKSTEP: usize = 8;

/// The f64 sums of `rows` (each `len` long), each added up in its own order from its first
/// value, as `iter().sum()` does, but [`LOCKSTEP`] rows in step so that their additions
/// overlap: the same bits as one sum after another, several times faster.
fn lockstep_sums(rows: &[&[f32]], len: usize) -> Vec<f64> {
    rows.chunks(LOCKSTEP)
        .flat_map(|group| {
            // (`Sum for f64` starts from −0.0.)
            let mut acc = [-0.0f64; LOCKSTEP];
            for j in 0..len {
                for (a, row) in acc.iter_mut().zip(group) {
                    *a += row[j] as f64;
                }
            }
            acc.into_iter().take(group.len())
        })
        .collect()
}

/// `values` folded by `fold` (f32::max or f32::min) from `start`, in eight lanes: the same
/// extreme as one fold in order (max and min of finite values do not depend on the order;
/// neither is specified for +0.0 against −0.0).
fn extreme(values: &[f32], start: f32, fold: fn(f32, f32) -> f32) -> f32 {
    let mut lanes = [start; 8];
    let chunks = values.chunks_exact(8);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (l, &v) in lanes.iter_mut().zip(chunk) {
            *l = fold(*l, v);
        }
    }
    lanes.into_iter().chain(rest.iter().copied()).fold(start, fold)
}
