//! A fit's data, prepared: the targets checked against the output units, missing values
//! filled (the training rows' means, after the validation split), the split drawn, class
//! weights computed from the training rows, image statistics measured on the raw pixels, the
//! normalisation fitted on the training rows only and applied to every part, and the network
//! built (its memory checked first) or the initial model checked against the data.

use super::resume::{check_resume, check_same_data};
use super::settings::{ClassWeight, Mlp};
use super::{Session, memory};
use crate::checkpoint::{Checkpoint, DataIdentity};
use crate::data::{Dataset, Missing, Normalization, Targets, feature_means, image::measure_scanned};
use crate::error::{Error, Result};
use crate::loss::{Loss, Output};
use crate::model::{Model, Task};
use crate::network::{Arch, Network};
use crate::train::balanced_class_weights;

/// Where a fit starts.
#[derive(Clone, Debug, Default)]
pub enum Start {
    /// A new network, drawn from the seed.
    #[default]
    New,
    /// This model's network and normalisation (fine-tuning, `train --init`).
    Init(Model),
    /// A checkpoint's model and state: the run continues exactly as it would have.
    Resume(Model, Box<Checkpoint>),
}

impl Mlp {
    /// Prepares a fit of `data` ([`Session`]): `test`, if given, is the held-out data the run
    /// watches, or, beside a validation split, data only reported. Both are raw, as read.
    ///
    /// # Errors
    /// The settings' errors ([`Mlp::validate`]), and [`Error::Data`] for data the fit cannot
    /// use: targets the output units cannot produce, missing values under `missing` error, a
    /// split that leaves a part empty, a network too large for the memory, data that does not
    /// fit the initial model or is not the resumed checkpoint's.
    pub fn prepare(&self, data: Dataset, test: Option<Dataset>, start: Start) -> Result<Session> {
        // On the fit's threads: the scans, the split, the normalisation.
        self.threads.install(move || self.prepare_here(data, test, start))?
    }

    fn prepare_here(&self, data: Dataset, test: Option<Dataset>, start: Start) -> Result<Session> {
        self.validate()?;
        let mut mlp = self.clone();
        if let Some(fb) = &mlp.full_batch {
            mlp.cfg.epochs = fb.max_iter;
        }
        if mlp.cfg.lr == 0.0 && mlp.full_batch.is_none() && !matches!(start, Start::Resume(..)) {
            // (A resumed run may continue at a schedule's rate 0.)
            return Err(Error::config("`lr` must be a positive number, got 0"));
        }
        let (started, resume) = match start {
            Start::New => (None, None),
            Start::Init(m) => (Some(m), None),
            Start::Resume(m, ck) => {
                check_resume(&mlp, &ck)?;
                // The checkpoint's rate (a schedule or halve-lr retries may have moved it), its
                // schedule (halved by retries) and its stopping rules continue the run exactly.
                mlp.cfg.lr = ck.config.lr;
                (mlp.policy.schedule, mlp.policy.stop_rules) = (ck.run.schedule, ck.run.stop_rules);
                (Some(m), Some(*ck))
            }
        };
        check_data(&mlp, &data, test.as_ref(), started.as_ref())?;
        let (train, held, test) = split(&mlp, data, test)?;
        let (mut train, mut held_out, mut test) = match held {
            Some(v) => (train, Some(v), test),
            None => (train, test, None),
        };
        // The default rate and schedule, chosen from the training rows' count (a full-batch or
        // resumed run has its own), and alpha, if given, as the L2 λ.
        let choose = mlp.full_batch.is_none() && resume.is_none();
        if !choose {
            (mlp.auto_lr, mlp.auto_schedule) = (false, false);
        }
        mlp = mlp.for_training_rows(train.n_samples());
        if choose {
            // (Validated against the placeholder rate before: `lr_min` must not pass the chosen one.)
            mlp.policy.schedule.validate(mlp.cfg.lr)?;
        }
        mlp.cfg.class_weight = class_weights(&mlp.class_weight, &train, resume.as_ref())?;
        if let Some(fb) = mlp.full_batch.as_mut() {
            fb.class_weight = mlp.cfg.class_weight.clone();
        }
        // Images: what a picture must look like to be read as one of these rows (measured on
        // the raw pixels), kept in a new model for predictions on pictures.
        if started.is_none()
            && let Some(shape) = train.image_shape
        {
            let scan = train.features.scan();
            train.schema.image = measure_scanned(&train.features, train.n_features, shape, scan);
        }
        let norm = match &started {
            Some(m) => m.norm.clone(),
            None => Normalization::fit_to(mlp.normalize, &train),
        };
        for part in std::iter::once(&mut train).chain(held_out.iter_mut()).chain(test.iter_mut()) {
            part.normalize(&norm)?;
        }
        let model = match started {
            Some(m) => {
                memory::check(&mlp, &m.net.arch, &train, false)?;
                crate::train::check_fit(&m.net, &train)?;
                m
            }
            None => build(&mlp, &train, norm)?,
        };
        // The data's identity (its fingerprint hashes every value) only where it is used: a
        // resumed checkpoint's check now, checkpoint files when the run writes them.
        let identity = std::sync::OnceLock::new();
        if let Some(ck) = &resume {
            let id = identity.get_or_init(|| DataIdentity::of(&train, mlp.val_split));
            check_same_data(&train, id, &ck.data)?;
        }
        let mut model = model;
        model.set_threads(mlp.threads);
        Ok(Session { mlp, train, held_out, test, model, identity, resume, ran: false })
    }
}

