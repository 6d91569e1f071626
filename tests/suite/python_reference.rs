//! python/predict.py, the numpy reference predictor, against `bp-par predict`: small models of
//! every kind (each hidden activation, each output unit including linear, each
//! normalisation, classifiers and regression, label column first, named or last) trained for
//! a few epochs on files made here; both programs predict the same file and every value and
//! every predicted class must agree. The files people have (class names, one-hot labels,
//! missing values, other separators, gzip, numpy arrays) are in `python_reference_files`.
//!
//! Needs python3 with numpy and safetensors, so the tests are ignored by a plain `cargo test`
//! (its summary counts them as ignored, never as passed) and run by
//! `cargo test --release --test tests -- --ignored`, as `.ci/run` does after
//! installing both: there a missing tool is a failure.

use super::harness::{Dir, repo_file};
use std::process::Command;

/// Whether python3 can import numpy and safetensors; the reason when not.
pub(super) fn python_ready() -> Result<(), String> {
    let out = Command::new("python3").args(["-c", "import numpy, safetensors"]).output();
    match out {
        Err(e) => Err(format!("python3 cannot be run ({e})")),
        Ok(o) if !o.status.success() => {
            Err(format!("python3 lacks numpy or safetensors: {}", String::from_utf8_lossy(&o.stderr).trim()))
        }
        Ok(_) => Ok(()),
    }
}

