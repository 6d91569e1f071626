//! Throughput measurement: training samples/s over a sweep of thread counts, batch sizes
//! and shard sizes, with the SGEMM peak of the same threads measured in the same run, so
//! every figure can be read as a ratio (GFLOP/s achieved over GFLOP/s possible, N threads
//! over 1 thread) that machine noise affects less than a bare time.
//!
//! ```no_run
//! use bp_par::bench::{sgemm_peak, flops_per_sample};
//! let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
//! let peak = pool.install(|| sgemm_peak(0.2));
//! println!("{:.0} GFLOP/s; 784-128-10 costs {:.2} MFLOP per sample", peak, flops_per_sample(&[784, 128, 10]) / 1e6);
//! ```

use crate::activation::Activation;
use crate::data::{Dataset, Targets};
use crate::error::{Error, Result};
use crate::gemm::{Accum, MatMut, MatRef, gemm};
use crate::loss::Loss;
use crate::network::{Arch, Network};
use crate::train::{PhaseTimes, TrainConfig, Trainer};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

/// Floating-point operations of one training sample (forward, weight gradients, and input
/// gradients of every layer but the first; bias and element-wise work not counted).
pub fn flops_per_sample(sizes: &[usize]) -> f64 {
    sizes
        .windows(2)
        .enumerate()
        .map(|(l, w)| {
            let mac = (w[0] * w[1]) as f64;
            if l == 0 { 4.0 * mac } else { 6.0 * mac }
        })
        .sum()
}

/// Median, minimum and maximum of a sample.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(values: &[f64]) -> Spread {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n == 0 {
            return Spread::default();
        }
        let median = if n % 2 == 1 { v[n / 2] } else { 0.5 * (v[n / 2 - 1] + v[n / 2]) };
        Spread { median, min: v[0], max: v[n - 1] }
    }
}

/// The SGEMM throughput (GFLOP/s) of every thread of the current rayon pool running its own
/// 512x512x512 products at once, summed: the ceiling for training on those threads.
/// Measures for about `seconds`, reports the best of several rounds.
pub fn sgemm_peak(seconds: f64) -> f64 {
    const N: usize = 512;
    let flop = 2.0 * (N * N * N) as f64;
    let rounds = 5;
    let per_round = seconds / rounds as f64;
    // Estimate the repetitions per round from one product.
    let probe = rayon::broadcast(|_| {
        let a = vec![0.5f32; N * N];
        let mut c = vec![0.0f32; N * N];
        let t = Instant::now();
        gemm(
            MatMut::row_major(&mut c, N, N),
            MatRef::row_major(&a, N, N),
            MatRef::row_major(&a, N, N),
            Accum::Overwrite,
        );
        t.elapsed().as_secs_f64()
    });
    let reps = ((per_round / probe.iter().cloned().fold(1e-6, f64::max)) as usize).clamp(1, 1000);
    let mut best = 0.0f64;
    for _ in 0..rounds {
        let t = Instant::now();
        let done: Vec<usize> = rayon::broadcast(|_| {
            let a = vec![0.5f32; N * N];
            let b = vec![0.25f32; N * N];
            let mut c = vec![0.0f32; N * N];
            for _ in 0..reps {
                gemm(
                    MatMut::row_major(&mut c, N, N),
                    MatRef::row_major(&a, N, N),
                    MatRef::row_major(&b, N, N),
                    Accum::Overwrite,
                );
            }
            std::hint::black_box(&c);
            reps
        });
        let wall = t.elapsed().as_secs_f64();
        let total: usize = done.iter().sum();
        best = best.max(total as f64 * flop / wall / 1e9);
    }
    best
}

/// A synthetic classification data set: uniform [0, 1) features, uniform labels.
pub fn synthetic(n: usize, n_features: usize, n_classes: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let features = (0..n * n_features).map(|_| rng.random_range(0.0f32..1.0)).collect();
    let labels = (0..n).map(|_| rng.random_range(0..n_classes as u32)).collect();
    Dataset {
        path: "synthetic".into(),
        n_features,
        features,
        targets: Targets::Classes { labels, n_classes },
        image_shape: None,
    }
}

/// What to sweep.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    pub hidden: Vec<usize>,
    pub activation: Activation,
    pub loss: Loss,
    pub threads: Vec<usize>,
    pub batches: Vec<usize>,
    /// Shard sizes (capped at the batch size).
    pub shards: Vec<usize>,
    /// Mini-batches before timing.
    pub warmup: usize,
    /// Timed samples per repetition (rounded up to whole mini-batches).
    pub samples: usize,
    pub repeats: usize,
    pub lr: f32,
    pub momentum: f32,
}

