mod bad_inputs;
mod cli;
mod determinism;
mod fuzz;
mod harness;
mod reference;
mod reliability;
mod worked_example;
