//! Output layers and their losses: the loss value per sample and the output delta.
//!
//! | loss | output unit | per-sample loss | output delta ∂L/∂z |
//! |---|---|---|---|
//! | `xent` | softmax | −Σ_k y_k log softmax(z)_k | a − y |
//! | `mse` | sigmoid | ½·Σ_k (y_k − a_k)² | (a − y) ⊙ a(1 − a) |
//! | `bce` | sigmoid | −Σ_k [y_k log a_k + (1 − y_k) log(1 − a_k)] | a − y |
//!
//! Losses are computed from the pre-activations `z` with log-sum-exp and softplus, so they
//! stay finite for any finite `z` (z = ±1000 included); probabilities are then written over z.
//!
//! ```
//! use bp_par::loss::Loss;
//! let mut z = [1000.0f64, -1000.0];
//! let l = Loss::Xent.forward_row(&mut z, Some(&[0.0, 1.0]));
//! assert_eq!(l, 2000.0);
//! assert_eq!(z, [1.0, 0.0]);
//! ```

use crate::activation::sigmoid;
use crate::scalar::{Scalar, flush};
use std::fmt;
use std::str::FromStr;

/// A loss together with the output activation it implies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// Softmax + cross-entropy.
    Xent,
    /// Sigmoid outputs, ½·Σ(y − a)².
    Mse,
    /// Sigmoid outputs, binary cross-entropy summed over the outputs.
    Bce,
}

/// softplus(x) = ln(1 + eˣ), stable for large |x|.
#[inline]
fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

impl Loss {
    /// Every loss, for parsing names and for tests that cover them all.
    pub const ALL: [Loss; 3] = [Loss::Xent, Loss::Mse, Loss::Bce];

    /// The mean per-sample loss of a network that knows nothing, over `k` outputs with class
    /// targets: uniform probabilities for xent (ln k), outputs of ½ for bce (k·ln 2) and mse
    /// (k/8). A training loss orders of magnitude above it has exploded.
    pub fn uniform_guess(self, k: usize) -> f64 {
        let k = k.max(2) as f64;
        match self {
            Loss::Xent => k.ln(),
            Loss::Bce => k * std::f64::consts::LN_2,
            Loss::Mse => k / 8.0,
        }
    }

