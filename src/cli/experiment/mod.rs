//! `bp-par experiment NAME`: reproduce a published experiment ([`catalogue`]), train its
//! runs over its seeds ([`runner`]) and print its report ([`report`]) on stdout, as Markdown
//! or JSON. Only `--out DIR` writes files: DIR/experiments/NAME.md with its pictures, and the
//! index DIR/EXPERIMENTS.md rebuilt from every section there (`--out docs` regenerates the
//! committed reports). Without it nothing is written and no picture is drawn.
//!
//! Every run is a [`train_run::TrainRun`], the configuration `bp-par train` builds from its
//! flags; the report prints the `bp-par train` command that reruns its first seed.

mod catalogue;
mod estimate;
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
    // What each seed of each run should take here, said up front and corrected as runs end.
    let flops = if quiet { 1.0 } else { bp_par::bench::sgemm_peak(0.2) * 1e9 };
    let predicted: Vec<Vec<f64>> = if quiet {
        vec![Vec::new(); experiments.len()]
    } else {
        experiments.iter().map(|e| estimate::seconds(e, &mut cache, flops)).collect::<Result<_>>()?
    };
    let seeds_of = |i: usize| experiments[i].seeds.len() as f64;
    let total: f64 = predicted.iter().enumerate().map(|(i, p)| p.iter().sum::<f64>() * seeds_of(i)).sum();
    if !quiet {
        eprintln!(
            "bp-par experiment {}: {}, about {} on {} (estimated from this machine's speed)",
            args.name,
            count(experiments.iter().map(|e| e.runs.len() * e.seeds.len()).sum(), "training run"),
            estimate::say(total),
            count(threads, "thread")
        );
    }
    let (mut done_predicted, mut done_actual) = (0.0, 0.0);
    for (x, e) in experiments.into_iter().enumerate() {
        if !quiet {
            eprintln!(
                "bp-par experiment {}: {} x {} on {}",
                e.name,
                count(e.runs.len(), "run"),
                count(e.seeds.len(), "seed"),
                count(threads, "thread")
            );
        }
        let results = runner::run(&e, &mut cache, |i, label, seed, value, seconds| {
            if !quiet {
                done_predicted += predicted[x][i];
                done_actual += seconds;
                // What is left, scaled by how the estimate has fared so far.
                let left = (total - done_predicted).max(0.0) * done_actual / done_predicted.max(1e-9);
                eprintln!(
                    "  {label}, seed {seed}: {value:.2}% ({seconds:.1} s; about {} left)",
                    estimate::say(left)
                );
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
