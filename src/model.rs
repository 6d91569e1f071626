//! Model files: safetensors with one f32 tensor per layer weight (`layers.L.weight`,
//! `out x in`) and bias (`layers.L.bias`), z-score statistics as `normalize.mean` and
//! `normalize.std`, and one metadata entry `bp_par` holding a JSON object (format version,
//! layer sizes, activations, loss, task, normalisation, input shape). Checkpoints
//! ([`crate::checkpoint`]) are model files with more tensors and a `checkpoint` object in
//! that metadata, so every reader of models reads them too.
//!
//! Files are deterministic (sorted JSON keys, a single metadata key, no time stamps or run
//! details) and written atomically ([`crate::write_atomic`]). Loading checks everything
//! (format version, shapes, finite weights, normalisation) and answers a bad file with one
//! sentence naming the file and the field or tensor.
//!
//! ```
//! use bp_par::{activation::Activation, data::Normalization, loss::Loss};
//! use bp_par::model::{self, Model, Task};
//! use bp_par::network::{Arch, Network};
//! let arch = Arch::new(vec![4, 3, 2], Activation::Tanh, Loss::Xent).unwrap();
//! let model =
//!     Model::new(Network::init(arch, 1), Normalization::Scale(255.0), Task::Classify, Some([2, 2]), Default::default())
//!         .unwrap();
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("model.safetensors");
//! model::save(&path, &model).unwrap();
//! assert_eq!(model::load(&path).unwrap(), model);
//! ```

use crate::activation::Activation;
use crate::atomic::write_atomic;
use crate::data::{Normalization, Schema};
use crate::error::{Error, Result};
use crate::loss::{Loss, Output};
use crate::metadata;
use crate::network::{Arch, Network};
use crate::threads::Threads;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// The format version this build writes and reads.
pub const FORMAT_VERSION: u64 = 1;
/// The one metadata key of a bp-par file.
const META_KEY: &str = "bp_par";

/// What the outputs mean (stored in the metadata as `"classify"` or `"regress"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// One output per class; predictions are the argmax.
    Classify,
    /// Real-valued outputs (the data's targets, [`crate::data::Targets::Values`]).
    Regress,
}

/// A trained network with everything needed to apply it to raw data: the normalisation and
/// missing-value fills fitted on the training rows, and the training file's columns. Its
/// [`Model::predict`], [`Model::predict_proba`], [`Model::outputs`] and [`Model::evaluate`]
/// take raw rows and apply them; a model is built by a fit ([`crate::fit::Mlp::fit`]), read
/// from a file ([`load`]) or assembled with the checks of [`Model::new`].
///
/// Equality compares what a model file holds (not the threads its predictions use).
#[derive(Clone, Debug)]
pub struct Model {
    /// The architecture and its parameters.
    pub net: Network<f32>,
    /// The normalisation fitted on the training data, applied to raw features first.
    pub norm: Normalization,
    /// Whether the outputs are class scores or real values.
    pub task: Task,
    /// `[height, width]` when the inputs are an image (for pictures of the first layer).
    pub input_shape: Option<[usize; 2]>,
    /// How the training file's columns were read (label column, feature and class names):
    /// eval and predict read other files the same way.
    pub schema: Schema,
    /// The threads predictions and evaluations run on (not stored in files).
    threads: Threads,
}

impl PartialEq for Model {
    fn eq(&self, other: &Model) -> bool {
        (&self.net, &self.norm, self.task, self.input_shape, &self.schema)
            == (&other.net, &other.norm, other.task, other.input_shape, &other.schema)
    }
}

/// A model borrowed in parts (a trainer holds the network mutably while it runs).
#[derive(Clone, Copy, Debug)]
pub struct ModelRef<'a> {
    /// The architecture and its parameters.
    pub net: &'a Network<f32>,
    /// The normalisation fitted on the training data.
    pub norm: &'a Normalization,
    /// Whether the outputs are class scores or real values.
    pub task: Task,
    /// `[height, width]` when the inputs are an image.
    pub input_shape: Option<[usize; 2]>,
    /// How the training file's columns were read.
    pub schema: &'a Schema,
}

