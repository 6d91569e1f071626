//! Model files: safetensors with one f32 tensor per layer weight (`layers.L.weight`,
//! `out x in`) and bias (`layers.L.bias`), z-score statistics as `normalize.mean` and
//! `normalize.std`, and one metadata entry `bp_par` holding a JSON object (format version,
//! layer sizes, activations, loss, task, normalisation, input shape).
//!
//! Files are deterministic (sorted JSON keys, a single metadata key, no time stamps or run
//! details) and written atomically: a temporary file in the same folder, fsync, rename.
//!
//! ```no_run
//! let model = bp_par::model_io::load("model.safetensors".as_ref()).unwrap();
//! println!("{:?}", model.net.arch.sizes());
//! ```

use crate::activation::Activation;
use crate::data::Normalization;
use crate::error::{Error, Result};
use crate::loss::Loss;
use crate::network::{Arch, Network};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

/// The format version this build writes and reads.
pub const FORMAT_VERSION: u64 = 1;
const META_KEY: &str = "bp_par";

/// What the outputs mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// One output per class; predictions are the argmax.
    Classify,
    /// Real-valued outputs (`--targets K`).
    Regress,
}

/// A trained network with everything needed to apply it to raw data.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub net: Network<f32>,
    pub norm: Normalization,
    pub task: Task,
    pub input_shape: Option<[usize; 2]>,
}

/// A model borrowed in parts (a trainer holds the network mutably while it runs).
#[derive(Clone, Copy, Debug)]
pub struct ModelRef<'a> {
    pub net: &'a Network<f32>,
    pub norm: &'a Normalization,
    pub task: Task,
    pub input_shape: Option<[usize; 2]>,
}

impl Model {
    pub fn view(&self) -> ModelRef<'_> {
        ModelRef { net: &self.net, norm: &self.norm, task: self.task, input_shape: self.input_shape }
    }
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Serialises a model to bytes.
pub fn to_bytes(model: &Model) -> Result<Vec<u8>> {
    serialize(model.view(), Vec::new(), None)
}

/// A tensor beyond the model's: name, dtype, shape, little-endian bytes.
type Extra = (String, Dtype, Vec<usize>, Vec<u8>);

