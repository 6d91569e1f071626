//! `bp-par predict`: a model's outputs for every input row (class and probabilities, or
//! real-valued outputs) as CSV or JSON lines, on stdout or in a file. Pictures (a PNG or a
//! folder of them) go to [`super::images::predict`].

use super::args::{PredictArgs, SplitPart};
use super::common::{check_writable, emit, json_f32s, model_and_data_keeping};
use bp_par::data::Dataset;
use bp_par::error::{Error, Result};
use bp_par::model::{Model, Task};
use bp_par::network::argmax;
use serde_json::json;

/// Runs `bp-par predict`.
pub fn predict(args: PredictArgs) -> Result<()> {
    if let Some(p) = &args.output {
        check_writable(p, "-o")?;
    }
    if super::images::is_image_input(&args.data) {
        check_picture_args(&args)?;
        return super::images::predict::predict(args);
    }
    check_rows_args(&args)?;
    let (model, data) = model_and_data_keeping(
        &args.model,
        &args.data,
        &args.labels,
        true,
        args.rows.split,
        false,
        &args.keep_cols,
    )?;
    if !args.common.quiet {
        warn_foreign_labels(&model, &data);
    }
    let text = Rows::new(&model, &data, None)?.text(args.common.json);
    write(args.output.as_deref(), &text, data.n_samples(), args.common.quiet)
}

/// Warns of true labels outside the model's classes (`eval` refuses such a file; predict
/// writes them as they are beside the predictions): how many rows, and which labels.
fn warn_foreign_labels(model: &bp_par::model::Model, data: &bp_par::data::Dataset) {
    let k = model.net.arch().n_out();
    let Some(labels) = data.labels().filter(|_| model.task == bp_par::model::Task::Classify) else { return };
    let foreign: Vec<u32> = labels.iter().copied().filter(|&l| l as usize >= k).collect();
    if foreign.is_empty() {
        return;
    }
    let mut distinct = foreign.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let shown: Vec<String> = distinct.iter().take(5).map(u32::to_string).collect();
    let more = if distinct.len() > 5 { ", …" } else { "" };
    let rows = if foreign.len() == 1 {
        "1 row has a label".to_string()
    } else {
        format!("{} rows have labels", foreign.len())
    };
    eprintln!(
        "bp-par: warning: {}: {rows} outside the model's {k} classes ({}{more}), written as they are \
         beside the predictions (eval refuses them)",
        data.path().display(),
        shown.join(", ")
    );
}

/// A model's outputs for the rows of a data set, with what is written beside them.
pub(crate) struct Rows<'a> {
    /// `n x k` outputs.
    out: Vec<f32>,
    k: usize,
    classify: bool,
    /// The class names (numbers for a model of numbered classes).
    names: Vec<String>,
    named: bool,
    /// The rows: their true classes (if labelled) and kept columns (if any).
    data: &'a Dataset,
    /// A first column (name, one value per row) written before everything else, at the top
    /// level of the JSON objects: the file name of each picture.
    lead: Option<(&'static str, Vec<String>)>,
}

