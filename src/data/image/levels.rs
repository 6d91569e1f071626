//! Shortcuts of [`super::measure`] for pictures of whole levels 0..=255 (IDX and PNG pixels,
//! as the data set's [`crate::data::Scan`] tells), which give its bits: their sums are exact
//! in f32 in any order, the border's median is read from a count of each level, each level's
//! ink fraction is divided out once, and each row's spans are read from bit masks of its
//! pixels made in vector lanes, its centre's sums in whole units.

use super::measure::Ink;
use rayon::prelude::*;
use std::cmp::Ordering;

/// [`super::measure`]'s polarity of whole levels 0..=255 (−0.0 among them): the sums in f32 lanes (exact, so
/// equal to the in-order f64 sums), and the border's median from a count per level, in
/// [`f32::total_cmp`]'s order (−0.0 before +0.0); with each image's largest and least pixel
/// (either zero's sign unspecified).
pub(super) fn polarity_of_levels(
    images: &[&[f32]],
    shape: [usize; 2],
) -> Option<(f32, usize, usize, Vec<[f32; 2]>)> {
    let [h, w] = shape;
    let n_features = h * w;
    // Bucket 0: −0.0; bucket k + 1: level k.
    let bucket = |v: f32| if v.to_bits() == 0x8000_0000 { 0 } else { v as usize + 1 };
    let groups: Vec<LevelCounts> = images
        .par_chunks(256)
        .map(|group| {
            let (mut counts, mut bright, mut dark) = (vec![0u64; 257], 0, 0);
            let mut ranges = Vec::with_capacity(group.len());
            for img in group {
                let mut edge_sum = 0.0f32;
                for (y, row) in img.chunks_exact(w).enumerate() {
                    let edge: &[f32] = if y == 0 || y + 1 == h { row } else { &[row[0], row[w - 1]] };
                    for &v in edge {
                        counts[bucket(v)] += 1;
                        edge_sum += v;
                    }
                }
                let edge_mean = edge_sum as f64 / (2 * (h + w) - 4) as f64;
                let (sum, range) = sum_and_range(img);
                match (sum as f64 / n_features as f64).partial_cmp(&edge_mean) {
                    Some(Ordering::Greater) => bright += 1,
                    Some(Ordering::Less) => dark += 1,
                    _ => {}
                }
                ranges.push(range);
            }
            (counts, bright, dark, ranges)
        })
        .collect();
    let mut counts = vec![0u64; 257];
    let (mut bright, mut dark, mut ranges) = (0, 0, Vec::with_capacity(images.len()));
    for (c, b, d, r) in groups {
        counts.iter_mut().zip(&c).for_each(|(a, c)| *a += c);
        (bright, dark) = (bright + b, dark + d);
        ranges.extend(r);
    }
    if bright == dark {
        return None;
    }
    // The value of rank (count − 1) / 2, as `median` picks it.
    let mid = counts.iter().sum::<u64>().checked_sub(1)? / 2;
    let mut below = 0;
    let at = counts.iter().position(|&c| {
        below += c;
        below > mid
    })?;
    let background = if at == 0 { -0.0 } else { (at - 1) as f32 };
    Some((background, bright, dark, ranges))
}

/// A group of images' border pixels counted by level, its bright and dark images, and each
/// image's largest and least pixel.
type LevelCounts = (Vec<u64>, usize, usize, Vec<[f32; 2]>);

/// The sum of whole numbers whose total stays below 2²⁴, in 16 f32 lanes (exact, so the
/// same in any order), and their largest and least values.
fn sum_and_range(values: &[f32]) -> (f32, [f32; 2]) {
    let (mut sums, mut his, mut los) = ([0.0f32; 16], [f32::NEG_INFINITY; 16], [f32::INFINITY; 16]);
    let chunks = values.chunks_exact(16);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (l, &v) in chunk.iter().enumerate() {
            sums[l] += v;
            his[l] = if v > his[l] { v } else { his[l] };
            los[l] = if v < los[l] { v } else { los[l] };
        }
    }
    let sum = sums.iter().sum::<f32>() + rest.iter().sum::<f32>();
    let hi = his.into_iter().chain(rest.iter().copied()).fold(f32::NEG_INFINITY, f32::max);
    let lo = los.into_iter().chain(rest.iter().copied()).fold(f32::INFINITY, f32::min);
    (sum, [hi, lo])
}

/// A pixel's level (of whole values 0..=255): the low byte of v + 2²³ (no saturating cast).
/// −0.0 is level 0, whose fraction is that of +0.0: they differ in `v − background` only when
/// the background is ±0, where both are 0.
pub(super) fn level(v: f32) -> usize {
    ((v + 8_388_608.0).to_bits() & 0xff) as usize
}

/// The levels 0..=255 that are `member`s as one interval `[first, last]` of f32 values (a
/// pixel of level k is in it exactly when k is a member; −0.0 with 0), `[1, 0]` when there are
/// none; `None` when they are not one interval.
pub(super) fn level_interval(member: impl Fn(usize) -> bool) -> Option<[f32; 2]> {
    let Some(first) = (0..256).find(|&k| member(k)) else { return Some([1.0, 0.0]) };
    let last = (first..256).take_while(|&k| member(k)).last()?;
    (last + 1..256).all(|k| !member(k)).then_some([first as f32, last as f32])
}

