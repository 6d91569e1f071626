//! `bp-par bench`: the throughput sweep of [`bp_par::bench`], a table on stdout, CSV/JSON
//! rows in a file, and the numpy reference run in the same session.

use super::args::BenchArgs;
use bp_par::bench::{self, BenchConfig, BenchRow};
use bp_par::data::{self, LoadOptions, Normalization, NormalizeMode};
use bp_par::error::{Error, Result};
use bp_par::loss::Loss;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// The numpy reference implementation, built in so `--compare numpy` works from any folder.
const NUMPY_PEER: &str = include_str!("../../benches/peers/numpy_mlp.py");

/// The numpy reference processes, one per (threads, batch), each serving one timed
/// repetition per request (`numpy_mlp.py --serve`), so that its repetitions alternate with ours.
struct NumpyPeers<'a> {
    python: &'a Path,
    args: &'a BenchArgs,
    layers: String,
    dir: tempfile::TempDir,
    running: Vec<((usize, usize), Server)>,
}

struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl<'a> NumpyPeers<'a> {
    fn new(python: &'a Path, args: &'a BenchArgs, layers: &[usize]) -> Result<Self> {
        let dir =
            tempfile::tempdir().map_err(|e| Error::io(Path::new("."), "create a temporary folder in", e))?;
        let script = dir.path().join("numpy_mlp.py");
        std::fs::write(&script, NUMPY_PEER).map_err(|e| Error::io(&script, "write", e))?;
        let layers = layers.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
        Ok(NumpyPeers { python, args, layers, dir, running: Vec::new() })
    }

    fn failed(&self, what: &str) -> Error {
        Error::other(format!(
            "the numpy reference failed ({what}); is numpy installed for {}?",
            self.python.display()
        ))
    }

    /// One timed repetition of the numpy reference at `threads` BLAS threads and `batch`.
    fn time(&mut self, threads: usize, batch: usize) -> Result<f64> {
        let i = match self.running.iter().position(|(k, _)| *k == (threads, batch)) {
            Some(i) => i,
            None => self.start(threads, batch)?,
        };
        let server = &mut self.running[i].1;
        let asked = server.stdin.as_mut().is_some_and(|i| writeln!(i, "run").and_then(|_| i.flush()).is_ok());
        let rate = read_json(&mut server.stdout).and_then(|v| v["samples_per_s"].as_f64());
        // OpenBLAS's threads keep spinning for a while after their last GEMM (up to 2^28
        // cycles): let them go idle before our next repetition starts.
        std::thread::sleep(std::time::Duration::from_millis(300));
        match (asked, rate) {
            (true, Some(r)) if r > 0.0 => Ok(r),
            _ => Err(self.failed("it stopped answering")),
        }
    }

    /// Starts the server for (`threads`, `batch`) and returns its index in `running`.
    fn start(&mut self, threads: usize, batch: usize) -> Result<usize> {
        let a = self.args;
        let mut child = Command::new(self.python)
            .arg(self.dir.path().join("numpy_mlp.py"))
            .args(["--layers", &self.layers])
            .args(["--activation", a.activation.name()])
            .args(["--batch", &batch.to_string()])
            .args(["--samples", &a.samples.to_string()])
            .args(["--data", &a.rows.to_string()])
            .args(["--warmup", &a.warmup.to_string()])
            .args(["--threads", &threads.to_string()])
            .arg("--serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| Error::io(self.python, "run the Python interpreter", e))?;
        let (stdin, stdout) = (child.stdin.take(), child.stdout.take());
        let Some(stdout) = stdout else { return Err(self.failed("no output pipe")) };
        let mut server = Server { child, stdin, stdout: BufReader::new(stdout) };
        let ready = read_json(&mut server.stdout).ok_or_else(|| self.failed("it did not start"))?;
        if ready["ready"] != json!(true) {
            return Err(self.failed("it did not start"));
        }
        self.running.push(((threads, batch), server));
        Ok(self.running.len() - 1)
    }
}

impl Drop for NumpyPeers<'_> {
    fn drop(&mut self) {
        for (_, mut s) in self.running.drain(..) {
            drop(s.stdin.take()); // end of input: the server returns
            let _ = s.child.wait();
        }
    }
}

fn read_json(r: &mut impl BufRead) -> Option<Value> {
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    serde_json::from_str(&line).ok()
}

fn default_threads() -> Vec<usize> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut t: Vec<usize> =
        std::iter::successors(Some(1usize), |&t| Some(t * 2)).take_while(|&t| t < cores).collect();
    t.push(cores);
    t
}

fn pct(part: f64, whole: f64) -> f64 {
    if whole > 0.0 { 100.0 * part / whole } else { 0.0 }
}

