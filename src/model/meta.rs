//! The `bp_par` metadata object of a model file: built once, for the file and for what else
//! carries it (the ONNX export's `metadata_props`).

use super::{FORMAT_VERSION, ModelMeta, ModelRef, NormKind, NormMeta, Tensor};
use crate::data::Normalization;
use crate::error::Result;
use crate::metadata;

/// The metadata object of `model`'s file; a z-score normalisation's statistics are added to
/// `tensors` (they are tensors of the file, not metadata).
pub(super) fn model_meta(model: ModelRef<'_>, tensors: &mut Vec<Tensor>) -> Result<serde_json::Value> {
    let arch = &model.net.arch;
    let (kind, divisor) = match model.norm {
        Normalization::None => (NormKind::None, None),
        Normalization::Scale(s) => (NormKind::Scale, Some(*s)),
        Normalization::ZScore { mean, std } => {
            tensors.push(Tensor::f32("normalize.mean".into(), vec![mean.len()], mean));
            tensors.push(Tensor::f32("normalize.std".into(), vec![std.len()], std));
            (NormKind::Zscore, None)
        }
    };
    metadata::to_value(&ModelMeta {
        format_version: FORMAT_VERSION,
        layers: arch.sizes().to_vec(),
        activations: (0..arch.n_layers()).map(|l| arch.layer_activation(l).to_string()).collect(),
        hidden_activation: arch.activation,
        loss: arch.loss,
        task: model.task,
        normalization: NormMeta { kind, divisor },
        input_shape: model.input_shape,
        schema: model.schema.clone(),
    })
}

/// The metadata of `model`'s file as its JSON text (the z-score statistics, tensors of the
/// file, are not in it). For the ONNX export's metadata.
#[cfg(feature = "onnx")]
pub(crate) fn metadata_json(model: &super::Model) -> Result<String> {
    Ok(model_meta(model.view(), &mut Vec::new())?.to_string())
}
