//! `train --optimizer cg|lbfgs|rprop` with `--checkpoint` and `--resume`: a run stopped at an
//! iteration limit and resumed to a higher one writes the model file of the run straight
//! through, byte for byte (on another thread count), and the resumed run's flags are checked
//! against the checkpoint.

use super::harness::{Dir, repo_file};

#[test]
fn a_full_batch_run_resumed_from_its_checkpoint_writes_the_bytes_of_the_run_straight_through() {
    let dir = Dir::new();
    let digits = repo_file("datasets/digits.csv");
    let base = ["train", &digits, "--hidden", "12", "--l2", "0.5"];
    for (optimizer, limit) in [("cg", "--max-iter"), ("lbfgs", "--max-iter"), ("rprop", "--epochs")] {
        let run = |extra: &[&str]| dir.run(&[&base[..], extra].concat());
        let straight = format!("{optimizer}-straight.st");
        let (part, resumed, ck) =
            (format!("{optimizer}-part.st"), format!("{optimizer}-resumed.st"), format!("{optimizer}-ck.st"));
        run(&["--optimizer", optimizer, limit, "9", "--threads", "2", "--save", &straight]).ok();
        let first =
            ["--optimizer", optimizer, limit, "4", "--threads", "2", "--checkpoint", &ck, "--save", &part];
        run(&first).ok();
        assert_ne!(std::fs::read(dir.path(&part)).unwrap(), std::fs::read(dir.path(&straight)).unwrap());
        let out = run(&["--resume", &ck, limit, "9", "--threads", "1", "--save", &resumed]).ok();
        assert!(out.stderr.contains("resuming after iteration 4"), "{optimizer}: {}", out.stderr);
        assert!(
            std::fs::read(dir.path(&resumed)).unwrap() == std::fs::read(dir.path(&straight)).unwrap(),
            "{optimizer}: the resumed run's model differs from the straight run's"
        );
        // The checkpoint fixes the method; the limit cannot go below what is done.
        let other = run(&["--resume", &ck, "--optimizer", "sgd"]);
        assert_eq!(other.code, 2, "{}", other.stderr);
        assert!(
            other.stderr.contains(&format!("--optimizer sgd (the checkpoint has {optimizer}) differs")),
            "{}",
            other.stderr
        );
        let below = run(&["--resume", &ck, limit, "3"]);
        assert_eq!(below.code, 2, "{}", below.stderr);
        assert!(
            below
                .stderr
                .contains(&format!("{limit} 3 is below the 4 iterations the checkpoint has completed")),
            "{}",
            below.stderr
        );
    }
}

#[test]
fn a_full_batch_runs_stop_reason_is_reported_like_a_mini_batch_runs() {
    let dir = Dir::new();
    let digits = repo_file("datasets/digits.csv");
    let args =
        ["train", digits.as_str(), "--hidden", "8", "--optimizer", "lbfgs", "--max-iter", "2", "-j", "1"];
    let run = dir.run(&[&args[..], &["--json", "-q", "--metrics", "m.csv"]].concat()).ok();
    let out: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out["stop"]["rule"], "max-iter", "{}", run.stdout);
    assert_eq!(out["stop"]["epoch"], 2);
    // Running out of iterations is the normal end: no stop line, as for a run of all its epochs.
    let csv = std::fs::read_to_string(dir.path("m.csv")).unwrap();
    assert!(!csv.contains("# stop"), "{csv}");
}