/// The model's tensors and metadata, plus `extra` tensors and an `extra_meta` object stored
/// under the metadata field "checkpoint".
fn serialize(model: ModelRef<'_>, extra: Vec<Extra>, extra_meta: Option<Value>) -> Result<Vec<u8>> {
    let arch = &model.net.arch;
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for l in 0..arch.n_layers() {
        let (_, b) = model.net.layer(l);
        let (n_in, n_out) = (arch.sizes()[l], arch.sizes()[l + 1]);
        tensors.push((format!("layers.{l}.weight"), vec![n_out, n_in], f32_bytes(&model.net.weight(l))));
        tensors.push((format!("layers.{l}.bias"), vec![n_out], f32_bytes(b)));
    }
    let norm = match model.norm {
        Normalization::None => json!({"kind": "none"}),
        Normalization::Scale(s) => json!({"kind": "scale", "divisor": s}),
        Normalization::ZScore { mean, std } => {
            tensors.push(("normalize.mean".into(), vec![mean.len()], f32_bytes(mean)));
            tensors.push(("normalize.std".into(), vec![std.len()], f32_bytes(std)));
            json!({"kind": "zscore"})
        }
    };
    let mut meta = json!({
        "format_version": FORMAT_VERSION,
        "layers": arch.sizes(),
        "activations": (0..arch.n_layers()).map(|l| arch.layer_activation(l)).collect::<Vec<_>>(),
        "hidden_activation": arch.activation.name(),
        "loss": arch.loss.name(),
        "task": match model.task { Task::Classify => "classify", Task::Regress => "regress" },
        "normalization": norm,
        "input_shape": model.input_shape,
    });
    if let Some(x) = extra_meta {
        meta["checkpoint"] = x;
    }
    let mut all: Vec<Extra> = tensors.into_iter().map(|(n, shape, b)| (n, Dtype::F32, shape, b)).collect();
    all.extend(extra);
    let views = all
        .iter()
        .map(|(name, dtype, shape, data)| {
            TensorView::new(*dtype, shape.clone(), data).map(|v| (name.clone(), v))
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::other(format!("cannot build the model tensors: {e}")))?;
    // One metadata key: a HashMap with more would serialise in a random order.
    let info = HashMap::from([(META_KEY.to_string(), meta.to_string())]);
    safetensors::serialize(views, Some(info))
        .map_err(|e| Error::other(format!("cannot serialise the model: {e}")))
}

/// Writes `bytes` to `path` atomically: temporary file beside it, fsync, rename.
///
/// A path that names a device or a pipe (`/dev/null`, `/dev/stdout`) is written to
/// directly, never replaced; a symbolic link is followed and its target replaced.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Ok(meta) = std::fs::metadata(path)
        && !meta.is_file()
        && !meta.is_dir()
    {
        let mut f =
            std::fs::OpenOptions::new().write(true).open(path).map_err(|e| Error::io(path, "write", e))?;
        return f.write_all(bytes).map_err(|e| Error::io(path, "write", e));
    }
    let resolved;
    let path = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            resolved = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
            resolved.as_path()
        }
        _ => path,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| {
        Error::io(
            path,
            "write (creating a temporary file in its folder failed)",
            std::io::Error::from(e.kind()),
        )
    })?;
    // tempfile creates 0600; give the result the usual 0644 (or the old file's mode).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_or(0o644, |m| m.permissions().mode() & 0o777);
        let _ = tmp.as_file().set_permissions(std::fs::Permissions::from_mode(mode));
    }
    tmp.write_all(bytes).map_err(|e| Error::io(path, "write", e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(path, "sync", e))?;
    tmp.persist(path).map_err(|e| Error::io(path, "rename the temporary file onto", e.error))?;
    // Make the rename itself durable.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Saves a model given in parts, atomically.
pub fn save_view(path: &Path, model: ModelRef<'_>) -> Result<()> {
    write_atomic(path, &serialize(model, Vec::new(), None)?)
}

/// Saves a model atomically.
pub fn save(path: &Path, model: &Model) -> Result<()> {
    write_atomic(path, &to_bytes(model)?)
}

fn tensor_f32(path: &Path, st: &SafeTensors, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
    let t = st.tensor(name).map_err(|_| Error::model(path, format!("has no tensor {name:?}")))?;
    if t.dtype() != Dtype::F32 {
        return Err(Error::model(path, format!("tensor {name:?} is {:?}, expected F32", t.dtype())));
    }
    if t.shape() != shape {
        return Err(Error::model(
            path,
            format!("tensor {name:?} has shape {:?}, expected {shape:?}", t.shape()),
        ));
    }
    Ok(t.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
}

/// Parses a model from the bytes of `path`.
pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Model> {
    let bad = |m: String| Error::model(path, m);
    let st =
        SafeTensors::deserialize(bytes).map_err(|e| bad(format!("is not a valid safetensors file ({e})")))?;
    let (_, header) = SafeTensors::read_metadata(bytes)
        .map_err(|e| bad(format!("is not a valid safetensors file ({e})")))?;
    let meta_text =
        header.metadata().as_ref().and_then(|m| m.get(META_KEY)).ok_or_else(|| {
            bad("is a safetensors file but not a bp-par model (no \"bp_par\" metadata)".into())
        })?;
    let meta: Value =
        serde_json::from_str(meta_text).map_err(|e| bad(format!("has unreadable bp-par metadata ({e})")))?;
    let field = |k: &str| meta.get(k).ok_or_else(|| bad(format!("metadata lacks the field {k:?}")));
    let version =
        field("format_version")?.as_u64().ok_or_else(|| bad("format_version is not a number".into()))?;
    if version != FORMAT_VERSION {
        let which = if version > FORMAT_VERSION { "a newer" } else { "an older" };
        return Err(bad(format!(
            "was written by {which} bp-par (model format {version}); this build reads format {FORMAT_VERSION}"
        )));
    }
    let sizes: Vec<usize> = field("layers")?
        .as_array()
        .and_then(|a| a.iter().map(|v| v.as_u64().map(|x| x as usize)).collect())
        .ok_or_else(|| bad("metadata \"layers\" is not a list of sizes".into()))?;
    let text = |k: &str| -> Result<String> {
        field(k)?.as_str().map(str::to_string).ok_or_else(|| bad(format!("metadata {k:?} is not a string")))
    };
    let activation: Activation = text("hidden_activation")?.parse().map_err(bad)?;
    let loss: Loss = text("loss")?.parse().map_err(bad)?;
    let task = match text("task")?.as_str() {
        "classify" => Task::Classify,
        "regress" => Task::Regress,
        t => return Err(bad(format!("unknown task {t:?}"))),
    };
    let arch = Arch::new(sizes, activation, loss).map_err(bad)?;
    let listed: Option<Vec<&str>> =
        field("activations")?.as_array().and_then(|a| a.iter().map(Value::as_str).collect());
    let expected: Vec<&str> = (0..arch.n_layers()).map(|l| arch.layer_activation(l)).collect();
    if listed.as_ref() != Some(&expected) {
        return Err(bad(format!(
            "metadata \"activations\" {listed:?} do not match this build's {expected:?} for {} and {}",
            arch.activation, arch.loss
        )));
    }
    if arch.n_params() > bytes.len() / 4 {
        return Err(bad(format!("declares {} parameters but holds {} bytes", arch.n_params(), bytes.len())));
    }
    let mut layers = Vec::with_capacity(arch.n_layers());
    for l in 0..arch.n_layers() {
        let (n_in, n_out) = (arch.sizes()[l], arch.sizes()[l + 1]);
        let w = tensor_f32(path, &st, &format!("layers.{l}.weight"), &[n_out, n_in])?;
        let b = tensor_f32(path, &st, &format!("layers.{l}.bias"), &[n_out])?;
        if w.iter().chain(&b).any(|p| !p.is_finite()) {
            return Err(bad(format!("layer {l} holds non-finite parameters (NaN or infinity)")));
        }
        layers.push((w, b));
    }
    let n_in = arch.n_in();
    let norm_meta = field("normalization")?;
    let norm = match norm_meta.get("kind").and_then(Value::as_str) {
        Some("none") => Normalization::None,
        Some("scale") => {
            let d = norm_meta.get("divisor").and_then(Value::as_f64).map(|d| d as f32);
            let d = d.filter(|d| d.is_finite() && d.is_normal());
            Normalization::Scale(d.ok_or_else(|| {
                bad("normalization divisor is missing, zero or out of the f32 range".into())
            })?)
        }
        Some("zscore") => {
            let mean = tensor_f32(path, &st, "normalize.mean", &[n_in])?;
            let std = tensor_f32(path, &st, "normalize.std", &[n_in])?;
            if mean.iter().any(|m| !m.is_finite()) || std.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
                return Err(bad("normalize.mean/std hold non-finite or non-positive values".into()));
            }
            Normalization::ZScore { mean, std }
        }
        other => return Err(bad(format!("unknown normalization {other:?}"))),
    };
    let input_shape = match meta.get("input_shape") {
        Some(Value::Array(a)) if a.len() == 2 => {
            let h = a[0].as_u64().unwrap_or(0) as usize;
            let w = a[1].as_u64().unwrap_or(0) as usize;
            (h.checked_mul(w) == Some(n_in)).then_some([h, w])
        }
        _ => None,
    };
    let net = Network::from_layers(arch, &layers).map_err(bad)?;
    Ok(Model { net, norm, task, input_shape })
}

/// Loads a model file.
pub fn load(path: &Path) -> Result<Model> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, "read the model", e))?;
    from_bytes(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Model {
        let arch = Arch::new(vec![4, 3, 2], Activation::Tanh, Loss::Bce).unwrap();
        Model {
            net: Network::init(arch, 5),
            norm: Normalization::ZScore { mean: vec![1.0; 4], std: vec![2.0; 4] },
            task: Task::Classify,
            input_shape: Some([2, 2]),
        }
    }

    #[test]
    fn round_trip_and_deterministic_bytes() {
        let m = model();
        let bytes = to_bytes(&m).unwrap();
        assert_eq!(bytes, to_bytes(&m).unwrap());
        assert_eq!(from_bytes(Path::new("m"), &bytes).unwrap(), m);
    }

    #[test]
    fn checkpoints_round_trip_with_their_rollback_point() {
        let m = model();
        let n_params = m.net.arch.n_params();
        let state = crate::train::TrainState {
            epoch: 3,
            next_batch: 2,
            order: vec![2, 0, 1, 3],
            rng_word_pos: (1u128 << 70) + 5,
            velocity: (0..n_params).map(|i| i as f32 * 0.5).collect(),
            loss_sum: 1.25,
            correct: 7,
            done: 8,
            seconds: 0.5,
        };
        let ck = Checkpoint {
            config: crate::train::TrainConfig { epochs: 9, batch: 2, shard: 1, ..Default::default() },
            state: state.clone(),
            data: DataIdentity {
                path: "d.csv".into(),
                n_samples: 4,
                n_features: 4,
                fingerprint: u64::MAX - 1,
                val_split: 0.25,
            },
            lr_given: 0.4,
            rollback: Some(Rollback {
                params: vec![1.5; n_params],
                state: crate::train::TrainState { next_batch: 0, ..state },
                retries: 2,
            }),
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ck.safetensors");
        save_checkpoint(&path, m.view(), &ck).unwrap();
        let (m2, ck2) = load_checkpoint(&path).unwrap();
        assert_eq!(m2, m);
        assert_eq!(ck2, ck);
    }

    #[test]
    fn writes_through_devices_and_symlinks_instead_of_replacing_them() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.bin");
        std::fs::write(&target, b"old").unwrap();
        #[cfg(unix)]
        {
            let link = dir.path().join("link.bin");
            std::os::unix::fs::symlink(&target, &link).unwrap();
            write_atomic(&link, b"new").unwrap();
            assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
            assert_eq!(std::fs::read(&target).unwrap(), b"new");
            write_atomic(Path::new("/dev/null"), b"discarded").unwrap();
            assert!(!std::fs::metadata("/dev/null").unwrap().is_file());
        }
    }

    #[test]
    fn damaged_files_give_errors_not_panics() {
        let bytes = to_bytes(&model()).unwrap();
        for cut in [0, 4, 8, 20, bytes.len() / 2, bytes.len() - 1] {
            let err = from_bytes(Path::new("m.safetensors"), &bytes[..cut]).unwrap_err().to_string();
            assert!(err.starts_with("m.safetensors: "), "{err}");
        }
        let needle = br#"\"format_version\":1"#;
        let at = bytes.windows(needle.len()).position(|w| w == needle).unwrap();
        let mut newer = bytes.clone();
        newer[at + needle.len() - 1] = b'9';
        let err = from_bytes(Path::new("m"), &newer).unwrap_err().to_string();
        assert!(err.contains("newer bp-par (model format 9)"), "{err}");
    }
}

