//! `bp-par predict`: a model's outputs for every input row (class and probabilities, or
//! real-valued outputs) as CSV or JSON lines, on stdout or in a file. Pictures (a PNG or a
//! folder of them) go to [`super::images::predict`].

use super::args::PredictArgs;
use super::common::{check_writable, emit, json_f32s, model_and_data};
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
        return super::images::predict::predict(args);
    }
    check_rows_args(&args)?;
    let (model, data) = model_and_data(&args.model, &args.data, &args.labels, true, args.rows.split, false)?;
    let k = model.net.arch.n_out();
    // Classes by name for a model trained on named labels (`cat`, `setosa`).
    let names: Vec<String> = match &model.schema.class_names {
        Some(n) => n.clone(),
        None => (0..k).map(|c| c.to_string()).collect(),
    };
    let named = model.schema.class_names.is_some();
    let out = outputs(&model.net, &data);
    let mut text = String::with_capacity(out.len() * 12);
    let classify = model.task == Task::Classify;
    // The true class beside the prediction when the rows have labels.
    let truth = data.labels().filter(|_| classify);
    if args.common.json {
        for (i, row) in out.chunks_exact(k).enumerate() {
            let line = if classify {
                let p = argmax(row);
                let prediction = if named { json!(names[p]) } else { json!(p) };
                match truth {
                    Some(t) => {
                        let label = if named { json!(class_text(&names, t[i])) } else { json!(t[i]) };
                        json!({"prediction": prediction, "label": label, "probabilities": json_f32s(row)})
                    }
                    None => json!({"prediction": prediction, "probabilities": json_f32s(row)}),
                }
            } else {
                json!({"outputs": json_f32s(row)})
            };
            text += &line.to_string();
            text.push('\n');
        }
    } else {
        let head: Vec<String> = if classify {
            let sep = if named { "_" } else { "" };
            let probs = names.iter().map(|n| csv_field(&format!("p{sep}{n}")));
            let label = truth.map(|_| "label".to_string());
            std::iter::once("prediction".to_string()).chain(label).chain(probs).collect()
        } else {
            (0..k).map(|c| format!("y{c}")).collect()
        };
        text += &head.join(",");
        text.push('\n');
        for (i, row) in out.chunks_exact(k).enumerate() {
            if classify {
                text += &csv_field(&names[argmax(row)]);
                text.push(',');
            }
            if let Some(t) = truth {
                text += &csv_field(&class_text(&names, t[i]));
                text.push(',');
            }
            let vals: Vec<String> = row.iter().map(|&v| bp_par::error::short(v)).collect();
            text += &vals.join(",");
            text.push('\n');
        }
    }
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
