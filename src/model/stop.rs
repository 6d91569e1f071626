//! Why the training that produced a model stopped, recorded in the model file's metadata as
//! the object `stop` (`rule`, `epoch`, `reason`) when a stopping rule ended the run. A run
//! that ran all its epochs writes no `stop`, so its file is byte for byte what it was before
//! stopping rules existed; readers that do not know the field ignore it.

use super::{META_KEY, Model, parse, to_bytes};
use crate::atomic::write_atomic;
use crate::error::{Error, Result};
use crate::metadata;
use safetensors::tensor::TensorView;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// The record of a stopping rule that ended a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StopRecord {
    /// The rule: `target-loss`, `min-change` or `early-stopping`.
    pub rule: String,
    /// The epoch after which the run stopped.
    pub epoch: usize,
    /// The reason in words.
    pub reason: String,
}

/// The bytes of `model`'s file with `stop` recorded in its metadata (none: [`to_bytes`]).
pub fn to_bytes_with_stop(model: &Model, stop: Option<&StopRecord>) -> Result<Vec<u8>> {
    let bytes = to_bytes(model)?;
    let Some(stop) = stop else { return Ok(bytes) };
    let file = parse(Path::new("model"), &bytes)?;
    let mut meta: serde_json::Value = metadata::decode(Path::new("model"), &file.meta)?;
    meta["stop"] = metadata::to_value(stop)?;
    let views = file
        .tensors
        .tensors()
        .into_iter()
        .map(|(name, t)| TensorView::new(t.dtype(), t.shape().to_vec(), t.data()).map(|v| (name, v)))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::other(format!("cannot build the model tensors: {e}")))?;
    let info = HashMap::from([(META_KEY.to_string(), meta.to_string())]);
    safetensors::serialize(views, Some(info))
        .map_err(|e| Error::other(format!("cannot serialise the model: {e}")))
}

/// Saves `model` atomically with `stop` recorded in its metadata.
pub fn save_with_stop(path: &Path, model: &Model, stop: Option<&StopRecord>) -> Result<()> {
    write_atomic(path, &to_bytes_with_stop(model, stop)?)
}

/// The stopping rule recorded in the model file at `path`, if any.
pub fn read_stop(path: &Path) -> Result<Option<StopRecord>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, "read the model", e))?;
    let file = parse(path, &bytes)?;
    #[derive(Deserialize)]
    struct Probe {
        stop: Option<StopRecord>,
    }
    Ok(metadata::decode::<Probe>(path, &file.meta)?.stop)
}
