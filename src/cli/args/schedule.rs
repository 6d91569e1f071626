//! `train`'s learning-rate schedule and stopping-rule flags, flattened into
//! [`super::TrainArgs`]; `train`'s plan turns them into the library's
//! [`bp_par::train::Schedule`] and [`bp_par::train::StopRules`].

use clap::{Args, ValueEnum};

/// The learning-rate schedules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LrSchedule {
    Constant,
    Step,
    InvScaling,
    Cosine,
    Plateau,
}

/// What early stopping watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MonitorFlag {
    Loss,
    Accuracy,
}

#[derive(Args, Debug, Clone)]
pub struct ScheduleArgs {
    /// Learning rate of each epoch e from --lr η: constant; step: η·G^⌊(e−1)/N⌋; inv-scaling:
    /// η/e^T; cosine: from η in the first epoch down to --lr-min in the last; plateau: times
    /// --lr-factor when the held-out loss (else the training loss) has not improved for
    /// --lr-patience epochs. A halve-lr retry halves η [default: cosine for --optimizer sgd over
    /// 5 epochs or more, else constant]
    #[arg(
        long,
        default_value = "constant",
        hide_default_value = true,
        value_name = "constant|step|inv-scaling|cosine|plateau"
    )]
    pub lr_schedule: LrSchedule,
    /// step: epochs N between reductions
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub lr_step: usize,
    /// step: the factor G, in (0, 1]
    #[arg(long, default_value_t = 0.1, value_name = "G")]
    pub lr_gamma: f32,
    /// inv-scaling: the exponent T
    #[arg(long, default_value_t = 0.5, value_name = "T")]
    pub lr_power: f32,
    /// cosine: the rate of the last epoch, in [0, η]
    #[arg(long, default_value_t = 0.0, value_name = "RATE")]
    pub lr_min: f32,
    /// plateau: epochs without improvement before a reduction
    #[arg(long, default_value_t = 10, value_name = "P")]
    pub lr_patience: usize,
    /// plateau: the factor F, in (0, 1)
    #[arg(long, default_value_t = 0.1, value_name = "F")]
    pub lr_factor: f32,
    /// Stop when an epoch's training loss falls below E [default: off]
    #[arg(long, value_name = "E")]
    pub target_loss: Option<f64>,
    /// Stop when no weight or bias changes by D or more over an epoch [default: off]
    #[arg(long, value_name = "D")]
    pub min_change: Option<f32>,
    /// Stop when the held-out --monitor has not improved for --patience epochs (needs --test
    /// or --val-split)
    #[arg(long)]
    pub early_stopping: bool,
    /// Epochs without a new best before early stopping stops the run
    #[arg(long, default_value_t = 10, value_name = "P", requires = "early_stopping")]
    pub patience: usize,
    /// What early stopping watches: the held-out loss (lower is better) or accuracy (higher is
    /// better)
    #[arg(long, default_value = "loss", value_name = "loss|accuracy", requires = "early_stopping")]
    pub monitor: MonitorFlag,
    /// Keep the best epoch's weights (early stopping): they are the result, whether the rule
    /// stopped the run or its epochs ran out
    #[arg(long, requires = "early_stopping")]
    pub restore_best: bool,
}
