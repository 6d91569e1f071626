//! [`Mlp`]: every training choice the command line offers, set by name, checked as a whole
//! before any data is touched ([`Mlp::validate`], which every fit calls first).

use crate::activation::Activation;
use crate::data::{Missing, NormalizeMode};
use crate::error::{Error, Result};
use crate::loss::{Loss, Output};
use crate::network::Init;
use crate::optim::Optimizer;
use crate::threads::Threads;
use crate::train::{FullBatchConfig, OnDivergence, RunPolicy, Schedule, StopRules, TrainConfig};

/// How much each class's samples weigh in the loss.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum ClassWeight {
    /// Every sample weighs 1.
    #[default]
    None,
    /// scikit-learn's "balanced": n / (k · n_c) for class c, from the training rows
    /// ([`crate::train::balanced_class_weights`]).
    Balanced,
    /// One weight per class, in label order.
    Given(Vec<f32>),
}

/// A multilayer perceptron to fit: the network, the data preparation, the optimiser and its
/// schedule and stopping rules, and the threads. Settings are chained; every one has the
/// command line's default, and nothing is checked until [`Mlp::validate`] (which
/// [`Mlp::fit`] and [`Mlp::prepare`] call first): a fit never starts with an impossible
/// setting, and the error names the setting in backticks.
///
/// The defaults: one hidden layer of 128 ReLU units (He initialisation), softmax outputs with
/// cross-entropy, `normalize` auto, a stratified 20% validation split, momentum SGD (momentum
/// 0.9) over 20 epochs of mini-batches of 64, its rate chosen from the data and decayed along
/// a cosine ([`data_rate`]: chosen by measurement on four real data sets, docs/EXPERIMENTS.md
/// "defaults"), seed 1, every core. Adam's default rate is 0.001, constant.
///
/// ```
/// use bp_par::{fit::Mlp, activation::Activation, Threads};
/// let mlp = Mlp::new().hidden(&[64, 32]).activation(Activation::Tanh).lr(0.05).threads(Threads::ONE);
/// assert!(mlp.validate().is_ok());
/// assert!(Mlp::new().lr(f32::NAN).validate().is_err());
/// assert!(Mlp::new().hidden(&[0]).validate().is_err());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Mlp {
    pub(crate) hidden: Vec<usize>,
    pub(crate) activation: Activation,
    pub(crate) loss: Loss,
    pub(crate) output: Option<Output>,
    pub(crate) init: Option<Init>,
    pub(crate) normalize: NormalizeMode,
    pub(crate) missing: Missing,
    pub(crate) val_split: f64,
    pub(crate) class_weight: ClassWeight,
    pub(crate) cfg: TrainConfig,
    pub(crate) full_batch: Option<FullBatchConfig>,
    pub(crate) policy: RunPolicy,
    pub(crate) threads: Threads,
    /// MPI ranks of the run and how many share this machine (the memory check counts them).
    pub(crate) ranks: (usize, usize),
    /// The rate is chosen when the training rows are known (no `lr` given): [`data_rate`]
    /// for SGD, 0.001 for Adam.
    pub(crate) auto_lr: bool,
    /// The schedule is the default (no `schedule` given): cosine for SGD runs of at least
    /// [`COSINE_FROM_EPOCHS`] epochs, else constant.
    pub(crate) auto_schedule: bool,
    /// scikit-learn's L2 penalty per mini-batch ([`Mlp::alpha`]), turned into `l2` when the
    /// training rows are known.
    pub(crate) alpha: Option<f32>,
}

/// The shortest run the default schedule decays (a cosine): in a shorter one the last epochs
/// would run on the momentum's drift alone (its rate near 0), which cost the shipped digits
/// 30 points at 2 epochs; such runs keep their rate.
pub const COSINE_FROM_EPOCHS: usize = 5;

/// The default SGD rate for `batches` mini-batches an epoch: 0.2 · √(50 / batches), at most
/// 0.2, to two significant digits. A small set (the shipped digits: 50 batches of 64 an epoch)
/// takes large steps, a large one (MNIST: 750) smaller ones (0.052), as measured
/// (docs/EXPERIMENTS.md, "defaults").
///
/// ```
/// use bp_par::fit::data_rate;
/// assert_eq!((data_rate(50), data_rate(750), data_rate(3)), (0.2, 0.052, 0.2));
/// ```
pub fn data_rate(batches: usize) -> f32 {
    let rate = (0.2 * (50.0 / batches.max(1) as f64).sqrt()).min(0.2);
    let unit = 10f64.powf(rate.log10().floor() - 1.0);
    ((rate / unit).round() * unit) as f32
}

