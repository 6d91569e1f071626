//! The line search of Rasmussen's `minimize` (and of `fmincg`, the copy Ng's ex4 used),
//! written from its published description: along a direction `s` from `x`, interpolate
//! (quadratic or cubic) and extrapolate (cubic) the objective until the step `z` satisfies
//! the Wolfe-Powell conditions
//! ```text
//! f(x + z·s) ≤ f(x) + ρ·z·f'(x; s)          (sufficient decrease, ρ = 0.01)
//! |f'(x + z·s; s)| ≤ −σ·f'(x; s)              (curvature, σ = 0.5)
//! ```
//! at most [`MAX_EVALS`] evaluations per search; an interpolated step stays at least
//! [`INT`] of the bracket from its ends, an extrapolated one at most [`EXT`] times the
//! current step. Vector arithmetic is in f64 on f32 storage, serially, so every bit depends on
//! the inputs only.

use super::objective::{Eval, Objective};

/// ρ: the sufficient-decrease fraction.
pub const RHO: f64 = 0.01;
/// σ: the curvature fraction.
pub const SIG: f64 = 0.5;
/// Stay this fraction of the bracket away from its ends when interpolating.
pub const INT: f64 = 0.1;
/// Extrapolate at most this many times the current step.
pub const EXT: f64 = 3.0;
/// Evaluations per line search.
pub const MAX_EVALS: usize = 20;
/// The largest growth of the initial step from one search to the next (conjugate gradient).
pub const RATIO: f64 = 100.0;

/// `a · b`, summed in f64 in index order.
pub fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&a, &b)| a as f64 * b as f64).sum()
}

/// `x ← x + z·s`.
pub fn axpy(x: &mut [f32], z: f64, s: &[f32]) {
    for (x, &s) in x.iter_mut().zip(s) {
        *x = (*x as f64 + z * s as f64) as f32;
    }
}

/// Where a line search ended: at `x + z·s`, with its evaluation (the gradient is in the
/// caller's `grad`).
pub struct Found {
    /// True when the Wolfe-Powell conditions hold there.
    pub success: bool,
    /// The total step z.
    pub z: f64,
    /// The objective there.
    pub at: Eval,
}

/// The point `x` at which the line search starts, its objective `f1` and its slope
/// `d1 = ∇f(x)·s < 0` along `s`.
pub struct Start<'s> {
    /// The search direction.
    pub s: &'s [f32],
    /// f(x).
    pub f1: f64,
    /// ∇f(x)·s.
    pub d1: f64,
}

/// One line search from `x` along `start.s` with initial step `z1`. On return `x` is the
/// last point evaluated and `grad` its gradient (the caller restores its saved point when
/// the search failed).
pub fn search(obj: &mut dyn Objective, x: &mut [f32], grad: &mut [f32], start: &Start, z1: f64) -> Found {
    let Start { s, f1, d1 } = *start;
    let mut z1 = z1;
    axpy(x, z1, s);
    let mut at = obj.eval(x, grad);
    let mut d2 = dot(grad, s);
    // The other end of the bracket: the start, at step −z3 from the current point.
    let (mut f3, mut d3, mut z3) = (f1, d1, -z1);
    let mut left = MAX_EVALS;
    // The smallest step known to be too long; −1: none yet.
    let mut limit = -1.0;
    let violated = |f2: f64, d2: f64, z1: f64| f2 > f1 + z1 * RHO * d1 || d2 > -SIG * d1;
    loop {
        while violated(at.loss, d2, z1) && left > 0 {
            // Too far, or not down enough: interpolate back into the bracket.
            limit = z1;
            let f2 = at.loss;
            let mut z2 = if f2 > f1 {
                z3 - (0.5 * d3 * z3 * z3) / (d3 * z3 + f2 - f3)
            } else {
                let a = 6.0 * (f2 - f3) / z3 + 3.0 * (d2 + d3);
                let b = 3.0 * (f3 - f2) - z3 * (d3 + 2.0 * d2);
                ((b * b - a * d2 * z3 * z3).sqrt() - b) / a
            };
            if !z2.is_finite() {
                z2 = z3 / 2.0;
            }
            z2 = (z2.min(INT * z3)).max((1.0 - INT) * z3);
            z1 += z2;
            axpy(x, z2, s);
            at = obj.eval(x, grad);
            left -= 1;
            d2 = dot(grad, s);
            z3 -= z2;
        }
        let f2 = at.loss;
        if violated(f2, d2, z1) {
            return Found { success: false, z: z1, at };
        }
        if d2 > SIG * d1 {
            return Found { success: true, z: z1, at };
        }
        if left == 0 {
            return Found { success: false, z: z1, at };
        }
        // Still going down steeply: extrapolate with a cubic, within limits.
        let z2 = extrapolate(f2, d2, f3, d3, z3, z1, limit);
        (f3, d3, z3) = (f2, d2, -z2);
        z1 += z2;
        axpy(x, z2, s);
        at = obj.eval(x, grad);
        left -= 1;
        d2 = dot(grad, s);
    }
}

/// The extrapolation step from the current point (objective `f2`, slope `d2`, total step
/// `z1`) given the other point (`f3`, `d3`, at step `z3` from here) and the known upper
/// bound `limit` of the step (−1: none).
fn extrapolate(f2: f64, d2: f64, f3: f64, d3: f64, z3: f64, z1: f64, limit: f64) -> f64 {
    let a = 6.0 * (f2 - f3) / z3 + 3.0 * (d2 + d3);
    let b = 3.0 * (f3 - f2) - z3 * (d3 + 2.0 * d2);
    // NaN when the cubic has no real minimum.
    let z2 = -d2 * z3 * z3 / (b + (b * b - a * d2 * z3 * z3).sqrt());
    let bounded = limit > -0.5;
    if !z2.is_finite() || z2 < 0.0 {
        if bounded { (limit - z1) / 2.0 } else { z1 * (EXT - 1.0) }
    } else if bounded && z2 + z1 > limit {
        (limit - z1) / 2.0
    } else if !bounded && z2 + z1 > z1 * EXT {
        z1 * (EXT - 1.0)
    } else if z2 < -z3 * INT {
        -z3 * INT
    } else if bounded && z2 < (limit - z1) * (1.0 - INT) {
        (limit - z1) * (1.0 - INT)
    } else {
        z2
    }
}