/// One configuration's measurements.
#[derive(Clone, Debug)]
pub struct BenchRow {
    pub threads: usize,
    pub batch: usize,
    pub shard: usize,
    pub samples_per_s: Spread,
    /// GFLOP/s at the median throughput.
    pub gflops: f64,
    /// The SGEMM peak of the same threads, measured in this run.
    pub peak_gflops: f64,
    /// Median throughput over the 1-thread median of the same batch and shard (None
    /// without a 1-thread row).
    pub speedup: Option<f64>,
    /// Seconds per epoch of `epoch_samples` at the median throughput.
    pub epoch_seconds: f64,
    /// Wall time of the timed steps by phase (see [`PhaseTimes`]).
    pub phases: PhaseTimes,
    /// Threads of the team that ran the steps (the thread count, up to one per core).
    pub team: usize,
    /// The parallel phases of a step and their task counts, as run here (on `team` threads).
    pub tasks: Vec<(String, usize)>,
    /// The same on `threads` cores (equal to `tasks` unless threads > team).
    pub tasks_at_threads: Vec<(String, usize)>,
    /// The peer's samples/s, timed in turn with ours, and the ratios ours / peer's of each
    /// pair of repetitions.
    pub peer: Option<Spread>,
    pub vs_peer: Option<Spread>,
    /// Busy time of the busiest and of the idlest worker thread, as fractions of the steps'
    /// wall time: whether all cores worked.
    pub busiest: f64,
    pub idlest: f64,
}

impl BenchRow {
    pub fn pct_peak(&self) -> f64 {
        100.0 * self.gflops / self.peak_gflops
    }
    /// Speedup per thread that worked (the team's).
    pub fn efficiency(&self) -> Option<f64> {
        self.speedup.map(|s| s / self.team as f64)
    }
}

/// The rows of a sweep and the SGEMM peak measured for each thread count.
#[derive(Clone, Debug)]
pub struct BenchReport {
    pub rows: Vec<BenchRow>,
    /// (threads, GFLOP/s).
    pub peaks: Vec<(usize, f64)>,
    /// (threads, forward-only evaluation samples/s over the whole data set).
    pub eval: Vec<(usize, Spread)>,
}

/// A reference implementation timed in turn with ours: `peer(threads, batch)` times one
/// repetition of the same work and returns its samples/s.
pub type Peer<'a> = dyn FnMut(usize, usize) -> Result<f64> + Send + 'a;