impl Default for Mlp {
    fn default() -> Self {
        Mlp::new()
    }
}

impl Mlp {
    /// The defaults (see the type's documentation).
    pub fn new() -> Mlp {
        Mlp {
            hidden: vec![128],
            activation: Activation::Relu,
            loss: Loss::Xent,
            output: None,
            init: None,
            normalize: NormalizeMode::Auto,
            missing: Missing::Error,
            val_split: 0.2,
            class_weight: ClassWeight::None,
            cfg: TrainConfig::default(),
            full_batch: None,
            policy: RunPolicy::default(),
            threads: Threads::all(),
            ranks: (1, 1),
            auto_lr: true,
            auto_schedule: true,
            alpha: None,
        }
    }

    /// The settings in effect for `n_train` training rows: the rate and schedule given, else
    /// the defaults (SGD: [`data_rate`] decayed along a cosine; Adam: 0.001, constant); and
    /// [`Mlp::alpha`], if given, as the L2 λ.
    pub(crate) fn for_training_rows(mut self, n_train: usize) -> Mlp {
        let sgd = matches!(self.cfg.optimizer, crate::optim::Optimizer::Sgd { .. });
        if self.auto_lr {
            self.cfg.lr = if sgd { data_rate(n_train.div_ceil(self.cfg.batch.max(1))) } else { 0.001 };
        }
        if self.auto_schedule && sgd && self.cfg.epochs >= COSINE_FROM_EPOCHS {
            self.policy.schedule = Schedule::Cosine { min: 0.0 };
        }
        (self.auto_lr, self.auto_schedule) = (false, false);
        if let Some(alpha) = self.alpha.take() {
            // (α/2B)·ΣW² a mini-batch of B is (λ/2n)·ΣW² with λ = α·n/B; full-batch, B = n.
            let n = n_train.max(1) as f64;
            let b =
                if self.full_batch.is_some() { n } else { self.cfg.batch.clamp(1, n_train.max(1)) as f64 };
            self.cfg.l2 = (f64::from(alpha) * n / b) as f32;
            if let Some(fb) = self.full_batch.as_mut() {
                fb.l2 = alpha;
            }
        }
        self
    }

    /// The rate chosen from the data, as when no rate is given (after [`Mlp::train_config`],
    /// whose rate is otherwise the one used).
    pub fn lr_from_data(mut self) -> Mlp {
        self.auto_lr = true;
        self
    }