fn row_json(r: &BenchRow) -> Value {
    let p = &r.phases;
    json!({
        "threads": r.threads, "batch": r.batch, "shard": r.shard,
        "samples_per_s": {"median": r.samples_per_s.median, "min": r.samples_per_s.min, "max": r.samples_per_s.max},
        "gflops": r.gflops, "peak_gflops": r.peak_gflops, "pct_peak": r.pct_peak(),
        "speedup": r.speedup, "efficiency": r.efficiency(), "epoch_seconds": r.epoch_seconds,
        "phases_pct": {
            "forward": pct(p.forward, p.steps), "backward_and_update": pct(p.backward, p.steps),
            "shards": pct(p.shards, p.steps), "update": pct(p.update, p.steps),
        },
        "team": r.team,
        "tasks_per_phase": r.tasks.iter().map(|(name, n)| json!({"phase": name, "tasks": n})).collect::<Vec<_>>(),
        "tasks_per_phase_on_as_many_cores": r.tasks_at_threads.iter().map(|(name, n)| json!({"phase": name, "tasks": n})).collect::<Vec<_>>(),
        "busiest_thread_pct": 100.0 * r.busiest, "idlest_thread_pct": 100.0 * r.idlest,
        "numpy_samples_per_s": r.peer.map(|p| json!({"median": p.median, "min": p.min, "max": p.max})),
        "vs_numpy": r.vs_peer.map(|p| json!({"median": p.median, "min": p.min, "max": p.max})),
    })
}

