//! The optimisers' element-wise updates on flat parameter slices, and the choice of
//! optimiser in a run's settings ([`Optimizer`]). With `s` the factor that turns the summed
//! batch gradient into a mean (1/B, times the clipping factor when the gradient's norm is
//! clipped) and `λ'` the L2 coefficient λ/n (0 for biases), `d = g·s + λ'·w`:
//!
//! - momentum SGD (classical): `v ← μ·v − η·d ; w ← w + v`;
//! - Nesterov (the PyTorch/Sutskever form, the look-ahead written as an update):
//!   `v ← μ·v − η·d ; w ← w + μ·v − η·d`;
//! - Adam (Kingma & Ba, with bias correction, step t ≥ 1):
//!   `m ← β1·m + (1−β1)·d ; v ← β2·v + (1−β2)·d² ;
//!   w ← w − (η/(1−β1ᵗ))·m / (√v/√(1−β2ᵗ) + ε)`, and with decoupled decay (AdamW) `d = g·s`
//!   and first `w ← w − η·λ'·w`.
//!
//! Velocities and moments below the smallest normal number are flushed to 0. The trainer
//! keeps Adam's two moments interleaved (`m₀ v₀ m₁ v₁ …`) so that every state buffer is cut
//! by the parameters' ranges times a fixed stride; checkpoints store them per layer.
//! Every update is element-wise: each parameter's new value depends on its own gradient and
//! state only, so the result does not depend on how the parameters are cut into blocks.
//!
//! ```
//! use bp_par::optim::{Adam, Sgd};
//! let sgd = Sgd { lr: 0.5, momentum: 0.0 };
//! let (mut w, mut v) = ([1.0f32], [0.0f32]);
//! sgd.step(&mut w, &mut v, &[0.4], 1.0, 0.0);
//! assert_eq!(w, [0.8]);
//! // Adam's first step moves every weight by about η against its gradient's sign.
//! let (mut w, mut mv) = ([1.0f32, 1.0], [0.0f32; 4]);
//! Adam::default().step(0.1, 1, &mut w, &mut mv, &[0.4, -3.0], 1.0, 0.0);
//! assert!((w[0] - 0.9).abs() < 1e-6 && (w[1] - 1.1).abs() < 1e-6);
//! ```

use crate::scalar::flush;

/// The optimiser of a mini-batch run. The learning rate and the momentum are the
/// [`crate::train::TrainConfig`]'s `lr` and `momentum` (Adam has no use for `momentum`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimizer {
    /// Momentum SGD: classical momentum, or Nesterov's when `nesterov`.
    Sgd {
        /// Nesterov's momentum instead of the classical one.
        nesterov: bool,
    },
    /// Adam, with its constants.
    Adam(Adam),
}

impl Default for Optimizer {
    fn default() -> Self {
        Optimizer::Sgd { nesterov: false }
    }
}

impl Optimizer {
    /// The name the command line uses: `sgd` or `adam`.
    pub fn name(&self) -> &'static str {
        match self {
            Optimizer::Sgd { .. } => "sgd",
            Optimizer::Adam(_) => "adam",
        }
    }

    /// State values kept per parameter: 1 (the velocity) or 2 (Adam's moments).
    pub fn state_per_param(&self) -> usize {
        match self {
            Optimizer::Sgd { .. } => 1,
            Optimizer::Adam(_) => 2,
        }
    }
}

impl std::fmt::Display for Optimizer {
    /// `sgd`, `sgd (nesterov)`, `adam (beta1 0.9, beta2 0.999, eps 1e-8)` with `, decoupled
    /// decay` when set.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Optimizer::Sgd { nesterov: false } => write!(f, "sgd"),
            Optimizer::Sgd { nesterov: true } => write!(f, "sgd (nesterov)"),
            Optimizer::Adam(a) => {
                write!(f, "adam (beta1 {}, beta2 {}, eps {}", a.beta1, a.beta2, crate::error::short(a.eps))?;
                if a.decoupled_decay {
                    write!(f, ", decoupled decay")?;
                }
                write!(f, ")")
            }
        }
    }
}

