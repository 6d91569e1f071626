//! Subsets of a data set: rows chosen by index, and the stratified validation split (with
//! its record, so a model's held-out rows can be drawn again).

use super::{Dataset, HeldOut, Kept, Targets};
use crate::error::{Error, Result};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

impl Dataset {
    /// A new data set of the given rows, in the given order.
    pub fn subset(&self, rows: &[usize]) -> Dataset {
        let d = self.n_features;
        let mut features = Vec::with_capacity(rows.len() * d);
        for &i in rows {
            features.extend_from_slice(self.row(i));
        }
        let targets = match &self.targets {
            Targets::Classes { labels, n_classes } => {
                Targets::Classes { labels: rows.iter().map(|&i| labels[i]).collect(), n_classes: *n_classes }
            }
            Targets::Values { values, n_outputs } => {
                let k = *n_outputs;
                let mut v = Vec::with_capacity(rows.len() * k);
                for &i in rows {
                    v.extend_from_slice(&values[i * k..(i + 1) * k]);
                }
                Targets::Values { values: v, n_outputs: k }
            }
            Targets::None => Targets::None,
        };
        Dataset {
            path: self.path.clone(),
            n_features: d,
            features: features.into(),
            targets,
            image_shape: self.image_shape,
            schema: self.schema.clone(),
            kept: self.kept.as_ref().map(|k| Kept {
                names: k.names.clone(),
                values: rows.iter().flat_map(|&i| k.row(i).to_vec()).collect(),
            }),
            normalized: self.normalized,
            shape_given: self.shape_given,
            notes: self.notes.clone(),
        }
    }

    /// Holds out a shuffled `fraction` of the rows, stratified by class (each class gives
    /// `round(fraction x its count)` rows), drawn from `seed`. Returns (train, held_out).
    pub fn split(&self, fraction: f64, seed: u64) -> Result<(Dataset, Dataset)> {
        let (train, held) = self.split_rows(fraction, seed)?;
        let (mut train, mut held) = (self.subset(&train), self.subset(&held));
        let record = HeldOut { fraction, seed, rows: self.n_samples(), fingerprint: self.fingerprint() };
        train.schema.held_out = Some(record.clone());
        held.schema.held_out = Some(record);
        Ok((train, held))
    }

    /// The row indices of [`Dataset::split`]'s (train, held_out) parts, in their shuffled order.
    fn split_rows(&self, fraction: f64, seed: u64) -> Result<(Vec<usize>, Vec<usize>)> {
        if !(0.0..1.0).contains(&fraction) {
            return Err(Error::config(format!("`val_split` must be in [0, 1), got {fraction}")));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(1);
        let n = self.n_samples();
        let groups: Vec<Vec<usize>> = match &self.targets {
            Targets::Classes { labels, n_classes } => {
                let mut g = vec![Vec::new(); *n_classes];
                for (i, &l) in labels.iter().enumerate() {
                    g[l as usize].push(i);
                }
                g
            }
            _ => vec![(0..n).collect()],
        };
        let (mut train, mut held) = (Vec::new(), Vec::new());
        for mut g in groups {
            g.shuffle(&mut rng);
            let k = (fraction * g.len() as f64).round() as usize;
            held.extend_from_slice(&g[..k]);
            train.extend_from_slice(&g[k..]);
        }
        if held.is_empty() || train.is_empty() {
            return Err(Error::data(
                &self.path,
                format!("`val_split` {fraction} of {n} samples leaves an empty training or validation set"),
            ));
        }
        // Interleave classes again (they were grouped) with a seeded shuffle.
        train.shuffle(&mut rng);
        held.shuffle(&mut rng);
        Ok((train, held))
    }

    /// The same (training, held-out) rows as the split `record` describes, in file order (so
    /// that predictions line up with the file), after checking that these are the rows it
    /// was drawn from: a model's [`Schema::held_out`](super::Schema::held_out) gives back
    /// exactly the rows its training run validated on.
    pub fn resplit(&self, record: &HeldOut) -> Result<(Dataset, Dataset)> {
        let n = self.n_samples();
        if n != record.rows || self.fingerprint() != record.fingerprint {
            let what = if n == record.rows { "the same number of rows but different values" } else { "" };
            let what = if what.is_empty() { format!("{n} rows") } else { format!("{n} rows, {what}") };
            return Err(Error::data(
                &self.path,
                format!(
                    "is not the data the model was trained on: the validation split was drawn from \
                     {} rows (fingerprint {:016x}), this file has {what}",
                    record.rows, record.fingerprint
                ),
            ));
        }
        let (mut train, mut held) = self.split_rows(record.fraction, record.seed)?;
        train.sort_unstable();
        held.sort_unstable();
        Ok((self.subset(&train), self.subset(&held)))
    }
}
