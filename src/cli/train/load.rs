//! `train`'s data: the training file (or the built-in digits), its first rows and the test
//! file, read as the flags say, then handed to the library's front door
//! ([`bp_par::fit::Mlp::prepare`]), which splits, fills, weighs and normalises them and builds
//! or checks the model, exactly as a library user's fit does.

use super::plan::Plan;
use bp_par::Threads;
use bp_par::data::{self, Dataset, LabelCol, Missing, Targets};
use bp_par::error::{Error, Result};
use bp_par::fit::{ClassWeight, Mlp, Session, Start};
use std::path::Path;
use std::time::Instant;

/// The shipped digits, built into the binary so `bp-par train` works from any folder.
const DIGITS_NAME: &str = "datasets/digits.csv";

/// The data and the model, ready to train.
pub struct Prepared {
    /// The library's prepared fit: the normalised training, held-out and test rows, the
    /// model, the configuration in effect.
    pub session: Session,
    /// Seconds spent reading the files.
    pub load_s: f64,
}

/// The front door's configuration of the plan's run.
pub fn mlp(plan: &Plan) -> Result<Mlp> {
    let f = &plan.fresh;
    let mut mlp = Mlp::new()
        .hidden(&f.hidden)
        .activation(f.activation)
        .loss(f.loss)
        .output(f.output)
        .init(f.init)
        .normalize(f.normalize)
        // `missing` mean with a split: the file was read with its missing values kept, to be
        // filled with the training rows' means once the split is drawn.
        .missing(if plan.load.missing == Missing::Keep { Missing::Mean } else { Missing::Error })
        .val_split(plan.val_split)
        .class_weight(if plan.balance_classes { ClassWeight::Balanced } else { ClassWeight::None })
        .train_config(plan.cfg.clone())
        .run_policy(plan.policy.clone())
        .threads(Threads::new(plan.threads)?)
        .ranks(plan.ranks.0, plan.ranks.1);
    if let Some(fb) = &plan.full_batch {
        mlp = mlp.full_batch(fb.clone());
    }
    if plan.lr_from_data {
        mlp = mlp.lr_from_data();
    }
    Ok(mlp)
}

/// Reads the data and prepares the fit through the front door.
pub fn prepare(plan: &mut Plan) -> Result<Prepared> {
    let t0 = Instant::now();
    let mut full = read_training(plan).map_err(|e| init_width_first(plan, e))?;
    if let Some(e) = init_width(plan, &full) {
        return Err(e);
    }
    if let Some(shape) = plan.image_shape {
        checked_shape(shape, &full)?;
        full = full.with_image_shape(shape)?;
    }
    let test = read_test(plan, &full)?;
    let load_s = t0.elapsed().as_secs_f64();
    let start = match (plan.model.take(), plan.resume.take()) {
        (Some(m), Some((path, ck))) => {
            plan.resume = Some((path, ck.clone()));
            Start::Resume(with_shape(m, plan), Box::new(ck))
        }
        (Some(m), None) => Start::Init(with_shape(m, plan)),
        _ => Start::New,
    };
    let session = mlp(plan)?.prepare(full, test, start)?;
    Ok(Prepared { session, load_s })
}

/// Whether the `--init` model takes rows as wide as `data`'s; the error naming `--init` and
/// both widths when not.
fn init_width(plan: &Plan, data: &Dataset) -> Option<Error> {
    let (Some(path), Some(m)) = (&plan.init, &plan.model) else { return None };
    let n_in = m.net.arch().n_in();
    (n_in != data.n_features()).then(|| {
        Error::config(format!(
            "--init {} takes rows of {n_in} features, but {} has {} features per row: start from a \
             model trained on data like these, or leave out --init",
            path.display(),
            data.path().display(),
            data.n_features()
        ))
    })
}

/// A failed read of the training data under `--init` (its labels checked against the
/// model's classes): when the data's width does not fit the model, that is said first.
fn init_width_first(plan: &Plan, e: Error) -> Error {
    if plan.init.is_none() {
        return e;
    }
    let load = data::LoadOptions { classes: None, ..plan.load.clone() };
    match read_with(plan, &load, true) {
        Ok(d) => init_width(plan, &d).unwrap_or(e),
        Err(_) => e,
    }
}

/// The `--init` or resumed model, with `--image-shape` as its input shape when given.
fn with_shape(mut m: bp_par::model::Model, plan: &Plan) -> bp_par::model::Model {
    if plan.image_shape.is_some() {
        m.input_shape = plan.image_shape;
    }
    m
}

