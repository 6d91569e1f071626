//! Published handwritten-digit experiments, reproduced: each experiment is a list of runs
//! (one network, data set and recipe each) with the published figure it answers, trained
//! over several seeds with the real trainer; the report puts our mean ± std beside the
//! published number, with the wall time, the threads and a `bp-par train` command that
//! reruns one seed.
//!
//! The experiments know nothing of terminals; [`run`] returns the figures and the caller
//! writes the Markdown ([`markdown`]) and the pictures.

use crate::activation::Activation;
use crate::data::{self, Dataset, LoadOptions, Normalization, NormalizeMode};
use crate::error::{Error, Result};
use crate::infer::evaluate;
use crate::loss::Loss;
use crate::network::{Arch, Network};
use crate::train::{DEFAULT_SHARD, EpochMetrics, Silent, TrainConfig, Trainer};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A data set an experiment uses, by its path under the data folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// `digits.csv`: 5,000 20x20 digits.
    Digits,
    /// `mnist/`: 60,000 + 10,000 28x28 digits.
    Mnist,
    /// `fashion-mnist/`.
    Fashion,
}

/// Which rows train and which are measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Split {
    /// Train on every row of the training file; measure the training set.
    All,
    /// Hold out a stratified fraction of the training file.
    Holdout(f64),
    /// Train on the first `n` rows of the training file (all when None), test on the test file.
    TestFile(Option<usize>),
}

/// The figure a run reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    /// Accuracy on the training rows after the last epoch.
    TrainAcc,
    /// Accuracy on the held-out or test rows after the last epoch.
    HeldOutAcc,
    /// Best held-out accuracy over the epochs (as Nielsen reports).
    PeakHeldOutAcc,
    /// 1 − final held-out accuracy, in percent (as error-rate tables report).
    HeldOutError,
}