impl Model {
    /// The threads predictions and evaluations run on (every core unless set; a fit's model
    /// keeps the fit's).
    pub fn threads(&self) -> Threads {
        self.threads
    }

    /// Runs predictions and evaluations on `threads` (the results do not depend on it).
    pub fn set_threads(&mut self, threads: Threads) {
        self.threads = threads;
    }

    /// The model as a [`ModelRef`], for [`save_view`] and the checkpoint writer.
    pub fn view(&self) -> ModelRef<'_> {
        ModelRef {
            net: &self.net,
            norm: &self.norm,
            task: self.task,
            input_shape: self.input_shape,
            schema: &self.schema,
        }
    }
}

/// The `bp_par` metadata object of a model file (written with sorted keys).
#[derive(Serialize, Deserialize)]
struct ModelMeta {
    format_version: u64,
    /// Layer sizes, input first.
    layers: Vec<usize>,
    /// Each weight layer's activation, the output's last (a check: they follow from the rest).
    activations: Vec<String>,
    #[serde(with = "metadata::text")]
    hidden_activation: Activation,
    #[serde(with = "metadata::text")]
    loss: Loss,
    task: Task,
    normalization: NormMeta,
    input_shape: Option<[usize; 2]>,
    /// The training file's columns (absent when nothing is known, as in older files).
    #[serde(default, skip_serializing_if = "Schema::is_empty")]
    schema: Schema,
}

/// The normalisation in the metadata; z-score statistics are tensors.
#[derive(Serialize, Deserialize)]
struct NormMeta {
    kind: NormKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    divisor: Option<f32>,
}

/// The kinds of [`Normalization`], as named in the metadata.
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum NormKind {
    None,
    Scale,
    Zscore,
}

/// Read first, so that a file of another version is refused before its fields are decoded.
#[derive(Deserialize)]
struct FormatProbe {
    format_version: u64,
}

/// A tensor to write: name, element type, shape and little-endian bytes.
pub(crate) struct Tensor {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl Tensor {
    /// An f32 tensor of `shape` (whose product is `values.len()`).
    pub(crate) fn f32(name: String, shape: Vec<usize>, values: &[f32]) -> Self {
        Tensor {
            name,
            dtype: Dtype::F32,
            shape,
            bytes: values.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }

    /// A one-dimensional u64 tensor.
    pub(crate) fn u64(name: String, values: &[usize]) -> Self {
        let bytes = values.iter().flat_map(|&i| (i as u64).to_le_bytes()).collect();
        Tensor { name, dtype: Dtype::U64, shape: vec![values.len()], bytes }
    }
}

/// The tensors `{prefix}layers.L.weight` (`n_out x n_in`) and `{prefix}layers.L.bias` of a
/// buffer `flat` laid out as [`Network::params`] (a model's parameters with prefix `""`; a
/// checkpoint's velocities and rollback weights under their own prefixes).
pub(crate) fn layer_tensors(prefix: &str, arch: &Arch, flat: &[f32]) -> Vec<Tensor> {
    (0..arch.n_layers())
        .flat_map(|l| {
            let (n_in, n_out) = (arch.sizes()[l], arch.sizes()[l + 1]);
            [
                Tensor::f32(
                    format!("{prefix}layers.{l}.weight"),
                    vec![n_out, n_in],
                    &flat[arch.weight_range(l)],
                ),
                Tensor::f32(format!("{prefix}layers.{l}.bias"), vec![n_out], &flat[arch.bias_range(l)]),
            ]
        })
        .collect()
}

/// Reads what [`layer_tensors`] wrote with `prefix` back into the flat layout.
pub(crate) fn read_layers(path: &Path, st: &SafeTensors, prefix: &str, arch: &Arch) -> Result<Vec<f32>> {
    let mut flat = vec![0.0; arch.n_params()];
    for l in 0..arch.n_layers() {
        let (n_in, n_out) = (arch.sizes()[l], arch.sizes()[l + 1]);
        let weight = tensor(path, st, &format!("{prefix}layers.{l}.weight"), Dtype::F32, &[n_out, n_in])?;
        read_f32_into(weight, &mut flat[arch.weight_range(l)]);
        let bias = tensor(path, st, &format!("{prefix}layers.{l}.bias"), Dtype::F32, &[n_out])?;
        read_f32_into(bias, &mut flat[arch.bias_range(l)]);
    }
    Ok(flat)
}

/// The tensor `name` of `st`, checked to be of `dtype` and `shape`.
pub(crate) fn tensor<'a>(
    path: &Path,
    st: &SafeTensors<'a>,
    name: &str,
    dtype: Dtype,
    shape: &[usize],
) -> Result<TensorView<'a>> {
    let t = st.tensor(name).map_err(|_| Error::model(path, format!("has no tensor {name:?}")))?;
    if t.dtype() != dtype {
        return Err(Error::model(path, format!("tensor {name:?} is {:?}, expected {dtype:?}", t.dtype())));
    }
    if t.shape() != shape {
        return Err(Error::model(
            path,
            format!("tensor {name:?} has shape {:?}, expected {shape:?}", t.shape()),
        ));
    }
    Ok(t)
}