pub fn bench(args: BenchArgs) -> Result<()> {
    let threads = if args.thread_list.is_empty() { default_threads() } else { args.thread_list.clone() };
    for &t in &threads {
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
    for p in [&args.output, &args.plot].into_iter().flatten() {
        let dir = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        if !dir.is_dir() {
            return Err(Error::config(format!(
                "{}: the folder {} does not exist",
                p.display(),
                dir.display()
            )));
        }
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
    let data = match &args.data {
        Some(p) => {
            let opts = LoadOptions {
                label_col: args.labels.label_col.clone().unwrap_or_default(),
                labels: args.labels.labels.clone(),
                ..LoadOptions::default()
            };
            let mut d = data::load(p, &opts)?;
            Normalization::fit(NormalizeMode::Auto, &d.features, d.n_features)
                .apply(&mut d.features, d.n_features);
            d
        }
        None => {
            let k = args.layers[args.layers.len() - 1];
            bp_par::network::Arch::new(args.layers.clone(), args.activation, Loss::Xent)
                .map_err(Error::config)?;
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
            bench::synthetic(args.rows, args.layers[0], k, 1)
        }
    };
    // Hidden sizes come from --layers; with DATA, its input and output sizes replace the ends.
    let hidden: Vec<usize> = args.layers[1..args.layers.len().max(1) - 1].to_vec();
    let mut sizes = vec![data.n_features];
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
    };
    let machine = bp_par::sys::machine_description();
    let flops = bench::flops_per_sample(&sizes);
    let layers_text = sizes.iter().map(ToString::to_string).collect::<Vec<_>>().join("-");
    if !args.quiet {
        eprintln!(
            "bp-par bench: {layers_text} {}/xent on {} ({} rows), {:.3} MFLOP per sample; {machine}",
            args.activation,
            data.path.display(),
            data.n_samples(),
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
    let ratio = |r: &BenchRow| r.vs_peer.map(|v| v.median);
    let rss = bp_par::sys::peak_rss_bytes();

    if let Some(path) = &args.plot {
        let title = format!("bp-par training throughput, {layers_text} {}/xent", args.activation);
        bp_par::write_atomic(path, bench::scaling_svg(&rows, &title, &machine).as_bytes())?;
    }
    let report = json!({
        "machine": machine,
        "layers": sizes,
        "activation": args.activation.name(),
        "data": data.path.display().to_string(),
        "flops_per_sample": flops,
        "sgemm_peak_gflops": peaks.iter().map(|(t, g)| json!({"threads": t, "team": bp_par::train::team_size_for(*t), "gflops": g})).collect::<Vec<_>>(),
        "rows": rows.iter().map(row_json).collect::<Vec<_>>(),
        "eval_samples_per_s": eval.iter().map(|(t, sp)| json!({"threads": t, "median": sp.median, "min": sp.min, "max": sp.max})).collect::<Vec<_>>(),
        "peak_rss_bytes": rss,
    });
    if let Some(path) = &args.output {
        let text = if path.extension().is_some_and(|e| e == "json") {
            serde_json::to_string_pretty(&report).unwrap_or_default()
        } else {
            let mut s = String::from(
                "threads,batch,shard,samples_per_s_median,samples_per_s_min,samples_per_s_max,gflops,peak_gflops,pct_peak,speedup,efficiency,epoch_seconds,vs_numpy\n",
            );
            let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.4}"));
            for r in &rows {
                let sp = r.samples_per_s;
                let _ = writeln!(
                    s,
                    "{},{},{},{:.0},{:.0},{:.0},{:.2},{:.2},{:.1},{},{},{:.4},{}",
                    r.threads,
                    r.batch,
                    r.shard,
                    sp.median,
                    sp.min,
                    sp.max,
                    r.gflops,
                    r.peak_gflops,
                    r.pct_peak(),
                    opt(r.speedup),
                    opt(r.efficiency()),
                    r.epoch_seconds,
                    opt(ratio(r))
                );
            }
            s
        };
        bp_par::write_atomic(path, text.as_bytes())?;
    }

    if args.json {
        let out = report;
        return super::common::emit(&format!("{out}\n"));
    }
    let mut s = format!("bp-par bench: {layers_text} {}/xent, {machine}\n", args.activation);
    for (t, g) in &peaks {
        let _ = writeln!(s, "SGEMM peak on {} thread(s): {g:.1} GFLOP/s", bp_par::train::team_size_for(*t));
    }
    let _ = writeln!(
        s,
        "\n{:>7} {:>5} {:>5} {:>26} {:>7} {:>5} {:>7} {:>5} {:>7} {:>8} | {:>6} {:>6} {:>6} {:>6} | {:>4} {:>4}",
        "threads",
        "batch",
        "shard",
        "samples/s median [min-max]",
        "GFLOP/s",
        "%peak",
        "speedup",
        "eff",
        "epoch_s",
        "vs numpy",
        "fwd",
        "bwd+up",
        "shards",
        "update",
        "max",
        "min"
    );
    for r in &rows {
        let p = &r.phases;
        let sp = r.samples_per_s;
        let _ = writeln!(
            s,
            "{:>7} {:>5} {:>5} {:>26} {:>7.1} {:>4.0}% {:>7} {:>5} {:>7.3} {:>8} | {:>5.0}% {:>5.0}% {:>5.0}% {:>5.0}% | {:>3.0}% {:>3.0}%",
            r.threads,
            r.batch,
            r.shard,
            format!("{:.0} [{:.0}-{:.0}]", sp.median, sp.min, sp.max),
            r.gflops,
            r.pct_peak(),
            r.speedup.map_or("-".into(), |v| format!("{v:.2}x")),
            r.efficiency().map_or("-".into(), |v| format!("{:.0}%", 100.0 * v)),
            r.epoch_seconds,
            ratio(r).map_or("-".into(), |v| format!("{v:.2}x")),
            pct(p.forward, p.steps),
            pct(p.backward, p.steps),
            pct(p.shards, p.steps),
            pct(p.update, p.steps),
            100.0 * r.busiest,
            100.0 * r.idlest,
        );
    }
    let _ = writeln!(
        s,
        "\nparallel tasks per phase of a full mini-batch (layer-parallel steps: the phases of one shard, repeated \
         for each shard):"
    );
    let list = |t: &[(String, usize)]| {
        t.iter().map(|(name, n)| format!("{name} {n}")).collect::<Vec<_>>().join(", ")
    };
    for r in &rows {
        let _ = write!(s, "  threads {} batch {} shard {}: {}", r.threads, r.batch, r.shard, list(&r.tasks));
        if r.team < r.threads {
            let _ = write!(
                s,
                " (run by a team of {}, one thread per core); on {} cores: {}",
                r.team,
                r.threads,
                list(&r.tasks_at_threads)
            );
        }
        let _ = writeln!(s);
    }
    for (t, sp) in &eval {
        let train =
            rows.iter().filter(|r| r.threads == *t).map(|r| r.samples_per_s.median).fold(0.0, f64::max);
        let _ = writeln!(
            s,
            "evaluation (forward only), {t} thread(s): {:.0} [{:.0}-{:.0}] samples/s, {:.1}x the best training rate",
            sp.median,
            sp.min,
            sp.max,
            sp.median / train.max(1.0)
        );
    }
    for r in &rows {
        if let (Some(sp), Some(v)) = (r.peer, r.vs_peer) {
            let _ = writeln!(
                s,
                "numpy reference, {} thread(s), batch {} (timed in turn with shard {}): {:.0} [{:.0}-{:.0}] samples/s, \
                 epoch {:.3}s; bp-par / numpy per pair of repetitions {:.2}x [{:.2}-{:.2}]",
                r.threads,
                r.batch,
                r.shard,
                sp.median,
                sp.min,
                sp.max,
                epoch_samples as f64 / sp.median,
                v.median,
                v.min,
                v.max
            );
        }
    }
    let _ = writeln!(
        s,
        "\nepoch_s: {epoch_samples} samples at the median rate; fwd/bwd+up: shares of the steps' wall time in \
         layer-parallel steps (gather in fwd; the reduction and momentum update run inside the backward \
         pass, block by block); shards/update: in shard-parallel steps (at least as many shards as \
         the team has threads: whole shards per thread, then the reduction and update); eff and %peak \
         count the team's threads (the thread count, up to one per core); \
         max/min: busy time of the busiest and the idlest thread over the steps' wall time"
    );
    if let Some(b) = rss {
        let _ = writeln!(s, "peak RSS of this process: {:.0} MiB", b as f64 / (1024.0 * 1024.0));
    }
    super::common::emit(&s)
}
