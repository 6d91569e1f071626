//! The full-batch objective of a network: the mean loss over the whole training set plus the
//! L2 term (λ/2n)·ΣW² (weights only), and its gradient, computed data-parallel.
//!
//! ```text
//! rows 0..n ─► shards of `shard` rows (the last shorter), one after another, each pass split
//!              over the team (as the trainer's layer-parallel step) ─► grad_s
//! Σ_s grad_s   the trainer's fixed pairwise tree (`tree_sum`), built as the shards finish:
//!              a stack of complete subtrees, two of the same size merged left + right
//! gradient = Σ/n + (λ/n)·W (weights only) ;  loss = Σ loss_s / n + (λ/2n)·ΣW²
//! ```
//! With `class_weight`, each row's loss and output delta are multiplied by its class's weight
//! in the shard's forward pass, so loss_s and grad_s are the weighted sums.
//! The shards depend on n and `shard` only, each shard's gradient is cut-independent, and the
//! tree is fixed by the number of shards, so the result is bit-identical for any number of
//! threads. All buffers are allocated in [`FullGradient::new`]: ⌊log₂ S⌋ + 2 gradients for
//! S shards and one shard workspace; an evaluation allocates nothing.

use super::super::step::Workspace;
use super::super::tree::add_into;
use crate::data::Dataset;
use crate::network::Network;
use crate::split::{Busy, Split};
use crate::team::Team;
use std::ops::Range;

/// One evaluation: the objective and the correct predictions at the point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Eval {
    /// Mean loss plus the L2 term (+∞ when not finite, so that line searches back off).
    pub loss: f64,
    /// Training rows classified correctly.
    pub correct: usize,
}

/// A differentiable objective over a flat parameter vector.
pub(crate) trait Objective {
    /// The objective at `x`, and `grad ← ∇f(x)`.
    fn eval(&mut self, x: &[f32], grad: &mut [f32]) -> Eval;
}

/// The working memory of the full-batch gradient.
pub(crate) struct FullGradient<'a> {
    net: &'a mut Network<f32>,
    data: &'a Dataset,
    work: Workspace,
    /// Complete subtrees of the shard sum: (shards in it, their sum), oldest first.
    stack: Vec<(usize, Vec<f32>)>,
    /// Gradient buffers not in use.
    spare: Vec<Vec<f32>>,
    team: Team,
    busy: Busy,
    rows: Vec<usize>,
    shard: usize,
    /// Parameter ranges with their L2 coefficient (λ/n for weights, 0 for biases).
    segments: Vec<(Range<usize>, f32)>,
    l2: f32,
    /// Evaluations so far.
    pub evaluations: usize,
}

impl<'a> FullGradient<'a> {
    /// Buffers for `data` (checked to fit `net` by the caller) in shards of `shard` rows, on
    /// a team of `team_size` threads; each row's loss weighted by its class's `class_weight`
    /// when given.
    pub(crate) fn new(
        net: &'a mut Network<f32>,
        data: &'a Dataset,
        (l2, class_weight): (f32, Option<&[f32]>),
        shard: usize,
        team_size: usize,
    ) -> Self {
        let n = data.n_samples();
        let shard = shard.clamp(1, n.max(1));
        let n_shards = n.div_ceil(shard).max(1);
        let arch = &net.arch;
        let decay = l2 / n as f32;
        let segments = (0..arch.n_layers())
            .flat_map(|l| [(arch.weight_range(l), decay), (arch.bias_range(l), 0.0)])
            .collect();
        let depth = usize::BITS as usize - n_shards.leading_zeros() as usize + 1;
        let team_size = team_size.max(1);
        FullGradient {
            work: Workspace::new(arch, shard).weighted(class_weight),
            stack: Vec::with_capacity(depth),
            spare: vec![vec![0.0; arch.n_params()]; depth],
            team: Team::new(team_size),
            busy: Busy::new(team_size),
            rows: (0..n).collect(),
            shard,
            segments,
            l2,
            evaluations: 0,
            net,
            data,
        }
    }

