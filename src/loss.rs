//! Output layers and their losses: the loss value per sample and the output delta.
//!
//! | loss | output unit | per-sample loss | output delta ∂L/∂z |
//! |---|---|---|---|
//! | `xent` | softmax | −Σ_k y_k log softmax(z)_k | a − y |
//! | `mse` | sigmoid | ½·Σ_k (y_k − a_k)² | (a − y) ⊙ a(1 − a) |
//! | `bce` | sigmoid | −Σ_k [y_k log a_k + (1 − y_k) log(1 − a_k)] | a − y |
//! | `mse` with [`Output::Linear`] | identity | ½·Σ_k (y_k − z_k)² | z − y |
//!
//! Each loss has its own output unit ([`Loss::default_output`]); `mse` may instead have
//! linear outputs, for real-valued targets outside (0, 1) (regression).
//!
//! Losses are computed from the pre-activations `z` with log-sum-exp and softplus, so they
//! stay finite for any finite `z` (z = ±1000 included); probabilities are then written over z.
//!
//! ```
//! use bp_par::loss::{Loss, Output};
//! let mut z = [1000.0f64, -1000.0];
//! let l = Loss::Xent.forward_row(Output::Softmax, &mut z, Some(&[0.0, 1.0]));
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

/// The output layer's units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// Softmax over the outputs (probabilities summing to 1).
    Softmax,
    /// The logistic function per output, values in (0, 1).
    Sigmoid,
    /// The identity: the outputs are the pre-activations (regression on any real targets).
    Linear,
}

impl Output {
    /// Every output unit, for parsing names and for tests that cover them all.
    pub const ALL: [Output; 3] = [Output::Softmax, Output::Sigmoid, Output::Linear];

    /// The name used on the command line and in model files' `activations`.
    pub fn name(self) -> &'static str {
        match self {
            Output::Softmax => "softmax",
            Output::Sigmoid => "sigmoid",
            Output::Linear => "linear",
        }
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Output {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Output::ALL
            .into_iter()
            .find(|o| o.name() == s)
            .ok_or_else(|| format!("unknown output unit {s:?} (expected softmax, sigmoid or linear)"))
    }
}

