//! A user's first hour with real files (issue 21), each item with the file a user would have:
//! pandas' numbered header, scikit-learn's summary lines, a closed pipe, a failed run beside
//! a good metrics file or model, faint and [−1, 1] pictures, the first bad row whatever the
//! threads, labels 1..K, trailing separators and Kaggle's unlabeled test file.

use super::harness::{Dir, repo_file};
use std::fmt::Write as _;
use std::io::Read;
use std::process::{Command, Stdio};

/// The shipped digits' rows (label, 400 pixels 0..255) as numbers.
fn digits() -> Vec<(u32, Vec<f32>)> {
    let text = std::fs::read_to_string(repo_file("datasets/digits.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let mut v = l.split(',').map(|f| f.parse::<f32>().unwrap());
            (v.next().unwrap() as u32, v.collect())
        })
        .collect()
}

/// Every `step`th digit as CSV lines, each label then the pixels through `pixel`.
fn digit_lines(step: usize, pixel: impl Fn(f32) -> String) -> String {
    let mut s = String::new();
    for (label, px) in digits().iter().step_by(step) {
        let row: Vec<String> = px.iter().map(|&p| pixel(p)).collect();
        let _ = writeln!(s, "{label},{}", row.join(","));
    }
    s
}

/// pandas' `pd.DataFrame(np.column_stack([y, X])).to_csv(index=False)`: the header is the
/// column numbers 0..400, a header, not a row; predictions are one per data row.
#[test]
fn a_numbered_header_is_a_header() {
    let dir = Dir::new();
    let header: Vec<String> = (0..=400).map(|i| i.to_string()).collect();
    dir.write("pandas.csv", format!("{}\n{}", header.join(","), digit_lines(10, |p| format!("{p}"))));
    let run =
        dir.run(&["train", "pandas.csv", "--epochs", "1", "--val-split", "0", "--save", "m.st", "--json"]);
    let run = run.ok();
    assert!(run.stdout.contains("\"train_samples\":500"), "{}", run.stdout);
    let pred = dir.run(&["predict", "--model", "m.st", "pandas.csv"]).ok();
    assert!(pred.stdout.starts_with("prediction,label,"), "{}", pred.stdout);
    assert_eq!(pred.stdout.lines().count(), 501);
}

