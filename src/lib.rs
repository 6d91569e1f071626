//! bp-par: multilayer perceptrons trained by backpropagation, data-parallel over the cores of
//! one CPU, with results that do not depend on the number of threads.
//!
//! **The front door** ([`fit`]) is where most programs start: [`fit::Mlp`] holds every
//! training choice (checked as a whole before any data is touched), its `fit` takes a raw
//! [`data::Dataset`] (read from a file, or built from memory with its widths, labels and
//! values checked) and returns a [`model::Model`] that owns its normalisation, missing-value
//! fills and columns, so that [`model::Model::predict`] and [`model::Model::evaluate`] on raw
//! rows apply them by construction. The thread count is a parameter ([`Threads`]), never read
//! from the caller's rayon pool, and never changes a bit of a model. The command line, the
//! experiment runner and the examples go through it.
//!
//! ```
//! use bp_par::{activation::Activation, data::Dataset, fit::Mlp, Threads};
//! // XOR, as a two-class problem.
//! let x = [0.0f32, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0];
//! let data = Dataset::classes(&x, 2, &[0, 1, 1, 0], None)?;
//! let mlp = Mlp::new().hidden(&[8]).activation(Activation::Tanh).epochs(300).batch(4).val_split(0.0);
//! let model = mlp.threads(Threads::ONE).fit(&data)?;
//! assert_eq!(model.evaluate(&data)?.accuracy(), Some(1.0));
//! # Ok::<(), bp_par::Error>(())
//! ```
//!
//! **The public surface, and why each part is public:**
//! - [`fit`], [`model`], [`data`], [`Threads`], [`Error`]: the front door, its model files
//!   (safetensors, [`write_atomic`]) and data sets, for every program.
//! - [`train`] (the [`train::Trainer`] and its run policy, observers, optimisers' settings),
//!   [`network`], [`activation`], [`loss`], [`optim`], [`infer`], [`metrics`]: the low-level
//!   data path, for a hand-driven loop (`examples/custom_loop.rs`): a network's passes over
//!   explicit buffers, one mini-batch or epoch at a time, figures over rows already normalised.
//! - `onnx` (the `onnx` feature, on by default): a model as one ONNX graph, for ONNX Runtime.
//! - [`checkpoint`]: checkpoints that resume a run bit for bit; [`distributed`]: a run's
//!   mini-batches shared over processes (MPI ranks with the `mpi` feature) with the same bits
//!   as one process; [`gradcheck`]: the numerical check of the backward pass; [`scalar`]: the
//!   f32/f64 trait the network is generic over.
//! - With the `cli` feature only: [`bench`](mod@bench) (throughput tables and pictures) and
//!   `sys` (the machine's report), which only the command line shows.
//!
//! Inside, every layer's products are cut into blocks of output rows run by a persistent team
//! of threads, and element-wise loops are compiled for the CPU found at run time; none of that
//! is public. Features: `cli` (default: the `bp-par` tool and its crates: clap, indicatif,
//! signal-hook, png), `npz` (default: numpy's `.npz`, the zip reader), `onnx` (default: the
//! ONNX export and its protobuf messages), `mpi`. A library user
//! writes `bp-par = { default-features = false }` for the numerical and file-format crates alone.

#![warn(missing_docs)]
#![warn(clippy::too_many_lines)]

pub mod activation;
// Throughput tables and pictures, and the machine's report: what only the command line shows.
#[cfg(feature = "cli")]
pub mod bench;
pub mod checkpoint;
pub mod data;
pub mod distributed;
pub mod error;
pub mod fit;
pub mod gradcheck;
pub mod infer;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod network;
#[cfg(feature = "onnx")]
pub mod onnx;
pub mod optim;
pub mod scalar;
#[cfg(feature = "cli")]
pub mod sys;
#[cfg(not(feature = "cli"))]
mod sys;
pub mod threads;
pub mod train;

// Internals: the atomic file writer, the GEMM wrapper, the model files' metadata reader,
// run-time SIMD dispatch, the block splits and the thread team.
mod atomic;
mod gemm;
mod metadata;
mod simd;
mod split;
mod team;

pub use atomic::write_atomic;
pub use error::{Error, Result};
pub use threads::Threads;
