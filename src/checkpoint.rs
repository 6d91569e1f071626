//! Checkpoints: a model file ([`crate::model`], so `eval` and `predict` accept it) that also
//! holds what a run needs to continue bit for bit: the trainer's state, the configuration,
//! the identity of the training data and, with [`crate::train::OnDivergence::HalveLr`], the point a
//! diverging epoch rolls back to.
//!
//! Besides the model's tensors a checkpoint holds, per trainer state (prefix `trainer`, and
//! `rollback` for the rollback point), the optimiser's state in the model's per-layer
//! layout and names: the momentum velocities (`trainer.velocity.layers.L.weight`,
//! `n_out x n_in`, and `trainer.velocity.layers.L.bias`) or Adam's moments
//! (`trainer.adam_m.layers.L.weight`, `trainer.adam_v.layers.L.weight`, and the biases'), and
//! the epoch's row order (`trainer.order`, u64); the rollback weights are
//! `rollback.layers.L.weight` and `.bias`. The schedule's and stopping rules' weights
//! ([`RunState`]) are `run.best.layers.L.*` (with `restore_best`) and
//! `run.epoch_start.layers.L.*` (with `min_change`). Everything else is JSON under the key
//! `checkpoint` of the model's metadata: `version`, `config` (with the optimiser and its
//! constants), `state` (with Adam's step count `adam_t`), `data`, `run` (the schedule and
//! stopping rules, their settings and state) and `rollback`.
//!
//! A full-batch run's checkpoint (`--optimizer cg|lbfgs|rprop`, [`Checkpoint::full_batch`])
//! holds its method's state instead of the mini-batch trainer's: tensors
//! `full_batch.NAME.layers.L.*` and the JSON object `full_batch` ([`FullBatchCheckpoint`]);
//! its `state` has the iterations done as `epoch` and no buffers (no `trainer.*` tensors).
//!
//! ```
//! use bp_par::{activation::Activation, checkpoint, data::Normalization, loss::Loss};
//! use bp_par::checkpoint::{Checkpoint, DataIdentity};
//! use bp_par::model::{Model, Task};
//! use bp_par::network::{Arch, Network};
//! use bp_par::train::{OptimizerState, RunState, TrainConfig, TrainState};
//! let arch = Arch::new(vec![2, 3, 2], Activation::Tanh, Loss::Xent).unwrap();
//! let model = Model::new(Network::init(arch, 1), Normalization::None, Task::Classify, None, Default::default())
//!     .unwrap();
//! let state = TrainState {
//!     epoch: 1, next_batch: 0, order: vec![1, 0], rng_word_pos: 12,
//!     optimizer: OptimizerState::Momentum { velocity: vec![0.0; model.net.arch().n_params()] },
//!     loss_sum: 0.0, correct: 0, done: 0, seconds: 0.0,
//! };
//! let ck = Checkpoint {
//!     config: TrainConfig { epochs: 3, batch: 2, ..TrainConfig::default() },
//!     state,
//!     data: DataIdentity {
//!         path: "xor.csv".into(), n_samples: 2, n_features: 2, fingerprint: 7, val_split: 0.0,
//!     },
//!     lr_given: 0.1,
//!     rollback: None,
//!     run: RunState::new(0.1),
//!     full_batch: None,
//! };
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("ck.safetensors");
//! checkpoint::save(&path, model.view(), &ck).unwrap();
//! assert_eq!(checkpoint::load(&path).unwrap(), (model.clone(), ck));
//! // A checkpoint is also a model file.
//! assert_eq!(bp_par::model::load(&path).unwrap(), model);
//! ```

