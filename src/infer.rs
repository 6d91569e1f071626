//! Forward-only passes over a whole data set, in parallel over fixed blocks of rows:
//! network outputs, mean loss, accuracy and confusion matrix, or RMSE, MAE and R².
//!
//! Blocks are fixed by size, results are combined in block order, so the figures do not
//! depend on the number of threads. Rows are read in place (a strided GEMM operand), never
//! copied.

use crate::data::{Dataset, Targets};
use crate::metrics::{Confusion, Regression};
use crate::network::{Buffers, Network, argmax};
use rayon::prelude::*;

/// Rows per parallel task: up to 256, fewer for very wide networks so that a task's
/// activations stay within 64 MiB.
fn block_rows(net: &Network<f32>) -> usize {
    let width: usize = net.arch.sizes().iter().sum();
    ((16 << 20) / width.max(1)).clamp(1, 256)
}

/// What a model achieves on a labelled data set.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// Samples evaluated.
    pub n_samples: usize,
    /// Mean per-sample loss (without the L2 term).
    pub loss: f64,
    /// (λ/2n)·ΣW² for the λ and n given, else 0.
    pub l2_term: f64,
    /// Correct predictions, for classifiers.
    pub correct: Option<u64>,
    /// For classifiers of up to [`MAX_CONFUSION_CLASSES`] classes.
    pub confusion: Option<Confusion>,
    /// RMSE, MAE and R², for real-valued targets.
    pub regression: Option<Regression>,
}

/// The most classes for which a confusion matrix (k² counts) is built.
pub const MAX_CONFUSION_CLASSES: usize = 1000;

impl Evaluation {
    /// Fraction correct, for classifiers.
    pub fn accuracy(&self) -> Option<f64> {
        self.correct.map(|c| c as f64 / self.n_samples.max(1) as f64)
    }
}

/// Runs `f(first_row, rows, buffers, targets)` on every block in parallel and returns the
/// per-block results in block order.
fn over_blocks<R: Send>(
    net: &Network<f32>,
    data: &Dataset,
    with_targets: bool,
    f: impl Fn(usize, usize, &Buffers<f32>, f64) -> R + Sync,
) -> Vec<R> {
    let d = data.n_features;
    let k = net.arch.n_out();
    let block = block_rows(net);
    data.features
        .par_chunks(block * d)
        .enumerate()
        .map_init(
            || (Buffers::new(&net.arch, block), vec![0.0f32; block * k]),
            |(buf, y), (b, x)| {
                let rows = x.len() / d;
                let first = b * block;
                let y = with_targets.then(|| {
                    for i in 0..rows {
                        data.write_target(first + i, &mut y[i * k..(i + 1) * k]);
                    }
                    &y[..rows * k]
                });
                let loss = net.forward(x, rows, y, buf);
                f(first, rows, buf, loss)
            },
        )
        .collect()
}

/// The network's outputs for every row (`n x n_out`): class probabilities for classifiers.
pub fn outputs(net: &Network<f32>, data: &Dataset) -> Vec<f32> {
    let blocks = over_blocks(net, data, false, |_, rows, buf, _| buf.output(rows).to_vec());
    blocks.concat()
}

/// Loss, accuracy and confusion matrix of `net` on `data`. `l2` = Some((λ, n)) adds the
/// L2 term (λ/2n)·ΣW² to the report.
pub fn evaluate(net: &Network<f32>, data: &Dataset, l2: Option<(f64, usize)>) -> Evaluation {
    let k = net.arch.n_out();
    let classify = matches!(data.targets, Targets::Classes { .. });
    let values = match &data.targets {
        Targets::Values { values, .. } => Some(values),
        _ => None,
    };
    // Each block returns its loss and its rows' predicted classes (or outputs, for real-valued
    // targets); the counts and sums are made once, in row order.
    let blocks = over_blocks(net, data, true, |_, rows, buf, loss| {
        let preds: Vec<u32> = if classify {
            buf.output(rows).chunks_exact(k).map(|o| argmax(o) as u32).collect()
        } else {
            Vec::new()
        };
        let outputs = if values.is_some() { buf.output(rows).to_vec() } else { Vec::new() };
        (loss, preds, outputs)
    });
    let loss: f64 = blocks.iter().map(|(l, _, _)| l).sum();
    let regression = values.map(|y| {
        let predicted: Vec<f32> = blocks.iter().flat_map(|(_, _, o)| o.iter().copied()).collect();
        Regression::new(&predicted, y, k)
    });
    let (mut correct, mut confusion) = (None, None);
    if let Some(labels) = data.labels() {
        let preds = blocks.iter().flat_map(|(_, p, _)| p.iter());
        let mut c = (k <= MAX_CONFUSION_CLASSES).then(|| Confusion::new(k));
        let mut ok = 0u64;
        for (&truth, &p) in labels.iter().zip(preds) {
            ok += (truth == p) as u64;
            if let Some(c) = c.as_mut() {
                c.add(truth as usize, p as usize);
            }
        }
        (correct, confusion) = (Some(ok), c);
    }
    let n = data.n_samples();
    let l2_term = l2.map_or(0.0, |(lambda, n_train)| lambda / n_train as f64 * net.half_sum_sq_weights());
    Evaluation { n_samples: n, loss: loss / n.max(1) as f64, l2_term, correct, confusion, regression }
}
