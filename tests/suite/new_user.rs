//! What a new user trips over (issue 11, "also seen by new users"): the epoch bar's label, a
//! misspelt label column, messages in each command's own words, output folders checked
//! before the work, counts in the singular, f32 figures as typed, and a network too large
//! for the memory refused before it is allocated.

use super::harness::Dir;
use std::fmt::Write as _;
use std::process::Command;

/// A small three-class CSV with a header: `label,a,b,c`, `rows` rows.
fn three_classes(rows: usize) -> String {
    let mut s = "label,a,b,c\n".to_string();
    for i in 0..rows {
        let k = i % 3;
        let _ = writeln!(
            s,
            "{k},{},{},{}",
            (k * 40 + i % 7) as f32 / 100.0,
            (i % 5) as f32 / 10.0,
            k as f32 / 2.0
        );
    }
    s
}

/// `dir` with `train.csv` (30 rows) and `m.st`, a model trained on it.
fn trained(dir: &Dir) {
    dir.write("train.csv", three_classes(30));
    dir.run(&[
        "train",
        "train.csv",
        "--hidden",
        "4",
        "--epochs",
        "1",
        "--val-split",
        "0",
        "--save",
        "m.st",
        "-q",
    ])
    .ok();
}

#[test]
fn a_missing_label_column_is_answered_with_a_few_close_names_not_the_header() {
    let dir = Dir::new();
    let mut text = "label".to_string();
    for i in 0..784 {
        let _ = write!(text, ",pixel{i}");
    }
    text.push('\n');
    for r in 0..3 {
        text += &format!("{r}{}\n", ",0".repeat(784));
    }
    dir.write("wide.csv", &text);
    let run = dir.run(&["train", "wide.csv", "--label-col", "nosuch"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("has no column named \"nosuch\""), "{}", run.stderr);
    assert!(run.stderr.contains("785 columns"), "{}", run.stderr);
    assert!(run.stderr.len() < 300, "{} bytes: {}", run.stderr.len(), run.stderr);
    // A typo is answered with the name meant.
    let run = dir.run(&["train", "wide.csv", "--label-col", "lable"]);
    assert!(run.stderr.contains("the closest are \"label\""), "{}", run.stderr);
    assert!(run.stderr.len() < 300, "{}", run.stderr);
}

#[test]
fn eval_predict_and_show_are_told_what_the_model_fixes_not_trains_flags() {
    let dir = Dir::new();
    trained(&dir);
    // A label the three-class model does not know.
    dir.write("test.csv", "label,a,b,c\n0,0.1,0.2,0.3\n5,0.1,0.2,0.3\n");
    let commands: [&[&str]; 2] =
        [&["eval", "-m", "m.st", "test.csv"], &["show", "confusion", "m.st", "test.csv", "-o", "c.png"]];
    for args in commands {
        let run = dir.run(args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("out of range for the model's class count 3"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("--classes"), "{args:?} has no --classes: {}", run.stderr);
    }
    // A regression model's target count, on a file with too few columns.
    dir.write("reg.csv", "a,b,y1,y2\n0.1,0.2,0.3,0.4\n0.5,0.1,0.6,0.2\n0.3,0.3,0.2,0.9\n");
    dir.run(&[
        "train",
        "reg.csv",
        "--targets",
        "2",
        "--loss",
        "mse",
        "--hidden",
        "3",
        "--epochs",
        "1",
        "--save",
        "r.st",
        "-q",
    ])
    .ok();
    dir.write("narrow.csv", "a,b\n0.1,0.2\n");
    for cmd in ["eval", "predict"] {
        let run = dir.run(&[cmd, "-m", "r.st", "narrow.csv"]);
        assert!(run.stderr.contains("the model's target count 2 needs"), "{cmd}: {}", run.stderr);
        assert!(!run.stderr.contains("--targets"), "{cmd}: {}", run.stderr);
    }
}

#[test]
fn output_paths_are_checked_before_any_work() {
    let dir = Dir::new();
    trained(&dir);
    // Neither the model nor the data is read first: the missing folder is what is reported.
    let cases: [&[&str]; 4] = [
        &["predict", "-m", "absent.st", "absent.csv", "-o", "nodir/p.csv"],
        &["show", "confusion", "absent.st", "absent.csv", "-o", "nodir/c.png"],
        &["show", "digits", "absent.csv", "-o", "nodir/d.png"],
        &["show", "weights", "absent.st", "-o", "nodir/w.png"],
    ];
    for args in cases {
        let run = dir.run(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("the folder nodir does not exist"), "{args:?}: {}", run.stderr);
    }
    // An existing folder works.
    std::fs::create_dir(dir.path("out")).unwrap();
    dir.run(&["predict", "-m", "m.st", "train.csv", "-o", "out/p.csv"]).ok();
    assert!(dir.path("out/p.csv").exists());
}

#[test]
fn counts_of_one_are_singular() {
    let dir = Dir::new();
    dir.write("train.csv", three_classes(30));
    let run = dir
        .run(&[
            "train",
            "train.csv",
            "--hidden",
            "4",
            "--epochs",
            "1",
            "--threads",
            "1",
            "--val-split",
            "0",
            "--save",
            "m.st",
        ])
        .ok();
    assert!(run.stderr.contains(", 1 thread,"), "{}", run.stderr);
    assert!(run.stderr.contains(", 1 epoch\n"), "{}", run.stderr);
    assert!(run.stderr.contains("stopped: 1 epoch done"), "{}", run.stderr);
    assert!(!run.stderr.contains("1 threads") && !run.stderr.contains("1 epochs"), "{}", run.stderr);
    dir.write("one.csv", "label,a,b,c\n1,0.4,0.1,0.5\n");
    let run = dir.run(&["eval", "-m", "m.st", "one.csv"]).ok();
    assert!(run.stdout.contains(": 1 sample\n"), "{}", run.stdout);
    let run = dir.run(&["predict", "-m", "m.st", "one.csv", "-o", "p.csv"]).ok();
    assert!(run.stderr.contains("wrote 1 prediction to p.csv"), "{}", run.stderr);
}

/// Every number in `json` (a JSON text) reads back as an f32 whose shortest decimal is the
/// text itself: no widened f32 such as 0.10000000149011612.
fn assert_f32_shortest(json: &str) {
    let numbers =
        json.split(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c))).filter(|t| t.contains('.'));
    for text in numbers {
        let v: f32 = text.parse().unwrap_or_else(|_| panic!("{text} in {json}"));
        let shortest = serde_json::json!(v.to_string().parse::<f64>().unwrap()).to_string();
        assert_eq!(text, shortest, "in {json}");
    }
}