    /// Hidden layer sizes, input side first (none: a linear model).
    pub fn hidden(mut self, sizes: &[usize]) -> Mlp {
        self.hidden = sizes.to_vec();
        self
    }
    /// The hidden units' activation.
    pub fn activation(mut self, activation: Activation) -> Mlp {
        self.activation = activation;
        self
    }
    /// The loss (and with it the output units: softmax for `xent`, sigmoid for `bce` and `mse`).
    pub fn loss(mut self, loss: Loss) -> Mlp {
        self.loss = loss;
        self
    }
    /// Output units other than the loss's own (linear outputs with `mse`, for regression).
    pub fn output(mut self, output: Output) -> Mlp {
        self.output = Some(output);
        self
    }
    /// How the weights are drawn (default: by the activation, [`Init::default_for`]).
    pub fn init(mut self, init: Init) -> Mlp {
        self.init = Some(init);
        self
    }
    /// How the features are normalised (fitted on the training rows, kept in the model).
    pub fn normalize(mut self, mode: NormalizeMode) -> Mlp {
        self.normalize = mode;
        self
    }
    /// What a missing feature (NaN) becomes: [`Missing::Error`] refuses the data (the
    /// default), [`Missing::Mean`] fills the training rows' column means, [`Missing::Zero`]
    /// zeros; the fills are kept in the model, which applies them to the rows it predicts.
    pub fn missing(mut self, missing: Missing) -> Mlp {
        self.missing = missing;
        self
    }
    /// The fraction of the rows held out (stratified for classes) to watch during training:
    /// in [0, 1), 0 for none.
    pub fn val_split(mut self, fraction: f64) -> Mlp {
        self.val_split = fraction;
        self
    }
    /// Class weights on the loss.
    pub fn class_weight(mut self, weights: ClassWeight) -> Mlp {
        self.class_weight = weights;
        self
    }
    /// Epochs (passes over the training rows).
    pub fn epochs(mut self, epochs: usize) -> Mlp {
        self.cfg.epochs = epochs;
        self
    }
    /// Mini-batch size.
    pub fn batch(mut self, batch: usize) -> Mlp {
        self.cfg.batch = batch;
        self
    }
    /// Rows per shard: fixes the summation order (with the seed, the model's bits); never the
    /// threads.
    pub fn shard(mut self, shard: usize) -> Mlp {
        self.cfg.shard = shard;
        self
    }
    /// Learning rate.
    pub fn lr(mut self, lr: f32) -> Mlp {
        self.cfg.lr = lr;
        self.auto_lr = false;
        self
    }
    /// Momentum, in [0, 1).
    pub fn momentum(mut self, momentum: f32) -> Mlp {
        self.cfg.momentum = momentum;
        self
    }
    /// λ of the L2 term (λ/2n)·ΣW², n the training rows; weights only.
    pub fn l2(mut self, l2: f32) -> Mlp {
        self.cfg.l2 = l2;
        self
    }
    /// The L2 penalty as scikit-learn defines it (`alpha`): (α/2B)·ΣW² on each mini-batch of
    /// B rows (a full batch: B = n), where `l2`'s λ is per training set, (λ/2n)·ΣW². Turned
    /// into λ = α·n/B once the training rows n are known (B at most n), in place of `l2`.
    pub fn alpha(mut self, alpha: f32) -> Mlp {
        self.alpha = Some(alpha);
        self
    }
    /// The seed of the initialisation, the validation split and the shuffling.
    pub fn seed(mut self, seed: u64) -> Mlp {
        self.cfg.seed = seed;
        self
    }
    /// Reshuffle the rows every epoch (default), or keep their order.
    pub fn shuffle(mut self, shuffle: bool) -> Mlp {
        self.cfg.shuffle = shuffle;
        self
    }
    /// The mini-batch optimiser (momentum SGD, Nesterov, Adam).
    pub fn optimizer(mut self, optimizer: Optimizer) -> Mlp {
        self.cfg.optimizer = optimizer;
        self
    }
    /// Clip the mean gradient to this L2 norm (None: no clipping).
    pub fn clip_norm(mut self, norm: Option<f32>) -> Mlp {
        self.cfg.clip_norm = norm;
        self
    }
    /// A full-batch optimiser (conjugate gradient, L-BFGS, iRprop−) instead of mini-batches.
    /// Its iterations (`max_iter`), L2 and shard are its own ([`FullBatchConfig`]): the
    /// mini-batch settings (`epochs`, `batch`, `shard`, `lr`, `momentum`, `l2`, the optimiser,
    /// `clip_norm`) do not apply to it, and a schedule or stopping rules are refused with it;
    /// the class weights are [`Mlp::class_weight`]'s (its own field is set from them).
    pub fn full_batch(mut self, config: FullBatchConfig) -> Mlp {
        self.full_batch = Some(config);
        self
    }
    /// The learning rate of each epoch.
    pub fn schedule(mut self, schedule: Schedule) -> Mlp {
        self.policy.schedule = schedule;
        self.auto_schedule = false;
        self
    }
    /// Stopping rules besides the epoch count (early stopping on the validation split).
    pub fn stop_rules(mut self, rules: StopRules) -> Mlp {
        self.policy.stop_rules = rules;
        self
    }
    /// What a diverging loss does: stop with [`Error::Diverged`], or retry the epoch with half
    /// the learning rate.
    pub fn on_divergence(mut self, on: OnDivergence) -> Mlp {
        self.policy.on_divergence = on;
        self
    }
    /// Worker threads of the fit and of the model's predictions. The model is the same, bit
    /// for bit, for every count.
    pub fn threads(mut self, threads: Threads) -> Mlp {
        self.threads = threads;
        self
    }
    /// All mini-batch hyperparameters at once (a checkpoint's, say); the class weights come
    /// from [`Mlp::class_weight`].
    pub fn train_config(mut self, cfg: TrainConfig) -> Mlp {
        self.cfg = cfg;
        self.auto_lr = false;
        self
    }
    /// The run policy at once (schedule, stopping rules, divergence handling, a halve-lr
    /// run's rollback point).
    pub fn run_policy(mut self, policy: RunPolicy) -> Mlp {
        self.policy = policy;
        self.auto_schedule = false;
        self
    }
    /// For the memory check of a run over MPI ranks: the ranks, and how many of them share
    /// this machine (each holds the data and its own buffers).
    pub fn ranks(mut self, ranks: usize, on_this_machine: usize) -> Mlp {
        self.ranks = (ranks.max(1), on_this_machine.max(1));
        self
    }

