//! Forward-only passes over a whole data set, in parallel over fixed blocks of rows:
//! network outputs, mean loss, accuracy and confusion matrix, or RMSE, MAE and R².
//!
//! Blocks are fixed by size, results are combined in block order, so the figures do not
//! depend on the number of threads. Rows are read in place (each block transposed for the
//! first layer). Rows whose outputs are not finite (inputs far beyond what the model can
//! represent in f32) are counted, never scored as predictions: [`Evaluation::check_finite`]
//! and [`check_outputs`] turn them into an error naming the first.

use crate::data::{Dataset, Targets};
use crate::error::{Error, Result};
use crate::metrics::{Confusion, Regression};
use crate::network::{Buffers, Network, RowNet, argmax};
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
    /// Rows whose outputs are not all finite (neither correct nor in the confusion matrix).
    pub non_finite: usize,
    /// The first of them (0-based), if any.
    pub first_non_finite: Option<usize>,
}

/// The most classes for which a confusion matrix (k² counts) is built.
pub const MAX_CONFUSION_CLASSES: usize = 1000;

impl Evaluation {
    /// An error naming `data`'s first row whose outputs are not finite, if there is one;
    /// `what` names the rows in the message ("held-out", or "" for a file evaluated alone).
    pub fn check_finite(&self, data: &Dataset, what: &str) -> Result<()> {
        match self.first_non_finite {
            Some(row) => Err(non_finite_error(data, what, row, self.non_finite)),
            None => Ok(()),
        }
    }

    /// Fraction correct, for classifiers.
    pub fn accuracy(&self) -> Option<f64> {
        self.correct.map(|c| c as f64 / self.n_samples.max(1) as f64)
    }
}

/// Runs `f(first_row, rows, outputs, loss)` on every block in parallel (`outputs`: the
/// block's `rows x n_out`) and returns the per-block results in block order. By rows
/// ([`RowNet`]) where it gives [`Network::forward`]'s bits (the kernels run and the network
/// has hidden layers), else by [`Network::forward`].
fn over_blocks<R: Send>(
    net: &Network<f32>,
    data: &Dataset,
    with_targets: bool,
    f: impl Fn(usize, usize, &[f32], f64) -> R + Sync,
) -> Vec<R> {
    let d = data.n_features;
    let k = net.arch.n_out();
    let block = block_rows(net);
    let by_rows = RowNet::new(net);
    data.features
        .par_chunks((block * d).max(1))
        .enumerate()
        .map_init(
            || {
                let pass = match &by_rows {
                    Some(by_rows) => Ok((by_rows, by_rows.buffers(block))),
                    None => Err(Buffers::new(&net.arch, block)),
                };
                (pass, vec![0.0f32; block * k])
            },
            |(pass, y), (b, x)| {
                let rows = x.len() / d;
                let first = b * block;
                let y = with_targets.then(|| {
                    for i in 0..rows {
                        data.write_target(first + i, &mut y[i * k..(i + 1) * k]);
                    }
                    &y[..rows * k]
                });
                match pass {
                    Ok((by_rows, buf)) => {
                        let loss = by_rows.forward(x, rows, y, buf);
                        f(first, rows, buf.output(rows), loss)
                    }
                    Err(buf) => {
                        let loss = net.forward(x, rows, y, buf);
                        f(first, rows, buf.output(rows), loss)
                    }
                }
            },
        )
        .collect()
}

/// How many rows of `outputs` (`k` values each) are not all finite, and the first of them.
fn non_finite_rows(outputs: &[f32], k: usize) -> (usize, Option<usize>) {
    let mut bad =
        outputs.chunks_exact(k.max(1)).enumerate().filter(|(_, o)| o.iter().any(|v| !v.is_finite()));
    let first = bad.next().map(|(i, _)| i);
    (first.map_or(0, |_| 1 + bad.count()), first)
}

/// The error for `data`'s row `row` (0-based), first of `count` with non-finite outputs.
fn non_finite_error(data: &Dataset, what: &str, row: usize, count: usize) -> Error {
    let others = match count.saturating_sub(1) {
        0 => String::new(),
        n => format!(" (and {n} other row{})", if n == 1 { "" } else { "s" }),
    };
    let largest = data.row(row).iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let what = if what.is_empty() { String::new() } else { format!("{what} ") };
    Error::Data {
        path: data.path.clone(),
        message: format!(
            "{what}sample {} of {}{others} gives outputs that are not finite numbers: its inputs (after \
             normalisation, largest magnitude {}) are beyond what the model can compute with in \
             f32; look for extreme values in that row",
            row + 1,
            data.n_samples(),
            crate::error::short(largest)
        ),
    }
}

/// An error naming `data`'s first row whose `outputs` ([`outputs`], `k` per row) are not
/// finite, if there is one.
pub fn check_outputs(outputs: &[f32], k: usize, data: &Dataset) -> Result<()> {
    match non_finite_rows(outputs, k) {
        (count, Some(row)) => Err(non_finite_error(data, "", row, count)),
        _ => Ok(()),
    }
}

