//! Real regression (issue 11): `train --loss mse --output linear --targets K` fits targets
//! outside (0, 1) and stores "linear" as the output's activation; sigmoid outputs refuse such
//! targets naming the row and column; `--output` is checked before any data is read; `eval`
//! reports RMSE, MAE and R²; mini-batch, full-batch and resumed runs work with linear outputs;
//! `gradcheck --output linear` passes.

use super::harness::Dir;

/// 200 rows of a CSV with a header: 3 features in [−1, 1] and 2 targets far outside (0, 1),
/// y0 = 2a − b − 0.37 and y1 = 3ab + 1.55 (a pseudo-random LCG makes the features).
fn prices(dir: &Dir) {
    let mut state = 11u64;
    let mut next = || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    };
    let mut text = String::from("a,b,c,price,volume\n");
    for _ in 0..200 {
        let (a, b, c) = (next(), next(), next());
        text += &format!("{a},{b},{c},{},{}\n", 2.0 * a - b - 0.37, 3.0 * a * b + 1.55);
    }
    dir.write("prices.csv", text);
}

const LINEAR: [&str; 6] = ["--targets", "2", "--loss", "mse", "--output", "linear"];

/// The model's metadata JSON under "bp_par".
fn metadata(dir: &Dir, model: &str) -> serde_json::Value {
    let bytes = std::fs::read(dir.path(model)).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    serde_json::from_str(&header.metadata().as_ref().unwrap()["bp_par"]).unwrap()
}

