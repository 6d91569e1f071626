//! Momentum SGD on flat parameter slices:
//! `v ← μ·v − η·(g·s + λ'·w) ; w ← w + v`, where `s` turns the summed batch gradient into
//! a mean (1/B) and `λ'` is the L2 coefficient λ/n (0 for biases). Velocities below the
//! smallest normal number are flushed to 0.
//!
//! ```
//! use bp_par::optim::Sgd;
//! let sgd = Sgd { lr: 0.5, momentum: 0.0 };
//! let (mut w, mut v) = ([1.0f32], [0.0f32]);
//! sgd.step(&mut w, &mut v, &[0.4], 1.0, 0.0);
//! assert_eq!(w, [0.8]);
//! ```

use crate::scalar::flush;

/// Learning rate η and momentum μ.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sgd {
    /// The learning rate η.
    pub lr: f32,
    /// The momentum μ (0: plain gradient descent).
    pub momentum: f32,
}

impl Sgd {
    /// One update of a slice of weights `w` with velocities `v` and summed gradients `g`.
    #[inline]
    pub fn step(&self, w: &mut [f32], v: &mut [f32], g: &[f32], grad_scale: f32, decay: f32) {
        momentum_step(w, v, g, self.lr, self.momentum, grad_scale, decay);
    }
}

crate::multiversion! {
    /// `v ← flush(μ·v − η·(g·s + λ'·w)) ; w ← w + v` element by element.
    fn momentum_step(w: &mut [f32], v: &mut [f32], g: &[f32], lr: f32, mu: f32, grad_scale: f32, decay: f32) {
        for ((w, v), &g) in w.iter_mut().zip(v.iter_mut()).zip(g) {
            // A parameter whose gradient stays 0 has its velocity decay geometrically into
            // the subnormal range, where every operation on it costs a microcode assist:
            // flush it to 0 instead (a select, no branch).
            *v = flush(mu * *v - lr * (g * grad_scale + decay * *w));
            *w += *v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_velocity_without_gradient_decays_to_zero_never_subnormal() {
        let sgd = Sgd { lr: 0.1, momentum: 0.9 };
        let (mut w, mut v) = (vec![0.25f32; 19], vec![1e-30f32; 19]);
        let g = vec![0.0f32; 19];
        for _ in 0..2000 {
            sgd.step(&mut w, &mut v, &g, 1.0, 0.0);
            assert!(v.iter().all(|&v| v == 0.0 || v.is_normal()), "{v:?}");
        }
        assert!(v.iter().all(|&v| v == 0.0));
        // Without the flush, 0.9^n · 1e-30 passes through the subnormal range.
        assert!(!(1e-30f32 * 0.9f32.powi(200)).is_normal());
    }
}