/// Refuses data the fit cannot use as given: normalised already, targets the output units
/// cannot produce, class labels for linear outputs, a missing value without a policy to fill it
/// (named in the caller's rows, before a split shuffles them).
fn check_data(mlp: &Mlp, data: &Dataset, test: Option<&Dataset>, started: Option<&Model>) -> Result<()> {
    if let Some(part) = std::iter::once(data).chain(test).find(|d| d.is_normalized()) {
        return Err(Error::data(part.path(), "is normalised already; a fit takes the raw rows"));
    }
    let (loss, output) = match started {
        Some(m) => (m.net.arch.loss, m.net.arch.output()),
        None => (mlp.loss, mlp.output_units()),
    };
    check_targets(data, loss, output)?;
    if let Some(t) = test {
        check_targets(t, loss, output)?;
    }
    if output == Output::Linear && matches!(data.targets, Targets::Classes { .. }) {
        return Err(Error::config(
            "`output` linear fits real-valued targets; class labels train with the loss's own \
             output units (softmax for xent, sigmoid for bce and mse)",
        ));
    }
    if mlp.missing == Missing::Error && data.schema.missing_fill.is_none() {
        // Named in the caller's rows, before a split shuffles them.
        for part in std::iter::once(data).chain(test) {
            refuse_missing(part)?;
        }
    }
    Ok(())
}

/// The training rows, the validation split (if any) and the test data, with missing values
/// filled by the fit's policy: (train, validation, test).
fn split(
    mlp: &Mlp,
    mut data: Dataset,
    mut test: Option<Dataset>,
) -> Result<(Dataset, Option<Dataset>, Option<Dataset>)> {
    // Fills `data`'s missing values with `fill` and keeps it for the model.
    let fill = |data: &mut Dataset, fill: Vec<f32>| -> Result<()> {
        data.fill_missing(&fill)?;
        data.schema.missing_fill = Some(fill);
        Ok(())
    };
    let (train, held) = match mlp.missing {
        // A reader that filled the file's missing values already kept its fills.
        _ if data.schema.missing_fill.is_some() => split_plain(mlp, data)?,
        // The means of the training rows only, after the split.
        Missing::Mean if mlp.val_split > 0.0 => {
            let (t, v) = data.split_filling_means(mlp.val_split, mlp.cfg.seed)?;
            (t, Some(v))
        }
        Missing::Mean => {
            let means = feature_means(&data.features, data.n_features).map_err(|j| {
                let what = data.feature_column(j);
                let why =
                    "has no values to take the mean of (`missing` mean): use zero, or leave the feature out";
                Error::data(&data.path, format!("{what} {why}"))
            })?;
            fill(&mut data, means)?;
            (data, None)
        }
        Missing::Zero => {
            let zeros = vec![0.0; data.n_features];
            fill(&mut data, zeros)?;
            split_plain(mlp, data)?
        }
        _ => split_plain(mlp, data)?,
    };
    if let (Some(t), Some(fill)) = (test.as_mut(), &train.schema.missing_fill)
        && t.n_features == fill.len()
    {
        t.fill_missing(fill)?;
    }
    // (The training rows were filled, or checked before the split; a test file may keep a
    // missing value no fill covers.)
    if let Some(t) = &test {
        refuse_missing(t)?;
    }
    if let (Some(v), Targets::Classes { labels, n_classes }) = (&held, &train.targets) {
        // A class whose every row the split held out would never be trained on.
        let mut in_train = vec![false; *n_classes];
        labels.iter().for_each(|&l| in_train[l as usize] = true);
        if let Targets::Classes { labels: held_labels, .. } = &v.targets
            && let Some(&c) = held_labels.iter().find(|&&l| !in_train[l as usize])
        {
            let rows = held_labels.iter().filter(|&&l| l == c).count();
            return Err(Error::data(
                &train.path,
                format!(
                    "`val_split` {} holds out every row of class {c} ({}), so the model would never \
                     train on it; hold out less, or give the class more rows",
                    mlp.val_split,
                    crate::error::count(rows, "row")
                ),
            ));
        }
    }
    Ok((train, held, test))
}

/// Refuses a missing value (NaN) the fit has no policy to fill, naming its row and feature
/// (counted from 0).
fn refuse_missing(d: &Dataset) -> Result<()> {
    match d.first_missing() {
        Some((row, j)) => Err(Error::data(
            &d.path,
            format!(
                "row {row}, feature {j} (from 0) is missing (NaN); set `missing` mean or zero to fill \
                 missing values"
            ),
        )),
        None => Ok(()),
    }
}