use crate::atomic::write_atomic;
use crate::error::{Error, Result};
use crate::metadata;
use crate::model::{self, Model, ModelRef, Tensor};
use crate::network::Arch;
use crate::optim::Optimizer;
use crate::train::{OptimizerState, RunState, TrainConfig, TrainState};
use meta::{
    CheckpointMeta, ConfigMeta, Envelope, OptimizerMeta, RUN_BEST, RUN_EPOCH_START, RollbackMeta, RunMeta,
    StateMeta, VersionProbe,
};
use safetensors::tensor::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The format version of checkpoints (inside a model file's metadata). Version 4: the
/// optimiser (`config.optimizer`, `config.clip_norm`; `config.class_weight` when the run
/// weighs classes, absent otherwise) and Adam's state (moments as
/// per-layer tensors, `state.adam_t`), and the schedule and stopping rules with their state
/// (`run`), and, optionally, a full-batch run's state (`full_batch`, added later within
/// version 4: checkpoints without it read as before); version 3 stored velocities and rollback weights as per-layer tensors named and
/// shaped as the model's (version 2 stored them as one flat tensor each; version 1 stored
/// weights transposed).
pub const CHECKPOINT_VERSION: u64 = 4;

/// What a checkpoint records about the training data, to refuse resuming on other data.
/// Stored as the metadata object `checkpoint.data` (the fingerprint as 16 hexadecimal digits).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataIdentity {
    /// The data file as given on the command line.
    pub path: String,
    /// Training rows (after any validation split).
    pub n_samples: usize,
    /// Features per row.
    pub n_features: usize,
    /// [`crate::data::Dataset::fingerprint`] of the training rows as used.
    #[serde(with = "metadata::hex")]
    pub fingerprint: u64,
    /// The fraction of the file held out for validation.
    pub val_split: f64,
}

impl DataIdentity {
    /// The identity of the training rows `train` (as used: after a `val_split` split).
    pub fn of(train: &crate::data::Dataset, val_split: f64) -> DataIdentity {
        DataIdentity {
            path: train.path().display().to_string(),
            n_samples: train.n_samples(),
            n_features: train.n_features(),
            fingerprint: train.fingerprint(),
            val_split,
        }
    }
}

/// A checkpoint: a model file that also holds the trainer's state, the configuration and
/// the identity of the training data.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// The configuration in effect: its `lr` is the current epoch's rate (the schedule's, after
    /// any halve-lr retries; the base rate is in `run`).
    pub config: TrainConfig,
    /// The trainer's state: position, row order, RNG, optimiser state, partial epoch sums.
    pub state: TrainState,
    /// The training data it was made on.
    pub data: DataIdentity,
    /// The learning rate the run was started with (`config.lr` is the one in effect).
    pub lr_given: f32,
    /// With [`crate::train::OnDivergence::HalveLr`]: the state to roll back to (the start of the current
    /// epoch: weights in the network's flat layout, and trainer state) and the retries so far.
    pub rollback: Option<Rollback>,
    /// The schedule and stopping rules: settings, state and the weights they keep.
    pub run: RunState,
    /// A full-batch run's settings and state; its `state` is then
    /// [`Checkpoint::full_batch_train_state`] and there is no rollback point.
    pub full_batch: Option<FullBatchCheckpoint>,
}

impl Checkpoint {
    /// The `state` of a full-batch run's checkpoint after `iterations` iterations: the
    /// iterations as `epoch`, no row order and no optimiser buffers (the full-batch state
    /// holds the method's).
    pub fn full_batch_train_state(iterations: usize) -> TrainState {
        TrainState {
            epoch: iterations,
            next_batch: 0,
            order: Vec::new(),
            rng_word_pos: 0,
            optimizer: OptimizerState::Momentum { velocity: Vec::new() },
            loss_sum: 0.0,
            correct: 0,
            done: 0,
            seconds: 0.0,
        }
    }
}

pub use full_batch::FullBatchCheckpoint;

pub use crate::train::Rollback;

/// The tensors of a trainer state under `prefix`: the optimiser's buffers per layer, and the
/// row order.
fn state_tensors(prefix: &str, arch: &Arch, st: &TrainState) -> Vec<Tensor> {
    let buffers = st.optimizer.buffers().into_iter();
    let mut tensors: Vec<Tensor> =
        buffers.flat_map(|(name, b)| model::layer_tensors(&format!("{prefix}.{name}."), arch, b)).collect();
    tensors.push(Tensor::u64(format!("{prefix}.order"), &st.order));
    tensors
}

