//! Forward-only passes over a whole data set, in parallel over fixed blocks of rows:
//! network outputs, mean loss, accuracy and confusion matrix.
//!
//! Blocks are fixed by size, results are combined in block order, so the figures do not
//! depend on the number of threads. Rows are read in place (a strided GEMM operand), never
//! copied.

use crate::data::{Dataset, Targets};
use crate::metrics::Confusion;
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
    pub n_samples: usize,
    /// Mean per-sample loss (without the L2 term).
    pub loss: f64,
    /// (λ/2n)·ΣW² for the λ and n given, else 0.
    pub l2_term: f64,
    /// For classifiers.
    pub confusion: Option<Confusion>,
}

impl Evaluation {
    pub fn accuracy(&self) -> Option<f64> {
        self.confusion.as_ref().map(Confusion::accuracy)
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
    let labels = data.labels();
    let blocks = over_blocks(net, data, true, |first, rows, buf, loss| {
        let confusion = labels.map(|labels| {
            let mut c = Confusion::new(k);
            for (i, out) in buf.output(rows).chunks_exact(k).enumerate() {
                c.add(labels[first + i] as usize, argmax(out));
            }
            c
        });
        (loss, confusion)
    });
    let mut loss = 0.0;
    let mut confusion = matches!(data.targets, Targets::Classes { .. }).then(|| Confusion::new(k));
    for (l, c) in &blocks {
        loss += l;
        if let (Some(total), Some(c)) = (confusion.as_mut(), c) {
            total.merge(c);
        }
    }
    let n = data.n_samples();
    let l2_term = l2.map_or(0.0, |(lambda, n_train)| lambda / n_train as f64 * net.half_sum_sq_weights());
    Evaluation { n_samples: n, loss: loss / n.max(1) as f64, l2_term, confusion }
}