/// Decodes an f32 tensor (checked by [`tensor`] to hold `out.len()` values) into `out`.
fn read_f32_into(t: TensorView<'_>, out: &mut [f32]) {
    for (o, b) in out.iter_mut().zip(t.data().chunks_exact(4)) {
        *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
}

/// The f32 tensor `name` of `shape`, as values.
fn read_f32(path: &Path, st: &SafeTensors, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
    let t = tensor(path, st, name, Dtype::F32, shape)?;
    let mut out = vec![0.0; shape.iter().product()];
    read_f32_into(t, &mut out);
    Ok(out)
}

/// Serialises a model to bytes.
pub fn to_bytes(model: &Model) -> Result<Vec<u8>> {
    file_bytes(model.view(), Vec::new(), None)
}

/// The bytes of a file holding `model`, the `extra` tensors and, under the metadata key
/// `"checkpoint"`, the object `checkpoint` (a checkpoint's own metadata).
pub(crate) fn file_bytes(
    model: ModelRef<'_>,
    extra: Vec<Tensor>,
    checkpoint: Option<serde_json::Value>,
) -> Result<Vec<u8>> {
    let mut tensors = layer_tensors("", &model.net.arch, &model.net.params);
    let mut meta = meta::model_meta(model, &mut tensors)?;
    if let Some(checkpoint) = checkpoint {
        meta["checkpoint"] = checkpoint;
    }
    tensors.extend(extra);
    let views = tensors
        .iter()
        .map(|t| TensorView::new(t.dtype, t.shape.clone(), &t.bytes).map(|v| (t.name.clone(), v)))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::other(format!("cannot build the model tensors: {e}")))?;
    // One metadata key: a HashMap with more would serialise in a random order.
    let info = HashMap::from([(META_KEY.to_string(), meta.to_string())]);
    safetensors::serialize(views, Some(info))
        .map_err(|e| Error::other(format!("cannot serialise the model: {e}")))
}

/// Saves a model given in parts, atomically.
pub fn save_view(path: &Path, model: ModelRef<'_>) -> Result<()> {
    write_atomic(path, &file_bytes(model, Vec::new(), None)?)
}

/// Saves a model atomically.
pub fn save(path: &Path, model: &Model) -> Result<()> {
    write_atomic(path, &to_bytes(model)?)
}

/// A safetensors file with bp-par metadata, before any further check.
pub(crate) struct File<'a> {
    /// The tensors.
    pub(crate) tensors: SafeTensors<'a>,
    /// The JSON text under the metadata key `bp_par`.
    pub(crate) meta: String,
    /// The file's size in bytes.
    len: usize,
}

