//! The command line, as clap derive structs. Validation into library types happens in the
//! command modules, in one place each.

use bp_par::activation::Activation;
use bp_par::data::{Delimiter, LabelCol, Missing};
use bp_par::loss::{Loss, Output};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

pub mod schedule;
mod train;
mod units;

pub use train::{ClassWeightMode, TrainArgs};
pub use units::Units;

/// Train multilayer perceptrons by backpropagation, data-parallel across all cores, with
/// byte-identical results for any thread count.
#[derive(Parser, Debug)]
#[command(name = "bp-par", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train a network on a CSV, MNIST IDX or numpy (.npy/.npz) data set.
    Train(Box<TrainArgs>),
    /// Report a model's accuracy, loss and confusion matrix on a labelled data set.
    Eval(EvalArgs),
    /// Write a model's predicted class and class probabilities for every input row.
    Predict(PredictArgs),
    /// Measure training throughput over thread counts, batch and shard sizes.
    Bench(BenchArgs),
    /// Draw pictures (PNG): digits, first-layer weights, training curves, confusion matrix,
    /// what a model sees of a picture.
    #[command(subcommand)]
    Show(ShowCommand),
    /// Reproduce a published digit experiment and print its report (--out DIR: write it, with pictures).
    Experiment(ExperimentArgs),
    /// Check backpropagation against central differences in f64 on a small network; exits 1
    /// when the worst relative difference is above --tolerance.
    Gradcheck(GradcheckArgs),
    /// Write a model as ONNX (opset 13), for ONNX Runtime and every stack that reads ONNX.
    #[cfg(feature = "onnx")]
    Export(ExportArgs),
}

#[cfg(feature = "onnx")]
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The model file (safetensors, from `bp-par train --save`; not a checkpoint)
    pub model: PathBuf,
    /// The ONNX file to write (atomically: a failed export leaves an existing file as it was)
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: PathBuf,
    /// Print nothing but errors
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct ExperimentArgs {
    /// ex4, mnist-sgd, nielsen, lecun-300, fashion, or all
    pub name: String,
    /// A CI-sized check of the plumbing: 2 epochs, 2 seeds, a 3,000-row subset
    #[arg(long)]
    pub quick: bool,
    /// Where the data sets are (digits.csv, mnist/, fashion-mnist/)
    #[arg(long, default_value = "datasets", value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Write the report: DIR/experiments/NAME.md with its pictures, and DIR/EXPERIMENTS.md
    /// rebuilt from every section in DIR/experiments/ (`--out docs` regenerates the
    /// repository's reports) [default: the report goes to stdout only; nothing is written]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Subcommand, Debug)]
pub enum ShowCommand {
    /// 100 random samples of a data set in a 10x10 grid with their labels
    Digits {
        /// Images: CSV of square images (20x20, 28x28, ...), IDX, or .npy/.npz arrays
        data: PathBuf,
        #[command(flatten)]
        labels: LabelArgs,
        /// Mark the samples this model misclassifies (red frame, predicted class)
        #[arg(long, value_name = "MODEL")]
        predict: Option<PathBuf>,
        /// Seed of the random choice of samples
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, short = 'o', default_value = "digits.png", value_name = "PNG")]
        output: PathBuf,
    },
    /// Each first-layer hidden unit's weights as an image of the input's shape, on one colour
    /// scale symmetric around 0 (blue negative, red positive) with its legend
    Weights {
        model: PathBuf,
        /// Which units to draw: the first N, or all of them [default: 100]
        #[arg(long, value_name = "N|all")]
        units: Option<Units>,
        #[arg(long, short = 'o', default_value = "weights.png", value_name = "PNG")]
        output: PathBuf,
    },
    /// Loss and train/test accuracy per epoch from a `train --metrics` file
    Curves {
        metrics: PathBuf,
        #[arg(long, short = 'o', default_value = "curves.png", value_name = "PNG")]
        output: PathBuf,
    },
    /// What a model sees of a PNG picture (cropped, resized, centred like its training
    /// images), enlarged, with its prediction and top class probabilities
    Input {
        /// The model file (safetensors, trained on images)
        #[arg(long, short = 'm', value_name = "PATH")]
        model: PathBuf,
        /// The picture (PNG)
        image: PathBuf,
        #[arg(long, short = 'o', default_value = "input.png", value_name = "PNG")]
        output: PathBuf,
    },
    /// A model's confusion matrix on labelled data, as a heat map with counts
    Confusion {
        model: PathBuf,
        data: PathBuf,
        #[command(flatten)]
        labels: LabelArgs,
        #[command(flatten)]
        rows: RowsArgs,
        #[arg(long, short = 'o', default_value = "confusion.png", value_name = "PNG")]
        output: PathBuf,
    },
}

/// The optimiser of `train --optimizer`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OptimizerName {
    /// Momentum SGD (classical, or Nesterov's with --nesterov)
    Sgd,
    /// Adam (Kingma & Ba, with bias correction)
    Adam,
    /// Full-batch Polak-Ribière conjugate gradient with a Wolfe-Powell line search (fmincg)
    Cg,
    /// Full-batch L-BFGS with the same line search
    Lbfgs,
    /// Full-batch iRprop−, one step per epoch
    Rprop,
}

