//! Feature normalisation, fitted on the training set only and stored with the model so that
//! `eval` and `predict` apply exactly the same transform.
//!
//! ```
//! use bp_par::data::{Normalization, NormalizeMode};
//! let mut x = vec![0.0f32, 255.0, 51.0, 0.0];
//! let norm = Normalization::fit(NormalizeMode::Auto, &x, 2);
//! assert_eq!(norm, Normalization::Scale(255.0));
//! norm.apply(&mut x, 2).unwrap();
//! assert_eq!(x, [0.0, 1.0, 0.2, 0.0]);
//! ```

use super::Scan;
use std::str::FromStr;

/// Which normalisation to fit ([`Normalization::fit`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NormalizeMode {
    /// Pictures ([`Normalization::fit_to`]: IDX images, 3-D arrays, an image shape given, or
    /// square grids of at least 64 features whose values lie in [0, 255] or within [−1, 1]) are scaled by their range, never z-scored (a pixel that is nearly always
    /// background would get huge z-scores): 8-bit pixels (whole numbers reaching above 128) are
    /// divided by 255, other non-negative pictures by their largest value (faint pixels up to
    /// 115 by 115, optdigits' counts by 16), pictures with negative values (USPS stores
    /// [−1, 1]) mapped from their range onto [0, 1]. Other data: 8-bit values are divided by
    /// 255 and small counts (whole numbers in 0..=16 reaching above 1) by 16; data within
    /// [−1, 1] reaching at least 0.5 in magnitude is left as is; anything else (pen coordinates
    /// 0..100, measurements, tiny values) gets per-feature z-scores.
    #[default]
    Auto,
    /// Leave the features as they are.
    None,
    /// Divide by the training set's largest absolute value.
    Scale,
    /// Per feature: subtract the mean, divide by the standard deviation.
    Zscore,
}

impl FromStr for NormalizeMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(NormalizeMode::Auto),
            "none" => Ok(NormalizeMode::None),
            "scale" => Ok(NormalizeMode::Scale),
            "zscore" => Ok(NormalizeMode::Zscore),
            _ => Err(format!("unknown normalisation {s:?} (expected auto, none, scale or zscore)")),
        }
    }
}

/// A fitted transform.
#[derive(Clone, Debug, PartialEq)]
pub enum Normalization {
    /// The identity.
    None,
    /// x ← x / divisor.
    Scale(f32),
    /// x_j ← (x_j − mean_j) / std_j.
    ZScore {
        /// Per feature mean of the training set.
        mean: Vec<f32>,
        /// Per feature standard deviation (1 where a feature is constant).
        std: Vec<f32>,
    },
}

impl Normalization {
    /// Fits the transform to `features` (`n x d`, row-major; values past the last whole row
    /// are ignored). No features (`d` 0) fit the identity.
    pub fn fit(mode: NormalizeMode, features: &[f32], d: usize) -> Self {
        if d == 0 {
            return Normalization::None;
        }
        let features = &features[..features.len() / d * d];
        let scan = match mode {
            NormalizeMode::Auto | NormalizeMode::Scale => Scan::of(features),
            _ => Scan::of(&[]),
        };
        Normalization::fit_scanned(mode, features, d, &scan)
    }