/// Adam's constants: the moments' decay rates β1 and β2, ε, and whether the L2 decay is
/// decoupled from the gradient (AdamW). Defaults: Kingma & Ba's 0.9, 0.999, 1e-8, L2 in the
/// gradient.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adam {
    /// β1, the first moment's decay rate, in [0, 1).
    pub beta1: f32,
    /// β2, the second moment's decay rate, in [0, 1).
    pub beta2: f32,
    /// ε, added to the denominator, positive.
    pub eps: f32,
    /// AdamW: `w ← w − η·λ'·w` applied on its own instead of adding `λ'·w` to the gradient.
    pub decoupled_decay: bool,
}

impl Default for Adam {
    fn default() -> Self {
        Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8, decoupled_decay: false }
    }
}

impl Adam {
    /// Step `t` (1-based) of weights `w` with learning rate `lr`, moments `mv` interleaved
    /// (`m₀ v₀ m₁ v₁ …`, two values per weight) and summed gradients `g`.
    #[allow(clippy::too_many_arguments)]
    pub fn step(
        &self,
        lr: f32,
        t: u64,
        w: &mut [f32],
        mv: &mut [f32],
        g: &[f32],
        grad_scale: f32,
        decay: f32,
    ) {
        assert_eq!(mv.len(), 2 * w.len(), "Adam::step: two moments per weight");
        Rule::adam(self, lr, t).apply(w, mv, g, grad_scale, decay);
    }
}

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

    /// [`Sgd::step`] with Nesterov's momentum.
    #[inline]
    pub fn step_nesterov(&self, w: &mut [f32], v: &mut [f32], g: &[f32], grad_scale: f32, decay: f32) {
        nesterov_step(w, v, g, self.lr, self.momentum, grad_scale, decay);
    }
}

/// One step's update rule with its constants, applied block by block by the trainer.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Rule {
    Momentum(Sgd),
    Nesterov(Sgd),
    Adam(AdamStep),
}

/// Adam's constants for one step t: `step = η/(1−β1ᵗ)`, `inv_sqrt_bc2 = 1/√(1−β2ᵗ)` (both
/// computed in f64), `one_minus_*` = 1 − β, `coupled` = 1 (L2 in the gradient) or 0, and
/// `lr_decay` = η (decoupled) or 0.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AdamStep {
    beta1: f32,
    beta2: f32,
    one_minus_beta1: f32,
    one_minus_beta2: f32,
    eps: f32,
    step: f32,
    inv_sqrt_bc2: f32,
    coupled: f32,
    lr_decay: f32,
}

impl Rule {
    /// The rule of `opt` for step `t` (1-based; used by Adam only).
    pub(crate) fn new(opt: &Optimizer, lr: f32, momentum: f32, t: u64) -> Rule {
        let sgd = Sgd { lr, momentum };
        match opt {
            Optimizer::Sgd { nesterov: false } => Rule::Momentum(sgd),
            Optimizer::Sgd { nesterov: true } => Rule::Nesterov(sgd),
            Optimizer::Adam(a) => Rule::adam(a, lr, t),
        }
    }

    fn adam(a: &Adam, lr: f32, t: u64) -> Rule {
        let t = t.clamp(1, i32::MAX as u64) as i32;
        let bc1 = 1.0 - (a.beta1 as f64).powi(t);
        let bc2 = 1.0 - (a.beta2 as f64).powi(t);
        Rule::Adam(AdamStep {
            beta1: a.beta1,
            beta2: a.beta2,
            one_minus_beta1: 1.0 - a.beta1,
            one_minus_beta2: 1.0 - a.beta2,
            eps: a.eps,
            step: (lr as f64 / bc1) as f32,
            inv_sqrt_bc2: (1.0 / bc2.sqrt()) as f32,
            coupled: if a.decoupled_decay { 0.0 } else { 1.0 },
            lr_decay: if a.decoupled_decay { lr } else { 0.0 },
        })
    }

