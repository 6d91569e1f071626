//! Missing features filled with means taken over the right rows: each feature column's mean
//! over the rows that have it ([`feature_means`], used by the CSV reader under `missing`
//! mean), and the validation split that takes the means over its training rows only
//! ([`Dataset::split_filling_means`]), as the normalisation statistics are, so that the
//! held-out rows do not leak into what the model is trained with.

use super::{Dataset, HeldOut};
use crate::error::{Error, Result};

/// Each feature column's mean over the rows that have it (NaN is missing), summed in f64 in
/// row order; `Err(j)` names the first column (0-based, among the features) with no value.
pub(crate) fn feature_means(features: &[f32], n_feat: usize) -> std::result::Result<Vec<f32>, usize> {
    let mut sums = vec![(0.0f64, 0usize); n_feat];
    for row in features.chunks_exact(n_feat.max(1)) {
        for (s, &x) in sums.iter_mut().zip(row) {
            if !x.is_nan() {
                *s = (s.0 + x as f64, s.1 + 1);
            }
        }
    }
    match sums.iter().position(|s| s.1 == 0) {
        Some(j) => Err(j),
        None => Ok(sums.iter().map(|&(s, c)| (s / c as f64) as f32).collect()),
    }
}

impl Dataset {
    /// Replaces every missing (NaN) feature by its column's value in `fill` (one per feature).
    pub fn fill_missing(&mut self, fill: &[f32]) -> Result<()> {
        if fill.len() != self.n_features {
            return Err(Error::data(
                &self.path,
                format!("has {} features, but {} fill values were given", self.n_features, fill.len()),
            ));
        }
        for row in self.features.chunks_exact_mut(self.n_features.max(1)) {
            row.iter_mut().zip(fill).filter(|(x, _)| x.is_nan()).for_each(|(x, f)| *x = *f);
        }
        Ok(())
    }

    /// [`Dataset::split`] for data read with [`Missing::Keep`](super::Missing::Keep) under
    /// `missing` mean: the same rows held out, then every missing feature (in both parts)
    /// filled with its column's mean over the training rows only. The means are kept in both
    /// parts' [`Schema::missing_fill`](super::Schema::missing_fill), and the split's record
    /// fingerprints the whole data as filled with them, which is how `eval` and `predict`
    /// read the file again (with the model's stored means) to find the held-out rows.
    pub fn split_filling_means(mut self, fraction: f64, seed: u64) -> Result<(Dataset, Dataset)> {
        let (mut train, mut held) = self.split(fraction, seed)?;
        let fill = feature_means(&train.features, train.n_features).map_err(|j| {
            Error::data(
                &self.path,
                format!(
                    "{} has no values in the {} training rows of the validation split to take the mean \
                     of (`missing` mean): use zero or drop, or hold out fewer rows (`val_split`)",
                    self.feature_column(j),
                    train.n_samples()
                ),
            )
        })?;
        self.fill_missing(&fill)?;
        let record = HeldOut { fraction, seed, rows: self.n_samples(), fingerprint: self.fingerprint() };
        for part in [&mut train, &mut held] {
            part.fill_missing(&fill)?;
            part.schema.missing_fill = Some(fill.clone());
            part.schema.held_out = Some(record.clone());
        }
        Ok((train, held))
    }

