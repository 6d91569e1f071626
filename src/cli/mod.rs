//! The `bp-par` command line: argument definitions ([`args`]), one module per command, what
//! they share ([`common`]), progress display, flag names in library messages ([`flags`]),
//! pictures, and pictures as inputs ([`images`]).

pub mod args;
pub mod bench;
pub mod common;
pub mod eval;
pub mod experiment;
#[cfg(feature = "onnx")]
pub mod export;
pub mod flags;
pub mod gradcheck;
pub mod help;
pub mod images;
pub mod metrics_file;
pub mod predict;
pub mod progress;
pub mod ranks;
pub mod show;
pub mod train;
pub mod viz;
