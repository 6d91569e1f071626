//! `train`'s data: the training file (or the built-in digits), its first rows, the held-out
//! set (a validation split, else a test file), the test file reported beside a split, the
//! missing values' means and the normalisation fitted on the training rows only, and the
//! model to train (built, or the `--init` / checkpoint one), checked against the data.

use super::plan::Plan;
use bp_par::checkpoint::DataIdentity;
use bp_par::data::{self, Dataset, LabelCol, Missing, Normalization, Targets};
use bp_par::error::{Error, Result};
use bp_par::loss::{Loss, Output};
use bp_par::model::{Model, Task};
use bp_par::network::{Arch, Network};
use std::path::Path;
use std::time::Instant;

/// The shipped digits, built into the binary so `bp-par train` works from any folder.
const DIGITS_NAME: &str = "datasets/digits.csv";

/// The data and the model, ready to train.
pub struct Prepared {
    /// The training rows, normalised.
    pub train: Dataset,
    /// The held-out rows the run watches (the validation split, else the test file),
    /// normalised.
    pub held_out: Option<Dataset>,
    /// The test file when a validation split is the held-out data: evaluated for the report
    /// (and per epoch into `--metrics`), never watched by the run. Normalised.
    pub test: Option<Dataset>,
    /// The model to train.
    pub model: Model,
    /// What a checkpoint records of the training data.
    pub identity: DataIdentity,
    /// Seconds spent reading the files.
    pub load_s: f64,
}

/// Reads the data, splits and normalises it, and builds or checks the model.
pub fn prepare(plan: &mut Plan) -> Result<Prepared> {
    let t0 = Instant::now();
    let mut full = read_training(plan)?;
    if let Some(shape) = plan.image_shape {
        full.image_shape = Some(checked_shape(shape, &full)?);
    }
    let mut test = read_test(plan, &full)?;
    let (loss, output) = match &plan.model {
        Some(m) => (m.net.arch.loss, m.net.arch.output()),
        None => (plan.fresh.loss, plan.fresh.output),
    };
    check_targets(&full, loss, output)?;
    if let Some(t) = &test {
        check_targets(t, loss, output)?;
    }
    let load_s = t0.elapsed().as_secs_f64();
    let val_split = plan.val_split;
    let (mut train, held) = if val_split > 0.0 {
        // `missing` mean: the means of the training rows only fill both parts (plan.rs reads
        // such a file with its missing values kept).
        let (t, v) = if plan.load.missing == Missing::Keep {
            let (t, v) = full.split_filling_means(val_split, plan.cfg.seed)?;
            if let (Some(test), Some(fill)) = (test.as_mut(), &t.schema.missing_fill)
                && test.n_features == fill.len()
            {
                test.fill_missing(fill);
            }
            (t, v)
        } else {
            full.split(val_split, plan.cfg.seed)?
        };
        (t, Some(v))
    } else {
        (full, None)
    };
    // With both, the split is watched and the test file only reported.
    let (mut held_out, mut test) = match held {
        Some(v) => (Some(v), test),
        None => (test, None),
    };
    super::class_weight::apply(plan, &train)?;
    // Images: what a picture must look like to be read as one of these rows (measured on the
    // raw pixels, before normalisation), kept in a new model for `predict` on pictures.
    if plan.model.is_none()
        && let Some(shape) = train.image_shape
    {
        train.schema.image = data::image::ImageStats::measure(&train.features, train.n_features, shape);
    }
    // Normalisation: the --init model's, else fitted on the training rows only (after the split).
    let norm = match &plan.model {
        Some(m) => m.norm.clone(),
        None => Normalization::fit(plan.fresh.normalize, &train.features, train.n_features),
    };
    norm.apply(&mut train.features, train.n_features);
    for h in held_out.iter_mut().chain(test.iter_mut()) {
        norm.apply(&mut h.features, h.n_features);
    }
    let mut model = match plan.model.take() {
        Some(m) => {
            super::memory::check(plan, &m.net.arch, &train, false)?;
            m
        }
        None => build(plan, &train, norm)?,
    };
    if plan.image_shape.is_some() {
        model.input_shape = plan.image_shape;
    }
    let identity = DataIdentity {
        path: train.path.display().to_string(),
        n_samples: train.n_samples(),
        n_features: train.n_features,
        fingerprint: train.fingerprint(),
        val_split,
    };
    if let Some((_, ck)) = &plan.resume {
        check_same_data(&train, &identity, &ck.data)?;
    }
    Ok(Prepared { train, held_out, test, model, identity, load_s })
}

