//! `bp-par bench`: the throughput sweep of [`bp_par::bench`], a table on stdout, CSV/JSON
//! rows in a file, and the numpy reference run in the same session.

mod numpy;
mod report;

use super::args::BenchArgs;
use bp_par::bench::{self, BenchConfig};
use bp_par::data::{self, Dataset, LoadOptions, Normalization, NormalizeMode};
use bp_par::error::{Error, Result};
use bp_par::loss::Loss;
use numpy::NumpyPeers;
use report::Sweep;
use std::process::Command;

/// Thread counts 1, 2, 4, ... below the core count, then the core count.
fn default_threads() -> Vec<usize> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut t: Vec<usize> =
        std::iter::successors(Some(1usize), |&t| Some(t * 2)).take_while(|&t| t < cores).collect();
    t.push(cores);
    t
}

/// Runs `bp-par bench`.
pub fn bench(args: BenchArgs) -> Result<()> {
    let threads = if args.thread_list.is_empty() { default_threads() } else { args.thread_list.clone() };
    check_args(&args, &threads)?;
    let data = load_data(&args)?;
    // Hidden sizes come from --layers; with DATA, its input and output sizes replace the ends.
    let hidden: Vec<usize> = args.layers[1..args.layers.len().max(1) - 1].to_vec();
    let mut sizes = vec![data.n_features()];
    sizes.extend(&hidden);
    sizes.push(data.n_outputs());
    let cfg = BenchConfig {
        hidden,
        activation: args.activation,
        loss: Loss::Xent,
        threads: threads.clone(),
        batches: args.batch.clone(),
        shards: args.shard_size.clone(),
        warmup: args.warmup,
        samples: args.samples,
        repeats: args.repeats,
        lr: 0.1,
        momentum: 0.9,
        optimizer: match args.optimizer {
            super::args::BenchOptimizer::Sgd => bp_par::optim::Optimizer::default(),
            super::args::BenchOptimizer::Adam => bp_par::optim::Optimizer::Adam(Default::default()),
        },
    };
    let machine = bp_par::sys::machine_description();
    let flops = bench::flops_per_sample(&sizes);
    let layers_text = report::layers_text(&sizes);
    if !args.quiet {
        eprintln!(
            "bp-par bench: {layers_text} {}/xent, {}, on {} ({}), {:.3} MFLOP per sample; {machine}",
            args.activation,
            cfg.optimizer,
            data.path().display(),
            bp_par::error::count(data.n_samples(), "row"),
            flops / 1e6
        );
    }
    let epoch_samples = data.n_samples();
    let mut numpy =
        args.compare.is_some().then(|| NumpyPeers::new(&args.python, &args, &sizes)).transpose()?;
    let mut time_numpy = numpy.as_mut().map(|n| move |threads: usize, batch: usize| n.time(threads, batch));
    let peer = time_numpy.as_mut().map(|f| f as &mut bench::Peer<'_>);
    let bench::BenchReport { rows, peaks, eval } = bench::run(&data, &cfg, epoch_samples, peer, |r| {
        if !args.quiet {
            eprintln!(
                "  threads {:>2} batch {:>4} shard {:>4}: {:>9.0} samples/s ({:.0}% of the SGEMM peak)",
                r.threads,
                r.batch,
                r.shard,
                r.samples_per_s.median,
                r.pct_peak()
            );
        }
    })?;
    drop(numpy);
    let rss = bp_par::sys::peak_rss_bytes();
    let sweep = Sweep {
        machine: &machine,
        sizes: &sizes,
        activation: args.activation,
        data: data.path().display().to_string(),
        epoch_samples,
        flops,
        rows,
        peaks,
        eval,
        rss,
    };
    write_files(&args, &sweep)?;
    if args.json {
        return super::common::emit(&format!("{}\n", sweep.json()));
    }
    super::common::emit(&sweep.table())
}

/// Refuses bad flags before anything runs: thread counts, sizes, `--compare`, output names and
/// folders, and `--layers`.
fn check_args(args: &BenchArgs, threads: &[usize]) -> Result<()> {
    for &t in threads {
        super::common::check_threads(t)?;
    }
    if args.batch.contains(&0) || args.shard_size.contains(&0) || args.repeats == 0 || args.samples == 0 {
        return Err(Error::config("--batch, --shard-size, --repeats and --samples must be positive"));
    }
    if let Some(peer) = args.compare.as_deref().filter(|p| *p != "numpy") {
        return Err(Error::config(format!(
            "--compare {peer:?}: the only reference kept in the repo is numpy"
        )));
    }
    if let Some(p) = &args.plot
        && !p.extension().is_some_and(|e| e.eq_ignore_ascii_case("svg"))
    {
        return Err(Error::config(format!("--plot {}: the plot is SVG; give a .svg name", p.display())));
    }
    if let Some(p) = &args.output {
        super::common::check_writable(p, "-o")?;
    }
    if let Some(p) = &args.plot {
        super::common::check_writable(p, "--plot")?;
    }
    if args.compare.is_some() {
        let ok = Command::new(&args.python)
            .args(["-c", "import numpy"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            return Err(Error::config(format!(
                "--compare numpy needs {} with numpy installed (pip install numpy)",
                args.python.display()
            )));
        }
    }
    if args.layers.len() < 2 || args.layers.contains(&0) {
        return Err(Error::config("--layers needs at least an input and an output size, none zero"));
    }
    Ok(())
}

/// DATA with its normalisation fitted and applied (as `train --normalize auto` would), or
/// synthetic data of the `--layers` shape and `--rows` rows if it fits in memory.
fn load_data(args: &BenchArgs) -> Result<Dataset> {
    if let Some(p) = &args.data {
        let opts = LoadOptions {
            label_col: args.labels.label_col.clone().unwrap_or_default(),
            labels: args.labels.labels.clone(),
            ..LoadOptions::default()
        };
        let mut d = data::load(p, &opts)?;
        d.normalize(&Normalization::fit_to(NormalizeMode::Auto, &d))?;
        return Ok(d);
    }
    let k = args.layers[args.layers.len() - 1];
    bp_par::network::Arch::new(args.layers.clone(), args.activation, Loss::Xent)?;
    if args.rows == 0 {
        return Err(Error::config("--rows must be at least 1"));
    }
    let need = (args.rows as u64).saturating_mul(args.layers[0] as u64).saturating_mul(4);
    if k > u32::MAX as usize || bp_par::sys::available_memory_bytes().is_some_and(|a| need > a / 2) {
        return Err(Error::config(format!(
            "--rows {} of {} features ({}) or {k} classes is more than this machine can hold",
            args.rows,
            args.layers[0],
            bp_par::sys::human_bytes(need)
        )));
    }
    Ok(bp_par::data::synthetic(args.rows, args.layers[0], k, 1))
}

/// Writes `--plot` (the SVG) and `-o` (the rows as JSON for a .json name, else CSV).
fn write_files(args: &BenchArgs, sweep: &Sweep) -> Result<()> {
    if let Some(path) = &args.plot {
        let title = format!("bp-par training throughput, {} {}/xent", sweep.layers_text(), args.activation);
        bp_par::write_atomic(path, bench::scaling_svg(&sweep.rows, &title, sweep.machine).as_bytes())?;
    }
    if let Some(path) = &args.output {
        let text = if path.extension().is_some_and(|e| e == "json") {
            serde_json::to_string_pretty(&sweep.json()).unwrap_or_default()
        } else {
            sweep.csv()
        };
        bp_par::write_atomic(path, text.as_bytes())?;
    }
    Ok(())
}
