//! `bp-par predict` on pictures: a PNG file or every `.png` of a folder (sorted by name),
//! each made into a row like the model's training images, predicted, and written with a
//! `file` column first; `--save-inputs` also writes those rows as CSV.

use super::{check_output_folder, file_name, image_files, image_model, image_rows};
use crate::cli::args::PredictArgs;
use crate::cli::common::emit;
use bp_par::error::Result;
use bp_par::infer::outputs;
use bp_par::model::Task;
use bp_par::network::argmax;
use serde_json::json;

/// `field` as a CSV field: quoted when it holds a comma, a quote or a line break.
fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// The rows as CSV, with the model's feature names as header when it has them (so predict
/// reads the file back as the same inputs). Values are written in the shortest form that
/// reads back to the same f32.
fn inputs_csv(features: &[f32], n_features: usize, names: Option<&[String]>) -> String {
    let mut text = String::new();
    if let Some(names) = names {
        text += &names.iter().map(|n| csv_field(n)).collect::<Vec<_>>().join(",");
        text.push('\n');
    }
    for row in features.chunks_exact(n_features) {
        text += &row.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(",");
        text.push('\n');
    }
    text
}

/// Runs `bp-par predict` on a picture or a folder of pictures.
pub fn predict(args: PredictArgs) -> Result<()> {
    for (flag, path) in [("-o", &args.output), ("--save-inputs", &args.save_inputs)] {
        if let Some(p) = path {
            check_output_folder(flag, p)?;
        }
    }
    let (model, shape, stats) = image_model(&args.model)?;
    let files = image_files(&args.data)?;
    let mut data = image_rows(&args.data, &files, shape, &stats)?;
    if let Some(p) = &args.save_inputs {
        let names = model.schema.feature_names.as_deref();
        bp_par::write_atomic(p, inputs_csv(&data.features, data.n_features, names).as_bytes())?;
    }
    model.norm.apply(&mut data.features, data.n_features);
    let k = model.net.arch.n_out();
    let out = outputs(&model.net, &data);
    let classify = model.task == Task::Classify;
    let names = model.schema.class_names.as_deref();
    let class = |c: usize| names.and_then(|n| n.get(c)).map_or_else(|| c.to_string(), |n| n.clone());
    let mut text = String::new();
    if args.common.json {
        for (f, row) in files.iter().zip(out.chunks_exact(k)) {
            let line = match (classify, names) {
                (true, Some(_)) => {
                    json!({"file": file_name(f), "prediction": class(argmax(row)), "probabilities": row})
                }
                (true, None) => {
                    json!({"file": file_name(f), "prediction": argmax(row), "probabilities": row})
                }
                (false, _) => json!({"file": file_name(f), "outputs": row}),
            };
            text += &format!("{line}\n");
        }
    } else {
        let head: Vec<String> = if classify {
            ["file".to_string(), "prediction".to_string()]
                .into_iter()
                .chain((0..k).map(|c| format!("p{c}")))
                .collect()
        } else {
            std::iter::once("file".to_string()).chain((0..k).map(|c| format!("y{c}"))).collect()
        };
        text += &head.join(",");
        text.push('\n');
        for (f, row) in files.iter().zip(out.chunks_exact(k)) {
            text += &csv_field(&file_name(f));
            if classify {
                text += &format!(",{}", csv_field(&class(argmax(row))));
            }
            for &v in row {
                text += &format!(",{}", bp_par::error::short(v));
            }
            text.push('\n');
        }
    }
    match &args.output {
        Some(p) => {
            bp_par::write_atomic(p, text.as_bytes())?;
            if !args.common.quiet {
                eprintln!("bp-par: wrote {} predictions to {}", files.len(), p.display());
            }
            Ok(())
        }
        None => emit(&text),
    }
}
