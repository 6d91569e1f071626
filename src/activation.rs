//! Hidden-layer activations: `a = f(z + b)` fused with the bias add, and `δ ⊙= f'(a)`.
//!
//! Derivatives are expressed through the activation's *output* `a` (sigmoid: a(1−a),
//! tanh: 1−a², relu: 1 where a > 0), so the pre-activations never need to be kept.
//! The output layer's function belongs to the loss (see [`crate::loss`]).
//!
//! ```
//! use bp_par::activation::{sigmoid, Activation};
//! let mut z = [0.0f64, 1000.0, -1000.0];
//! Activation::Sigmoid.bias_activate_unit(&mut z, 0.0);
//! assert_eq!(z, [0.5, 1.0, 0.0]);
//! assert_eq!(sigmoid(20.0f32), 1.0);
//! ```

use crate::scalar::{Scalar, flush};
use std::fmt;
use std::str::FromStr;

/// A hidden-layer activation function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// The logistic function 1/(1 + e⁻ᶻ), outputs in (0, 1).
    Sigmoid,
    /// The hyperbolic tangent, outputs in (−1, 1).
    Tanh,
    /// The rectifier max(0, z).
    Relu,
}

/// The logistic function 1/(1 + e⁻ˣ), branch-free; exactly 0 and 1 for large |x|, and
/// never subnormal (values below the smallest normal number are flushed to 0).
#[inline(always)]
pub fn sigmoid<T: Scalar>(x: T) -> T {
    flush(T::one() / (T::one() + (-x).fast_exp()))
}

impl Activation {
    /// Every activation, for parsing names and for tests that cover them all.
    pub const ALL: [Activation; 3] = [Activation::Sigmoid, Activation::Tanh, Activation::Relu];

    /// The name used on the command line and in model files.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
        }
    }

    /// `z ← f(z + bias)` for one unit's row of a feature-major block (one bias for all).
    #[inline]
    pub fn bias_activate_unit<T: Scalar>(self, z: &mut [T], bias: T) {
        match self {
            Activation::Sigmoid => sigmoid_unit(z, bias),
            Activation::Tanh => z.iter_mut().for_each(|z| *z = flush((*z + bias).tanh())),
            Activation::Relu => relu_unit(z, bias),
        }
    }

    /// `z[j] ← f(z[j] + bias[j])` for one sample's row of a sample-major block (a bias per
    /// unit): element by element the values of [`Activation::bias_activate_unit`].
    #[inline]
    pub fn bias_activate_row<T: Scalar>(self, z: &mut [T], bias: &[T]) {
        debug_assert_eq!(z.len(), bias.len());
        match self {
            Activation::Sigmoid => sigmoid_row(z, bias),
            Activation::Tanh => z.iter_mut().zip(bias).for_each(|(z, &b)| *z = flush((*z + b).tanh())),
            Activation::Relu => relu_row(z, bias),
        }
    }

    /// `delta ← delta ⊙ f'(·)`, with the derivative written through the output `a`; results
    /// below the smallest normal number are flushed to 0 (see [`flush`]).
    #[inline]
    pub fn mul_derivative<T: Scalar>(self, delta: &mut [T], a: &[T]) {
        debug_assert_eq!(delta.len(), a.len());
        match self {
            Activation::Sigmoid => sigmoid_slope(delta, a),
            Activation::Tanh => tanh_slope(delta, a),
            Activation::Relu => relu_slope(delta, a),
        }
    }
}

crate::simd::multiversion! {
    fn sigmoid_unit<T: Scalar>(z: &mut [T], bias: T) {
        z.iter_mut().for_each(|z| *z = sigmoid(*z + bias));
    }
}

crate::simd::multiversion! {
    fn sigmoid_row<T: Scalar>(z: &mut [T], bias: &[T]) {
        z.iter_mut().zip(bias).for_each(|(z, &b)| *z = sigmoid(*z + b));
    }
}

/// ReLU of `v`: a comparison rather than `max`, which IEEE lets return either zero for
/// max(−0, +0): this gives +0 for −0 and for NaN in every compiled copy.
#[inline(always)]
fn relu<T: Scalar>(v: T) -> T {
    if v > T::zero() { flush(v) } else { T::zero() }
}

crate::simd::multiversion! {
    fn relu_unit<T: Scalar>(z: &mut [T], bias: T) {
        z.iter_mut().for_each(|z| *z = relu(*z + bias));
    }
}

crate::simd::multiversion! {
    fn relu_row<T: Scalar>(z: &mut [T], bias: &[T]) {
        z.iter_mut().zip(bias).for_each(|(z, &b)| *z = relu(*z + b));
    }
}

crate::simd::multiversion! {
    fn sigmoid_slope<T: Scalar>(delta: &mut [T], a: &[T]) {
        delta.iter_mut().zip(a).for_each(|(d, &a)| *d = flush(*d * (a * (T::one() - a))));
    }
}

crate::simd::multiversion! {
    fn tanh_slope<T: Scalar>(delta: &mut [T], a: &[T]) {
        delta.iter_mut().zip(a).for_each(|(d, &a)| *d = flush(*d * (T::one() - a * a)));
    }
}

crate::simd::multiversion! {
    fn relu_slope<T: Scalar>(delta: &mut [T], a: &[T]) {
        delta.iter_mut().zip(a).for_each(|(d, &a)| *d = if a <= T::zero() { T::zero() } else { flush(*d) });
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Activation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Activation::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| format!("unknown activation {s:?} (expected sigmoid, tanh or relu)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivatives_match_finite_differences() {
        for act in Activation::ALL {
            for &z in &[-2.0f64, -0.3, 0.4, 1.7] {
                let f = |x: f64| {
                    let mut v = [x];
                    act.bias_activate_unit(&mut v, 0.0);
                    v[0]
                };
                let h = 1e-6;
                let numeric = (f(z + h) - f(z - h)) / (2.0 * h);
                let mut d = [1.0];
                act.mul_derivative(&mut d, &[f(z)]);
                assert!((d[0] - numeric).abs() < 1e-8, "{act} at {z}: {} vs {numeric}", d[0]);
            }
        }
    }

    #[test]
    fn outputs_and_slopes_are_never_subnormal() {
        for act in Activation::ALL {
            let mut z: Vec<f32> = (0..4000).map(|i| -100.0 + i as f32 * 0.05).collect();
            z.extend([-88.5, -87.9, 1e-39, -1e-39, f32::MIN_POSITIVE / 3.0]);
            let mut a = z.clone();
            act.bias_activate_unit(&mut a, 0.0);
            assert!(a.iter().all(|&v| v == 0.0 || v.is_normal()), "{act}: a subnormal output");
            let mut d = vec![1e-37f32; a.len()];
            act.mul_derivative(&mut d, &a);
            assert!(d.iter().all(|&v| v == 0.0 || v.is_normal()), "{act}: a subnormal delta");
        }
        // Sigmoid at -88.5 is 3.9e-39 in exact arithmetic: subnormal, flushed.
        assert_eq!(sigmoid(-88.5f32), 0.0);
    }

    #[test]
    fn sigmoid_is_stable_at_extremes() {
        assert_eq!(sigmoid(1000.0f32), 1.0);
        assert_eq!(sigmoid(-1000.0f32), 0.0);
        assert_eq!(sigmoid(-1000.0f64), 0.0);
        assert_eq!(sigmoid(f32::INFINITY), 1.0);
        assert!(sigmoid(-80.0f64) > 0.0);
        assert_eq!("relu".parse::<Activation>(), Ok(Activation::Relu));
        assert!("gelu".parse::<Activation>().is_err());
    }
}