/// Checks that `data`'s rows are as wide as the network's inputs and, `with_targets`, that it
/// has rows and targets that fit the outputs (labels below the output count, one value per
/// output): the one check of a data set against a network, for evaluations and training.
pub(crate) fn check_rows(net: &Network<f32>, data: &Dataset, with_targets: bool) -> Result<()> {
    let (n_in, n_out) = (net.arch.n_in(), net.arch.n_out());
    if data.n_features != n_in {
        return Err(Error::data(
            &data.path,
            format!("has {} features per row, but the network takes {n_in} inputs", data.n_features),
        ));
    }
    if !with_targets {
        return Ok(());
    }
    if data.n_samples() == 0 {
        return Err(Error::data(&data.path, "has no rows"));
    }
    match &data.targets {
        Targets::Classes { labels, .. } => match labels.iter().position(|&l| l as usize >= n_out) {
            Some(i) => Err(Error::data(
                &data.path,
                format!(
                    "row {i} (from 0): label {} is out of range for a network of {n_out} outputs",
                    labels[i]
                ),
            )),
            None => Ok(()),
        },
        Targets::Values { n_outputs, .. } if *n_outputs != n_out => Err(Error::data(
            &data.path,
            format!("has {n_outputs} targets per row, but the network has {n_out} outputs"),
        )),
        Targets::None => Err(Error::data(&data.path, "has no labels or targets")),
        Targets::Values { .. } => Ok(()),
    }
}

/// The network's outputs for every row (`n x n_out`): class probabilities for classifiers.
/// Runs on the caller's rayon pool; the front door's [`crate::model::Model::outputs`] takes
/// raw rows and its own threads.
///
/// # Errors
/// [`Error::Data`] when the rows are not as wide as the network's inputs.
pub fn outputs(net: &Network<f32>, data: &Dataset) -> Result<Vec<f32>> {
    check_rows(net, data, false)?;
    let blocks = over_blocks(net, data, false, |_, _, out, _| out.to_vec());
    Ok(blocks.concat())
}

/// Loss, accuracy and confusion matrix of `net` on `data`. `l2` = Some((λ, n)) adds the
/// L2 term (λ/2n)·ΣW² to the report. Runs on the caller's rayon pool; the front door's
/// [`crate::model::Model::evaluate`] takes raw rows and its own threads.
///
/// # Errors
/// [`Error::Data`] when the rows are not as wide as the network's inputs, a label is not
/// below its output count, the targets per row are not its outputs, or there are none.
pub fn evaluate(net: &Network<f32>, data: &Dataset, l2: Option<(f64, usize)>) -> Result<Evaluation> {
    check_rows(net, data, true)?;
    let k = net.arch.n_out();
    let classify = matches!(data.targets, Targets::Classes { .. });
    let values = match &data.targets {
        Targets::Values { values, .. } => Some(values),
        _ => None,
    };
    // Each block returns its loss and its rows' predicted classes (or outputs, for real-valued
    // targets); the counts and sums are made once, in row order.
    let blocks = over_blocks(net, data, true, |first, _, out, loss| {
        // A row with a non-finite output predicts nothing (u32::MAX matches no class).
        let predict = |o: &[f32]| if o.iter().all(|v| v.is_finite()) { argmax(o) as u32 } else { u32::MAX };
        let preds: Vec<u32> = if classify { out.chunks_exact(k).map(predict).collect() } else { Vec::new() };
        let outputs = if values.is_some() { out.to_vec() } else { Vec::new() };
        let (bad, first_bad) = non_finite_rows(out, k);
        (loss, preds, outputs, (bad, first_bad.map(|r| first + r)))
    });
    let non_finite = blocks.iter().map(|b| b.3.0).sum();
    let first_non_finite = blocks.iter().find_map(|b| b.3.1);
    let loss: f64 = blocks.iter().map(|b| b.0).sum();
    let regression = values.map(|y| {
        let predicted: Vec<f32> = blocks.iter().flat_map(|b| b.2.iter().copied()).collect();
        Regression::new(&predicted, y, k)
    });
    let (mut correct, mut confusion) = (None, None);
    if let Some(labels) = data.labels() {
        let preds = blocks.iter().flat_map(|b| b.1.iter());
        let mut c = (k <= MAX_CONFUSION_CLASSES).then(|| Confusion::new(k));
        let mut ok = 0u64;
        for (&truth, &p) in labels.iter().zip(preds).filter(|(_, p)| **p != u32::MAX) {
            ok += (truth == p) as u64;
            if let Some(c) = c.as_mut() {
                c.add(truth as usize, p as usize);
            }
        }
        (correct, confusion) = (Some(ok), c);
    }
    let n = data.n_samples();
    let l2_term =
        l2.map_or(0.0, |(lambda, n_train)| lambda / n_train.max(1) as f64 * net.half_sum_sq_weights());
    let loss = loss / n.max(1) as f64;
    Ok(Evaluation {
        n_samples: n,
        loss,
        l2_term,
        correct,
        confusion,
        regression,
        non_finite,
        first_non_finite,
    })
}