/// The format version of checkpoints (inside a model file's metadata). Version 2: velocities
/// and rollback parameters in the flat layout of [`Network::params`] with every weight
/// `n_out x n_in`, as in the model tensors (version 1 stored weights transposed).
pub const CHECKPOINT_VERSION: u64 = 2;

/// What a checkpoint records about the training data, to refuse resuming on other data.
#[derive(Clone, Debug, PartialEq)]
pub struct DataIdentity {
    pub path: String,
    pub n_samples: usize,
    pub n_features: usize,
    /// [`crate::data::Dataset::fingerprint`] of the training rows as used.
    pub fingerprint: u64,
    pub val_split: f64,
}

/// A checkpoint: a model file that also holds the trainer's state, the configuration and
/// the identity of the training data.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    pub config: crate::train::TrainConfig,
    pub state: crate::train::TrainState,
    pub data: DataIdentity,
    /// The learning rate the run was started with (`config.lr` is the one in effect).
    pub lr_given: f32,
    /// With `--on-divergence halve-lr`: the state to roll back to (the start of the current
    /// epoch: weights in the trainer's flat layout, and trainer state) and the retries so far.
    pub rollback: Option<Rollback>,
}

pub use crate::train::Rollback;

/// The tensors of a trainer state, named with `prefix`.
fn state_tensors(prefix: &str, st: &crate::train::TrainState) -> Vec<Extra> {
    let order: Vec<u8> = st.order.iter().flat_map(|&i| (i as u64).to_le_bytes()).collect();
    vec![
        (format!("{prefix}.velocity"), Dtype::F32, vec![st.velocity.len()], f32_bytes(&st.velocity)),
        (format!("{prefix}.order"), Dtype::U64, vec![st.order.len()], order),
    ]
}

