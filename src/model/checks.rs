//! The checks a model passes when loaded from a file or assembled from its parts
//! ([`Model::new`]): the stored columns against the network, the normalisation with its
//! statistics, finite parameters.

use super::{Model, NormKind, NormMeta, Task, read_f32};
use crate::data::{Normalization, Schema};
use crate::error::{Error, Result};
use crate::network::Network;
use crate::threads::Threads;
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
        return bad(format!("puts the label in {} of {cols}", crate::error::column(label.index, None)));
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

impl Model {
    /// A model from its parts, checked as a model file is when loaded: the normalisation's
    /// statistics, the input shape and the stored columns must fit the network; the network's
    /// parameters must be finite. Predictions run on every core ([`Model::set_threads`]).
    ///
    /// # Errors
    /// [`Error::Model`] naming the part that does not fit.
    pub fn new(
        net: Network<f32>,
        norm: Normalization,
        task: Task,
        input_shape: Option<[usize; 2]>,
        schema: Schema,
    ) -> Result<Model> {
        let path = Path::new("(model)");
        let model = Model { net, norm, task, input_shape, schema, threads: Threads::all() };
        model.check(path)?;
        Ok(model)
    }

    /// Checks that the parts fit each other (the checks of [`Model::new`]), naming `path`.
    pub(crate) fn check(&self, path: &Path) -> Result<()> {
        let bad = |m: String| Err(Error::model(path, m));
        let arch = &self.net.arch;
        if self.net.params.len() != arch.n_params() {
            return bad(format!(
                "has {} parameters for layers {:?}, which take {}",
                self.net.params.len(),
                arch.sizes(),
                arch.n_params()
            ));
        }
        if let Some(l) = (0..arch.n_layers()).find(|&l| {
            let mut layer =
                self.net.params[arch.weight_range(l)].iter().chain(&self.net.params[arch.bias_range(l)]);
            layer.any(|p| !p.is_finite())
        }) {
            return bad(format!("layer {l} holds non-finite parameters (NaN or infinity)"));
        }
        match &self.norm {
            Normalization::ZScore { mean, std } if mean.len() != arch.n_in() || std.len() != arch.n_in() => {
                return bad(format!(
                    "has z-score statistics for {} features, but the network takes {}",
                    mean.len(),
                    arch.n_in()
                ));
            }
            Normalization::ZScore { mean, std }
                if mean.iter().any(|m| !m.is_finite())
                    || std.iter().any(|s| !(s.is_finite() && *s > 0.0)) =>
            {
                return bad("has z-score statistics that are not finite (or a standard deviation that is not positive)".into());
            }
            Normalization::Scale(d) if !(d.is_finite() && d.is_normal()) => {
                return bad(format!("has a scale divisor of {d}; it must be a positive finite number"));
            }
            _ => {}
        }
        if let Some([h, w]) = self.input_shape
            && h.checked_mul(w) != Some(arch.n_in())
        {
            return bad(format!("has an input shape of {h}x{w} for {} inputs", arch.n_in()));
        }
        check_schema(path, &self.schema, arch.n_in(), arch.n_out(), self.task)?;
        self.schema
            .check_image(self.input_shape)
            .map_err(|m| Error::model(path, format!("metadata \"schema.image\" {m}")))?;
        Ok(())
    }
}