/// Reads DATA (or the built-in digits when DATA is absent, or names the shipped file that
/// is not present in the current folder), keeps its first `--train-rows`, and refuses a
/// single-class label column.
fn read_training(plan: &Plan) -> Result<Dataset> {
    let opts = &plan.load;
    let mut full = match plan.data.as_deref() {
        Some(p) if p.exists() || p != Path::new(DIGITS_NAME) => data::load(p, opts)?,
        _ => data::parse_csv(
            Path::new(concat!("datasets/digits.csv", " (built in)")),
            data::BUILTIN_DIGITS,
            opts,
        )?,
    };
    if !plan.quiet {
        warn_id_columns(&full);
    }
    if let Some(n) = plan.train_rows
        && n < full.n_samples()
    {
        full = full.subset(&(0..n).collect::<Vec<_>>());
    }
    if let Targets::Classes { labels, .. } = &full.targets
        && opts.classes.is_none()
        && plan.model.is_none()
        && labels.iter().all(|&l| l == labels[0])
    {
        let col = match &opts.label_col {
            LabelCol::Auto => "the label column (by name, else the first column)".to_string(),
            c => format!("--label-col {c:?}"),
        };
        return Err(Error::data(
            &full.path,
            format!(
                "has a single class (every label is {}) in {col}: nothing to learn; \
                 is the label column right? (--label-col)",
                labels.first().copied().unwrap_or(0)
            ),
        ));
    }
    Ok(full)
}

/// Checks `--image-shape` against the features per row of the data read.
fn checked_shape([h, w]: [usize; 2], data: &Dataset) -> Result<[usize; 2]> {
    if h.checked_mul(w) == Some(data.n_features) {
        return Ok([h, w]);
    }
    Err(Error::config(format!(
        "--image-shape {h}x{w} is {} pixels, but {} has {} features per row",
        h.saturating_mul(w),
        data.path.display(),
        data.n_features
    )))
}

/// A new network for the data: input and output sizes from it, hidden layers from the plan,
/// once its memory is known to fit.
fn build(plan: &Plan, train: &Dataset, norm: Normalization) -> Result<Model> {
    let (task, n_out) = match &train.targets {
        Targets::Values { n_outputs, .. } => (Task::Regress, *n_outputs),
        _ => (Task::Classify, train.n_outputs()),
    };
    let f = &plan.fresh;
    let mut sizes = vec![train.n_features];
    sizes.extend(&f.hidden);
    sizes.push(n_out);
    let arch = Arch::new(sizes, f.activation, f.loss)?.with_output(f.output)?;
    // Before the parameters are allocated: a network too large is refused, not aborted on.
    super::memory::check(plan, &arch, train, true)?;
    Ok(Model {
        net: Network::init_with(arch, f.init, f.seed),
        norm,
        task,
        input_shape: train.image_shape,
        schema: train.schema.clone(),
    })
}

