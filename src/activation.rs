//! Hidden-layer activations: `a = f(z + b)` fused with the bias add, and `δ ⊙= f'(a)`.
//!
//! Derivatives are expressed through the activation's *output* `a` (sigmoid: a(1−a),
//! tanh: 1−a², relu: [a > 0]), so the pre-activations never need to be kept.
//! The output layer's function belongs to the loss (see [`crate::loss`]).
//!
//! ```
//! use bp_par::activation::{sigmoid, Activation};
//! let mut z = [0.0f64, 1000.0, -1000.0];
//! Activation::Sigmoid.bias_activate(&mut z, &[0.0, 0.0, 0.0]);
//! assert_eq!(z, [0.5, 1.0, 0.0]);
//! assert_eq!(sigmoid(-1000.0f32), 0.0);
//! ```

use crate::gemm::Scalar;
use std::fmt;
use std::str::FromStr;

/// A hidden-layer activation function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    Sigmoid,
    Tanh,
    Relu,
}

/// Numerically stable logistic function: never evaluates `exp` of a large positive number.
#[inline]
pub fn sigmoid<T: Scalar>(x: T) -> T {
    if x >= T::zero() {
        T::one() / (T::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::one() + e)
    }
}

impl Activation {
    pub const ALL: [Activation; 3] = [Activation::Sigmoid, Activation::Tanh, Activation::Relu];

    pub fn name(self) -> &'static str {
        match self {
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
        }
    }

    /// `z ← f(z + bias)` for one row; `z` and `bias` have the layer's width.
    #[inline]
    pub fn bias_activate<T: Scalar>(self, z: &mut [T], bias: &[T]) {
        debug_assert_eq!(z.len(), bias.len());
        match self {
            Activation::Sigmoid => z.iter_mut().zip(bias).for_each(|(z, &b)| *z = sigmoid(*z + b)),
            Activation::Tanh => z.iter_mut().zip(bias).for_each(|(z, &b)| *z = (*z + b).tanh()),
            Activation::Relu => z.iter_mut().zip(bias).for_each(|(z, &b)| *z = (*z + b).max(T::zero())),
        }
    }

    /// `delta ← delta ⊙ f'(·)`, with the derivative written through the output `a`.
    #[inline]
    pub fn mul_derivative<T: Scalar>(self, delta: &mut [T], a: &[T]) {
        debug_assert_eq!(delta.len(), a.len());
        match self {
            Activation::Sigmoid => delta.iter_mut().zip(a).for_each(|(d, &a)| *d *= a * (T::one() - a)),
            Activation::Tanh => delta.iter_mut().zip(a).for_each(|(d, &a)| *d *= T::one() - a * a),
            Activation::Relu => delta.iter_mut().zip(a).for_each(|(d, &a)| {
                if a <= T::zero() {
                    *d = T::zero()
                }
            }),
        }
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
                    act.bias_activate(&mut v, &[0.0]);
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
    fn sigmoid_is_stable_at_extremes() {
        assert_eq!(sigmoid(1000.0f32), 1.0);
        assert_eq!(sigmoid(-1000.0f32), 0.0);
        assert!(sigmoid(-80.0f64) > 0.0);
        assert_eq!("relu".parse::<Activation>(), Ok(Activation::Relu));
        assert!("gelu".parse::<Activation>().is_err());
    }
}