/// Reads DATA (or the built-in digits when DATA is absent, or names the shipped file that
/// is not present in the current folder), keeps its first `--train-rows`, and refuses a
/// single-class label column.
fn read_training(plan: &Plan) -> Result<Dataset> {
    read_with(plan, &plan.load, plan.quiet)
}

/// [`read_training`] with these options, saying nothing when `quiet`.
fn read_with(plan: &Plan, opts: &data::LoadOptions, quiet: bool) -> Result<Dataset> {
    let mut full = match plan.data.as_deref() {
        Some(p) if p.exists() || p != Path::new(DIGITS_NAME) => data::load(p, opts)?,
        _ => data::parse_csv(
            Path::new(concat!("datasets/digits.csv", " (built in)")),
            data::BUILTIN_DIGITS,
            opts,
        )?,
    };
    if !quiet {
        crate::cli::common::warn_notes(&full);
        warn_id_columns(&full);
        if opts.missing == Missing::Keep {
            note_kept_missing(&full);
        }
    }
    if let Some(n) = plan.train_rows
        && n < full.n_samples()
    {
        full = full.subset(&(0..n).collect::<Vec<_>>());
    }
    if let Targets::Classes { labels, .. } = &full.targets()
        && opts.classes.is_none()
        && plan.model.is_none()
        && labels.iter().all(|&l| l == labels[0])
    {
        let col = match &opts.label_col {
            LabelCol::Auto => "the label column (by name, else the first column)".to_string(),
            LabelCol::First => "--label-col first".to_string(),
            LabelCol::Last => "--label-col last".to_string(),
            LabelCol::Name(n) => format!("--label-col {n:?}"),
            LabelCol::Index(i) => format!("--label-col {i}"),
        };
        return Err(Error::data(
            full.path(),
            format!(
                "has a single class (every label is {}) in {col}: nothing to learn; \
                 is the label column right? (--label-col)",
                labels.first().copied().unwrap_or(0)
            ),
        ));
    }
    Ok(full)
}

/// Says how many values are missing in `data`, kept to be filled with the training rows'
/// means once the validation split is drawn (`--missing mean` with a split).
fn note_kept_missing(data: &Dataset) {
    let d = data.n_features().max(1);
    let values = data.features().iter().filter(|v| v.is_nan()).count();
    if values == 0 {
        return;
    }
    let rows = data.features().chunks_exact(d).filter(|r| r.iter().any(|v| v.is_nan())).count();
    eprintln!(
        "bp-par: warning: {}: filling {} in {} with the training rows' means (taken after the split)",
        data.path().display(),
        bp_par::error::count(values, "missing value"),
        bp_par::error::count(rows, "row")
    );
}

/// Checks `--image-shape` against the features per row of the data read.
fn checked_shape([h, w]: [usize; 2], data: &Dataset) -> Result<[usize; 2]> {
    if h.checked_mul(w) == Some(data.n_features()) {
        return Ok([h, w]);
    }
    Err(Error::config(format!(
        "--image-shape {h}x{w} is {} pixels, but {} has {} features per row",
        h.saturating_mul(w),
        data.path().display(),
        data.n_features()
    )))
}

/// Warns (on stderr) of feature columns whose header names a row id or a pandas index: read
/// as a feature, a row number can leak the class of rows stored in class order.
fn warn_id_columns(data: &Dataset) {
    let Some(names) = &data.schema().feature_names else { return };
    let id_like = |n: &str| {
        let n = n.trim().to_ascii_lowercase();
        n.is_empty() || ["id", "index", "row", "idx"].contains(&n.as_str()) || n.starts_with("unnamed")
    };
    for name in names.iter().filter(|n| id_like(n)) {
        eprintln!(
            "bp-par: warning: {}: the column {name:?} looks like a row id or index, and is read as a \
             feature; remove it from the file if it is one",
            data.path().display()
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
            let expect = Some(full.schema().clone()).filter(|s| !s.is_empty());
            // Under `missing` mean with a split: kept, and filled with the training rows' means
            // once the split is drawn.
            let missing =
                if plan.load.missing == Missing::Keep { Missing::Keep } else { opts.missing.clone() };
            let opts = data::LoadOptions { classes, expect, missing, ..opts.clone() };
            let test = data::load(p, &full.schema().read_options(opts)?)?;
            if !plan.quiet {
                crate::cli::common::warn_notes(&test);
            }
            Some(test)
        }
        None => None,
    })
}
