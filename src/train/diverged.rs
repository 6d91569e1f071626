//! When a mini-batch counts as diverged: a non-finite loss, or one that exploded past a
//! know-nothing network's.

use crate::data::{Dataset, Targets};
use crate::loss::{Output, linear_reference};
use crate::network::Arch;

/// How many times a know-nothing network's loss a mini-batch's mean loss may reach before the
/// run counts as diverged: `--lr 1000` on the digits reached 6.9e12 (3e12 times ln 10) and
/// then saved the wreck. A run of unscaled features (raw pixels into ReLUs) that climbs past
/// it is stopped too, with the advice to standardise the inputs.
pub const EXPLODED: f64 = 1e3;

/// The mean per-sample loss of a know-nothing network on `data`, the reference of [`exploded`]:
/// [`crate::loss::Loss::uniform_guess`] for softmax and sigmoid outputs, and for linear
/// outputs the loss of predicting 0 for every target ([`crate::loss::linear_reference`]).
pub(super) fn know_nothing_loss(arch: &Arch, data: &Dataset) -> f64 {
    match (&data.targets, arch.output()) {
        (Targets::Values { values, n_outputs }, Output::Linear) => linear_reference(values, *n_outputs),
        _ => arch.loss.uniform_guess(arch.n_out()),
    }
}

/// Whether a mini-batch's summed loss over `rows` rows is non-finite, or has exploded: its mean
/// over [`EXPLODED`] times a know-nothing network's (`reference`, from [`know_nothing_loss`]).
/// Such a batch updates nothing and the run diverges ([`crate::Error::Diverged`]).
pub(super) fn exploded(reference: f64, loss: f64, rows: usize) -> bool {
    !loss.is_finite() || loss / rows.max(1) as f64 > EXPLODED * reference
}
