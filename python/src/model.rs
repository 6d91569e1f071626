//! A trained model in Python: the library's [`bp_par::model::Model`] (network, normalisation,
//! missing-value fills, class and feature names), applied to raw rows with the GIL released,
//! saved as the command line's safetensors file, pickled as those same bytes.

use crate::errors::{in_array, to_py};
use crate::settings::threads;
use numpy::ndarray::{Array1, Array2};
use numpy::{PyArray1, PyArray2};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use std::path::{Path, PathBuf};

/// A trained bp-par model (`bp_par.load`, or an estimator's `model_`).
#[pyclass(module = "bp_par._bp_par", frozen)]
pub struct Model {
    inner: bp_par::model::Model,
}

impl From<bp_par::model::Model> for Model {
    fn from(inner: bp_par::model::Model) -> Model {
        Model { inner }
    }
}

impl Model {
    /// The library's model.
    pub fn inner(&self) -> &bp_par::model::Model {
        &self.inner
    }
}

#[pymethods]
impl Model {
    /// A model from the bytes of a model file (`to_bytes`, a pickle).
    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<Model> {
        bp_par::model::from_bytes(Path::new("(model bytes)"), data).map(Model::from).map_err(to_py)
    }

    /// The model file's bytes (safetensors, as `bp-par train --save` writes them).
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = py.detach(|| bp_par::model::to_bytes(&self.inner)).map_err(to_py)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Writes the model file (atomically: a failed write leaves an existing file as it was).
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| bp_par::model::save(&path, &self.inner)).map_err(to_py)
    }

    /// The model as the bytes of an ONNX file (the graph `bp-par export` writes).
    fn to_onnx<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = py.detach(|| bp_par::onnx::to_onnx(&self.inner)).map_err(to_py)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Writes the model as an ONNX file (atomically); returns what the graph leaves to the
    /// caller, one sentence each.
    fn save_onnx(&self, py: Python<'_>, path: PathBuf) -> PyResult<Vec<String>> {
        py.detach(|| bp_par::write_atomic(&path, &bp_par::onnx::to_onnx(&self.inner)?)).map_err(to_py)?;
        Ok(bp_par::onnx::not_in_graph(&self.inner))
    }

    /// Pickle and copy: the model file's bytes.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let bytes = slf.get().to_bytes(py)?;
        let from_bytes = slf.get_type().getattr("from_bytes")?;
        PyTuple::new(py, [from_bytes.into_any(), PyTuple::new(py, [bytes])?.into_any()])
    }

    /// The network's outputs for the raw rows `x` (rows × features, C-contiguous float32):
    /// class probabilities, or predicted values. The model's missing-value fills and
    /// normalisation are applied; `feature_names`, when given, must be the model's.
    #[pyo3(signature = (x, n_jobs=None, feature_names=None))]
    fn outputs<'py>(
        &self,
        py: Python<'py>,
        x: crate::Rows<'py>,
        n_jobs: Option<i64>,
        feature_names: Option<Vec<String>>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let (n, d) = x.shape();
        let rows = x.slice()?;
        let threads = threads(n_jobs).map_err(to_py)?;
        let k = self.inner.net.arch().n_out();
        let out = py
            .detach(|| {
                let mut data = rows.rows(d).map_err(|e| in_array(e, "X"))?.with_name("X");
                if let Some(names) = feature_names {
                    data = data.with_feature_names(names)?;
                }
                // (A copy only for another thread count than the model's: a fit's model keeps
                // the fit's, which the estimator's predictions ask for.)
                if self.inner.threads() == threads {
                    return self.inner.outputs(&data);
                }
                let mut model = self.inner.clone();
                model.set_threads(threads);
                model.outputs(&data)
            })
            .map_err(to_py)?;
        let out =
            Array2::from_shape_vec((n, k), out).map_err(|e| to_py(bp_par::Error::other(e.to_string())))?;
        Ok(PyArray2::from_owned_array(py, out))
    }

    /// Layer sizes, inputs first.
    #[getter]
    fn layers(&self) -> Vec<usize> {
        self.inner.net.arch().sizes().to_vec()
    }

    /// "classify" or "regress".
    #[getter]
    fn task(&self) -> &'static str {
        match self.inner.task {
            bp_par::model::Task::Classify => "classify",
            bp_par::model::Task::Regress => "regress",
        }
    }

    /// The hidden units' activation (sigmoid, tanh, relu).
    #[getter]
    fn activation(&self) -> &'static str {
        self.inner.net.arch().activation.name()
    }

    /// The output units (softmax, sigmoid, linear).
    #[getter]
    fn output(&self) -> &'static str {
        self.inner.net.arch().output().name()
    }

    /// The class names in class order, when the model has them.
    #[getter]
    fn class_names(&self) -> Option<Vec<String>> {
        self.inner.class_names().map(<[String]>::to_vec)
    }

    /// The features' names, when the training data had them.
    #[getter]
    fn feature_names(&self) -> Option<Vec<String>> {
        self.inner.schema.feature_names.clone()
    }

    /// The values that replace a missing (NaN) feature, when the model keeps them.
    #[getter]
    fn missing_fill(&self) -> Option<Vec<f32>> {
        self.inner.schema.missing_fill.clone()
    }

    /// The stored normalisation: "none", "scale" or "zscore".
    #[getter]
    fn normalization(&self) -> &'static str {
        match self.inner.norm {
            bp_par::data::Normalization::None => "none",
            bp_par::data::Normalization::Scale(_) => "scale",
            bp_par::data::Normalization::ZScore { .. } => "zscore",
        }
    }

    /// Each layer's weights as scikit-learn's `coefs_` shows them: `n_in × n_out`.
    fn coefs<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyArray2<f32>>>> {
        let sizes = self.inner.net.arch().sizes();
        (0..sizes.len() - 1)
            .map(|l| {
                let (w, _) = self.inner.net.layer(l);
                let stored = Array2::from_shape_vec((sizes[l + 1], sizes[l]), w.to_vec())
                    .map_err(|e| to_py(bp_par::Error::other(e.to_string())))?;
                Ok(PyArray2::from_owned_array(py, stored.t().as_standard_layout().into_owned()))
            })
            .collect()
    }

    /// Each layer's biases (scikit-learn's `intercepts_`).
    fn intercepts<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyArray1<f32>>> {
        let n_layers = self.inner.net.arch().sizes().len() - 1;
        (0..n_layers)
            .map(|l| PyArray1::from_owned_array(py, Array1::from(self.inner.net.layer(l).1.to_vec())))
            .collect()
    }

    fn __repr__(&self) -> String {
        let sizes: Vec<String> = self.layers().iter().map(ToString::to_string).collect();
        format!(
            "<bp_par Model {} {} -> {}, normalization {}>",
            sizes.join("-"),
            self.activation(),
            self.output(),
            self.normalization()
        )
    }
}
