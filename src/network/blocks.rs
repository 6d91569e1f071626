//! How each pass of a [`super::Network`] is cut into blocks for a [`Split`]: the block lengths
//! the forward and backward passes use, and the task counts they give (for `bp-par bench`).

use super::Arch;
use crate::split::{GEMM_ALIGN, Split};

/// Units per block of layer `n_in -> n_out`'s forward (hidden layers) and weight gradient.
pub(super) fn unit_block(split: Split<'_>, n_in: usize, n_out: usize, rows: usize) -> usize {
    split.block_len(n_out, n_in * rows, GEMM_ALIGN)
}

/// Input units per block of the layer's input deltas.
pub(super) fn input_block(split: Split<'_>, n_in: usize, n_out: usize, rows: usize) -> usize {
    split.block_len(n_in, n_out * rows, GEMM_ALIGN)
}

/// Input features per block of the input's transposition (before the first layer's forward):
/// a copied value costs about as much as 8 multiply-adds, in blocks of 16 (the transposition's).
pub(crate) fn feature_block(split: Split<'_>, n_in: usize, rows: usize) -> usize {
    split.block_len(n_in, 8 * rows, 16)
}

/// Samples per block of the output layer's forward.
pub(super) fn sample_block(split: Split<'_>, n_in: usize, n_out: usize, rows: usize) -> usize {
    split.block_len(rows, n_in * n_out, 1)
}

/// The parallel phases of one training step on `rows` samples and their task counts, as
/// [`Network::forward_with`](super::Network::forward_with) and the backward pass cut them for
/// `split`.
pub(crate) fn phase_tasks(arch: &Arch, rows: usize, split: Split<'_>) -> Vec<(String, usize)> {
    let (n_layers, sizes) = (arch.n_layers(), &arch.sizes);
    let blocks = |n: usize, len: usize| n.div_ceil(len).max(1);
    let mut phases = Vec::new();
    for l in 0..n_layers {
        let (n_in, n_out) = (sizes[l], sizes[l + 1]);
        let tasks = if l + 1 < n_layers {
            blocks(n_out, unit_block(split, n_in, n_out, rows))
        } else {
            blocks(rows, sample_block(split, n_in, n_out, rows))
        };
        phases.push((format!("forward {}", l + 1), tasks));
    }
    // (With hidden layers, the output layer's forward phase computes the deltas of the layer
    // under it, and the output layer's gradient blocks join that layer's backward phase, in
    // place of the update blocks it would run.)
    for l in (0..n_layers - usize::from(n_layers > 1)).rev() {
        let (n_in, n_out) = (sizes[l], sizes[l + 1]);
        // Gradient blocks, input-delta blocks, and the update blocks of the layer above.
        let mut tasks = blocks(n_out, unit_block(split, n_in, n_out, rows));
        if l > 0 {
            tasks += blocks(n_in, input_block(split, n_in, n_out, rows));
        }
        if l + 1 < n_layers {
            tasks += blocks(sizes[l + 2], unit_block(split, n_out, sizes[l + 2], rows));
        }
        let name = if l + 2 == n_layers {
            format!("backward {}+{}", l + 1, l + 2)
        } else {
            format!("backward {}", l + 1)
        };
        phases.push((name, tasks));
    }
    phases
}
