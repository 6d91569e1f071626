//! The `bp-par` command line: argument definitions, the commands, progress display.

pub mod args;
pub mod bench;
pub mod commands;
pub mod experiment;
pub mod progress;
pub mod show;
