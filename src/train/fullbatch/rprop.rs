//! iRprop− (Igel & Hüsken 2000, after Riedmiller & Braun 1993), FANN's default training
//! algorithm: every parameter has its own step size Δ, adapted from the signs of its
//! full-batch gradient in two successive iterations:
//! ```text
//! g·g_prev > 0:  Δ ← min(Δ·η⁺, Δmax) ;  w ← w − sign(g)·Δ ;  g_prev ← g
//! g·g_prev < 0:  Δ ← max(Δ·η⁻, Δmin) ;                       g_prev ← 0
//! otherwise:                              w ← w − sign(g)·Δ ;  g_prev ← g
//! ```
//! with η⁺ = 1.2, η⁻ = 0.5, Δ₀ = 0.1, Δmax = 50, Δmin = 1e-6. One iteration is one gradient
//! evaluation and one step; the loss reported is the one at the point the step starts from.

use super::Method;
use super::objective::{Eval, Objective};
use super::state::FullBatchMethodState;

/// η⁺: the growth of a step whose gradient kept its sign.
pub const ETA_PLUS: f32 = 1.2;
/// η⁻: the shrinkage of a step whose gradient changed sign.
pub const ETA_MINUS: f32 = 0.5;
/// Δ₀: every parameter's first step.
pub const DELTA_0: f32 = 0.1;
/// Δmax: the largest step.
pub const DELTA_MAX: f32 = 50.0;
/// Δmin: the smallest step.
pub const DELTA_MIN: f32 = 1e-6;

/// The step sizes and the previous gradient of every parameter.
pub(super) struct Rprop {
    delta: Vec<f32>,
    prev: Vec<f32>,
    grad: Vec<f32>,
    last: Eval,
}

impl Rprop {
    /// Step sizes Δ₀ and no previous gradient for `n` parameters.
    pub(super) fn new(n: usize) -> Self {
        Rprop {
            delta: vec![DELTA_0; n],
            prev: vec![0.0; n],
            grad: vec![0.0; n],
            last: Eval { loss: f64::NAN, correct: 0 },
        }
    }

    /// The step sizes and previous gradients [`Method::state`] took, continued.
    pub(super) fn restore(delta: Vec<f32>, prev: Vec<f32>) -> Self {
        let n = delta.len();
        Rprop { delta, prev, grad: vec![0.0; n], last: Eval { loss: f64::NAN, correct: 0 } }
    }
}

/// One iRprop− update of `w` with gradient `g`, step sizes `delta` and previous gradient `prev`.
pub(super) fn step(w: &mut [f32], g: &[f32], delta: &mut [f32], prev: &mut [f32]) {
    for (((w, &g), d), p) in w.iter_mut().zip(g).zip(delta.iter_mut()).zip(prev.iter_mut()) {
        let turn = g * *p;
        if turn < 0.0 {
            *d = (*d * ETA_MINUS).max(DELTA_MIN);
            *p = 0.0;
            continue;
        }
        if turn > 0.0 {
            *d = (*d * ETA_PLUS).min(DELTA_MAX);
        }
        if g > 0.0 {
            *w -= *d;
        } else if g < 0.0 {
            *w += *d;
        }
        *p = g;
    }
}

impl Method for Rprop {
    fn current(&self) -> Eval {
        self.last
    }

    fn state(&self) -> FullBatchMethodState {
        FullBatchMethodState::Rprop { delta: self.delta.clone(), prev: self.prev.clone() }
    }

    fn iterate(&mut self, obj: &mut dyn Objective, x: &mut [f32]) -> bool {
        self.last = obj.eval(x, &mut self.grad);
        if !self.last.loss.is_finite() {
            return false;
        }
        step(x, &self.grad, &mut self.delta, &mut self.prev);
        true
    }
}
