//! `bp-par train`'s flags, as a clap derive struct; `cli::train::plan` checks them into one
//! plan before any data is read.

use super::{CommonArgs, LabelArgs, OnDivergence, OptimizerName};
use bp_par::activation::Activation;
use bp_par::data::NormalizeMode;
use bp_par::loss::{Loss, Output};
use bp_par::network::Init;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct TrainArgs {
    /// Training data: CSV, an MNIST IDX images file (raw or .gz), or numpy .npy / .npz
    /// [default: the shipped 5,000 20x20 digits, datasets/digits.csv]
    pub data: Option<PathBuf>,
    #[command(flatten)]
    pub labels: LabelArgs,
    /// Number of classes [default: largest label + 1]
    #[arg(long, value_name = "K")]
    pub classes: Option<usize>,
    /// Regression / soft targets: the last K CSV columns are real-valued targets
    #[arg(long, value_name = "K", conflicts_with_all = ["classes", "label_col", "one_hot"])]
    pub targets: Option<usize>,
    /// CSV columns that are not features (header names or 0-based indices, comma-separated,
    /// e.g. an id): left out of training, remembered by the model, so eval leaves them out
    /// and predict writes them beside each prediction [default: none]
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub keep_cols: Vec<String>,
    /// Train on the first N rows of DATA only (before any --val-split), as Nielsen's
    /// experiments use the first 50,000 MNIST digits
    #[arg(long, value_name = "N")]
    pub train_rows: Option<usize>,
    /// Held-out data evaluated after every epoch (same format options as DATA); with a
    /// --val-split, the split is what the run watches and this file is only reported
    #[arg(long, value_name = "PATH")]
    pub test: Option<PathBuf>,
    /// IDX labels file for --test [default: found by name]
    #[arg(long, value_name = "PATH", requires = "test")]
    pub test_labels: Option<PathBuf>,
    /// Hold out this stratified, shuffled fraction of DATA for validation
    /// [default: 0.2 without --test, else 0]
    #[arg(long, value_name = "F")]
    pub val_split: Option<f64>,
    /// The features are a picture of H rows and W columns (H·W must be the feature count),
    /// stored in the model for `show weights` [default: IDX images and 3-D numpy arrays keep
    /// their shape; CSV and 2-D arrays of at least 64 features that are a perfect square are
    /// square pictures; other data have no shape]
    #[arg(long, value_name = "HxW", value_parser = parse_image_shape)]
    pub image_shape: Option<[usize; 2]>,
    /// Feature normalisation, fitted on the training set and stored in the model
    /// [default: auto, or the --init model's]
    #[arg(long, value_name = "auto|none|scale|zscore")]
    pub normalize: Option<NormalizeMode>,

    /// Hidden layer sizes, e.g. 25 or 128,64 (input and output sizes come from the data)
    /// [default: 128]
    #[arg(long, value_delimiter = ',', value_name = "SIZES")]
    pub hidden: Option<Vec<usize>>,
    /// Hidden-unit activation [default: relu]
    #[arg(long, value_name = "sigmoid|tanh|relu")]
    pub activation: Option<Activation>,
    /// Loss: softmax + cross-entropy, sigmoid + ½Σ(y−a)², or sigmoid + binary cross-entropy
    /// [default: xent]
    #[arg(long, value_name = "xent|mse|bce")]
    pub loss: Option<Loss>,
    /// Output units: the loss's own (softmax for xent, sigmoid for mse and bce), or linear
    /// (the identity) for regression on real-valued targets outside (0, 1); linear needs
    /// --loss mse and --targets [default: the loss's own]
    #[arg(long, value_name = "softmax|sigmoid|linear")]
    pub output: Option<Output>,
    /// L2 strength λ: adds (λ/2n)·ΣW² to the loss (weights only, n = training-set size)
    #[arg(long, default_value_t = 0.0, value_name = "λ")]
    pub l2: f32,
    /// Learning rate η [default: chosen from the data for sgd, 0.2·√(50/B) for B mini-batches an
    /// epoch, at most 0.2 (the shipped digits: 0.2; MNIST: 0.052), decayed along a cosine;
    /// 0.001 with --optimizer adam (scikit-learn's and Keras' Adam default)]
    #[arg(long, value_name = "η")]
    pub lr: Option<f32>,
    /// Momentum μ (sgd)
    #[arg(long, default_value_t = 0.9, value_name = "μ")]
    pub momentum: f32,
    /// Optimiser: mini-batch sgd (momentum; --nesterov) or adam (--beta1, --beta2, --eps,
    /// --decoupled-decay), or full-batch over the whole training set, its gradient computed
    /// data-parallel: cg (Polak-Ribière conjugate gradient with a Wolfe-Powell line search, as
    /// fmincg; --max-iter line searches), lbfgs (--max-iter, --lbfgs-memory), rprop (iRprop−,
    /// η+ 1.2, η− 0.5, Δ0 0.1, Δmax 50, Δmin 1e-6; one step per epoch). Full-batch methods take
    /// no --lr, --momentum, --batch, --shard-size, --no-shuffle, --on-divergence, nor the
    /// mini-batch optimisers' flags; --checkpoint and --resume continue them bit for bit
    #[arg(long, default_value = "sgd", value_name = "sgd|adam|cg|lbfgs|rprop")]
    pub optimizer: OptimizerName,
    /// Nesterov's momentum instead of the classical one (sgd):
    /// v ← μv − η·g ; w ← w + μv − η·g
    #[arg(long)]
    pub nesterov: bool,
    /// Adam's first-moment decay rate β1, in [0, 1)
    #[arg(long, default_value_t = 0.9, value_name = "β1")]
    pub beta1: f32,
    /// Adam's second-moment decay rate β2, in [0, 1)
    #[arg(long, default_value_t = 0.999, value_name = "β2")]
    pub beta2: f32,
    /// Adam's ε, added to the denominator
    #[arg(long, default_value = "1e-8", value_name = "ε")]
    pub eps: f32,
    /// AdamW: apply the L2 decay to the weights on its own (w ← w − η·(λ/n)·w) instead of
    /// adding it to the gradient
    #[arg(long)]
    pub decoupled_decay: bool,
    /// Clip the mean gradient to this L2 norm over all parameters (scaled by C/norm when
    /// above C; the L2 term is not clipped) [default: no clipping]
    #[arg(long, value_name = "C")]
    pub clip_norm: Option<f32>,
    /// Weigh each training sample's loss and gradient by its class: balanced is
    /// scikit-learn's n / (k·n_c) from the training labels (n rows, k classes with rows, n_c
    /// rows of class c; a class without training rows weighs 0), for every optimiser. The
    /// training loss shown per epoch and in --metrics is then the weighted one; held-out and
    /// `bp-par eval` losses are not weighted. Classification only
    #[arg(long, default_value = "none", value_name = "none|balanced")]
    pub class_weight: ClassWeightMode,
    /// Mini-batch size
    #[arg(long, default_value_t = 64, value_name = "B")]
    pub batch: usize,
    /// Iterations (line searches) of --optimizer cg and lbfgs; they stop earlier when two line
    /// searches in a row fail
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub max_iter: usize,
    /// Step pairs --optimizer lbfgs keeps (its history m)
    #[arg(long, default_value_t = 10, value_name = "M")]
    pub lbfgs_memory: usize,
    /// Epochs
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub epochs: usize,
    /// Seed of the initialisation, the validation split and the shuffling
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Rows per shard, the unit of sample splitting (each shard's gradient is summed over its
    /// rows, the shards' in a fixed tree); results depend on it in the last bits, never on
    /// --threads. The training team has --threads threads, up to one per core; with fewer
    /// shards than the team has threads each shard's layers are split over all of them, with
    /// at least as many the threads run whole shards side by side
    #[arg(long, default_value_t = bp_par::train::DEFAULT_SHARD, value_name = "S")]
    pub shard_size: usize,
    /// Initial weights: glorot-uniform, he-uniform, glorot-normal, he-normal (He's scale on
    /// hidden layers, Glorot's on the output), normal:SIGMA (N(0, σ²)), normal-fan-in
    /// (N(0, 1/n_in), biases N(0, 1): Nielsen ch. 3) or uniform:R (U(−R, R)); biases 0 but
    /// for normal-fan-in [default: he-uniform for relu, glorot-uniform for sigmoid and tanh]
    #[arg(long, value_name = "SCHEME", conflicts_with_all = ["init", "resume"])]
    pub init_weights: Option<Init>,
    /// Start from this model's weights (its architecture and normalisation are kept)
    #[arg(long, value_name = "MODEL")]
    pub init: Option<PathBuf>,
    /// Keep the file order instead of reshuffling every epoch
    #[arg(long)]
    pub no_shuffle: bool,

    /// Write a checkpoint (weights, velocities, position, RNG state, configuration; a
    /// full-batch method's state) here every --checkpoint-every epochs (full-batch: iterations),
    /// at the end, and when interrupted
    #[arg(long, value_name = "PATH")]
    pub checkpoint: Option<PathBuf>,
    /// Epochs (full-batch optimisers: iterations) between checkpoints
    #[arg(long, default_value_t = 1, value_name = "N", requires = "checkpoint")]
    pub checkpoint_every: usize,
    /// Continue the run saved in this checkpoint; the result is bit-identical to an
    /// uninterrupted run. --epochs (cg, lbfgs: --max-iter) may extend it; other options must
    /// match or be left out
    #[arg(long, value_name = "PATH", conflicts_with = "init")]
    pub resume: Option<PathBuf>,
    /// On a non-finite loss: stop, or roll back to the last epoch's state and retry it with
    /// half the learning rate (up to 10 times)
    #[arg(long, default_value = "stop", value_name = "stop|halve-lr")]
    pub on_divergence: OnDivergence,
    /// The options given on the command line (filled in by main, for --resume checks).
    #[arg(skip)]
    pub explicit: Vec<String>,
    #[command(flatten)]
    pub sched: Box<super::schedule::ScheduleArgs>,

    /// Save the trained model (safetensors) here
    #[arg(long, short = 'o', value_name = "PATH")]
    pub save: Option<PathBuf>,
    /// Write per-epoch metrics here: CSV, or JSON lines for a .json/.jsonl name
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Parses `--image-shape HxW` (e.g. 28x28): two positive whole numbers.
fn parse_image_shape(s: &str) -> Result<[usize; 2], String> {
    let bad = || format!("expected HxW, two positive whole numbers such as 28x28, got {s:?}");
    let (h, w) = s.split_once(['x', 'X']).ok_or_else(bad)?;
    match (h.trim().parse::<usize>(), w.trim().parse::<usize>()) {
        (Ok(h), Ok(w)) if h > 0 && w > 0 => Ok([h, w]),
        _ => Err(bad()),
    }
}

/// How `train --class-weight` weighs the classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ClassWeightMode {
    /// Every sample weighs 1
    None,
    /// n / (k·n_c) from the training labels (scikit-learn's "balanced")
    Balanced,
}