/// The optimiser of `bench --optimizer` (the mini-batch ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BenchOptimizer {
    /// Momentum SGD
    Sgd,
    /// Adam
    Adam,
}

/// What to do when training diverges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OnDivergence {
    Stop,
    HalveLr,
}

/// How to read labels (and, for CSV, fields and missing values) from a data file.
#[derive(Args, Debug, Clone)]
pub struct LabelArgs {
    /// CSV label column: first, last, a header name, or a 0-based index [default: with a
    /// model, where its training file had it; else a column named label, class, target or y,
    /// else the first when it looks like class labels (whole numbers, each class present, at
    /// most max(10, √rows) classes)]
    #[arg(long, value_name = "COL")]
    pub label_col: Option<LabelCol>,
    /// CSV field separator: auto, comma, semicolon (a comma in a number is then its decimal
    /// point: 1,5), tab, whitespace (runs of spaces and tabs) or one punctuation character
    /// [default: auto: the one that splits the first lines into equal column counts]
    #[arg(long, value_name = "SEP")]
    pub delimiter: Option<Delimiter>,
    /// CSV missing values (empty, NA, N/A, NaN, null, ?): error names the first and counts
    /// them; mean or zero fills a missing feature (train: the means of the training rows,
    /// taken after --val-split; the model's stored training means when reading for a model);
    /// drop skips the row [default: error, or the model's fill values]
    #[arg(long, value_name = "error|mean|zero|drop")]
    pub missing: Option<Missing>,
    /// CSV: the last K columns are a one-hot class label (e.g. Semeion's 10) [default: the
    /// model's, else a single label column]
    #[arg(long, value_name = "K", conflicts_with = "label_col")]
    pub one_hot: Option<usize>,
    /// Labels file for IDX images or a .npy array [default: found by name beside DATA:
    /// *-images-idx3-ubyte -> *-labels-idx1-ubyte, x.npy -> y.npy, X_train.npy -> y_train.npy]
    #[arg(long, value_name = "PATH")]
    pub labels: Option<PathBuf>,
    /// CSV: skip the first N lines, a summary or title line before the header or the rows
    /// (scikit-learn's bundled CSVs begin with one); line numbers in messages still count them
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub skip_rows: usize,
}

/// Which rows of DATA a command reads.
#[derive(Args, Debug, Clone, Copy)]
pub struct RowsArgs {
    /// For a model trained with --val-split on this same DATA: `validation` reads exactly the
    /// rows it held out, `training` the rows it trained on (refused for any other data)
    #[arg(long, value_enum, default_value_t = SplitPart::All, value_name = "ROWS")]
    pub split: SplitPart,
}

/// The rows `--split` selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SplitPart {
    /// Every row of DATA
    All,
    /// The rows the model's --val-split held out
    Validation,
    /// The rows the model trained on (DATA less the held-out rows)
    Training,
}

