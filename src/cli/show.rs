//! `bp-par show`: the four pictures, drawn by [`super::viz`], and what a model sees of a
//! picture ([`super::images::show`]).

use super::args::{LabelArgs, ShowCommand, SplitPart, Units};
use super::common::{emit, load_options, model_and_data};
use super::viz;
use bp_par::data::{self, LoadOptions, Targets};
use bp_par::error::{Error, Result};
use bp_par::network::argmax;
use bp_par::train::EpochMetrics;
use rand::SeedableRng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use std::path::Path;

/// Reads a `--metrics` file (CSV with its header, or JSON lines). The held-out figures are
/// the `val_*` ones where a run with a validation split and a test file wrote both (the
/// figures the run watched), else the `test_*` ones.
pub fn read_metrics(path: &Path) -> Result<Vec<EpochMetrics>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "read the metrics file", e))?;
    let bad = |line: usize, m: String| Error::Parse {
        path: path.to_path_buf(),
        line: line as u64,
        column: None,
        field: None,
        message: m,
    };
    let mut out = Vec::new();
    // `#` lines (CSV) and `stop` objects (JSON) say why the run stopped: not epochs.
    let mut lines =
        text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    if text.trim_start().starts_with('{') {
        for (i, l) in lines {
            let v: Value =
                serde_json::from_str(l).map_err(|e| bad(i + 1, format!("expected a JSON object ({e})")))?;
            if v.get("stop").is_some() {
                continue;
            }
            let f = |k: &str| v.get(k).and_then(Value::as_f64);
            let split = v.get("val_loss").is_some();
            out.push(EpochMetrics {
                epoch: f("epoch").ok_or_else(|| bad(i + 1, "missing \"epoch\"".into()))? as usize,
                loss: f("loss").ok_or_else(|| bad(i + 1, "missing \"loss\"".into()))?,
                train_acc: f("train_acc"),
                test_loss: f(if split { "val_loss" } else { "test_loss" }),
                test_acc: f(if split { "val_acc" } else { "test_acc" }),
                lr: f("lr").unwrap_or(0.0) as f32,
                seconds: f("seconds").unwrap_or(0.0),
                samples_per_s: f("samples_per_s").unwrap_or(0.0),
            });
        }
    } else {
        let Some((_, header)) = lines.next() else {
            return Err(Error::data(path, "is empty: expected the CSV written by train --metrics"));
        };
        let names: Vec<&str> = header.split(',').map(str::trim).collect();
        let col = |k: &str| names.iter().position(|n| *n == k);
        let (Some(ep), Some(lo)) = (col("epoch"), col("loss")) else {
            return Err(bad(1, "expected the header written by train --metrics (epoch,loss,...)".into()));
        };
        for (i, l) in lines {
            let fields: Vec<&str> = l.split(',').map(str::trim).collect();
            let get = |c: Option<usize>| -> Result<Option<f64>> {
                match c.and_then(|c| fields.get(c)) {
                    None | Some(&"") => Ok(None),
                    Some(v) => {
                        v.parse().map(Some).map_err(|_| bad(i + 1, format!("expected a number, found {v:?}")))
                    }
                }
            };
            out.push(EpochMetrics {
                epoch: get(Some(ep))?.ok_or_else(|| bad(i + 1, "missing epoch".into()))? as usize,
                loss: get(Some(lo))?.ok_or_else(|| bad(i + 1, "missing loss".into()))?,
                train_acc: get(col("train_acc"))?,
                test_loss: get(col("val_loss").or_else(|| col("test_loss")))?,
                test_acc: get(col("val_acc").or_else(|| col("test_acc")))?,
                lr: get(col("lr"))?.unwrap_or(0.0) as f32,
                seconds: get(col("seconds"))?.unwrap_or(0.0),
                samples_per_s: get(col("samples_per_s"))?.unwrap_or(0.0),
            });
        }
    }
    if out.is_empty() {
        return Err(Error::data(path, "holds no epochs"));
    }
    if let Some(m) =
        out.iter().find(|m| [m.train_acc, m.test_acc].iter().flatten().any(|a| !(0.0..=1.0).contains(a)))
    {
        return Err(Error::data(
            path,
            format!(
                "epoch {} has an accuracy outside [0, 1] (accuracies are fractions, as train --metrics writes them)",
                m.epoch
            ),
        ));
    }
    Ok(out)
}

/// The last component of `p`, for titles.
fn file_name(p: &Path) -> String {
    p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// Says on stdout which picture went where.
fn done(path: &Path, what: &str) -> Result<()> {
    emit(&format!("wrote {what} to {}\n", path.display()))
}

/// Refuses an output name whose extension says another format.
fn check_png(p: &Path) -> Result<()> {
    match p.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("png") => Ok(()),
        _ => Err(Error::config(format!("-o {}: show writes PNG pictures; give a .png name", p.display()))),
    }
}