/// The mean per-sample loss ½·Σ_k y_k² of predicting 0 for every target in `values`
/// (`n_outputs` per row), the know-nothing reference of linear outputs (a zero-initialised
/// output layer's prediction), but never below [`Loss::uniform_guess`]'s `k/8` for mse, so
/// targets near 0 do not make every loss look exploded.
pub fn linear_reference(values: &[f32], n_outputs: usize) -> f64 {
    let rows = values.len() / n_outputs.max(1);
    let sum_sq: f64 = values.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
    let zero_guess = if rows == 0 { 0.0 } else { 0.5 * sum_sq / rows as f64 };
    zero_guess.max(Loss::Mse.uniform_guess(n_outputs))
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

    /// The output layer's activation with the loss's own output unit.
    pub fn output_activation(self) -> &'static str {
        self.default_output().name()
    }

    /// The loss's own output unit: softmax for xent, sigmoid for mse and bce.
    pub fn default_output(self) -> Output {
        match self {
            Loss::Xent => Output::Softmax,
            Loss::Mse | Loss::Bce => Output::Sigmoid,
        }
    }

    /// The output units the loss can train: its own, and linear for mse.
    pub fn outputs(self) -> &'static [Output] {
        match self {
            Loss::Xent => &[Output::Softmax],
            Loss::Bce => &[Output::Sigmoid],
            Loss::Mse => &[Output::Sigmoid, Output::Linear],
        }
    }

    /// For one sample: returns the loss for targets `y` (0 when `y` is None) computed stably
    /// from the pre-activations `z` (bias already added), then overwrites `z` with the outputs
    /// of the unit `output` (one of [`Loss::outputs`]; any other is the loss's own). Linear
    /// outputs leave `z` as it is, with the loss ½·Σ_k (y_k − z_k)².
    #[inline]
    pub fn forward_row<T: Scalar>(self, output: Output, z: &mut [T], y: Option<&[T]>) -> f64 {
        let mut loss = 0.0f64;
        let linear = self == Loss::Mse && output == Output::Linear;
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
                if !linear {
                    z.iter_mut().for_each(|v| *v = sigmoid(*v));
                }
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

    /// `delta ← ∂L/∂z` for one sample, from the outputs `a` of the unit `output` (as in
    /// [`Loss::forward_row`]) and the targets `y`: `a − y` for softmax with xent, sigmoid with
    /// bce and linear outputs with mse, `(a − y)·a·(1 − a)` for sigmoid outputs with mse.
    #[inline]
    pub fn delta_row<T: Scalar>(self, output: Output, a: &[T], y: &[T], delta: &mut [T]) {
        let linear = self == Loss::Mse && output == Output::Linear;
        match self {
            _ if linear => {
                for ((d, &a), &y) in delta.iter_mut().zip(a).zip(y) {
                    *d = flush(a - y);
                }
            }
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
        let l = Loss::Bce.forward_row(Output::Sigmoid, &mut z, Some(&[0.0, 1.0]));
        assert_eq!(l, 2000.0);
        assert_eq!(z, [1.0, 0.0]);
        // Correct targets: loss 0 (up to e^-1000 underflow).
        let mut z = [1000.0f32, -1000.0];
        assert_eq!(Loss::Bce.forward_row(Output::Sigmoid, &mut z, Some(&[1.0, 0.0])), 0.0);
        // softmax of large equal logits is uniform.
        let mut z = [1000.0f32, 1000.0];
        let l = Loss::Xent.forward_row(Output::Softmax, &mut z, Some(&[1.0, 0.0]));
        assert!((l - std::f64::consts::LN_2).abs() < 1e-6);
        assert_eq!(z, [0.5, 0.5]);
    }

    #[test]
    fn delta_is_the_derivative_of_the_loss() {
        let y = [0.2f64, 0.7, 0.1];
        let z0 = [0.3f64, -1.2, 2.0];
        for loss in Loss::ALL {
            for &out in loss.outputs() {
                let mut a = z0;
                loss.forward_row(out, &mut a, Some(&y));
                let mut delta = [0.0; 3];
                loss.delta_row(out, &a, &y, &mut delta);
                for k in 0..3 {
                    let h = 1e-6;
                    let (mut zp, mut zm) = (z0, z0);
                    zp[k] += h;
                    zm[k] -= h;
                    let numeric = (loss.forward_row(out, &mut zp, Some(&y))
                        - loss.forward_row(out, &mut zm, Some(&y)))
                        / (2.0 * h);
                    assert!(
                        (delta[k] - numeric).abs() < 1e-7,
                        "{loss}/{out} k={k}: {} vs {numeric}",
                        delta[k]
                    );
                }
            }
        }
    }

    #[test]
    fn linear_outputs_are_the_pre_activations() {
        // ½·((1.5 − (−0.37))² + (−2 − 1.55)²) = ½·(3.4969 + 12.6025) = 8.0497.
        let mut z = [1.5f64, -2.0];
        let l = Loss::Mse.forward_row(Output::Linear, &mut z, Some(&[-0.37, 1.55]));
        assert!((l - 8.0497).abs() < 1e-12, "{l}");
        assert_eq!(z, [1.5, -2.0]);
        // Another loss ignores a unit it cannot have.
        let mut z = [0.0f64, 0.0];
        Loss::Xent.forward_row(Output::Linear, &mut z, None);
        assert_eq!(z, [0.5, 0.5]);
        assert_eq!("linear".parse::<Output>(), Ok(Output::Linear));
        assert!("relu".parse::<Output>().is_err());
    }

    #[test]
    fn the_linear_reference_is_predicting_zero_floored_at_k_over_8() {
        // Rows (3, −4) and (1, 0): ½·(25 + 1)/2 = 6.5 > 2/8.
        assert_eq!(linear_reference(&[3.0, -4.0, 1.0, 0.0], 2), 6.5);
        // Targets near 0: the floor k/8.
        assert_eq!(linear_reference(&[0.01, 0.0], 2), 0.25);
        assert_eq!(linear_reference(&[], 3), 0.375);
    }
}
