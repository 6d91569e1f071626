//! The library's errors as Python exceptions, in the estimator's words: a setting is named by
//! its scikit-learn parameter (`learning_rate_init`, not the library's `lr`).

use pyo3::PyErr;
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};

/// The library's field names and the estimator's parameters that set them.
const PARAMS: &[(&str, &str)] = &[
    ("`lr`", "learning_rate_init"),
    ("`batch`", "batch_size"),
    ("`epochs`", "max_iter"),
    ("`max_iter`", "max_iter"),
    ("`l2`", "alpha"),
    ("`momentum`", "momentum"),
    ("`beta1`", "beta_1"),
    ("`beta2`", "beta_2"),
    ("`eps`", "epsilon"),
    ("`val_split`", "validation_fraction"),
    ("`hidden`", "hidden_layer_sizes"),
    ("`patience`", "n_iter_no_change"),
    ("`lr_power`", "power_t"),
    ("`threads`", "n_jobs"),
    ("`normalize`", "normalize"),
    ("set `missing` mean or zero", "set missing='mean' or 'zero'"),
    ("`missing`", "missing"),
    ("f32's range", "float32's range"),
    ("a finite f32 number", "a finite float32 number"),
];

/// `message` with the library's field names replaced by the estimator's parameters.
fn in_params(message: &str) -> String {
    PARAMS.iter().fold(message.to_string(), |m, (field, param)| m.replace(field, param))
}

/// A library error as `ValueError` (bad data or settings, a diverged fit), `OSError` (a
/// file) or `RuntimeError` (anything else).
pub fn to_py(e: bp_par::Error) -> PyErr {
    use bp_par::Error as E;
    if let E::Diverged { epoch, batch, lr } = e {
        return PyValueError::new_err(format!(
            "training diverged: the loss exploded or became non-finite in epoch {epoch}, mini-batch \
             {batch}; try a smaller learning_rate_init than {}; unscaled inputs (normalize='none') \
             or large regression targets also make a rate too large",
            bp_par::error::short(lr)
        ));
    }
    let message = in_params(&e.to_string());
    match e {
        E::Io { .. } => PyOSError::new_err(message),
        E::Parse { .. } | E::Data { .. } | E::Model { .. } | E::Config(_) => PyValueError::new_err(message),
        _ => PyRuntimeError::new_err(message),
    }
}

/// An error about data built from memory, naming the array `name` (X, y) instead.
pub fn in_array(e: bp_par::Error, name: &str) -> bp_par::Error {
    match e {
        bp_par::Error::Data { path, message } if path.as_os_str() == "(in memory)" => {
            bp_par::Error::Data { path: name.into(), message }
        }
        e => e,
    }
}

/// An array numpy did not hand over in one C-ordered block (the Python side converts first:
/// this is a bug's message, not a user's).
pub fn not_contiguous(what: &str) -> PyErr {
    PyValueError::new_err(format!("{what} must be a C-contiguous float32 array"))
}