/// The levels' fractions (their positive parts, which the centre weighs) as whole multiples
/// of one power of two, `unit`: sums of these, in any order, are the sums of the fractions in
/// f64 in order when they stay below 2⁵³ units (every partial sum is then exact).
pub(super) struct Units {
    of_level: [u64; 256],
    unit: f64,
}

impl Units {
    /// `table`'s units, `None` when an image's sums could pass 2⁵³ units or a fraction is
    /// not a whole number of them (neither happens to levels 0..=255 of a few thousand pixels).
    pub(super) fn of(table: &[f32; 256], n_features: usize, [h, w]: [usize; 2]) -> Option<Units> {
        let least = table.iter().copied().filter(|&t| t > 0.0).fold(f32::INFINITY, f32::min);
        if !least.is_normal() {
            return None;
        }
        // The least fraction's last bit: every fraction at least as large is a whole number of it.
        let unit = f32::from_bits(least.to_bits() & 0x7f80_0000) as f64 / (1u64 << 23) as f64;
        let mut of_level = [0u64; 256];
        for (u, &t) in of_level.iter_mut().zip(table) {
            let units = t.max(0.0) as f64 / unit;
            if !(units.fract() == 0.0 && units < (1u64 << 53) as f64) {
                return None;
            }
            *u = units as u64;
        }
        // An image's sums: at most n_features pixels of the most units, times a row or column.
        let most = *of_level.iter().max()? as u128;
        (most * (n_features * h.max(w)) as u128 <= 1 << 53).then_some(Units { of_level, unit })
    }
}

crate::simd::multiversion! {
    /// An image's masks of its pixels in `sets[0]` and in `sets[1]` (intervals of values), 64
    /// pixels a word, bit j of word i for pixel 64i + j, into `words`.
    pub(super) fn pixel_masks(img: &[f32], sets: [[f32; 2]; 2], words: &mut Vec<[u64; 2]>) {
        words.clear();
        let chunks = img.chunks_exact(64);
        let rest = chunks.remainder();
        // (Loops and an always-inlined function, no iterator adaptors or closures, so that all
        // of it is compiled for each instruction set.)
        for c in chunks {
            words.push(mask_word(c.try_into().expect("64 pixels"), sets));
        }
        if !rest.is_empty() {
            // (NaN is in no interval.)
            let mut last = [f32::NAN; 64];
            last[..rest.len()].copy_from_slice(rest);
            words.push(mask_word(&last, sets));
        }
    }
}

/// [`pixel_masks`]' word of 64 pixels.
#[inline(always)]
fn mask_word(c: &[f32; 64], sets: [[f32; 2]; 2]) -> [u64; 2] {
    let (mut weigh, mut ink) = (0u64, 0u64);
    for (j, &v) in c.iter().enumerate() {
        weigh |= u64::from((v >= sets[0][0]) & (v <= sets[0][1])) << j;
        ink |= u64::from((v >= sets[1][0]) & (v <= sets[1][1])) << j;
    }
    [weigh, ink]
}

/// The `w` (≤ 64) bits of `words` from bit `start` on.
fn bits_at(words: &[[u64; 2]], start: usize, w: usize, k: usize) -> u64 {
    let (i, off) = (start / 64, start % 64);
    let mut bits = words[i][k] >> off;
    if off > 0 && i + 1 < words.len() {
        bits |= words[i + 1][k] << (64 - off);
    }
    if w < 64 { bits & ((1 << w) - 1) } else { bits }
}

/// The ink of an image of levels (as `measure`'s `ink_of` finds it) whose masks of the pixels of positive fraction and of the
/// inked ones are `masks` ([`pixel_masks`]): each row's first and last bits are its spans;
/// the centre's sums are made in [`Units`].
pub(super) fn ink_of_masked(
    img: &[f32],
    [h, w]: [usize; 2],
    masks: &[[u64; 2]],
    units: &Units,
) -> Option<(f32, Option<[f64; 2]>)> {
    let mut ink = Ink::default();
    let ends = |m: u64| (m.trailing_zeros() as usize, 63 - m.leading_zeros() as usize);
    let [mut sum, mut sy, mut sx] = [0u64; 3];
    for (y, row) in img.chunks_exact(w).enumerate().take(h) {
        let weigh = bits_at(masks, y * w, w, 0);
        if weigh == 0 {
            continue;
        }
        let inked = bits_at(masks, y * w, w, 1);
        ink.add_box(y, (inked != 0).then(|| ends(inked)));
        let (l, r) = ends(weigh);
        let (mut row_sum, mut row_sx) = (0u64, 0u64);
        for (x, &v) in (l..).zip(&row[l..=r]) {
            let a = units.of_level[level(v)];
            (row_sum, row_sx) = (row_sum + a, row_sx + a * x as u64);
        }
        (sum, sy, sx) = (sum + row_sum, sy + row_sum * y as u64, sx + row_sx);
    }
    // Whole numbers below 2⁵³ times a power of two: exact.
    ink.sums = [sum, sy, sx].map(|s| s as f64 * units.unit);
    ink.finish()
}
