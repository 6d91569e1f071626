//! A checkpoint's contents checked when it is read, like a model's weights are: every tensor
//! finite, the trainer's position one a run could have reached, the stored settings ones a
//! run could have had. A damaged or edited file is refused naming the file and the field or
//! tensor, never resumed into another model or a divergence blamed on the rate.

use super::Checkpoint;
use super::meta::StateMeta;
use crate::error::{Error, Result};
use safetensors::tensor::{Dtype, SafeTensors};
use std::path::Path;

/// Refuses a checkpoint with a NaN or an infinity in any tensor (velocities, Adam's moments,
/// the L-BFGS history, the rollback and best weights): resumed, it would run on to another
/// model or end as a divergence blamed on the rate. Names the tensor and the element.
pub(super) fn all_finite(path: &Path, st: &SafeTensors) -> Result<()> {
    for (name, t) in st.tensors() {
        let bad = match t.dtype() {
            Dtype::F32 => t
                .data()
                .chunks_exact(4)
                .position(|b| !f32::from_le_bytes([b[0], b[1], b[2], b[3]]).is_finite()),
            Dtype::F64 => t.data().chunks_exact(8).position(|b| {
                !f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]).is_finite()
            }),
            _ => None,
        };
        if let Some(i) = bad {
            return Err(Error::model(
                path,
                format!("tensor {name:?} holds a non-finite value (element {i}): the checkpoint is damaged"),
            ));
        }
    }
    Ok(())
}

/// Refuses a trainer state whose running figures no run could have reached: a row order that
/// is not a permutation of the rows, more rows done than there are, more correct than done,
/// a negative or non-finite loss sum or time.
pub(super) fn check_position(
    path: &Path,
    prefix: &str,
    meta: &StateMeta,
    order: &[usize],
    n: usize,
) -> Result<()> {
    // The metadata of the trainer's state is `checkpoint.state`, of the rollback point's
    // `checkpoint.rollback.state`; the row order is a tensor.
    let place = if prefix == "trainer" { "state" } else { "rollback.state" };
    let bad = |field: &str, why: String| {
        Err(Error::model(
            path,
            format!("metadata field \"checkpoint.{place}.{field}\" {why}: the checkpoint is damaged"),
        ))
    };
    let mut seen = vec![false; n];
    for &i in order {
        if i >= n || std::mem::replace(&mut seen[i], true) {
            return Err(Error::model(
                path,
                format!(
                    "tensor \"{prefix}.order\" is not an order of the {n} rows (row {i}): the checkpoint is damaged"
                ),
            ));
        }
    }
    if meta.done > n {
        return bad("done", format!("is {}, more than the {n} rows", meta.done));
    }
    if meta.correct > meta.done {
        return bad("correct", format!("is {}, more than the {} rows done", meta.correct, meta.done));
    }
    if !(meta.loss_sum.is_finite() && meta.loss_sum >= 0.0) {
        return bad("loss_sum", format!("is {}, not a loss sum (finite, not negative)", meta.loss_sum));
    }
    if !(meta.seconds.is_finite() && meta.seconds >= 0.0) {
        return bad("seconds", format!("is {}, not a time", meta.seconds));
    }
    Ok(())
}

/// Refuses a checkpoint whose stored settings no run could have had (momentum −1, batch 0,
/// `val_split` 1.2, `target_loss` −1: a damaged or hand-edited file), naming the file and the
/// stored field rather than a flag nobody typed.
pub(super) fn check_settings(path: &Path, ck: &Checkpoint) -> Result<()> {
    check_steps(path, ck)?;
    let val_split = ck.data.val_split;
    let base_lr = ck.run.base_lr;
    if !(base_lr.is_finite() && base_lr >= 0.0) {
        return Err(Error::model(
            path,
            format!(
                "metadata field \"checkpoint.run.base_lr\" is {base_lr}, not a learning rate: the checkpoint is damaged"
            ),
        ));
    }
    let checks = [
        ck.config.validate(),
        ck.run.stop_rules.validate(),
        ck.run.schedule.validate(ck.run.base_lr),
        ck.full_batch.as_ref().map_or(Ok(()), |fb| fb.config.validate()),
        if val_split.is_finite() && (0.0..1.0).contains(&val_split) {
            Ok(())
        } else {
            Err(Error::config(format!("`val_split` must be in [0, 1), got {val_split}")))
        },
    ];
    for check in checks {
        if let Err(e) = check {
            // `momentum` must be ... → the stored field, config.momentum must be ...
            let said = e.to_string().replace('`', "");
            return Err(Error::model(
                path,
                format!("holds an impossible setting (the file is damaged or was edited): stored {said}"),
            ));
        }
    }
    Ok(())
}

/// Refuses a position and optimiser state no run could have reached: a next mini-batch past
/// the epoch's last, Adam's second moments below 0 (squares' averages), or a step count that
/// is 0 after steps were taken or more than one step per row seen.
fn check_steps(path: &Path, ck: &Checkpoint) -> Result<()> {
    use crate::train::OptimizerState;
    let damaged = |what: String| Err(Error::model(path, format!("{what}: the checkpoint is damaged")));
    if ck.full_batch.is_some() {
        return Ok(());
    }
    let n = ck.data.n_samples;
    let batches = n.div_ceil(ck.config.batch.max(1));
    let s = &ck.state;
    if s.next_batch > batches {
        return damaged(format!(
            "metadata field \"checkpoint.state.next_batch\" is {}, past the {batches} mini-batches of an epoch",
            s.next_batch
        ));
    }
    let states = std::iter::once(("trainer", s)).chain(ck.rollback.as_ref().map(|r| ("rollback", &r.state)));
    for (prefix, state) in states {
        if let OptimizerState::Adam { v, t, .. } = &state.optimizer {
            if let Some(i) = v.iter().position(|&x| x < 0.0) {
                return damaged(format!(
                    "tensor group \"{prefix}.adam_v\" holds a negative second moment (element {i})"
                ));
            }
            let taken = state.epoch.saturating_mul(batches).saturating_add(state.next_batch) as u64;
            let most = (state.epoch as u64 + 1).saturating_mul(n as u64).max(1);
            if (*t == 0 && taken > 0) || *t > most {
                return damaged(format!(
                    "Adam's step count {prefix}.adam_t is {t}, not one a run could reach after {taken} mini-batches"
                ));
            }
        }
    }
    Ok(())
}
