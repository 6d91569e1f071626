//! `bp-par predict`: a model's outputs for every input row (class and probabilities, or
//! real-valued outputs) as CSV or JSON lines, on stdout or in a file.

use super::args::PredictArgs;
use super::common::{emit, model_and_data};
use bp_par::error::Result;
use bp_par::infer::outputs;
use bp_par::model::Task;
use bp_par::network::argmax;
use serde_json::json;

/// Runs `bp-par predict`.
pub fn predict(args: PredictArgs) -> Result<()> {
    if args.labels.missing == Some(bp_par::data::Missing::Drop) {
        return Err(bp_par::error::Error::config(
            "--missing drop would leave rows out, but predict writes one line per input row: use mean or zero",
        ));
    }
    let (model, data) = model_and_data(&args.model, &args.data, &args.labels, true)?;
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
    if args.common.json {
        for row in out.chunks_exact(k) {
            let line = if classify {
                let p = argmax(row);
                let prediction = if named { json!(names[p]) } else { json!(p) };
                json!({"prediction": prediction, "probabilities": row})
            } else {
                json!({"outputs": row})
            };
            text += &line.to_string();
            text.push('\n');
        }
    } else {
        let head: Vec<String> = if classify {
            let sep = if named { "_" } else { "" };
            let probs = names.iter().map(|n| csv_field(&format!("p{sep}{n}")));
            std::iter::once("prediction".to_string()).chain(probs).collect()
        } else {
            (0..k).map(|c| format!("y{c}")).collect()
        };
        text += &head.join(",");
        text.push('\n');
        for row in out.chunks_exact(k) {
            if classify {
                text += &csv_field(&names[argmax(row)]);
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
                eprintln!("bp-par: wrote {} predictions to {}", data.n_samples(), p.display());
            }
            Ok(())
        }
        None => emit(&text),
    }
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
