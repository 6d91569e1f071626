//! A full-batch run's part of a checkpoint (`--optimizer cg|lbfgs|rprop`): its settings and
//! [`FullBatchState`]. The parameter-sized vectors are tensors in the model's per-layer layout
//! and names, `full_batch.NAME.layers.L.weight` (`n_out x n_in`) and `.bias`: cg's
//! `direction` and `grad`; L-BFGS's `grad` and its pairs `steps.K` and `changes.K` (K = 0
//! oldest); iRprop−'s `delta` and `prev`. The scalars are the JSON object
//! `checkpoint.full_batch` (absent from mini-batch checkpoints): the method (`name`, with
//! `memory` for lbfgs), `max_iter`, `l2`, `shard`, `iterations`, `evaluations` and `state`
//! (cg: `loss`, `correct`, `slope`, `next_step`, `failed`; lbfgs: `rho` oldest first, `loss`,
//! `correct`, `failed`).

use super::Checkpoint;
use crate::error::{Error, Result};
use crate::model::{self, Tensor};
use crate::network::Arch;
use crate::train::{FullBatchConfig, FullBatchMethod, FullBatchMethodState, FullBatchState};
use safetensors::tensor::SafeTensors;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A full-batch run's settings and its state after the iterations done.
#[derive(Clone, Debug, PartialEq)]
pub struct FullBatchCheckpoint {
    /// The run's settings.
    pub config: FullBatchConfig,
    /// Where it stands.
    pub state: FullBatchState,
}

/// The metadata object `checkpoint.full_batch`.
#[derive(Serialize, Deserialize)]
pub(super) struct FullBatchMeta {
    method: MethodMeta,
    max_iter: usize,
    l2: f32,
    shard: usize,
    /// The class weights of `class_weight` balanced (absent: unweighted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    class_weight: Option<Vec<f32>>,
    iterations: usize,
    evaluations: usize,
    state: StateMeta,
}

/// A [`FullBatchMethod`], tagged by its name.
#[derive(Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "lowercase")]
enum MethodMeta {
    Cg,
    Lbfgs { memory: usize },
    Rprop,
}

/// The scalars of a [`FullBatchMethodState`], tagged by the method's name.
#[derive(Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "lowercase")]
enum StateMeta {
    Cg { loss: f64, correct: usize, slope: f64, next_step: f64, failed: bool },
    Lbfgs { rho: Vec<f64>, loss: f64, correct: usize, failed: bool },
    Rprop {},
}

/// The tensor prefix of a state vector: `full_batch.NAME.` (`full_batch.NAME.K.` for the
/// K-th of L-BFGS's pairs).
fn prefix(name: &str, k: Option<usize>) -> String {
    match k {
        Some(k) => format!("full_batch.{name}.{k}."),
        None => format!("full_batch.{name}."),
    }
}