/// Refuses targets the outputs cannot fit: sigmoid outputs (mse, bce) need values in [0, 1],
/// softmax (xent) rows of probabilities summing to 1. The first offending data row (1-based,
/// after the header) and its column (1-based, with the header's name) are named.
fn check_targets(d: &Dataset, loss: Loss, output: Output) -> Result<()> {
    let Targets::Values { values, n_outputs } = &d.targets else { return Ok(()) };
    let k = *n_outputs;
    for (i, row) in values.chunks_exact(k).enumerate() {
        let problem = match output {
            Output::Linear => None,
            Output::Sigmoid => row.iter().position(|v| !(0.0..=1.0).contains(v)).map(|j| {
                let why = format!(
                    "target {} is outside [0, 1], the range of sigmoid outputs (--loss {loss}); \
                     use --loss mse --output linear for real-valued targets",
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
                         summing to 1; use --loss mse for other real-valued targets (--output linear \
                         outside [0, 1])",
                        shown.join(", ")
                    );
                    (None, why)
                })
            }
        };
        if let Some((j, why)) = problem {
            let at = match j {
                Some(j) => format!("data row {}, {}:", i + 1, target_column(d, k, j)),
                None => format!("data row {}", i + 1),
            };
            return Err(Error::data(&d.path, format!("{at} {why}")));
        }
    }
    Ok(())
}

/// Target `j` of `k` as a file column: "column 7 (\"price\")" (1-based, the last `k` columns of
/// a CSV row), or "target 2" when the file's layout is unknown.
fn target_column(d: &Dataset, k: usize, j: usize) -> String {
    let name = d.schema.target_names.as_ref().and_then(|n| n.get(j)).map(|n| format!(" ({n:?})"));
    match d.schema.n_columns {
        Some(n) if n >= k => format!("column {}{}", n - k + j + 1, name.unwrap_or_default()),
        _ => format!("target {}{}", j + 1, name.unwrap_or_default()),
    }
}

/// Refuses to resume on other data than the checkpoint's.
fn check_same_data(train: &Dataset, ours: &DataIdentity, theirs: &DataIdentity) -> Result<()> {
    if theirs.fingerprint == ours.fingerprint && theirs.n_samples == ours.n_samples {
        return Ok(());
    }
    Err(Error::data(
        &train.path,
        format!(
            "is not the checkpoint's training data: it gives {} training rows of {} features \
             (fingerprint {:016x}), the checkpoint was trained on {} rows of {} from {} (fingerprint {:016x}); \
             if it is the same file, give the original --label-col, --classes, --labels and --train-rows",
            ours.n_samples,
            ours.n_features,
            ours.fingerprint,
            theirs.n_samples,
            theirs.n_features,
            theirs.path,
            theirs.fingerprint
        ),
    ))
}

/// Warns (on stderr) of feature columns whose header names a row id or a pandas index: read
/// as a feature, a row number can leak the class of rows stored in class order.
fn warn_id_columns(data: &Dataset) {
    let Some(names) = &data.schema.feature_names else { return };
    let id_like = |n: &str| {
        let n = n.trim().to_ascii_lowercase();
        n.is_empty() || ["id", "index", "row", "idx"].contains(&n.as_str()) || n.starts_with("unnamed")
    };
    for name in names.iter().filter(|n| id_like(n)) {
        eprintln!(
            "bp-par: warning: {}: the column {name:?} looks like a row id or index, and is read as a \
             feature; remove it from the file if it is one",
            data.path.display()
        );
    }
}

/// The `--test` file, read like the training file `full`: the label where it was, the same
/// feature names, its class names and fill values (or, under `missing` mean with a split, its
/// missing values kept, to be filled with the training rows' means).
fn read_test(plan: &Plan, full: &Dataset) -> Result<Option<Dataset>> {
    Ok(match &plan.test {
        Some((p, opts)) => {
            let classes = Some(full.n_outputs()).filter(|_| opts.targets.is_none());
            // Read like the training file: the label where it was, the same feature names,
            // its class names and fill values.
            let expect = Some(full.schema.clone()).filter(|s| !s.is_empty());
            // Under `missing` mean with a split: kept, and filled with the training rows' means
            // once the split is drawn.
            let missing =
                if plan.load.missing == Missing::Keep { Missing::Keep } else { opts.missing.clone() };
            let opts = data::LoadOptions { classes, expect, missing, ..opts.clone() };
            Some(data::load(p, &full.schema.read_options(opts)?)?)
        }
        None => None,
    })
}