/// Parses the safetensors container of `bytes` (read from `path`) and finds its metadata.
pub(crate) fn parse<'a>(path: &Path, bytes: &'a [u8]) -> Result<File<'a>> {
    let bad = |e| Error::model(path, format!("is not a valid safetensors file ({e})"));
    let tensors = SafeTensors::deserialize(bytes).map_err(bad)?;
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(bad)?;
    let meta = header.metadata().as_ref().and_then(|m| m.get(META_KEY)).cloned().ok_or_else(|| {
        Error::model(path, "is a safetensors file but not a bp-par model (no \"bp_par\" metadata)")
    })?;
    Ok(File { tensors, meta, len: bytes.len() })
}

/// Parses a model from the bytes of `path`.
pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Model> {
    model_from(path, &parse(path, bytes)?)
}

/// The model in a parsed file, checked: format version, architecture, tensors, normalisation.
pub(crate) fn model_from(path: &Path, file: &File<'_>) -> Result<Model> {
    let bad = |m: String| Error::model(path, m);
    let version = metadata::decode::<FormatProbe>(path, &file.meta)?.format_version;
    if version != FORMAT_VERSION {
        let which = if version > FORMAT_VERSION { "a newer" } else { "an older" };
        return Err(bad(format!(
            "was written by {which} bp-par (model format {version}); this build reads format {FORMAT_VERSION}"
        )));
    }
    let meta: ModelMeta = metadata::decode(path, &file.meta)?;
    let arch = Arch::new(meta.layers, meta.hidden_activation, meta.loss).map_err(|e| bad(e.to_string()))?;
    // The last of "activations" is the output unit: the loss's own, or linear (mse only).
    let linear = meta.activations.last().is_some_and(|a| a == Output::Linear.name());
    let arch = if linear { arch.with_output(Output::Linear).map_err(|e| bad(e.to_string()))? } else { arch };
    let expected: Vec<&str> = (0..arch.n_layers()).map(|l| arch.layer_activation(l)).collect();
    if meta.activations != expected {
        return Err(bad(format!(
            "metadata \"activations\" {:?} do not match this build's {expected:?} for {} and {}",
            meta.activations, arch.activation, arch.loss
        )));
    }
    if arch.n_params() > file.len / 4 {
        return Err(bad(format!("declares {} parameters but holds {} bytes", arch.n_params(), file.len)));
    }
    let params = read_layers(path, &file.tensors, "", &arch)?;
    for l in 0..arch.n_layers() {
        let mut layer = params[arch.weight_range(l)].iter().chain(&params[arch.bias_range(l)]);
        if layer.any(|p| !p.is_finite()) {
            return Err(bad(format!("layer {l} holds non-finite parameters (NaN or infinity)")));
        }
    }
    let norm = normalization(path, &file.tensors, &meta.normalization, arch.n_in())?;
    if let Some([h, w]) = meta.input_shape
        && h.checked_mul(w) != Some(arch.n_in())
    {
        return Err(bad(format!(
            "metadata \"input_shape\" [{h}, {w}] does not match the {} inputs of layers {:?}",
            arch.n_in(),
            arch.sizes()
        )));
    }
    check_schema(path, &meta.schema, arch.n_in(), arch.n_out(), meta.task)?;
    meta.schema.check_image(meta.input_shape).map_err(|m| bad(format!("metadata \"schema.image\" {m}")))?;
    Ok(Model {
        net: Network { arch, params },
        norm,
        task: meta.task,
        input_shape: meta.input_shape,
        schema: meta.schema,
        threads: Threads::all(),
    })
}

/// Loads a model file.
pub fn load(path: &Path) -> Result<Model> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, "read the model", e))?;
    from_bytes(path, &bytes)
}

mod apply;
mod checks;
mod meta;
mod stop;
use checks::{check_schema, normalization};
#[cfg(feature = "onnx")]
pub(crate) use meta::metadata_json;
pub use stop::{StopRecord, read_stop, save_with_stop, to_bytes_with_stop};

#[cfg(test)]
mod tests;
