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
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::gemm::{Accum, MatMut, MatRef, gemm};
use crate::loss::Loss;
use crate::network::{Arch, Network};
use crate::train::{PhaseTimes, TrainConfig, Trainer};
use std::time::Instant;

mod svg;
pub use svg::scaling_svg;

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
    /// The middle value (the mean of the two middle ones for an even count).
    pub median: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
}

impl Spread {
    /// The spread of `values` (all zero when there are none).
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

/// What to sweep.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// Hidden layer sizes (the data gives the input and output sizes).
    pub hidden: Vec<usize>,
    /// Activation of the hidden layers.
    pub activation: Activation,
    /// Loss (and with it the output activation).
    pub loss: Loss,
    /// Thread counts, one rayon pool each.
    pub threads: Vec<usize>,
    /// Mini-batch sizes.
    pub batches: Vec<usize>,
    /// Shard sizes (capped at the batch size).
    pub shards: Vec<usize>,
    /// Mini-batches before timing.
    pub warmup: usize,
    /// Timed samples per repetition (rounded up to whole mini-batches).
    pub samples: usize,
    /// Timed repetitions per configuration (their median, minimum and maximum are reported).
    pub repeats: usize,
    /// Learning rate of the timed training steps.
    pub lr: f32,
    /// Momentum of the timed training steps.
    pub momentum: f32,
    /// The optimiser of the timed training steps.
    pub optimizer: crate::optim::Optimizer,
}

/// One configuration's measurements.
#[derive(Clone, Debug)]
pub struct BenchRow {
    /// Threads of the rayon pool.
    pub threads: usize,
    /// Mini-batch size.
    pub batch: usize,
    /// Shard size (at most the batch size).
    pub shard: usize,
    /// Training samples/s over the timed repetitions.
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
    /// The peer's samples/s, timed in turn with ours (None without a peer).
    pub peer: Option<Spread>,
    /// The ratios ours / peer's of each pair of repetitions (None without a peer).
    pub vs_peer: Option<Spread>,
    /// Busy time of the busiest worker thread, as a fraction of the steps' wall time.
    pub busiest: f64,
    /// Busy time of the idlest worker thread, as a fraction of the steps' wall time: with
    /// `busiest`, whether all cores worked.
    pub idlest: f64,
}

impl BenchRow {
    /// GFLOP/s as a percentage of the measured SGEMM peak of the same threads.
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
    /// One row per (threads, batch, shard), in sweep order.
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
    let arch = Arch::new(sizes.clone(), cfg.activation, cfg.loss)?;
    let flops = flops_per_sample(&sizes);
    let mut out = BenchReport { rows: Vec::new(), peaks: Vec::new(), eval: Vec::new() };
    for &threads in &cfg.threads {
        let pool = thread_pool(threads, threads)?;
        // The peak of the threads that train: the team's (one per core at most).
        let peak_pool = thread_pool(crate::team::size_for(threads), threads)?;
        let peak = peak_pool.install(|| sgemm_peak(0.5));
        out.peaks.push((threads, peak));
        out.eval.push((threads, pool.install(|| eval_rates(&arch, data, cfg.repeats))?));
        for &batch in &cfg.batches {
            for &shard_opt in &cfg.shards {
                let shard = shard_opt.clamp(1, batch);
                if out.rows.iter().any(|r| r.threads == threads && r.batch == batch && r.shard == shard) {
                    continue;
                }
                let measured =
                    pool.install(|| measure(&arch, data, cfg, (threads, batch, shard), peer.as_deref_mut()))?;
                let base = out
                    .rows
                    .iter()
                    .find(|r| r.threads == 1 && r.batch == batch && r.shard == shard)
                    .map(|r| r.samples_per_s.median);
                let row = measured.into_row(flops, peak, base, epoch_samples);
                report(&row);
                out.rows.push(row);
            }
        }
    }
    Ok(out)
}

/// A rayon pool of `n` threads, for a sweep at `threads` threads.
fn thread_pool(n: usize, threads: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .map_err(|e| Error::other(format!("cannot start {threads} threads: {e}")))
}

