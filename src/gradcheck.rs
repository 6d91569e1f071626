//! Numerical gradient check: central differences in f64 against [`Network::backward`].
//!
//! The objective checked is the one training minimises: the mean per-sample loss over the
//! rows plus the L2 term (λ/2n)·ΣW² over weights only, so its gradient is
//! `backward/rows + (λ/n)·W` on weights and `backward/rows` on biases.
//!
//! ```
//! use bp_par::{activation::Activation, loss::Loss, network::Arch, gradcheck::check};
//! let arch = Arch::new(vec![3, 4, 2], Activation::Tanh, Loss::Xent).unwrap();
//! assert!(check(arch, 0.5, 10, 1) < 1e-6);
//! ```

use crate::network::{Arch, Buffers, Network};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The training objective for `rows` samples: mean loss + (λ/2n)·ΣW².
pub fn objective(net: &Network<f64>, x: &[f64], y: &[f64], rows: usize, l2: f64, n: usize) -> f64 {
    let mut buf = Buffers::new(&net.arch, rows);
    net.forward(x, rows, Some(y), &mut buf) / rows as f64 + l2 / n as f64 * net.half_sum_sq_weights()
}

/// The analytic gradient of [`objective`].
pub fn analytic(net: &Network<f64>, x: &[f64], y: &[f64], rows: usize, l2: f64, n: usize) -> Vec<f64> {
    let arch = &net.arch;
    let mut buf = Buffers::new(arch, rows);
    net.forward(x, rows, Some(y), &mut buf);
    let mut grad = vec![0.0; arch.n_params()];
    net.backward(x, rows, y, &mut buf, &mut grad);
    grad.iter_mut().for_each(|g| *g /= rows as f64);
    for l in 0..arch.n_layers() {
        for i in arch.weight_range(l) {
            grad[i] += l2 / n as f64 * net.params[i];
        }
    }
    grad
}

/// The step h of the central differences (f(θ+h) − f(θ−h)) / 2h.
pub const STEP: f64 = 1e-5;

/// A random network for `arch` (its default initialisation from `seed`, then biases drawn
/// from U(−0.5, 0.5) so their gradients are exercised away from the init) and a batch of
/// `rows` inputs in U(−1, 1) with targets: one-hot for `xent`, values in (−2, 2) for linear
/// outputs, in (0.05, 0.95) otherwise. Returns the network, the inputs (`rows x n_in`) and the targets (`rows x n_out`).
pub fn random_problem(arch: Arch, rows: usize, seed: u64) -> (Network<f64>, Vec<f64>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut net = Network::<f64>::init(arch, seed);
    for l in 0..net.arch.n_layers() {
        for i in net.arch.bias_range(l) {
            net.params[i] = rng.random_range(-0.5..0.5);
        }
    }
    let (n_in, n_out) = (net.arch.n_in(), net.arch.n_out());
    let x: Vec<f64> = (0..rows * n_in).map(|_| rng.random_range(-1.0..1.0)).collect();
    let mut y = vec![0.0; rows * n_out];
    for row in y.chunks_exact_mut(n_out) {
        if net.arch.loss == crate::loss::Loss::Xent {
            row[rng.random_range(0..n_out)] = 1.0;
        } else if net.arch.output() == crate::loss::Output::Linear {
            row.iter_mut().for_each(|v| *v = rng.random_range(-2.0..2.0));
        } else {
            row.iter_mut().for_each(|v| *v = rng.random_range(0.05..0.95));
        }
    }
    (net, x, y)
}

/// One layer's largest relative differences `|g − ĝ| / max(1e-4, |g| + |ĝ|)` between the
/// analytic gradient g and the central difference ĝ, over its weights and over its biases.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerDiff {
    /// The largest over the layer's weights.
    pub weights: f64,
    /// The largest over the layer's biases.
    pub biases: f64,
}

