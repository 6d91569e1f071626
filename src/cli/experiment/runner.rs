//! Trains an experiment: every run once per seed, each seed through the library's front door
//! exactly as `bp-par train` trains its [`TrainRun`] (the first N rows, then the stratified
//! split, then the normalisation fitted on the training rows, then the network initialised
//! from the seed), on the caller's thread count and silently. Returns the figures, and the first seed's model and
//! measured rows for the pictures.

use super::catalogue::{Experiment, Measure, Run};
use super::train_run::TrainRun;
use bp_par::Threads;
use bp_par::data::{self, Dataset, LoadOptions, Normalization};
use bp_par::error::{Error, Result};
use bp_par::fit::{Mlp, Start};
use bp_par::infer::evaluate;
use bp_par::network::Network;
use bp_par::train::{EpochMetrics, Silent};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One seed's outcome.
#[derive(Clone, Debug)]
pub struct SeedResult {
    /// The seed of the initialisation, the split and the shuffling.
    pub seed: u64,
    /// In the unit of the run's measure (percent).
    pub value: f64,
    /// Wall time of the training, evaluations after every epoch included.
    pub seconds: f64,
    /// Loss and accuracies per epoch.
    pub history: Vec<EpochMetrics>,
}

/// A run's outcome over its seeds.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// The run, as the catalogue gives it.
    pub run: Run,
    /// The run of the first seed, whose command the report prints.
    pub first: TrainRun,
    /// One entry per seed, in the experiment's order.
    pub seeds: Vec<SeedResult>,
    /// The first seed's trained network.
    pub model: Network<f32>,
    /// The first seed's normalisation (to draw inputs as they were).
    pub norm: Normalization,
    /// The first seed's measured rows: held-out or test rows, else the training rows.
    pub held_out: Dataset,
    /// Height and width of the inputs when they are images.
    pub shape: Option<[usize; 2]>,
}

impl RunResult {
    /// Mean and sample standard deviation of the seeds' values.
    pub fn mean_std(&self) -> (f64, f64) {
        let v: Vec<f64> = self.seeds.iter().map(|s| s.value).collect();
        let n = v.len().max(1) as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var =
            if v.len() > 1 { v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
        (mean, var.sqrt())
    }
}

/// Where the data sets live and which are loaded already (each file is read once).
pub struct DataCache {
    dir: PathBuf,
    loaded: BTreeMap<PathBuf, Dataset>,
}

impl DataCache {
    /// An empty cache of the data sets under `dir` (`--data-dir`).
    pub fn new(dir: &Path) -> Self {
        DataCache { dir: dir.to_path_buf(), loaded: BTreeMap::new() }
    }

    /// The folder the runs' data paths are relative to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Rows, features and outputs of the data set in `path` (read on first use).
    pub fn shape(&mut self, path: &Path) -> Result<(usize, usize, usize)> {
        let d = self.get(path)?;
        Ok((d.n_samples(), d.n_features(), d.n_outputs()))
    }

