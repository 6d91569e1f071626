//! Every bad input: one clear sentence naming file, line and column or field; exit code 1;
//! no model written.

use super::harness::Dir;

/// Trains on `bad.csv` holding `contents` and checks the error (exit code 1).
fn train_fails(contents: &[u8], extra: &[&str], want: &str) {
    train_fails_with(1, contents, extra, want)
}

/// Trains on `bad.csv` and checks the error and the exit code (2 for usage errors).
fn train_fails_with(code: i32, contents: &[u8], extra: &[&str], want: &str) {
    let dir = Dir::new();
    dir.write("bad.csv", contents);
    let mut args = vec!["train", "bad.csv"];
    args.extend_from_slice(extra);
    for (flag, value) in [("--epochs", "1"), ("--save", "m.safetensors")] {
        if !extra.contains(&flag) {
            args.extend([flag, value]);
        }
    }
    let run = dir.run(&args);
    assert_eq!(run.code, code, "{want}: exit code {} stderr {}", run.code, run.stderr);
    let line = run.stderr.trim_end();
    assert!(line.starts_with("bp-par: error: "), "{line}");
    assert!(line.contains(want), "got {line:?}, want {want:?}");
    assert_eq!(line.lines().count(), 1, "one sentence: {line}");
    assert!(!run.stderr.contains("panicked"), "{line}");
    assert!(!dir.path("m.safetensors").exists(), "no model after a failure");
}

#[test]
fn malformed_csv_files() {
    train_fails(b"", &[], "bad.csv: is empty");
    train_fails(b"\n\n", &[], "bad.csv: is empty");
    train_fails(b"label,a,b\n", &[], "bad.csv: has a first row but no data rows");
    train_fails(b"label,a,b\n1,2,3\n0,4\n", &[], "bad.csv:3: expected 3 fields like the first row, found 2");
    train_fails(
        b"label,a,b\n1,2,3\n0,4,x7\n",
        &[],
        "bad.csv:3: column 2 (\"b\", 0-based): expected a number, found \"x7\"",
    );
    train_fails(
        b"label,a,b\n1,2,3\n0,NaN,1\n",
        &[],
        "bad.csv:3: column 1 (\"a\", 0-based): missing value (\"NaN\"); it is the file's only missing value: \
         give --missing mean, zero or drop",
    );
    train_fails(
        b"label,a,b\n1,2,-inf\n",
        &[],
        "bad.csv:2: column 2 (\"b\", 0-based): expected a finite number, found -inf",
    );
    train_fails(
        b"label,a\n1.5,2\n",
        &[],
        "bad.csv:2: column 0 (\"label\", 0-based): expected a class label (an integer 0, 1, 2, ...), found 1.5",
    );
    train_fails(b"label,a\n-1,2\n", &[], "found -1");
    train_fails(
        b"label,a\n0,2\n7,2\n",
        &["--classes", "3"],
        "bad.csv:3: column 0 (\"label\", 0-based): label 7 is out of range for --classes 3",
    );
    train_fails(b"a,b\n1,2\n", &["--label-col", "digit"], "bad.csv: has no column named \"digit\"");
    train_fails(b"1,2\n", &["--targets", "2"], "--targets 2 needs at least one feature column");
}

#[test]
fn bad_options() {
    let xor = b"label,a,b\n0,0,1\n1,1,0\n1,0,1\n0,1,1\n";
    let usage = |extra: &[&str], want: &str| train_fails_with(2, xor, extra, want);
    usage(&["--lr", "-1"], "--lr must be a positive number, got -1");
    usage(&["--batch", "0"], "--batch must be at least 1");
    usage(&["--momentum", "1.5"], "--momentum must be in [0, 1)");
    usage(&["--epochs", "0"], "--epochs must be at least 1");
    usage(&["--val-split", "-0.1"], "--val-split must be in [0, 1), got -0.1");
    usage(&["--val-split", "NaN"], "--val-split must be in [0, 1), got NaN");
    usage(&["--classes", "1"], "--classes must be at least 2");
    usage(&["--targets", "0"], "--targets must be at least 1");
    usage(&["--threads", "5000"], "--threads 5000 is more than the 256 bp-par allows");
    usage(&["--labels", "x.idx"], "--labels names the labels file of IDX images, but bad.csv is CSV");
    usage(
        &["--save", "no/such/dir/m.safetensors"],
        "--save no/such/dir/m.safetensors: the folder no/such/dir does not exist",
    );
    usage(&["--save", "."], "--save . is a folder");
    usage(&["--hidden", "3000000000", "--val-split", "0"], "would have more than 2147483648 parameters");
    train_fails(
        b"label,a\n0,1\n1,0\n",
        &["--val-split", "0.5"],
        "leaves an empty training or validation set",
    );
    // The label column holds one value: nothing to learn, most likely the wrong column.
    train_fails(b"a,b,c\n0,1,2\n0,4,5\n0,7,8\n", &[], "bad.csv: has a single class (every label is 0)");
    // Targets the loss cannot fit.
    train_fails(
        b"1,0.5,0.2\n2,0.1,0.1\n",
        &["--targets", "2", "--val-split", "0"],
        "data row 1 has targets (0.5, 0.2): xent",
    );
    train_fails(
        b"1,-0.5\n2,0.1\n",
        &["--targets", "1", "--loss", "bce", "--val-split", "0"],
        "data row 1, column 1 (0-based): target -0.5 is outside [0, 1], the range of sigmoid outputs (--loss bce); \
         use --loss mse --output linear",
    );
}