/// Serialises a checkpoint of `model` to bytes (a model file with the checkpoint added).
///
/// # Errors
/// [`Error::Other`] when an optimiser state or rollback buffer does not have the network's
/// size, or a state is not of the configuration's optimiser (or, for a full-batch run, of its
/// method).
pub fn to_bytes(model: ModelRef<'_>, ck: &Checkpoint) -> Result<Vec<u8>> {
    let arch = &model.net.arch;
    let full_batch = full_batch::encode(arch, ck)?;
    let mut states = if full_batch.is_some() { vec![] } else { vec![("the trainer's", &ck.state)] };
    states.extend(ck.rollback.iter().map(|r| ("the rollback", &r.state)));
    let mut sizes = vec![];
    for (whose, st) in states {
        if !st.optimizer.is_for(&ck.config.optimizer) {
            return Err(Error::other(format!(
                "cannot checkpoint {whose} optimizer state: not of the configuration's optimizer {}",
                ck.config.optimizer.name()
            )));
        }
        sizes
            .extend(st.optimizer.buffers().into_iter().map(|(name, b)| (format!("{whose} {name}"), b.len())));
    }
    if let Some(r) = &ck.rollback {
        sizes.push(("the rollback weights".to_string(), r.params.len()));
    }
    let run = &ck.run;
    let run_weights = [(RUN_BEST, &run.best_params), (RUN_EPOCH_START, &run.epoch_start_params)];
    sizes.extend(
        run_weights
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(_, v)| ("the run's kept weights".to_string(), v.len())),
    );
    for (what, len) in sizes {
        if len != arch.n_params() {
            return Err(Error::other(format!(
                "cannot checkpoint {what}: {len} values for a network of {} parameters",
                arch.n_params()
            )));
        }
    }
    let (full_batch, mut tensors) = match full_batch {
        Some((meta, tensors)) => (Some(meta), tensors),
        None => (None, state_tensors("trainer", arch, &ck.state)),
    };
    if let Some(r) = &ck.rollback {
        tensors.extend(state_tensors("rollback", arch, &r.state));
        tensors.extend(model::layer_tensors("rollback.", arch, &r.params));
    }
    for (prefix, v) in run_weights.iter().filter(|(_, v)| !v.is_empty()) {
        tensors.extend(model::layer_tensors(prefix, arch, v));
    }
    let c = &ck.config;
    let meta = CheckpointMeta {
        version: CHECKPOINT_VERSION,
        config: ConfigMeta {
            epochs: c.epochs,
            batch: c.batch,
            shard: c.shard,
            lr: c.lr,
            momentum: c.momentum,
            l2: c.l2,
            seed: c.seed,
            shuffle: c.shuffle,
            lr_given: ck.lr_given,
            optimizer: OptimizerMeta::of(&c.optimizer),
            clip_norm: c.clip_norm,
            class_weight: c.class_weight.clone(),
        },
        state: StateMeta::of(&ck.state),
        data: ck.data.clone(),
        rollback: ck
            .rollback
            .as_ref()
            .map(|r| RollbackMeta { state: StateMeta::of(&r.state), retries: r.retries }),
        run: RunMeta {
            schedule: run.schedule,
            stop_rules: run.stop_rules,
            base_lr: run.base_lr,
            plateau: run.plateau,
            early: run.early,
            stopped: run.stopped,
        },
        full_batch,
    };
    model::file_bytes(model, tensors, Some(metadata::to_value(&meta)?))
}

/// Writes a checkpoint atomically: the model's tensors and metadata (so `eval` and
/// `predict` accept it as a model), the velocities and row order as tensors, the rest as
/// metadata.
pub fn save(path: &Path, model: ModelRef<'_>, ck: &Checkpoint) -> Result<()> {
    write_atomic(path, &to_bytes(model, ck)?)
}

/// Reads a checkpoint written by [`save`].
pub fn load(path: &Path) -> Result<(Model, Checkpoint)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, "read the checkpoint", e))?;
    from_bytes(path, &bytes)
}

/// Whether the model file `bytes` (of `path`) is a checkpoint (it holds a trainer's state);
/// errors for bytes that are not a bp-par model file at all.
pub fn is_checkpoint(path: &Path, bytes: &[u8]) -> Result<bool> {
    let file = model::parse(path, bytes)?;
    let probe: Envelope<VersionProbe> = metadata::decode(path, &file.meta)?;
    Ok(probe.checkpoint.is_some())
}

