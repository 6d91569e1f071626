//! `bp-par`: the command-line front end. Parses flags (clap), runs the command inside a
//! rayon pool of `--threads` workers, and maps errors to one line on stderr and an exit code
//! (0 success, 1 error, 2 usage). A closed stdout pipe is not an error.

#![warn(clippy::too_many_lines)]

/// Writes a line on stderr, dropping it when stderr is closed (`2>&1 | head`): std's
/// `eprintln!` panics there, and a closed pipe must never end or corrupt a run. Defined before
/// `mod cli` so that it, not std's, is the `eprintln!` of every module of the binary.
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

mod cli;

use bp_par::error::{Error, Result};
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};
use cli::args::{Cli, Command};
use cli::common;
use cli::ranks::Ranks;
use std::process::ExitCode;

/// A rayon pool of `threads` workers.
fn pool(threads: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::other(format!("cannot start {threads} worker threads: {e}")))
}

/// Runs `job` inside a rayon pool of `threads` workers.
fn in_pool(threads: usize, job: impl FnOnce() -> Result<()> + Send) -> Result<()> {
    pool(threads)?.install(job)
}

fn run(cli: Cli, ranks: Ranks<'_>, early: Option<cli::train::Early>) -> Result<()> {
    match cli.command {
        Command::Train(a) => {
            let early = match early {
                Some(e) => e,
                None => cli::train::Early::install().or_else(|e| ranks.agree(Err(e)))?,
            };
            // A rank that cannot start its threads takes part in the setup vote the others
            // take in `train` (so none waits for it).
            let threads = common::threads(&a.common).and_then(|t| Ok((t, pool(t)?)));
            let (t, pool) = match threads {
                Ok(tp) => tp,
                Err(e) => return ranks.agree(Err(e)),
            };
            pool.install(move || cli::train::train(*a, t, ranks, early))
        }
        Command::Eval(a) => in_pool(common::threads(&a.common)?, move || cli::eval::eval(a)),
        Command::Predict(a) => in_pool(common::threads(&a.common)?, move || cli::predict::predict(a)),
        // The benchmark builds one pool per thread count it sweeps.
        Command::Bench(a) => cli::bench::bench(a),
        Command::Show(c) => cli::show::show(c),
        Command::Gradcheck(a) => cli::gradcheck::gradcheck(&a),
        #[cfg(feature = "onnx")]
        Command::Export(a) => cli::export::export(&a),
        Command::Experiment(a) => {
            let t = common::threads(&a.common)?;
            in_pool(t, move || cli::experiment::run(&a, t))
        }
    }
}

fn main() -> ExitCode {
    // Under an MPI launcher (feature `mpi`) MPI starts here and is finalised when `world`
    // drops at the end of main; a process started alone never touches MPI.
    #[cfg(feature = "mpi")]
    let world = match bp_par::distributed::mpi::MpiWorld::init() {
        Ok(w) => w,
        Err(e) => {
            eprintln!("bp-par: error: {e}");
            return ExitCode::from(1);
        }
    };
    #[cfg(feature = "mpi")]
    let ranks = world.as_ref().map_or(Ranks::ALONE, |w| {
        let group: &dyn bp_par::distributed::Collective = w.group();
        Ranks { group: Some(group).filter(|g| g.size() > 1), local: w.local_ranks() }
    });
    #[cfg(not(feature = "mpi"))]
    let ranks = Ranks::ALONE;
    #[cfg(not(feature = "mpi"))]
    if let Some((rank, size)) = cli::ranks::launched_as_rank() {
        // Each rank would train alone and write the same files.
        if rank == 0 {
            eprintln!(
                "bp-par: error: started as one of {size} MPI ranks, but this bp-par was built without \
                 MPI: build it with `cargo build --release --features mpi` (README: Across machines)"
            );
        }
        return ExitCode::from(2);
    }
    if ranks.size() > 1 {
        abort_job_on_panic();
    }
    // `train`'s signal handlers before any other work: a signal in its first milliseconds is
    // then a clean stop, not a death.
    let early = (std::env::args().nth(1).as_deref() == Some("train"))
        .then(cli::train::Early::install)
        .and_then(Result::ok);
    let (mut cli, matches) = match parse(ranks) {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
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
    if ranks.size() > 1 && !matches!(cli.command, Command::Train(_)) {
        if ranks.stop_early(2) {
            let name = command.get_name().to_string();
            let who = if ranks.is_root() {
                String::new()
            } else {
                format!(" (rank {} of {})", ranks.rank(), ranks.size())
            };
            eprintln!("bp-par: error{who}: {}", cli::ranks::only_train(&name, ranks.size()));
        }
        return ExitCode::from(2);
    }
    match run(cli, ranks, early) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        // Every rank stops or diverges after the same mini-batch: rank 0 says so.
        Err(e @ (Error::Interrupted { .. } | Error::Diverged { .. })) if !ranks.is_root() => {
            ExitCode::from(e.exit_code())
        }
        Err(e @ Error::Interrupted { .. }) => {
            eprintln!("bp-par: {e}");
            ExitCode::from(e.exit_code())
        }
        Err(e) => failed(&e, ranks, &command),
    }
}