/// Runs `bp-par show`: refuses an output name that is not .png, then draws the picture.
pub fn show(cmd: ShowCommand) -> Result<()> {
    let output = match &cmd {
        ShowCommand::Digits { output, .. }
        | ShowCommand::Weights { output, .. }
        | ShowCommand::Curves { output, .. }
        | ShowCommand::Confusion { output, .. }
        | ShowCommand::Input { output, .. } => output.clone(),
    };
    check_png(&output)?;
    super::common::check_writable(&output, "-o")?;
    match cmd {
        ShowCommand::Digits { data, labels, predict, seed, output } => {
            digits(&data, &labels, predict.as_deref(), seed, &output)
        }
        ShowCommand::Weights { model, units, output } => weights(&model, units, &output),
        ShowCommand::Curves { metrics, output } => {
            let history = read_metrics(&metrics)?;
            let title = format!("training curves from {}", file_name(&metrics));
            viz::curves(&history, &title).save(&output)?;
            done(&output, "the curves")
        }
        ShowCommand::Confusion { model, data, labels, rows, output } => {
            confusion(&model, &data, &labels, rows.split, &output)
        }
        ShowCommand::Input { model, image, output } => super::images::show::input(&model, &image, &output),
    }
}

/// `show digits`: up to 100 random rows of `data` (chosen by `seed`) as a grid of images,
/// labelled (by class name when the model or the file has them), and with `predict`, the
/// misclassified ones marked with the model's answer.
fn digits(data: &Path, labels: &LabelArgs, predict: Option<&Path>, seed: u64, output: &Path) -> Result<()> {
    let (d, model) = match predict {
        Some(m) => {
            let (model, d) = model_and_data(m, data, labels, true, SplitPart::All, false)?;
            (d, Some(model))
        }
        None => {
            // Every data flag as the other commands read it; rows without labels are fine.
            let opts = LoadOptions { unlabeled_width: Some(usize::MAX), ..load_options(labels, None, None) };
            (data::load(data, &opts)?, None)
        }
    };
    let shape = d.image_shape().ok_or_else(|| {
        Error::data(data, format!("has rows of {} features, which is not a square image", d.n_features()))
    })?;
    let n = d.n_samples();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut rows: Vec<usize> = sample(&mut rng, n, n.min(100)).into_vec();
    rows.sort_unstable();
    let labels_of = d.labels();
    let preds: Option<Vec<usize>> = model
        .as_ref()
        .map(|m| -> Result<Vec<usize>> {
            let k = m.net.arch().n_out();
            let sub = d.subset(&rows);
            Ok(m.outputs(&sub)?.chunks_exact(k).map(argmax).collect())
        })
        .transpose()?;
    let mut wrong = 0;
    let tiles: Vec<viz::Tile> = rows
        .iter()
        .enumerate()
        .map(|(i, &r)| {
            let label = labels_of.map(|l| l[r]);
            let miss = match (&preds, label) {
                (Some(p), Some(l)) if p[i] != l as usize => Some(p[i]),
                _ => None,
            };
            wrong += miss.is_some() as usize;
            viz::Tile { pixels: d.row(r), label, wrong: miss }
        })
        .collect();
    let mut title = format!("{} random samples of {}", tiles.len(), file_name(data));
    if let Some(m) = predict {
        title += &format!(": {wrong} misclassified by {}", file_name(m));
    }
    // The model's class names (its answers are its classes), else the file's own.
    let names =
        model.as_ref().and_then(|m| m.schema.class_names.as_deref()).or(d.schema().class_names.as_deref());
    viz::digits_grid(&tiles, shape, names, &title)?.save(output)?;
    done(output, "the digits")
}

/// `show weights`: the first layer's weights of the units `units` picks, each as an image of
/// the inputs; says on stdout when the layer has more units than were drawn.
fn weights(model: &Path, units: Option<Units>, output: &Path) -> Result<()> {
    let m = bp_par::model::load(model)?;
    let n_in = m.net.arch().n_in();
    let shape = m.input_shape.ok_or_else(|| {
        Error::model(
            model,
            format!(
                "has {n_in} inputs with no image shape recorded, so they cannot be drawn as pictures; \
                 if they are one, train with --image-shape HxW (H·W = {n_in})"
            ),
        )
    })?;
    let n_units = m.net.arch().sizes()[1];
    let shown = units.unwrap_or(Units::First(100)).of(n_units);
    let title = if shown < n_units {
        format!("first-layer weights of {}: units 1-{shown} of {n_units}", file_name(model))
    } else {
        format!("first-layer weights of {} ({n_units} units)", file_name(model))
    };
    viz::weight_tiles(&m.net.weight(0), shown, shape, &title)?.save(output)?;
    let what = match units {
        _ if shown < n_units => {
            format!("the weights of units 1-{shown} of {n_units} (--units all draws every one)")
        }
        Some(Units::First(k)) if k > n_units => {
            format!("the weights of all {n_units} units (--units {k} asked for more than the layer has)")
        }
        _ => format!("the weights of all {n_units} units"),
    };
    done(output, &what)
}

/// `show confusion`: the confusion matrix of `model` on the labelled `data`, its classes
/// named as the model names them.
fn confusion(model: &Path, data: &Path, labels: &LabelArgs, split: SplitPart, output: &Path) -> Result<()> {
    let (m, d) = model_and_data(model, data, labels, false, split, true)?;
    bp_par::train::check_fit(&m.net, &d)?;
    if !matches!(d.targets(), Targets::Classes { .. }) {
        return Err(Error::data(data, "has no class labels to compare with"));
    }
    let e = m.evaluate(&d)?;
    let conf = e.confusion.ok_or_else(|| Error::data(data, "has no class labels"))?;
    let title = format!(
        "{} on {}: {:.2}% of {}",
        file_name(model),
        file_name(data),
        100.0 * conf.accuracy(),
        conf.total()
    );
    viz::confusion(&conf, m.schema.class_names.as_deref(), &title)?.save(output)?;
    done(output, "the confusion matrix")
}
