//! The files people have, read right or refused (issue 11): whitespace-separated digits
//! (USPS `zip.train`, raw and gzipped), Semeion's one-hot labels, European semicolon CSV with
//! decimal commas, TSV, class names, missing values; each trained, evaluated and predicted
//! through the real binary on a file the test writes.

use super::harness::{Dir, Run};
use std::fmt::Write;

/// A small deterministic generator (Knuth's MMIX LCG, high bits) in [0, 1).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `n` rows of `d` features in [-1, 1]; class = which third of the row's first feature, so a
/// network can learn it.
fn rows(n: usize, d: usize, seed: u64) -> Vec<(usize, Vec<f64>)> {
    let mut rng = Lcg(seed);
    (0..n)
        .map(|_| {
            let x: Vec<f64> = (0..d).map(|_| (rng.next() * 2.0 - 1.0) * 0.999).collect();
            let class = ((x[0] + 1.0) * 1.5) as usize;
            (class.min(2), x)
        })
        .collect()
}

const TRAIN: [&str; 10] =
    ["--epochs", "3", "--hidden", "8", "--val-split", "0", "--threads", "1", "-q", "--json"];

fn train(dir: &Dir, data: &str, model: &str, extra: &[&str]) -> Run {
    dir.run(&[&["train", data, "--save", model], &TRAIN[..], extra].concat())
}

fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

fn failed(run: Run) -> String {
    assert_ne!(run.code, 0, "expected an error, got stdout {}", run.stdout);
    run.stderr
}

#[test]
fn usps_whitespace_file_raw_and_gzipped() {
    let dir = Dir::new();
    // zip.train: label first (as a float), 256 values in [-1, 1], leading and double spaces.
    let mut text = String::new();
    for (class, x) in rows(90, 256, 1) {
        write!(text, " {class}.0000").unwrap();
        x.iter().for_each(|v| write!(text, "  {v:.4}").unwrap());
        text.push_str(" \n");
    }
    dir.write("zip.train", &text);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, text.as_bytes()).unwrap();
    dir.write("zip.train.gz", gz.finish().unwrap());
    let raw = json(&train(&dir, "zip.train", "raw.st", &[]).ok());
    let zipped = json(&train(&dir, "zip.train.gz", "gz.st", &[]).ok());
    assert_eq!(raw["train_loss"], zipped["train_loss"]);
    assert_eq!(std::fs::read(dir.path("raw.st")).unwrap(), std::fs::read(dir.path("gz.st")).unwrap());
    let model = bp_par::model::load(&dir.path("gz.st")).unwrap();
    assert_eq!((model.net.arch().n_in(), model.net.arch().n_out()), (256, 3));
    assert_eq!(model.schema.label.map(|l| l.index), Some(0));
    let eval = json(&dir.run(&["eval", "-m", "gz.st", "zip.train.gz", "--json"]).ok());
    assert_eq!(eval["samples"], 90);
    assert_eq!(eval["loss"], raw["train_loss"]);
    // Read with another separator than the file's, it is refused with the flag to use.
    let err = failed(dir.run(&["eval", "-m", "gz.st", "zip.train", "--delimiter", "comma"]));
    assert!(
        err.contains(
            "single column when split on comma; it splits on whitespace: give --delimiter whitespace"
        ),
        "{err}"
    );
}

#[test]
fn semeion_one_hot_file() {
    let dir = Dir::new();
    // semeion.data: 256 pixels as 0.0000/1.0000, then 10 one-hot columns, a trailing space.
    let mut text = String::new();
    for (i, (_, x)) in rows(60, 256, 2).iter().enumerate() {
        x.iter().for_each(|v| write!(text, "{} ", if *v > 0.0 { "1.0000" } else { "0.0000" }).unwrap());
        (0..10).for_each(|k| write!(text, "{} ", u8::from(k == i % 10)).unwrap());
        text.push('\n');
    }
    dir.write("semeion.data", &text);
    let trained = json(&train(&dir, "semeion.data", "s.st", &["--one-hot", "10"]).ok());
    let model = bp_par::model::load(&dir.path("s.st")).unwrap();
    assert_eq!(
        (model.net.arch().n_in(), model.net.arch().n_out(), model.schema.one_hot),
        (256, 10, Some(10))
    );
    // eval reads the one-hot label from the model, without the flag.
    let eval = json(&dir.run(&["eval", "-m", "s.st", "semeion.data", "--json"]).ok());
    assert_eq!(eval["loss"], trained["train_loss"]);
    // A row that is not one-hot is refused with its line and columns.
    let bad = text.replacen("0 0 0 \n", "0 0 1 \n", 1);
    dir.write("bad.data", bad);
    let err = failed(dir.run(&["eval", "-m", "s.st", "bad.data"]));
    assert!(
        err.contains("bad.data:1: the --one-hot label (columns 257-266) should hold exactly one 1 and 0s, found 1s in columns 257, 266"),
        "{err}"
    );
}

