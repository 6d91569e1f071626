//! Limited-memory BFGS (Nocedal 1980; Liu & Nocedal 1989): the direction is −H·∇f, with H
//! the inverse-Hessian estimate of the last `m` steps applied by the two-loop recursion,
//! scaled by γ = sᵀy / yᵀy of the newest pair; the step comes from the Wolfe-Powell line
//! search shared with conjugate gradient, starting at 1 (at 1 / (1 − d1) along the steepest
//! descent of the first iteration or after a reset). A pair with sᵀy ≤ 0 is not stored. A
//! failed search clears the history and retries along the steepest descent; a second failure
//! in a row ends the run.

use super::Method;
use super::linesearch::{Found, Start, axpy, dot, search};
use super::objective::{Eval, Objective};
use super::state::FullBatchMethodState;

/// The state between iterations.
pub(super) struct Lbfgs {
    /// The last `m` steps sₖ = xₖ₊₁ − xₖ and gradient changes yₖ = gₖ₊₁ − gₖ, oldest first
    /// from `first` (a ring of `m` slots), with ρₖ = 1 / (yₖ·sₖ).
    steps: Vec<Vec<f32>>,
    changes: Vec<Vec<f32>>,
    rho: Vec<f64>,
    first: usize,
    len: usize,
    /// ∇f(x) and f(x).
    grad: Vec<f32>,
    f1: Eval,
    /// The search direction, the new gradient, the saved point, the two-loop's α.
    dir: Vec<f32>,
    grad2: Vec<f32>,
    x0: Vec<f32>,
    alpha: Vec<f64>,
    ls_failed: bool,
}

impl Lbfgs {
    /// Evaluates the objective at `x`; `memory` pairs are kept (at least 1).
    pub(super) fn new(obj: &mut dyn Objective, x: &[f32], memory: usize) -> Self {
        let (n, m) = (x.len(), memory.max(1));
        let mut grad = vec![0.0; n];
        let f1 = obj.eval(x, &mut grad);
        Lbfgs::empty(grad, f1, m, false)
    }

    /// No pairs yet, at the point with gradient `grad` and evaluation `f1`; room for `m`.
    fn empty(grad: Vec<f32>, f1: Eval, m: usize, ls_failed: bool) -> Self {
        let n = grad.len();
        Lbfgs {
            steps: vec![vec![0.0; n]; m],
            changes: vec![vec![0.0; n]; m],
            rho: vec![0.0; m],
            first: 0,
            len: 0,
            grad,
            f1,
            dir: vec![0.0; n],
            grad2: vec![0.0; n],
            x0: vec![0.0; n],
            alpha: vec![0.0; m],
            ls_failed,
        }
    }

    /// The state [`Method::state`] took (pairs oldest first, at most `memory`), continued:
    /// the pairs go to slots 0, 1, ... (the ring's slots only store, so the arithmetic is the
    /// same).
    pub(super) fn restore(
        pairs: (Vec<Vec<f32>>, Vec<Vec<f32>>, Vec<f64>),
        grad: Vec<f32>,
        f1: Eval,
        failed: bool,
        memory: usize,
    ) -> Self {
        let (steps, changes, rho) = pairs;
        let (m, len) = (memory.max(1), steps.len());
        let mut lb = Lbfgs { len, ..Lbfgs::empty(grad, f1, m, failed) };
        for (k, ((s, y), r)) in steps.into_iter().zip(changes).zip(rho).enumerate() {
            (lb.steps[k], lb.changes[k], lb.rho[k]) = (s, y, r);
        }
        lb
    }

    /// `dir ← −H·grad` by the two-loop recursion over the stored pairs.
    fn direction(&mut self) {
        let m = self.steps.len();
        let q = &mut self.dir;
        q.copy_from_slice(&self.grad);
        for k in (0..self.len).rev() {
            let i = (self.first + k) % m;
            let a = self.rho[i] * dot(&self.steps[i], q);
            self.alpha[k] = a;
            axpy(q, -a, &self.changes[i]);
        }
        if self.len > 0 {
            let i = (self.first + self.len - 1) % m;
            let y = &self.changes[i];
            let gamma = 1.0 / (self.rho[i] * dot(y, y));
            q.iter_mut().for_each(|v| *v = (*v as f64 * gamma) as f32);
        }
        for k in 0..self.len {
            let i = (self.first + k) % m;
            let b = self.rho[i] * dot(&self.changes[i], q);
            axpy(q, self.alpha[k] - b, &self.steps[i]);
        }
        q.iter_mut().for_each(|v| *v = -*v);
    }

    /// Stores the pair of the step from `x0` to `x` (gradients `grad` → `grad2`) when sᵀy > 0.
    fn remember(&mut self, x: &[f32]) {
        let m = self.steps.len();
        let i = (self.first + self.len) % m;
        for ((s, &a), &b) in self.steps[i].iter_mut().zip(x).zip(&self.x0) {
            *s = a - b;
        }
        for ((y, &a), &b) in self.changes[i].iter_mut().zip(&self.grad2).zip(&self.grad) {
            *y = a - b;
        }
        let sy = dot(&self.steps[i], &self.changes[i]);
        if sy > 0.0 && sy.is_finite() {
            self.rho[i] = 1.0 / sy;
            if self.len == m {
                self.first = (self.first + 1) % m;
            } else {
                self.len += 1;
            }
        }
    }
}

impl Method for Lbfgs {
    fn current(&self) -> Eval {
        self.f1
    }

    fn state(&self) -> FullBatchMethodState {
        let m = self.steps.len();
        let slots = (0..self.len).map(|k| (self.first + k) % m);
        FullBatchMethodState::Lbfgs {
            steps: slots.clone().map(|i| self.steps[i].clone()).collect(),
            changes: slots.clone().map(|i| self.changes[i].clone()).collect(),
            rho: slots.map(|i| self.rho[i]).collect(),
            grad: self.grad.clone(),
            loss: self.f1.loss,
            correct: self.f1.correct,
            failed: self.ls_failed,
        }
    }

    fn iterate(&mut self, obj: &mut dyn Objective, x: &mut [f32]) -> bool {
        self.direction();
        let mut d1 = dot(&self.grad, &self.dir);
        if d1 >= 0.0 || d1.is_nan() {
            // Not a descent direction: forget the history.
            self.len = 0;
            self.direction();
            d1 = dot(&self.grad, &self.dir);
        }
        let z1 = if self.len == 0 { 1.0 / (1.0 - d1) } else { 1.0 };
        self.x0.copy_from_slice(x);
        let start = Start { s: &self.dir, f1: self.f1.loss, d1 };
        let Found { success, at, .. } = search(obj, x, &mut self.grad2, &start, z1);
        if success {
            self.remember(x);
            std::mem::swap(&mut self.grad, &mut self.grad2);
            self.f1 = at;
            self.ls_failed = false;
            return true;
        }
        x.copy_from_slice(&self.x0);
        if self.ls_failed || self.len == 0 {
            return false;
        }
        self.len = 0;
        self.ls_failed = true;
        true
    }
}
