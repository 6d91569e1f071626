//! How long an experiment will take, said before it starts and corrected as it goes: each
//! seed's work (epochs x rows x the network's floating-point operations per sample, plus a
//! cost per mini-batch) over this machine's speed, measured as its SGEMM throughput on the
//! run's threads (`bp_par::bench::sgemm_peak`). The constants were fitted to the committed
//! reports' per-seed times (the shortest runs are 2-3x off; MNIST-sized runs within 30%).

use super::catalogue::Experiment;
use super::runner::DataCache;
use bp_par::error::Result;

/// The share of SGEMM peak a training step reaches (47-58% measured at batch 64).
const STEP_EFFICIENCY: f64 = 0.45;
/// Seconds of per-mini-batch work beside the products (phases, the update).
const PER_BATCH_S: f64 = 40e-6;

/// The predicted seconds of one seed of each run of `e`, in run order, on a machine doing
/// `flops` floating-point operations a second.
pub fn seconds(e: &Experiment, cache: &mut DataCache, flops: f64) -> Result<Vec<f64>> {
    let mut out = Vec::new();
    for r in &e.runs {
        let t = r.at(cache.dir(), 1);
        let (n, d, k) = cache.shape(&t.data)?;
        let n = t.train_rows.map_or(n, |m| m.min(n));
        let n_test = match &t.test {
            Some(p) => cache.shape(p)?.0,
            None => 0,
        };
        let train = (n as f64 * (1.0 - t.val_split)).max(1.0);
        // Every epoch: the training rows forward and back, the held-out rows forward (a third).
        let eval = n as f64 * t.val_split + n_test as f64;
        let mut sizes = vec![d];
        sizes.extend(&t.hidden);
        sizes.push(k.max(1));
        let per_sample = bp_par::bench::flops_per_sample(&sizes) / (flops * STEP_EFFICIENCY);
        let (epochs, batches) = match &t.full_batch {
            // A line search evaluates the whole set a few times per iteration.
            Some(fb) => (fb.max_iter as f64 * 3.0, fb.max_iter as f64 * 3.0),
            None => {
                let epochs = t.config.epochs as f64;
                (epochs, epochs * (train / t.config.batch.max(1) as f64).ceil())
            }
        };
        out.push(epochs * (train + eval / 3.0) * per_sample + batches * PER_BATCH_S);
    }
    Ok(out)
}

/// `s` seconds as a person says them: `40 s`, `3 min`, `1 h 10 min`.
pub fn say(s: f64) -> String {
    match s {
        s if s < 90.0 => format!("{:.0} s", s.max(1.0)),
        s if s < 5400.0 => format!("{:.0} min", s / 60.0),
        s => format!("{} h {:.0} min", (s / 3600.0).floor(), (s % 3600.0) / 60.0),
    }
}