/// Options every command shares.
#[derive(Args, Debug, Clone)]
pub struct CommonArgs {
    /// Worker threads [default: all cores]
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,
    /// Print nothing on stderr (results still go to stdout)
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Print results as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct EvalArgs {
    /// The model file (safetensors, from `bp-par train --save`)
    #[arg(long, short = 'm', value_name = "PATH")]
    pub model: PathBuf,
    /// Labelled data: CSV (gzip allowed), IDX, .npy or .npz
    pub data: PathBuf,
    #[command(flatten)]
    pub labels: LabelArgs,
    #[command(flatten)]
    pub rows: RowsArgs,
    /// Also report the L2 term (λ/2n)·ΣW², n = number of samples in DATA
    #[arg(long, value_name = "λ")]
    pub l2: Option<f64>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct PredictArgs {
    /// The model file (safetensors, from `bp-par train --save`)
    #[arg(long, short = 'm', value_name = "PATH")]
    pub model: PathBuf,
    /// Inputs: CSV (with or without a label column), IDX, .npy or .npz; or a PNG picture, or
    /// a folder of them (every .png, by name), each cropped, resized and centred like the
    /// model's training images (the output then starts with a `file` column)
    pub data: PathBuf,
    #[command(flatten)]
    pub labels: LabelArgs,
    #[command(flatten)]
    pub rows: RowsArgs,
    /// CSV columns (header names or 0-based indices, comma-separated) written unchanged at the
    /// start of each output row, e.g. an id; they are not read as features [default: none]
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub keep_cols: Vec<String>,
    /// Write the predictions here (CSV, or JSON lines with --json) [default: stdout]
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// With pictures: also write the rows made from them (the model's raw inputs, before its
    /// normalisation) here as CSV, one per picture [default: not written]
    #[arg(long, value_name = "PATH")]
    pub save_inputs: Option<PathBuf>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct BenchArgs {
    /// Data to train on: CSV, IDX, .npy or .npz [default: synthetic data of the --layers shape]
    pub data: Option<PathBuf>,
    #[command(flatten)]
    pub labels: LabelArgs,
    /// Layer sizes of the synthetic benchmark, input first (with DATA: hidden sizes only
    /// are taken, input and output come from the data)
    #[arg(long, default_value = "784,128,10", value_delimiter = ',', value_name = "SIZES")]
    pub layers: Vec<usize>,
    /// Rows of synthetic data
    #[arg(long, default_value_t = 60_000, value_name = "N")]
    pub rows: usize,
    /// Hidden-unit activation, as train's default (figures recorded before 2026-12-06 ran
    /// sigmoid, the default then)
    #[arg(long, default_value = "relu", value_name = "sigmoid|tanh|relu")]
    pub activation: Activation,
    /// Thread counts to sweep, e.g. 1,2,4,8,16 [default: 1, 2, 4, ... up to all cores]
    #[arg(long = "threads", short = 'j', value_delimiter = ',', value_name = "LIST")]
    pub thread_list: Vec<usize>,
    /// Mini-batch sizes to sweep
    #[arg(long, default_value = "128", value_delimiter = ',', value_name = "LIST")]
    pub batch: Vec<usize>,
    /// Shard sizes to sweep (capped at the batch size)
    #[arg(long, default_value = "128", value_delimiter = ',', value_name = "LIST")]
    pub shard_size: Vec<usize>,
    /// Timed samples per repetition (60,000 = one MNIST epoch)
    #[arg(long, default_value_t = 60_000, value_name = "N")]
    pub samples: usize,
    /// Timed repetitions per configuration (the report gives median, min and max)
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub repeats: usize,
    /// Mini-batches run before timing
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub warmup: usize,
    /// The optimiser of the timed steps (Adam with its default constants)
    #[arg(long, default_value = "sgd", value_name = "sgd|adam")]
    pub optimizer: BenchOptimizer,
    /// Also run the numpy reference (benches/peers/numpy_mlp.py, built in) at each thread
    /// count and batch size, and print our speed over its
    #[arg(long, value_name = "numpy")]
    pub compare: Option<String>,
    /// The Python interpreter for --compare
    #[arg(long, default_value = "python3", value_name = "PATH")]
    pub python: PathBuf,
    /// Write the rows here: CSV, or JSON for a .json name
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Draw samples/s against threads (one line per batch and shard size) as SVG here
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Print nothing on stderr (results still go to stdout)
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Print the report as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct GradcheckArgs {
    /// Use the first --rows rows of this data (CSV, IDX, .npy or .npz; features normalised as `train
    /// --normalize auto` does, classes one-hot) [default: random inputs in U(−1, 1), targets
    /// one-hot for xent, in (−2, 2) for linear outputs and in (0.05, 0.95) for mse and bce]
    pub data: Option<PathBuf>,
    #[command(flatten)]
    pub labels: LabelArgs,
    /// Hidden layer sizes, as train takes them (input and output sizes come from DATA, or
    /// from --inputs and --outputs)
    #[arg(long, default_value = "4", value_delimiter = ',', value_name = "SIZES")]
    pub hidden: Vec<usize>,
    /// Input features of the random data [default: 5]
    #[arg(long, value_name = "N")]
    pub inputs: Option<usize>,
    /// Outputs (classes, or targets) of the random data [default: 3]
    #[arg(long, value_name = "K")]
    pub outputs: Option<usize>,
    /// Hidden-unit activation, as train's default (relu's kink can make a difference up to
    /// ~1e-4 when a pre-activation lies within 1e-5 of 0)
    #[arg(long, default_value = "relu", value_name = "sigmoid|tanh|relu")]
    pub activation: Activation,
    /// Loss: softmax + cross-entropy, sigmoid + ½Σ(y−a)², or sigmoid + binary cross-entropy
    #[arg(long, default_value = "xent", value_name = "xent|mse|bce")]
    pub loss: Loss,
    /// Output units: the loss's own (softmax for xent, sigmoid for mse and bce), or linear
    /// (mse only; random targets are then drawn in (−2, 2)) [default: the loss's own]
    #[arg(long, value_name = "softmax|sigmoid|linear")]
    pub output: Option<Output>,
    /// L2 strength λ: adds (λ/2n)·ΣW² to the loss (weights only, n = --rows)
    #[arg(long, default_value_t = 0.0, value_name = "λ")]
    pub l2: f64,
    /// Seed of the network (default initialisation, biases in U(−0.5, 0.5)) and random data
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Samples in the batch
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub rows: usize,
    /// Largest relative difference |g − ĝ| / max(1e-4, |g| + |ĝ|) accepted. Rounding in the
    /// differences alone reaches ~1e-6 where gradients are near 0 (1.0e-6 on the first 10 rows
    /// of datasets/digits.csv through 400-25-10 with bce and λ = 1); a wrong gradient shows
    /// orders of magnitude above
    #[arg(long, default_value = "1e-5", value_name = "T")]
    pub tolerance: f64,
    /// Print the result as JSON on stdout
    #[arg(long)]
    pub json: bool,
}
