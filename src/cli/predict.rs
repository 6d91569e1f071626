//! `bp-par predict`: a model's outputs for every input row (class and probabilities, or
//! real-valued outputs) as CSV or JSON lines, on stdout or in a file. Pictures (a PNG or a
//! folder of them) go to [`super::images::predict`].

use super::args::PredictArgs;
use super::common::{check_writable, emit, json_f32s, model_and_data_keeping};
use bp_par::data::Dataset;
use bp_par::error::{Error, Result};
use bp_par::infer::outputs;
use bp_par::model::Task;
use bp_par::network::argmax;
use serde_json::json;

/// Runs `bp-par predict`.
pub fn predict(args: PredictArgs) -> Result<()> {
    if let Some(p) = &args.output {
        check_writable(p, "-o")?;
    }
    if super::images::is_image_input(&args.data) {
        if !args.keep_cols.is_empty() {
            return Err(Error::config(
                "--keep-cols names CSV columns; pictures have none (their file name is written)",
            ));
        }
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
    let k = model.net.arch.n_out();
    let rows = Rows {
        out: outputs(&model.net, &data),
        k,
        classify: model.task == Task::Classify,
        // Classes by name for a model trained on named labels (`cat`, `setosa`).
        names: match &model.schema.class_names {
            Some(n) => n.clone(),
            None => (0..k).map(|c| c.to_string()).collect(),
        },
        named: model.schema.class_names.is_some(),
        data: &data,
    };
    let text = if args.common.json { rows.json_lines() } else { rows.csv() };
    match &args.output {
        Some(p) => {
            bp_par::write_atomic(p, text.as_bytes())?;
            if !args.common.quiet {
                let n = bp_par::error::count(data.n_samples(), "prediction");
                eprintln!("bp-par: wrote {n} to {}", p.display());
            }
            Ok(())
        }
        None => emit(&text),
    }
}

/// A model's outputs for the rows of a data set, with what is written beside them.
struct Rows<'a> {
    /// `n x k` outputs.
    out: Vec<f32>,
    k: usize,
    classify: bool,
    /// The class names (numbers for a model of numbered classes).
    names: Vec<String>,
    named: bool,
    /// The rows: their true classes (if labelled) and kept columns (if any).
    data: &'a Dataset,
}

impl Rows<'_> {
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
            if let Some(kept) = &self.data.kept {
                let fields = kept.names.iter().cloned().zip(kept.row(i).iter().map(|v| json!(v)));
                line["kept"] = serde_json::Value::Object(fields.collect());
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
        let kept = self.data.kept.as_ref();
        let mut head: Vec<String> =
            kept.map_or(Vec::new(), |k| k.names.iter().map(|n| csv_field(n)).collect());
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

/// `text` as a CSV field: in double quotes (doubled inside) when it holds a comma, a quote or
/// a line end.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}
