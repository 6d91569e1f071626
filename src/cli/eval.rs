//! `bp-par eval`: a model's accuracy, loss (and L2 term) and confusion matrix on labelled
//! data, as text or JSON.

use super::args::EvalArgs;
use super::common::{emit, model_and_data};
use bp_par::error::{Error, Result};
use bp_par::infer::evaluate;
use serde_json::json;

/// Runs `bp-par eval`.
pub fn eval(args: EvalArgs) -> Result<()> {
    if args.l2.is_some_and(|l| !(l.is_finite() && l >= 0.0)) {
        return Err(Error::config(format!(
            "--l2 must be a non-negative number, got {}",
            args.l2.unwrap_or(0.0)
        )));
    }
    let (model, data) = model_and_data(&args.model, &args.data, &args.labels, false)?;
    bp_par::train::check_fit(&model.net, &data)?;
    let n = data.n_samples();
    let e = evaluate(&model.net, &data, args.l2.map(|l| (l, n)));
    let loss_name = model.net.arch.loss.name();
    // The class names of a model trained on named labels (`cat`, `setosa`).
    let names = model.schema.class_names.clone();
    if args.common.json {
        let confusion = e.confusion.as_ref().map(|c| c.rows().map(|r| r.to_vec()).collect::<Vec<_>>());
        let per_class = e.confusion.as_ref().map(|c| {
            (0..c.n_classes())
                .map(|k| {
                    let name = names.as_ref().map(|n| n[k].clone());
                    json!({"class": k, "name": name, "precision": c.precision(k), "recall": c.recall(k)})
                })
                .collect::<Vec<_>>()
        });
        let out = json!({
            "model": args.model.display().to_string(),
            "data": args.data.display().to_string(),
            "samples": n,
            "loss_function": loss_name,
            "loss": e.loss,
            "l2_term": args.l2.map(|_| e.l2_term),
            "cost": e.loss + e.l2_term,
            "accuracy": e.accuracy(),
            "confusion": confusion,
            "per_class": per_class,
        });
        return emit(&format!("{out}\n"));
    }
    let mut s = format!("{} on {}: {} samples\n", args.model.display(), args.data.display(), n);
    if let (Some(a), Some(c)) = (e.accuracy(), e.correct) {
        s += &format!("accuracy {:.2}% ({c}/{n})\n", 100.0 * a);
    }
    s += &format!("loss {:.6} (mean {loss_name} per sample)\n", e.loss);
    if let Some(l) = args.l2 {
        s += &format!(
            "l2 term {:.6} ((λ/2n)·ΣW², λ = {l}, n = {n}); cost {:.6}\n",
            e.l2_term,
            e.loss + e.l2_term
        );
    }
    if let Some(c) = &e.confusion {
        s += "\nconfusion matrix (rows: true class, columns: predicted)\n";
        s += &names.as_ref().map_or_else(|| c.render(), |n| c.render_named(n));
    }
    emit(&s)
}
