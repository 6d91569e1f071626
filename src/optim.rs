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

use crate::activation::flush;

/// Learning rate η and momentum μ.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sgd {
    pub lr: f32,
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
