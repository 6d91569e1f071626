//! `bp-par`: the command-line front end. Parses flags (clap), runs the command inside a
//! rayon pool of `--threads` workers, and maps errors to one line on stderr and an exit code
//! (0 success, 1 error, 2 usage). A closed stdout pipe is not an error.

#![warn(clippy::too_many_lines)]

mod cli;

use bp_par::error::{Error, Result};
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};
use cli::args::{Cli, Command};
use cli::common;
use std::process::ExitCode;

/// Runs `job` inside a rayon pool of `threads` workers.
fn in_pool(threads: usize, job: impl FnOnce() -> Result<()> + Send) -> Result<()> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::other(format!("cannot start {threads} worker threads: {e}")))?
        .install(job)
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train(a) => {
            let t = common::threads(&a.common)?;
            in_pool(t, move || cli::train::train(*a, t))
        }
        Command::Eval(a) => in_pool(common::threads(&a.common)?, move || cli::eval::eval(a)),
        Command::Predict(a) => in_pool(common::threads(&a.common)?, move || cli::predict::predict(a)),
        // The benchmark builds one pool per thread count it sweeps.
        Command::Bench(a) => cli::bench::bench(a),
        Command::Show(c) => cli::show::show(c),
        Command::Gradcheck(a) => cli::gradcheck::gradcheck(&a),
        Command::Experiment(a) => {
            let t = common::threads(&a.common)?;
            in_pool(t, move || cli::experiment::run(&a, t))
        }
    }
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // Record which train options were typed, so --resume can tell them from defaults.
    if let (Command::Train(a), Some(("train", sub))) = (&mut cli.command, matches.subcommand()) {
        a.explicit = sub
            .ids()
            .filter(|id| sub.value_source(id.as_str()) == Some(ValueSource::CommandLine))
            .map(|id| id.to_string())
            .collect();
    }
    // The subcommand that runs (`show confusion`, not `show`): errors use its flags' words.
    let mut command = Cli::command();
    let mut sub = matches.subcommand();
    while let Some((name, m)) = sub {
        command = command.find_subcommand(name).cloned().unwrap_or(command);
        sub = m.subcommand();
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e @ Error::Interrupted { .. }) => {
            eprintln!("bp-par: {e}");
            ExitCode::from(e.exit_code())
        }
        Err(e) => {
            // Settings named in the library's words become flags; file contents quoted in a
            // model or I/O error stay as they are.
            let text = match &e {
                Error::Config(_) | Error::Parse { .. } | Error::Data { .. } | Error::Diverged { .. } => {
                    cli::flags::to_flags_for(&e.to_string(), &command)
                }
                _ => e.to_string(),
            };
            eprintln!("bp-par: error: {text}");
            ExitCode::from(e.exit_code())
        }
    }
}