#[test]
fn semicolon_file_with_decimal_commas_and_a_tsv() {
    let dir = Dir::new();
    let data = rows(60, 3, 3);
    let mut semi = String::from("a;b;c;klasse\n");
    let mut tsv = String::from("a\tb\tc\tlabel\n");
    let mut comma = String::from("a,b,c,label\n");
    for (class, x) in &data {
        let f: Vec<String> = x.iter().map(|v| format!("{v:.3}")).collect();
        semi += &format!("{};{class}\n", f.join(";").replace('.', ","));
        tsv += &format!("{}\t{class}\n", f.join("\t"));
        comma += &format!("{},{class}\n", f.join(","));
    }
    dir.write("semi.csv", semi);
    dir.write("data.tsv", tsv);
    dir.write("comma.csv", comma);
    // The same numbers in three dialects give the same model.
    train(&dir, "comma.csv", "comma.st", &[]).ok();
    train(&dir, "semi.csv", "semi.st", &["--label-col", "klasse"]).ok();
    train(&dir, "data.tsv", "tsv.st", &[]).ok();
    let weights = |m: &str| bp_par::model::load(&dir.path(m)).unwrap().net.params().to_vec();
    assert_eq!(weights("comma.st"), weights("semi.st"));
    assert_eq!(weights("comma.st"), weights("tsv.st"));
    let direct = bp_par::data::load(
        &dir.path("semi.csv"),
        &bp_par::data::LoadOptions { label_col: bp_par::data::LabelCol::Last, ..Default::default() },
    )
    .unwrap();
    assert_eq!(
        direct.row(0),
        &data[0].1.iter().map(|v| format!("{v:.3}").parse().unwrap()).collect::<Vec<f32>>()[..]
    );
    // predict reads the TSV (its label column ignored), and a bad --delimiter is named.
    let run = dir.run(&["predict", "-m", "tsv.st", "data.tsv"]).ok();
    assert_eq!(run.stdout.lines().count(), 61);
    let err = failed(dir.run(&["predict", "-m", "tsv.st", "data.tsv", "--delimiter", "x"]));
    assert!(err.contains("expected auto, comma, semicolon, tab, whitespace"), "{err}");
}

/// An iris-like file: two measurements and a species name, no header.
fn iris(n: usize, seed: u64, extra: Option<&str>) -> String {
    let species = ["setosa", "versicolor", "virginica"];
    let mut text = String::new();
    for (i, (class, x)) in rows(n, 2, seed).iter().enumerate() {
        let name = match extra {
            Some(e) if i == 5 => e,
            _ => species[*class],
        };
        text += &format!("{:.2},{:.2},{name}\n", 5.0 + x[0], 3.0 + x[1]);
    }
    text
}

