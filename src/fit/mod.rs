//! The front door: every training choice in one checked configuration ([`Mlp`]), a `fit` on a
//! [`Dataset`] that returns a [`Model`], and a model that reads raw rows by construction
//! ([`Model::predict`], [`Model::predict_proba`], [`Model::evaluate`]: the model's own column
//! checks, missing-value fills and normalisation are applied, never forgotten).
//!
//! The command line, the experiment runner and the examples are clients of this module; the
//! low-level pieces ([`crate::network::Network`], [`crate::train::Trainer`]) stay available
//! for a hand-driven loop.
//!
//! ```
//! use bp_par::{activation::Activation, data::Dataset, fit::Mlp, Threads};
//! // XOR, as a two-class problem.
//! let x = [0.0f32, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0];
//! let data = Dataset::classes(&x, 2, &[0, 1, 1, 0], None)?;
//! let mlp = Mlp::new().hidden(&[8]).activation(Activation::Tanh).epochs(300).batch(4).val_split(0.0);
//! let mlp = mlp.threads(Threads::ONE);
//! let model = mlp.fit(&data)?;
//! assert_eq!(model.predict(&Dataset::from_rows(&x, 2)?)?, [0, 1, 1, 0]);
//! # Ok::<(), bp_par::Error>(())
//! ```
//!
//! [`Session`] is the same fit in its steps, for a client that watches and steers the run
//! (the command line): the data prepared ([`Mlp::prepare`]: validation split, missing-value
//! fills, class weights, normalisation, the network built or an initial model checked, the
//! memory checked), then run ([`Session::run`]) with an [`crate::train::Observer`], checkpoint
//! files, a resumed checkpoint or MPI ranks.

mod memory;
mod prepare;
mod resume;
mod run;
mod settings;

pub use memory::memory_needed;
pub use prepare::{Start, check_targets};
pub use run::{Checkpoints, Fitted};
pub use settings::{COSINE_FROM_EPOCHS, ClassWeight, Mlp, data_rate};

use crate::checkpoint::{Checkpoint, DataIdentity};
use crate::data::Dataset;
use crate::model::Model;

/// A fit's data and model, prepared ([`Mlp::prepare`]) and ready to run ([`Session::run`]).
pub struct Session {
    mlp: Mlp,
    train: Dataset,
    held_out: Option<Dataset>,
    test: Option<Dataset>,
    model: Model,
    /// Computed when first needed (it hashes every training value).
    identity: std::sync::OnceLock<DataIdentity>,
    resume: Option<Checkpoint>,
    /// Whether [`Session::run`] has run (a prepared fit runs once).
    ran: bool,
}

impl Session {
    /// The configuration, as in effect (class weights computed from the training rows).
    pub fn mlp(&self) -> &Mlp {
        &self.mlp
    }

    /// The training rows, normalised.
    pub fn train(&self) -> &Dataset {
        &self.train
    }

    /// The held-out rows the run watches (the validation split, else the test data),
    /// normalised.
    pub fn held_out(&self) -> Option<&Dataset> {
        self.held_out.as_ref()
    }

    /// The test data when a validation split is the held-out data (reported, never
    /// watched), normalised.
    pub fn test(&self) -> Option<&Dataset> {
        self.test.as_ref()
    }

    /// The model to train: new, the initial one, or the resumed checkpoint's.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// What a checkpoint records of the training data.
    pub fn identity(&self) -> &DataIdentity {
        self.identity.get_or_init(|| DataIdentity::of(&self.train, self.mlp.val_split))
    }

    /// The model, trained once [`Session::run`] has run.
    pub fn into_model(self) -> Model {
        self.model
    }

    /// The checks a run on `group`'s ranks makes first, each with the same verdict on every
    /// rank ([`crate::train::Trainer::check_group`]); errors after them are one rank's own.
    ///
    /// # Errors
    /// [`crate::Error::Config`] naming the check.
    pub fn check_group(&self, group: &dyn crate::distributed::Collective) -> crate::Result<()> {
        crate::train::Trainer::check_group(group, &self.train, &self.mlp.cfg)
    }

    /// The checkpoint the run continues, if any.
    pub fn resumed(&self) -> Option<&Checkpoint> {
        self.resume.as_ref()
    }
}