/// The scalar fields of a trainer state.
fn state_meta(st: &crate::train::TrainState) -> Value {
    json!({
        "epoch": st.epoch, "next_batch": st.next_batch, "rng_word_pos": st.rng_word_pos.to_string(),
        "loss_sum": st.loss_sum, "correct": st.correct, "done": st.done, "seconds": st.seconds,
    })
}

/// Reads back what [`state_tensors`] and [`state_meta`] wrote.
fn read_state(
    path: &Path,
    st: &SafeTensors,
    prefix: &str,
    s: &Value,
    n_params: usize,
    n_samples: usize,
) -> Result<crate::train::TrainState> {
    let bad = |k: &str| Error::model(path, format!("checkpoint field {k:?} is missing"));
    let int = |k: &str| s[k].as_u64().map(|x| x as usize).ok_or_else(|| bad(k));
    let num = |k: &str| s[k].as_f64().ok_or_else(|| bad(k));
    let velocity = tensor_f32(path, st, &format!("{prefix}.velocity"), &[n_params])?;
    let name = format!("{prefix}.order");
    let order_t = st.tensor(&name).map_err(|_| Error::model(path, format!("has no tensor {name:?}")))?;
    if order_t.dtype() != Dtype::U64 || order_t.shape() != [n_samples] {
        return Err(Error::model(path, format!("tensor {name:?} has the wrong type or shape")));
    }
    let order = order_t
        .data()
        .chunks_exact(8)
        .map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as usize)
        .collect();
    Ok(crate::train::TrainState {
        epoch: int("epoch")?,
        next_batch: int("next_batch")?,
        order,
        rng_word_pos: s["rng_word_pos"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| bad("rng_word_pos"))?,
        velocity,
        loss_sum: num("loss_sum")?,
        correct: int("correct")?,
        done: int("done")?,
        seconds: num("seconds")?,
    })
}