    /// The mini-batch hyperparameters (for a full-batch fit: its iterations as `epochs`).
    pub fn config(&self) -> &TrainConfig {
        &self.cfg
    }
    /// The run policy: schedule, stopping rules, divergence handling.
    pub fn policy(&self) -> &RunPolicy {
        &self.policy
    }
    /// The full-batch optimiser's settings, for a full-batch fit.
    pub fn full_batch_config(&self) -> Option<&FullBatchConfig> {
        self.full_batch.as_ref()
    }
    /// The output units of a new network: [`Mlp::output`]'s, else the loss's own.
    pub(crate) fn output_units(&self) -> Output {
        self.output.unwrap_or(self.loss.default_output())
    }
    /// The weight initialisation of a new network.
    pub(crate) fn init_scheme(&self) -> Init {
        self.init.unwrap_or(Init::default_for(self.activation))
    }

    /// Checks every setting and their combinations; the error names the setting in backticks.
    /// (A learning rate of 0 is refused when a fit starts: a resumed checkpoint whose schedule
    /// reached 0 may continue at it.)
    ///
    /// # Errors
    /// [`Error::Config`] for the first setting out of range or in contradiction.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::config(m));
        if let Some(i) = self.hidden.iter().position(|&h| h == 0) {
            return bad(format!("`hidden` layer {} has 0 units; sizes must be positive", i + 1));
        }
        if let Some(output) = self.output
            && !self.loss.outputs().contains(&output)
        {
            return bad(format!(
                "`output` {output} does not go with `loss` {}, whose outputs are {}",
                self.loss,
                self.loss.default_output()
            ));
        }
        if let Some(a) = self.alpha.filter(|a| !(a.is_finite() && *a >= 0.0)) {
            return bad(format!(
                "`l2` (given per mini-batch, as alpha) must be a non-negative number, got {a}"
            ));
        }
        if !(self.val_split.is_finite() && (0.0..1.0).contains(&self.val_split)) {
            return bad(format!("`val_split` must be in [0, 1), got {}", self.val_split));
        }
        if !matches!(self.missing, Missing::Error | Missing::Mean | Missing::Zero) {
            return bad(
                "`missing` must be error, mean or zero for a fit (drop and fill apply to files)".into()
            );
        }
        if let ClassWeight::Given(w) = &self.class_weight {
            crate::train::validate_class_weights(w)?;
        }
        if self.full_batch.is_none() {
            // (The mini-batch settings do not apply to a full-batch fit.)
            self.cfg.validate()?;
        }
        // A rate chosen from the data is at most `data_rate(1)`; the schedule is checked against
        // the rate itself once it is chosen, in `prepare`.
        self.policy.schedule.validate(if self.auto_lr { data_rate(1) } else { self.cfg.lr })?;
        self.policy.stop_rules.validate()?;
        if let Some(fb) = &self.full_batch {
            fb.validate()?;
            if self.policy.schedule != Schedule::Constant || self.policy.stop_rules != StopRules::default() {
                return bad("a full-batch optimizer runs its own iterations: a learning-rate schedule and \
                     stopping rules are for mini-batch fits"
                    .into());
            }
        }
        if self.policy.checkpoint_every == Some(0) {
            return bad("`checkpoint_every` must be at least 1".into());
        }
        Ok(())
    }
}
