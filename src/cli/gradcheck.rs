//! `bp-par gradcheck`: backpropagation against central differences in f64 on a small
//! network of the user's shape, activation and loss (with or without L2), on random data or
//! a data file's first rows. Prints the largest relative difference per layer (weights and
//! biases) and the worst, as text or JSON, and fails (exit 1) above `--tolerance`.

use super::args::GradcheckArgs;
use super::common::{emit, load_options};
use bp_par::data::{self, Normalization, NormalizeMode};
use bp_par::error::{Error, Result};
use bp_par::gradcheck::{LayerDiff, STEP, compare, random_problem};
use bp_par::network::{Arch, Network};
use serde_json::json;

/// The network and batch checked, and where the batch came from.
struct Problem {
    net: Network<f64>,
    x: Vec<f64>,
    y: Vec<f64>,
    rows: usize,
    /// The data file, or `None` for random rows.
    data: Option<String>,
}

/// Runs `bp-par gradcheck`.
pub fn gradcheck(args: &GradcheckArgs) -> Result<()> {
    check_ranges(args)?;
    let mut p = problem(args)?;
    let diffs = compare(&mut p.net, &p.x, &p.y, p.rows, args.l2, p.rows);
    let (worst_layer, worst_part, worst) = worst_of(&diffs);
    let pass = worst <= args.tolerance;
    let arch = &p.net.arch();
    let shape = arch.sizes().iter().map(ToString::to_string).collect::<Vec<_>>().join("-");
    if args.json {
        let layers: Vec<_> = diffs
            .iter()
            .enumerate()
            .map(|(l, d)| {
                let (n_out, n_in) = (arch.sizes()[l + 1], arch.sizes()[l]);
                json!({"layer": l + 1, "n_out": n_out, "n_in": n_in, "weights": d.weights, "biases": d.biases})
            })
            .collect();
        let out = json!({
            "layers": arch.sizes(), "activation": arch.activation.name(), "loss": arch.loss.name(),
            "output": arch.output().name(),
            "l2": args.l2, "rows": p.rows, "seed": args.seed, "data": p.data, "step": STEP,
            "per_layer": layers, "worst": worst, "worst_layer": worst_layer + 1, "worst_part": worst_part,
            "tolerance": args.tolerance, "pass": pass,
        });
        emit(&format!("{out}\n"))?;
    } else {
        let mut s = format!(
            "gradcheck {shape} {}/{}{}, λ = {}, {} {}, seed {}: backprop against central differences \
             (h = {STEP:e}) in f64\nlayer  shape      weights     biases\n",
            arch.activation,
            arch.loss,
            if arch.output() == arch.loss.default_output() {
                String::new()
            } else {
                format!("/{}", arch.output())
            },
            args.l2,
            p.rows,
            p.data.as_ref().map_or("random rows".to_string(), |d| format!("rows of {d}")),
            args.seed
        );
        for (l, d) in diffs.iter().enumerate() {
            let dims = format!("{}x{}", arch.sizes()[l + 1], arch.sizes()[l]);
            s += &format!("{:>5}  {dims:<9}  {:<10.3e}  {:.3e}\n", l + 1, d.weights, d.biases);
        }
        let verdict = if pass { "ok" } else { "FAILED" };
        s += &format!(
            "worst {worst:.3e} (layer {} {worst_part}), tolerance {}: {verdict}\n",
            worst_layer + 1,
            short(args.tolerance)
        );
        emit(&s)?;
    }
    if pass {
        Ok(())
    } else {
        Err(Error::other(format!(
            "gradient check failed: the worst relative difference {worst:.3e} (layer {} {worst_part}) \
             is above --tolerance {}",
            worst_layer + 1,
            short(args.tolerance)
        )))
    }
}

/// A tolerance as typed: 1e-6, 0.001, 0.
fn short(v: f64) -> String {
    if v != 0.0 && !(1e-3..1e4).contains(&v.abs()) { format!("{v:e}") } else { v.to_string() }
}

/// Refuses settings out of range before any work.
fn check_ranges(args: &GradcheckArgs) -> Result<()> {
    let bad = |m: String| Err(Error::config(m));
    if args.rows == 0 {
        return bad("--rows must be at least 1".into());
    }
    if !(args.l2.is_finite() && args.l2 >= 0.0) {
        return bad(format!("--l2 must be a non-negative number, got {}", args.l2));
    }
    if !(args.tolerance.is_finite() && args.tolerance >= 0.0) {
        return bad(format!("--tolerance must be a non-negative number, got {}", args.tolerance));
    }
    if args.data.is_some() && (args.inputs.is_some() || args.outputs.is_some()) {
        return bad("--inputs and --outputs size the random data; DATA has its own sizes".into());
    }
    Ok(())
}

/// The layer, part ("weights" or "biases") and value of the largest difference.
fn worst_of(diffs: &[LayerDiff]) -> (usize, &'static str, f64) {
    let mut worst = (0, "weights", 0.0f64);
    for (l, d) in diffs.iter().enumerate() {
        for (part, v) in [("weights", d.weights), ("biases", d.biases)] {
            if v > worst.2 || v.is_nan() {
                worst = (l, part, v);
            }
        }
    }
    worst
}

/// The network and batch: random ones, or the data file's first rows (normalised as `train`
/// does by default) with the network's input and output sizes taken from it.
fn problem(args: &GradcheckArgs) -> Result<Problem> {
    let Some(path) = &args.data else {
        let mut sizes = vec![args.inputs.unwrap_or(5)];
        sizes.extend(&args.hidden);
        sizes.push(args.outputs.unwrap_or(3));
        let arch = Arch::new(sizes, args.activation, args.loss).map_err(layers_error)?;
        let arch = with_output(arch, args)?;
        let (net, x, y) = random_problem(arch, args.rows, args.seed);
        return Ok(Problem { net, x, y, rows: args.rows, data: None });
    };
    let full = data::load(path, &load_options(&args.labels, None, None))?;
    let rows = args.rows.min(full.n_samples());
    if rows == 0 || full.n_outputs() == 0 {
        return Err(Error::data(path, "has no labelled rows to check gradients on"));
    }
    let mut d = full.subset(&(0..rows).collect::<Vec<_>>());
    d.normalize(&Normalization::fit_to(NormalizeMode::Auto, &d))?;
    let mut sizes = vec![d.n_features()];
    sizes.extend(&args.hidden);
    sizes.push(d.n_outputs());
    let arch = with_output(Arch::new(sizes, args.activation, args.loss).map_err(layers_error)?, args)?;
    let (net, _, _) = random_problem(arch, 0, args.seed);
    let x = d.features().iter().map(|&v| f64::from(v)).collect();
    let mut y = vec![0.0; rows * d.n_outputs()];
    let mut target = vec![0.0f32; d.n_outputs()];
    for (i, out) in y.chunks_exact_mut(d.n_outputs()).enumerate() {
        d.write_target(i, &mut target);
        out.iter_mut().zip(&target).for_each(|(o, &t)| *o = f64::from(t));
    }
    Ok(Problem { net, x, y, rows, data: Some(path.display().to_string()) })
}

/// `arch` with the `--output` units, when given (refused for a loss that cannot train them).
fn with_output(arch: Arch, args: &GradcheckArgs) -> Result<Arch> {
    match args.output {
        Some(o) => arch.with_output(o),
        None => Ok(arch),
    }
}

/// An architecture error, named by its flag.
fn layers_error(e: Error) -> Error {
    Error::config(format!("the layer sizes (--inputs, --hidden, --outputs): {e}"))
}