/// Parses a checkpoint from the bytes of `path`: the model (checked as [`model::from_bytes`]
/// does) and the checkpoint. A plain model, or a checkpoint of another format version, is
/// refused with a message that says so.
pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<(Model, Checkpoint)> {
    let file = model::parse(path, bytes)?;
    let model = model::model_from(path, &file)?;
    checks::all_finite(path, &file.tensors)?;
    let not_a_checkpoint = || Error::model(path, "is a model, not a checkpoint (no trainer state)");
    let probe: Envelope<VersionProbe> = metadata::decode(path, &file.meta)?;
    let version = probe.checkpoint.ok_or_else(not_a_checkpoint)?.version;
    if version != CHECKPOINT_VERSION {
        let which = if version > CHECKPOINT_VERSION { "a newer" } else { "an older" };
        return Err(Error::model(
            path,
            format!(
                "is a checkpoint of format {version}, written by {which} bp-par; this build reads \
                 format {CHECKPOINT_VERSION} (resume it with the bp-par that wrote it)"
            ),
        ));
    }
    let envelope: Envelope<CheckpointMeta> = metadata::decode(path, &file.meta)?;
    let meta = envelope.checkpoint.ok_or_else(not_a_checkpoint)?;
    let (arch, n_samples) = (&model.net.arch, meta.data.n_samples);
    let optimizer = meta.config.optimizer.optimizer();
    let read = |prefix: &str, state: StateMeta| {
        read_state(path, &file.tensors, (prefix, state), &optimizer, arch, n_samples)
    };
    let (state, full_batch) = match meta.full_batch {
        Some(fb) => {
            let fb = full_batch::decode(path, &file.tensors, fb, arch)?;
            (Checkpoint::full_batch_train_state(meta.state.epoch), Some(fb))
        }
        None => (read("trainer", meta.state)?, None),
    };
    let rollback = match meta.rollback {
        Some(r) => Some(Rollback {
            params: model::read_layers(path, &file.tensors, "rollback.", arch)?,
            state: read("rollback", r.state)?,
            retries: r.retries,
        }),
        None => None,
    };
    let r = meta.run;
    let mut run = RunState {
        schedule: r.schedule,
        stop_rules: r.stop_rules,
        base_lr: r.base_lr,
        plateau: r.plateau,
        early: r.early,
        best_params: Vec::new(),
        epoch_start_params: Vec::new(),
        stopped: r.stopped,
    };
    if run.keeps_best() {
        run.best_params = model::read_layers(path, &file.tensors, RUN_BEST, arch)?;
    }
    if run.stop_rules.min_change.is_some() {
        run.epoch_start_params = model::read_layers(path, &file.tensors, RUN_EPOCH_START, arch)?;
    }
    let c = meta.config;
    let config = TrainConfig {
        epochs: c.epochs,
        batch: c.batch,
        shard: c.shard,
        lr: c.lr,
        momentum: c.momentum,
        l2: c.l2,
        seed: c.seed,
        shuffle: c.shuffle,
        optimizer,
        clip_norm: c.clip_norm,
        class_weight: c.class_weight,
    };
    let ck = Checkpoint { config, state, data: meta.data, lr_given: c.lr_given, rollback, run, full_batch };
    checks::check_settings(path, &ck)?;
    Ok((model, ck))
}

/// Reads back a trainer state written by [`state_tensors`] and [`StateMeta::of`].
fn read_state(
    path: &Path,
    st: &SafeTensors,
    (prefix, meta): (&str, StateMeta),
    optimizer: &Optimizer,
    arch: &Arch,
    n_samples: usize,
) -> Result<TrainState> {
    let layers = |name: &str| model::read_layers(path, st, &format!("{prefix}.{name}."), arch);
    let optimizer = match optimizer {
        Optimizer::Sgd { .. } => OptimizerState::Momentum { velocity: layers("velocity")? },
        Optimizer::Adam(_) => {
            let t = meta
                .adam_t
                .ok_or_else(|| Error::model(path, format!("has no Adam step count (adam_t) for {prefix}")))?;
            OptimizerState::Adam { m: layers("adam_m")?, v: layers("adam_v")?, t }
        }
    };
    let order: Vec<usize> = model::tensor(path, st, &format!("{prefix}.order"), Dtype::U64, &[n_samples])?
        .data()
        .chunks_exact(8)
        .map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as usize)
        .collect();
    checks::check_position(path, prefix, &meta, &order, n_samples)?;
    Ok(TrainState {
        epoch: meta.epoch,
        next_batch: meta.next_batch,
        order,
        rng_word_pos: meta.rng_word_pos,
        optimizer,
        loss_sum: meta.loss_sum,
        correct: meta.correct,
        done: meta.done,
        seconds: meta.seconds,
    })
}

mod checks;
mod full_batch;
#[cfg(test)]
mod full_batch_tests;
mod meta;
#[cfg(test)]
mod tests;
