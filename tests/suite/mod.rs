mod bad_inputs;
mod cli;
mod determinism;
mod harness;
mod worked_example;
