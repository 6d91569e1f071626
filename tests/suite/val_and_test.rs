//! `train --val-split F --test TEST` together: the validation rows drive early stopping (and
//! everything else that watches held-out figures), the test file is only reported: in the text
//! and `--json` reports, and per epoch in the `--metrics` file's `test_*` columns beside the
//! `val_*` ones. A resumed run with both writes the same model and the same metrics rows.

use super::harness::{Dir, Run, repo_file};
use serde_json::Value;

/// Writes the shipped digits as a user's two files: `train.csv` (four rows of every five)
/// and `test.csv` (every fifth row), both with the header. The digits are sorted by class,
/// so both files hold every class.
fn user_files(dir: &Dir) {
    let text = std::fs::read_to_string(repo_file("datasets/digits.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let (mut train, mut test) = (vec![header], vec![header]);
    for (i, l) in lines.enumerate() {
        if i % 5 == 4 { test.push(l) } else { train.push(l) }
    }
    dir.write("train.csv", train.join("\n") + "\n");
    dir.write("test.csv", test.join("\n") + "\n");
}

/// `bp-par train train.csv` with a small network, one thread, a 20% validation split and
/// early stopping on the validation loss, the best epoch's weights restored.
fn train(dir: &Dir, extra: &[&str]) -> Run {
    let mut args = vec![
        "train",
        "train.csv",
        "--hidden",
        "16",
        "--batch",
        "50",
        "--threads",
        "1",
        "--lr",
        "0.5",
        "--val-split",
        "0.2",
        "--early-stopping",
        "--patience",
        "2",
        "--restore-best",
    ];
    args.extend_from_slice(extra);
    dir.run(&args)
}

fn json(run: &Run) -> Value {
    serde_json::from_str(run.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

/// The rows of a metrics CSV (without its `#` stop line), by column name.
fn csv_rows(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    (header, lines.map(|l| l.split(',').map(String::from).collect()).collect())
}

#[test]
fn early_stopping_watches_the_validation_rows_while_the_test_file_is_reported() {
    let dir = Dir::new();
    user_files(&dir);
    let common = ["--json", "-q", "--epochs", "40"];
    let alone = train(&dir, &[&common[..], &["--save", "alone.st", "--metrics", "alone.csv"]].concat()).ok();
    let both = train(
        &dir,
        &[&common[..], &["--test", "test.csv", "--save", "both.st", "--metrics", "both.csv"]].concat(),
    )
    .ok();
    let (alone, both) = (json(&alone), json(&both));
    // The rule stopped the run early, at the same epoch with or without the test file: the
    // validation rows drove it, and the saved models are the same bytes.
    assert_eq!(both["stop"]["rule"], "early-stopping", "{both}");
    assert!(both["stop"]["epoch"].as_u64().unwrap() < 40, "{both}");
    assert_eq!(alone["stop"], both["stop"]);
    assert_eq!(std::fs::read(dir.path("alone.st")).unwrap(), std::fs::read(dir.path("both.st")).unwrap());
    // --json: the validation figures are the held-out ones, the test file's are beside them.
    assert_eq!((&both["held_out"], &both["held_out_samples"]), (&Value::from("val"), &Value::from(800)));
    for k in ["held_out_loss", "held_out_acc"] {
        assert_eq!(alone[k], both[k], "{k}");
    }
    assert_eq!(both["test_samples"], 1000);
    assert!(alone.get("test_acc").is_none(), "{alone}");
    // The reported test figures are those of the saved model: `bp-par eval` agrees.
    let eval = dir.run(&["eval", "--model", "both.st", "test.csv", "--json", "--threads", "1"]).ok();
    let eval = json(&eval);
    assert_eq!(eval["samples"], 1000);
    assert_eq!(eval["accuracy"], both["test_acc"]);
    let (a, b) = (eval["loss"].as_f64().unwrap(), both["test_loss"].as_f64().unwrap());
    assert!((a - b).abs() <= 1e-12 * a.abs(), "eval's loss {a}, train's report {b}");

    // --metrics: a run with one held-out set keeps its columns; with both, the validation
    // figures are the `val_*` columns (the alone run's `test_*` ones, the same numbers) and the
    // test file's are measured on every epoch's weights.
    let (h1, r1) = csv_rows(&std::fs::read_to_string(dir.path("alone.csv")).unwrap());
    let (h2, r2) = csv_rows(&std::fs::read_to_string(dir.path("both.csv")).unwrap());
    assert_eq!(h1.join(","), "epoch,loss,train_acc,test_loss,test_acc,lr,seconds,samples_per_s");
    assert_eq!(
        h2.join(","),
        "epoch,loss,train_acc,val_loss,val_acc,test_loss,test_acc,lr,seconds,samples_per_s"
    );
    assert_eq!(r1.len(), r2.len());
    for (a, b) in r1.iter().zip(&r2) {
        assert_eq!(a[..5], b[..5], "the figures up to the validation accuracy");
        assert_eq!(a[5], b[7], "lr");
        assert!(b[5].parse::<f64>().is_ok() && b[6].parse::<f64>().is_ok(), "{b:?}");
    }
    // The restored best epoch's test accuracy is the report's.
    let best = both["stop"]["reason"].as_str().unwrap();
    let best_epoch: usize =
        best.split("best epoch ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    let row = &r2[best_epoch - 1];
    assert_eq!(row[6].parse::<f64>().unwrap(), both["test_acc"].as_f64().unwrap(), "{row:?}");
    // `show curves` draws the validation curves of such a file.
    dir.run(&["show", "curves", "both.csv", "-o", "c.png"]).ok();

    // The text report names both, clearly.
    let text = train(&dir, &["-q", "--epochs", "2", "--test", "test.csv"]).ok();
    for want in ["\ntrain: loss ", "\nval: loss ", "(800 samples)\n", "\ntest: loss ", "(1000 samples)\n"] {
        assert!(text.stdout.contains(want), "{want:?} in\n{}", text.stdout);
    }
    let run = train(&dir, &["--epochs", "1", "--test", "test.csv"]).ok();
    assert!(
        run.stderr.contains("800 val samples, 1000 test samples (reported, not watched)"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_resumed_run_with_both_writes_the_same_model_and_metrics() {
    let dir = Dir::new();
    user_files(&dir);
    // (Constant: the run is extended with --epochs, which a cosine schedule follows anew.)
    let both = ["-q", "--test", "test.csv", "--lr-schedule", "constant"];
    let with = |extra: &[&str]| train(&dir, &[&both[..], extra].concat()).ok();
    with(&["--epochs", "5", "--save", "whole.st", "--metrics", "whole.jsonl"]);
    with(&["--epochs", "2", "--checkpoint", "ck.st", "--metrics", "resumed.jsonl"]);
    let run =
        with(&["--resume", "ck.st", "--epochs", "5", "--save", "resumed.st", "--metrics", "resumed.jsonl"]);
    assert_eq!(
        std::fs::read(dir.path("whole.st")).unwrap(),
        std::fs::read(dir.path("resumed.st")).unwrap(),
        "{}",
        run.stderr
    );
    // JSON lines: the same figures epoch by epoch (but the timings), under val_* and test_*
    // keys (the rule may stop both runs before epoch 5, at the same epoch).
    let rows = |name: &str| -> Vec<Value> {
        let text = std::fs::read_to_string(dir.path(name)).unwrap();
        let all = text.lines().map(|l| serde_json::from_str::<Value>(l).unwrap());
        all.filter(|v| v.get("stop").is_none()).collect()
    };
    let (whole, resumed) = (rows("whole.jsonl"), rows("resumed.jsonl"));
    assert!(whole.len() >= 3, "{whole:?}");
    assert_eq!(whole.len(), resumed.len());
    for (a, b) in whole.iter().zip(&resumed) {
        for k in ["epoch", "loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "lr"] {
            assert!(a[k].is_number(), "{k} in {a}");
            assert_eq!(a[k], b[k], "{k}");
        }
    }
    // Resuming into that file without the test file would mix two layouts: refused up front.
    let run = train(&dir, &["-q", "--resume", "ck.st", "--epochs", "5", "--metrics", "resumed.jsonl"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("resumed.jsonl: has separate validation and test columns"), "{}", run.stderr);
}