/// The parsed command line and its matches, or the exit code after clap said why (help,
/// version or a usage error; on rank 0 only).
fn parse(ranks: Ranks<'_>) -> std::result::Result<(Cli, clap::ArgMatches), ExitCode> {
    let said = |e: clap::Error| {
        let code = u8::try_from(e.exit_code()).unwrap_or(2);
        if ranks.stop_early(code) {
            if !ranks.is_root() {
                eprintln!("bp-par (rank {} of {}):", ranks.rank(), ranks.size());
            }
            let _ = e.print();
        }
        ExitCode::from(code)
    };
    let matches = cli::help::arranged(Cli::command()).try_get_matches().map_err(said)?;
    let cli = Cli::from_arg_matches(&matches).map_err(said)?;
    Ok((cli, matches))
}

/// Says an error (on ranks: once, or ends the job) and gives the exit code.
fn failed(e: &Error, ranks: Ranks<'_>, command: &clap::Command) -> ExitCode {
    // Settings named in the library's words become flags; file contents quoted in a
    // model or I/O error stay as they are.
    let text = match e {
        Error::Config(_) | Error::Parse { .. } | Error::Data { .. } | Error::Diverged { .. } => {
            cli::flags::to_flags_for(&e.to_string(), command)
        }
        _ => e.to_string(),
    };
    if ranks.size() > 1 {
        match cli::ranks::known_to_all() {
            // Every rank returns it: one says it, all exit.
            Some((says, code)) => {
                match ranks.rank() {
                    _ if !says => {}
                    0 => eprintln!("bp-par: error: {text}"),
                    r => eprintln!("bp-par: error (rank {r} of {}): {text}", ranks.size()),
                }
                return ExitCode::from(code);
            }
            None if matches!(e, Error::Diverged { .. }) => {}
            None => end_job(ranks, &text, e.exit_code()),
        }
    }
    eprintln!("bp-par: error: {text}");
    ExitCode::from(e.exit_code())
}

/// An error on one rank of several that the others do not know of: they may be waiting for it
/// in a collective call, so the whole job ends (MPI_Abort) with the message. Ranks other than
/// 0 wait a moment before saying theirs: should rank 0 meet the same error at the same time,
/// it is said once, by rank 0, whose abort ends them first.
#[cfg(feature = "mpi")]
fn end_job(ranks: Ranks<'_>, text: &str, code: u8) -> ! {
    if !ranks.is_root() {
        std::thread::sleep(std::time::Duration::from_secs(2));
    }
    eprintln!("bp-par: error (rank {} of {}): {text}", ranks.rank(), ranks.size());
    bp_par::distributed::mpi::MpiWorld::abort(i32::from(code))
}

#[cfg(not(feature = "mpi"))]
fn end_job(_: Ranks<'_>, _: &str, _: u8) {}

/// A panic on one rank of several ends the whole job after the panic's message.
fn abort_job_on_panic() {
    #[cfg(feature = "mpi")]
    {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            default(info);
            bp_par::distributed::mpi::MpiWorld::abort(101);
        }));
    }
}
