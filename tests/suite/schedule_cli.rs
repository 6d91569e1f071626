//! `train`'s schedule and stopping-rule flags through the real binary: validation before
//! any data is read, the stop reason on stderr, stdout, --json, --metrics and in the model's
//! metadata, and a resumed run with a plateau schedule and early stopping that writes the same
//! model as an uninterrupted one.

use super::harness::{Dir, Run, repo_file};

/// `bp-par train` on the shipped digits with a small network, one thread, quiet unless
/// `extra` says otherwise.
fn train(dir: &Dir, extra: &[&str]) -> Run {
    let digits = repo_file("datasets/digits.csv");
    let mut args = vec!["train", digits.as_str(), "--hidden", "16", "--batch", "50", "--threads", "1"];
    args.extend_from_slice(extra);
    dir.run(&args)
}

#[test]
fn bad_schedule_and_stopping_flags_are_refused_before_the_data_is_read() {
    let dir = Dir::new();
    // A missing data file: the flag's error must come first.
    let cases: [(&[&str], &str); 9] = [
        (&["--lr-step", "3"], "--lr-step applies to --lr-schedule step only"),
        (
            &["--lr-schedule", "cosine", "--lr-factor", "0.5"],
            "--lr-factor applies to --lr-schedule plateau only",
        ),
        (&["--lr-schedule", "step", "--lr-gamma", "0"], "--lr-gamma must be in (0, 1], got 0"),
        (&["--lr-schedule", "step", "--lr-step", "0"], "--lr-step must be at least 1"),
        (&["--lr-schedule", "plateau", "--lr-factor", "1"], "--lr-factor must be in (0, 1), got 1"),
        // (No --lr: the rate chosen from the data is at most 0.2.)
        (&["--lr-schedule", "cosine", "--lr-min", "1"], "--lr-min must be in [0, --lr] = [0, 0.2], got 1"),
        (&["--target-loss", "0"], "--target-loss must be a positive number, got 0"),
        (&["--early-stopping", "--val-split", "0"], "--early-stopping watches held-out data"),
        (&["--early-stopping", "--patience", "0"], "--patience must be at least 1"),
    ];
    for (flags, message) in cases {
        let mut args = vec!["train", "no-such-file.csv", "-q"];
        args.extend_from_slice(flags);
        let run = dir.run(&args);
        assert_eq!(run.code, 2, "{flags:?}: {}", run.stderr);
        assert!(run.stderr.contains(message), "{flags:?}: {}", run.stderr);
    }
    // --patience, --monitor and --restore-best belong to --early-stopping.
    let run = dir.run(&["train", "no-such-file.csv", "--restore-best"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--early-stopping"), "{}", run.stderr);
}

#[test]
fn the_stop_reason_is_reported_everywhere_and_recorded_in_the_model() {
    let dir = Dir::new();
    // The digits' loss falls below 1.0 within the first few epochs.
    let run =
        train(&dir, &["--epochs", "50", "--target-loss", "1.0", "--metrics", "m.csv", "--save", "m.st"]).ok();
    let csv = std::fs::read_to_string(dir.path("m.csv")).unwrap();
    let rows = csv.lines().filter(|l| !l.starts_with('#')).count() - 1;
    assert!(rows < 50, "{csv}");
    let reason = format!("target loss reached at epoch {rows}");
    assert!(run.stderr.contains(&format!("bp-par: stopped: {reason}")), "{}", run.stderr);
    assert!(run.stdout.contains(&format!("stopped: {reason}")), "{}", run.stdout);
    assert_eq!(
        csv.lines().next().unwrap(),
        "epoch,loss,train_acc,test_loss,test_acc,lr,seconds,samples_per_s"
    );
    assert!(
        csv.lines().last().unwrap().starts_with(&format!("# stop: target-loss at epoch {rows}: {reason}")),
        "{csv}"
    );
    let stop = bp_par::model::read_stop(&dir.path("m.st")).unwrap().unwrap();
    assert_eq!((stop.rule.as_str(), stop.epoch), ("target-loss", rows));
    // `show curves` still reads the metrics file.
    dir.run(&["show", "curves", "m.csv", "-o", "c.png"]).ok();
    // --json: the reason as an object; JSON-lines metrics end with a `stop` object.
    let run =
        train(&dir, &["-q", "--json", "--epochs", "50", "--target-loss", "1.0", "--metrics", "m.jsonl"]).ok();
    let out: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(out["stop"]["rule"], "target-loss");
    assert_eq!(out["stop"]["epoch"], rows);
    let last: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(dir.path("m.jsonl")).unwrap().lines().last().unwrap())
            .unwrap();
    assert_eq!((last["stop"].as_str(), last["epoch"].as_u64()), (Some("target-loss"), Some(rows as u64)));
    // A run that ran its epochs says so, and its model has no `stop` record.
    let run = train(&dir, &["-q", "--epochs", "2", "--save", "plain.st"]).ok();
    assert!(run.stdout.contains("stopped: all 2 epochs done"), "{}", run.stdout);
    assert_eq!(bp_par::model::read_stop(&dir.path("plain.st")).unwrap(), None);
}

#[test]
fn a_resumed_run_with_a_plateau_and_early_stopping_writes_the_same_model() {
    let dir = Dir::new();
    let rules = [
        "-q",
        "--lr",
        "0.5",
        "--lr-schedule",
        "plateau",
        "--lr-patience",
        "1",
        "--lr-factor",
        "0.5",
        "--early-stopping",
        "--patience",
        "2",
        "--restore-best",
    ];
    fn with<'a>(rules: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        [rules, extra].concat()
    }
    train(&dir, &with(&rules, &["--epochs", "12", "--save", "whole.st", "--metrics", "whole.csv"])).ok();
    train(&dir, &with(&rules, &["--epochs", "2", "--checkpoint", "ck.st"])).ok();
    // The checkpoint fixes the schedule and rules: leaving them out continues them.
    let run = train(&dir, &["-q", "--resume", "ck.st", "--epochs", "12", "--save", "resumed.st"]).ok();
    assert_eq!(
        std::fs::read(dir.path("whole.st")).unwrap(),
        std::fs::read(dir.path("resumed.st")).unwrap(),
        "{}",
        run.stderr
    );
    // ... and contradicting them is refused.
    let run = train(&dir, &["-q", "--resume", "ck.st", "--lr-schedule", "cosine"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("differ from the checkpoint's (--lr-schedule plateau --early-stopping"),
        "{}",
        run.stderr
    );
    let csv = std::fs::read_to_string(dir.path("whole.csv")).unwrap();
    // The rule did stop the run early (so the resumed run had a best epoch to restore).
    assert!(csv.lines().last().is_some_and(|l| l.starts_with("# stop: early-stopping")), "{csv}");
    let lrs: Vec<&str> =
        csv.lines().skip(1).filter(|l| !l.starts_with('#')).map(|l| l.split(',').nth(5).unwrap()).collect();
    assert!(lrs.iter().any(|&r| r != "0.5"), "the plateau should have reduced the rate: {lrs:?}");
}

#[test]
fn schedules_and_stopping_rules_are_refused_with_the_full_batch_optimisers() {
    let dir = Dir::new();
    let digits = repo_file("datasets/digits.csv");
    for flags in [&["--lr-schedule", "cosine"][..], &["--target-loss", "0.1"], &["--early-stopping"]] {
        let run = dir
            .run(&[&["train", digits.as_str(), "--optimizer", "cg", "--max-iter", "2"][..], flags].concat());
        assert_eq!(run.code, 2, "{flags:?}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!("{} does not apply to --optimizer cg", flags[0])),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn a_cosine_run_that_ended_at_rate_zero_resumes_and_extends() {
    let dir = Dir::new();
    let args = ["-q", "--epochs", "2", "--lr-schedule", "cosine", "--checkpoint", "ck.st", "--save", "a.st"];
    train(&dir, &args).ok();
    // The last epoch ran at lr-min 0, which the checkpoint's configuration holds.
    let (_, ck) = bp_par::checkpoint::load(&dir.path("ck.st")).unwrap();
    assert_eq!(ck.config.lr, 0.0);
    let run = train(&dir, &["-q", "--resume", "ck.st", "--epochs", "3", "--save", "b.st"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn resuming_a_run_a_rule_stopped_is_refused_with_the_reason() {
    let dir = Dir::new();
    train(&dir, &["-q", "--epochs", "6", "--target-loss", "5", "--checkpoint", "ck.st"]).ok();
    let run = train(&dir, &["-q", "--resume", "ck.st", "--epochs", "9"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("stopped by its rule (target loss reached at epoch 1"), "{}", run.stderr);
}
