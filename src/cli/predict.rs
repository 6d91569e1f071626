//! `bp-par predict`: a model's outputs for every input row (class and probabilities, or
//! real-valued outputs) as CSV or JSON lines, on stdout or in a file.

use super::args::PredictArgs;
use super::common::{check_writable, emit, json_f32s, model_and_data};
use bp_par::error::Result;
use bp_par::infer::outputs;
use bp_par::model::Task;
use bp_par::network::argmax;
use serde_json::json;

/// Runs `bp-par predict`.
pub fn predict(args: PredictArgs) -> Result<()> {
    if let Some(p) = &args.output {
        check_writable(p, "-o")?;
    }
    let (model, data) = model_and_data(&args.model, &args.data, &args.labels, true, args.rows.split, false)?;
    let k = model.net.arch.n_out();
    let out = outputs(&model.net, &data);
    let mut text = String::with_capacity(out.len() * 12);
    let classify = model.task == Task::Classify;
    // The true class beside the prediction when the rows have labels.
    let truth = data.labels().filter(|_| classify);
    if args.common.json {
        for (i, row) in out.chunks_exact(k).enumerate() {
            let line = if let Some(t) = truth {
                json!({"prediction": argmax(row), "label": t[i], "probabilities": json_f32s(row)})
            } else if classify {
                json!({"prediction": argmax(row), "probabilities": json_f32s(row)})
            } else {
                json!({"outputs": json_f32s(row)})
            };
            text += &line.to_string();
            text.push('\n');
        }
    } else {
        let head: Vec<String> = if classify {
            let label = truth.map(|_| "label".to_string());
            std::iter::once("prediction".to_string())
                .chain(label)
                .chain((0..k).map(|c| format!("p{c}")))
                .collect()
        } else {
            (0..k).map(|c| format!("y{c}")).collect()
        };
        text += &head.join(",");
        text.push('\n');
        for (i, row) in out.chunks_exact(k).enumerate() {
            if classify {
                text += &argmax(row).to_string();
                text.push(',');
            }
            if let Some(t) = truth {
                text += &t[i].to_string();
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