    /// [`Normalization::fit`] of whole rows whose [`Scan`] is known (`d` > 0).
    fn fit_scanned(mode: NormalizeMode, features: &[f32], d: usize, scan: &Scan) -> Self {
        match mode {
            NormalizeMode::None => Normalization::None,
            NormalizeMode::Auto => {
                // Whole numbers in 0..=255 (a NaN is not whole).
                let pixel_like = scan.whole && scan.lo >= 0.0 && scan.hi <= 255.0;
                // The largest value, at least 0, and the largest magnitude.
                let (max, largest) = (scan.hi.max(0.0), scan.max_abs());
                match (pixel_like, max) {
                    (true, m) if m > 128.0 => Normalization::Scale(255.0),
                    (true, m) if m > 1.0 && m <= 16.0 => Normalization::Scale(16.0),
                    _ if (0.5..=1.0).contains(&largest) => Normalization::None,
                    _ => Normalization::fit(NormalizeMode::Zscore, features, d),
                }
            }
            NormalizeMode::Scale => {
                let max = scan.max_abs();
                if max > 0.0 { Normalization::Scale(max) } else { Normalization::None }
            }
            NormalizeMode::Zscore => {
                let n = (features.len() / d.max(1)).max(1) as f64;
                let mut mean = vec![0.0f64; d];
                for row in features.chunks_exact(d) {
                    mean.iter_mut().zip(row).for_each(|(m, &v)| *m += v as f64);
                }
                mean.iter_mut().for_each(|m| *m /= n);
                let mut var = vec![0.0f64; d];
                for row in features.chunks_exact(d) {
                    var.iter_mut().zip(row).zip(&mean).for_each(|((s, &v), m)| *s += (v as f64 - m).powi(2));
                }
                let std = var
                    .iter()
                    .map(|s| {
                        let sd = (s / n).sqrt();
                        // Constant features are centred and left unscaled.
                        if sd > 1e-6 { sd as f32 } else { 1.0 }
                    })
                    .collect();
                Normalization::ZScore { mean: mean.iter().map(|&m| m as f32).collect(), std }
            }
        }
    }

    /// Fits the transform to a data set's features: as [`Normalization::fit`], but under
    /// [`NormalizeMode::Auto`] a picture is scaled by its range, never z-scored (see there).
    pub fn fit_to(mode: NormalizeMode, data: &super::Dataset) -> Self {
        let (features, d) = (&data.features[..], data.n_features);
        if d == 0 || matches!(mode, NormalizeMode::None | NormalizeMode::Zscore) {
            return Normalization::fit(mode, features, d);
        }
        // The range (one pass, shared with the data's other checks); whether the grid is a
        // picture follows from it.
        let scan = data.features.scan();
        let (lo, hi) = (scan.lo, scan.hi);
        if mode != NormalizeMode::Auto || data.image_shape.is_none() || !is_picture(data.shape_given, lo, hi)
        {
            return Normalization::fit_scanned(mode, features, d, scan);
        }
        match (lo, hi) {
            _ if !(lo.is_finite() && hi.is_finite()) || hi <= lo => Normalization::None,
            (lo, hi) if lo >= 0.0 && hi > 128.0 && hi <= 255.0 && scan.whole => Normalization::Scale(255.0),
            (lo, hi) if lo >= 0.0 => Normalization::Scale(hi),
            // Onto [0, 1]: (x − lo) / (hi − lo), the same for every pixel.
            (lo, hi) => Normalization::ZScore { mean: vec![lo; d], std: vec![hi - lo; d] },
        }
    }

    /// The number of features the transform was fitted on, where it depends on it (z-scores).
    pub fn width(&self) -> Option<usize> {
        match self {
            Normalization::ZScore { mean, .. } => Some(mean.len()),
            _ => None,
        }
    }

    /// Says what is wrong when `len` values are not whole rows of `d` features that this
    /// transform fits.
    pub(crate) fn check_width(&self, d: usize, len: usize) -> std::result::Result<(), String> {
        if d == 0 && len > 0 || d > 0 && !len.is_multiple_of(d) {
            return Err(format!("{len} values are not whole rows of {d} features"));
        }
        match self.width() {
            Some(w) if w != d => {
                Err(format!("has {d} features per row, but the normalisation was fitted on {w} features"))
            }
            _ => Ok(()),
        }
    }

    /// Applies the transform in place to `features` (`n x d`).
    ///
    /// # Errors
    /// [`crate::Error::Config`] when `features` are not whole rows of `d`, or the transform
    /// was fitted on another number of features.
    pub fn apply(&self, features: &mut [f32], d: usize) -> crate::Result<()> {
        use rayon::prelude::*;
        self.check_width(d, features.len()).map_err(|m| crate::Error::config(format!("the data {m}")))?;
        if *self != Normalization::None {
            features.par_chunks_mut(Scan::row_block(d)).for_each(|rows| self.transform(rows, d));
        }
        Ok(())
    }

