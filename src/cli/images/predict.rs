//! `bp-par predict` on pictures: a PNG file or every `.png` of a folder (sorted by name),
//! each made into a row like the model's training images, predicted, and written with a
//! `file` column first; `--save-inputs` also writes those rows as CSV.

use super::{check_output_folder, file_name, image_files, image_model, image_rows};
use crate::cli::args::PredictArgs;
use crate::cli::predict::{Rows, csv_field, write};
use bp_par::error::Result;

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
    let data = image_rows(&args.data, &files, shape, &stats)?;
    if let Some(p) = &args.save_inputs {
        let names = model.schema.feature_names.as_deref();
        bp_par::write_atomic(p, inputs_csv(data.features(), data.n_features(), names).as_bytes())?;
    }
    // The same writer as for rows of data: the file name first, class names, f32 as written.
    let names = files.iter().map(|f| file_name(f)).collect();
    let text = Rows::new(&model, &data, Some(("file", names)))?.text(args.common.json);
    write(args.output.as_deref(), &text, files.len(), args.common.quiet)
}
