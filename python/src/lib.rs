//! `bp_par._bp_par`: the extension module under the Python package `bp_par`. It hands
//! numpy arrays to the library's front door (`bp_par::fit`) and returns its models; the
//! scikit-learn estimators (python/python/bp_par/) hold the parameters, the label encoding
//! and scikit-learn's conventions, and call [`fit()`] and [`model::Model`] alone.
//!
//! The GIL is released while a fit or a prediction runs; a fit polls Python's signal
//! handlers (Ctrl-C) at most every 100 ms from the calling thread and stops after the
//! current mini-batch.

mod errors;
mod model;
mod observer;
mod settings;

use bp_par::data::Dataset;
use bp_par::fit::Start;
use numpy::{PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;

pub use errors::to_py;
pub use model::Model;
pub use settings::Settings;

/// What one fit gives back: the model, the epochs' figures, why it ended, and whether
/// Ctrl-C ended it (the caller raises `KeyboardInterrupt` once it has kept the model).
#[pyclass(module = "bp_par._bp_par", frozen, get_all)]
pub struct FitResult {
    /// The trained model.
    model: Py<Model>,
    /// Each epoch's training loss (with the L2 term).
    loss_curve: Vec<f64>,
    /// Each epoch's held-out loss, when there is a validation split.
    val_loss: Vec<f64>,
    /// Each epoch's held-out accuracy (classifiers with a validation split).
    val_accuracy: Vec<f64>,
    /// Training rows (after the validation split).
    n_train: usize,
    /// The held-out targets' variance summed over the outputs (regression with a
    /// validation split; R² = 1 − 2·loss / it, the loss being ½·Σ squared errors a row).
    val_target_variance: Option<f64>,
    /// Why the run ended, in words ("all 200 epochs done").
    stopped: String,
    /// Whether the run ended because a stopping rule held (not its epoch count).
    converged: bool,
    /// Whether a `KeyboardInterrupt` ended the run.
    interrupted: bool,
    /// Whether the run ended on a budget (`max_fun`) before converging.
    budget_spent: bool,
}

/// Features as numpy holds them, read in place: C-contiguous float32, float64 or uint8 (the
/// Python side converts other dtypes and orders first). The core converts them to float32
/// while it copies them into the data set: float64 and uint8 arrays cost no second pass.
#[derive(FromPyObject)]
pub enum Rows<'py> {
    F32(PyReadonlyArray2<'py, f32>),
    F64(PyReadonlyArray2<'py, f64>),
    U8(PyReadonlyArray2<'py, u8>),
}

/// A [`Rows`]' values.
#[derive(Clone, Copy)]
pub enum Slice<'a> {
    F32(&'a [f32]),
    F64(&'a [f64]),
    U8(&'a [u8]),
}

impl<'py> Rows<'py> {
    /// (rows, columns).
    pub fn shape(&self) -> (usize, usize) {
        let s = match self {
            Rows::F32(a) => a.shape(),
            Rows::F64(a) => a.shape(),
            Rows::U8(a) => a.shape(),
        };
        (s[0], s[1])
    }

    /// The values in row order, without a copy.
    pub fn slice(&self) -> PyResult<Slice<'_>> {
        let bad = |_| errors::not_contiguous("X");
        Ok(match self {
            Rows::F32(a) => Slice::F32(a.as_slice().map_err(bad)?),
            Rows::F64(a) => Slice::F64(a.as_slice().map_err(bad)?),
            Rows::U8(a) => Slice::U8(a.as_slice().map_err(bad)?),
        })
    }
}

impl Slice<'_> {
    /// Rows to predict.
    pub fn rows(self, d: usize) -> bp_par::Result<Dataset> {
        match self {
            Slice::F32(x) => Dataset::from_rows(x, d),
            Slice::F64(x) => Dataset::from_rows(x, d),
            Slice::U8(x) => Dataset::from_rows(x, d),
        }
    }

    /// Rows with class labels in `0..n_classes`.
    fn classes(self, d: usize, labels: &[u32], n_classes: Option<usize>) -> bp_par::Result<Dataset> {
        match self {
            Slice::F32(x) => Dataset::classes(x, d, labels, n_classes),
            Slice::F64(x) => Dataset::classes(x, d, labels, n_classes),
            Slice::U8(x) => Dataset::classes(x, d, labels, n_classes),
        }
    }

    /// Rows with real-valued targets (float32; as float64 beside float64 features, which is
    /// exact; uint8 features, rare in regression, are made float32 first).
    fn values(self, d: usize, targets: &[f32], n_out: usize) -> bp_par::Result<Dataset> {
        match self {
            Slice::F32(x) => Dataset::values(x, d, targets, n_out),
            Slice::F64(x) => {
                Dataset::values(x, d, &targets.iter().map(|&t| f64::from(t)).collect::<Vec<_>>(), n_out)
            }
            Slice::U8(x) => {
                Dataset::values(&x.iter().map(|&v| f32::from(v)).collect::<Vec<_>>(), d, targets, n_out)
            }
        }
    }
}

/// The rows and targets of one fit: features `x`, and either class `labels` in
/// `0..n_classes` or real-valued `targets`.
fn dataset(
    x: Slice<'_>,
    n_features: usize,
    labels: Option<&[u32]>,
    n_classes: Option<usize>,
    targets: Option<(&[f32], usize)>,
) -> bp_par::Result<Dataset> {
    match (labels, targets) {
        (Some(labels), _) => x.classes(n_features, labels, n_classes),
        (None, Some((t, n_out))) => x.values(n_features, t, n_out),
        (None, None) => x.rows(n_features),
    }
}

/// Fits a network to `x` with `labels` (classifier) or `targets` (regression) under
/// `settings`, starting from `init` when given (warm start, `partial_fit`).
#[pyfunction]
#[pyo3(signature = (x, settings, *, labels=None, n_classes=None, class_names=None, targets=None,
                    feature_names=None, init=None))]