#[test]
fn class_names_are_learned_stored_and_written() {
    let dir = Dir::new();
    dir.write("iris.csv", iris(90, 4, None));
    train(&dir, "iris.csv", "iris.st", &["--label-col", "last"]).ok();
    let model = bp_par::model::load(&dir.path("iris.st")).unwrap();
    let names = ["setosa", "versicolor", "virginica"].map(String::from).to_vec();
    assert_eq!(model.schema.class_names, Some(names));
    // eval: the confusion matrix and per-class figures by name, the label column where the
    // training file had it (no --label-col needed again).
    let eval = dir.run(&["eval", "-m", "iris.st", "iris.csv"]).ok();
    assert!(eval.stdout.contains("versicolor |"), "{}", eval.stdout);
    let eval = json(&dir.run(&["eval", "-m", "iris.st", "iris.csv", "--json"]).ok());
    assert_eq!(eval["per_class"][2]["name"], "virginica");
    // predict: the predicted name, the true one, and one probability column per name.
    let run = dir.run(&["predict", "-m", "iris.st", "iris.csv"]).ok();
    let mut lines = run.stdout.lines();
    assert_eq!(lines.next(), Some("prediction,label,p_setosa,p_versicolor,p_virginica"));
    let names = ["setosa", "versicolor", "virginica"];
    assert!(lines.all(|l| {
        let f: Vec<&str> = l.split(',').collect();
        names.contains(&f[0]) && names.contains(&f[1])
    }));
    let run = dir.run(&["predict", "-m", "iris.st", "iris.csv", "--json"]).ok();
    let first: serde_json::Value = serde_json::from_str(run.stdout.lines().next().unwrap()).unwrap();
    assert!(first["prediction"].is_string() && first["label"].is_string(), "{first}");
    // A name the model does not know is an error naming it and the line.
    dir.write("other.csv", iris(10, 5, Some("dog")));
    let err = failed(dir.run(&["eval", "-m", "iris.st", "other.csv", "--label-col", "last"]));
    assert!(
        err.contains("other.csv:6: column 2 (0-based): label \"dog\" is not one of the model's 3 classes"),
        "{err}"
    );
    // A model of numbered classes refuses a file of names rather than numbering them anew.
    let mut numbered = String::new();
    for (class, x) in rows(30, 2, 6) {
        numbered += &format!("{:.2},{:.2},{class}\n", x[0], x[1]);
    }
    dir.write("numbered.csv", numbered);
    train(&dir, "numbered.csv", "n.st", &["--label-col", "last"]).ok();
    let err = failed(dir.run(&["eval", "-m", "n.st", "iris.csv", "--label-col", "last"]));
    assert!(
        err.contains(
            "iris.csv:1: column 2 (0-based): expected a class label (an integer 0, 1, 2, ...), found versicolor"
        ),
        "{err}"
    );
}

#[test]
fn missing_values_are_refused_or_filled_with_the_training_means() {
    let dir = Dir::new();
    let mut text = String::from("label,a,b,c\n");
    for (i, (class, x)) in rows(80, 3, 7).iter().enumerate() {
        let b = if i % 9 == 4 { "NA".to_string() } else { format!("{:.3}", x[1]) };
        text += &format!("{class},{:.3},{b},{:.3}\n", x[0], x[2]);
    }
    dir.write("train.csv", &text);
    let err = failed(train(&dir, "train.csv", "m.st", &[]));
    assert!(
        err.contains("train.csv:6: column 2 (\"b\", 0-based): missing value (\"NA\"); the file has 9 missing values: give --missing mean, zero or drop"),
        "{err}"
    );
    // Rows 4, 13, ..., 76 (9 of 80) miss b: zero keeps them, drop leaves them out.
    for (policy, n) in [("zero", 80), ("drop", 71)] {
        let run = json(&train(&dir, "train.csv", &format!("{policy}.st"), &["--missing", policy]).ok());
        assert_eq!(run["train_samples"], n, "--missing {policy}");
    }
    train(&dir, "train.csv", "mean.st", &["--missing", "mean"]).ok();
    let fill = bp_par::model::load(&dir.path("mean.st")).unwrap().schema.missing_fill.unwrap();
    assert_eq!(fill.len(), 3);
    // A new file whose own mean of b is far from the training one: a missing b gets the
    // training mean, exactly as if it had been written in.
    let new = "label,a,b,c\n0,0.1,NA,0.2\n1,0.3,5.0,-0.4\n";
    let written = format!("label,a,b,c\n0,0.1,{},0.2\n1,0.3,5.0,-0.4\n", fill[1]);
    dir.write("new.csv", new);
    dir.write("written.csv", written);
    let with_na = dir.run(&["predict", "-m", "mean.st", "new.csv"]).ok().stdout;
    assert_eq!(with_na, dir.run(&["predict", "-m", "mean.st", "written.csv"]).ok().stdout);
    // (the file's own mean, 5.0, would predict something else)
    dir.write("own.csv", "label,a,b,c\n0,0.1,5.0,0.2\n1,0.3,5.0,-0.4\n");
    assert_ne!(with_na, dir.run(&["predict", "-m", "mean.st", "own.csv"]).ok().stdout);
    // A model trained without fill values refuses --missing mean; predict refuses drop.
    let err = failed(dir.run(&["eval", "-m", "drop.st", "new.csv", "--missing", "mean"]));
    assert!(
        err.contains(
            "--missing mean fills a missing value with the training mean, but the model stores none"
        ),
        "{err}"
    );
    let err = failed(dir.run(&["predict", "-m", "mean.st", "new.csv", "--missing", "drop"]));
    assert!(err.contains("predict writes one line per input row"), "{err}");
    // eval of the drop model with --missing drop skips the row.
    let eval = json(&dir.run(&["eval", "-m", "drop.st", "new.csv", "--missing", "drop", "--json"]).ok());
    assert_eq!(eval["samples"], 1);
}