impl<'a> Rows<'a> {
    /// The outputs of `model` for `data`, ready to be written.
    /// An error names the first row whose outputs are not finite (extreme input values).
    pub(crate) fn new(
        model: &Model,
        data: &'a Dataset,
        lead: Option<(&'static str, Vec<String>)>,
    ) -> bp_par::error::Result<Self> {
        let k = model.net.arch().n_out();
        // Raw rows: the model applies its normalisation and refuses non-finite outputs.
        let out = model.outputs(data)?;
        Ok(Rows {
            out,
            k,
            classify: model.task == Task::Classify,
            // Classes by name for a model trained on named labels (`cat`, `setosa`).
            names: match &model.schema.class_names {
                Some(n) => n.clone(),
                None => (0..k).map(|c| c.to_string()).collect(),
            },
            named: model.schema.class_names.is_some(),
            data,
            lead,
        })
    }

    /// The text `predict` writes: JSON lines or CSV.
    pub(crate) fn text(&self, json: bool) -> String {
        if json { self.json_lines() } else { self.csv() }
    }

    /// The true classes, for a classifier of labelled rows.
    fn truth(&self) -> Option<&[u32]> {
        self.data.labels().filter(|_| self.classify)
    }

    /// One JSON object per row: the kept columns (`kept`), the prediction, the true class
    /// when known, and the probabilities (or a regression's outputs).
    fn json_lines(&self) -> String {
        let mut text = String::with_capacity(self.out.len() * 12);
        for (i, row) in self.out.chunks_exact(self.k).enumerate() {
            let mut line = if self.classify {
                let p = argmax(row);
                let prediction = if self.named { json!(self.names[p]) } else { json!(p) };
                let mut o = json!({"prediction": prediction, "probabilities": json_f32s(row)});
                if let Some(t) = self.truth() {
                    o["label"] = if self.named { json!(class_text(&self.names, t[i])) } else { json!(t[i]) };
                }
                o
            } else {
                json!({"outputs": json_f32s(row)})
            };
            if let Some(kept) = &self.data.kept() {
                let fields = kept.names.iter().cloned().zip(kept.row(i).iter().map(|v| json!(v)));
                line["kept"] = serde_json::Value::Object(fields.collect());
            }
            if let Some((name, values)) = &self.lead {
                line[*name] = json!(values[i]);
            }
            text += &line.to_string();
            text.push('\n');
        }
        text
    }

    /// CSV: the kept columns, then `prediction` (and `label` for labelled rows) and a
    /// probability per class for classifiers, `y0, y1, ...` for regression.
    fn csv(&self) -> String {
        let mut text = String::with_capacity(self.out.len() * 12);
        let kept = self.data.kept();
        let mut head: Vec<String> = self.lead.iter().map(|(n, _)| n.to_string()).collect();
        head.extend(kept.map_or(Vec::new(), |k| k.names.iter().map(|n| csv_field(n)).collect()));
        if self.classify {
            let sep = if self.named { "_" } else { "" };
            head.push("prediction".into());
            head.extend(self.truth().map(|_| "label".to_string()));
            head.extend(self.names.iter().map(|n| csv_field(&format!("p{sep}{n}"))));
        } else {
            head.extend((0..self.k).map(|c| format!("y{c}")));
        }
        text += &head.join(",");
        text.push('\n');
        for (i, row) in self.out.chunks_exact(self.k).enumerate() {
            if let Some((_, values)) = &self.lead {
                text += &csv_field(&values[i]);
                text.push(',');
            }
            if let Some(kept) = kept {
                kept.row(i).iter().for_each(|v| {
                    text += &csv_field(v);
                    text.push(',');
                });
            }
            if self.classify {
                text += &csv_field(&self.names[argmax(row)]);
                text.push(',');
            }
            if let Some(t) = self.truth() {
                text += &csv_field(&class_text(&self.names, t[i]));
                text.push(',');
            }
            let vals: Vec<String> = row.iter().map(|&v| bp_par::error::short(v)).collect();
            text += &vals.join(",");
            text.push('\n');
        }
        text
    }
}

/// Refuses the data options that pictures have no use for (rather than ignoring them).
fn check_picture_args(args: &PredictArgs) -> Result<()> {
    let l = &args.labels;
    let given = [
        ("--keep-cols", !args.keep_cols.is_empty()),
        ("--split", args.rows.split != SplitPart::All),
        ("--label-col", l.label_col.is_some()),
        ("--delimiter", l.delimiter.is_some()),
        ("--missing", l.missing.is_some()),
        ("--one-hot", l.one_hot.is_some()),
        ("--labels", l.labels.is_some()),
    ];
    match given.iter().find(|(_, on)| *on) {
        Some((flag, _)) => Err(Error::config(format!(
            "{flag} is for rows of data; {} is a picture (or a folder of them), whose file name is written",
            args.data.display()
        ))),
        None => Ok(()),
    }
}

/// Refuses the options that do not fit rows of data (as opposed to pictures).
fn check_rows_args(args: &PredictArgs) -> Result<()> {
    if let Some(p) = &args.save_inputs {
        return Err(Error::config(format!(
            "--save-inputs {}: writes the rows made from pictures; {} is not a PNG picture or a folder of them",
            p.display(),
            args.data.display()
        )));
    }
    if args.labels.missing == Some(bp_par::data::Missing::Drop) {
        return Err(Error::config(
            "--missing drop would leave rows out, but predict writes one line per input row: use mean or zero",
        ));
    }
    Ok(())
}

/// Class `c`'s name (its number for a model of numbered classes, or for a label the model
/// does not have: predict does not check labels).
fn class_text(names: &[String], c: u32) -> String {
    names.get(c as usize).cloned().unwrap_or_else(|| c.to_string())
}

/// Writes predictions to `output` (saying so on stderr unless `quiet`), or to stdout.
pub(crate) fn write(output: Option<&std::path::Path>, text: &str, n: usize, quiet: bool) -> Result<()> {
    match output {
        Some(p) => {
            bp_par::write_atomic(p, text.as_bytes())?;
            if !quiet {
                eprintln!("bp-par: wrote {} to {}", bp_par::error::count(n, "prediction"), p.display());
            }
            Ok(())
        }
        None => emit(text),
    }
}

/// `text` as a CSV field: in double quotes (doubled inside) when it holds a comma, a quote or
/// a line end.
pub(crate) fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}
