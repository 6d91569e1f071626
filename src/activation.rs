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

use crate::gemm::Scalar;
use std::fmt;
use std::str::FromStr;

/// A hidden-layer activation function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// 1 / (1 + e^−z): the classic unit of backpropagation.
    Sigmoid,
    /// tanh(z).
    Tanh,
    /// max(0, z).
    Relu,
}

/// eˣ in f32 without branches or calls, so loops over it vectorise: Cody-Waite range
/// reduction x = n·ln2 + r, |r| ≤ ln2/2, then Cephes' degree-6 polynomial for eʳ and 2ⁿ
/// built from its bits. Within 2 ulp of the exact value for x in [−87.3, 88]; below, the
/// result stays at ~1.2e−38 (the smallest normal range), above 88 it is +∞, and NaN stays
/// NaN. So 1/(1 + eˣ) saturates to exactly 0 and 1.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding 1.5·2²³ rounds to the nearest integer in the default rounding mode.
    const ROUND: f32 = 12_582_912.0;
    // n = 128 at the top gives the bits of +∞.
    let x = x.clamp(-87.336_54, 89.0);
    let t = x * LOG2E + ROUND;
    let n = t - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    // n is in [−126, 128]: its bits are those of t minus those of ROUND.
    let n = t.to_bits().wrapping_sub(ROUND.to_bits()) as i32;
    y * f32::from_bits(((n + 127) as u32) << 23)
}

/// The logistic function 1/(1 + e⁻ˣ), branch-free; exactly 0 and 1 for large |x|, and
/// never subnormal (values below the smallest normal number are flushed to 0).
#[inline(always)]
pub fn sigmoid<T: Scalar>(x: T) -> T {
    flush(T::one() / (T::one() + (-x).fast_exp()))
}

/// `x`, or 0 if `|x|` is below the smallest normal number (a select, no branch).
///
/// Subnormal operands cost x86 cores a microcode assist (~100 cycles) per operation; rather
/// than changing the threads' floating-point mode (undefined behaviour for Rust code,
/// rust-lang/stdarch#1454), the hot loops keep subnormals out explicitly: activations,
/// deltas and velocities pass through this. The change is below 1.2e−38 in absolute value.
#[inline(always)]
pub fn flush<T: Scalar>(x: T) -> T {
    if x.abs() < T::min_positive_value() { T::zero() } else { x }
}

impl Activation {
    /// Every activation, in the order help texts list them.
    pub const ALL: [Activation; 3] = [Activation::Sigmoid, Activation::Tanh, Activation::Relu];

    /// The name used in model files and on the command line.
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

crate::multiversion! {
    fn sigmoid_unit<T: Scalar>(z: &mut [T], bias: T) {
        z.iter_mut().for_each(|z| *z = sigmoid(*z + bias));
    }
}

crate::multiversion! {
    fn relu_unit<T: Scalar>(z: &mut [T], bias: T) {
        z.iter_mut().for_each(|z| *z = flush((*z + bias).max(T::zero())));
    }
}

crate::multiversion! {
    fn sigmoid_slope<T: Scalar>(delta: &mut [T], a: &[T]) {
        delta.iter_mut().zip(a).for_each(|(d, &a)| *d = flush(*d * (a * (T::one() - a))));
    }
}

crate::multiversion! {
    fn tanh_slope<T: Scalar>(delta: &mut [T], a: &[T]) {
        delta.iter_mut().zip(a).for_each(|(d, &a)| *d = flush(*d * (T::one() - a * a)));
    }
}

crate::multiversion! {
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
    fn exp_f32_is_within_two_ulp() {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x < 88.0 {
            let (got, want) = (exp_f32(x) as f64, (x as f64).exp());
            worst = worst.max(((got - want) / want).abs());
            x += 0.001_37;
        }
        assert!(worst < 2.0 * f32::EPSILON as f64, "relative error {worst:e}");
        assert!(exp_f32(f32::NAN).is_nan());
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f32(100.0), f32::INFINITY);
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