    /// Updates the weights `w` with their state `state` (1 or 2 values per weight, see
    /// [`Optimizer::state_per_param`]) from the summed gradients `g`.
    #[inline]
    pub(crate) fn apply(&self, w: &mut [f32], state: &mut [f32], g: &[f32], grad_scale: f32, decay: f32) {
        match *self {
            Rule::Momentum(s) => s.step(w, state, g, grad_scale, decay),
            Rule::Nesterov(s) => s.step_nesterov(w, state, g, grad_scale, decay),
            Rule::Adam(a) => adam_step(w, state, g, a, grad_scale, decay),
        }
    }
}

crate::simd::multiversion! {
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

crate::simd::multiversion! {
    /// `d = g·s + λ'·w ; v ← flush(μ·v − η·d) ; w ← w + (μ·v − η·d)` element by element.
    fn nesterov_step(w: &mut [f32], v: &mut [f32], g: &[f32], lr: f32, mu: f32, grad_scale: f32, decay: f32) {
        for ((w, v), &g) in w.iter_mut().zip(v.iter_mut()).zip(g) {
            let step = lr * (g * grad_scale + decay * *w);
            *v = flush(mu * *v - step);
            *w += mu * *v - step;
        }
    }
}

crate::simd::multiversion! {
    /// Adam element by element, the moments interleaved in `mv` (see [`AdamStep`]).
    fn adam_step(w: &mut [f32], mv: &mut [f32], g: &[f32], a: AdamStep, grad_scale: f32, decay: f32) {
        for ((w, mv), &g) in w.iter_mut().zip(mv.chunks_exact_mut(2)).zip(g) {
            let d = g * grad_scale + a.coupled * decay * *w;
            let m = flush(a.beta1 * mv[0] + a.one_minus_beta1 * d);
            let v = flush(a.beta2 * mv[1] + a.one_minus_beta2 * (d * d));
            mv[0] = m;
            mv[1] = v;
            *w -= a.lr_decay * decay * *w;
            *w -= a.step * (m / (v.sqrt() * a.inv_sqrt_bc2 + a.eps));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Adam by its formula in f64 (Kingma & Ba, Algorithm 1, with ε outside the square root
    /// of the bias-corrected v̂, and AdamW's decay `w ← w − η·λ'·w` first when decoupled).
    fn adam_f64(a: &Adam, lr: f64, steps: &[Vec<f64>], w0: &[f64], decay: f64) -> Vec<Vec<f64>> {
        let (b1, b2, eps) = (a.beta1 as f64, a.beta2 as f64, a.eps as f64);
        let (mut w, mut m, mut v) = (w0.to_vec(), vec![0.0; w0.len()], vec![0.0; w0.len()]);
        let mut out = vec![];
        for (t, g) in steps.iter().enumerate() {
            let t = t as i32 + 1;
            for i in 0..w.len() {
                let d = g[i] + if a.decoupled_decay { 0.0 } else { decay * w[i] };
                m[i] = b1 * m[i] + (1.0 - b1) * d;
                v[i] = b2 * v[i] + (1.0 - b2) * d * d;
                let (m_hat, v_hat) = (m[i] / (1.0 - b1.powi(t)), v[i] / (1.0 - b2.powi(t)));
                if a.decoupled_decay {
                    w[i] -= lr * decay * w[i];
                }
                w[i] -= lr * m_hat / (v_hat.sqrt() + eps);
            }
            out.push(w.clone());
        }
        out
    }

    #[test]
    fn adams_first_three_steps_match_the_formula_in_f64() {
        // Gradients of different signs and scales, one that stays 0 and one that changes sign,
        // summed over a batch of 4 (grad_scale 1/4); L2 on, coupled and decoupled; the
        // constants of Kingma & Ba and others whose bias correction is large.
        let w0 = [0.5f32, -1.25, 2.0, 0.0, 3.0e-3];
        let grads =
            [[0.8f32, -0.04, 4.0, 0.0, 1e-3], [0.6, 0.02, 3.0, 0.0, -2e-3], [-0.4, -0.04, 5.0, 0.0, 1e-3]];
        let (lr, scale, decay) = (0.01f32, 0.25f32, 0.1f32);
        for beta1 in [0.9f32, 0.5] {
            for beta2 in [0.999f32, 0.9] {
                for decoupled_decay in [false, true] {
                    let a = Adam { beta1, beta2, eps: 1e-8, decoupled_decay };
                    let steps: Vec<Vec<f64>> =
                        grads.iter().map(|g| g.iter().map(|&g| g as f64 * scale as f64).collect()).collect();
                    let w0_64: Vec<f64> = w0.iter().map(|&w| w as f64).collect();
                    let want = adam_f64(&a, lr as f64, &steps, &w0_64, decay as f64);
                    let (mut w, mut mv) = (w0, [0.0f32; 10]);
                    for (t, g) in grads.iter().enumerate() {
                        a.step(lr, t as u64 + 1, &mut w, &mut mv, g, scale, decay);
                        for i in 0..w.len() {
                            // f32 rounding of a handful of operations, relative to the step η.
                            let err = (w[i] as f64 - want[t][i]).abs();
                            assert!(
                                err < 1e-6 * (1.0 + want[t][i].abs()),
                                "{a:?} step {} w{i}: {} vs {}",
                                t + 1,
                                w[i],
                                want[t][i]
                            );
                        }
                    }
                    // Step 1 moves each weight with a gradient by η·sign(d) (m̂/√v̂ = ±1), up to ε.
                    let mut w1 = w0;
                    a.step(lr, 1, &mut w1, &mut [0.0; 10], &grads[0], scale, 0.0);
                    assert!((w1[0] - (w0[0] - lr)).abs() < 1e-7 && (w1[1] - (w0[1] + lr)).abs() < 1e-7);
                    assert_eq!(w1[3], w0[3]);
                }
            }
        }
    }

    #[test]
    fn nesterov_differs_from_classical_momentum_as_the_formulas_say() {
        // f(w) = ½·a·w², gradient a·w, from w = 1: both recurrences in f64 against the f32 steps.
        let (lr, mu, a) = (0.1f32, 0.9f32, 2.0f32);
        let sgd = Sgd { lr, momentum: mu };
        let (mut wc, mut vc, mut wn, mut vn) = ([1.0f32], [0.0f32], [1.0f32], [0.0f32]);
        let (mut rc, mut rvc, mut rn, mut rvn) = (1.0f64, 0.0f64, 1.0f64, 0.0f64);
        let (lr64, mu64, a64) = (lr as f64, mu as f64, a as f64);
        for step in 0..30 {
            let (gc, gn) = ([a * wc[0]], [a * wn[0]]);
            sgd.step(&mut wc, &mut vc, &gc, 1.0, 0.0);
            sgd.step_nesterov(&mut wn, &mut vn, &gn, 1.0, 0.0);
            // Classical: v ← μv − ηaw ; w ← w + v.
            rvc = mu64 * rvc - lr64 * a64 * rc;
            rc += rvc;
            // Nesterov: v ← μv − ηaw ; w ← w + μv − ηaw (the same v, and the step looks ahead).
            let g = a64 * rn;
            rvn = mu64 * rvn - lr64 * g;
            rn += mu64 * rvn - lr64 * g;
            for (got, want) in [(wc[0], rc), (vc[0], rvc), (wn[0], rn), (vn[0], rvn)] {
                assert!((got as f64 - want).abs() < 1e-5, "step {step}: {got} vs {want}");
            }
        }
        // The difference after one step from rest is exactly the look-ahead μ·v₁ = −μ·η·a·w₀.
        let (mut w1c, mut w1n) = ([1.0f32], [1.0f32]);
        sgd.step(&mut w1c, &mut [0.0], &[a], 1.0, 0.0);
        sgd.step_nesterov(&mut w1n, &mut [0.0], &[a], 1.0, 0.0);
        // (Up to the rounding of w₁ near 0.8 and 0.62: 1 ulp each.)
        assert!(((w1n[0] - w1c[0]) - mu * -(lr * a)).abs() <= 2.0 * f32::EPSILON, "{w1n:?} {w1c:?}");
        // Nesterov damps the oscillation of heavy momentum on this quadratic.
        assert!(rn.abs() < rc.abs() && wn[0].abs() < wc[0].abs());
    }

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