/// Writes a checkpoint atomically: the model's tensors and metadata (so `eval` and
/// `predict` accept it as a model), the velocities and row order as tensors, the rest as
/// metadata.
pub fn save_checkpoint(path: &Path, model: ModelRef<'_>, ck: &Checkpoint) -> Result<()> {
    let st = &ck.state;
    let c = &ck.config;
    let mut extra = state_tensors("trainer", st);
    if let Some(r) = &ck.rollback {
        extra.extend(state_tensors("rollback", &r.state));
        extra.push(("rollback.params".into(), Dtype::F32, vec![r.params.len()], f32_bytes(&r.params)));
    }
    let mut meta = json!({
        "version": CHECKPOINT_VERSION,
        "config": {
            "epochs": c.epochs, "batch": c.batch, "shard": c.shard, "lr": c.lr, "momentum": c.momentum,
            "l2": c.l2, "seed": c.seed.to_string(), "shuffle": c.shuffle, "lr_given": ck.lr_given,
        },
        "state": state_meta(st),
        "data": {
            "path": ck.data.path, "n_samples": ck.data.n_samples, "n_features": ck.data.n_features,
            "fingerprint": format!("{:016x}", ck.data.fingerprint), "val_split": ck.data.val_split,
        },
    });
    if let Some(r) = &ck.rollback {
        meta["rollback"] = json!({"state": state_meta(&r.state), "retries": r.retries});
    }
    write_atomic(path, &serialize(model, extra, Some(meta))?)
}

