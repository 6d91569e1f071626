//! `bp-par`: the command-line front end. Parses flags (clap), runs the command inside a
//! rayon pool of `--threads` workers, and maps errors to one line on stderr and an exit code
//! (0 success, 1 error, 2 usage). A closed stdout pipe is not an error.

mod cli;

use bp_par::error::{Error, Result};
use clap::Parser;
use cli::args::{Cli, Command};
use cli::commands;
use std::process::ExitCode;

fn run(cli: Cli) -> Result<()> {
    let common = match &cli.command {
        Command::Train(a) => &a.common,
        Command::Eval(a) => &a.common,
        Command::Predict(a) => &a.common,
    };
    let threads = commands::threads(common)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::config(format!("cannot start {threads} worker threads: {e}")))?;
    pool.install(|| match cli.command {
        Command::Train(a) => commands::train(a, threads),
        Command::Eval(a) => commands::eval(a),
        Command::Predict(a) => commands::predict(a),
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bp-par: error: {e}");
            ExitCode::FAILURE
        }
    }
}
