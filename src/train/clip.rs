//! Gradient clipping by global norm: the mean gradient g·s (s = 1/B) is scaled by C/‖g·s‖
//! when its L2 norm over all parameters exceeds C (`clip_norm`). The norm needs the whole
//! gradient before any parameter moves, so a clipped step cannot fuse the update into the
//! backward pass; it runs in three parts:
//!
//! ```text
//! by chunks of UPDATE_CHUNK parameters (in parallel): sum = tree over the shards' gradients
//!                                                    sq[c] = Σ sum² in f64, in index order
//! on the caller: ‖g·s‖ = √(Σ_c sq[c], in chunk order) · s        (f64)
//! by chunks (in parallel): the optimiser's update with the gradient sum · (s · min(1, C/‖g·s‖))
//! ```
//! The chunks, the tree and both orders of summation depend on the parameter count and the
//! number of shards only, so the clipped step is bit-identical for any number of threads
//! and the same in the layer-parallel and shard-parallel steps. The norm is of the data
//! gradient; the L2 term (or AdamW's decay) is added by the optimiser after clipping.

use super::step::{UPDATE_CHUNK, for_segments, update_chunks};
use super::tree::{TREE_BLOCK, tree_sum};
use crate::optim::Rule;
use crate::split::Split;
use std::ops::Range;

/// The buffers of a clipped step, allocated once with the trainer.
pub(super) struct ClipBuffers {
    /// The shards' gradients summed, in the parameters' layout.
    sum: Vec<f32>,
    /// Each update chunk's sum of squares of `sum`.
    sq: Vec<f64>,
}

impl ClipBuffers {
    pub(super) fn new(n_params: usize) -> Self {
        ClipBuffers { sum: vec![0.0; n_params], sq: vec![0.0; n_params.div_ceil(UPDATE_CHUNK)] }
    }
}

/// The factor that scales the summed gradient into the clipped mean gradient: `s` (= 1/B)
/// when the mean gradient's norm `s·√sum_sq` is at most `max_norm`, else `s·max_norm/norm`.
pub(super) fn clipped_scale(sum_sq: f64, scale: f32, max_norm: f32) -> f32 {
    let norm = sum_sq.sqrt() * scale as f64;
    if norm > max_norm as f64 { (scale as f64 * (max_norm as f64 / norm)) as f32 } else { scale }
}

/// The clipped update once the shards' gradients of a batch are in `grads` (see the module's
/// description): `scale` is 1/B, `rule` the optimiser step with its state stride.
#[allow(clippy::too_many_arguments)]
pub(super) fn clipped_update(
    clip: &mut ClipBuffers,
    grads: &[Vec<f32>],
    segments: &[(Range<usize>, f32)],
    (params, state): (&mut [f32], &mut [f32]),
    (rule, stride): (Rule, usize),
    scale: f32,
    max_norm: f32,
    split: Split<'_>,
) {
    let n_sh = grads.len();
    let chunks = clip.sum.chunks_mut(UPDATE_CHUNK).zip(clip.sq.iter_mut()).enumerate();
    split.for_each(chunks, |(c, (sum, sq))| {
        for (i, out) in sum.chunks_mut(TREE_BLOCK).enumerate() {
            let from = c * UPDATE_CHUNK + i * TREE_BLOCK;
            let to = from + out.len();
            tree_sum(&|s| &grads[s][from..to], 0, n_sh, out);
        }
        *sq = sum.iter().fold(0.0f64, |acc, &g| acc + g as f64 * g as f64);
    });
    let sum_sq = clip.sq.iter().fold(0.0f64, |acc, &s| acc + s);
    let scale = clipped_scale(sum_sq, scale, max_norm);
    let sum = &clip.sum;
    split.for_each(update_chunks(params, state, stride), |(c, ws)| {
        for_segments(segments, c, ws, stride, |a, w, st, decay| {
            rule.apply(w, st, &sum[a..a + w.len()], scale, decay);
        });
    });
}
