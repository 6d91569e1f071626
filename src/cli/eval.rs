//! `bp-par eval`: a model's accuracy, loss (and L2 term) and confusion matrix on labelled
//! data, or for a regression model RMSE, MAE and R² per output and overall, as text or JSON.

use super::args::EvalArgs;
use super::common::{emit, model_and_data};
use bp_par::error::{Error, Result};
use bp_par::metrics::{Fit, Regression};
use bp_par::model::Model;
use serde_json::json;

/// Runs `bp-par eval`.
pub fn eval(args: EvalArgs) -> Result<()> {
    if args.l2.is_some_and(|l| !(l.is_finite() && l >= 0.0)) {
        return Err(Error::config(format!(
            "--l2 must be a non-negative number, got {}",
            args.l2.unwrap_or(0.0)
        )));
    }
    let (model, data) =
        model_and_data(&args.model, &args.data, &args.labels, false, args.rows.split, !args.common.quiet)?;
    bp_par::train::check_fit(&model.net, &data)?;
    let n = data.n_samples();
    let mut e = model.evaluate(&data)?;
    if let Some(lambda) = args.l2 {
        // (λ/2n)·ΣW² over these n rows, as the training cost counts it.
        e.l2_term = lambda / n.max(1) as f64 * model.net.half_sum_sq_weights();
    }
    let loss_name = model.net.arch().loss.name();
    let names = target_names(&model, model.net.arch().n_out());
    // The class names of a model trained on named labels (`cat`, `setosa`).
    let class_names = model.schema.class_names.clone();
    if args.common.json {
        let confusion = e.confusion.as_ref().map(|c| c.rows().map(|r| r.to_vec()).collect::<Vec<_>>());
        let per_class = e.confusion.as_ref().map(|c| {
            (0..c.n_classes())
                .map(|k| {
                    let name = class_names.as_ref().map(|n| n[k].clone());
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
            "regression": e.regression.as_ref().map(|r| regression_json(r, &names)),
        });
        return emit(&format!("{out}\n"));
    }
    let samples = bp_par::error::count(n, "sample");
    let mut s = format!("{} on {}: {samples}\n", args.model.display(), args.data.display());
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
    if let Some(r) = &e.regression {
        s += &regression_text(r, &names);
    }
    if let Some(c) = &e.confusion {
        s += "\nconfusion matrix (rows: true class, columns: predicted)\n";
        s += &class_names.as_ref().map_or_else(|| c.render(), |n| c.render_named(n));
    }
    emit(&s)
}

/// The targets' names: the training file's header's, else y0, y1, ... (`predict`'s columns).
fn target_names(model: &Model, k: usize) -> Vec<String> {
    match &model.schema.target_names {
        Some(n) if n.len() == k => n.clone(),
        _ => (0..k).map(|j| format!("y{j}")).collect(),
    }
}

/// RMSE, MAE and R² as JSON: the overall figures and one object per output.
fn regression_json(r: &Regression, names: &[String]) -> serde_json::Value {
    let fit = |f: &Fit| json!({"rmse": f.rmse, "mae": f.mae, "r2": f.r2});
    let per_output: Vec<_> = r
        .per_output
        .iter()
        .zip(names)
        .map(|(f, name)| json!({"output": name, "rmse": f.rmse, "mae": f.mae, "r2": f.r2}))
        .collect();
    json!({"overall": fit(&r.overall), "per_output": per_output})
}

/// RMSE, MAE and R² as a table: one line per output, then the overall line.
fn regression_text(r: &Regression, names: &[String]) -> String {
    let width = names.iter().map(|n| n.chars().count()).chain([7]).max().unwrap_or(7);
    let mut s = format!("\n{:<width$}  {:>12}  {:>12}  {:>9}\n", "output", "rmse", "mae", "r2");
    let mut line = |name: &str, f: &Fit| {
        s += &format!("{name:<width$}  {:>12.6}  {:>12.6}  {:>9.4}\n", f.rmse, f.mae, f.r2);
    };
    for (f, name) in r.per_output.iter().zip(names) {
        line(name, f);
    }
    line("overall", &r.overall);
    s + "(overall: RMSE and MAE over every value, R² the mean of the outputs')\n"
}
