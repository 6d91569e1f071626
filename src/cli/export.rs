//! `bp-par export MODEL -o model.onnx`: a model as one ONNX graph ([`bp_par::onnx`]), with
//! what the graph leaves to the caller said on stderr.

use super::args::ExportArgs;
use bp_par::error::Result;

/// Runs `bp-par export`.
pub fn export(args: &ExportArgs) -> Result<()> {
    let notes = bp_par::onnx::export(&args.model, &args.output)?;
    if !args.quiet {
        eprintln!(
            "bp-par: wrote {} (ONNX opset {}, input `features` [N, d] float32)",
            args.output.display(),
            bp_par::onnx::OPSET
        );
        for note in notes {
            eprintln!("bp-par: note: {note}");
        }
    }
    Ok(())
}