/// Checks `ck`'s full-batch part against a network of `arch` and returns its metadata and
/// tensors; `None` for a mini-batch checkpoint.
///
/// # Errors
/// [`Error::Other`] when the state is of another method or size, a scalar is not finite
/// (JSON has no infinities), or the checkpoint also holds a mini-batch state or a rollback.
pub(super) fn encode(arch: &Arch, ck: &Checkpoint) -> Result<Option<(FullBatchMeta, Vec<Tensor>)>> {
    let Some(fb) = &ck.full_batch else { return Ok(None) };
    let cannot = |e: Error| Error::other(format!("cannot checkpoint the full-batch run: {e}"));
    if ck.rollback.is_some() || ck.state != Checkpoint::full_batch_train_state(ck.state.epoch) {
        return Err(cannot(Error::other("it has a mini-batch trainer state or a rollback point")));
    }
    fb.config.validate().map_err(cannot)?;
    fb.state.check(fb.config.method, arch.n_params()).map_err(cannot)?;
    let mut tensors = Vec::new();
    let mut k = 0;
    let mut last = "";
    for (name, v) in fb.state.method.vectors() {
        // L-BFGS's pairs are numbered from 0 in order, per name.
        let numbered = matches!(name, "steps" | "changes");
        k = if name == last { k + 1 } else { 0 };
        last = name;
        tensors.extend(model::layer_tensors(&prefix(name, numbered.then_some(k)), arch, v));
    }
    let state = match &fb.state.method {
        FullBatchMethodState::Cg { loss, correct, slope, next_step, failed, .. } => StateMeta::Cg {
            loss: *loss,
            correct: *correct,
            slope: *slope,
            next_step: *next_step,
            failed: *failed,
        },
        FullBatchMethodState::Lbfgs { rho, loss, correct, failed, .. } => {
            StateMeta::Lbfgs { rho: rho.clone(), loss: *loss, correct: *correct, failed: *failed }
        }
        FullBatchMethodState::Rprop { .. } => StateMeta::Rprop {},
    };
    let scalars: Vec<f64> = match &state {
        StateMeta::Cg { loss, slope, next_step, .. } => vec![*loss, *slope, *next_step],
        StateMeta::Lbfgs { rho, loss, .. } => rho.iter().copied().chain([*loss]).collect(),
        StateMeta::Rprop {} => vec![],
    };
    if scalars.iter().any(|v| !v.is_finite()) {
        return Err(cannot(Error::other(format!(
            "the {} state holds a non-finite value (the loss diverged)",
            fb.state.method.name()
        ))));
    }
    let c = &fb.config;
    let method = match c.method {
        FullBatchMethod::Cg => MethodMeta::Cg,
        FullBatchMethod::Lbfgs { memory } => MethodMeta::Lbfgs { memory },
        FullBatchMethod::Rprop => MethodMeta::Rprop,
    };
    let meta = FullBatchMeta {
        method,
        max_iter: c.max_iter,
        class_weight: c.class_weight.clone(),
        l2: c.l2,
        shard: c.shard,
        iterations: fb.state.iterations,
        evaluations: fb.state.evaluations,
        state,
    };
    Ok(Some((meta, tensors)))
}

/// Reads back what [`encode`] wrote.
pub(super) fn decode(
    path: &Path,
    st: &SafeTensors,
    meta: FullBatchMeta,
    arch: &Arch,
) -> Result<FullBatchCheckpoint> {
    let layers = |name: &str, k: Option<usize>| model::read_layers(path, st, &prefix(name, k), arch);
    let method = match meta.method {
        MethodMeta::Cg => FullBatchMethod::Cg,
        MethodMeta::Lbfgs { memory } => FullBatchMethod::Lbfgs { memory },
        MethodMeta::Rprop => FullBatchMethod::Rprop,
    };
    let state = match meta.state {
        StateMeta::Cg { loss, correct, slope, next_step, failed } => FullBatchMethodState::Cg {
            direction: layers("direction", None)?,
            grad: layers("grad", None)?,
            loss,
            correct,
            slope,
            next_step,
            failed,
        },
        StateMeta::Lbfgs { rho, loss, correct, failed } => FullBatchMethodState::Lbfgs {
            steps: (0..rho.len()).map(|k| layers("steps", Some(k))).collect::<Result<_>>()?,
            changes: (0..rho.len()).map(|k| layers("changes", Some(k))).collect::<Result<_>>()?,
            rho,
            grad: layers("grad", None)?,
            loss,
            correct,
            failed,
        },
        StateMeta::Rprop {} => {
            FullBatchMethodState::Rprop { delta: layers("delta", None)?, prev: layers("prev", None)? }
        }
    };
    let fb = FullBatchCheckpoint {
        config: FullBatchConfig {
            method,
            max_iter: meta.max_iter,
            l2: meta.l2,
            shard: meta.shard,
            class_weight: meta.class_weight,
        },
        state: FullBatchState { iterations: meta.iterations, evaluations: meta.evaluations, method: state },
    };
    let bad = |e: Error| Error::model(path, format!("has an invalid full-batch state: {e}"));
    fb.config.validate().map_err(bad)?;
    fb.state.check(fb.config.method, arch.n_params()).map_err(bad)?;
    Ok(fb)
}
