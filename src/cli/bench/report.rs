//! What `bp-par bench` reports of a finished sweep: the JSON report (stdout with `--json`, or
//! `-o NAME.json`), the CSV rows (`-o NAME.csv`) and the table on stdout.

use bp_par::activation::Activation;
use bp_par::bench::{BenchRow, Spread};
use serde_json::{Value, json};
use std::fmt::Write as _;

/// A finished sweep and what it ran on.
pub(super) struct Sweep<'a> {
    /// The machine, in words.
    pub machine: &'a str,
    /// Layer sizes, input first.
    pub sizes: &'a [usize],
    /// The hidden layers' activation.
    pub activation: Activation,
    /// The data file, or `synthetic`.
    pub data: String,
    /// Training samples in an epoch: the data set's rows.
    pub epoch_samples: usize,
    /// Floating-point operations of one training sample.
    pub flops: f64,
    /// The rows, in sweep order.
    pub rows: Vec<BenchRow>,
    /// (threads, SGEMM GFLOP/s of the threads' team).
    pub peaks: Vec<(usize, f64)>,
    /// (threads, forward-only evaluation samples/s).
    pub eval: Vec<(usize, Spread)>,
    /// The peak resident memory of this process, when known.
    pub rss: Option<u64>,
}

/// Layer sizes as `784-128-10`.
pub(super) fn layers_text(sizes: &[usize]) -> String {
    sizes.iter().map(ToString::to_string).collect::<Vec<_>>().join("-")
}

/// `part` as a percentage of `whole` (0 for an empty whole).
fn pct(part: f64, whole: f64) -> f64 {
    if whole > 0.0 { 100.0 * part / whole } else { 0.0 }
}

/// The median ratio ours / numpy's of a row, when numpy ran.
fn ratio(r: &BenchRow) -> Option<f64> {
    r.vs_peer.map(|v| v.median)
}

/// One row as JSON.
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

impl Sweep<'_> {
    /// The layer sizes as `784-128-10`.
    pub fn layers_text(&self) -> String {
        layers_text(self.sizes)
    }

    /// The whole report as JSON.
    pub fn json(&self) -> Value {
        json!({
            "machine": self.machine,
            "layers": self.sizes,
            "activation": self.activation.name(),
            "data": self.data,
            "flops_per_sample": self.flops,
            "sgemm_peak_gflops": self.peaks.iter().map(|(t, g)| json!({"threads": t, "team": bp_par::Threads::new(*t).map_or(1, bp_par::Threads::team_size), "gflops": g})).collect::<Vec<_>>(),
            "rows": self.rows.iter().map(row_json).collect::<Vec<_>>(),
            "eval_samples_per_s": self.eval.iter().map(|(t, sp)| json!({"threads": t, "median": sp.median, "min": sp.min, "max": sp.max})).collect::<Vec<_>>(),
            "peak_rss_bytes": self.rss,
        })
    }

    /// The rows as CSV with a header.
    pub fn csv(&self) -> String {
        let mut s = String::from(
            "threads,batch,shard,samples_per_s_median,samples_per_s_min,samples_per_s_max,gflops,peak_gflops,pct_peak,speedup,efficiency,epoch_seconds,vs_numpy\n",
        );
        let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.4}"));
        for r in &self.rows {
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
    }

    /// The report for people: peaks, one table line per row, the tasks per phase, evaluation
    /// and numpy figures, and what the columns mean.
    pub fn table(&self) -> String {
        let mut s =
            format!("bp-par bench: {} {}/xent, {}\n", self.layers_text(), self.activation, self.machine);
        for (t, g) in &self.peaks {
            let _ = writeln!(
                s,
                "SGEMM peak on {} thread(s): {g:.1} GFLOP/s",
                bp_par::Threads::new(*t).map_or(1, bp_par::Threads::team_size)
            );
        }
        self.table_rows(&mut s);
        self.tasks(&mut s);
        self.eval_and_numpy(&mut s);
        let _ = writeln!(
            s,
            "\nepoch_s: {} samples at the median rate; fwd/bwd+up: shares of the steps' wall time in \
             layer-parallel steps (gather in fwd; the reduction and momentum update run inside the backward \
             pass, block by block); shards/update: in shard-parallel steps (at least as many shards as \
             the team has threads: whole shards per thread, then the reduction and update); eff and %peak \
             count the team's threads (the thread count, up to one per core); \
             max/min: busy time of the busiest and the idlest thread over the steps' wall time",
            self.epoch_samples
        );
        if let Some(b) = self.rss {
            let _ = writeln!(s, "peak RSS of this process: {:.0} MiB", b as f64 / (1024.0 * 1024.0));
        }
        s
    }

    /// The column headings and one line per row.
    fn table_rows(&self, s: &mut String) {
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
        for r in &self.rows {
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
    }

    /// The parallel tasks of each phase, per row.
    fn tasks(&self, s: &mut String) {
        let _ = writeln!(
            s,
            "\nparallel tasks per phase of a full mini-batch (layer-parallel steps: the phases of one shard, repeated \
             for each shard):"
        );
        let list = |t: &[(String, usize)]| {
            t.iter().map(|(name, n)| format!("{name} {n}")).collect::<Vec<_>>().join(", ")
        };
        for r in &self.rows {
            let _ =
                write!(s, "  threads {} batch {} shard {}: {}", r.threads, r.batch, r.shard, list(&r.tasks));
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
    }

    /// Evaluation speed per thread count, then the numpy figures of each row that has them.
    fn eval_and_numpy(&self, s: &mut String) {
        for (t, sp) in &self.eval {
            let train = self
                .rows
                .iter()
                .filter(|r| r.threads == *t)
                .map(|r| r.samples_per_s.median)
                .fold(0.0, f64::max);
            let _ = writeln!(
                s,
                "evaluation (forward only), {t} thread(s): {:.0} [{:.0}-{:.0}] samples/s, {:.1}x the best training rate",
                sp.median,
                sp.min,
                sp.max,
                sp.median / train.max(1.0)
            );
        }
        for r in &self.rows {
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
                    self.epoch_samples as f64 / sp.median,
                    v.median,
                    v.min,
                    v.max
                );
            }
        }
    }
}