/// scikit-learn's bundled `breast_cancer.csv` begins `569,30,malignant,benign`: that line is
/// named as the odd one, with `--skip-rows 1`, which then reads the file; `iris.csv`'s summary
/// line has the rows' width and becomes the header, with a warning.
#[test]
fn summary_lines_are_named_and_skipped() {
    let dir = Dir::new();
    dir.write("cancer.csv", format!("500,400,zero,nine\n{}", digit_lines(10, |p| format!("{p}"))));
    let run = dir.run(&["train", "cancer.csv", "--epochs", "1"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("cancer.csv:1: 4 fields \"500,400,zero,nine\" where the next lines have 401")
            && run.stderr.contains("--skip-rows 1"),
        "{}",
        run.stderr
    );
    let run = dir.run(&["train", "cancer.csv", "--skip-rows", "1", "--epochs", "1", "--json"]).ok();
    assert!(run.stdout.contains("\"train_samples\":400"), "{}", run.stdout);
    // Errors still count the skipped line.
    dir.write("bad.csv", "title\n0,1,2\n1,x,3\n");
    let run = dir.run(&["train", "bad.csv", "--skip-rows", "1"]);
    assert!(run.stderr.contains("bad.csv:3: column 1 (0-based): expected a number"), "{}", run.stderr);
    // iris.csv: a summary line as wide as the rows.
    let mut iris = "150,4,setosa,versicolor,virginica\n".to_string();
    for i in 0..150 {
        let k = i % 3;
        let _ = writeln!(iris, "{}.{},{}.5,{}.1,0.{},{k}", 4 + k, i % 10, 2 + k, 1 + 2 * k, i % 9);
    }
    dir.write("iris.csv", &iris);
    let run = dir.run(&["train", "iris.csv", "--label-col", "last", "--epochs", "1"]).ok();
    assert!(
        run.stderr.contains("line 1 is read as the header, but its names \"150\", \"4\" are numbers")
            && run.stderr.contains("--skip-rows 1"),
        "{}",
        run.stderr
    );
    dir.run(&["train", "iris.csv", "--skip-rows", "1", "--label-col", "last", "--epochs", "1"]).ok();
}

/// `bp-par train … 2>&1 | head -4`: stdout and stderr closed early. The run goes on, saves the
/// model and writes every epoch's metrics.
#[test]
fn a_closed_pipe_never_ends_a_run() {
    let dir = Dir::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_bp-par"))
        .args(["train", "--epochs", "6", "--hidden", "8", "--save", "m.st", "--metrics", "m.csv"])
        .current_dir(dir.dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line's worth, as `head` would, then close both pipes.
    let mut first = [0u8; 16];
    let _ = child.stderr.as_mut().unwrap().read(&mut first);
    drop(child.stdout.take());
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(dir.path("m.st").exists());
    let metrics = std::fs::read_to_string(dir.path("m.csv")).unwrap();
    assert_eq!(metrics.lines().count(), 7, "{metrics}");
}

/// A run that fails leaves an existing metrics file as it was.
#[test]
fn a_failed_run_keeps_the_metrics_file() {
    let dir = Dir::new();
    dir.run(&["train", "--epochs", "3", "--hidden", "8", "--metrics", "good.csv", "-q"]).ok();
    let good = std::fs::read(dir.path("good.csv")).unwrap();
    let run = dir.run(&["train", "--epochs", "3", "--hidden", "8", "--lr", "1000", "--metrics", "good.csv"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    // The message names the inputs' normalisation beside the rate.
    assert!(
        run.stderr.contains("the inputs were normalised with scale /255 (chosen by --normalize auto"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read(dir.path("good.csv")).unwrap(), good);
    let left: Vec<_> = std::fs::read_dir(dir.dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left.len(), 1, "no temporary file is left: {left:?}");
    // A run that ends replaces it.
    dir.run(&["train", "--epochs", "2", "--hidden", "8", "--metrics", "good.csv", "-q"]).ok();
    assert_eq!(std::fs::read_to_string(dir.path("good.csv")).unwrap().lines().count(), 3);
}

/// Faint pictures (the digits' pixels divided by 2.2, whole numbers up to 115) and pictures
/// in [−1, 1] (as USPS stores them) are scaled by their range, never z-scored, and train.
#[test]
fn faint_and_signed_pictures_are_scaled_by_their_range() {
    let dir = Dir::new();
    let header: String = std::iter::once("label".to_string())
        .chain((0..400).map(|i| format!("p{i}")))
        .collect::<Vec<_>>()
        .join(",");
    let faint = digit_lines(2, |p| format!("{}", (p / 2.2).floor()));
    dir.write("faint.csv", format!("{header}\n{faint}"));
    let signed = digit_lines(2, |p| format!("{:.4}", p / 127.5 - 1.0));
    dir.write("signed.csv", format!("{header}\n{signed}"));
    for (file, norm) in
        [("faint.csv", "normalize scale /115"), ("signed.csv", "normalize range -1..1 onto 0..1")]
    {
        let run = dir.run(&["train", file, "--epochs", "10", "--json"]).ok();
        assert!(run.stderr.contains(norm), "{file}: {}", run.stderr);
        let acc = run.stdout.split("\"held_out_acc\":").nth(1).unwrap();
        let acc: f64 = acc.split(',').next().unwrap().parse().unwrap();
        assert!(acc > 0.88, "{file}: held-out accuracy {acc}");
    }
}

/// The bad row named is the first in the file, whatever the threads.
#[test]
fn the_first_bad_row_is_named_whatever_the_threads() {
    let dir = Dir::new();
    let digits = repo_file("datasets/digits.csv");
    for threads in ["1", "2", "3"] {
        let run = dir.run(&["train", &digits, "--classes", "3", "--threads", threads]);
        assert!(
            run.stderr.contains("digits.csv:1502: column 0 (\"label\", 0-based): label 3 is out of range"),
            "{threads}: {}",
            run.stderr
        );
    }
}

/// Labels 1..10 make an 11-class network with an empty class 0: said, with the fixes.
#[test]
fn labels_from_one_are_warned_of() {
    let dir = Dir::new();
    let mut s = "label,a,b\n".to_string();
    for i in 0..60 {
        let _ = writeln!(s, "{},{},{}", i % 3 + 1, i % 3, i % 5);
    }
    dir.write("one.csv", s);
    let run = dir.run(&["train", "one.csv", "--epochs", "1", "--hidden", "4"]).ok();
    assert!(
        run.stderr.contains(
            "labels 0..3 make 4 classes, but 1 class has no rows (0): the network gets an output that \
             never trains; the labels start at 1: relabel them from 0, or give --classes 4 to confirm"
        ),
        "{}",
        run.stderr
    );
    let run = dir.run(&["train", "one.csv", "--epochs", "1", "--hidden", "4", "--classes", "4"]).ok();
    assert!(!run.stderr.contains("no rows"), "{}", run.stderr);
}

/// A separator at the end of every line is named, not read as an empty column.
#[test]
fn trailing_separators_are_named() {
    let dir = Dir::new();
    dir.write("trail.csv", "0,1,2,\n1,3,4,\n0,5,6,\n");
    let run = dir.run(&["train", "trail.csv"]);
    assert!(
        run.stderr.contains("trail.csv:1: ends with a comma separator, as every line does (\"0,1,2,\")"),
        "{}",
        run.stderr
    );
}

/// Kaggle's digit-recognizer `test.csv`: 784 columns `pixel0…pixel783`, no label. `show digits`
/// draws it unlabeled; `train` says it has no label column.
#[test]
fn a_numbered_series_of_pixels_has_no_label() {
    let dir = Dir::new();
    let names: Vec<String> = (0..400).map(|i| format!("pixel{i}")).collect();
    let mut s = format!("{}\n", names.join(","));
    for (_, px) in digits().iter().take(30) {
        let row: Vec<String> = px.iter().map(|p| p.to_string()).collect();
        let _ = writeln!(s, "{}", row.join(","));
    }
    dir.write("test.csv", s);
    dir.run(&["show", "digits", "test.csv", "-o", "d.png"]).ok();
    let run = dir.run(&["train", "test.csv"]);
    assert!(
        run.stderr.contains("has no label column: its header names the 400 columns pixel0…pixel399"),
        "{}",
        run.stderr
    );
}

/// A run without `--save` says the model was not kept, and how to keep it.
#[test]
fn an_unsaved_model_is_said() {
    let dir = Dir::new();
    let run = dir.run(&["train", "--epochs", "1", "--hidden", "4"]).ok();
    assert!(
        run.stderr.contains("the model was not saved: give --save model.st to keep it"),
        "{}",
        run.stderr
    );
    let run = dir.run(&["train", "--epochs", "1", "--hidden", "4", "-q"]).ok();
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

/// `--init` with a model of another width names `--init` and both widths, before anything else.
#[test]
fn an_init_model_of_another_width_is_named_first() {
    let dir = Dir::new();
    let mut s = "label,a,b,c\n".to_string();
    for i in 0..30 {
        let _ = writeln!(s, "{},{},{},{}", i % 3, i % 3, i % 5, i % 7);
    }
    dir.write("three.csv", s);
    dir.run(&["train", "three.csv", "--epochs", "1", "--hidden", "4", "--save", "m.st", "-q"]).ok();
    let run = dir.run(&["train", "--init", "m.st", "--epochs", "1"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.starts_with(
            "bp-par: error: --init m.st takes rows of 3 features, but datasets/digits.csv (built in) has \
             400 features per row"
        ),
        "{}",
        run.stderr
    );
}

/// The settings line gives the team that runs (no more threads than cores) and the shard size
/// in effect (no larger than a batch); missing values filled or dropped are counted.
#[test]
fn the_report_says_what_runs_and_what_was_filled() {
    let dir = Dir::new();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let run = dir.run(&["train", "--epochs", "1", "--hidden", "4", "--threads", "256", "--batch", "32"]).ok();
    let count = bp_par::error::count;
    let team = format!("{} (--threads 256 on {})", count(cores, "thread"), count(cores, "core"));
    assert!(run.stderr.contains(&format!("seed 1, {team}, batch 32, shard 32,")), "{}", run.stderr);
    dir.write("miss.csv", "label,a,b\n0,1,NA\n1,2,3\n0,NA,1\n1,4,5\n0,1,1\n1,3,3\n0,1,2\n1,4,4\n");
    let run = dir.run(&["train", "miss.csv", "--missing", "drop", "--epochs", "1", "--hidden", "2"]).ok();
    assert!(
        run.stderr.contains("miss.csv: dropped 2 rows with missing values (2 missing values)"),
        "{}",
        run.stderr
    );
    let args = ["train", "miss.csv", "--missing", "mean", "--epochs", "1", "--hidden", "2"];
    let run = dir.run(&args).ok();
    assert!(
        run.stderr.contains("filling 2 missing values in 2 rows with the training rows' means"),
        "{}",
        run.stderr
    );
    let run = dir.run(&[&args[..], &["--val-split", "0"]].concat()).ok();
    assert!(
        run.stderr.contains("miss.csv: filled 2 missing values with their columns' means"),
        "{}",
        run.stderr
    );
}

/// `train -h` is one short line per option under headings; `--help` the whole text.
#[test]
fn short_help_is_short_and_grouped() {
    let dir = Dir::new();
    let short = dir.run(&["train", "-h"]).ok().stdout;
    let long = dir.run(&["train", "--help"]).ok().stdout;
    for heading in ["Data:", "Model:", "Optimiser:", "Stopping:", "Run and output:"] {
        assert!(short.contains(heading) && long.contains(heading), "{heading}\n{short}");
    }
    assert!(
        short.lines().filter(|l| !l.contains("possible values")).all(|l| l.chars().count() <= 110),
        "{short}"
    );
    assert!(long.lines().count() > 2 * short.lines().count() / 2 + 60, "{}", long.lines().count());
    assert!(long.contains("Polak-Ribière") && !short.contains("Polak-Ribière"));
}

/// Class labels stored one-hot in a `.npy` array are read with `--one-hot K`, and the advice
/// for such an array names it.
#[test]
fn one_hot_npy_labels_are_read() {
    let dir = Dir::new();
    let (n, d, k) = (60usize, 4usize, 3usize);
    let header = |shape: &str, descr: &str| {
        let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        while !(10 + h.len() + 1).is_multiple_of(64) {
            h.push(' ');
        }
        h.push('\n');
        let mut v = b"\x93NUMPY\x01\x00".to_vec();
        v.extend_from_slice(&(h.len() as u16).to_le_bytes());
        v.extend_from_slice(h.as_bytes());
        v
    };
    let mut x = header(&format!("({n}, {d})"), "<f4");
    let mut y = header(&format!("({n}, {k})"), "<f4");
    for i in 0..n {
        for j in 0..d {
            x.extend_from_slice(&(((i % k) * 3 + j % 2) as f32).to_le_bytes());
        }
        for c in 0..k {
            y.extend_from_slice(&(if c == i % k { 1.0f32 } else { 0.0 }).to_le_bytes());
        }
    }
    dir.write("x.npy", x);
    dir.write("y.npy", y);
    let run = dir.run(&["train", "x.npy", "--epochs", "1"]);
    assert!(
        run.stderr.contains("its rows are one-hot: give --one-hot 3 to read them as 3 classes"),
        "{}",
        run.stderr
    );
    let run = dir.run(&["train", "x.npy", "--one-hot", "3", "--epochs", "1", "--json", "-q"]).ok();
    assert!(run.stdout.contains("\"layers\":[4,128,3]"), "{}", run.stdout);
}

/// A schedule's floor is checked against the rate chosen from the data, once it is chosen.
#[test]
fn a_schedule_is_checked_against_the_rate_chosen_from_the_data() {
    let dir = Dir::new();
    let run = dir.run(&["train", "--lr-min", "0.19", "--epochs", "5"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--lr-min must be in [0, --lr] = [0, 0.18], got 0.19"), "{}", run.stderr);
    dir.run(&["train", "--lr-min", "0.05", "--epochs", "5", "--hidden", "4", "-q"]).ok();
}