impl LayerDiff {
    /// The larger of the two.
    pub fn worst(&self) -> f64 {
        self.weights.max(self.biases)
    }
}

/// Compares the analytic gradient of [`objective`] (`rows` samples `x` with targets `y`, L2
/// strength `l2` over a training set of `n`) with central differences of step [`STEP`], one
/// [`LayerDiff`] per layer. `net`'s parameters are moved and put back, bit for bit.
pub fn compare(
    net: &mut Network<f64>,
    x: &[f64],
    y: &[f64],
    rows: usize,
    l2: f64,
    n: usize,
) -> Vec<LayerDiff> {
    let grad = analytic(net, x, y, rows, l2, n);
    let mut rel = vec![0.0f64; grad.len()];
    for (i, &g) in grad.iter().enumerate() {
        let saved = net.params[i];
        net.params[i] = saved + STEP;
        let plus = objective(net, x, y, rows, l2, n);
        net.params[i] = saved - STEP;
        let minus = objective(net, x, y, rows, l2, n);
        net.params[i] = saved;
        let numeric = (plus - minus) / (2.0 * STEP);
        rel[i] = (g - numeric).abs() / (g.abs() + numeric.abs()).max(1e-4);
    }
    let largest = |r: std::ops::Range<usize>| rel[r].iter().fold(0.0f64, |m, &v| m.max(v));
    (0..net.arch.n_layers())
        .map(|l| LayerDiff {
            weights: largest(net.arch.weight_range(l)),
            biases: largest(net.arch.bias_range(l)),
        })
        .collect()
}

/// Builds a random network and batch for `arch` ([`random_problem`]) and returns the largest
/// relative difference over all parameters ([`compare`], with a training-set size of
/// 3·`rows`, different from the batch size).
pub fn check(arch: Arch, l2: f64, rows: usize, seed: u64) -> f64 {
    let (mut net, x, y) = random_problem(arch, rows, seed);
    let n = rows * 3; // a "training-set size" different from the batch size
    compare(&mut net, &x, &y, rows, l2, n).iter().fold(0.0f64, |m, d| m.max(d.worst()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::Activation;
    use crate::loss::Loss;

    #[test]
    fn compare_reports_every_layer_and_puts_the_parameters_back() {
        let arch = Arch::new(vec![4, 5, 6, 3], Activation::Sigmoid, Loss::Bce).unwrap();
        let (mut net, x, y) = random_problem(arch.clone(), 6, 2);
        let saved = net.clone();
        let diffs = compare(&mut net, &x, &y, 6, 0.5, 18);
        assert_eq!(net, saved, "parameters put back bit for bit");
        assert_eq!(diffs.len(), 3);
        // Central differences in f64 with h = 1e-5: truncation ~h² times the third
        // derivative and rounding ~1e-16/h, both far below 1e-7 for a smooth network this size.
        assert!(diffs.iter().all(|d| d.weights < 1e-7 && d.biases < 1e-7), "{diffs:?}");
        assert!(diffs.iter().all(|d| d.weights > 0.0 && d.biases > 0.0), "{diffs:?}: not compared");
        let worst = diffs.iter().fold(0.0f64, |m, d| m.max(d.worst()));
        assert_eq!(check(arch, 0.5, 6, 2), worst);
    }

    #[test]
    fn every_activation_loss_and_output_with_l2() {
        for act in Activation::ALL {
            for loss in Loss::ALL {
                for &output in loss.outputs() {
                    for l2 in [0.0, 0.7] {
                        let arch =
                            Arch::new(vec![5, 6, 4, 3], act, loss).unwrap().with_output(output).unwrap();
                        let err = check(arch, l2, 7, 3);
                        // ReLU's kink can sit within h of a pre-activation: tolerate it loosely.
                        let tol = if act == Activation::Relu { 1e-4 } else { 1e-6 };
                        assert!(err < tol, "{act} x {loss}/{output} (l2 {l2}): relative error {err:e}");
                    }
                }
            }
        }
    }
}
