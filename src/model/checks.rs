//! The checks a model file's contents pass when loaded: the stored columns against the
//! network, and the normalisation with its statistics.

use super::{NormKind, NormMeta, Task, read_f32};
use crate::data::{Normalization, Schema};
use crate::error::{Error, Result};
use safetensors::tensor::SafeTensors;
use std::path::Path;

/// Checks that the stored columns agree with the network's inputs and outputs.
pub(super) fn check_schema(
    path: &Path,
    schema: &Schema,
    n_in: usize,
    n_out: usize,
    task: Task,
) -> Result<()> {
    let bad = |m: String| Err(Error::model(path, format!("metadata \"schema\" {m}")));
    if let Some(names) = &schema.feature_names
        && names.len() != n_in
    {
        return bad(format!("names {} features for a network of {n_in} inputs", names.len()));
    }
    if let Some(names) = &schema.class_names
        && (names.len() != n_out || task != Task::Classify)
    {
        return bad(format!("names {} classes for a network of {n_out} outputs", names.len()));
    }
    if let Some(names) = &schema.target_names
        && (names.len() != n_out || task != Task::Regress)
    {
        return bad(format!("names {} targets for a network of {n_out} outputs", names.len()));
    }
    schema.check_reading(n_in, n_out, task == Task::Classify).or_else(bad)?;
    if let (Some(label), Some(cols)) = (&schema.label, schema.n_columns)
        && label.index >= cols
    {
        return bad(format!("puts the label in column {} of {cols}", label.index));
    }
    Ok(())
}

/// The normalisation described by `meta`, with its statistics for `n_in` inputs.
pub(super) fn normalization(
    path: &Path,
    st: &SafeTensors,
    meta: &NormMeta,
    n_in: usize,
) -> Result<Normalization> {
    Ok(match meta.kind {
        NormKind::None => Normalization::None,
        NormKind::Scale => {
            let divisor = meta.divisor.filter(|d| d.is_finite() && d.is_normal()).ok_or_else(|| {
                Error::model(path, "normalization divisor is missing, zero or out of the f32 range")
            })?;
            Normalization::Scale(divisor)
        }
        NormKind::Zscore => {
            let mean = read_f32(path, st, "normalize.mean", &[n_in])?;
            let std = read_f32(path, st, "normalize.std", &[n_in])?;
            if mean.iter().any(|m| !m.is_finite()) || std.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
                return Err(Error::model(path, "normalize.mean/std hold non-finite or non-positive values"));
            }
            Normalization::ZScore { mean, std }
        }
    })
}
