//! A resumed fit's checks: the settings it continues with are the checkpoint's (only the
//! epochs, or a full-batch run's iterations, may grow), on the checkpoint's training data.

use super::settings::Mlp;
use crate::checkpoint::{Checkpoint, DataIdentity};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::train::{FullBatchConfig, TrainConfig};

/// Refuses settings a resumed run cannot continue with: it continues with the checkpoint's
/// (only its epochs, or a full-batch run's iterations, may grow).
pub(super) fn check_resume(mlp: &Mlp, ck: &Checkpoint) -> Result<()> {
    let differs = |what: &str| {
        Err(Error::config(format!(
            "{what} differs from the checkpoint's: a resumed run continues with the checkpoint's \
             settings (only `epochs` may grow)"
        )))
    };
    match (&mlp.full_batch, &ck.full_batch) {
        (Some(ours), Some(theirs)) => {
            let done = theirs.state.iterations;
            if ours.max_iter < done {
                return Err(Error::config(format!(
                    "`max_iter` {} is below the {done} iterations the checkpoint has completed",
                    ours.max_iter
                )));
            }
            let ours = FullBatchConfig { max_iter: 0, class_weight: None, ..ours.clone() };
            if ours != (FullBatchConfig { max_iter: 0, class_weight: None, ..theirs.config.clone() }) {
                return differs("the full-batch optimizer or its settings");
            }
            Ok(())
        }
        (None, None) => {
            let done = ck.state.epoch;
            if mlp.cfg.epochs < done {
                return Err(Error::config(format!(
                    "`epochs` {} is below the {done} epochs the checkpoint has completed",
                    mlp.cfg.epochs
                )));
            }
            let theirs = &ck.config;
            // (A checkpoint records the shard in effect: never above the batch or the rows.)
            let (shard, _) = crate::train::shards_per_batch(mlp.cfg.batch, mlp.cfg.shard, ck.data.n_samples);
            // The rate as given at the start, or as the checkpoint has it now.
            let lr = if mlp.cfg.lr == ck.lr_given { theirs.lr } else { mlp.cfg.lr };
            let ours = TrainConfig {
                epochs: theirs.epochs,
                class_weight: theirs.class_weight.clone(),
                shard,
                lr,
                ..mlp.cfg.clone()
            };
            if ours != *theirs {
                return differs(
                    "a training setting (`batch`, `shard`, `lr`, `momentum`, `l2`, `seed`, the optimizer or `clip_norm`)",
                );
            }
            Ok(())
        }
        (Some(_), None) => differs("the optimizer (full-batch here, mini-batch in the checkpoint)"),
        (None, Some(_)) => differs("the optimizer (mini-batch here, full-batch in the checkpoint)"),
    }
}

/// Refuses to resume on other data than the checkpoint's.
pub(super) fn check_same_data(train: &Dataset, ours: &DataIdentity, theirs: &DataIdentity) -> Result<()> {
    if theirs.fingerprint == ours.fingerprint && theirs.n_samples == ours.n_samples {
        return Ok(());
    }
    Err(Error::data(
        &train.path,
        format!(
            "is not the checkpoint's training data: it gives {} training rows of {} features \
             (fingerprint {:016x}), the checkpoint was trained on {} rows of {} from {} (fingerprint {:016x}); \
             if it is the same file, give the original `label_col`, `classes`, `labels` and `train_rows`",
            ours.n_samples,
            ours.n_features,
            ours.fingerprint,
            theirs.n_samples,
            theirs.n_features,
            theirs.path,
            theirs.fingerprint
        ),
    ))
}