#[allow(clippy::too_many_arguments)]
fn fit(
    py: Python<'_>,
    x: Rows<'_>,
    settings: Settings,
    labels: Option<PyReadonlyArray1<'_, u32>>,
    n_classes: Option<usize>,
    class_names: Option<Vec<String>>,
    targets: Option<PyReadonlyArray2<'_, f32>>,
    feature_names: Option<Vec<String>>,
    init: Option<PyRef<'_, Model>>,
) -> PyResult<FitResult> {
    let n_features = x.shape().1;
    let x = x.slice()?;
    let labels =
        labels.as_ref().map(|l| l.as_slice().map_err(|_| errors::not_contiguous("y"))).transpose()?;
    let n_out = targets.as_ref().map(|t| t.shape()[1]);
    let targets =
        targets.as_ref().map(|t| t.as_slice().map_err(|_| errors::not_contiguous("y"))).transpose()?;
    let mut data = dataset(x, n_features, labels, n_classes, targets.zip(n_out))
        .map_err(|e| to_py(errors::in_array(e, "X")))?;
    if let Some(names) = class_names {
        data = data.with_class_names(names).map_err(to_py)?;
    }
    if let Some(names) = feature_names {
        data = data.with_feature_names(names).map_err(to_py)?;
    }
    let data = data.with_name("X");
    let mlp = settings.mlp().map_err(to_py)?;
    let start = init.map_or(Start::New, |m| Start::Init(m.inner().clone()));
    let verbose = settings.verbose.then_some(settings.epochs);
    let stop = settings.stop_rule();
    let max_fun = settings.max_fun();
    let run = py.detach(move || -> bp_par::Result<_> {
        let mut session = mlp.prepare(data, None, start)?;
        let n_train = session.train().n_samples();
        let variance = session.held_out().and_then(target_variance);
        let mut watch = observer::Watch::new(verbose, stop, max_fun);
        let fitted = session.run(&mut watch, None, None)?;
        Ok((session.into_model(), fitted, watch, n_train, variance))
    });
    let (model, fitted, watch, n_train, val_target_variance) = run.map_err(to_py)?;
    let history = &fitted.history;
    use bp_par::train::StopReason;
    let converged = watch.converged()
        || fitted
            .reason
            .as_ref()
            .is_some_and(|r| !matches!(r, StopReason::EpochsDone { .. } | StopReason::IterationsDone { .. }));
    let stopped = match (&fitted.reason, watch.converged(), watch.budget_message()) {
        (_, true, _) => watch.convergence_message(),
        (_, _, Some(budget)) => budget,
        (Some(r), _, _) => r.to_string(),
        (None, _, _) => "interrupted".into(),
    };
    Ok(FitResult {
        model: Py::new(py, Model::from(model))?,
        loss_curve: history.iter().map(|m| m.loss).collect(),
        val_loss: history.iter().filter_map(|m| m.test_loss).collect(),
        val_accuracy: history.iter().filter_map(|m| m.test_acc).collect(),
        n_train,
        val_target_variance,
        stopped,
        converged,
        interrupted: watch.interrupted(),
        budget_spent: watch.budget_message().is_some(),
    })
}

/// The variance of real-valued targets, summed over the outputs (None for class labels).
fn target_variance(data: &Dataset) -> Option<f64> {
    let bp_par::data::Targets::Values { values, n_outputs } = data.targets() else { return None };
    let (n, k) = (data.n_samples() as f64, *n_outputs);
    let mean: Vec<f64> =
        (0..k).map(|j| values.iter().skip(j).step_by(k).map(|&v| f64::from(v)).sum::<f64>() / n).collect();
    let sum: f64 = values.iter().enumerate().map(|(i, &v)| (f64::from(v) - mean[i % k]).powi(2)).sum();
    Some(sum / n)
}

/// Reads a model file (`bp-par train --save`'s safetensors).
#[pyfunction]
fn load(py: Python<'_>, path: std::path::PathBuf) -> PyResult<Model> {
    let model = py.detach(|| bp_par::model::load(&path)).map_err(to_py)?;
    Ok(Model::from(model))
}

#[pymodule]
fn _bp_par(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Model>()?;
    m.add_class::<FitResult>()?;
    m.add_function(wrap_pyfunction!(fit, m)?)?;
    m.add_function(wrap_pyfunction!(load, m)?)?;
    // (The library's version: the package is built from the same workspace, at the same one.)
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