/// A deterministic pseudo-random stream in [0, 1) (Knuth's MMIX LCG, high bits).
pub(super) struct Lcg(pub(super) u64);
impl Lcg {
    pub(super) fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// 90 rows of 5 features in [0, 200) (pen-coordinate-like) with a 3-class label from a rule,
/// two targets in [0, 1] and two real-valued targets outside it. Returns the feature rows, the
/// labels, the unit targets and the real targets.
#[allow(clippy::type_complexity)]
pub(super) fn rows() -> Vec<([f64; 5], usize, [f64; 2], [f64; 2])> {
    let mut rng = Lcg(7);
    (0..90)
        .map(|_| {
            let x: [f64; 5] = std::array::from_fn(|_| (rng.next() * 200.0).floor());
            let label = ((x[0] + x[1]) / 134.0) as usize % 3;
            let unit = [x[2] / 200.0, (x[3] * x[4]) / 40000.0];
            let real = [(x[0] - x[4]) / 50.0 - 0.37, x[1] / 80.0 + 1.55];
            (x, label, unit, real)
        })
        .collect()
}

pub(super) fn join(v: &[f64]) -> String {
    v.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
}

/// The file layouts the test writes.
fn write_files(dir: &Dir) {
    let r = rows();
    let names = "f0,f1,f2,f3,f4";
    let mut label_first_named = format!("label,{names}\n");
    let mut label_first_bare = String::new();
    let mut label_last = format!("{names},digit\n");
    let mut features_only = String::new();
    let mut unit = format!("{names},u0,u1\n");
    let mut real = format!("{names},price\n");
    let mut real2 = String::new();
    for (x, label, u, t) in &r {
        let xs = join(x);
        label_first_named += &format!("{label},{xs}\n");
        label_first_bare += &format!("{label},{xs}\n");
        label_last += &format!("{xs},{label}\n");
        features_only += &format!("{xs}\n");
        unit += &format!("{xs},{}\n", join(u));
        real += &format!("{xs},{}\n", t[0]);
        real2 += &format!("{xs},{}\n", join(t));
    }
    for (name, text) in [
        ("named.csv", label_first_named),
        ("bare.csv", label_first_bare),
        ("last.csv", label_last),
        ("features.csv", features_only),
        ("unit.csv", unit),
        ("real.csv", real),
        ("real2.csv", real2),
    ] {
        dir.write(name, text);
    }
}

/// Parses a predictions CSV (quoted fields allowed: class names) into its header and rows.
fn parse(text: &str, who: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut rdr = csv::ReaderBuilder::new().has_headers(false).from_reader(text.as_bytes());
    let mut rows: Vec<Vec<String>> = rdr
        .records()
        .map(|r| r.unwrap_or_else(|e| panic!("{who}: {e}")).iter().map(str::to_string).collect())
        .collect();
    assert!(!rows.is_empty(), "{who}: empty output");
    let head = rows.remove(0);
    (head, rows)
}

/// A probability or output value of `who`'s CSV.
fn number(v: &str, who: &str) -> f64 {
    v.parse::<f64>().unwrap_or_else(|e| panic!("{who}: {v:?}: {e}"))
}

/// Compares the reference's CSV with bp-par's: same header, rows, true labels and classes
/// (numbers or names), every value within 1e-5 relative (bp-par computes in f32, the reference
/// in f64). A class may differ only where bp-par's two largest probabilities are within 1e-6
/// (a tie at f32 precision).
pub(super) fn compare(py: &str, rs: &str, what: &str) -> usize {
    let ((py_head, py_rows), (rs_head, rs_rows)) = (parse(py, "python"), parse(rs, "bp-par"));
    assert_eq!(py_head, rs_head, "{what}: headers");
    assert_eq!(py_rows.len(), rs_rows.len(), "{what}: row counts");
    // Kept columns (`--keep-cols`) come first: texts, compared as such.
    let kept = rs_head.iter().position(|h| h == "prediction" || h == "y0").unwrap_or(0);
    let classify = rs_head[kept] == "prediction";
    // The text columns: the kept ones, the prediction and the true label, when written.
    let texts = kept
        + match (classify, rs_head.get(kept + 1).map(String::as_str)) {
            (false, _) => 0,
            (true, Some("label")) => 2,
            (true, _) => 1,
        };
    for (i, (p, r)) in py_rows.iter().zip(&rs_rows).enumerate() {
        assert_eq!(p.len(), r.len(), "{what}: row {} widths", i + 1);
        if texts > kept + 1 || kept > 0 {
            let label = usize::from(texts > kept + 1);
            assert_eq!(p[..kept], r[..kept], "{what}: row {}: kept columns", i + 1);
            assert_eq!(
                p[kept + 1..kept + 1 + label],
                r[kept + 1..kept + 1 + label],
                "{what}: row {}: true labels",
                i + 1
            );
        }
        for (j, (a, b)) in p.iter().zip(r).enumerate().skip(texts) {
            let (a, b) = (number(a, "python"), number(b, "bp-par"));
            assert!(
                (a - b).abs() <= 1e-5 * b.abs().max(1.0),
                "{what}: row {} column {j}: python {a}, bp-par {b}",
                i + 1
            );
        }
        if classify && p[kept] != r[kept] {
            let mut probs: Vec<f64> = r[texts..].iter().map(|v| number(v, "bp-par")).collect();
            probs.sort_by(|x, y| y.total_cmp(x));
            assert!(
                probs[0] - probs[1] < 1e-6,
                "{what}: row {}: python predicts {}, bp-par {}",
                i + 1,
                p[kept],
                r[kept]
            );
        }
    }
    rs_rows.len()
}

/// A model's name, its training file, its train flags, and the files to predict with the flags
/// that both `bp-par predict` and the reference take for each.
pub(super) type Case<'a> = (&'a str, &'a str, &'a [&'a str], &'a [(&'a str, &'a [&'a str])]);

/// Fails unless python3 can import numpy and safetensors (the tests that call it are ignored
/// unless asked for, and asked for they must run).
pub(super) fn require_python() {
    if let Err(why) = python_ready() {
        panic!("{why} (python3 -m pip install numpy safetensors to run the reference tests)");
    }
}

/// Runs python/predict.py in `dir` with `args`.
pub(super) fn reference(dir: &Dir, args: &[&str]) -> std::process::Output {
    Command::new("python3")
        .arg(repo_file("python/predict.py"))
        .args(args)
        .current_dir(dir.dir.path())
        .output()
        .expect("run python3")
}

/// Trains each case's model (2 epochs) in `dir` and compares both programs' predictions on
/// each of its files, given the same flags; returns the rows compared.
pub(super) fn run_cases(dir: &Dir, cases: &[Case]) -> usize {
    let mut compared = 0;
    for (name, train_file, flags, predictions) in cases {
        let model = format!("{name}.safetensors");
        let mut args = vec!["train", train_file, "--epochs", "2", "--val-split", "0", "--save", &model, "-q"];
        args.extend(flags.iter());
        dir.run(&args).ok();
        for (file, extra) in *predictions {
            let what = format!("{name} on {file} {extra:?}");
            let mut args = vec!["predict", "--model", &model, file];
            args.extend(extra.iter());
            let rs = dir.run(&args).ok().stdout;
            let mut args = vec![model.as_str(), file];
            args.extend(extra.iter());
            let py = reference(dir, &args);
            assert!(py.status.success(), "{what}: python failed: {}", String::from_utf8_lossy(&py.stderr));
            compared += compare(&String::from_utf8_lossy(&py.stdout), &rs, &what);
        }
    }
    compared
}

#[test]
#[ignore = "needs python3 with numpy and safetensors: --ignored runs it (.ci/run does)"]
fn the_numpy_reference_predicts_what_bp_par_predicts_for_every_kind_of_model() {
    require_python();
    let dir = Dir::new();
    write_files(&dir);
    let cases: &[Case] = &[
        (
            "sigmoid-softmax-scale",
            "named.csv",
            &["--activation", "sigmoid", "--loss", "xent", "--normalize", "scale", "--hidden", "7"],
            &[("named.csv", &[]), ("features.csv", &[])],
        ),
        (
            "tanh-sigmoid-zscore",
            "bare.csv",
            &["--activation", "tanh", "--loss", "bce", "--normalize", "zscore", "--hidden", "6,4"],
            &[("bare.csv", &[]), ("features.csv", &[])],
        ),
        (
            "relu-softmax-none-label-last",
            "last.csv",
            &["--activation", "relu", "--label-col", "last", "--normalize", "none", "--lr", "0.001"],
            &[("last.csv", &["--label-col", "last"]), ("features.csv", &[])],
        ),
        (
            "relu-sigmoid-mse-zscore-regression",
            "unit.csv",
            &["--activation", "relu", "--loss", "mse", "--targets", "2", "--normalize", "zscore"],
            &[("unit.csv", &[])],
        ),
        (
            "tanh-linear-zscore",
            "real.csv",
            &[
                "--activation",
                "tanh",
                "--loss",
                "mse",
                "--output",
                "linear",
                "--targets",
                "1",
                "--hidden",
                "9,5",
            ],
            &[("real.csv", &[])],
        ),
        (
            "sigmoid-linear-scale",
            "real2.csv",
            &[
                "--activation",
                "sigmoid",
                "--loss",
                "mse",
                "--output",
                "linear",
                "--targets",
                "2",
                "--normalize",
                "scale",
            ],
            &[("real2.csv", &[])],
        ),
        (
            "relu-linear-zscore",
            "real2.csv",
            &[
                "--activation",
                "relu",
                "--loss",
                "mse",
                "--output",
                "linear",
                "--targets",
                "2",
                "--hidden",
                "12,6",
            ],
            &[("real2.csv", &[])],
        ),
    ];
    let compared = run_cases(&dir, cases);
    assert_eq!(compared, 90 * 10);
}

/// The comparison can fail: a value off by 1e-4 is caught.
#[test]
fn the_comparison_catches_a_difference() {
    let rs = "y0\n1.5\n";
    assert_eq!(compare("y0\n1.5000001\n", rs, "close"), 1);
    let off = std::panic::catch_unwind(|| compare("y0\n1.5002\n", rs, "off"));
    assert!(off.is_err());
    // A true label written differently, or a quoted class name split, is caught too.
    let rs = "prediction,label,p_a,\"p_b, c\"\na,\"b, c\",0.1,0.9\n";
    assert_eq!(compare(rs, rs, "same"), 1);
    let other_label = rs.replace(",\"b, c\",", ",a,");
    assert!(std::panic::catch_unwind(|| compare(&other_label, rs, "label")).is_err());
    let unquoted = rs.replace("\"p_b, c\"", "p_b, c");
    assert!(std::panic::catch_unwind(|| compare(&unquoted, rs, "header")).is_err());
}
