//! Regression metrics: root-mean-square error, mean absolute error and the coefficient of
//! determination R², per output and overall, from predictions and targets in f64.
//!
//! ```
//! use bp_par::metrics::Regression;
//! // One output: errors 1 and −1 around targets 1 and 3 (mean 2, Σ(y − ȳ)² = 2).
//! let r = Regression::new(&[2.0, 2.0], &[1.0, 3.0], 1);
//! assert_eq!(r.overall.rmse, 1.0);
//! assert_eq!(r.overall.mae, 1.0);
//! assert_eq!(r.overall.r2, 0.0); // 1 − 2/2: no better than predicting the mean
//! ```

/// One output's (or all outputs') errors.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fit {
    /// Root-mean-square error √(Σ(ŷ − y)²/n).
    pub rmse: f64,
    /// Mean absolute error Σ|ŷ − y|/n.
    pub mae: f64,
    /// Coefficient of determination 1 − Σ(ŷ − y)²/Σ(y − ȳ)²: 1 is a perfect fit, 0 is no better
    /// than predicting the mean, negative is worse. For constant targets (Σ(y − ȳ)² = 0):
    /// 1 for a perfect fit, else 0 (scikit-learn's `r2_score` convention).
    pub r2: f64,
}

/// RMSE, MAE and R² of a regression, per output and overall.
#[derive(Clone, Debug, PartialEq)]
pub struct Regression {
    /// One [`Fit`] per output.
    pub per_output: Vec<Fit>,
    /// Over all outputs: RMSE and MAE over every value, R² the mean of the outputs' R²
    /// (scikit-learn's `uniform_average`).
    pub overall: Fit,
}

impl Regression {
    /// The metrics of `predicted` against `targets`, both `n x k` row-major. Sums run in row
    /// order in f64, so the figures are the same however the predictions were computed.
    pub fn new(predicted: &[f32], targets: &[f32], k: usize) -> Self {
        let k = k.max(1);
        let n = (predicted.len().min(targets.len()) / k).max(1) as f64;
        let rows = || predicted.chunks_exact(k).zip(targets.chunks_exact(k));
        let mut mean = vec![0.0f64; k];
        for (_, y) in rows() {
            mean.iter_mut().zip(y).for_each(|(m, &v)| *m += f64::from(v));
        }
        mean.iter_mut().for_each(|m| *m /= n);
        let (mut sse, mut sae, mut sst) = (vec![0.0f64; k], vec![0.0f64; k], vec![0.0f64; k]);
        for (p, y) in rows() {
            for j in 0..k {
                let (p, y) = (f64::from(p[j]), f64::from(y[j]));
                sse[j] += (p - y) * (p - y);
                sae[j] += (p - y).abs();
                sst[j] += (y - mean[j]) * (y - mean[j]);
            }
        }
        let r2 = |sse: f64, sst: f64| {
            if sst > 0.0 {
                1.0 - sse / sst
            } else if sse == 0.0 {
                1.0
            } else {
                0.0
            }
        };
        let per_output: Vec<Fit> = (0..k)
            .map(|j| Fit { rmse: (sse[j] / n).sqrt(), mae: sae[j] / n, r2: r2(sse[j], sst[j]) })
            .collect();
        let all = n * k as f64;
        let overall = Fit {
            rmse: (sse.iter().sum::<f64>() / all).sqrt(),
            mae: sae.iter().sum::<f64>() / all,
            r2: per_output.iter().map(|f| f.r2).sum::<f64>() / k as f64,
        };
        Regression { per_output, overall }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_match_a_worked_example() {
        // Two outputs, three rows. Output 0: y = (1, 2, 3), ŷ = (1, 2, 4): SSE 1, SAE 1,
        // SST 2 → RMSE √(1/3), MAE 1/3, R² 0.5. Output 1: y = (0, 0, 0), ŷ = (0, 0, 0):
        // perfect on constant targets → R² 1. Overall: RMSE √(1/6), MAE 1/6, R² 0.75.
        let pred = [1.0, 0.0, 2.0, 0.0, 4.0, 0.0];
        let y = [1.0, 0.0, 2.0, 0.0, 3.0, 0.0];
        let r = Regression::new(&pred, &y, 2);
        assert!((r.per_output[0].rmse - (1.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert!((r.per_output[0].mae - 1.0 / 3.0).abs() < 1e-15);
        assert_eq!(r.per_output[0].r2, 0.5);
        assert_eq!(r.per_output[1], Fit { rmse: 0.0, mae: 0.0, r2: 1.0 });
        assert!((r.overall.rmse - (1.0f64 / 6.0).sqrt()).abs() < 1e-15);
        assert!((r.overall.mae - 1.0 / 6.0).abs() < 1e-15);
        assert_eq!(r.overall.r2, 0.75);
        // Constant targets missed: R² 0, not −∞ or NaN.
        assert_eq!(Regression::new(&[1.0], &[0.0], 1).overall.r2, 0.0);
        // A fit worse than the mean is negative: y = (0, 2), ŷ = (2, 0): 1 − 8/2 = −3.
        assert_eq!(Regression::new(&[2.0, 0.0], &[0.0, 2.0], 1).overall.r2, -3.0);
    }
}