    /// The network (its parameters are those of the last evaluation).
    pub(crate) fn net(&self) -> &Network<f32> {
        self.net
    }

    /// Copies `x` into the network's parameters.
    pub(crate) fn set_params(&mut self, x: &[f32]) {
        self.net.params.copy_from_slice(x);
    }
}

impl Objective for FullGradient<'_> {
    fn eval(&mut self, x: &[f32], grad: &mut [f32]) -> Eval {
        self.evaluations += 1;
        self.net.params.copy_from_slice(x);
        let split = Split { busy: Some(&self.busy), ..Split::team(&self.team) };
        let (mut loss, mut correct) = (0.0f64, 0usize);
        for rows in self.rows.chunks(self.shard) {
            let mut g = self.spare.pop().expect("⌊log₂ S⌋ + 2 buffers suffice");
            loss += self.work.gradient(self.net, self.data, rows, &mut g, split);
            correct += self.work.correct();
            push_subtree(&mut self.stack, &mut self.spare, g);
        }
        let sum = finish_tree(&mut self.stack, &mut self.spare);
        let n = self.rows.len();
        let scale = 1.0 / n as f32;
        for (range, decay) in &self.segments {
            let (g, s, w) = (&mut grad[range.clone()], &sum[range.clone()], &x[range.clone()]);
            for ((g, &s), &w) in g.iter_mut().zip(s).zip(w) {
                *g = s * scale + decay * w;
            }
        }
        self.spare.push(sum);
        let loss = loss / n as f64 + self.l2 as f64 / n as f64 * self.net.half_sum_sq_weights();
        Eval { loss: if loss.is_finite() { loss } else { f64::INFINITY }, correct }
    }
}

/// Adds the next leaf `g` to the stack of complete subtrees: while the newest subtree has as
/// many leaves as the one being pushed, the two merge as `left + right`.
pub(super) fn push_subtree(stack: &mut Vec<(usize, Vec<f32>)>, spare: &mut Vec<Vec<f32>>, mut g: Vec<f32>) {
    let mut size = 1;
    while stack.last().is_some_and(|(s, _)| *s == size) {
        let (_, mut left) = stack.pop().expect("checked");
        add_into(&mut left, &g);
        spare.push(g);
        g = left;
        size *= 2;
    }
    stack.push((size, g));
}

/// The whole sum: the complete subtrees, largest first, added from the right,
/// `T₁ + (T₂ + (T₃ + ...))`, which is `tree_sum`'s split at the largest power of two.
pub(super) fn finish_tree(stack: &mut Vec<(usize, Vec<f32>)>, spare: &mut Vec<Vec<f32>>) -> Vec<f32> {
    let (_, mut acc) = stack.pop().expect("at least one shard");
    while let Some((_, mut left)) = stack.pop() {
        add_into(&mut left, &acc);
        spare.push(acc);
        acc = left;
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::super::super::tree::tree_sum;
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn the_stack_of_subtrees_sums_exactly_as_tree_sum() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for n in 1..=40usize {
            let len = 23;
            let leaves: Vec<Vec<f32>> =
                (0..n).map(|_| (0..len).map(|_| rng.random_range(-1e4f32..1e4)).collect()).collect();
            let mut want = vec![0.0f32; len];
            tree_sum(&|i| leaves[i].as_slice(), 0, n, &mut want);
            let (mut stack, mut spare) = (Vec::new(), Vec::new());
            let mut deepest = 0;
            for l in &leaves {
                push_subtree(&mut stack, &mut spare, l.clone());
                deepest = deepest.max(stack.len());
            }
            let got = finish_tree(&mut stack, &mut spare);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want), "{n} leaves");
            // At most ⌊log₂ n⌋ + 1 subtrees wait, plus the leaf being computed.
            assert!(deepest < usize::BITS as usize - n.leading_zeros() as usize + 1, "{n}: {deepest}");
        }
    }
}
