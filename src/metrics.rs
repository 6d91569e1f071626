//! Classification metrics: accuracy, confusion matrix, per-class precision and recall; and
//! regression metrics ([`Regression`]: RMSE, MAE, R², in `metrics/regression.rs`).
//!
//! ```
//! use bp_par::metrics::Confusion;
//! let mut c = Confusion::new(2);
//! c.add(0, 0); c.add(1, 0); c.add(1, 1);
//! assert_eq!(c.accuracy(), 2.0 / 3.0);
//! assert_eq!(c.recall(1), Some(0.5));
//! ```

use std::fmt::Write;

mod regression;
pub use regression::{Fit, Regression};

/// Counts of (true class, predicted class) pairs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confusion {
    k: usize,
    /// `k x k`, row = true class, column = prediction.
    counts: Vec<u64>,
}

impl Confusion {
    /// An empty matrix of `k` classes.
    pub fn new(k: usize) -> Self {
        Confusion { k, counts: vec![0; k * k] }
    }
    /// The number of classes.
    pub fn n_classes(&self) -> usize {
        self.k
    }
    /// Counts one sample of class `truth` predicted as `predicted`.
    pub fn add(&mut self, truth: usize, predicted: usize) {
        self.counts[truth * self.k + predicted] += 1;
    }
    /// Samples of class `truth` predicted as `predicted`.
    pub fn count(&self, truth: usize, predicted: usize) -> u64 {
        self.counts[truth * self.k + predicted]
    }
    /// All samples counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
    /// Samples on the diagonal.
    pub fn correct(&self) -> u64 {
        (0..self.k).map(|i| self.count(i, i)).sum()
    }
    /// Fraction correct (0 for an empty matrix).
    pub fn accuracy(&self) -> f64 {
        let t = self.total();
        if t == 0 { 0.0 } else { self.correct() as f64 / t as f64 }
    }
    /// Of the samples predicted as `c`, the fraction that are `c` (None if none were).
    pub fn precision(&self, c: usize) -> Option<f64> {
        let col: u64 = (0..self.k).map(|i| self.count(i, c)).sum();
        (col > 0).then(|| self.count(c, c) as f64 / col as f64)
    }
    /// Of the samples of class `c`, the fraction predicted as `c` (None if there are none).
    pub fn recall(&self, c: usize) -> Option<f64> {
        let row: u64 = (0..self.k).map(|p| self.count(c, p)).sum();
        (row > 0).then(|| self.count(c, c) as f64 / row as f64)
    }
    /// Rows of counts, row = true class.
    pub fn rows(&self) -> impl Iterator<Item = &[u64]> {
        self.counts.chunks(self.k.max(1))
    }

    /// A plain-text table: counts with recall per row and precision per column.
    pub fn render(&self) -> String {
        self.render_named(&(0..self.k).map(|c| c.to_string()).collect::<Vec<_>>())
    }

    /// [`render`](Self::render) with the classes called by `names` (one per class).
    pub fn render_named(&self, names: &[String]) -> String {
        let counts = self.counts.iter().max().map_or(1, |m| m.to_string().len()).max(4);
        let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(1).max(counts);
        let label = names.iter().map(|n| n.chars().count()).max().unwrap_or(0).max(10);
        let mut s = String::new();
        let _ = write!(s, "{:>label$} |", "true\\pred");
        for name in names {
            let _ = write!(s, " {name:>width$}");
        }
        let _ = writeln!(s, " | recall");
        for (t, name) in names.iter().enumerate() {
            let _ = write!(s, "{name:>label$} |");
            for p in 0..self.k {
                let _ = write!(s, " {:>width$}", self.count(t, p));
            }
            let _ = writeln!(s, " | {}", fmt_pct(self.recall(t)));
        }
        let _ = write!(s, "{:>label$} |", "precision");
        for p in 0..self.k {
            let v = self.precision(p).map_or("-".to_string(), |v| format!("{:.0}%", v * 100.0));
            let _ = write!(s, " {v:>width$}");
        }
        let _ = writeln!(s, " |");
        s
    }
}

fn fmt_pct(v: Option<f64>) -> String {
    v.map_or("-".to_string(), |v| format!("{:.1}%", v * 100.0))
}
