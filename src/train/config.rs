//! The settings of a run ([`TrainConfig`]) and their checks. Messages name the settings by
//! their field names in backticks (`batch`, `lr`); the CLI shows its flags instead.

use crate::error::{Error, Result};
use crate::optim::Optimizer;

/// The default shard size: a whole mini-batch of up to 128 rows is one shard (no reduction),
/// larger batches are cut into shards of 128. Measured on 2 cores (784-128-10, `bp-par bench
/// --threads 1,2 --batch 64,128,256 --shard-size 32,64,128,256`, two runs): one shard of 64
/// split over the threads beat two shards of 32 (335k against 286k samples/s); shards of 128
/// matched or beat shards of 64 at batch 128 and 256 on 1 thread (200-229k against 175-205k)
/// and on 2 (350-378k against 286-373k at batch 128, 383-411k against 344-394k at 256), while
/// one shard of 256 split over 2 threads gained nothing over 1 (its GEMMs re-pack a 784 x 256
/// input per block).
pub const DEFAULT_SHARD: usize = 128;

/// Hyperparameters of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// Epochs to train (a resumed run may extend them).
    pub epochs: usize,
    /// Mini-batch size B.
    pub batch: usize,
    /// Rows per shard, the unit of sample splitting: each shard's gradient is summed over its
    /// rows by the GEMMs, and the shards' gradients by a fixed tree. Fixes the arithmetic (and
    /// the memory of the activations), not the threads.
    pub shard: usize,
    /// Learning rate η.
    pub lr: f32,
    /// Momentum μ, in [0, 1).
    pub momentum: f32,
    /// λ of the L2 term (λ/2n)·ΣW², n = training-set size; weights only.
    pub l2: f32,
    /// Seed of the shuffling (the CLI also seeds the initialisation and the validation split
    /// with it).
    pub seed: u64,
    /// Reshuffle the rows every epoch (else keep file order).
    pub shuffle: bool,
    /// The optimiser (momentum SGD by default).
    pub optimizer: Optimizer,
    /// Clip the mean gradient to this L2 norm over all parameters (None: no clipping). The
    /// norm is of the data gradient, without the L2 term; it is computed in f64 over fixed
    /// chunks of parameters summed in order, so it does not depend on the threads.
    pub clip_norm: Option<f32>,
    /// Each class's weight (indexed by label) on its samples' loss and output delta, in every
    /// optimiser: the loss minimised is Σ_i w_{c(i)}·L_i / B, and the training loss reported
    /// per epoch is this weighted one (held-out losses are not weighted). None: unweighted.
    /// [`crate::train::balanced_class_weights`] computes scikit-learn's "balanced" weights.
    pub class_weight: Option<Vec<f32>>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 20,
            batch: 64,
            shard: DEFAULT_SHARD,
            lr: 0.1,
            momentum: 0.9,
            l2: 0.0,
            seed: 1,
            shuffle: true,
            optimizer: Optimizer::default(),
            clip_norm: None,
            class_weight: None,
        }
    }
}

impl TrainConfig {
    /// Checks every setting's range; the message names the field in backticks.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::config(m));
        if self.epochs == 0 {
            return bad("`epochs` must be at least 1".into());
        }
        if self.batch == 0 {
            return bad("`batch` must be at least 1".into());
        }
        if self.shard == 0 {
            return bad("`shard` must be at least 1".into());
        }
        // 0 is allowed: a schedule's rate may reach it (cosine down to `lr_min` 0), and a
        // checkpoint of that epoch must resume. The rate a run starts from is checked by the
        // caller (the CLI refuses `lr` 0).
        if !(self.lr.is_finite() && self.lr >= 0.0) {
            return bad(format!("`lr` must be a non-negative number, got {}", self.lr));
        }
        if !(self.momentum.is_finite() && (0.0..1.0).contains(&self.momentum)) {
            return bad(format!("`momentum` must be in [0, 1), got {}", self.momentum));
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return bad(format!("`l2` must be a non-negative number, got {}", self.l2));
        }
        if let Some(c) = self.clip_norm
            && !(c.is_finite() && c > 0.0)
        {
            return bad(format!("`clip_norm` must be a positive number, got {c}"));
        }
        if let Some(w) = &self.class_weight {
            super::class_weight::validate(w)?;
        }
        if let Optimizer::Adam(a) = &self.optimizer {
            for (name, beta) in [("beta1", a.beta1), ("beta2", a.beta2)] {
                if !(beta.is_finite() && (0.0..1.0).contains(&beta)) {
                    return bad(format!("`{name}` must be in [0, 1), got {beta}"));
                }
            }
            if !(a.eps.is_finite() && a.eps > 0.0) {
                return bad(format!("`eps` must be a positive number, got {}", a.eps));
            }
        }
        Ok(())
    }
}