/// One trained configuration and the figure it is compared with.
#[derive(Clone, Debug)]
pub struct RunSpec {
    pub label: &'static str,
    pub source: Source,
    pub split: Split,
    pub normalize: NormalizeMode,
    pub hidden: Vec<usize>,
    pub activation: Activation,
    pub loss: Loss,
    pub l2: f32,
    pub lr: f32,
    pub momentum: f32,
    pub batch: usize,
    pub shard: usize,
    pub epochs: usize,
    pub measure: Measure,
    /// Published value (in the unit of `measure`: percent) and its source.
    pub published: Option<(f64, &'static str)>,
}

/// An experiment: its runs, the seeds, and what the report says about the setup.
#[derive(Clone, Debug)]
pub struct Experiment {
    pub name: &'static str,
    pub title: &'static str,
    /// The setup, and where it differs from the original, as Markdown.
    pub about: &'static str,
    pub runs: Vec<RunSpec>,
    pub seeds: Vec<u64>,
    /// Why a figure falls short of the published one, printed when one does.
    pub shortfall: &'static str,
}

/// The names [`get`] knows, in report order.
pub const NAMES: [&str; 5] = ["ex4", "mnist-sgd", "nielsen", "lecun-300", "fashion"];

#[allow(clippy::too_many_arguments)]
fn spec(
    label: &'static str,
    source: Source,
    split: Split,
    normalize: NormalizeMode,
    hidden: &[usize],
    (activation, loss): (Activation, Loss),
    (lr, momentum, l2): (f32, f32, f32),
    (batch, shard, epochs): (usize, usize, usize),
    measure: Measure,
    published: Option<(f64, &'static str)>,
) -> RunSpec {
    RunSpec {
        label,
        source,
        split,
        normalize,
        hidden: hidden.to_vec(),
        activation,
        loss,
        l2,
        lr,
        momentum,
        batch,
        shard,
        epochs,
        measure,
        published,
    }
}

/// The experiment `name`; `quick` shrinks data, epochs and seeds for a CI-sized check of
/// the plumbing (its figures are not comparable with the published ones).
pub fn get(name: &str, quick: bool) -> Result<Experiment> {
    use Activation::*;
    use Loss::*;
    use Measure::*;
    use NormalizeMode as N;
    let mut e = match name {
        "ex4" => Experiment {
            name: "ex4",
            title: "ex4: the classic course experiment (5,000 digits, 400-25-10 sigmoid)",
            about: "Coursera's Machine Learning exercise 4: 400-25-10, sigmoid hidden and output units, \
binary cross-entropy summed over the 10 outputs, L2 (λ/2m)·Σθ² with λ = 1 on the weights only, \
Glorot-uniform initialisation. The original minimises the full-batch cost with 50 iterations of \
conjugate gradient (fmincg) and reports the training-set accuracy (about 95.3%, ±1% from the random \
initialisation). We use mini-batch SGD with momentum instead (batch 50, η = 0.5, μ = 0.9, 50 epochs, \
i.e. 5,000 updates), which optimises the same cost further than 50 CG iterations, so our \
training accuracy is expected to be higher. The original data are OpenCV's 5,000 MNIST-derived \
digits here (the course's own copy is not redistributable); its pixels are intensities in [0, 1], \
which our `/255` reproduces; we also report per-feature z-scores (\"feature normalisation\"). \
The original never measured a held-out set: we add a stratified 80/20 split.",
            runs: vec![
                spec(
                    "training accuracy, pixels /255",
                    Source::Digits,
                    Split::All,
                    N::Scale,
                    &[25],
                    (Sigmoid, Bce),
                    (0.5, 0.9, 1.0),
                    (50, DEFAULT_SHARD, 50),
                    TrainAcc,
                    Some((95.3, "Coursera ML ex4 (Ng), ex4.pdf: \"about 95.3%\" training accuracy")),
                ),
                spec(
                    "training accuracy, z-score",
                    Source::Digits,
                    Split::All,
                    N::Zscore,
                    &[25],
                    (Sigmoid, Bce),
                    (0.5, 0.9, 1.0),
                    (50, DEFAULT_SHARD, 50),
                    TrainAcc,
                    Some((95.3, "same")),
                ),
                spec(
                    "held-out accuracy (20%), pixels /255",
                    Source::Digits,
                    Split::Holdout(0.2),
                    N::Scale,
                    &[25],
                    (Sigmoid, Bce),
                    (0.5, 0.9, 1.0),
                    (50, DEFAULT_SHARD, 50),
                    HeldOutAcc,
                    None,
                ),
                spec(
                    "held-out accuracy (20%), z-score",
                    Source::Digits,
                    Split::Holdout(0.2),
                    N::Zscore,
                    &[25],
                    (Sigmoid, Bce),
                    (0.5, 0.9, 1.0),
                    (50, DEFAULT_SHARD, 50),
                    HeldOutAcc,
                    None,
                ),
            ],
            seeds: vec![1, 2, 3, 4, 5],
            shortfall: "",
        },
        "mnist-sgd" => Experiment {
            name: "mnist-sgd",
            title: "mnist-sgd: scikit-learn's MNIST benchmark MLP (784-100-100-10 ReLU, SGD)",
            about: "scikit-learn's `benchmarks/bench_mnist.py` MultilayerPerceptron: hidden layers (100, 100), ReLU, \
softmax + cross-entropy, SGD with learning rate 0.2 and momentum 0.9, alpha = 1e-4, batch 200, inputs /255, \
trained on the 60,000 training digits and tested on the 10,000. scikit-learn adds (α/2)·ΣW² divided by the \
mini-batch size to each batch's mean loss, so its weight gradient gains (α/B)·W; ours gains (λ/n)·W with \
n = 60,000, hence λ = α·n/B = 1e-4 · 60,000 / 200 = 0.03. Differences: scikit-learn's momentum is \
Nesterov's by default and it trains up to 400 epochs until the loss stops improving; we run classical \
momentum for 30 epochs.",
            runs: vec![spec(
                "test error (%)",
                Source::Mnist,
                Split::TestFile(None),
                N::Scale,
                &[100, 100],
                (Relu, Xent),
                (0.2, 0.9, 0.03),
                // Two shards of 100 (the default 64 leaves a shard of 8 that unbalances two
                // threads running whole shards).
                (200, 100, 30),
                HeldOutError,
                Some((
                    2.87,
                    "scikit-learn benchmarks/bench_mnist.py, MultilayerPerceptron row: test error 0.0287",
                )),
            )],
            seeds: vec![1, 2, 3],
            shortfall: "",
        },
        "nielsen" => Experiment {
            name: "nielsen",
            title: "nielsen: Neural Networks and Deep Learning, chapters 1 and 3",
            about: "Michael Nielsen's book, trained on the first 50,000 MNIST training digits, mini-batch 10, \
30 epochs; we report the best epoch's accuracy on the 10,000 test digits. His chapter 1 figure is a test \
accuracy; his chapter 3 figure is measured on his validation set (the other 10,000 training digits), so \
that row compares two different held-out sets of the same size. Chapter 1: 784-30-10, sigmoid everywhere, quadratic cost \
½Σ(y−a)², η = 3.0, no momentum. Chapter 3: 784-100-10, sigmoid units, cross-entropy cost on the sigmoid \
outputs (our `bce`), L2 with λ = 5.0 over n = 50,000, η = 0.5. Nielsen initialises weights from \
N(0, 1/n_in) in chapter 3 and N(0, 1) in chapter 1; we use Glorot-uniform.",
            runs: vec![
                spec(
                    "ch. 1: 784-30-10 quadratic cost, peak test accuracy",
                    Source::Mnist,
                    Split::TestFile(Some(50_000)),
                    N::Scale,
                    &[30],
                    (Sigmoid, Mse),
                    (3.0, 0.0, 0.0),
                    (10, DEFAULT_SHARD, 30),
                    PeakHeldOutAcc,
                    Some((95.42, "Nielsen, NNDL ch. 1: \"95.42 percent\" at its best epoch")),
                ),
                spec(
                    "ch. 3: 784-100-10 cross-entropy + L2, peak test accuracy",
                    Source::Mnist,
                    Split::TestFile(Some(50_000)),
                    N::Scale,
                    &[100],
                    (Sigmoid, Bce),
                    (0.5, 0.0, 5.0),
                    (10, DEFAULT_SHARD, 30),
                    PeakHeldOutAcc,
                    Some((
                        97.92,
                        "Nielsen, NNDL ch. 3, 100 hidden neurons, λ = 5.0, on his validation set (training digits 50,001-60,000); ours is the test set",
                    )),
                ),
            ],
            seeds: vec![1, 2],
            shortfall: "the chapter 3 network lands 0.1-0.2 points under Nielsen's figure. His recipe \
initialises weights from N(0, 1/n_in) where we use Glorot-uniform, and reports one run of his own code; \
the gap is a few test digits out of 10,000 and we did not tune to close it.",
        },
        "lecun-300" => Experiment {
            name: "lecun-300",
            title: "lecun-300: one-hidden-layer networks of LeCun's MNIST table",
            about: "LeCun et al.'s MNIST table lists a 2-layer network of 300 hidden units trained with the mean \
squared error at 4.7% test error (LeCun et al. 1998), and Simard et al. (2003) report 1.6% for 800 hidden \
units with cross-entropy (without distortions). We train plain mini-batch SGD + momentum on the 60,000 \
training digits, inputs /255, for 20 epochs: 784-300-10 sigmoid with ½Σ(y−a)² on sigmoid outputs \
(η = 0.5, μ = 0.5, batch 32), and 784-800-10 ReLU with softmax cross-entropy (η = 0.05, μ = 0.9, batch 64). \
The MSE network's momentum was chosen on a 10% validation split of the training set, never on the test \
set: after 3 epochs μ = 0.9 left it at 22% validation accuracy (saturated sigmoid outputs), μ = 0.5 at 92% \
(`bp-par train datasets/mnist/train-images-idx3-ubyte.gz --val-split 0.1 --hidden 300 --activation sigmoid \
--loss mse --batch 32 --epochs 3 --lr 0.5 --momentum 0.5`).",
            runs: vec![
                spec(
                    "784-300-10, MSE: test error (%)",
                    Source::Mnist,
                    Split::TestFile(None),
                    N::Scale,
                    &[300],
                    (Sigmoid, Mse),
                    (0.5, 0.5, 0.0),
                    (32, DEFAULT_SHARD, 20),
                    HeldOutError,
                    Some((4.7, "LeCun et al. 1998, MNIST table: 2-layer NN, 300 HU, MSE")),
                ),
                spec(
                    "784-800-10, cross-entropy: test error (%)",
                    Source::Mnist,
                    Split::TestFile(None),
                    N::Scale,
                    &[800],
                    (Relu, Xent),
                    (0.05, 0.9, 0.0),
                    (64, DEFAULT_SHARD, 20),
                    HeldOutError,
                    Some((1.6, "Simard et al. 2003, 2-layer MLP, 800 HU, cross-entropy")),
                ),
            ],
            seeds: vec![1, 2],
            shortfall: "plain SGD on the MSE network is slow to leave its saturated start (see the setup \
notes); LeCun's 4.7% came from stochastic diagonal Levenberg-Marquardt steps, not plain SGD.",
        },
        "fashion" => Experiment {
            name: "fashion",
            title: "fashion: Fashion-MNIST, MLP [100] ReLU",
            about: "Xiao et al. (2017) benchmark scikit-learn's MLPClassifier on Fashion-MNIST; hidden layer (100,), \
ReLU, standardised inputs, reaches 0.871 test accuracy (Adam, scikit-learn's defaults). We train SGD + \
momentum (η = 0.01, μ = 0.9, batch 64, 30 epochs) with per-feature z-scores fitted on the training set, \
on the 60,000 training images, tested on the 10,000. η was chosen on a 10% validation split of the \
training set (15 epochs: 86.2% at η = 0.05, 88.1% at 0.01, 88.1% at 0.02), never on the test set.",
            runs: vec![spec(
                "test accuracy (%)",
                Source::Fashion,
                Split::TestFile(None),
                N::Zscore,
                &[100],
                (Relu, Xent),
                (0.01, 0.9, 0.0),
                (64, DEFAULT_SHARD, 30),
                HeldOutAcc,
                Some((87.1, "Xiao et al. 2017 (arXiv:1708.07747), Table 3: MLPClassifier relu [100]")),
            )],
            seeds: vec![1, 2, 3],
            shortfall: "the published figure comes from scikit-learn's Adam optimiser with its defaults \
(up to 200 epochs, L2 α = 1e-4, early stopping on the training loss); plain SGD + momentum with one \
learning rate chosen on a validation split, 30 epochs and no L2 lands below it. We did not search \
further, and never on the test set.",
        },
        other => {
            return Err(Error::config(format!(
                "unknown experiment {other:?}; expected one of {} or all",
                NAMES.join(", ")
            )));
        }
    };
    if quick {
        e.seeds.truncate(2);
        for r in &mut e.runs {
            r.epochs = r.epochs.min(2);
            if let Split::TestFile(_) = r.split {
                r.split = Split::TestFile(Some(3_000));
            }
        }
    }
    Ok(e)
}

/// One seed's outcome.
#[derive(Clone, Debug)]
pub struct SeedResult {
    pub seed: u64,
    /// In the unit of the run's measure (percent).
    pub value: f64,
    pub seconds: f64,
    pub history: Vec<EpochMetrics>,
}

/// A run's outcome over its seeds.
#[derive(Clone, Debug)]
pub struct RunResult {
    pub spec: RunSpec,
    pub seeds: Vec<SeedResult>,
    /// The first seed's model, training and held-out sets, for the pictures.
    pub model: Network<f32>,
    pub norm: Normalization,
    pub held_out: Option<Dataset>,
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

/// Where the data sets live and which are loaded already.
pub struct DataCache {
    dir: PathBuf,
    loaded: BTreeMap<(Source, bool), Dataset>,
}

impl DataCache {
    pub fn new(dir: &Path) -> Self {
        DataCache { dir: dir.to_path_buf(), loaded: BTreeMap::new() }
    }

    /// Path of the training (or test) file of `s`.
    pub fn path(&self, s: Source, test: bool) -> PathBuf {
        let (folder, prefix) = match s {
            Source::Digits => return self.dir.join("digits.csv"),
            Source::Mnist => ("mnist", if test { "t10k" } else { "train" }),
            Source::Fashion => ("fashion-mnist", if test { "t10k" } else { "train" }),
        };
        self.dir.join(folder).join(format!("{prefix}-images-idx3-ubyte.gz"))
    }

    /// Loads a data set once; [`DataCache::loaded`] then borrows it.
    fn load(&mut self, s: Source, test: bool) -> Result<()> {
        if !self.loaded.contains_key(&(s, test)) {
            let path = self.path(s, test);
            let d = match (s, path.exists()) {
                (_, true) => data::load(&path, &LoadOptions::default())?,
                // The digits are built in; the MNIST-sized sets are not.
                (Source::Digits, false) => {
                    data::parse_csv(&path, data::BUILTIN_DIGITS, &LoadOptions::default())?
                }
                (_, false) => {
                    return Err(Error::data(
                        &path,
                        format!(
                            "does not exist: the experiment needs it (give the folder holding mnist/ and \
                             fashion-mnist/ with --data-dir; now {})",
                            self.dir.display()
                        ),
                    ));
                }
            };
            self.loaded.insert((s, test), d);
        }
        Ok(())
    }

    fn loaded(&self, s: Source, test: bool) -> Option<&Dataset> {
        self.loaded.get(&(s, test))
    }
}

/// The `bp-par train` command that reruns one seed of `r`.
pub fn command(r: &RunSpec, cache: &DataCache, seed: u64) -> String {
    let hidden: Vec<String> = r.hidden.iter().map(ToString::to_string).collect();
    let norm = match r.normalize {
        NormalizeMode::Auto => "auto",
        NormalizeMode::None => "none",
        NormalizeMode::Scale => "scale",
        NormalizeMode::Zscore => "zscore",
    };
    let mut c = format!("bp-par train {}", cache.path(r.source, false).display());
    match r.split {
        Split::All => c += " --val-split 0",
        Split::Holdout(f) => c += &format!(" --val-split {f}"),
        Split::TestFile(rows) => {
            c += &format!(" --test {}", cache.path(r.source, true).display());
            if let Some(n) = rows {
                c += &format!(" --train-rows {n}");
            }
        }
    }
    c += &format!(
        " --hidden {} --activation {} --loss {} --l2 {} --lr {} --momentum {} --batch {}{} --epochs {} --normalize {norm} --seed {seed}",
        hidden.join(","),
        r.activation,
        r.loss,
        r.l2,
        r.lr,
        r.momentum,
        r.batch,
        if r.shard == DEFAULT_SHARD { String::new() } else { format!(" --shard-size {}", r.shard) },
        r.epochs
    );
    c
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
        let with_test = matches!(r.split, Split::TestFile(_));
        cache.load(r.source, false)?;
        if with_test {
            cache.load(r.source, true)?;
        }
        let full = cache.loaded(r.source, false).ok_or_else(|| Error::other("data set not loaded"))?;
        let test_file = cache.loaded(r.source, true).filter(|_| with_test);
        let mut seeds = Vec::new();
        let mut first: Option<(Network<f32>, Normalization, Option<Dataset>)> = None;
        for &seed in &e.seeds {
            let (mut train, mut held) = match r.split {
                Split::All => (full.clone(), None),
                Split::Holdout(f) => {
                    let (t, h) = full.split(f, seed)?;
                    (t, Some(h))
                }
                Split::TestFile(rows) => {
                    let n = rows.unwrap_or(full.n_samples()).min(full.n_samples());
                    let t = full.subset(&(0..n).collect::<Vec<_>>());
                    let test = test_file.cloned().ok_or_else(|| Error::other("no test file"))?;
                    (t, Some(test))
                }
            };
            let norm = Normalization::fit(r.normalize, &train.features, train.n_features);
            norm.apply(&mut train.features, train.n_features);
            if let Some(h) = held.as_mut() {
                norm.apply(&mut h.features, h.n_features);
            }
            let mut sizes = vec![train.n_features];
            sizes.extend(&r.hidden);
            sizes.push(train.n_outputs());
            let arch = Arch::new(sizes, r.activation, r.loss).map_err(Error::config)?;
            let mut net = Network::<f32>::init(arch, seed);
            let cfg = TrainConfig {
                epochs: r.epochs,
                batch: r.batch,
                shard: r.shard,
                lr: r.lr,
                momentum: r.momentum,
                l2: r.l2,
                seed,
                shuffle: true,
            };
            let t = Instant::now();
            let history = Trainer::new(&mut net, &train, cfg)?.run(&train, held.as_ref(), &mut Silent)?;
            let seconds = t.elapsed().as_secs_f64();
            let held_acc = |m: &EpochMetrics| m.test_acc.unwrap_or(0.0) * 100.0;
            let value = match r.measure {
                Measure::TrainAcc => evaluate(&net, &train, None).accuracy().unwrap_or(0.0) * 100.0,
                Measure::HeldOutAcc => history.last().map_or(0.0, held_acc),
                Measure::PeakHeldOutAcc => history.iter().map(held_acc).fold(0.0, f64::max),
                Measure::HeldOutError => 100.0 - history.last().map_or(0.0, held_acc),
            };
            progress(r.label, seed, value);
            seeds.push(SeedResult { seed, value, seconds, history });
            if first.is_none() {
                let shown = held.unwrap_or(train);
                first = Some((net, norm, Some(shown)));
            }
        }
        let (model, norm, held_out) =
            first.ok_or_else(|| Error::config("an experiment needs at least one seed"))?;
        out.push(RunResult { spec: r.clone(), seeds, model, norm, held_out, shape: full.image_shape });
    }
    Ok(out)
}

/// The report section of one experiment, as Markdown. `pictures` are (caption, file name)
/// relative to the report; `notes` says where and why we differ from the published figures.
pub fn markdown(
    e: &Experiment,
    results: &[RunResult],
    cache: &DataCache,
    threads: usize,
    machine: &str,
    pictures: &[(String, String)],
    quick: bool,
) -> String {
    let mut s = format!("## {}\n\n", e.title);
    if quick {
        s += "**Quick mode (CI plumbing check): at most 2 epochs and 2 seeds, MNIST-sized training sets cut to their first 3,000 rows; not comparable with the published figures.**\n\n";
    }
    s += e.about;
    s += "\n\n";
    let _ = writeln!(
        s,
        "Regenerate: `bp-par experiment {}{}` ({} seeds: {}; {threads} threads; {machine}).\n",
        e.name,
        if quick { " --quick" } else { "" },
        e.seeds.len(),
        e.seeds.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    );
    s += "| run | published | source | ours (mean ± std) | difference | wall time per seed | command (seed 1) |\n";
    s += "|---|---|---|---|---|---|---|\n";
    for r in results {
        let (mean, std) = r.mean_std();
        let secs: f64 = r.seeds.iter().map(|x| x.seconds).sum::<f64>() / r.seeds.len().max(1) as f64;
        let (published, source, diff) = match r.spec.published {
            Some((p, src)) => {
                let d = mean - p;
                let better = if r.spec.measure == Measure::HeldOutError { d < 0.0 } else { d > 0.0 };
                let word = if d.abs() <= std.max(0.05) {
                    "within the seed spread"
                } else if better {
                    "better"
                } else {
                    "worse"
                };
                (format!("{p:.2}%"), src.to_string(), format!("{d:+.2} points ({word})"))
            }
            None => ("—".into(), "not published".into(), "—".into()),
        };
        let _ = writeln!(
            s,
            "| {} | {published} | {source} | **{mean:.2}% ± {std:.2}** (n = {}) | {diff} | {secs:.1} s | `{}` |",
            r.spec.label,
            r.seeds.len(),
            command(&r.spec, cache, e.seeds[0])
        );
    }
    s += "\n";
    let worse = results.iter().any(|r| {
        let (mean, std) = r.mean_std();
        r.spec.published.is_some_and(|(p, _)| {
            let d = mean - p;
            d.abs() > std.max(0.05) && ((r.spec.measure == Measure::HeldOutError) == (d > 0.0))
        })
    });
    if worse && !quick {
        let _ = writeln!(
            s,
            "**Where we fall short:** {}\n",
            if e.shortfall.is_empty() {
                "see the setup notes above for the differences from the original recipe."
            } else {
                e.shortfall
            }
        );
    }
    for (caption, file) in pictures {
        let _ = writeln!(s, "![{caption}]({file})\n");
    }
    s
}