    /// [`Normalization::apply`], returning the [`Scan`] of the normalised values, taken in the
    /// same pass (None for [`Normalization::None`], which changes nothing).
    pub(crate) fn apply_scanned(&self, features: &mut [f32], d: usize) -> crate::Result<Option<Scan>> {
        self.check_width(d, features.len()).map_err(|m| crate::Error::config(format!("the data {m}")))?;
        Ok((*self != Normalization::None).then(|| Scan::after(features, d, |rows| self.transform(rows, d))))
    }

    /// The transform of whole rows of `d` values.
    fn transform(&self, rows: &mut [f32], d: usize) {
        match self {
            Normalization::None => {}
            Normalization::Scale(s) => rows.iter_mut().for_each(|v| *v /= s),
            // In f64: with values near f32's limit, v − m can overflow f32 while the quotient,
            // a handful of standard deviations, cannot.
            Normalization::ZScore { mean, std } => {
                for row in rows.chunks_exact_mut(d) {
                    for ((v, &m), &s) in row.iter_mut().zip(mean).zip(std) {
                        *v = ((*v as f64 - m as f64) / s as f64) as f32;
                    }
                }
            }
        }
    }

    /// Undoes the transform in place (for pictures of the original inputs).
    ///
    /// # Errors
    /// As [`Normalization::apply`].
    pub fn invert(&self, features: &mut [f32], d: usize) -> crate::Result<()> {
        self.check_width(d, features.len()).map_err(|m| crate::Error::config(format!("the data {m}")))?;
        match self {
            Normalization::None => {}
            Normalization::Scale(s) => features.iter_mut().for_each(|v| *v *= s),
            Normalization::ZScore { mean, std } => {
                for row in features.chunks_mut(d) {
                    for ((v, m), s) in row.iter_mut().zip(mean).zip(std) {
                        *v = *v * s + m;
                    }
                }
            }
        }
        Ok(())
    }

    /// A short description for logs: `none`, `scale /255`, `zscore`.
    pub fn describe(&self) -> String {
        match self {
            Normalization::None => "none".into(),
            Normalization::Scale(s) => format!("scale /{s}"),
            Normalization::ZScore { mean, std } if is_range(mean, std) => {
                format!("range {}..{} onto 0..1", mean[0], mean[0] + std[0])
            }
            Normalization::ZScore { .. } => "zscore".into(),
        }
    }
}

/// Whether z-score statistics are one range map for every feature (a picture's).
fn is_range(mean: &[f32], std: &[f32]) -> bool {
    mean.len() > 1 && mean.iter().all(|&m| m == mean[0]) && std.iter().all(|&s| s == std[0]) && std[0] != 1.0
}