    /// Feature `j` (0-based) as the file's column: `column 3 ("petal", 0-based)` (counting the
    /// label column; the header's name when there was one), or `feature 3` when the file's
    /// layout is unknown.
    pub(crate) fn feature_column(&self, j: usize) -> String {
        let s = &self.schema;
        let name = s.feature_names.as_ref().and_then(|n| n.get(j)).map(String::as_str);
        match (s.n_columns, &s.label) {
            (Some(_), Some(label)) if j >= label.index => crate::error::column(j + 1, name),
            (Some(_), _) => crate::error::column(j, name),
            (None, _) => format!("feature {}{}", j + 1, name.map_or(String::new(), |n| format!(" ({n:?})"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Missing, Targets, parse_csv};

    #[test]
    fn means_skip_missing_values_and_name_an_empty_column() {
        let nan = f32::NAN;
        assert_eq!(feature_means(&[1.0, nan, 3.0, 4.0, nan, 8.0], 2), Ok(vec![2.0, 6.0]));
        assert_eq!(feature_means(&[1.0, nan, 3.0, nan], 2), Err(1));
    }

    /// 10 rows, two classes; column `a` is 0 in the first 8 rows and 100 in the last two,
    /// one of which the split holds out; row 1 misses `a`.
    fn text() -> String {
        let mut s = String::from("label,a,b\n");
        for r in 0..10 {
            let a = match r {
                1 => String::new(),
                8 | 9 => "100".into(),
                _ => "0".into(),
            };
            s += &format!("{},{a},{r}\n", r % 2);
        }
        s
    }

    #[test]
    fn held_out_rows_do_not_enter_the_means() {
        let opts = crate::data::LoadOptions { missing: Missing::Keep, ..Default::default() };
        let d = parse_csv("t.csv".as_ref(), text().as_bytes(), &opts).unwrap();
        assert!(d.features[2].is_nan() && d.schema.missing_fill.is_none());
        let (plain_train, plain_held) = d.split(0.2, 5).unwrap();
        let (train, held) = d.clone().split_filling_means(0.2, 5).unwrap();
        // The same rows, by their `b` (the row number), and labels.
        let b = |d: &Dataset| (0..d.n_samples()).map(|i| d.row(i)[1]).collect::<Vec<_>>();
        assert_eq!((b(&train), b(&held)), (b(&plain_train), b(&plain_held)));
        // The fill values: the training rows' means of a (missing one skipped) and b.
        let mean = |col: usize| {
            let v: Vec<f64> = (0..train.n_samples())
                .map(|i| d.row(b(&train)[i] as usize)[col] as f64)
                .filter(|x| !x.is_nan())
                .collect();
            (v.iter().sum::<f64>() / v.len() as f64) as f32
        };
        let fill = train.schema.missing_fill.clone().unwrap();
        assert_eq!(fill, vec![mean(0), mean(1)]);
        assert_eq!(held.schema.missing_fill.as_ref(), Some(&fill));
        // The whole file's mean of a (200 / 9) is not the training rows' one (100 / 7 or 0 / 7).
        assert_ne!(fill[0], 200.0 / 9.0);
        let row1 = train.features.chunks(2).chain(held.features.chunks(2)).find(|r| r[1] == 1.0).unwrap();
        assert_eq!(row1[0], fill[0]);
        // Read again with the stored means, the same rows are held out.
        let opts = crate::data::LoadOptions { missing: Missing::Fill(fill), ..Default::default() };
        let again = parse_csv("t.csv".as_ref(), text().as_bytes(), &opts).unwrap();
        let (_, held_again) = again.resplit(held.schema.held_out.as_ref().unwrap()).unwrap();
        // (resplit gives them in file order, split in its shuffled order)
        let sorted = |d: &Dataset| {
            let mut rows: Vec<Vec<f32>> = d.features.chunks(2).map(<[f32]>::to_vec).collect();
            rows.sort_by(|a, b| a[1].total_cmp(&b[1]));
            rows
        };
        assert_eq!(sorted(&held_again), sorted(&held));
        assert!(matches!(held_again.targets, Targets::Classes { .. }));
    }

    #[test]
    fn a_column_missing_in_every_training_row_is_named() {
        // Column a has its only value in one row; with half held out it may fall there.
        let text = "label,a,b\n0,,1\n1,,2\n0,5,3\n1,,4\n";
        let opts = crate::data::LoadOptions { missing: Missing::Keep, ..Default::default() };
        let d = parse_csv("t.csv".as_ref(), text.as_bytes(), &opts).unwrap();
        let failed =
            (0..20).filter_map(|seed| d.clone().split_filling_means(0.5, seed).err()).next().unwrap();
        let msg = failed.to_string();
        assert!(msg.contains("column 1 (\"a\", 0-based) has no values in the 2 training rows"), "{msg}");
    }
}