    /// The data set in `path`, read on first use. The shipped digits are built in, so an
    /// experiment on them runs from any folder; the MNIST-sized sets are not.
    fn get(&mut self, path: &Path) -> Result<&Dataset> {
        if !self.loaded.contains_key(path) {
            let d = if path.exists() {
                data::load(path, &LoadOptions::default())?
            } else if path == self.dir.join("digits.csv") {
                data::parse_csv(path, data::BUILTIN_DIGITS, &LoadOptions::default())?
            } else {
                return Err(Error::data(
                    path,
                    format!(
                        "does not exist: the experiment needs it (give the folder holding mnist/ and \
                         fashion-mnist/ with --data-dir; now {})",
                        self.dir.display()
                    ),
                ));
            };
            self.loaded.insert(path.to_path_buf(), d);
        }
        Ok(&self.loaded[path])
    }
}

/// The front door's configuration of `t` on `threads`: what `bp-par train` builds from the
/// run's flags.
fn mlp(t: &TrainRun, threads: Threads) -> Mlp {
    let mut mlp = Mlp::new()
        .hidden(&t.hidden)
        .activation(t.activation)
        .loss(t.loss)
        .normalize(t.normalize)
        .val_split(t.val_split)
        .train_config(t.config.clone())
        // The published recipes keep their rate all along (the default decays it).
        .schedule(bp_par::train::Schedule::Constant)
        .threads(threads);
    if let Some(init) = t.init {
        mlp = mlp.init(init);
    }
    if let Some(fb) = &t.full_batch {
        mlp = mlp.full_batch(fb.clone());
    }
    mlp
}

/// A trained seed, with what the pictures need.
struct Trained {
    result: SeedResult,
    model: Network<f32>,
    norm: Normalization,
    measured: Dataset,
    shape: Option<[usize; 2]>,
}

/// Trains `t` through the front door, as `bp-par train` would (the first N rows, then the
/// split, the normalisation fitted on the training rows, the network drawn from the seed),
/// and measures what `measure` asks for.
fn train_seed(t: &TrainRun, measure: Measure, cache: &mut DataCache) -> Result<Trained> {
    let full = cache.get(&t.data)?;
    let full = match t.train_rows {
        Some(n) if n < full.n_samples() => full.subset(&(0..n).collect::<Vec<_>>()),
        _ => full.clone(),
    };
    let test = match &t.test {
        Some(p) => Some(cache.get(p)?.clone()),
        None => None,
    };
    // (The runner runs inside the CLI's pool of --threads.)
    let threads = Threads::new(rayon::current_num_threads())?;
    let mut session = mlp(t, threads).prepare(full, test, Start::New)?;
    let clock = Instant::now();
    let history = session.run(&mut Silent, None, None)?.history;
    let seconds = clock.elapsed().as_secs_f64();
    let held_acc = |m: &EpochMetrics| m.test_acc.unwrap_or(0.0) * 100.0;
    let net = &session.model().net;
    let value = match measure {
        Measure::TrainAcc => evaluate(net, session.train(), None)?.accuracy().unwrap_or(0.0) * 100.0,
        Measure::HeldOutAcc => history.last().map_or(0.0, held_acc),
        Measure::PeakHeldOutAcc => history.iter().map(held_acc).fold(0.0, f64::max),
        Measure::HeldOutError => 100.0 - history.last().map_or(0.0, held_acc),
    };
    Ok(Trained {
        result: SeedResult { seed: t.config.seed, value, seconds, history },
        model: net.clone(),
        norm: session.model().norm.clone(),
        measured: session.held_out().unwrap_or(session.train()).clone(),
        shape: session.train().image_shape(),
    })
}

/// Trains every run of `e` for every seed (inside the caller's rayon pool) and calls
/// `progress(run index, run label, seed, value, seconds)` after each.
pub fn run(
    e: &Experiment,
    cache: &mut DataCache,
    mut progress: impl FnMut(usize, &str, u64, f64, f64),
) -> Result<Vec<RunResult>> {
    let mut out = Vec::new();
    for (i, r) in e.runs.iter().enumerate() {
        let mut seeds = Vec::new();
        let mut first: Option<(TrainRun, Trained)> = None;
        for &seed in &e.seeds {
            let t = r.at(cache.dir(), seed);
            let trained = train_seed(&t, r.measure, cache)?;
            progress(i, r.label, seed, trained.result.value, trained.result.seconds);
            seeds.push(trained.result.clone());
            if first.is_none() {
                first = Some((t, trained));
            }
        }
        let (first, t) = first.ok_or_else(|| Error::config("an experiment needs at least one seed"))?;
        out.push(RunResult {
            run: r.clone(),
            first,
            seeds,
            model: t.model,
            norm: t.norm,
            held_out: t.measured,
            shape: t.shape,
        });
    }
    Ok(out)
}
