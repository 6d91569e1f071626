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

/// Builds a random network and batch for `arch`, and returns the largest relative error
/// `|g − ĝ| / max(1e-4, |g| + |ĝ|)` between the analytic and numerical gradients.
/// Targets are one-hot for `xent`, values in (0, 1) otherwise.
pub fn check(arch: Arch, l2: f64, rows: usize, seed: u64) -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut net = Network::<f64>::init(arch, seed);
    // Non-zero biases so their gradients are exercised away from the init.
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
        } else {
            row.iter_mut().for_each(|v| *v = rng.random_range(0.05..0.95));
        }
    }
    let n = rows * 3; // a "training-set size" different from the batch size
    let grad = analytic(&net, &x, &y, rows, l2, n);
    let h = 1e-5;
    let mut worst = 0.0f64;
    for (i, &g) in grad.iter().enumerate() {
        let saved = net.params[i];
        net.params[i] = saved + h;
        let plus = objective(&net, &x, &y, rows, l2, n);
        net.params[i] = saved - h;
        let minus = objective(&net, &x, &y, rows, l2, n);
        net.params[i] = saved;
        let numeric = (plus - minus) / (2.0 * h);
        let rel = (g - numeric).abs() / (g.abs() + numeric.abs()).max(1e-4);
        worst = worst.max(rel);
    }
    worst
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::Activation;
    use crate::loss::Loss;

    #[test]
    fn every_activation_and_loss_with_l2() {
        for act in Activation::ALL {
            for loss in Loss::ALL {
                for l2 in [0.0, 0.7] {
                    let arch = Arch::new(vec![5, 6, 4, 3], act, loss).unwrap();
                    let err = check(arch, l2, 7, 3);
                    // ReLU's kink can sit within h of a pre-activation: tolerate it loosely.
                    let tol = if act == Activation::Relu { 1e-4 } else { 1e-6 };
                    assert!(err < tol, "{act} x {loss} (l2 {l2}): relative error {err:e}");
                }
            }
        }
    }
}