/// Forward-only evaluation of all of `data` on the current pool, `repeats` timed passes after
/// an untimed one: samples/s.
fn eval_rates(arch: &Arch, data: &Dataset, repeats: usize) -> Result<Spread> {
    let net = Network::<f32>::init(arch.clone(), 1);
    crate::infer::evaluate(&net, data, None)?;
    let mut rates = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let t = Instant::now();
        crate::infer::evaluate(&net, data, None)?;
        rates.push(data.n_samples() as f64 / t.elapsed().as_secs_f64());
    }
    Ok(Spread::of(&rates))
}

/// What the timed repetitions of one (threads, batch, shard) configuration measured.
struct Measured {
    threads: usize,
    batch: usize,
    shard: usize,
    /// Our samples/s, one per repetition.
    rates: Vec<f64>,
    /// The peer's samples/s, one per repetition (empty without a peer).
    peer_rates: Vec<f64>,
    phases: PhaseTimes,
    team: usize,
    tasks: Vec<(String, usize)>,
    tasks_at_threads: Vec<(String, usize)>,
    /// Busy seconds of each worker thread over the timed steps.
    busy: Vec<f64>,
}

/// Trains `cfg.warmup` mini-batches untimed, then times `cfg.repeats` repetitions of
/// `cfg.samples` samples on the current pool, each followed by one of the peer's.
fn measure(
    arch: &Arch,
    data: &Dataset,
    cfg: &BenchConfig,
    (threads, batch, shard): (usize, usize, usize),
    mut peer: Option<&mut Peer<'_>>,
) -> Result<Measured> {
    let tc = TrainConfig {
        epochs: 1,
        batch,
        shard,
        lr: cfg.lr,
        momentum: cfg.momentum,
        l2: 0.0,
        seed: 1,
        shuffle: true,
        optimizer: cfg.optimizer,
        clip_norm: None,
        class_weight: None,
    };
    let steps = cfg.samples.div_ceil(batch).max(1);
    let mut net = Network::<f32>::init(arch.clone(), 1);
    let mut trainer = Trainer::with_threads(&mut net, data, tc, crate::Threads::new(threads)?)?;
    trainer.steps(data, cfg.warmup)?;
    trainer.reset_phase_times();
    let mut rates = Vec::with_capacity(cfg.repeats);
    let mut peer_rates = Vec::new();
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
    let (tasks, tasks_at_threads) = (trainer.phase_tasks(team), trainer.phase_tasks(threads));
    let (phases, busy) = (trainer.phase_times(), trainer.thread_busy());
    Ok(Measured { threads, batch, shard, rates, peer_rates, phases, team, tasks, tasks_at_threads, busy })
}

impl Measured {
    /// The row: `flops` per sample, the SGEMM `peak` of the threads, the 1-thread median
    /// `base` of the same batch and shard, and `epoch_samples` for the epoch time.
    fn into_row(self, flops: f64, peak: f64, base: Option<f64>, epoch_samples: usize) -> BenchRow {
        let ratios: Vec<f64> =
            self.rates.iter().zip(&self.peer_rates).map(|(ours, theirs)| ours / theirs).collect();
        let wall = self.phases.steps.max(1e-12);
        let busiest = self.busy.iter().cloned().fold(0.0, f64::max) / wall;
        let idlest = self.busy.iter().cloned().fold(f64::INFINITY, f64::min) / wall;
        let spread = Spread::of(&self.rates);
        BenchRow {
            threads: self.threads,
            batch: self.batch,
            shard: self.shard,
            samples_per_s: spread,
            gflops: spread.median * flops / 1e9,
            peak_gflops: peak,
            speedup: base.map(|b| spread.median / b),
            epoch_seconds: epoch_samples as f64 / spread.median,
            phases: self.phases,
            team: self.team,
            tasks: self.tasks,
            tasks_at_threads: self.tasks_at_threads,
            peer: (!self.peer_rates.is_empty()).then(|| Spread::of(&self.peer_rates)),
            vs_peer: (!ratios.is_empty()).then(|| Spread::of(&ratios)),
            busiest,
            idlest: if idlest.is_finite() { idlest } else { 0.0 },
        }
    }
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
