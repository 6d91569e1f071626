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
    /// Shard sizes; 0 stands for "one shard per thread" (batch / threads, rounded up).
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
    /// Fractions of the timed wall time: shard work, reduction + update; and of the
    /// shard thread time: gather, forward, backward.
    pub phases: PhaseTimes,
}

impl BenchRow {
    pub fn pct_peak(&self) -> f64 {
        100.0 * self.gflops / self.peak_gflops
    }
    pub fn efficiency(&self) -> Option<f64> {
        self.speedup.map(|s| s / self.threads as f64)
    }
}

/// The rows of a sweep and the SGEMM peak measured for each thread count.
#[derive(Clone, Debug)]
pub struct BenchReport {
    pub rows: Vec<BenchRow>,
    /// (threads, GFLOP/s).
    pub peaks: Vec<(usize, f64)>,
}

/// Runs the sweep on `data` and calls `report` after each row (for progress).
pub fn run(
    data: &Dataset,
    cfg: &BenchConfig,
    epoch_samples: usize,
    mut report: impl FnMut(&BenchRow),
) -> Result<BenchReport> {
    let mut sizes = vec![data.n_features];
    sizes.extend(&cfg.hidden);
    sizes.push(data.n_outputs());
    let arch = Arch::new(sizes.clone(), cfg.activation, cfg.loss).map_err(Error::config)?;
    let flops = flops_per_sample(&sizes);
    let mut rows: Vec<BenchRow> = Vec::new();
    let mut peaks = Vec::new();
    for &threads in &cfg.threads {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| Error::other(format!("cannot start {threads} threads: {e}")))?;
        let peak = pool.install(|| sgemm_peak(0.5));
        peaks.push((threads, peak));
        for &batch in &cfg.batches {
            for &shard_opt in &cfg.shards {
                let shard = if shard_opt == 0 { batch.div_ceil(threads) } else { shard_opt };
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
                let (rates, phases) = pool.install(|| -> Result<(Vec<f64>, PhaseTimes)> {
                    let mut net = Network::<f32>::init(arch.clone(), 1);
                    let mut trainer = Trainer::new(&mut net, data, tc)?;
                    trainer.steps(data, cfg.warmup)?;
                    trainer.reset_phase_times();
                    let mut rates = Vec::with_capacity(cfg.repeats);
                    for _ in 0..cfg.repeats {
                        let t = Instant::now();
                        trainer.steps(data, steps)?;
                        rates.push((steps * batch) as f64 / t.elapsed().as_secs_f64());
                    }
                    Ok((rates, trainer.phase_times()))
                })?;
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
                };
                report(&row);
                rows.push(row);
            }
        }
    }
    Ok(BenchReport { rows, peaks })
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