#[test]
fn f32_figures_in_json_are_written_as_typed() {
    let dir = Dir::new();
    dir.write("train.csv", three_classes(30));
    let args =
        ["train", "train.csv", "--hidden", "4", "--epochs", "2", "--lr", "0.1", "--save", "m.st", "-q"];
    dir.run(&[&args[..], &["--metrics", "m.jsonl"]].concat()).ok();
    let metrics = std::fs::read_to_string(dir.path("m.jsonl")).unwrap();
    assert!(metrics.contains("\"lr\":0.1,"), "{metrics}");
    let run = dir.run(&["predict", "-m", "m.st", "train.csv", "--json"]).ok();
    for line in run.stdout.lines() {
        let probabilities = &line[line.find("\"probabilities\"").unwrap()..];
        assert_f32_shortest(probabilities);
    }
}

#[test]
#[cfg(target_os = "linux")] // ulimit -v (RLIMIT_AS) and /proc
fn a_network_too_large_for_the_memory_limit_is_refused_before_allocation() {
    // 400-2000000-10 on the built-in digits: 822 million parameters, 3.3 GB for the weights
    // alone, against an address space capped at 4,000,000 KiB.
    let out = Command::new("sh")
        .args(["-c", "ulimit -v 4000000 && exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_bp-par"))
        .args(["train", "--hidden", "2000000", "--epochs", "1", "--threads", "1"])
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("400-2000000-10 (822000010 parameters) needs about"), "{stderr}");
    assert!(stderr.contains("under this process's address-space limit (ulimit -v)"), "{stderr}");
    assert!(!stderr.contains("memory allocation") && !stderr.contains("panicked"), "{stderr}");
}

#[test]
#[cfg(target_os = "linux")] // script(1) gives the run a terminal, where the bars are drawn
fn the_epoch_bar_names_the_epoch_in_progress() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("script(1) is not installed: the terminal bar is not checked here");
        return;
    }
    let dir = Dir::new();
    let command = format!("{} train --epochs 3 --hidden 8 --threads 1", env!("CARGO_BIN_EXE_bp-par"));
    let out = Command::new("script")
        .args(["-qefc", &command, "/dev/null"])
        .current_dir(dir.dir.path())
        .env("TERM", "xterm")
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}");
    // The bar is drawn while epoch 1 runs: it says 1/3, never the 0 epochs finished.
    assert!(screen.contains("epoch   1/3 ["), "{screen}");
    assert!(!screen.contains("epoch   0/3"), "{screen}");
}