/// Runs the sweep on `data` and calls `report` after each row (for progress). With a `peer`,
/// every timed repetition of ours is followed by one of the peer's at the same thread count
/// and batch size, so both see the same machine load; the row keeps the ratio of each pair.
pub fn run(
    data: &Dataset,
    cfg: &BenchConfig,
    epoch_samples: usize,
    mut peer: Option<&mut Peer<'_>>,
    mut report: impl FnMut(&BenchRow),
) -> Result<BenchReport> {
    let mut sizes = vec![data.n_features];
    sizes.extend(&cfg.hidden);
    sizes.push(data.n_outputs());
    let arch = Arch::new(sizes.clone(), cfg.activation, cfg.loss).map_err(Error::config)?;
    let flops = flops_per_sample(&sizes);
    let mut rows: Vec<BenchRow> = Vec::new();
    let mut peaks = Vec::new();
    let mut eval = Vec::new();
    for &threads in &cfg.threads {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| Error::other(format!("cannot start {threads} threads: {e}")))?;
        // The peak of the threads that train: the team's (one per core at most).
        let peak_pool = rayon::ThreadPoolBuilder::new()
            .num_threads(crate::team::size_for(threads))
            .build()
            .map_err(|e| Error::other(format!("cannot start {threads} threads: {e}")))?;
        let peak = peak_pool.install(|| sgemm_peak(0.5));
        peaks.push((threads, peak));
        let eval_rates: Vec<f64> = pool.install(|| {
            let net = Network::<f32>::init(arch.clone(), 1);
            crate::infer::evaluate(&net, data, None);
            (0..cfg.repeats)
                .map(|_| {
                    let t = Instant::now();
                    crate::infer::evaluate(&net, data, None);
                    data.n_samples() as f64 / t.elapsed().as_secs_f64()
                })
                .collect()
        });
        eval.push((threads, Spread::of(&eval_rates)));
        for &batch in &cfg.batches {
            for &shard_opt in &cfg.shards {
                let shard = shard_opt.clamp(1, batch);
                if rows
                    .iter()
                    .any(|r: &BenchRow| r.threads == threads && r.batch == batch && r.shard == shard)
                {
                    continue;
                }
                let tc = TrainConfig {
                    epochs: 1,
                    batch,
                    shard,
                    lr: cfg.lr,
                    momentum: cfg.momentum,
                    l2: 0.0,
                    seed: 1,
                    shuffle: true,
                };
                let steps = cfg.samples.div_ceil(batch).max(1);
                type Measured =
                    (Vec<f64>, PhaseTimes, usize, Vec<(String, usize)>, Vec<(String, usize)>, Vec<f64>);
                let mut peer_rates = Vec::new();
                let (rates, phases, team, tasks, tasks_at_threads, busy) =
                    pool.install(|| -> Result<Measured> {
                        let mut net = Network::<f32>::init(arch.clone(), 1);
                        let mut trainer = Trainer::new(&mut net, data, tc)?;
                        trainer.steps(data, cfg.warmup)?;
                        trainer.reset_phase_times();
                        let mut rates = Vec::with_capacity(cfg.repeats);
                        for _ in 0..cfg.repeats {
                            let t = Instant::now();
                            trainer.steps(data, steps)?;
                            rates.push((steps * batch) as f64 / t.elapsed().as_secs_f64());
                            if let Some(peer) = peer.as_deref_mut() {
                                // Outside our timings; our team's threads sleep meanwhile.
                                peer_rates.push(peer(threads, batch)?);
                            }
                        }
                        let team = trainer.team_size();
                        let (tasks, at_threads) = (trainer.phase_tasks(team), trainer.phase_tasks(threads));
                        Ok((rates, trainer.phase_times(), team, tasks, at_threads, trainer.thread_busy()))
                    })?;
                let ratios: Vec<f64> =
                    rates.iter().zip(&peer_rates).map(|(ours, theirs)| ours / theirs).collect();
                let wall = phases.steps.max(1e-12);
                let busiest = busy.iter().cloned().fold(0.0, f64::max) / wall;
                let idlest = busy.iter().cloned().fold(f64::INFINITY, f64::min) / wall;
                let spread = Spread::of(&rates);
                let base = rows
                    .iter()
                    .find(|r| r.threads == 1 && r.batch == batch && r.shard == shard)
                    .map(|r| r.samples_per_s.median);
                let row = BenchRow {
                    threads,
                    batch,
                    shard,
                    samples_per_s: spread,
                    gflops: spread.median * flops / 1e9,
                    peak_gflops: peak,
                    speedup: base.map(|b| spread.median / b),
                    epoch_seconds: epoch_samples as f64 / spread.median,
                    phases,
                    team,
                    tasks,
                    tasks_at_threads,
                    peer: (!peer_rates.is_empty()).then(|| Spread::of(&peer_rates)),
                    vs_peer: (!ratios.is_empty()).then(|| Spread::of(&ratios)),
                    busiest,
                    idlest: if idlest.is_finite() { idlest } else { 0.0 },
                };
                report(&row);
                rows.push(row);
            }
        }
    }
    Ok(BenchReport { rows, peaks, eval })
}

