//! `bp-par gradcheck`: backprop agrees with central differences for every activation and
//! loss, with and without L2, on random data and on a data file's rows; a tolerance it cannot
//! meet fails with exit 1 and says so; bad settings are usage errors.

use super::harness::{Dir, repo_file};

/// The parsed JSON result of `bp-par gradcheck ARGS --json`, and the exit code.
fn gradcheck(dir: &Dir, args: &[&str]) -> (i32, serde_json::Value, String) {
    let mut all = vec!["gradcheck", "--json"];
    all.extend(args);
    let run = dir.run(&all);
    let value = serde_json::from_str(run.stdout.trim()).unwrap_or(serde_json::Value::Null);
    (run.code, value, run.stderr)
}

#[test]
fn backprop_matches_central_differences_for_every_activation_and_loss() {
    let dir = Dir::new();
    for act in ["sigmoid", "tanh", "relu"] {
        for loss in ["xent", "mse", "bce"] {
            for l2 in ["0", "0.7"] {
                let args = [
                    "--activation",
                    act,
                    "--loss",
                    loss,
                    "--l2",
                    l2,
                    "--inputs",
                    "6",
                    "--hidden",
                    "5,4",
                    "--outputs",
                    "3",
                ];
                let (code, v, stderr) = gradcheck(&dir, &args);
                assert_eq!(code, 0, "{act} {loss} {l2}: {stderr}");
                assert_eq!(v["pass"], true);
                assert_eq!(v["per_layer"].as_array().unwrap().len(), 3, "{v}");
                // Every layer was compared (a difference of exactly 0 everywhere would mean
                // nothing was) and the worst is the largest of them.
                let parts: Vec<f64> = v["per_layer"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .flat_map(|l| [l["weights"].as_f64().unwrap(), l["biases"].as_f64().unwrap()])
                    .collect();
                assert!(parts.iter().all(|&d| d > 0.0 && d < 1e-6), "{act} {loss} {l2}: {parts:?}");
                assert_eq!(v["worst"].as_f64().unwrap(), parts.iter().fold(0.0, |m: f64, &d| m.max(d)));
            }
        }
    }
}

#[test]
fn a_tolerance_it_cannot_meet_fails_with_exit_1_and_the_table_is_printed() {
    let dir = Dir::new();
    let run = dir.run(&["gradcheck", "--tolerance", "0", "--inputs", "4", "--hidden", "3", "--outputs", "2"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout.contains("gradcheck 4-3-2 relu/xent, λ = 0, 10 random rows, seed 1"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("    1  3x4"), "{}", run.stdout);
    assert!(run.stdout.contains("tolerance 0: FAILED"), "{}", run.stdout);
    assert!(run.stderr.contains("gradient check failed: the worst relative difference"), "{}", run.stderr);
    assert!(run.stderr.contains("is above --tolerance 0"), "{}", run.stderr);
    let (code, v, _) =
        gradcheck(&dir, &["--tolerance", "1e-12", "--inputs", "4", "--hidden", "3", "--outputs", "2"]);
    assert_eq!((code, &v["pass"]), (1, &serde_json::Value::Bool(false)));
    let ok = dir.run(&["gradcheck", "--inputs", "4", "--hidden", "3", "--outputs", "2"]).ok();
    assert!(ok.stdout.contains("tolerance 1e-5: ok"), "{}", ok.stdout);
}

#[test]
fn a_data_files_first_rows_set_the_input_and_output_sizes() {
    let dir = Dir::new();
    let digits = repo_file("datasets/digits.csv");
    let (code, v, stderr) = gradcheck(&dir, &[&digits, "--rows", "4", "--hidden", "6", "--loss", "bce"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(v["layers"], serde_json::json!([400, 6, 10]));
    assert_eq!(v["rows"], 4);
    assert_eq!(v["data"], digits.as_str());
    // ex4's shape on real digits: rounding in the differences reached 1.0e-6 here (bce,
    // λ = 1), which the default tolerance must not call a failure.
    for loss in ["xent", "mse", "bce"] {
        let (code, v, stderr) = gradcheck(&dir, &[&digits, "--hidden", "25", "--l2", "1", "--loss", loss]);
        assert_eq!(code, 0, "{loss}: {stderr}");
        assert!(v["worst"].as_f64().unwrap() < 1e-5, "{loss}: {v}");
    }
}

#[test]
fn bad_settings_are_usage_errors() {
    let dir = Dir::new();
    for (args, want) in [
        (vec!["--rows", "0"], "--rows must be at least 1"),
        (vec!["--l2", "-1"], "--l2 must be a non-negative number"),
        (vec!["--tolerance", "-0.5"], "--tolerance must be a non-negative number"),
        (vec!["--hidden", "0"], "the layer sizes (--inputs, --hidden, --outputs): layer size 1 is zero"),
        (vec!["--outputs", "0"], "the layer sizes (--inputs, --hidden, --outputs): layer size 2 is zero"),
    ] {
        let mut all = vec!["gradcheck"];
        all.extend(&args);
        let run = dir.run(&all);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(want), "{args:?}: {}", run.stderr);
    }
}
