//! Trains an experiment: every run once per seed, each seed as `bp-par train` would train
//! its [`TrainRun`] (the first N rows, then the stratified split, then the normalisation
//! fitted on the training rows, then the network initialised from the seed), inside the
//! caller's rayon pool and silently. Returns the figures, and the first seed's model and
//! measured rows for the pictures.

use super::catalogue::{Experiment, Measure, Run};
use super::train_run::TrainRun;
use bp_par::data::{self, Dataset, LoadOptions, Normalization};
use bp_par::error::{Error, Result};
use bp_par::infer::evaluate;
use bp_par::network::{Arch, Init, Network};
use bp_par::train::{EpochMetrics, Silent, Trainer, train_full_batch_from};
use std::borrow::Cow;
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

/// The training rows and the measured rows (test file, else the held-out split) of `t`,
/// both normalised by the normalisation fitted on the training rows.
fn prepare(t: &TrainRun, cache: &mut DataCache) -> Result<(Dataset, Option<Dataset>, Normalization)> {
    let full = cache.get(&t.data)?;
    let full = match t.train_rows {
        Some(n) if n < full.n_samples() => Cow::Owned(full.subset(&(0..n).collect::<Vec<_>>())),
        _ => Cow::Borrowed(full),
    };
    let (mut train, split) = if t.val_split > 0.0 {
        let (train, held) = full.split(t.val_split, t.config.seed)?;
        (train, Some(held))
    } else {
        (full.into_owned(), None)
    };
    let mut held = match &t.test {
        Some(p) => Some(cache.get(p)?.clone()),
        None => split,
    };
    let norm = Normalization::fit(t.normalize, train.features(), train.n_features());
    train.normalize(&norm)?;
    if let Some(h) = held.as_mut() {
        h.normalize(&norm)?;
    }
    Ok((train, held, norm))
}

/// A trained seed, with what the pictures need.
struct Trained {
    result: SeedResult,
    model: Network<f32>,
    norm: Normalization,
    measured: Dataset,
    shape: Option<[usize; 2]>,
}

/// Trains `t` and measures what `measure` asks for.
fn train_seed(t: &TrainRun, measure: Measure, cache: &mut DataCache) -> Result<Trained> {
    let (train, held, norm) = prepare(t, cache)?;
    let mut sizes = vec![train.n_features()];
    sizes.extend(&t.hidden);
    sizes.push(train.n_outputs());
    let arch = Arch::new(sizes, t.activation, t.loss)?;
    let init = t.init.unwrap_or(Init::default_for(t.activation));
    let mut net = Network::<f32>::init_with(arch, init, t.config.seed);
    // (The runner runs inside the CLI's pool of --threads.)
    let threads = bp_par::Threads::new(rayon::current_num_threads())?;
    let clock = Instant::now();
    let history = match &t.full_batch {
        Some(fb) => {
            train_full_batch_from(&mut net, &train, held.as_ref(), fb, None, None, &mut Silent, threads)?
                .history
        }
        None => Trainer::with_threads(&mut net, &train, t.config.clone(), threads)?.run(
            &train,
            held.as_ref(),
            &mut Silent,
        )?,
    };
    let seconds = clock.elapsed().as_secs_f64();
    let held_acc = |m: &EpochMetrics| m.test_acc.unwrap_or(0.0) * 100.0;
    let value = match measure {
        Measure::TrainAcc => evaluate(&net, &train, None)?.accuracy().unwrap_or(0.0) * 100.0,
        Measure::HeldOutAcc => history.last().map_or(0.0, held_acc),
        Measure::PeakHeldOutAcc => history.iter().map(held_acc).fold(0.0, f64::max),
        Measure::HeldOutError => 100.0 - history.last().map_or(0.0, held_acc),
    };
    let shape = train.image_shape();
    Ok(Trained {
        result: SeedResult { seed: t.config.seed, value, seconds, history },
        model: net,
        norm,
        measured: held.unwrap_or(train),
        shape,
    })
}

/// Trains every run of `e` for every seed (inside the caller's rayon pool) and calls
/// `progress(run label, seed, value)` after each.
pub fn run(
    e: &Experiment,
    cache: &mut DataCache,
    mut progress: impl FnMut(&str, u64, f64),
) -> Result<Vec<RunResult>> {
    let mut out = Vec::new();
    for r in &e.runs {
        let mut seeds = Vec::new();
        let mut first: Option<(TrainRun, Trained)> = None;
        for &seed in &e.seeds {
            let t = r.at(cache.dir(), seed);
            let trained = train_seed(&t, r.measure, cache)?;
            progress(r.label, seed, trained.result.value);
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
