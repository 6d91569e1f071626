//! bp-par: multilayer perceptrons trained by backpropagation, data-parallel over the cores of
//! one CPU, with results that do not depend on the number of threads.
//!
//! The library is the data path, one module each: [`data`] (load CSV / IDX / npy, normalise, split)
//! → [`train`] (the [`train::Trainer`]: batches, shards, the fixed-order reduction, the
//! momentum update of [`optim`], and the run policy: checkpoint cadence, stop requests,
//! divergence handling, observers) → [`network`] (layer sizes, parameters, forward and
//! backward passes) with its [`activation`]s and [`loss`]es. Around it: [`model`] saves and
//! loads models (safetensors) and [`checkpoint`] the checkpoints that resume a run exactly
//! (both written with [`write_atomic`]), [`infer`] evaluates and predicts, [`metrics`]
//! counts, [`gradcheck`] checks gradients, [`bench`](mod@bench) measures throughput, [`sys`] reports what
//! the machine offers, and [`distributed`] shares a run's mini-batches over processes (MPI ranks
//! with the `mpi` feature) with the same bits as one process ([`train::Trainer::on_ranks`]). Inside, every layer's GEMMs are cut into blocks of output rows run by a
//! persistent team of threads, and element-wise loops are compiled for the CPU found at run
//! time; none of that is public.
//!
//! The library needs no terminal: build it with `default-features = false` to leave out the
//! command-line tool and its dependencies (clap, indicatif, signal-hook, png). The `examples/`
//! folder shows a whole training run and a hand-driven loop.
//!
//! The front door ([`fit`]) is where most programs start: a checked configuration, a `fit` on
//! raw data that returns a [`model::Model`], and predictions on raw rows with the model's own
//! normalisation, fills and column checks applied. The thread count is a parameter
//! ([`Threads`]), never read from the caller's rayon pool, and never changes a bit of a model.
//!
//! ```
//! use bp_par::{activation::Activation, data::Dataset, fit::Mlp, Threads};
//! // XOR, as a two-class problem.
//! let x = [0.0f32, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0];
//! let data = Dataset::classes(&x, 2, &[0, 1, 1, 0], None)?;
//! let mlp = Mlp::new().hidden(&[8]).activation(Activation::Tanh).epochs(300).batch(4).val_split(0.0);
//! let mlp = mlp.threads(Threads::ONE);
//! let model = mlp.fit(&data)?;
//! assert_eq!(model.evaluate(&data)?.accuracy(), Some(1.0));
//! # Ok::<(), bp_par::Error>(())
//! ```

#![warn(missing_docs)]
#![warn(clippy::too_many_lines)]

pub mod activation;
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
pub mod optim;
pub mod scalar;
pub mod sys;
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
