mod bad_inputs;
mod cli;
mod determinism;
mod fuzz;
mod harness;
mod reliability;
mod worked_example;
