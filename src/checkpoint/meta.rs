//! The checkpoint's metadata as serde types: the JSON object `checkpoint` of a checkpoint
//! file's metadata (configuration, trainer state, data identity, run policy state, rollback
//! point), converted from and to the library's types.

use super::DataIdentity;
use crate::metadata;
use crate::optim::{Adam, Optimizer};
use crate::train::{EarlyState, OptimizerState, PlateauState, Schedule, StopReason, StopRules, TrainState};
use serde::{Deserialize, Serialize};

/// The metadata object `checkpoint` (written with sorted keys).
#[derive(Serialize, Deserialize)]
pub(super) struct CheckpointMeta {
    pub(super) version: u64,
    pub(super) config: ConfigMeta,
    pub(super) state: StateMeta,
    pub(super) data: DataIdentity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) rollback: Option<RollbackMeta>,
    pub(super) run: RunMeta,
    /// A full-batch run's settings and state (absent for mini-batch runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) full_batch: Option<super::full_batch::FullBatchMeta>,
}

/// The scalar fields of a [`RunState`]; its weights are tensors.
#[derive(Serialize, Deserialize)]
pub(super) struct RunMeta {
    pub(super) schedule: Schedule,
    pub(super) stop_rules: StopRules,
    pub(super) base_lr: f32,
    pub(super) plateau: PlateauState,
    pub(super) early: EarlyState,
    pub(super) stopped: Option<StopReason>,
}

/// The tensor prefixes of a [`RunState`]'s weights.
pub(super) const RUN_BEST: &str = "run.best.";
pub(super) const RUN_EPOCH_START: &str = "run.epoch_start.";

/// A [`TrainConfig`] and the learning rate given at the start.
#[derive(Serialize, Deserialize)]
pub(super) struct ConfigMeta {
    pub(super) epochs: usize,
    pub(super) batch: usize,
    pub(super) shard: usize,
    pub(super) lr: f32,
    pub(super) momentum: f32,
    pub(super) l2: f32,
    #[serde(with = "metadata::decimal")]
    pub(super) seed: u64,
    pub(super) shuffle: bool,
    pub(super) lr_given: f32,
    pub(super) optimizer: OptimizerMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) clip_norm: Option<f32>,
    /// Each class's weight (absent: unweighted; format-4 checkpoints written before class
    /// weights existed have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) class_weight: Option<Vec<f32>>,
}

/// An [`Optimizer`] with its constants, tagged by its name.
#[derive(Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "lowercase")]
pub(super) enum OptimizerMeta {
    Sgd { nesterov: bool },
    Adam { beta1: f32, beta2: f32, eps: f32, decoupled_decay: bool },
}

impl OptimizerMeta {
    pub(super) fn of(o: &Optimizer) -> Self {
        match *o {
            Optimizer::Sgd { nesterov } => OptimizerMeta::Sgd { nesterov },
            Optimizer::Adam(Adam { beta1, beta2, eps, decoupled_decay }) => {
                OptimizerMeta::Adam { beta1, beta2, eps, decoupled_decay }
            }
        }
    }

    pub(super) fn optimizer(&self) -> Optimizer {
        match *self {
            OptimizerMeta::Sgd { nesterov } => Optimizer::Sgd { nesterov },
            OptimizerMeta::Adam { beta1, beta2, eps, decoupled_decay } => {
                Optimizer::Adam(Adam { beta1, beta2, eps, decoupled_decay })
            }
        }
    }
}

/// The scalar fields of a [`TrainState`]; its velocities and row order are tensors.
#[derive(Serialize, Deserialize)]
pub(super) struct StateMeta {
    pub(super) epoch: usize,
    pub(super) next_batch: usize,
    #[serde(with = "metadata::decimal")]
    pub(super) rng_word_pos: u128,
    pub(super) loss_sum: f64,
    pub(super) correct: usize,
    pub(super) done: usize,
    pub(super) seconds: f64,
    /// Adam's step count (absent for momentum SGD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) adam_t: Option<u64>,
}

/// The scalar fields of a [`Rollback`]; its weights are tensors.
#[derive(Serialize, Deserialize)]
pub(super) struct RollbackMeta {
    pub(super) state: StateMeta,
    pub(super) retries: usize,
}

/// The model metadata as seen by the checkpoint reader: only its `checkpoint` object.
#[derive(Deserialize)]
pub(super) struct Envelope<T> {
    pub(super) checkpoint: Option<T>,
}

/// Read first, so that a checkpoint of another version is refused before its fields are decoded.
#[derive(Deserialize)]
pub(super) struct VersionProbe {
    pub(super) version: u64,
}

impl StateMeta {
    /// The scalar fields of `st`.
    pub(super) fn of(st: &TrainState) -> Self {
        StateMeta {
            epoch: st.epoch,
            next_batch: st.next_batch,
            rng_word_pos: st.rng_word_pos,
            loss_sum: st.loss_sum,
            correct: st.correct,
            done: st.done,
            seconds: st.seconds,
            adam_t: match st.optimizer {
                OptimizerState::Adam { t, .. } => Some(t),
                OptimizerState::Momentum { .. } => None,
            },
        }
    }
}
