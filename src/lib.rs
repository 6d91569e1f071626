//! bp-par: multilayer perceptrons trained by backpropagation, data-parallel over the cores of
//! one CPU, with results that do not depend on the number of threads.
//!
//! The data path, one module each: [`data`] (load, normalise, split) → [`train`] (batches,
//! shards, reduction) → [`network`] (forward and backward as [`gemm`]s) → [`loss`] →
//! [`optim`] (momentum update). Inside a shard every layer's GEMMs are cut into blocks of
//! output rows ([`split`]) run by a persistent team of threads ([`team`]); element-wise loops
//! are compiled for the CPU found at run time ([`simd`]). [`infer`] evaluates and predicts,
//! [`model_io`] saves and loads safetensors models, [`metrics`] counts, [`gradcheck`]
//! verifies gradients.
//!
//! ```
//! use bp_par::{activation::Activation, loss::Loss, network::{Arch, Network}};
//! use bp_par::data::{Dataset, Targets};
//! use bp_par::train::{train, Silent, TrainConfig};
//! // XOR, as a two-class problem.
//! let data = Dataset {
//!     path: "xor".into(), n_features: 2, image_shape: None,
//!     features: vec![0., 0., 0., 1., 1., 0., 1., 1.],
//!     targets: Targets::Classes { labels: vec![0, 1, 1, 0], n_classes: 2 },
//! };
//! let mut net = Network::init(Arch::new(vec![2, 8, 2], Activation::Tanh, Loss::Xent).unwrap(), 3);
//! let cfg = TrainConfig { epochs: 300, batch: 4, lr: 0.1, ..TrainConfig::default() };
//! let history = train(&mut net, &data, None, cfg, &mut Silent).unwrap();
//! assert_eq!(history.last().unwrap().train_acc, Some(1.0));
//! ```

pub mod activation;
pub mod bench;
pub mod data;
pub mod error;
pub mod gemm;
pub mod gradcheck;
pub mod infer;
pub mod loss;
pub mod metrics;
pub mod model_io;
pub mod network;
pub mod optim;
pub mod simd;
pub mod split;
pub mod sys;
pub mod team;
pub mod train;
pub mod viz;

pub use error::{Error, Result};
