//! The fixed reduction tree over the shards' gradients: `((g0+g1)+(g2+g3))+…`, split at the
//! largest power of two below the count, so that every parameter's order of additions depends
//! on the number of shards only: never on the threads, the ranks or the blocks. The one
//! machine's steps and clipping sum with [`tree_sum`]; the ranks' exchange finishes the tree
//! from subtrees other ranks summed with [`TreeOverNodes`].

use crate::distributed::tree_split;

/// Parameters summed at once on the stack in the reduction.
pub(super) const TREE_BLOCK: usize = 64;

/// `out ← Σ_{i<n} leaf(i)` summed as a fixed pairwise tree, ((l0+l1)+(l2+l3))+...: the split
/// is at the largest power of two below the count, so every element's order of additions
/// depends on the number of shards only. `out` has at most [`TREE_BLOCK`] elements.
pub(super) fn tree_sum<'g>(leaf: &dyn Fn(usize) -> &'g [f32], first: usize, n: usize, out: &mut [f32]) {
    match n {
        0 => out.fill(0.0),
        1 => out.copy_from_slice(leaf(first)),
        2 => {
            let (a, b) = (leaf(first), leaf(first + 1));
            sum_into(out, a, b);
        }
        n => {
            let half = tree_split(n);
            tree_sum(leaf, first, half, out);
            let mut right = [0.0f32; TREE_BLOCK];
            let right = &mut right[..out.len()];
            tree_sum(leaf, first + half, n - half, right);
            add_into(out, right);
        }
    }
}

crate::simd::multiversion! {
    /// `out ← a + b` element by element.
    fn sum_into(out: &mut [f32], a: &[f32], b: &[f32]) {
        out.iter_mut().zip(a.iter().zip(b)).for_each(|(o, (a, b))| *o = a + b);
    }
}

crate::simd::multiversion! {
    /// `out ← out + b` element by element.
    pub(super) fn add_into(out: &mut [f32], b: &[f32]) {
        out.iter_mut().zip(b).for_each(|(o, b)| *o += b);
    }
}

/// The one-machine tree over shards `first..first + n` with some subtrees' sums already known
/// (`nodes`: `(first, n)` of each, in shard order; every shard lies in one): `Node(g)` takes
/// the g-th known sum, `Sum` adds two subtrees, where `tree_sum`'s recursion would.
#[derive(Debug, PartialEq)]
pub(super) enum TreeOverNodes {
    /// The sum of `nodes[g]`.
    Node(usize),
    /// The left subtree's sum plus the right's.
    Sum(Box<TreeOverNodes>, Box<TreeOverNodes>),
}

impl TreeOverNodes {
    /// The tree over `first..first + n` from the known subtrees `nodes`.
    pub(super) fn new(nodes: &[(usize, usize)], first: usize, n: usize) -> Self {
        if let Some(g) = nodes.iter().position(|&x| x == (first, n)) {
            return TreeOverNodes::Node(g);
        }
        assert!(n > 1, "shard {first} lies in no frontier node");
        let half = tree_split(n);
        TreeOverNodes::Sum(
            Box::new(TreeOverNodes::new(nodes, first, half)),
            Box::new(TreeOverNodes::new(nodes, first + half, n - half)),
        )
    }

    /// `out ← the tree's sum`, `part(g)` giving known sum g (at most [`TREE_BLOCK`] elements).
    pub(super) fn sum<'g>(&self, part: &dyn Fn(usize) -> &'g [f32], out: &mut [f32]) {
        match self {
            TreeOverNodes::Node(g) => out.copy_from_slice(part(*g)),
            TreeOverNodes::Sum(left, right_tree) => {
                left.sum(part, out);
                let mut right = [0.0f32; TREE_BLOCK];
                let right = &mut right[..out.len()];
                right_tree.sum(part, right);
                add_into(out, right);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn tree_sum_of_1_to_9_shards_matches_an_f64_sum_and_the_fixed_tree() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for n in 1..=9usize {
            let len = 37;
            let leaves: Vec<Vec<f32>> =
                (0..n).map(|_| (0..len).map(|_| rng.random_range(-1e3f32..1e3)).collect()).collect();
            let leaf = |i: usize| leaves[i].as_slice();
            let mut out = vec![f32::NAN; len];
            tree_sum(&leaf, 0, n, &mut out);
            for j in 0..len {
                // Against a plain f64 sum: within f32 rounding of the partial sums.
                let exact: f64 = leaves.iter().map(|l| l[j] as f64).sum();
                let bound: f64 =
                    leaves.iter().map(|l| l[j].abs() as f64).sum::<f64>() * 4.0 * f32::EPSILON as f64;
                assert!((out[j] as f64 - exact).abs() <= bound, "{n} shards: {} vs {exact}", out[j]);
                // And exactly the documented tree: split at the largest power of two below n.
                fn tree(v: &[f32]) -> f32 {
                    match v.len() {
                        1 => v[0],
                        2 => v[0] + v[1],
                        n => {
                            let half = n.next_power_of_two() / 2;
                            tree(&v[..half]) + tree(&v[half..])
                        }
                    }
                }
                let column: Vec<f32> = leaves.iter().map(|l| l[j]).collect();
                assert_eq!(out[j].to_bits(), tree(&column).to_bits(), "{n} shards, element {j}");
            }
        }
        // The shape for 5 shards: ((0+1)+(2+3))+4, not (((0+1)+2)+3)+4.
        let leaves = [[1e8f32], [1.0], [-1e8], [1.0], [0.5]];
        let mut out = [0.0f32];
        tree_sum(&|i| leaves[i].as_slice(), 0, 5, &mut out);
        assert_eq!(out[0], ((1e8f32 + 1.0) + (-1e8 + 1.0)) + 0.5);
    }
}