    /// The name used on the command line and in model files.
    pub fn name(self) -> &'static str {
        match self {
            Loss::Xent => "xent",
            Loss::Mse => "mse",
            Loss::Bce => "bce",
        }
    }

    /// The output layer's activation.
    pub fn output_activation(self) -> &'static str {
        match self {
            Loss::Xent => "softmax",
            Loss::Mse | Loss::Bce => "sigmoid",
        }
    }

    /// For one sample: returns the loss for targets `y` (0 when `y` is None) computed stably
    /// from the pre-activations `z` (bias already added), then overwrites `z` with the outputs.
    pub fn forward_row<T: Scalar>(self, z: &mut [T], y: Option<&[T]>) -> f64 {
        let mut loss = 0.0f64;
        match self {
            Loss::Xent => {
                let max = z.iter().fold(T::neg_infinity(), |m, &v| m.max(v));
                let mut sum = T::zero();
                for v in z.iter() {
                    sum += (*v - max).exp();
                }
                if let Some(y) = y {
                    let lse = max.to_f64().unwrap_or(f64::NAN) + sum.to_f64().unwrap_or(0.0).ln();
                    for (&zk, &yk) in z.iter().zip(y) {
                        let yk = yk.to_f64().unwrap_or(f64::NAN);
                        if yk != 0.0 {
                            loss -= yk * (zk.to_f64().unwrap_or(f64::NAN) - lse);
                        }
                    }
                }
                let inv = T::one() / sum;
                for v in z.iter_mut() {
                    *v = flush((*v - max).exp() * inv);
                }
            }
            Loss::Bce => {
                if let Some(y) = y {
                    for (&zk, &yk) in z.iter().zip(y) {
                        let (zk, yk) = (zk.to_f64().unwrap_or(f64::NAN), yk.to_f64().unwrap_or(0.0));
                        // −[y log σ(z) + (1−y) log(1−σ(z))] = softplus(z) − y·z
                        loss += softplus(zk) - yk * zk;
                    }
                }
                z.iter_mut().for_each(|v| *v = sigmoid(*v));
            }
            Loss::Mse => {
                z.iter_mut().for_each(|v| *v = sigmoid(*v));
                if let Some(y) = y {
                    for (&a, &yk) in z.iter().zip(y) {
                        let d = (a - yk).to_f64().unwrap_or(f64::NAN);
                        loss += 0.5 * d * d;
                    }
                }
            }
        }
        loss
    }

    /// `delta ← ∂L/∂z` for one sample, from the outputs `a` and the targets `y`.
    #[inline]
    pub fn delta_row<T: Scalar>(self, a: &[T], y: &[T], delta: &mut [T]) {
        match self {
            Loss::Xent | Loss::Bce => {
                for ((d, &a), &y) in delta.iter_mut().zip(a).zip(y) {
                    *d = flush(a - y);
                }
            }
            Loss::Mse => {
                for ((d, &a), &y) in delta.iter_mut().zip(a).zip(y) {
                    *d = flush((a - y) * a * (T::one() - a));
                }
            }
        }
    }
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Loss {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Loss::ALL
            .into_iter()
            .find(|l| l.name() == s)
            .ok_or_else(|| format!("unknown loss {s:?} (expected xent, mse or bce)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_know_nothing_networks_loss_is_the_uniform_guesss() {
        // xent of uniform probabilities, bce and mse of outputs of ½ against one-hot targets.
        let k = 10;
        let mut y = vec![0.0f64; k];
        y[3] = 1.0;
        let xent = -(1.0f64 / k as f64).ln();
        let bce: f64 = y.iter().map(|&t| -(t * 0.5f64.ln() + (1.0 - t) * 0.5f64.ln())).sum();
        let mse: f64 = y.iter().map(|&t| 0.5 * (t - 0.5) * (t - 0.5)).sum();
        for (loss, want) in [(Loss::Xent, xent), (Loss::Bce, bce), (Loss::Mse, mse)] {
            assert!(
                (loss.uniform_guess(k) - want).abs() < 1e-12,
                "{loss}: {} vs {want}",
                loss.uniform_guess(k)
            );
        }
    }

    #[test]
    fn losses_are_finite_and_correct_at_extremes() {
        // bce at z = ±1000 with the "wrong" target: softplus(1000) − 0 = 1000.
        let mut z = [1000.0f32, -1000.0];
        let l = Loss::Bce.forward_row(&mut z, Some(&[0.0, 1.0]));
        assert_eq!(l, 2000.0);
        assert_eq!(z, [1.0, 0.0]);
        // Correct targets: loss 0 (up to e^-1000 underflow).
        let mut z = [1000.0f32, -1000.0];
        assert_eq!(Loss::Bce.forward_row(&mut z, Some(&[1.0, 0.0])), 0.0);
        // softmax of large equal logits is uniform.
        let mut z = [1000.0f32, 1000.0];
        let l = Loss::Xent.forward_row(&mut z, Some(&[1.0, 0.0]));
        assert!((l - std::f64::consts::LN_2).abs() < 1e-6);
        assert_eq!(z, [0.5, 0.5]);
    }

    #[test]
    fn delta_is_the_derivative_of_the_loss() {
        let y = [0.2f64, 0.7, 0.1];
        let z0 = [0.3f64, -1.2, 2.0];
        for loss in Loss::ALL {
            let mut a = z0;
            loss.forward_row(&mut a, Some(&y));
            let mut delta = [0.0; 3];
            loss.delta_row(&a, &y, &mut delta);
            for k in 0..3 {
                let h = 1e-6;
                let (mut zp, mut zm) = (z0, z0);
                zp[k] += h;
                zm[k] -= h;
                let numeric =
                    (loss.forward_row(&mut zp, Some(&y)) - loss.forward_row(&mut zm, Some(&y))) / (2.0 * h);
                assert!((delta[k] - numeric).abs() < 1e-7, "{loss} k={k}: {} vs {numeric}", delta[k]);
            }
        }
    }
}
