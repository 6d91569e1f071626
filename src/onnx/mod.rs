//! Models out to ONNX (the `onnx` feature, on by default): the whole model as one graph that
//! ONNX Runtime, and every serving stack that reads ONNX, runs with the same answers as
//! [`Model::predict_proba`] and [`Model::outputs`].
//!
//! The graph (opset [`OPSET`], IR version [`IR_VERSION`]): input `features`, float32
//! `[N, d]` with a dynamic batch dimension; the model's missing-value fills (`IsNaN`,
//! `Where`), its normalisation (`Div` by the scale, or `Sub` the means and `Div` by the
//! standard deviations, as initializers), every layer as a `Gemm` (weights `n_out x n_in`,
//! `transB` 1) followed by the hidden units' `Relu`, `Sigmoid` or `Tanh`, and the output
//! units (`Softmax` on axis 1, `Sigmoid`, or `Identity` for linear outputs). Outputs:
//! `probabilities` (classifiers) or `outputs` (regression), float32 `[N, k]`, and for
//! classifiers `label`, int64 `[N]` (`ArgMax` on axis 1: the class index, as
//! `bp-par predict`'s). The class names and feature names are in the model's
//! `metadata_props` (`class_names`, `feature_names`: JSON arrays), with `bp_par` (the model
//! file's own metadata); the doc string names bp-par, its version and the model.
//!
//! What a graph cannot hold is the caller's to do, and [`not_in_graph`] says what it is for a
//! model: a CSV's label column and kept columns (the graph takes the features alone, in the
//! training file's order) and a picture's preparation (cropping, resizing, centring).
//!
//! The protobuf messages are the `onnx-protobuf` crate's (generated from ONNX's schema): no
//! byte of the wire format is written here.

mod graph;

use crate::error::{Error, Result};
use crate::model::Model;
use protobuf::Message;
use std::path::Path;

/// The ONNX operator set the graphs use.
pub const OPSET: i64 = 13;
/// The ONNX IR version of the files (ONNX Runtime reads 3 to 10 and later).
pub const IR_VERSION: i64 = 8;

/// The model as the bytes of an ONNX file.
///
/// # Errors
/// [`Error::Other`] when the protobuf encoder fails (it does not for a checked model).
pub fn to_onnx(model: &Model) -> Result<Vec<u8>> {
    graph::model_proto(model)
        .write_to_bytes()
        .map_err(|e| Error::other(format!("could not encode the ONNX model: {e}")))
}

/// What the graph of `model` leaves to the caller, one sentence each (empty when nothing).
pub fn not_in_graph(model: &Model) -> Vec<String> {
    let schema = &model.schema;
    let mut notes = Vec::new();
    if let Some(label) = &schema.label {
        notes.push(format!(
            "the label column ({}) is not an input: pass the {} feature columns only, in the training file's order",
            match &label.name {
                Some(name) => format!("column {} ({name:?}, 0-based)", label.index),
                None => format!("column {}, 0-based", label.index),
            },
            model.net.arch().n_in()
        ));
    } else if schema.one_hot.is_some() || schema.target_names.is_some() {
        notes.push(format!(
            "the label or target columns are not inputs: pass the {} feature columns only",
            model.net.arch().n_in()
        ));
    }
    if let Some(kept) = schema.kept_cols.as_ref().filter(|k| !k.is_empty()) {
        notes.push(format!("the columns kept aside in training ({}) are not inputs", kept.join(", ")));
    }
    if schema.image.is_some() {
        notes.push(
            "pictures are not prepared by the graph (cropped, resized and centred like the training \
             images, as `bp-par predict` does with a PNG): pass rows of pixels"
                .to_string(),
        );
    }
    notes
}

/// Reads the model file `model_path` and writes it to `out` as ONNX (atomically: a failed
/// export leaves an existing `out` as it was); returns [`not_in_graph`]'s notes.
///
/// # Errors
/// [`Error::Io`] for a file that cannot be read or written; [`Error::Model`] for a file that
/// is not a bp-par model, or is a checkpoint (a run in progress, not a model to deploy).
pub fn export(model_path: &Path, out: &Path) -> Result<Vec<String>> {
    let bytes = std::fs::read(model_path).map_err(|e| Error::io(model_path, "read the model", e))?;
    if crate::checkpoint::is_checkpoint(model_path, &bytes)? {
        return Err(Error::model(
            model_path,
            "is a checkpoint (a run in progress), not a model: finish it (`bp-par train --resume` \
             with --save) and export the saved model",
        ));
    }
    let model = crate::model::from_bytes(model_path, &bytes)?;
    crate::write_atomic(out, &to_onnx(&model)?)?;
    Ok(not_in_graph(&model))
}

#[cfg(test)]
mod tests;
