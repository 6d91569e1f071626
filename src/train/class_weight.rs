//! Class weights (`class_weight`): each training sample's loss and output delta multiplied by
//! its class's weight, so that every optimiser (mini-batch and full-batch) sees the weighted
//! loss Σ_i w_{c(i)}·L_i / B. [`balanced_class_weights`] computes scikit-learn's "balanced"
//! weights from the training labels, once per run; the per-batch code only looks them up.
//!
//! ```
//! use bp_par::data::Dataset;
//! use bp_par::train::balanced_class_weights;
//! let data = Dataset::classes(&[0.0f32; 10], 1, &[0, 0, 0, 0, 0, 0, 0, 0, 0, 1], None).unwrap();
//! // n / (k · n_c): 10 / (2 · 9) and 10 / (2 · 1).
//! assert_eq!(balanced_class_weights(&data).unwrap(), vec![10.0 / 18.0, 5.0]);
//! ```

use crate::data::{Dataset, Targets};
use crate::error::{Error, Result};

/// scikit-learn's "balanced" class weights of `data`'s labels: w_c = n / (k · n_c) for n rows,
/// n_c rows of class c and k the number of classes that have rows, so that the weights
/// average to 1 over the rows (Σ_c n_c·w_c = n). A class without rows (a label value the data
/// declares but never uses, or one a validation split left out) weighs 0: it contributes no
/// sample to weigh. Refused for real-valued targets, which have no classes.
pub fn balanced_class_weights(data: &Dataset) -> Result<Vec<f32>> {
    let Targets::Classes { labels, n_classes } = &data.targets else {
        return Err(Error::config(format!(
            "`class_weight` needs class labels, but {} has real-valued targets (regression)",
            data.path.display()
        )));
    };
    let mut counts = vec![0usize; *n_classes];
    for &l in labels {
        counts[l as usize] += 1;
    }
    let present = counts.iter().filter(|&&c| c > 0).count();
    let n = labels.len() as f64;
    Ok(counts.iter().map(|&c| if c == 0 { 0.0 } else { (n / (present as f64 * c as f64)) as f32 }).collect())
}

/// Checks class weights on their own: each finite and non-negative (the field's range).
pub(crate) fn validate(weights: &[f32]) -> Result<()> {
    match weights.iter().enumerate().find(|(_, w)| !(w.is_finite() && **w >= 0.0)) {
        Some((c, w)) => {
            Err(Error::config(format!("`class_weight` of class {c} must be a non-negative number, got {w}")))
        }
        None if !weights.is_empty() && weights.iter().all(|&w| w == 0.0) => {
            Err(Error::config("`class_weight` is 0 for every class: the loss would be 0 and nothing learnt"))
        }
        None => Ok(()),
    }
}

/// Checks that `weights` (when given) fit `data`: class labels, one weight per class.
pub(crate) fn check_fits(weights: Option<&[f32]>, data: &Dataset) -> Result<()> {
    let Some(w) = weights else { return Ok(()) };
    match &data.targets {
        Targets::Classes { n_classes, .. } if *n_classes == w.len() => Ok(()),
        Targets::Classes { n_classes, .. } => Err(Error::config(format!(
            "`class_weight` has {} weights but {} has {n_classes} classes",
            w.len(),
            data.path.display()
        ))),
        _ => Err(Error::config(format!(
            "`class_weight` needs class labels, but {} has real-valued targets (regression)",
            data.path.display()
        ))),
    }
}

#[cfg(test)]
mod tests;