/// The validation split of `data`, if the fit holds one out.
fn split_plain(mlp: &Mlp, data: Dataset) -> Result<(Dataset, Option<Dataset>)> {
    if mlp.val_split > 0.0 {
        let (t, v) = data.split(mlp.val_split, mlp.cfg.seed)?;
        Ok((t, Some(v)))
    } else {
        Ok((data, None))
    }
}

/// The class weights of the run: balanced ones from the training rows, given ones checked
/// against the classes, or (resuming) the checkpoint's.
fn class_weights(
    choice: &ClassWeight,
    train: &Dataset,
    resume: Option<&Checkpoint>,
) -> Result<Option<Vec<f32>>> {
    if let Some(ck) = resume {
        return Ok(ck.config.class_weight.clone());
    }
    let weights = match choice {
        ClassWeight::None => return Ok(None),
        ClassWeight::Balanced => balanced_class_weights(train)?,
        ClassWeight::Given(w) => w.clone(),
    };
    crate::train::check_class_weights_fit(Some(&weights), train)?;
    Ok(Some(weights))
}

/// A new network for the data: input and output sizes from it, hidden layers from the
/// settings, once its memory is known to fit.
fn build(mlp: &Mlp, train: &Dataset, norm: Normalization) -> Result<Model> {
    let (task, n_out) = match &train.targets {
        Targets::Values { n_outputs, .. } => (Task::Regress, *n_outputs),
        Targets::None => return Err(Error::data(&train.path, "has no labels or targets to train on")),
        Targets::Classes { n_classes, .. } if *n_classes < 2 => {
            return Err(Error::data(
                &train.path,
                "has a single class (every label is 0): nothing to learn; a classifier needs at least 2",
            ));
        }
        _ => (Task::Classify, train.n_outputs()),
    };
    let mut sizes = vec![train.n_features];
    sizes.extend(&mlp.hidden);
    sizes.push(n_out);
    let arch = Arch::new(sizes, mlp.activation, mlp.loss)?.with_output(mlp.output_units())?;
    // Before the parameters are allocated: a network too large is refused, not aborted on.
    memory::check(mlp, &arch, train, true)?;
    Model::new(
        Network::init_with(arch, mlp.init_scheme(), mlp.cfg.seed),
        norm,
        task,
        train.image_shape,
        train.schema.clone(),
    )
}

/// Refuses targets the outputs cannot fit: sigmoid outputs (mse, bce) need values in [0, 1],
/// softmax (xent) rows of probabilities summing to 1. The first offending data row (1-based,
/// after the header) and its column (1-based, with the header's name) are named.
///
/// # Errors
/// [`Error::Data`] naming the row, the column and the fix.
pub fn check_targets(d: &Dataset, loss: Loss, output: Output) -> Result<()> {
    let Targets::Values { values, n_outputs } = &d.targets else { return Ok(()) };
    let k = *n_outputs;
    for (i, row) in values.chunks_exact(k.max(1)).enumerate() {
        let problem = match output {
            Output::Linear => None,
            Output::Sigmoid => row.iter().position(|v| !(0.0..=1.0).contains(v)).map(|j| {
                let why = format!(
                    "target {} is outside [0, 1], the range of sigmoid outputs (`loss` {loss}); \
                     use `loss` mse `output` linear",
                    row[j]
                );
                (Some(j), why)
            }),
            Output::Softmax => {
                let sum: f32 = row.iter().sum();
                let in_unit = row.iter().all(|v| (0.0..=1.0).contains(v));
                (!in_unit || (sum - 1.0).abs() > 1e-3).then(|| {
                    let shown: Vec<String> = row.iter().map(ToString::to_string).collect();
                    let why = format!(
                        "has targets ({}): xent (softmax) needs each row of targets to be probabilities \
                         summing to 1; use `loss` mse for other real-valued targets (`output` linear \
                         outside [0, 1])",
                        shown.join(", ")
                    );
                    (None, why)
                })
            }
        };
        if let Some((j, why)) = problem {
            let at = match (j, d.schema.n_columns) {
                // A file's rows and columns, counted from 1; data from memory, from 0.
                (Some(j), Some(_)) => format!("data row {}, {}:", i + 1, target_column(d, k, j)),
                (None, Some(_)) => format!("data row {}", i + 1),
                (Some(j), None) => format!("row {i}, target {j} (from 0):"),
                (None, None) => format!("row {i} (from 0)"),
            };
            return Err(Error::data(&d.path, format!("{at} {why}")));
        }
    }
    Ok(())
}

/// Target `j` of `k` as a file column: "column 6 (\"price\", 0-based)" (the last `k` columns
/// of a CSV row), or "target 2" when the file's layout is unknown.
fn target_column(d: &Dataset, k: usize, j: usize) -> String {
    let name = d.schema.target_names.as_ref().and_then(|n| n.get(j));
    match d.schema.n_columns {
        Some(n) if n >= k => crate::error::column(n - k + j, name.map(String::as_str)),
        _ => format!("target {}{}", j + 1, name.map_or(String::new(), |n| format!(" ({n:?})"))),
    }
}