#[test]
fn linear_outputs_fit_targets_outside_the_unit_interval_and_eval_reports_rmse_mae_r2() {
    let dir = Dir::new();
    prices(&dir);
    let train = ["train", "prices.csv", "--epochs", "40", "--val-split", "0", "--save", "m.st", "-q"];
    dir.run(&[&train[..], &LINEAR].concat()).ok();
    let meta = metadata(&dir, "m.st");
    assert_eq!(meta["activations"], serde_json::json!(["relu", "linear"]), "{meta}");
    assert_eq!(meta["loss"], "mse");
    assert_eq!(meta["task"], "regress");
    let text = dir.run(&["eval", "--model", "m.st", "prices.csv"]).ok().stdout;
    for word in ["rmse", "mae", "r2", "price", "volume", "overall"] {
        assert!(text.contains(word), "{word} missing:\n{text}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&dir.run(&["eval", "--model", "m.st", "prices.csv", "--json"]).ok().stdout)
            .unwrap();
    let r = &json["regression"];
    let r2 = r["overall"]["r2"].as_f64().unwrap();
    // A linear target and a product of two inputs, 40 epochs of 128 ReLUs: a close fit (0.99
    // when measured); sigmoid outputs could not reach −2.4 or 4.5 at all.
    assert!(r2 > 0.9, "{r}");
    let per = r["per_output"].as_array().unwrap();
    assert_eq!(per.len(), 2);
    assert_eq!(per[0]["output"], "price");
    // Overall RMSE² is the mean of the outputs' RMSE² (equal row counts).
    let (a, b) = (per[0]["rmse"].as_f64().unwrap(), per[1]["rmse"].as_f64().unwrap());
    let overall = r["overall"]["rmse"].as_f64().unwrap();
    assert!((overall * overall - (a * a + b * b) / 2.0).abs() < 1e-9, "{r}");
    // The loss of a regression model is ½Σ(y − ŷ)², so with 2 outputs: loss = RMSE².
    let loss = json["loss"].as_f64().unwrap();
    assert!((loss - overall * overall).abs() < 1e-6 * loss.max(1.0), "{loss} vs {overall}");
}

#[test]
fn sigmoid_outputs_refuse_targets_outside_the_unit_interval_naming_row_and_column() {
    let dir = Dir::new();
    prices(&dir);
    for loss in ["mse", "bce"] {
        let out = dir.run(&["train", "prices.csv", "--targets", "2", "--loss", loss, "--epochs", "1"]);
        assert_eq!(out.code, 1, "{loss}: {}", out.stderr);
        // Row 1's price (2a − b − 0.37 of the first draws) is within [0, 1]; its volume
        // (3ab + 1.55) is not: the 5th column.
        assert!(
            out.stderr.contains("prices.csv: data row 1, column 4 (\"volume\", 0-based): target"),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains("outside [0, 1]"), "{}", out.stderr);
        assert!(out.stderr.contains("--output linear"), "{}", out.stderr);
    }
}

#[test]
fn output_is_checked_before_the_data_is_read() {
    let dir = Dir::new();
    // The data file does not exist: each error is about the flags, not the file.
    for (flags, want) in [
        (&["--output", "linear", "--targets", "1"][..], "--output linear needs --loss mse, not --loss xent"),
        (&["--output", "linear", "--loss", "bce", "--targets", "1"][..], "needs --loss mse, not --loss bce"),
        (
            &["--output", "linear", "--loss", "mse"][..],
            "--output linear fits real-valued targets: give --targets K",
        ),
        (&["--output", "sigmoid", "--loss", "xent"][..], "--output sigmoid does not go with --loss xent"),
    ] {
        let out = dir.run(&[&["train", "missing.csv"][..], flags].concat());
        assert_eq!(out.code, 2, "{flags:?}: {}", out.stderr);
        assert!(out.stderr.contains(want), "{flags:?}: {}", out.stderr);
    }
    let bad = dir.run(&["train", "missing.csv", "--output", "identity"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("expected softmax, sigmoid or linear"), "{}", bad.stderr);
}

#[test]
fn linear_runs_resume_exactly_and_train_full_batch() {
    let dir = Dir::new();
    prices(&dir);
    let base = [&["train", "prices.csv", "--hidden", "10", "--threads", "2", "-q"][..], &LINEAR].concat();
    let run = |extra: &[&str]| dir.run(&[&base[..], extra].concat());
    // (Constant: the run is extended with --epochs, which a cosine schedule follows anew.)
    run(&["--epochs", "4", "--save", "whole.st", "--lr-schedule", "constant"]).ok();
    run(&["--epochs", "2", "--checkpoint", "ck.st", "--save", "part.st", "--lr-schedule", "constant"]).ok();
    let resumed = dir.run(&[
        "train",
        "prices.csv",
        "--targets",
        "2",
        "--resume",
        "ck.st",
        "--epochs",
        "4",
        "--threads",
        "1",
        "--save",
        "resumed.st",
        "-q",
    ]);
    resumed.ok();
    assert!(
        std::fs::read(dir.path("resumed.st")).unwrap() == std::fs::read(dir.path("whole.st")).unwrap(),
        "the resumed linear run's model differs from the straight run's"
    );
    // The checkpoint fixes the output unit.
    let other =
        dir.run(&["train", "prices.csv", "--targets", "2", "--resume", "ck.st", "--output", "sigmoid"]);
    assert_eq!(other.code, 2, "{}", other.stderr);
    assert!(other.stderr.contains("--output sigmoid (the checkpoint has linear)"), "{}", other.stderr);
    // Full batch: L-BFGS lowers the training loss of a linear-output network.
    let out = run(&[
        "--optimizer",
        "lbfgs",
        "--max-iter",
        "30",
        "--val-split",
        "0",
        "--save",
        "lbfgs.st",
        "--json",
    ])
    .ok();
    let report: serde_json::Value = serde_json::from_str(out.stdout.lines().last().unwrap())
        .unwrap_or_else(|e| panic!("{e}: {}", out.stdout));
    let eval = dir.run(&["eval", "--model", "lbfgs.st", "prices.csv", "--json"]).ok().stdout;
    let eval: serde_json::Value = serde_json::from_str(&eval).unwrap();
    assert!(eval["regression"]["overall"]["r2"].as_f64().unwrap() > 0.8, "{eval} {report}");
}

#[test]
fn gradcheck_covers_linear_outputs() {
    let dir = Dir::new();
    let out = dir.run(&["gradcheck", "--loss", "mse", "--output", "linear", "--json"]).ok();
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["output"], "linear");
    assert_eq!(json["pass"], true);
    let bad = dir.run(&["gradcheck", "--output", "linear"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("--output linear needs --loss mse"), "{}", bad.stderr);
}