/// Whether data with an image shape and values in [`lo`, `hi`] are pictures for `normalize`
/// auto: their shape came from the format or was given, or (a square grid guessed from the
/// feature count) their values lie in [0, 255] (pixels, whole or not, counts; wider values are
/// more likely a table's columns of their own scales) or within [−1, 1] (USPS).
fn is_picture(shape_given: bool, lo: f32, hi: f32) -> bool {
    shape_given || (lo >= 0.0 && hi <= 255.0) || (lo >= -1.0 && hi <= 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values near f32's limit: the centred values would overflow f32, the z-scores do not.
    #[test]
    fn zscore_of_extreme_values_stays_finite() {
        let mut x: Vec<f32> = (0..100).map(|i| if i % 10 < 7 { 3.4e38 } else { -3.4e38 }).collect();
        let norm = Normalization::fit(NormalizeMode::Zscore, &x, 1);
        norm.apply(&mut x, 1).unwrap();
        assert!(x.iter().all(|v| v.is_finite() && v.abs() < 3.0), "{:?}", &x[..10]);
    }

    #[test]
    fn zscore_uses_training_statistics() {
        let x = vec![1.0f32, 5.0, 3.0, 5.0];
        let norm = Normalization::fit(NormalizeMode::Zscore, &x, 2);
        assert_eq!(norm, Normalization::ZScore { mean: vec![2.0, 5.0], std: vec![1.0, 1.0] });
        let mut test = vec![4.0f32, 6.0];
        norm.apply(&mut test, 2).unwrap();
        assert_eq!(test, [2.0, 1.0]);
    }

    #[test]
    fn auto_recognises_pixels_and_small_counts() {
        assert_eq!(Normalization::fit(NormalizeMode::Auto, &[0.0, 16.0, 3.0], 1), Normalization::Scale(16.0));
        assert_eq!(Normalization::fit(NormalizeMode::Auto, &[0.0, 0.5], 1), Normalization::None);
        assert_eq!(Normalization::fit(NormalizeMode::Auto, &[-1.0, 0.5], 1), Normalization::None);
        assert_eq!(
            Normalization::fit(NormalizeMode::Auto, &[0.0, 255.0, 7.0], 1),
            Normalization::Scale(255.0)
        );
        assert_eq!(Normalization::fit(NormalizeMode::Auto, &[0.0, 200.0], 1), Normalization::Scale(255.0));
        // Not pixels: pen coordinates 0..100, values past 255, fractions past 1: z-scores.
        for x in [&[0.0f32, 100.0, 37.0, 64.0][..], &[0.0, 300.0], &[0.25, 3.0]] {
            let want = Normalization::fit(NormalizeMode::Zscore, x, 1);
            assert!(matches!(want, Normalization::ZScore { .. }));
            assert_eq!(Normalization::fit(NormalizeMode::Auto, x, 1), want, "{x:?}");
        }
        assert_eq!(Normalization::fit(NormalizeMode::Scale, &[-4.0, 2.0], 1), Normalization::Scale(4.0));
    }

    /// Pictures are scaled by their range under auto: faint whole-number pixels by their
    /// largest value, [−1, 1] pixels onto [0, 1], never z-scored; a square grid of other values
    /// is no picture unless its shape was given.
    #[test]
    fn auto_scales_pictures_by_their_range() {
        use crate::data::Dataset;
        let faint: Vec<f32> = (0..64 * 4).map(|i| (i % 116) as f32).collect();
        let d = Dataset::from_rows(&faint, 64).unwrap();
        assert!(d.image_shape().is_some());
        assert_eq!(Normalization::fit_to(NormalizeMode::Auto, &d), Normalization::Scale(115.0));
        let signed: Vec<f32> = (0..64 * 4).map(|i| (i % 5) as f32 / 2.0 - 1.0).collect();
        let norm = Normalization::fit_to(NormalizeMode::Auto, &Dataset::from_rows(&signed, 64).unwrap());
        assert_eq!(norm, Normalization::ZScore { mean: vec![-1.0; 64], std: vec![2.0; 64] });
        assert_eq!(norm.describe(), "range -1..1 onto 0..1");
        let wide: Vec<f32> = (0..64 * 4).map(|i| (i % 7) as f32 * 3.5 - 4.0).collect();
        let d = Dataset::from_rows(&wide, 64).unwrap();
        assert!(matches!(Normalization::fit_to(NormalizeMode::Auto, &d), Normalization::ZScore { .. }));
        assert_ne!(Normalization::fit_to(NormalizeMode::Auto, &d).describe(), "range -4..17 onto 0..1");
        let given = d.with_image_shape([8, 8]).unwrap();
        assert_eq!(Normalization::fit_to(NormalizeMode::Auto, &given).describe(), "range -4..17 onto 0..1");
        // Whole numbers past 255 on a square grid: a table's counts, each of its own scale.
        let counts: Vec<f32> = (0..64 * 4).map(|i| ((i * 37) % 1000) as f32).collect();
        let d = Dataset::from_rows(&counts, 64).unwrap();
        assert!(matches!(Normalization::fit_to(NormalizeMode::Auto, &d), Normalization::ZScore { .. }));
        // Other modes are as asked.
        assert_eq!(Normalization::fit_to(NormalizeMode::Scale, &given), Normalization::Scale(17.0));
    }
}
