//! `bp-par predict`: a model's outputs for every input row (class and probabilities, or
//! real-valued outputs) as CSV or JSON lines, on stdout or in a file. Pictures (a PNG or a
//! folder of them) go to [`super::images::predict`].

use super::args::PredictArgs;
use super::common::{emit, model_and_data};
use bp_par::error::{Error, Result};
use bp_par::infer::outputs;
use bp_par::model::Task;
use bp_par::network::argmax;
use serde_json::json;

/// Runs `bp-par predict`.
pub fn predict(args: PredictArgs) -> Result<()> {
    if super::images::is_image_input(&args.data) {
        return super::images::predict::predict(args);
    }
    if let Some(p) = &args.save_inputs {
        return Err(Error::config(format!(
            "--save-inputs {}: writes the rows made from pictures; {} is not a PNG picture or a folder of them",
            p.display(),
            args.data.display()
        )));
    }
    let (model, data) = model_and_data(&args.model, &args.data, &args.labels, true)?;
    let k = model.net.arch.n_out();
    let out = outputs(&model.net, &data);
    let mut text = String::with_capacity(out.len() * 12);
    let classify = model.task == Task::Classify;
    if args.common.json {
        for row in out.chunks_exact(k) {
            let line = if classify {
                json!({"prediction": argmax(row), "probabilities": row})
            } else {
                json!({"outputs": row})
            };
            text += &line.to_string();
            text.push('\n');
        }
    } else {
        let head: Vec<String> = if classify {
            std::iter::once("prediction".to_string()).chain((0..k).map(|c| format!("p{c}"))).collect()
        } else {
            (0..k).map(|c| format!("y{c}")).collect()
        };
        text += &head.join(",");
        text.push('\n');
        for row in out.chunks_exact(k) {
            if classify {
                text += &argmax(row).to_string();
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