/// Reads a checkpoint written by [`save_checkpoint`].
pub fn load_checkpoint(path: &Path) -> Result<(Model, Checkpoint)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, "read the checkpoint", e))?;
    checkpoint_from_bytes(path, &bytes)
}

/// Parses a checkpoint from the bytes of `path`.
pub fn checkpoint_from_bytes(path: &Path, bytes: &[u8]) -> Result<(Model, Checkpoint)> {
    let model = from_bytes(path, bytes)?;
    let bad = |m: &str| Error::model(path, m.to_string());
    let st = SafeTensors::deserialize(bytes).map_err(|_| bad("is not a valid safetensors file"))?;
    let (_, header) =
        SafeTensors::read_metadata(bytes).map_err(|_| bad("is not a valid safetensors file"))?;
    let meta: Value = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get(META_KEY))
        .and_then(|t| serde_json::from_str(t).ok())
        .ok_or_else(|| bad("has no bp-par metadata"))?;
    let ck = meta.get("checkpoint").ok_or_else(|| bad("is a model, not a checkpoint (no trainer state)"))?;
    let version = ck["version"].as_u64().unwrap_or(0);
    if version != CHECKPOINT_VERSION {
        return Err(Error::model(
            path,
            format!("is a checkpoint of format {version}; this build reads format {CHECKPOINT_VERSION}"),
        ));
    }
    let num =
        |v: &Value, k: &str| v[k].as_f64().ok_or_else(|| bad(&format!("checkpoint field {k:?} is missing")));
    let int = |v: &Value, k: &str| {
        v[k].as_u64().map(|x| x as usize).ok_or_else(|| bad(&format!("checkpoint field {k:?} is missing")))
    };
    let big = |v: &Value, k: &str| {
        v[k].as_str()
            .and_then(|t| t.parse::<u128>().ok())
            .ok_or_else(|| bad(&format!("checkpoint field {k:?} is missing")))
    };
    let (c, s, d) = (&ck["config"], &ck["state"], &ck["data"]);
    let config = crate::train::TrainConfig {
        epochs: int(c, "epochs")?,
        batch: int(c, "batch")?,
        shard: int(c, "shard")?,
        lr: num(c, "lr")? as f32,
        momentum: num(c, "momentum")? as f32,
        l2: num(c, "l2")? as f32,
        seed: big(c, "seed")? as u64,
        shuffle: c["shuffle"].as_bool().ok_or_else(|| bad("checkpoint field \"shuffle\" is missing"))?,
    };
    let n_params = model.net.arch.n_params();
    let n_samples = int(d, "n_samples")?;
    let state = read_state(path, &st, "trainer", s, n_params, n_samples)?;
    let rollback = match ck.get("rollback") {
        Some(r) => Some(Rollback {
            params: tensor_f32(path, &st, "rollback.params", &[n_params])?,
            state: read_state(path, &st, "rollback", &r["state"], n_params, n_samples)?,
            retries: r["retries"].as_u64().unwrap_or(0) as usize,
        }),
        None => None,
    };
    let fingerprint = d["fingerprint"]
        .as_str()
        .and_then(|t| u64::from_str_radix(t, 16).ok())
        .ok_or_else(|| bad("checkpoint field \"fingerprint\" is missing"))?;
    let data = DataIdentity {
        path: d["path"].as_str().unwrap_or("").to_string(),
        n_samples,
        n_features: int(d, "n_features")?,
        fingerprint,
        val_split: num(d, "val_split")?,
    };
    let lr_given = c["lr_given"].as_f64().map_or(config.lr, |v| v as f32);
    Ok((model, Checkpoint { config, state, data, lr_given, rollback }))
}
