//! Colour scales and their legends: a diverging blue-white-red ramp for values symmetric
//! around 0 (weights), sequential ramps for shares (the confusion matrix's correct and wrong
//! cells), all interpolated between ColorBrewer's anchors, which step evenly in lightness.

use super::canvas::{BLACK, Canvas, GRAY, Rgb};
use super::ticks::{Axis, axis, label};

/// ColorBrewer RdBu (5 classes), reversed: negative blue, 0 near white, positive red.
const DIVERGING: [Rgb; 5] = [[33, 102, 172], [103, 169, 207], [247, 247, 247], [239, 138, 98], [178, 24, 43]];
/// ColorBrewer Blues (5 classes), light to dark.
pub const BLUES: [Rgb; 5] = [[239, 243, 255], [189, 215, 231], [107, 174, 214], [49, 130, 189], [8, 81, 156]];
/// ColorBrewer OrRd (5 classes), light to dark.
pub const REDS: [Rgb; 5] = [[254, 240, 217], [253, 204, 138], [252, 141, 89], [227, 74, 51], [179, 0, 0]];

/// The colour at `t` in [0, 1] along `anchors` (linear between neighbours).
pub fn ramp(anchors: &[Rgb], t: f64) -> Rgb {
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let pos = t * (anchors.len() - 1) as f64;
    let i = (pos.floor() as usize).min(anchors.len() - 2);
    let f = pos - i as f64;
    let (a, b) = (anchors[i], anchors[i + 1]);
    std::array::from_fn(|c| (a[c] as f64 + (b[c] as f64 - a[c] as f64) * f).round() as u8)
}

/// The colour of `v` on a scale symmetric around 0 that ends at ±`max` (values beyond it
/// take the end colours).
pub fn diverging(v: f64, max: f64) -> Rgb {
    let t = if max > 0.0 { 0.5 + 0.5 * v / max } else { 0.5 };
    ramp(&DIVERGING, t)
}

/// A symmetric scale's end: the 99th percentile of |v| (so a few outliers do not wash the
/// rest out) rounded up to a round value, with the axis of its legend (-end..end).
pub fn symmetric_scale(values: &[f32]) -> Axis {
    let mut mags: Vec<f32> = values.iter().filter(|v| v.is_finite()).map(|v| v.abs()).collect();
    let q = if mags.is_empty() {
        1.0
    } else {
        let k = ((mags.len() - 1) as f64 * 0.99).round() as usize;
        let (_, q, _) = mags.select_nth_unstable_by(k, f32::total_cmp);
        f64::from(*q)
    };
    let q = if q > 0.0 { q } else { 1.0 };
    let a = axis(-q, q, 4, (None, None), false);
    let end = a.lo.abs().max(a.hi);
    let ticks = a.ticks.iter().copied().filter(|t| t.abs() <= end).collect();
    Axis { lo: -end, hi: end, step: a.step, ticks }
}

/// A horizontal colour bar of `w` x `h` pixels at (x, y): each column the colour of its value
/// on `scale`, framed, its ticks labelled below and `caption` to its left.
pub fn legend_bar(
    c: &mut Canvas,
    (x, y, w, h): (i64, i64, i64, i64),
    scale: &Axis,
    colour: &dyn Fn(f64) -> Rgb,
    caption: &str,
) {
    let value = |px: i64| scale.lo + (scale.hi - scale.lo) * (px as f64 + 0.5) / w as f64;
    for px in 0..w {
        c.fill_rect(x + px, y, 1, h, colour(value(px)));
    }
    c.rect(x - 1, y - 1, w + 2, h + 2, 1, GRAY);
    for &t in &scale.ticks {
        let tx = x + ((t - scale.lo) / (scale.hi - scale.lo) * w as f64).round() as i64;
        c.line((tx, y + h), (tx, y + h + 3), 1, BLACK);
        c.text_centered(tx, y + h + 6, &label(t, scale.step), 1, BLACK);
    }
    c.text(x - 8 - Canvas::text_width(caption, 1), y + h / 2 - 4, caption, 1, BLACK);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramps_hit_their_anchors_and_stay_in_range() {
        assert_eq!(ramp(&BLUES, 0.0), BLUES[0]);
        assert_eq!(ramp(&BLUES, 1.0), BLUES[4]);
        assert_eq!(ramp(&BLUES, 0.5), BLUES[2]);
        assert_eq!(ramp(&BLUES, f64::NAN), BLUES[0]);
        assert_eq!(diverging(0.0, 1.0), DIVERGING[2]);
        assert_eq!(diverging(-5.0, 1.0), DIVERGING[0]);
        assert_eq!(diverging(5.0, 1.0), DIVERGING[4]);
    }

    #[test]
    fn the_symmetric_scale_ends_on_a_round_value_above_most_values() {
        let mut w: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) / 500.0 * 0.37).collect();
        w.push(40.0); // one outlier
        let s = symmetric_scale(&w);
        assert_eq!(s.hi, -s.lo);
        assert!(s.hi >= 0.36 && s.hi <= 0.5, "{s:?}");
        assert!(s.ticks.contains(&0.0) && s.ticks.len() >= 3, "{s:?}");
        let flat = symmetric_scale(&[0.0; 10]);
        assert!(flat.hi > 0.0, "{flat:?}");
    }
}