#[test]
fn missing_files_and_bad_models() {
    let dir = Dir::new();
    let run = dir.run(&["train", "nope.csv"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("nope.csv: cannot read the file: No such file"), "{}", run.stderr);

    // A model whose input size does not match the data.
    dir.write("wide.csv", "label,a,b,c\n0,1,2,3\n1,3,2,1\n");
    dir.run(&["train", "wide.csv", "--val-split", "0", "--epochs", "1", "--save", "m.safetensors", "-q"])
        .ok();
    dir.write("narrow.csv", "label,a,b\n0,1,2\n");
    let run = dir.run(&["eval", "--model", "m.safetensors", "narrow.csv"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("narrow.csv: has rows of 3 fields, but the model expects 3 features"),
        "{}",
        run.stderr
    );
    // Labels beyond the model's classes.
    dir.write("many.csv", "label,a,b,c\n5,1,2,3\n");
    let run = dir.run(&["eval", "--model", "m.safetensors", "many.csv"]);
    assert!(
        run.stderr.contains(
            "many.csv:2: column 0 (\"label\", 0-based): label 5 is out of range for the model's class count 2"
        ),
        "{}",
        run.stderr
    );

    // Not a model, a truncated model, and a missing model.
    dir.write("junk.safetensors", "hello");
    let run = dir.run(&["eval", "--model", "junk.safetensors", "wide.csv"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("junk.safetensors: is not a valid safetensors file"), "{}", run.stderr);
    let model = std::fs::read(dir.path("m.safetensors")).unwrap();
    dir.write("cut.safetensors", &model[..model.len() - 3]);
    let run = dir.run(&["predict", "--model", "cut.safetensors", "wide.csv"]);
    assert!(run.stderr.contains("cut.safetensors: is not a valid safetensors file"), "{}", run.stderr);
    let run = dir.run(&["eval", "--model", "none.safetensors", "wide.csv"]);
    assert!(run.stderr.contains("none.safetensors: cannot read the model"), "{}", run.stderr);

    // IDX without its labels file, and with a forged header.
    dir.write("x-images-idx3-ubyte", [0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4]);
    let run = dir.run(&["train", "x-images-idx3-ubyte"]);
    assert!(run.stderr.contains("x-images-idx3-ubyte: has no labels file beside it"), "{}", run.stderr);
    dir.write("y-images-idx3-ubyte", [0, 0, 8, 3, 255, 255, 255, 255, 0, 0, 0, 28, 0, 0, 0, 28, 1]);
    let run = dir.run(&["train", "y-images-idx3-ubyte"]);
    assert!(
        run.stderr.contains("has an IDX header claiming dimensions [4294967295, 28, 28]"),
        "{}",
        run.stderr
    );
}

#[test]
fn forged_and_oversized_idx_files_cost_no_memory() {
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;
    let dir = Dir::new();
    // A decompression bomb: the header declares 2x2x2 bytes, 20 MB of zeros follow.
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(&[0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2]).unwrap();
    e.write_all(&vec![0u8; 20 << 20]).unwrap();
    dir.write("bomb-images-idx3-ubyte.gz", e.finish().unwrap());
    let run = dir.run(&["train", "bomb-images-idx3-ubyte.gz"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("claiming dimensions [2, 2, 2] (8 bytes of data) but holds more"),
        "{}",
        run.stderr
    );
    // A gzip header claiming 4 billion 28x28 images is refused with the memory it would need.
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(&[0, 0, 8, 3, 255, 255, 255, 255, 0, 0, 0, 28, 0, 0, 0, 28, 7]).unwrap();
    dir.write("huge-images-idx3-ubyte.gz", e.finish().unwrap());
    let run = dir.run(&["train", "huge-images-idx3-ubyte.gz"]);
    assert!(run.stderr.contains("would need 15.3 TiB of memory to load"), "{}", run.stderr);
    // A folder given as data.
    let run = dir.run(&["train", "."]);
    assert!(
        run.stderr.contains(".: is a folder; expected a CSV, IDX, .npy or .npz data file"),
        "{}",
        run.stderr
    );
}

#[test]
fn review_findings_stay_fixed() {
    let dir = Dir::new();
    // Many classes: trained, saved and evaluated without a k x k confusion matrix.
    dir.write("few.csv", "label,a,b\n0,1,2\n4999,2,1\n");
    dir.run(&[
        "train",
        "few.csv",
        "--classes",
        "5000",
        "--hidden",
        "2",
        "--epochs",
        "1",
        "--val-split",
        "0",
        "-q",
        "-o",
        "big.st",
    ])
    .ok();
    let run = dir.run(&["eval", "-m", "big.st", "few.csv"]).ok();
    assert!(run.stdout.contains("accuracy "), "{}", run.stdout);
    assert!(!run.stdout.contains("confusion matrix"), "{}", run.stdout);
    // An empty synthetic benchmark and absurd layer sizes are usage errors, not panics.
    let run = dir.run(&["bench", "--rows", "0", "--samples", "1"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let run = dir.run(&["bench", "--layers", "2,4294967296", "--rows", "10", "--samples", "1"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    // The first 500 shipped digits are all zeros: one class, refused.
    let digits = super::harness::repo_file("datasets/digits.csv");
    let run = dir.run(&["train", &digits, "--train-rows", "500"]);
    assert!(run.stderr.contains("has a single class (every label is 0)"), "{}", run.stderr);
    let run = dir.run(&["eval", "-m", "big.st", "few.csv", "--l2", "-5"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}
