//! Nonlinear conjugate gradient, Polak-Ribière, with the Wolfe-Powell line search of
//! [`super::linesearch`]: the method of Rasmussen's `minimize` and of `fmincg` (Ng's ex4),
//! written from its published description. One iteration is one line search:
//! ```text
//! start: s = −∇f(x) ; d1 = ∇f·s ; z1 = 1 / (1 − d1)
//! search along s from x with step z1; on success (new gradient g2, old g1):
//!   s ← ((g2·g2 − g1·g2) / (g1·g1))·s − g2        (Polak-Ribière)
//!   if g2·s > 0: s ← −g2                          (not a descent direction: restart)
//!   z1 ← z1 · min(RATIO, d1 / d2) ; d1 ← d2 = g2·s
//! on failure: back to x; steepest descent with z1 = 1 / (1 − d1); a second failure in a row
//! ends the run.
//! ```
//! As in the original, the restart after a failed search takes its direction from the
//! gradient at the last point the search evaluated (the original swaps the gradients after
//! restoring the point); we keep that so that runs follow the published method.

use super::Method;
use super::linesearch::{Found, RATIO, Start, dot, search};
use super::objective::{Eval, Objective};
use super::state::FullBatchMethodState;

/// The state between iterations: the direction, the gradient at x, the slope and the next
/// initial step, and whether the last search failed.
pub(super) struct Cg {
    /// The search direction s.
    s: Vec<f32>,
    /// ∇f(x).
    df1: Vec<f32>,
    /// The gradient at the search's points.
    df2: Vec<f32>,
    /// x and ∇f(x) before the search, restored when it fails.
    x0: Vec<f32>,
    df0: Vec<f32>,
    /// f(x).
    f1: Eval,
    /// ∇f(x)·s.
    d1: f64,
    /// The next search's initial step.
    z1: f64,
    ls_failed: bool,
}

impl Cg {
    /// Evaluates the objective at `x` and sets up the steepest-descent start.
    pub(super) fn new(obj: &mut dyn Objective, x: &[f32]) -> Self {
        let n = x.len();
        let mut df1 = vec![0.0; n];
        let f1 = obj.eval(x, &mut df1);
        let s: Vec<f32> = df1.iter().map(|g| -g).collect();
        let d1 = -dot(&s, &s);
        Cg {
            s,
            df1,
            df2: vec![0.0; n],
            x0: vec![0.0; n],
            df0: vec![0.0; n],
            f1,
            d1,
            z1: 1.0 / (1.0 - d1),
            ls_failed: false,
        }
    }

    /// The state [`Method::state`] took, continued (the scratch buffers are fresh).
    pub(super) fn restore(
        direction: Vec<f32>,
        grad: Vec<f32>,
        f1: Eval,
        slope: f64,
        next_step: f64,
        failed: bool,
    ) -> Self {
        let n = grad.len();
        Cg {
            s: direction,
            df1: grad,
            df2: vec![0.0; n],
            x0: vec![0.0; n],
            df0: vec![0.0; n],
            f1,
            d1: slope,
            z1: next_step,
            ls_failed: failed,
        }
    }
}

impl Method for Cg {
    fn current(&self) -> Eval {
        self.f1
    }

    fn state(&self) -> FullBatchMethodState {
        FullBatchMethodState::Cg {
            direction: self.s.clone(),
            grad: self.df1.clone(),
            loss: self.f1.loss,
            correct: self.f1.correct,
            slope: self.d1,
            next_step: self.z1,
            failed: self.ls_failed,
        }
    }

    fn iterate(&mut self, obj: &mut dyn Objective, x: &mut [f32]) -> bool {
        self.x0.copy_from_slice(x);
        self.df0.copy_from_slice(&self.df1);
        let start = Start { s: &self.s, f1: self.f1.loss, d1: self.d1 };
        let Found { success, z, at } = search(obj, x, &mut self.df2, &start, self.z1);
        if success {
            self.f1 = at;
            let (g1, g2) = (&self.df1, &self.df2);
            let beta = (dot(g2, g2) - dot(g1, g2)) / dot(g1, g1);
            for (s, &g) in self.s.iter_mut().zip(g2) {
                *s = (beta * *s as f64 - g as f64) as f32;
            }
            std::mem::swap(&mut self.df1, &mut self.df2);
            let mut d2 = dot(&self.df1, &self.s);
            if d2 > 0.0 {
                steepest(&mut self.s, &self.df1);
                d2 = -dot(&self.s, &self.s);
            }
            self.z1 = z * RATIO.min(self.d1 / (d2 - f64::MIN_POSITIVE));
            self.d1 = d2;
            self.ls_failed = false;
            return true;
        }
        x.copy_from_slice(&self.x0);
        // f(x0) is f1 still; the gradient at x0 was saved.
        self.df1.copy_from_slice(&self.df0);
        if self.ls_failed {
            return false;
        }
        std::mem::swap(&mut self.df1, &mut self.df2);
        steepest(&mut self.s, &self.df1);
        self.d1 = -dot(&self.s, &self.s);
        self.z1 = 1.0 / (1.0 - self.d1);
        self.ls_failed = true;
        true
    }
}

/// `s ← −g`.
fn steepest(s: &mut [f32], g: &[f32]) {
    for (s, &g) in s.iter_mut().zip(g) {
        *s = -g;
    }
}
