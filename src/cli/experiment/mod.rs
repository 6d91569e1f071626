//! `bp-par experiment NAME`: reproduce a published experiment ([`catalogue`]), train its
//! runs over its seeds ([`runner`]) and print its report ([`report`]) on stdout, as Markdown
//! or JSON. Only `--out DIR` writes files: DIR/experiments/NAME.md with its pictures, and the
//! index DIR/EXPERIMENTS.md rebuilt from every section there (`--out docs` regenerates the
//! committed reports). Without it nothing is written and no picture is drawn.
//!
//! Every run is a [`train_run::TrainRun`], the configuration `bp-par train` builds from its
//! flags; the report prints the `bp-par train` command that reruns its first seed.

mod catalogue;
mod report;
mod runner;
mod train_run;

use super::args::ExperimentArgs;
use super::common::emit;
use bp_par::error::{Error, Result, count};
use catalogue::{Experiment, NAMES};
use report::Context;
use runner::{DataCache, RunResult};
use std::path::Path;

/// Writes the section of `e` and its pictures under `out`, then rebuilds the index (and says
/// so on stderr unless `quiet`); returns the section.
fn write_report(
    out: &Path,
    e: &Experiment,
    results: &[RunResult],
    cx: &Context,
    quiet: bool,
) -> Result<String> {
    let dir = out.join("experiments");
    std::fs::create_dir_all(&dir).map_err(|err| Error::io(&dir, "create the report folder", err))?;
    let pics = report::pictures(e.name, &results[0], &dir)?;
    let md = report::markdown(e, results, cx, &pics);
    let section = dir.join(format!("{}.md", e.name));
    bp_par::write_atomic(&section, md.as_bytes())?;
    let index = out.join("EXPERIMENTS.md");
    bp_par::write_atomic(&index, report::index(out, &dir).as_bytes())?;
    if !quiet {
        eprintln!("bp-par experiment {}: wrote {} and {}", e.name, section.display(), index.display());
    }
    Ok(md)
}

/// Runs `args.name` (or all) inside the caller's pool of `threads` workers.
pub fn run(args: &ExperimentArgs, threads: usize) -> Result<()> {
    let names: Vec<&str> = if args.name == "all" { NAMES.to_vec() } else { vec![args.name.as_str()] };
    let experiments = names.iter().map(|n| catalogue::get(n, args.quick)).collect::<Result<Vec<_>>>()?;
    let machine = bp_par::sys::machine_description();
    let quiet = args.common.quiet;
    let cx = Context { threads, machine: &machine, quick: args.quick, out: args.out.as_deref() };
    let mut cache = DataCache::new(&args.data_dir);
    let mut json_out = Vec::new();
    for e in experiments {
        if !quiet {
            eprintln!(
                "bp-par experiment {}: {} x {} on {}",
                e.name,
                count(e.runs.len(), "run"),
                count(e.seeds.len(), "seed"),
                count(threads, "thread")
            );
        }
        let results = runner::run(&e, &mut cache, |label, seed, value| {
            if !quiet {
                eprintln!("  {label}, seed {seed}: {value:.2}%");
            }
        })?;
        let md = match cx.out {
            Some(out) => write_report(out, &e, &results, &cx, quiet)?,
            None => {
                if !quiet {
                    eprintln!(
                        "bp-par experiment {}: nothing written (--out DIR writes DIR/experiments/{}.md, its \
                         pictures and DIR/EXPERIMENTS.md)",
                        e.name, e.name
                    );
                }
                report::markdown(&e, &results, &cx, &[])
            }
        };
        if args.common.json {
            json_out.push(report::json(&e, &results));
        } else {
            emit(&md)?;
        }
    }
    if args.common.json {
        emit(&format!("{}\n", serde_json::Value::Array(json_out)))?;
    }
    Ok(())
}