/// A line chart of samples/s against threads, one line per (batch, shard), with the ideal
/// linear scaling of the first line's 1-thread point, as a self-contained SVG.
pub fn scaling_svg(rows: &[BenchRow], title: &str, subtitle: &str) -> String {
    use std::fmt::Write;
    let (w, h, left, right, top, bottom) = (720.0, 440.0, 80.0, 200.0, 60.0, 60.0);
    let max_t = rows.iter().map(|r| r.threads).max().unwrap_or(1) as f64;
    let mut series: Vec<(usize, usize)> = rows.iter().map(|r| (r.batch, r.shard)).collect();
    series.sort_unstable();
    series.dedup();
    let base = rows.iter().filter(|r| r.threads == 1).map(|r| r.samples_per_s.median).fold(0.0, f64::max);
    let max_y = rows.iter().map(|r| r.samples_per_s.max).fold(base * max_t, f64::max).max(1.0) * 1.05;
    let x = |t: f64| left + (t - 1.0) / (max_t - 1.0).max(1.0) * (w - left - right);
    let y = |v: f64| top + (1.0 - v / max_y) * (h - top - bottom);
    let colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{0}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{title}</text>\n\
         <text x=\"{0}\" y=\"40\" text-anchor=\"middle\" font-size=\"11\" fill=\"#555\">{subtitle}</text>\n",
        w / 2.0
    );
    // Axes, ticks, grid.
    let _ = writeln!(
        s,
        "<line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>",
        h - bottom,
        w - right,
        h - bottom
    );
    let _ = writeln!(
        s,
        "<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{}\" stroke=\"black\"/>",
        h - bottom
    );
    for i in 0..=5 {
        let v = max_y * i as f64 / 5.0;
        let _ = writeln!(
            s,
            "<line x1=\"{left}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"#ddd\"/><text x=\"{2}\" y=\"{3}\" text-anchor=\"end\">{4:.0}k</text>",
            y(v),
            w - right,
            left - 6.0,
            y(v) + 4.0,
            v / 1e3
        );
    }
    let mut threads: Vec<usize> = rows.iter().map(|r| r.threads).collect();
    threads.sort_unstable();
    threads.dedup();
    for t in &threads {
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{t}</text>",
            x(*t as f64),
            h - bottom + 18.0
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">threads</text>",
        (left + w - right) / 2.0,
        h - 15.0
    );
    let _ = writeln!(
        s,
        "<text x=\"20\" y=\"{0}\" text-anchor=\"middle\" transform=\"rotate(-90 20 {0})\">training samples/s (median, bars: min-max)</text>",
        (top + h - bottom) / 2.0
    );
    // Ideal scaling from the best 1-thread point.
    let _ = writeln!(
        s,
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"gray\" stroke-dasharray=\"5,4\"/>",
        x(1.0),
        y(base),
        x(max_t),
        y(base * max_t)
    );
    for (i, (batch, shard)) in series.iter().enumerate() {
        let c = colors[i % colors.len()];
        let mut pts: Vec<&BenchRow> =
            rows.iter().filter(|r| r.batch == *batch && r.shard == *shard).collect();
        pts.sort_by_key(|r| r.threads);
        let path: Vec<String> = pts
            .iter()
            .map(|r| format!("{:.1},{:.1}", x(r.threads as f64), y(r.samples_per_s.median)))
            .collect();
        let _ = writeln!(
            s,
            "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"2\" points=\"{}\"/>",
            path.join(" ")
        );
        for r in pts {
            let (px, sp) = (x(r.threads as f64), r.samples_per_s);
            let _ = writeln!(
                s,
                "<circle cx=\"{px:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{c}\"/><line x1=\"{px:.1}\" y1=\"{:.1}\" x2=\"{px:.1}\" y2=\"{:.1}\" stroke=\"{c}\"/>",
                y(sp.median),
                y(sp.min),
                y(sp.max)
            );
        }
        let ly = top + 10.0 + 20.0 * i as f64;
        let _ = writeln!(
            s,
            "<line x1=\"{0}\" y1=\"{ly}\" x2=\"{1}\" y2=\"{ly}\" stroke=\"{c}\" stroke-width=\"2\"/><text x=\"{2}\" y=\"{3}\">batch {batch}, shard {shard}</text>",
            w - right + 15.0,
            w - right + 40.0,
            w - right + 46.0,
            ly + 4.0
        );
    }
    let ly = top + 10.0 + 20.0 * series.len() as f64;
    let _ = writeln!(
        s,
        "<line x1=\"{0}\" y1=\"{ly}\" x2=\"{1}\" y2=\"{ly}\" stroke=\"gray\" stroke-dasharray=\"5,4\"/><text x=\"{2}\" y=\"{3}\">linear scaling</text>",
        w - right + 15.0,
        w - right + 40.0,
        w - right + 46.0,
        ly + 4.0
    );
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flop_count_of_the_reference_network() {
        // 784-128-10: 4·(784·128) + 6·(128·10) = 409,088 ≈ 0.41 MFLOP (DESIGN.md).
        assert_eq!(flops_per_sample(&[784, 128, 10]), 409_088.0);
    }

    #[test]
    fn spread_of_even_and_odd_samples() {
        assert_eq!(Spread::of(&[3.0, 1.0, 2.0]), Spread { median: 2.0, min: 1.0, max: 3.0 });
        assert_eq!(Spread::of(&[4.0, 1.0, 2.0, 3.0]).median, 2.5);
    }
}
